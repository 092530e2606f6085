"""Unit tests of operator resolution (graphlink/linkage/resolve.py) on hand-made pair scores.

Pairs are written by hand (shop_a, shop_b, p), or scored from a few rows of
evidence by a hand-made match model whose parameters are plain numbers
(:func:`toy_model`), so each test reads as "this evidence, these operators".
"""

from __future__ import annotations

import networkx as nx
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.linkage import resolve
from graphlink.linkage.model import COMPARISONS, MODES, NAMES, MatchModel, score

SHOPS = 1000  # the marketplace the toy model's frequencies are read against


def toy_model() -> MatchModel:
    """Every agreeing level equally likely among matches (half the mass), rare among
    non-matches (u = 1e-4, before frequency); one pair in a thousand matches."""
    levels = {c: len(COMPARISONS[c][1]) for c in NAMES}
    m = {mode: {c: [0.5 / levels[c]] * levels[c] + [0.5] for c in NAMES} for mode in MODES}
    u = {c: [1e-4] * levels[c] + [1.0] for c in NAMES}
    return MatchModel(m, u, {mode: [1e-3 / 3, 1e-3 / 3] for mode in MODES}, shops=SHOPS)


def evidence(*rows: tuple) -> pd.DataFrame:
    """Evidence rows ``(shop_a, shop_b, kind, method, users)``, weight 1 each."""
    frame = pd.DataFrame(rows, columns=["shop_a", "shop_b", "kind", "method", "users"])
    n = len(frame)
    return frame.assign(value_a=[f"v{i}" for i in range(n)], value_b=[f"v{i}" for i in range(n)],
                        score=1.0, shops=frame["users"], weight=1.0)


def kinds_of(shops: list[str], carried: str = "device,address,phone,ip") -> pd.Series:
    return pd.Series([carried] * len(shops), index=shops)


def operators(res: resolve.Resolution) -> dict[str, str]:
    return dict(zip(res.operators["shop_id"], res.operators["operator_id"], strict=True))


# --- resolve_operators ------------------------------------------------------------------

def test_merge_threshold_is_inclusive_and_transitive():
    pairs = pd.DataFrame({"shop_a": ["S1", "S2", "S4"], "shop_b": ["S2", "S3", "S5"],
                          "p": [resolve.MERGE, 0.95, resolve.MERGE - 1e-9]})
    got = operators(resolve.resolve_operators(pd.Series(["S5", "S4", "S3", "S2", "S1", "S6"]),
                                              pairs))
    assert got == {"S1": "OP-S1", "S2": "OP-S1", "S3": "OP-S1", "S4": "OP-S4", "S5": "OP-S5",
                   "S6": "OP-S6"}


def test_shops_keep_their_input_order():
    shops = pd.Series(["S3", "S1", "S2"])
    res = resolve.resolve_operators(shops, pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S3"],
                                                         "p": [0.9]}))
    assert res.operators["shop_id"].tolist() == ["S3", "S1", "S2"]
    assert res.operators["operator_id"].tolist() == ["OP-S1", "OP-S1", "OP-S2"]


PAIRS = st.integers(2, 10).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                   st.floats(0, 1)), max_size=25)))


@settings(max_examples=60, deadline=None)
@given(PAIRS, st.randoms(use_true_random=False))
def test_operators_are_the_components_of_merge_links(case, rnd):
    """Every shop once; an operator is a connected component of the pairs with p >= MERGE
    (networkx as the oracle), named by its smallest shop; the pairs' order changes nothing."""
    n, rows = case
    shops = [f"S{i:02d}" for i in range(n)]
    rows = [(shops[a], shops[b], p) for a, b, p in rows if a != b]
    pairs = pd.DataFrame(rows, columns=["shop_a", "shop_b", "p"])
    got = operators(resolve.resolve_operators(pd.Series(shops), pairs))
    assert sorted(got) == shops
    graph = nx.Graph()
    graph.add_nodes_from(shops)
    graph.add_edges_from((a, b) for a, b, p in rows if p >= resolve.MERGE)
    for component in nx.connected_components(graph):
        assert {got[s] for s in component} == {"OP-" + min(component)}
    shuffled = pairs.sample(frac=1, random_state=rnd.randint(0, 2**31)).reset_index(drop=True)
    assert operators(resolve.resolve_operators(pd.Series(shops[::-1]), shuffled)) == got


DENSE = st.integers(4, 10).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                   st.just(0.5)), min_size=6, max_size=40)))
OWNERS = st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=10, max_size=10)


@settings(max_examples=80, deadline=None)
@given(DENSE, OWNERS)
def test_ties_are_the_shops_tied_to_two_shops_of_another_operator(case, owners):
    """A plain-Python oracle for ``_ties``: each pair seen from both ends, kept where
    shop x has two or more pairs with shops of y's operator (not its own, of two shops or
    more); ``tries`` is that operator's size. Shops outside ``operator_of`` (None) have
    no operator."""
    n, rows = case
    shops = [f"S{i:02d}" for i in range(n)]
    seen = {tuple(sorted((shops[a], shops[b]))) for a, b, _ in rows if a != b}
    pairs = pd.DataFrame(sorted(seen), columns=["shop_a", "shop_b"]).assign(p=0.5)
    owner = {s: f"OP-{o}" for s, o in zip(shops, owners, strict=False) if o is not None}
    operator_of = pd.Series(owner, dtype=object)
    size = {op: list(owner.values()).count(op) for op in set(owner.values())}
    ends = [(x, y) for a, b in seen for x, y in ((a, b), (b, a)) if y in owner
            and owner[y] != owner.get(x) and size[owner[y]] >= 2]
    many = {(x, owner[y]) for x, y in ends if sum(owner[v] == owner[y] for u, v in ends
                                                    if u == x) >= 2}
    want = sorted((x, y, owner[y], size[owner[y]]) for x, y in ends if (x, owner[y]) in many)
    got = resolve._ties(pairs, operator_of)
    assert sorted(zip(got["x"], got["y"], got["op"], got["tries"], strict=True)) == want
    assert got.index.is_unique


# --- with the match model's scores -------------------------------------------------------

def test_a_shared_park_address_does_not_make_two_shops_one_operator():
    """Two honest tenants of an e-commerce park (40 unrelated tenants on the building)
    stay apart; the same two shops sharing a device are one operator."""
    model, shops = toy_model(), ["S1", "S2", "S3", "S4"]
    ev = evidence(("S1", "S2", "address", "same-building", 40.0),
                  ("S3", "S4", "address", "same-building", 40.0),
                  ("S3", "S4", "device", "exact", 1.0))
    pairs = score(model, ev, kinds_of(shops), SHOPS)
    got = operators(resolve.resolve_operators(pd.Series(shops), pairs))
    assert got["S1"] != got["S2"]
    assert got["S3"] == got["S4"] == "OP-S3"


def test_the_same_building_counts_for_more_when_few_use_it():
    model, shops = toy_model(), ["S1", "S2", "S3", "S4"]
    ev = evidence(("S1", "S2", "address", "same-building", 40.0),
                  ("S3", "S4", "address", "same-building", 1.0))
    p = score(model, ev, kinds_of(shops), SHOPS).set_index("shop_a")["p"]
    assert p["S1"] < p["S3"]


def test_two_weak_traces_of_one_banned_operator_combine():
    """A comeback keeps the phone of one banned shop and the building of its sister:
    compared with the whole operator, the pair beats each trace alone, is represented by
    the banned shop and names the sister in ``via``."""
    model, shops = toy_model(), ["B1", "B2", "X"]
    ev = evidence(("B1", "B2", "device", "exact", 1.0), ("B1", "B2", "ip", "exact", 1.0),
                  ("B1", "X", "phone", "exact", 1.0),
                  ("B2", "X", "address", "same-building", 1.0))
    pairs = score(model, ev, kinds_of(shops), SHOPS)
    first = resolve.resolve_operators(pd.Series(shops), pairs)
    owner = first.operators.set_index("shop_id")["operator_id"]
    assert owner.to_dict() == {"B1": "OP-B1", "B2": "OP-B1", "X": "OP-X"}
    out = resolve.against_operators(pairs, owner, model, SHOPS, banned={"B1"})
    combined = out[out["via"] != ""]
    assert combined[["shop_a", "shop_b", "via"]].values.tolist() == [["B1", "X", "B2"]]
    single = pairs[pairs["shop_b"] == "X"]["p"]
    assert combined["p"].iloc[0] > single.max()
    assert resolve.combined_with(out) == {("B1", "X"): ["B2"]}
    # the representative is the banned shop even when the sister's own pair is stronger
    out2 = resolve.against_operators(pairs, owner, model, SHOPS, banned={"B2"})
    assert out2.loc[out2["via"] != "", ["shop_a", "shop_b", "via"]].values.tolist() == [
        ["B2", "X", "B1"]]


def test_one_trace_per_operator_is_not_combined():
    model, shops = toy_model(), ["B1", "B2", "X"]
    ev = evidence(("B1", "B2", "device", "exact", 1.0), ("B1", "B2", "ip", "exact", 1.0),
                  ("B1", "X", "phone", "exact", 1.0))
    pairs = score(model, ev, kinds_of(shops), SHOPS)
    owner = pd.Series({"B1": "OP-B1", "B2": "OP-B1", "X": "OP-X"})
    out = resolve.against_operators(pairs, owner, model, SHOPS, banned={"B1"})
    assert (out["via"] == "").all()
    assert resolve.combined_with(out) == {}


TRACES = [("device", "exact"), ("phone", "exact"), ("ip", "exact"),
          ("address", "same-building")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.sampled_from(TRACES),
                          st.sampled_from([1.0, 3.0, 40.0])), min_size=4, max_size=30),
       st.lists(st.integers(0, 2), min_size=8, max_size=8), st.integers(1, 4))
def test_ties_combined_in_any_split_of_the_shops_are_the_ties_combined_at_once(
        rows, owners, buckets):
    """The Spark engine combines the ties a bucket of shops ``x`` at a time
    (``combined_groups``) and keeps the strongest of each pair over all buckets
    (``strongest``, on rows in (x, op) order): the embedded ``_combined`` exactly."""
    shops = [f"S{i}" for i in range(8)]
    ev = evidence(*[(shops[min(a, b)], shops[max(a, b)], kind, method, users)
                    for a, b, (kind, method), users in rows if a != b])
    model = toy_model()
    pairs = score(model, ev, kinds_of(shops), SHOPS) if len(ev) else ev
    ties = resolve._ties(pairs, pd.Series({s: f"OP-{o}" for s, o in zip(shops, owners,
                                                                        strict=True)}))
    if not len(ties):  # against_operators stops here
        return
    banned = {"S0", "S5"}
    at_once = resolve._combined(ties, model, SHOPS, banned)
    parts = [resolve.combined_groups(part, model, SHOPS, banned)
             for _, part in ties.groupby(ties["x"].str[1:].astype(int) % buckets)]
    split = resolve.strongest(pd.concat([at_once.iloc[:0], *parts]).sort_values(
        ["x", "op"], ignore_index=True))
    pd.testing.assert_frame_equal(split.reset_index(drop=True),
                                  at_once.reset_index(drop=True))


# --- evidence_chain ---------------------------------------------------------------------

def test_evidence_chain_takes_the_strongest_path_and_quotes_each_hop():
    pairs = pd.DataFrame({"shop_a": ["S1", "S2", "S1", "S4"], "shop_b": ["S2", "S3", "S4", "S3"],
                          "p": [0.99, 0.98, 0.75, 0.75]})
    res = resolve.resolve_operators(pd.Series(["S1", "S2", "S3", "S4", "S5"]), pairs)
    ev = pd.DataFrame({"shop_a": ["S1", "S1", "S2"], "shop_b": ["S2", "S2", "S3"],
                       "kind": ["ip", "device", "phone"], "weight": [1.0, 9.0, 5.0]})
    hops = resolve.evidence_chain(res, ev, "S1", "S3")
    assert [(h["from"], h["to"]) for h in hops] == [("S1", "S2"), ("S2", "S3")]
    assert [e["kind"] for e in hops[0]["evidence"]] == ["device", "ip"]  # strongest first
    assert hops[1]["p"] == 0.98
    assert resolve.evidence_chain(res, ev, "S1", "S5") == []
    assert resolve.evidence_chain(res, ev, "S1", "nope") == []
