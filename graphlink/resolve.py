"""Operators: which shops are run by the same real-world actor, and why.

Each candidate shop pair has a match probability ``p`` from the match model
(:mod:`graphlink.model`, learned from the data). Two shops whose ``p`` reaches
``MERGE`` are linked; operators are the connected components of those links
(union-find semantics: a new shop that shares a device with a shop that shares
a card with a banned shop joins that operator). Hubs never merge anything
(see :mod:`graphlink.link`).

>>> import pandas as pd
>>> pairs = pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S2", "S3"], "p": [0.99, 0.2]})
>>> resolve_operators(pd.Series(["S1", "S2", "S3"]), pairs).operators["operator_id"].tolist()
['OP-S1', 'OP-S1', 'OP-S3']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

from graphlink.link import smallest_in_component

__all__ = ["MERGE", "Resolution", "resolve_operators", "evidence_chain"]

MERGE = 0.7


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
