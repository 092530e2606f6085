"""Unit tests of community detection (graphlink/detection/detect.py) on hand-made operator graphs.

Invariants first (every shop once, every operator inside one community, each
community connected by links that reach COMMUNITY_MIN, seeded results
repeat), then small worlds with a known answer.
"""

from __future__ import annotations

import random

import networkx as nx
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from graphlink.detection import detect


def operators_of(groups: dict[str, list[str]]) -> pd.DataFrame:
    """The shop -> operator table of ``{operator_id: shops}``."""
    return pd.DataFrame([(s, op) for op, shops in groups.items() for s in shops],
                        columns=["shop_id", "operator_id"])


def pairs(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["shop_a", "shop_b", "p"]).assign(kinds="ip")


def community(result: pd.DataFrame) -> dict[str, str]:
    return dict(zip(result["shop_id"], result["community_id"], strict=True))


def test_two_rings_joined_by_one_weak_link_stay_two_communities():
    """Two dense rings of operators (four each) with one tie between them: modularity
    keeps them apart; each is named by its smallest shop."""
    ring = lambda names: [(a, b, 0.6) for i, a in enumerate(names)  # noqa: E731
                          for b in names[i + 1:]]
    left, right = ["S1", "S2", "S3", "S4"], ["S5", "S6", "S7", "S8"]
    ops = operators_of({f"OP-{s}": [s] for s in left + right})
    result = community(detect.communities(ops, pairs(*ring(left), *ring(right),
                                                     ("S4", "S5", 0.3))))
    assert {result[s] for s in left} == {"C-S1"}
    assert {result[s] for s in right} == {"C-S5"}


def test_links_below_community_min_join_nothing():
    ops = operators_of({"OP-S1": ["S1"], "OP-S2": ["S2"]})
    weak = pairs(("S1", "S2", detect.COMMUNITY_MIN - 1e-9))
    assert community(detect.communities(ops, weak)) == {"S1": "C-S1", "S2": "C-S2"}
    strong = pairs(("S1", "S2", detect.COMMUNITY_MIN))
    assert community(detect.communities(ops, strong)) == {"S1": "C-S1", "S2": "C-S1"}


def test_an_operators_shops_share_its_community_even_without_pairs():
    ops = operators_of({"OP-S1": ["S1", "S9"], "OP-S2": ["S2"]})
    result = community(detect.communities(ops, pairs(("S9", "S2", 0.5))))
    assert result == {"S1": "C-S1", "S9": "C-S1", "S2": "C-S1"}


GRAPHS = st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.integers(0, 3), min_size=n, max_size=n),  # operator of each shop (by group)
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0, 1)),
             max_size=30),
    st.integers(0, 5)))


@settings(max_examples=60, deadline=None)
@given(GRAPHS)
def test_communities_partition_operators_into_connected_parts(case):
    n, group, rows, seed = case
    shops = [f"S{i:02d}" for i in range(n)]
    ops = pd.DataFrame({"shop_id": shops, "operator_id": [f"G{g}" for g in group]})
    # operator ids name their smallest shop, as resolution makes them
    first = ops.groupby("operator_id")["shop_id"].transform("min")
    ops["operator_id"] = "OP-" + first
    table = pairs(*[(shops[a], shops[b], p) for a, b, p in rows if a != b])
    result = detect.communities(ops, table, seed=seed)
    assert result["shop_id"].tolist() == shops  # every shop once, in order
    assert (result.groupby("operator_id")["community_id"].nunique() == 1).all()
    assert (result["community_id"] == "C-" + result.groupby("community_id")["shop_id"]
            .transform("min")).all()
    # each community is connected through its operators' links that reach COMMUNITY_MIN
    graph = nx.Graph()
    graph.add_nodes_from(shops)
    graph.add_edges_from(zip(ops["shop_id"], first, strict=True))  # an operator is one
    strong = table[table["p"] >= detect.COMMUNITY_MIN]
    label = community(result)
    graph.add_edges_from((a, b) for a, b in zip(strong["shop_a"], strong["shop_b"], strict=True)
                         if label[a] == label[b])
    for _, members in result.groupby("community_id")["shop_id"]:
        assert nx.is_connected(graph.subgraph(members.tolist()))
    # seeded: the same input and seed give the same communities
    pd.testing.assert_frame_equal(detect.communities(ops, table, seed=seed), result)


def test_join_factories_merges_the_communities_of_one_leads_operators():
    shops = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4", "S5"],
                          "operator_id": ["OP-S1", "OP-S2", "OP-S3", "OP-S3", "OP-S5"],
                          "community_id": ["C-S1", "C-S2", "C-S3", "C-S3", "C-S5"]})
    leads = pd.DataFrame({"operator_ids": [["OP-S5", "OP-S3"], ["OP-S2", "OP-unknown"]]})
    result = detect.join_factories(shops, leads)
    assert community(result) == {"S1": "C-S1", "S2": "C-S2", "S3": "C-S3", "S4": "C-S3",
                                 "S5": "C-S3"}
    assert result["operator_id"].tolist() == shops["operator_id"].tolist()
    assert detect.join_factories(shops, leads.iloc[:0]) is shops


def test_a_small_part_is_weighed_against_the_whole_graph_in_its_own_batch():
    """A path of four operators, alone in its batch beside a large part in another:
    on its own (its modularity, resolution 1) it would split in two; against the whole
    graph's weight (the resolution its batch gets) it stays one community, as in one
    Leiden call over the whole graph."""
    path = [("P1", "P2", 0.5), ("P2", "P3", 0.5), ("P3", "P4", 0.5)]
    rings = [(f"R{r}{i}", f"R{r}{j}", 0.9) for r in range(20) for i in range(5)
             for j in range(i + 1, 5)]
    rings += [(f"R{r}0", f"R{r + 1}0", 0.3) for r in range(19)]
    shops = sorted({s for a, b, _ in path + rings for s in (a, b)})
    ops = operators_of({f"OP-{s}": [s] for s in shops})
    edges = detect.operator_edges(ops, pairs(*path, *rings))
    batch = detect.batch_of_parts(edges)
    assert len(set(batch[:3])) == 1 and batch[0] not in set(batch[3:])  # batches apart
    result = community(detect.communities(ops, pairs(*path, *rings)))
    assert {result[s] for s in ["P1", "P2", "P3", "P4"]} == {"C-P1"}
    assert len({result[s] for s in shops if s.startswith("R")}) > 1


# few operators, many rows: an edge sums several rows' scores
BATCH_ROWS = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.floats(0.25, 1)),
                      min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(BATCH_ROWS, st.integers(0, 5), st.randoms(use_true_random=False))
# numpy sums 0.32, 0.74, 0.84 to 1.9000000000000001, and 0.74, 0.84, 0.32 to 1.9
@example([(0, 1, 0.32), (0, 1, 0.74), (0, 1, 0.84)], 0, random.Random(3))
def test_a_batch_gives_the_same_communities_whatever_the_order_of_its_rows(rows, seed, rng):
    """Spark hands a worker a batch's rows in any order: the weights (summed smallest
    first, fsum) and the communities must not depend on it."""
    edges = pd.DataFrame([(f"OP-S{a}", f"OP-S{b}", p) for a, b, p in rows if a < b],
                         columns=["a", "b", "p"])
    if not len(edges):
        return
    edges["batch"] = 7  # one batch (of one or more parts)
    order = list(range(len(edges)))
    rng.shuffle(order)
    shuffled = edges.iloc[order].reset_index(drop=True)
    assert detect.batch_weight(shuffled) == detect.batch_weight(edges)
    total = detect.batch_weight(edges) * 3
    pd.testing.assert_frame_equal(detect.batch_communities(edges, total, seed),
                                  detect.batch_communities(shuffled, total, seed))
