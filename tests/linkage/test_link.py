"""Unit tests of the linkage stage (graphlink/linkage/link.py) on hand-made identifier tables.

Each test builds :class:`~graphlink.linkage.identifiers.Identifiers` by hand (a few
``(shop, kind, value)`` uses, values already canonical) and calls one public
function of :mod:`graphlink.linkage.link`: blocking (:func:`find_links`,
:func:`link_new`), shop-pair evidence (:func:`pair_evidence`), entities
(:func:`entity_labels`, :func:`count_entities`) and hubs (:func:`hubs`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.linkage import link
from graphlink.linkage.identifiers import Identifiers


def ids_of(uses: list[tuple[str, str, str]]) -> Identifiers:
    """Identifiers of ``(shop, kind, canonical value)`` uses, as the extraction makes them:
    one use row per (shop, kind, value), one values row per (kind, value), both sorted."""
    frame = pd.DataFrame(uses, columns=["shop_id", "kind", "value"]).drop_duplicates()
    frame = frame.sort_values(["shop_id", "kind", "value"], ignore_index=True)
    values = (frame.groupby(["kind", "value"], sort=True)["shop_id"].nunique()
              .rename("shops").reset_index())
    values["display"] = values["value"]
    values["lat"] = values["lon"] = float("nan")
    return Identifiers(frame, values)


def pairs_of(links: link.Links) -> set[tuple[str, str, str, str]]:
    return {(r.kind, r.value_a, r.value_b, r.method) for r in links.similar.itertuples()}


# --- blocking ---------------------------------------------------------------------------

def test_phone_one_digit_off_is_a_candidate_and_a_link():
    ids = ids_of([("S1", "phone", "+8613800138000"), ("S2", "phone", "+8613800138009"),
                  ("S3", "phone", "+8613911112222")])
    links = link.find_links(ids)
    assert pairs_of(links) == {("phone", "+8613800138000", "+8613800138009", "phone-edit")}
    assert links.candidates >= 1
    row = links.similar.iloc[0]
    assert row["score"] == 0.85
    # a phone-edit block is an artefact of blocking (half a number), not a crowd: the two
    # values' own users are its frequency
    assert row["block_shops"] == 1


def test_phone_two_neighbouring_digits_swapped_is_a_link():
    ids = ids_of([("S1", "phone", "+8613800138000"), ("S2", "phone", "+8613800183000")])
    assert pairs_of(link.find_links(ids)) == {
        ("phone", "+8613800138000", "+8613800183000", "phone-edit")}


def test_phones_two_digits_apart_do_not_link():
    ids = ids_of([("S1", "phone", "+8613800138000"), ("S2", "phone", "+8613800138099")])
    assert link.find_links(ids).similar.empty


def test_masked_card_links_to_the_full_number_it_shows():
    ids = ids_of([("S1", "payment", "6222021234567891234"), ("S2", "payment", "6222*1234")])
    found = link.find_links(ids)
    assert [(k, m) for k, _, _, m in pairs_of(found)] == [("payment", "masked-prefix-suffix")]


def test_a_key_over_max_block_values_is_context_not_compared(monkeypatch):
    monkeypatch.setattr(link, "MAX_BLOCK", 5)
    ips = [(f"S{i}", "ip", f"10.1.2.{i}") for i in range(1, 8)]  # 7 values, one /24
    links = link.find_links(ids_of(ips))
    assert links.similar.empty
    block = links.hub_blocks[links.hub_blocks["pass"] == "block"]
    assert block[["kind", "values", "shops"]].values.tolist() == [["ip", 7, 7]]
    # under the limit the same block links its values
    monkeypatch.setattr(link, "MAX_BLOCK", 200)
    assert set(link.find_links(ids_of(ips)).similar["method"]) == {"ip-block"}


# the phone passes only (the values below are phones: other passes would see none of them)
PHONE_PASSES = tuple(bp for bp in link.PASSES if bp.kind == "phone")
# two digits only: many of the phones drawn are one edit apart
PHONES = st.lists(st.from_regex(r"\+86138[01]{8}", fullmatch=True), min_size=2, max_size=12,
                  unique=True)


@settings(max_examples=25, deadline=None)
@given(PHONES, st.randoms(use_true_random=False))
def test_find_links_does_not_depend_on_row_order(phones, rnd):
    uses = [(f"S{i}", "phone", p) for i, p in enumerate(phones)]
    shuffled = uses[:]
    rnd.shuffle(shuffled)
    a = link.find_links(ids_of(uses), PHONE_PASSES)
    b = link.find_links(_unsorted(ids_of(shuffled), rnd), PHONE_PASSES)
    pd.testing.assert_frame_equal(a.similar, b.similar)


def _unsorted(ids: Identifiers, rnd) -> Identifiers:
    """The same identifiers with their values rows in another order."""
    order = list(range(len(ids.values)))
    rnd.shuffle(order)
    return Identifiers(ids.uses, ids.values.iloc[order].reset_index(drop=True))


@settings(max_examples=25, deadline=None)
@given(PHONES, st.integers(1, 4))
def test_link_new_finds_what_a_full_run_finds_for_the_new_values(phones, new):
    """Incremental blocking: placing new values in the world's saved sort order finds
    the links a full run's window finds between them and the world."""
    new = min(new, len(phones) - 1)
    world, fresh = phones[:-new], phones[-new:]
    full = link.find_links(ids_of([(f"S{i}", "phone", p) for i, p in enumerate(phones)]),
                           PHONE_PASSES)
    saved = link.find_links(ids_of([(f"S{i}", "phone", p) for i, p in enumerate(world)]),
                            PHONE_PASSES)
    values = ids_of([(f"N{i}", "phone", p) for i, p in enumerate(fresh)]).values
    got = link.link_new(values.assign(entities=values["shops"]), saved.keys, saved.hub_blocks,
                        PHONE_PASSES)
    touching = {t for t in pairs_of(full) if t[1] in fresh or t[2] in fresh}
    assert pairs_of(got) == touching


# small alphabets: most pairs drawn are one edit apart or share a key
VALUES = {
    "phone": st.from_regex(r"\+8613800[01]{6}", fullmatch=True),
    "id_number": st.from_regex(r"110101199003[01]{5}[0X]", fullmatch=True),
    "birth_date": st.from_regex(r"199[01]-0[12]-0[12]", fullmatch=True),
    "ip": st.from_regex(r"10\.0\.[01]\.[0-9]", fullmatch=True),
    "holder_name": st.text(alphabet="张王伟韦 ", min_size=2, max_size=3),
    "email": st.from_regex(r"z[w1]{2,3}@(qq|163)\.com", fullmatch=True),
}


@pytest.mark.parametrize("bp", [bp for bp in link.PASSES if bp.kind in VALUES],
                         ids=lambda bp: f"{bp.kind}-{bp.name}")
@settings(max_examples=20, deadline=None)
@given(st.data())
def test_every_pass_rule_is_symmetric(bp, data):
    """A pass links a and b as it links b and a (sorted-neighbourhood order decides which
    comes first, so an asymmetric rule would make links depend on the data's order)."""
    a, b = data.draw(VALUES[bp.kind]), data.draw(VALUES[bp.kind])
    assert bp.rule(a, b) == bp.rule(b, a)
    if bp.may_link is not None:
        assert bp.may_link(a, b) == bp.may_link(b, a)


# --- pair evidence ----------------------------------------------------------------------

def test_shared_value_is_exact_evidence_between_its_shops():
    ids = ids_of([("S1", "device", "d-1"), ("S2", "device", "d-1"), ("S3", "device", "d-3")])
    ev = link.pair_evidence(ids, link.find_links(ids))
    assert ev[["shop_a", "shop_b", "kind", "method", "shops"]].values.tolist() == [
        ["S1", "S2", "device", "exact", 2.0]]
    assert list(ev.columns) == ["shop_a", "shop_b", "kind", "value_a", "value_b", "score",
                                "method", "shops", "users", "weight"]


def test_value_on_more_shops_than_the_hub_limit_is_no_evidence():
    many = [(f"S{i:03d}", "ip", "100.64.0.1") for i in range(link.HUB_SHOPS + 1)]
    few = [(f"S{i:03d}", "ip", "100.64.0.2") for i in range(link.HUB_SHOPS)]
    ev = link.pair_evidence(ids_of(many + few), link.Links(pd.DataFrame()))
    assert set(ev["value_a"]) == {"100.64.0.2"}  # the 30-shop value still counts
    assert len(ev) == link.HUB_SHOPS * (link.HUB_SHOPS - 1) // 2


def test_a_crowded_value_under_the_limit_is_evidence_carrying_its_crowd():
    """25 unrelated tenants of one warehouse: evidence, but each row says 25 users, which
    the match model turns into a weak Bayes factor."""
    crowd = [(f"S{i:02d}", "address", "warehouse 9") for i in range(25)]
    ids = link.count_entities(ids_of(crowd + [("S00", "device", "d-1"), ("S01", "device", "d-1")]))
    ev = link.pair_evidence(ids, link.Links(pd.DataFrame()))
    address = ev[ev["kind"] == "address"]
    assert len(address) == 25 * 24 // 2
    assert set(address["shops"]) == {25.0}
    assert set(address["users"]) == {24.0}  # S00 and S01 are one entity (one device)


def test_shop_name_template_is_a_hub_at_ten_shops():
    names = [(f"S{i:02d}", "shop_name", "好运百货") for i in range(11)]
    assert link.pair_evidence(ids_of(names), link.Links(pd.DataFrame())).empty
    assert len(link.pair_evidence(ids_of(names[:10]), link.Links(pd.DataFrame()))) == 45


def test_similar_values_are_fuzzy_evidence_between_the_shops_using_them():
    ids = ids_of([("S2", "phone", "+8613800138000"), ("S1", "phone", "+8613800138009")])
    ev = link.pair_evidence(ids, link.find_links(ids))
    # shop_a < shop_b, and value_a is shop_a's value
    assert ev[["shop_a", "shop_b", "value_a", "value_b", "method", "score"]].values.tolist() == [
        ["S1", "S2", "+8613800138009", "+8613800138000", "phone-edit", 0.85]]
    assert (ev["weight"] == ev["score"]).all()  # until the match model weighs it


def test_evidence_is_symmetric_in_shop_names():
    """Renaming shops so that their order flips gives the same evidence, sides swapped."""
    uses = [("A", "phone", "+8613800138000"), ("B", "phone", "+8613800138009"),
            ("A", "device", "d-1"), ("B", "device", "d-1")]
    flipped = [({"A": "B", "B": "A"}[s], k, v) for s, k, v in uses]
    one = link.pair_evidence(ids_of(uses), link.find_links(ids_of(uses)))
    two = link.pair_evidence(ids_of(flipped), link.find_links(ids_of(flipped)))
    as_set = lambda ev, swap: {(r.kind, *((r.value_b, r.value_a) if swap else  # noqa: E731
                                         (r.value_a, r.value_b)), r.method, r.score)
                               for r in ev.itertuples()}
    assert as_set(one, False) == as_set(two, True)


# --- entities and rarity ----------------------------------------------------------------

def test_shops_on_one_device_are_one_entity_and_one_user_of_their_address():
    """An operator's shops sharing a laptop are one user of its dispatch address: the
    address's rarity counts unrelated entities, not shops."""
    uses = [("S1", "device", "d-1"), ("S2", "device", "d-1"), ("S3", "device", "d-1"),
            ("S1", "address", "park 1"), ("S2", "address", "park 1"),
            ("S3", "address", "park 1"), ("S4", "address", "park 1")]
    ids = ids_of(uses)
    labels = link.entity_labels(ids)
    assert labels.to_dict() == {"S1": "S1", "S2": "S1", "S3": "S1"}
    counted = link.count_entities(ids, labels).values.set_index(["kind", "value"])
    assert counted.at[("address", "park 1"), "shops"] == 4
    assert counted.at[("address", "park 1"), "entities"] == 2


def test_known_entities_of_a_saved_world_are_joined_whole():
    """Only part of a saved world's uses at hand (those of the values new shops touch):
    each world shop starts in its saved entity, so a new shop joining one of its shops
    joins all of it, a new shop on two entities' devices bridges them, and the counts
    are those of the whole world with the new shops in it."""
    # the world: W1, W2 one entity (by a device not in these uses); W3 its own; W4 another
    known = pd.Series({"W1": "W1", "W2": "W1", "W3": "W3", "W4": "W4"})
    uses = [("W1", "address", "park"), ("W2", "address", "park"), ("W3", "address", "park"),
            ("W3", "device", "d-3"), ("N1", "device", "d-3"), ("N1", "phone", "+86 1"),
            ("W2", "phone", "+86 1"), ("N2", "address", "park")]
    ids = ids_of(uses)
    labels = link.entity_labels(ids, known)
    assert labels.reindex(["W1", "W2", "W3", "N1"]).tolist() == ["N1"] * 4
    assert "W4" not in labels and "N2" not in labels  # not in these uses; on its own
    counted = link.count_entities(ids, labels).values.set_index(["kind", "value"])
    assert counted.at[("address", "park"), "entities"] == 2  # W1-W3 bridged by N1; N2
    without = link.count_entities(ids_of(uses)).values.set_index(["kind", "value"])
    assert without.at[("address", "park"), "entities"] == 3  # W1 and W2 looked apart


def test_a_hub_device_does_not_make_an_entity():
    uses = [(f"S{i:02d}", "device", "emulator") for i in range(link.HUB_SHOPS + 1)]
    assert link.entity_labels(ids_of(uses)).empty


# --- hubs -------------------------------------------------------------------------------

def test_hubs_types_and_treats_widely_shared_values():
    uses = ([(f"S{i:02d}", "ip", "100.64.0.1") for i in range(link.HUB_SHOPS + 1)]
            + [(f"S{i:02d}", "address", "warehouse 9") for i in range(12)])
    found = link.hubs(ids_of(uses)).set_index(["kind", "key"])
    assert found.loc[("ip", "100.64.0.1"), ["type", "treatment", "shops"]].tolist() == [
        "carrier NAT or shared network IP", "excluded", link.HUB_SHOPS + 1]
    assert found.loc[("address", "warehouse 9"), ["type", "treatment"]].tolist() == [
        "shared warehouse or office address", "down-weighted"]


# --- the nearby screen ------------------------------------------------------------------


def test_addresses_sharing_no_anchor_never_reach_a_link(world):
    """compare.address_anchors is a necessary condition of a textual address link: on
    every pair of the world's addresses that reaches POSSIBLE, some
    anchor agrees (so the ~550 m passes may skip the full comparison of the others)."""
    from graphlink import normalise as norm
    from graphlink.linkage import compare

    raw = pd.read_csv(world / "addresses.csv", dtype=str)["address"].dropna().unique()
    parsed = [a for a in map(norm.address, raw[:500]) if a is not None]
    checked = linked = 0
    for i, a in enumerate(parsed):
        for b in parsed[i + 1:]:
            checked += 1
            if compare.address_similarity(a, b).score >= compare.POSSIBLE:
                linked += 1
                pairs = zip(compare.address_anchors(a), compare.address_anchors(b), strict=True)
                shared = [x is not None and x == y for x, y in pairs]
                assert any(shared), (a.canonical, b.canonical)
    assert checked > 50_000 and linked > 20, (checked, linked)


def test_nearby_addresses_link_at_least_as_nearby():
    """Two addresses of one ~550 m cell that share nothing in writing are ``nearby``;
    the same place written twice keeps its textual level."""
    here = "杭州市余杭区文一西路998号5号楼302室"
    near = link._nearby(here, "杭州市余杭区五常大道1号")
    same = link._nearby(here, "杭州市余杭区文一西路998号5号楼303室")
    assert (near.method, near.score) == ("nearby", link.LINK_MIN)
    assert same.method == "same-building-neighbour-room" and same.score > link.LINK_MIN


def test_template_shop_name_weighs_only_between_shops_paired_otherwise():
    """A shop name on more shops than its kind's limit (a template) makes no pair, but
    between two shops a shared phone paired it is evidence, with its shop count."""
    template = [(f"S{i:02d}", "shop_name", "潮流服饰") for i in range(12)]
    ids = ids_of([*template, ("S00", "phone", "13800000001"), ("S01", "phone", "13800000001")])
    ev = link.pair_evidence(ids, link.find_links(ids))
    names = ev[ev["kind"] == "shop_name"]
    assert names[["shop_a", "shop_b"]].values.tolist() == [["S00", "S01"]]
    assert names["shops"].tolist() == [12.0] and names["method"].tolist() == ["exact"]
    assert len(ev[ev["kind"] == "phone"]) == 1


@settings(max_examples=15, deadline=None)
@given(PHONES)
def test_keys_held_as_arrow_read_and_save_as_the_passes_frames(phones):
    """find_links holds its keys as one Arrow table (CompactLinks): read back they equal
    the passes' keyed rows concatenated, and a state writes the same Parquet table
    (values, types and pandas metadata) as from that DataFrame."""
    import pyarrow.parquet as pq

    from graphlink.state.store import _write, _write_keys

    ids = ids_of([(f"S{i}", "phone", p) for i, p in enumerate(phones)])
    found = link.find_links(ids, PHONE_PASSES)
    expected = pd.concat([link._keyed(ids.values, bp)[0][["key", "text", "value", "key_shops"]]
                          .assign(**{"pass": bp.name, "kind": bp.kind})
                          for bp in PHONE_PASSES], ignore_index=True)
    pd.testing.assert_frame_equal(found.keys, expected, check_index_type=False)
    if not len(expected):
        return
    plain = link.Links(found.similar, keys=expected)
    with tempfile.TemporaryDirectory() as tmp:
        _write_keys(found, Path(tmp) / "a.parquet")
        _write(plain.keys, Path(tmp) / "b.parquet")
        a, b = pq.read_table(Path(tmp) / "a.parquet"), pq.read_table(Path(tmp) / "b.parquet")
    assert isinstance(found, link.CompactLinks) and found.keys_table() is not None
    assert a.equals(b, check_metadata=True)
