"""Operators: which shops are run by the same real-world actor, and why.

Each candidate shop pair has a match probability ``p`` from the match model
(:mod:`graphlink.linkage.model`, learned from the data). Two shops whose ``p`` reaches
``MERGE`` are linked; operators are the connected components of those links
(union-find semantics: a new shop that shares a device with a shop that shares
a card with a banned shop joins that operator). Hubs never merge anything
(see :mod:`graphlink.linkage.link`).

>>> import pandas as pd
>>> pairs = pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S2", "S3"], "p": [0.99, 0.2]})
>>> resolve_operators(pd.Series(["S1", "S2", "S3"]), pairs).operators["operator_id"].tolist()
['OP-S1', 'OP-S1', 'OP-S3']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from graphlink.core.codes import operator_ids
from graphlink.core.paths import PairGraph, smallest_in_component
from graphlink.linkage.model import NAMES, MatchModel, Vectors, score_vectors

__all__ = ["MERGE", "Resolution", "resolve_operators", "against_operators", "combined_with",
           "combined_groups", "strongest", "evidence_chain"]

MERGE = 0.7


@dataclass
class Resolution:
    """Operators of every shop, the pair scores behind them, and the merge graph."""

    operators: pd.DataFrame  # shop_id, operator_id
    pairs: pd.DataFrame  # shop_a, shop_b, p, kinds
    merge: float = MERGE

    @cached_property
    def merges(self) -> PairGraph:
        """The MERGE-strength pairs as a graph (:class:`graphlink.core.paths.PairGraph`);
        built when asked."""
        return PairGraph.of(self.pairs, self.merge)


def resolve_operators(shop_ids: pd.Series, pairs: pd.DataFrame, merge: float = MERGE) -> Resolution:
    """Group shops into operators from combined pair scores.

    Every shop appears exactly once. An operator's id is ``OP-`` plus its
    smallest shop id, so it is deterministic and readable.
    """
    strong = pairs[pairs["p"] >= merge]
    codes, names = pd.factorize(np.r_[shop_ids.to_numpy(dtype=object),
                                      strong["shop_a"].to_numpy(dtype=object),
                                      strong["shop_b"].to_numpy(dtype=object)])
    n, m = len(shop_ids), len(strong)
    smallest = smallest_in_component(np.asarray(names, dtype=object), codes[n:n + m],
                                     codes[n + m:]).astype(object)
    operators = pd.DataFrame({"shop_id": shop_ids.to_numpy()})
    operators["operator_id"] = operator_ids(pd.Series(smallest[codes[:n]], dtype=object)).astype(
        operators["shop_id"].dtype)
    return Resolution(operators, pairs, merge)


def against_operators(pairs: pd.DataFrame, operator_of: pd.Series, model: MatchModel,
                      shops: int, banned: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """``pairs`` with each shop also compared with whole operators.

    A comeback may keep one trace of each of two shops of a banned operator (the
    phone of one, the building of the other): each pair alone is weak, the two
    together are not. For a shop tied to two or more shops of another operator
    (``operator_of``: shop -> operator), the best level per comparison over those
    pairs makes one comparison vector, scored with ``tries`` = the operator's
    size (agreeing with any of k shops is k times likelier by chance). Where
    that beats every single pair, it replaces the pair with the operator's
    representative (a banned shop first, then the strongest pair) and names the
    other shops in ``via``.

    >>> from graphlink.linkage.model import MatchModel, COMPARISONS
    >>> levels = lambda c: len(COMPARISONS[c][1])
    >>> m = MatchModel({"reuse": {c: [0.3] * levels(c) + [0.3] for c in NAMES},
    ...                 "evasion": {c: [0.3] * levels(c) + [0.3] for c in NAMES},
    ...                 "trace": {c: [0.3] * levels(c) + [0.3] for c in NAMES}},
    ...                {c: [1e-3] * levels(c) + [1.0] for c in NAMES},
    ...                {mode: [1e-4, 1e-3] for mode in ("reuse", "evasion", "trace")}, shops=1000)
    >>> def row(a, b, **agree):
    ...     levels_ = {f"level_{c}": agree.get(c, levels(c) + 1) for c in NAMES}
    ...     return {"shop_a": a, "shop_b": b, **levels_, **{f"users_{c}": 1.0 for c in NAMES},
    ...             "context": 0}
    >>> pairs = score_vectors(m, _vectors(pd.DataFrame([row("B1", "X", phone=1),
    ...                                                 row("B2", "X", ip=1)])))
    >>> op = pd.Series({"B1": "OP-B1", "B2": "OP-B1", "X": "OP-X"})
    >>> out = against_operators(pairs, op, m, 1000, {"B2"})
    >>> out[["shop_a", "shop_b", "via"]].values.tolist()
    [['B1', 'X', ''], ['B2', 'X', 'B1']]
    >>> bool(out["p"].iloc[1] > pairs["p"].max())
    True
    """
    if "via" not in pairs:
        pairs = pairs.assign(via="")
    ties = _ties(pairs, operator_of)
    if not len(ties):
        return pairs
    combined = _combined(ties, model, shops, banned)
    if not len(combined):
        return pairs
    replaced = pd.MultiIndex.from_arrays([pairs["shop_a"], pairs["shop_b"]]).isin(
        pd.MultiIndex.from_arrays([combined["shop_a"], combined["shop_b"]]))
    out = pd.concat([pairs[~replaced], combined[pairs.columns]], ignore_index=True)
    return out.sort_values(["shop_a", "shop_b"], ignore_index=True)


def _ties(pairs: pd.DataFrame, operator_of: pd.Series) -> pd.DataFrame:
    """Each pair seen from both shops (``x``, ``y``), kept where ``x`` is tied to two
    or more shops of ``y``'s operator ``op`` (not its own)."""
    # decided on integer codes, so that only the kept rows are copied with all
    # their columns (at 300k shops the doubled table of every pair was 13M rows)
    n = len(pairs)
    x = pd.concat([pairs["shop_a"], pairs["shop_b"]], ignore_index=True)
    y = pd.concat([pairs["shop_b"], pairs["shop_a"]], ignore_index=True)
    at = operator_of.index.get_indexer(x)  # row of each shop in operator_of, or -1
    alone = np.flatnonzero(at < 0)  # a shop without an operator is its own group
    at[alone] = len(operator_of) + pd.factorize(x.iloc[alone])[0]
    codes = np.r_[pd.factorize(operator_of)[0], -1]  # -1: no operator
    size = np.bincount(codes[codes >= 0], minlength=len(codes))  # shops per operator
    of_x = codes[np.minimum(at, len(operator_of))]
    at_y = np.r_[at[n:], at[:n]]
    op = np.r_[of_x[n:], of_x[:n]]
    keep = np.flatnonzero((op >= 0) & (op != of_x) & (size[np.maximum(op, 0)] >= 2))
    _, group, count = np.unique(at[keep].astype(np.int64) * (len(size) + 1) + op[keep],
                                return_inverse=True, return_counts=True)
    rows = keep[count[group] >= 2]
    both = pairs.iloc[rows % n].set_axis(pd.Index(rows))
    both = both.assign(x=x.iloc[rows].set_axis(both.index), y=y.iloc[rows].set_axis(both.index),
                       op=operator_of.iloc[at_y[rows]].set_axis(both.index))
    both["tries"] = size[op[rows]].astype(np.int32)
    return both


def _combined(ties: pd.DataFrame, model: MatchModel, shops: int, banned: set[str] | frozenset
              ) -> pd.DataFrame:
    """One scored pair per (shop, operator) from the best level per comparison, where
    it beats the group's best pair; of a pair two groups made, the stronger."""
    return strongest(combined_groups(ties, model, shops, banned))


def strongest(scored: pd.DataFrame) -> pd.DataFrame:
    """Of each (shop_a, shop_b) of :func:`combined_groups`'s rows (in (x, op) order), the
    one scored highest."""
    return scored.sort_values("p", ascending=False).drop_duplicates(["shop_a", "shop_b"])


def combined_groups(ties: pd.DataFrame, model: MatchModel, shops: int,
                    banned: set[str] | frozenset) -> pd.DataFrame:
    """Per (``x``, ``op``) group of tie rows, the combined pair when it beats the group's
    best, in (x, op) order: each group is read alone, so any split of the groups gives
    the same rows."""
    ties = ties.assign(banned=ties["y"].isin(banned))
    ties = ties.sort_values(["x", "op", "banned", "p", "y"], ascending=[True, True, False,
                                                                         False, True])
    groups = ties.groupby(["x", "op"], sort=False)
    best = groups.agg(rep=("y", "first"), top=("p", "max"), context=("context", "max"),
                      tries=("tries", "first"))
    best["via"] = _sorted_groups(ties)
    group = groups.ngroup().to_numpy()  # contiguous: ties are sorted by x, op
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    for name in NAMES:
        levels = ties[f"level_{name}"].to_numpy()
        least = np.minimum.reduceat(levels, starts)
        best[f"level_{name}"] = least
        users = ties[f"users_{name}"].to_numpy(dtype=float)
        best[f"users_{name}"] = np.fmin.reduceat(np.where(levels == least[group], users, np.inf),
                                                 starts)  # the rarest value at that level
    best = best.reset_index()
    x, rep = best["x"].to_numpy(dtype=object), best["rep"].to_numpy(dtype=object)
    best["shop_a"], best["shop_b"] = np.minimum(x, rep), np.maximum(x, rep)
    scored = score_vectors(model, _vectors(best), shops)
    scored["via"] = [",".join(v for v in ys if v != r) for ys, r in zip(best["via"], best["rep"],
                                                                      strict=True)]
    scored["x"], scored["op"] = best["x"].to_numpy(), best["op"].to_numpy()
    return scored[scored["p"].to_numpy() > best["top"].to_numpy()]


def _sorted_groups(ties: pd.DataFrame) -> list[np.ndarray]:
    """Per (x, op) group of ``ties`` (sorted by x, then op), its shops ``y`` sorted."""
    rows = ties[["x", "op", "y"]].sort_values(["x", "op", "y"])
    x, op = rows["x"].to_numpy(dtype=object), rows["op"].to_numpy(dtype=object)
    starts = np.flatnonzero((x[1:] != x[:-1]) | (op[1:] != op[:-1])) + 1
    return np.split(rows["y"].to_numpy(dtype=object), starts)


def combined_with(pairs: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """``(shop_a, shop_b) -> shops`` of the pairs :func:`against_operators` combined:
    the other shops of the operator whose evidence the pair's score also reads."""
    if "via" not in pairs:
        return {}
    rows = pairs[pairs["via"].fillna("") != ""]
    return {(a, b): via.split(",") for a, b, via in
            zip(rows["shop_a"], rows["shop_b"], rows["via"], strict=True)}


def _vectors(rows: pd.DataFrame) -> Vectors:
    """The comparison vectors of rows with shop_a, shop_b, level_*, users_*, context
    (and tries) columns."""
    return Vectors(rows["shop_a"].to_numpy(dtype=object), rows["shop_b"].to_numpy(dtype=object),
                   rows[[f"level_{c}" for c in NAMES]].to_numpy(dtype=np.int8),
                   rows[[f"users_{c}" for c in NAMES]].to_numpy(dtype=float),
                   rows["context"].to_numpy(dtype=np.int8),
                   rows["tries"].to_numpy(dtype=np.int32) if "tries" in rows else None)


def evidence_chain(resolution: Resolution, evidence: pd.DataFrame, shop_a: str, shop_b: str
                   ) -> list[dict]:
    """Why ``shop_a`` and ``shop_b`` share an operator: the hops between them.

    Returns the strongest-evidence path through the merge graph, one dict per
    hop (``from``, ``to``, ``p``, ``evidence``: the rows behind that hop, best
    first). Empty when the shops are not in one operator.
    """
    graph = resolution.merges
    path = graph.path(shop_a, shop_b)
    hops = []
    for u, v in zip(path, path[1:], strict=False):
        lo, hi = sorted((u, v))
        rows = evidence[(evidence["shop_a"] == lo) & (evidence["shop_b"] == hi)]
        rows = rows.sort_values("weight", ascending=False)
        hops.append({"from": u, "to": v, "p": graph.path_score([u, v]),
                     "evidence": rows.to_dict("records")})
    return hops
