"""Unit tests of sign-up scoring and spot checks (graphlink/scoring/score.py) on hand-made graphs.

A few shops (shop_id, created_at, status, banned_at, operator_id,
community_id) and a few scored pairs (shop_a, shop_b, p) written by hand; the
explainer is a stand-in that records what it was asked.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.scoring import score

T = pd.Timestamp


def shops(*rows: tuple) -> pd.DataFrame:
    """Rows ``(shop_id, created_at, banned_at or None)``; banned when banned_at is set."""
    frame = pd.DataFrame(rows, columns=["shop_id", "created_at", "banned_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["banned_at"] = pd.to_datetime(frame["banned_at"])
    frame["status"] = np.where(frame["banned_at"].notna(), "banned", "active")
    frame["operator_id"] = "OP-" + frame["shop_id"]
    frame["community_id"] = "C-" + frame["shop_id"]
    return frame


def pairs(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["shop_a", "shop_b", "p"])


def asked(calls: list):
    """An explainer that records its calls and returns one item naming them."""
    def explain(shop, banned, path, banned_at):
        calls.append((shop, banned, tuple(path), banned_at))
        return [{"kind": "stub", "detail": f"{shop}->{banned}"}]
    return explain


WORLD = shops(("B1", "2025-01-01", "2025-03-01"), ("B2", "2025-01-01", "2025-03-01"),
              ("S1", "2025-01-05", None), ("N1", "2025-04-01", None), ("N2", "2025-04-02", None),
              ("N3", "2025-04-03", None))


def by_shop(records: list[dict]) -> dict[str, dict]:
    return {r["shop_id"]: r for r in records}


def test_best_match_is_the_banned_shop_with_the_strongest_evidence():
    calls: list = []
    got = by_shop(score.score_signups(WORLD, pairs(("B1", "N1", 0.6), ("B2", "N1", 0.95)),
                                      T("2025-04-01"), asked(calls)))
    n1 = got["N1"]
    assert [m["banned_shop_id"] for m in n1["matches"]] == ["B2", "B1"]
    assert (n1["risk"], n1["flag"]) == (0.95, "high")
    assert n1["matches"][0]["evidence"] == [{"kind": "stub", "detail": "N1->B2"}]
    assert ("N1", "B2", ("N1", "B2"), T("2025-03-01")) in calls


def test_only_shops_created_since_are_scored_riskiest_first():
    records = score.score_signups(WORLD, pairs(("B1", "N2", 0.6), ("B1", "S1", 0.99)),
                                  T("2025-04-01"), asked([]))
    assert [r["shop_id"] for r in records] == ["N2", "N1", "N3"]  # risk, then shop id
    assert [r["flag"] for r in records] == ["medium", "none", "none"]
    only = score.score_signups(WORLD, pairs(("B1", "S1", 0.99)), T("2025-04-01"), None,
                               only={"S1"})
    # S1 opened before B1's ban: a sister shop, discounted
    assert [(r["shop_id"], r["risk"]) for r in only] == [("S1", round(0.99 * score.CONCURRENT, 4))]


def test_a_path_through_a_sister_shop_scores_the_product_of_its_hops():
    """A new shop sharing a device with a shop that shares a card with a banned shop."""
    got = by_shop(score.score_signups(WORLD, pairs(("N1", "S1", 0.9), ("S1", "B1", 0.8)),
                                      T("2025-04-01"), None))
    match = got["N1"]["matches"][0]
    assert match["path"] == ["N1", "S1", "B1"]
    assert match["hops"] == 2
    assert match["score"] == pytest.approx(0.72)


def test_a_direct_weak_pair_loses_to_a_strong_indirect_path():
    got = by_shop(score.score_signups(WORLD, pairs(("N1", "B1", 0.3), ("N1", "S1", 0.99),
                                                   ("S1", "B1", 0.99)), T("2025-04-01"), None))
    assert got["N1"]["matches"][0]["path"] == ["N1", "S1", "B1"]


def test_paths_longer_than_max_hops_are_not_matches():
    chain = [("N1", "X1", 0.99), ("X1", "X2", 0.99), ("X2", "X3", 0.99), ("X3", "B1", 0.99)]
    world = pd.concat([WORLD, shops(("X1", "2025-01-01", None), ("X2", "2025-01-01", None),
                                    ("X3", "2025-01-01", None))])
    assert score.MAX_HOPS == 3
    got = by_shop(score.score_signups(world, pairs(*chain), T("2025-04-01"), None))
    assert got["N1"]["matches"] == []
    got = by_shop(score.score_signups(world, pairs(*chain[1:], ("N1", "X2", 0.99)),
                                      T("2025-04-01"), None))
    assert got["N1"]["matches"][0]["hops"] == 3


def test_a_sister_shop_opened_before_the_ban_is_discounted():
    world = shops(("B1", "2025-01-01", "2025-03-01"), ("N1", "2025-02-01", None),
                  ("N2", "2025-03-01", None))
    got = by_shop(score.score_signups(world, pairs(("B1", "N1", 0.8), ("B1", "N2", 0.8)),
                                      T("2025-01-15"), None))
    assert got["N1"]["risk"] == pytest.approx(0.8 * score.CONCURRENT)
    assert got["N2"]["risk"] == 0.8  # opened on the day of the ban: a comeback


def test_pairs_below_the_low_flag_are_no_path():
    got = by_shop(score.score_signups(WORLD, pairs(("B1", "N1", score.FLAGS["low"] * 0.99)),
                                      T("2025-04-01"), None))
    assert got["N1"]["flag"] == "none"


SCORED = st.lists(st.tuples(st.sampled_from(["B1", "B2", "S1", "N1", "N2", "N3"]),
                            st.sampled_from(["B1", "B2", "S1", "N1", "N2", "N3"]),
                            st.floats(0.01, 1.0)), max_size=12)


def _distinct_pairs(rows: list[tuple]) -> pd.DataFrame:
    seen, out = set(), []
    for a, b, p in rows:
        key = tuple(sorted((a, b)))
        if a != b and key not in seen:
            seen.add(key)
            out.append((*key, p))
    return pairs(*out)


@settings(max_examples=60, deadline=None)
@given(SCORED, st.randoms(use_true_random=False))
def test_scores_are_best_path_products_whatever_the_row_order(rows, rnd):
    """Each match scores the best product of p over the paths of at most MAX_HOPS hops
    (brute force over networkx's simple paths as the oracle), and shuffling the pairs
    changes nothing. (Completeness: see the xfail test below.)"""
    table = _distinct_pairs(rows)
    records = score.score_signups(WORLD, table, T("2025-04-01"), None)
    shuffled = table.sample(frac=1, random_state=rnd.randint(0, 2**31)).reset_index(drop=True)
    assert score.score_signups(WORLD, shuffled, T("2025-04-01"), None) == records
    graph = nx.Graph()
    for a, b, p in table.itertuples(index=False):
        if p >= score.FLAGS["low"]:
            graph.add_edge(a, b, p=p)
    ban = WORLD.set_index("shop_id")["banned_at"]
    created = WORLD.set_index("shop_id")["created_at"]
    for r in records:
        for m in r["matches"]:
            best = _best_product(graph, r["shop_id"], m["banned_shop_id"])
            if created[r["shop_id"]] < ban[m["banned_shop_id"]]:
                best *= score.CONCURRENT
            assert m["score"] == pytest.approx(best, abs=1e-4), (r, m)


def test_a_path_within_max_hops_is_found_when_a_longer_one_is_stronger():
    world = pd.concat([WORLD, shops(("X1", "2025-01-01", None), ("X2", "2025-01-01", None),
                                    ("X3", "2025-01-01", None))])
    table = pairs(("N1", "X1", 0.99), ("X1", "X2", 0.99), ("X2", "X3", 0.99), ("X3", "B1", 0.99),
                  ("N1", "X2", 0.5))
    got = by_shop(score.score_signups(world, table, T("2025-04-01"), None))
    assert [m["path"] for m in got["N1"]["matches"]] == [["N1", "X2", "X3", "B1"]]
    assert got["N1"]["risk"] == pytest.approx(0.5 * 0.99 * 0.99, abs=1e-3)
    assert got["N1"]["flag"] == "low"  # 0.49: below medium (0.5), no longer none


def _best_product(graph: nx.Graph, shop: str, banned: str) -> float:
    """The best product of p over paths of at most MAX_HOPS hops (0: none)."""
    if shop not in graph or banned not in graph:
        return 0.0
    return max((math.prod(graph.edges[u, v]["p"] for u, v in zip(path, path[1:], strict=False))
                for path in nx.all_simple_paths(graph, shop, banned, cutoff=score.MAX_HOPS)),
               default=0.0)


def test_pair_graph_search_agrees_with_networkx_dijkstra():
    rng = np.random.default_rng(3)
    names = [f"S{i:02d}" for i in range(15)]
    rows = {tuple(sorted(rng.choice(names, 2, replace=False))): float(rng.uniform(0.05, 1))
            for _ in range(40)}
    table = pairs(*[(a, b, p) for (a, b), p in rows.items()])
    graph = score.PairGraph.of(table)
    oracle = nx.Graph()
    oracle.add_weighted_edges_from([(a, b, -np.log(p)) for (a, b), p in rows.items()])
    dist, _ = graph.search(["S00"], cutoff=np.inf)
    expected = nx.single_source_dijkstra_path_length(oracle, "S00")
    assert {graph.names[k]: v for k, v in dist.items()} == pytest.approx(expected)


# --- spot checks ------------------------------------------------------------------------

def test_nearest_banned_finds_the_best_path_from_any_banned_shop():
    table = pairs(("B1", "S1", 0.5), ("B2", "S2", 0.9), ("S2", "S1", 0.9))
    near = score.nearest_banned(table, ["B1", "B2"]).set_index("shop_id")
    assert near.at["S1", "banned_shop_id"] == "B2"
    assert near.at["S1", "proximity"] == pytest.approx(0.81)
    assert near.at["S1", "hops"] == 2
    assert "B1" not in near.index


def test_spotcheck_ranks_a_fake_verdict_first_and_halves_a_genuine_one():
    table = shops(("B1", "2025-01-01", "2025-03-01"), ("S1", "2025-01-01", None),
                  ("S2", "2025-01-01", None), ("S3", "2025-01-01", None),
                  ("S4", "2025-01-01", None))
    near = score.nearest_banned(pairs(("B1", "S2", 0.9), ("B1", "S3", 0.9)), ["B1"])
    disputes = pd.DataFrame({"shop_id": ["S4", "S4"], "reason": ["counterfeit", "late"]})
    buys = pd.DataFrame({"shop_id": ["S1", "S3"], "verdict": ["fake", "genuine"]})
    ranked = score.spotcheck(table, near, pd.Series(dtype=object), pd.Series(dtype=float),
                             disputes, buys, budget=10)
    assert [r["shop_id"] for r in ranked] == ["S1", "S2", "S3", "S4"]
    by = {r["shop_id"]: r for r in ranked}
    assert by["S3"]["priority"] == pytest.approx(by["S2"]["priority"] * score.GENUINE_DISCOUNT)
    assert by["S4"]["reasons"] == [{"kind": "dispute", "detail": "1 counterfeit dispute(s)"}]
    assert "B1" not in by  # banned shops are not test-bought
    assert [r["rank"] for r in score.spotcheck(table, near, pd.Series(dtype=object),
                                               pd.Series(dtype=float), disputes, buys, 2)] == [1, 2]


def test_a_pair_graph_scores_as_its_pairs_and_evidence_is_added_later():
    table = pairs(("N1", "S1", 0.9), ("S1", "B1", 0.8), ("B2", "N2", 0.5))
    late = score.score_signups(WORLD, score.PairGraph.of(table), T("2025-04-01"), None)
    assert late == score.score_signups(WORLD, table, T("2025-04-01"), None)
    assert score.on_paths(late) == {"N1", "S1", "B1", "B2", "N2"}
    calls: list = []
    done = score.add_evidence(late, asked(calls))
    assert sorted(c[:3] for c in calls) == [("N1", "B1", ("N1", "S1", "B1")),
                                            ("N2", "B2", ("N2", "B2"))]
    assert all("banned_at" not in m and m["evidence"] for r in done for m in r["matches"])
