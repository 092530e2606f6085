"""Operators: which shops are run by the same real-world actor, and why.

Evidence between two shops (from :func:`graphlink.link.pair_evidence`) is
combined per pair: for each independent signal (an identifier kind; names and
fuzzy emails together, see :func:`signal_group`) the strongest piece counts,
and signals combine as independent, ``p = 1 - prod(1 - w_signal)``. Two shops
whose ``p`` reaches ``MERGE`` are linked; operators are the connected
components of those links (union-find semantics: a new shop that shares a
device with a shop that shares a card with a banned shop joins that operator).

``MERGE`` is set so that one strong, rare machine identifier (a device, a
full card number, an ID number, a phone or an email shared by a handful of
shops) merges on its own, while human-readable evidence (a name, an address,
a neighbouring room, an email variant) needs corroboration from a second
independent kind. Hubs never merge anything (see :mod:`graphlink.link`).

>>> import pandas as pd
>>> ev = pd.DataFrame({"shop_a": ["S1", "S1"], "shop_b": ["S2", "S2"],
...                    "kind": ["address", "email"], "weight": [0.5, 0.5]})
>>> round(float(combine(ev)["p"].iloc[0]), 2)
0.75
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

from graphlink.link import smallest_in_component

__all__ = ["MERGE", "Resolution", "combine", "signal_group", "resolve_operators", "evidence_chain"]

MERGE = 0.7


def signal_group(kind: pd.Series, method: pd.Series) -> pd.Series:
    """Which independent signal a piece of evidence belongs to.

    Pieces within one group are not independent and count once (the
    strongest): an email that matches only by its skeleton is mostly the
    person's name spelt into the local part, so it shares the ``name`` group
    with holder names.

    >>> signal_group(pd.Series(["email", "email", "email", "device"]),
    ...              pd.Series(["exact", "email-skeleton", "email-same-local", "exact"])).tolist()
    ['email', 'name', 'email', 'device']
    """
    group = kind.astype(object).copy()
    group[kind == "holder_name"] = "name"
    group[(kind == "email") & (method == "email-skeleton")] = "name"
    return group


def combine(evidence: pd.DataFrame) -> pd.DataFrame:
    """Per shop pair: combined probability ``p`` and the kinds that support it."""
    if not len(evidence):
        return pd.DataFrame(columns=["shop_a", "shop_b", "p", "kinds"])
    method = evidence["method"] if "method" in evidence else pd.Series("exact", evidence.index)
    group, names = pd.factorize(signal_group(evidence["kind"], method), sort=True)
    shop, shops = pd.factorize(np.r_[evidence["shop_a"].to_numpy(dtype=object),
                                     evidence["shop_b"].to_numpy(dtype=object)], sort=True)
    n, width = len(evidence), len(names)
    # integer keys in (shop_a, shop_b, signal) order: sorted, the runs are pairs and signals
    pair = shop[:n].astype(np.int64) * len(shops) + shop[n:]
    key = pair * width + group
    order = np.lexsort((-evidence["weight"].to_numpy(dtype=float), key))
    key, weight = key[order], evidence["weight"].to_numpy(dtype=float)[order]
    best = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # strongest piece per signal
    key, weight = key[best], weight[best]
    pair, signal = key // width, key % width
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    log_miss = np.add.reduceat(np.log1p(-np.minimum(weight, 0.999)), starts)
    # each signal a bit, in sorted order: a pair's bit sum names its sorted kinds
    bits = np.add.reduceat(np.left_shift(1, signal.astype(np.int64)), starts)
    spelt = {b: ",".join(k for i, k in enumerate(names) if b >> i & 1)
             for b in np.unique(bits).tolist()}
    shops = np.asarray(shops, dtype=object)
    return pd.DataFrame({
        "shop_a": shops[pair[starts] // len(shops)], "shop_b": shops[pair[starts] % len(shops)],
        "p": 1.0 - np.exp(log_miss), "kinds": [spelt[b] for b in bits.tolist()]})


@dataclass
class Resolution:
    """Operators of every shop, the pair scores behind them, and the merge graph."""

    operators: pd.DataFrame  # shop_id, operator_id
    pairs: pd.DataFrame  # shop_a, shop_b, p, kinds
    merge: float = MERGE

    @cached_property
    def merges(self) -> nx.Graph:
        """Shops as nodes, MERGE-strength pairs as edges (attr p); built when asked."""
        graph = nx.Graph()
        graph.add_nodes_from(self.operators["shop_id"].tolist())
        strong = self.pairs[self.pairs["p"] >= self.merge]
        graph.add_weighted_edges_from(strong[["shop_a", "shop_b", "p"]].itertuples(index=False),
                                      weight="p")
        return graph


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
    operators["operator_id"] = ("OP-" + pd.Series(smallest[codes[:n]], dtype=object)).astype(
        operators["shop_id"].dtype)
    return Resolution(operators, pairs, merge)


def evidence_chain(resolution: Resolution, evidence: pd.DataFrame, shop_a: str, shop_b: str
                   ) -> list[dict]:
    """Why ``shop_a`` and ``shop_b`` share an operator: the hops between them.

    Returns the strongest-evidence path through the merge graph, one dict per
    hop (``from``, ``to``, ``p``, ``evidence``: the rows behind that hop, best
    first). Empty when the shops are not in one operator.
    """
    graph = resolution.merges
    if shop_a not in graph or shop_b not in graph or not nx.has_path(graph, shop_a, shop_b):
        return []
    cost = {(u, v): -np.log(max(d["p"], 1e-9)) for u, v, d in graph.edges(data=True)}
    path = nx.shortest_path(graph, shop_a, shop_b,
                            weight=lambda u, v, d: cost.get((u, v), cost.get((v, u))))
    hops = []
    for u, v in zip(path, path[1:], strict=False):
        lo, hi = sorted((u, v))
        rows = evidence[(evidence["shop_a"] == lo) & (evidence["shop_b"] == hi)]
        rows = rows.sort_values("weight", ascending=False)
        hops.append({"from": u, "to": v, "p": float(graph.edges[u, v]["p"]),
                     "evidence": rows.to_dict("records")})
    return hops
