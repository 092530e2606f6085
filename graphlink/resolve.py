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

import networkx as nx
import numpy as np
import pandas as pd

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
    grouped = evidence.assign(kind=signal_group(evidence["kind"], method))
    best = grouped.groupby(["shop_a", "shop_b", "kind"], sort=False)["weight"].max().reset_index()
    best["log_miss"] = np.log1p(-best["weight"].clip(upper=0.999))
    # each signal a bit, in sorted order: a pair's bit sum names its sorted kinds
    names = sorted(best["kind"].unique())
    best["bit"] = best["kind"].map({k: 1 << i for i, k in enumerate(names)}).astype("int64")
    pairs = best.groupby(["shop_a", "shop_b"], sort=True).agg(
        log_miss=("log_miss", "sum"), bits=("bit", "sum"))
    spelt = {b: ",".join(k for i, k in enumerate(names) if b >> i & 1)
             for b in pairs["bits"].unique().tolist()}
    pairs["kinds"] = pairs["bits"].map(spelt)
    pairs["p"] = 1.0 - np.exp(pairs["log_miss"])
    return pairs.reset_index()[["shop_a", "shop_b", "p", "kinds"]]


@dataclass
class Resolution:
    """Operators of every shop, the pair scores behind them, and the merge graph."""

    operators: pd.DataFrame  # shop_id, operator_id
    pairs: pd.DataFrame  # shop_a, shop_b, p, kinds
    merges: nx.Graph  # shops as nodes, MERGE-strength pairs as edges (attr p)


def resolve_operators(shop_ids: pd.Series, pairs: pd.DataFrame, merge: float = MERGE) -> Resolution:
    """Group shops into operators from combined pair scores.

    Every shop appears exactly once. An operator's id is ``OP-`` plus its
    smallest shop id, so it is deterministic and readable.
    """
    strong = pairs[pairs["p"] >= merge]
    graph = nx.Graph()
    graph.add_nodes_from(shop_ids.tolist())
    graph.add_weighted_edges_from(strong[["shop_a", "shop_b", "p"]].itertuples(index=False),
                                  weight="p")
    owner = {}
    for component in nx.connected_components(graph):
        operator = "OP-" + min(component)
        owner.update(dict.fromkeys(component, operator))
    operators = pd.DataFrame({"shop_id": shop_ids.to_numpy()})
    operators["operator_id"] = operators["shop_id"].map(owner)
    return Resolution(operators, pairs, graph)


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
