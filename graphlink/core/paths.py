"""The graph toolkit: path search over weighted shop-pair graphs, and components.

One home for the graph primitives the stages share, so each is written once:

- :class:`PairGraph`: shops as nodes, scored pairs as edges (``p``, searched
  as cost ``-log p``, so the cheapest path is the one with the largest product
  of ``p``), stored as adjacency arrays (CSR). Searches take the cost
  ``cutoff`` and, where asked, the most ``hops`` as parameters:
  :meth:`PairGraph.search` (Dijkstra from many sources),
  :meth:`PairGraph.nearest` (the nearest source of every shop reached),
  :meth:`PairGraph.path` (the cheapest path between two shops) and
  :meth:`PairGraph.paths_from` (cheapest paths within a hop limit).
- Components: :func:`component_labels` (scipy, C), :func:`components` (node
  names, in networkx's order), :func:`smallest_in_component`.

Ties decide the bytes of the reports, so they are fixed: a node's neighbours
are visited in name order, sources in the order given, and among fringe
entries of equal cost the earlier pushed wins (as networkx's Dijkstra does
on a graph built from pairs sorted by ``(shop_a, shop_b)``).

>>> g = PairGraph.of(pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S2", "S3"],
...                                "p": [0.9, 0.5]}))
>>> g.path("S1", "S3")
['S1', 'S2', 'S3']
>>> components(["S1", "S2", "S3", "S4"], [("S3", "S1")])
[['S1', 'S3'], ['S2'], ['S4']]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from heapq import heappop, heappush
from itertools import count

import numpy as np
import pandas as pd

__all__ = ["PairGraph", "component_labels", "components", "smallest_in_component",
           "smallest_per_group"]


class PairGraph:
    """The shop-pair graph as adjacency arrays (CSR): cheap to build from a
    million pairs, and searched from thousands of new shops.

    >>> g = PairGraph.of(pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S2", "S3"],
    ...                                "p": [0.9, 0.5]}))
    >>> g.paths_from("S1", {"S3"}, hops=3, cutoff=math.inf)
    {'S3': ['S1', 'S2', 'S3']}
    >>> g.paths_from("S1", {"S3"}, hops=1, cutoff=math.inf)
    {}
    >>> round(g.path_score(["S1", "S2", "S3"]), 2)
    0.45
    """

    def __init__(self, names: np.ndarray, a: np.ndarray, b: np.ndarray, p: np.ndarray):
        self.names = names
        self.code = {name: i for i, name in enumerate(names.tolist())}
        src, dst = np.r_[a, b], np.r_[b, a]
        order = np.lexsort((dst, src))
        src, prob = src[order], np.r_[p, p][order]
        # arrays, sliced per node visited: a search from a few new shops touches
        # a sliver of a million-shop graph, so nothing is converted up front
        self._indptr = np.searchsorted(src, np.arange(len(names) + 1))
        self._dst, self._p, self._cost = dst[order], prob, -np.log(prob)

    @classmethod
    def of(cls, pairs: pd.DataFrame, minimum: float = 0.0) -> PairGraph:
        """The graph of the pairs (shop_a, shop_b, p) whose ``p`` reaches ``minimum``;
        shops are coded in name order."""
        usable = pairs[pairs["p"] >= minimum]
        both = np.r_[usable["shop_a"].to_numpy(dtype=object),
                     usable["shop_b"].to_numpy(dtype=object)]
        codes, names = pd.factorize(both, sort=True)  # np.unique sorts objects in Python
        names = np.asarray(names, dtype=object)
        half = len(usable)
        return cls(names, codes[:half], codes[half:], usable["p"].to_numpy(dtype=float))

    def __contains__(self, shop: str) -> bool:
        return shop in self.code

    def _edges(self, v: int) -> zip:
        lo, hi = self._indptr[v], self._indptr[v + 1]
        return zip(self._dst[lo:hi].tolist(), self._cost[lo:hi].tolist(), strict=True)

    def search(self, sources: list[str], cutoff: float) -> tuple[dict, dict]:
        """Dijkstra over ``-log p`` from ``sources`` (in this order) up to ``cutoff``:
        distance (in settling order) and predecessor of every node reached (by code).

        >>> g = PairGraph.of(pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S2"], "p": [0.5]}))
        >>> dist, pred = g.search(["S1"], cutoff=1.0)
        >>> {g.names[k]: round(d, 3) for k, d in dist.items()}, pred
        ({'S1': 0.0, 'S2': 0.693}, {1: 0})
        """
        dist: dict[int, float] = {}
        seen: dict[int, float] = {}
        pred: dict[int, int] = {}
        tick = count()
        fringe = []
        for s in sources:
            if s in self.code:
                seen[self.code[s]] = 0.0
                fringe.append((0.0, next(tick), self.code[s]))
        while fringe:
            d, _, v = heappop(fringe)
            if v in dist:
                continue
            dist[v] = d
            for u, c in self._edges(v):
                vu = d + c
                if vu > cutoff or u in dist:
                    continue
                if u not in seen or vu < seen[u]:
                    seen[u] = vu
                    heappush(fringe, (vu, next(tick), u))
                    pred[u] = v
        return dist, pred

    def _walk(self, pred: dict, v: int) -> list[str]:
        path = [v]
        while path[-1] in pred:
            path.append(pred[path[-1]])
        return [self.names[i] for i in reversed(path)]

    def nearest(self, sources: list[str], cutoff: float) -> dict[str, tuple[float, str, int]]:
        """Every shop within ``cutoff`` of ``sources``, not a source itself:
        ``shop -> (cost, nearest source, hops)``, in the order they are reached.

        >>> g = PairGraph.of(pd.DataFrame({"shop_a": ["B1", "S1"], "shop_b": ["S1", "S2"],
        ...                                "p": [0.5, 0.5]}))
        >>> {s: (round(c, 3), b, h) for s, (c, b, h) in g.nearest(["B1"], 2.0).items()}
        {'S1': (0.693, 'B1', 1), 'S2': (1.386, 'B1', 2)}
        """
        dist, pred = self.search(sources, cutoff)
        starts = {self.code[s] for s in sources if s in self.code}
        out = {}
        for v, d in dist.items():
            if v not in starts:
                path = self._walk(pred, v)
                out[self.names[v]] = (d, path[0], len(path) - 1)
        return out

    def path(self, source: str, target: str, cutoff: float = math.inf) -> list[str]:
        """The cheapest path from ``source`` to ``target`` (``[]``: none within
        ``cutoff``); as ``networkx.shortest_path`` over ``-log p``.

        >>> g = PairGraph.of(pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S2"], "p": [0.5]}))
        >>> g.path("S1", "S2"), g.path("S1", "S9")
        (['S1', 'S2'], [])
        """
        if source not in self.code or target not in self.code:
            return []
        dist, pred = self.search([source], cutoff)
        return self._walk(pred, self.code[target]) if self.code[target] in dist else []

    def paths_from(self, shop: str, targets: set[str], *, hops: int, cutoff: float
                   ) -> dict[str, list[str]]:
        """Best paths (cost -log p up to ``cutoff``, at most ``hops`` hops) from
        ``shop`` to ``targets``.

        Dijkstra over (shop, hops taken): a node is settled again only by a path
        with fewer hops than every cheaper one, so the cheapest path within the
        limit is found even when a cheaper, longer one exists."""
        if shop not in self.code:
            return {}
        start = self.code[shop]
        fewest: dict[int, int] = {}  # node -> fewest hops of its settled labels
        pred: dict[tuple[int, int], tuple[int, int]] = {}
        found, tick = {}, count()
        fringe = [(0.0, 0, next(tick), start, None)]
        while fringe:
            d, h, _, v, before = heappop(fringe)
            if h >= fewest.get(v, hops + 1):
                continue
            if before is not None:
                pred[(v, h)] = before
            if v not in fewest and v != start and self.names[v] in targets:
                found[self.names[v]] = self._labelled_path(pred, (v, h))
            fewest[v] = h
            if h == hops:
                continue
            for u, c in self._edges(v):
                if d + c <= cutoff and h + 1 < fewest.get(u, hops + 1):
                    heappush(fringe, (d + c, h + 1, next(tick), u, (v, h)))
        return found

    def _labelled_path(self, pred: dict, label: tuple[int, int]) -> list[str]:
        path = [label[0]]
        while label in pred:
            label = pred[label]
            path.append(label[0])
        return [self.names[i] for i in reversed(path)]

    def path_score(self, path: list[str]) -> float:
        """Product of the pair scores along ``path``."""
        score = 1.0
        for u, v in zip(path, path[1:], strict=False):
            a, b = self.code[u], self.code[v]
            lo = self._indptr[a]
            k = lo + int(np.searchsorted(self._dst[lo:self._indptr[a + 1]], b))
            score *= float(self._p[k])
        return score

    def near(self, sources: set[str], cutoff: float) -> set[str]:
        """Shops within ``cutoff`` of any of ``sources``."""
        dist, _ = self.search(sorted(s for s in sources if s in self.code), cutoff)
        return {self.names[i] for i in dist}


# --- components --------------------------------------------------------------

def component_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component of each of ``n`` nodes, edges ``a[i] - b[i]``; components are
    numbered in the order of their first node (scipy, C: 7x igraph's time at a
    million nodes, which first turns the edges into Python lists).

    >>> component_labels(4, np.array([3]), np.array([1])).tolist()
    [0, 1, 2, 1]
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    # imported here: scipy.sparse takes a second to import, and the reports read from a
    # state search paths without ever asking for components
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def components(nodes: Iterable[Hashable], edges: Iterable[tuple]) -> list[list]:
    """Connected components of the graph of ``nodes`` and ``edges`` (ends not in
    ``nodes`` are added after them): the order of ``networkx.connected_components``
    over a graph built in that order; each component's nodes in that order too
    (networkx gives sets).

    >>> components(["c", "a"], [("a", "b")])
    [['c'], ['a', 'b']]
    """
    code: dict = {}
    for node in nodes:
        code.setdefault(node, len(code))
    a, b = [], []
    for u, v in edges:
        a.append(code.setdefault(u, len(code)))
        b.append(code.setdefault(v, len(code)))
    label = component_labels(len(code), np.asarray(a, dtype=np.int64).reshape(-1),
                             np.asarray(b, dtype=np.int64).reshape(-1))
    out: list[list] = [[] for _ in range(int(label.max()) + 1 if len(label) else 0)]
    for node, k in zip(code, label.tolist(), strict=True):
        out[k].append(node)
    return out


def smallest_in_component(names: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each of ``names``, the smallest name of its connected component, the
    graph having an edge ``names[a[i]] - names[b[i]]`` for each i.

    >>> smallest_in_component(np.array(["S3", "S1", "S2"]), np.array([0]), np.array([1])).tolist()
    ['S1', 'S1', 'S2']
    """
    return smallest_per_group(names, component_labels(len(names), a, b))


def smallest_per_group(names: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For each row, the smallest of ``names`` (no missing ones) in its group.

    Compared by rank: pandas' minimum of text runs in Python, group by group.

    >>> smallest_per_group(np.array(["b", "a", "c"]), np.array([0, 0, 1])).tolist()
    ['a', 'a', 'c']
    """
    ranks, ordered = pd.factorize(pd.Series(names, dtype=object), sort=True)
    smallest = pd.Series(ranks).groupby(np.asarray(groups)).transform("min").to_numpy()
    return np.asarray(ordered, dtype=object)[smallest]
