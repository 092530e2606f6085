"""Unit tests of the graph toolkit (graphlink/core/paths.py): path search and components.

networkx is the oracle. Pair graphs are random small graphs whose pairs are
sorted by (shop_a, shop_b) with shop_a < shop_b, as the pipeline's pair table
is; their ``p`` are drawn from a few values so that paths of equal cost (ties)
are common: the toolkit must break them as networkx does, since ties decide
which banned shop and which path the reports name (search order and costs are
compared exactly; for one shortest path, where two paths' sums differ only in
their last bits, either may be returned).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.core import paths
from graphlink.core.paths import PairGraph

P_VALUES = [0.02, 0.1, 0.3, 0.5, 0.9]  # few values: ties between paths are common


@st.composite
def pair_tables(draw, max_shops: int = 9) -> pd.DataFrame:
    """A sorted table of distinct pairs (shop_a < shop_b) with p from P_VALUES."""
    n = draw(st.integers(2, max_shops))
    names = [f"S{i}" for i in range(n)]
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                         .filter(lambda e: e[0] < e[1]), min_size=1, max_size=n * 2))
    rows = sorted((names[a], names[b], draw(st.sampled_from(P_VALUES))) for a, b in edges)
    return pd.DataFrame(rows, columns=["shop_a", "shop_b", "p"])


def oracle(table: pd.DataFrame) -> nx.Graph:
    """The networkx graph of the table, edges added in row order, cost -log p."""
    graph = nx.Graph()
    for a, b, p in table.itertuples(index=False):
        graph.add_edge(a, b, p=float(p), cost=-float(np.log(p)))
    return graph


def table_of(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(sorted(rows), columns=["shop_a", "shop_b", "p"])


# --- path search ------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(pair_tables(), st.sampled_from([math.inf, 1.0, 2.5]))
def test_search_and_nearest_agree_with_networkx_multi_source_dijkstra(table, cutoff):
    graph, nxg = PairGraph.of(table), oracle(table)
    sources = [s for s in ["S3", "S0", "S5"] if s in nxg]  # not in name order
    if not sources:
        return
    cost, found = nx.multi_source_dijkstra(nxg, sources, cutoff=cutoff, weight="cost")
    dist, _ = graph.search(sources, cutoff)
    assert [graph.names[v] for v in dist] == list(cost)  # the same settling order
    assert {graph.names[v]: d for v, d in dist.items()} == cost  # the same floats
    near = graph.nearest(sources, cutoff)
    assert near == {s: (c, found[s][0], len(found[s]) - 1) for s, c in cost.items()
                    if s not in sources}


@settings(max_examples=150, deadline=None)
@given(pair_tables(), st.data())
def test_path_is_networkx_shortest_path(table, data):
    graph, nxg = PairGraph.of(table), oracle(table)
    shops = st.sampled_from([f"S{i}" for i in range(10)])  # some in no pair
    a, b = data.draw(shops), data.draw(shops)
    expected = (nx.shortest_path(nxg, a, b, weight="cost")
                if a in nxg and b in nxg and nx.has_path(nxg, a, b) else [])
    found = graph.path(a, b)
    assert bool(found) == bool(expected)
    if expected:  # among paths of equal cost (sums that tie) either may be the one found
        assert found[0] == a and found[-1] == b and len(set(found)) == len(found)
        assert math.isclose(nx.path_weight(nxg, found, "cost"),
                            nx.path_weight(nxg, expected, "cost"), rel_tol=1e-12)


def simple_paths_best(nxg: nx.Graph, shop: str, target: str, hops: int, cutoff: float
                      ) -> float | None:
    """The least cost of a simple path of at most ``hops`` hops within ``cutoff``."""
    costs = [sum(nxg.edges[u, v]["cost"] for u, v in zip(p, p[1:], strict=False))
             for p in nx.all_simple_paths(nxg, shop, target, cutoff=hops)]
    costs = [c for c in costs if c <= cutoff]
    return min(costs) if costs else None


@settings(max_examples=150, deadline=None)
@given(pair_tables(max_shops=7), st.integers(1, 3), st.sampled_from([math.inf, 2.5]))
def test_paths_from_finds_the_cheapest_path_within_the_hop_limit(table, hops, cutoff):
    graph, nxg = PairGraph.of(table), oracle(table)
    shop = sorted(nxg)[0]
    targets = set(nxg) - {shop}
    found = graph.paths_from(shop, targets, hops=hops, cutoff=cutoff)
    for target in targets:
        best = simple_paths_best(nxg, shop, target, hops, cutoff)
        if best is None:
            assert target not in found
            continue
        path = found[target]
        assert path[0] == shop and path[-1] == target and len(path) - 1 <= hops
        assert -math.log(graph.path_score(path)) == pytest.approx(best)


def test_paths_from_prefers_a_dearer_path_within_the_hop_limit():
    table = table_of(("A", "B", 0.9), ("B", "C", 0.9), ("C", "D", 0.9), ("A", "D", 0.5))
    graph = PairGraph.of(table)
    assert graph.paths_from("A", {"D"}, hops=3, cutoff=math.inf) == {"D": ["A", "B", "C", "D"]}
    assert graph.paths_from("A", {"D"}, hops=2, cutoff=math.inf) == {"D": ["A", "D"]}
    assert graph.paths_from("A", {"D"}, hops=2, cutoff=0.5) == {}


def test_of_keeps_the_pairs_reaching_the_minimum():
    graph = PairGraph.of(table_of(("A", "B", 0.9), ("B", "C", 0.01)), minimum=0.02)
    assert "C" not in graph and graph.path("A", "C") == []
    assert graph.path_score(["A", "B"]) == 0.9


def test_near_is_every_shop_within_the_cutoff():
    graph = PairGraph.of(table_of(("A", "B", 0.5), ("B", "C", 0.5), ("X", "Y", 0.9)))
    assert graph.near({"A", "nope"}, cutoff=1.0) == {"A", "B"}
    assert graph.near({"A"}, cutoff=math.inf) == {"A", "B", "C"}


# --- components -------------------------------------------------------------------------

edge_lists = st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=20)))


@settings(max_examples=100, deadline=None)
@given(edge_lists)
def test_components_are_networkx_connected_components_in_its_order(case):
    n, edges = case
    nodes = [f"S{i:02d}" for i in reversed(range(n))]  # insertion order, not name order
    named = [(nodes[a], nodes[b]) for a, b in edges]
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(named)
    got = paths.components(nodes, named)
    assert [set(c) for c in got] == list(nx.connected_components(graph))
    assert [n for c in got for n in sorted(c, key=nodes.index)] == [n for c in got for n in c]


def test_components_add_edge_ends_missing_from_the_nodes():
    assert paths.components([], [("b", "a"), ("c", "d")]) == [["b", "a"], ["c", "d"]]
    assert paths.components([], []) == []


@settings(max_examples=100, deadline=None)
@given(edge_lists)
def test_smallest_in_component_agrees_with_networkx(case):
    n, edges = case
    names = np.array([f"S{i:02d}" for i in range(n)], dtype=object)[::-1]
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    got = paths.smallest_in_component(names, a, b)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    for component in nx.connected_components(graph):
        assert {got[i] for i in component} == {min(names[i] for i in component)}
