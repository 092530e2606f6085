"""Factory leads, places and spot-check sections: small golden worlds with known
answers, invariants on a generated world, and the benchmark's measures."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphlink as gl
from graphlink.api import factories_report, spotcheck_report
from graphlink.detection.detect import join_factories
from graphlink.detection.factories import _chains, _last_ended, factory_leads
from graphlink.detection.places import _street_pairs, address_keys, distance_m, sites
from graphlink.reports.report import load_schema, render
from graphlink.synth.evaluate import group_match, precision_at

DAY = pd.Timestamp("2025-01-01")


def _world(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(points, operators, record) from rows of
    (shop, operator, address, lat, lon, signal, created day, banned day or None)."""
    points = pd.DataFrame([(s, a, lat, lon) for s, _, a, lat, lon, *_ in rows],
                          columns=["shop_id", "value", "lat", "lon"])
    operators = pd.DataFrame([(s, op) for s, op, *_ in rows],
                             columns=["shop_id", "operator_id"]).drop_duplicates()
    record = pd.DataFrame(
        [(s, sig, DAY + pd.Timedelta(days=c), None if b is None else DAY + pd.Timedelta(days=b))
         for s, _, _, _, _, sig, c, b in rows],
        columns=["shop_id", "signal", "created_at", "banned_at"]).drop_duplicates("shop_id")
    record["banned_at"] = pd.to_datetime(record["banned_at"])
    record["status"] = np.where(record["banned_at"].notna(), "banned", "active")
    record["banned"] = record["banned_at"].notna()
    for column in ("fake_buys", "genuine_buys", "counterfeit_disputes", "disputes"):
        record[column] = (record["signal"] >= 0.6).astype(int)
    return points, operators, record


def _leads(rows: list[tuple]):
    return factory_leads(*_world(rows))


# one factory: four dealers on one street, written four ways, one only as coordinates
FACTORY = [
    ("S01", "OP1", "浙江省义乌市稠城街道新塘工业区发展路379号3栋", 29.3401, 120.0801, 1.0, 0, None),
    ("S02", "OP2", "义乌稠城街道新塘工业区发展路三八一号五幢", None, None, 1.0, 10, 200),
    ("S03", "OP3", "义乌市新塘工业区发展路３７５号２号楼３０１室", 29.3405, 120.0806, 0.6, 30,
     None),
    ("S04", "OP4", "29.3398,120.0799", 29.3398, 120.0799, 1.0, 50, None),
]


def test_one_factory_written_many_ways_is_one_lead():
    found = _leads(FACTORY).leads
    assert found["shops"].tolist() == [["S01", "S02", "S03", "S04"]]
    lead = found.iloc[0]
    assert lead["operators"] == 4 and lead["honest_share"] == 0.0
    assert 0 < lead["score"] <= 1 and lead["radius_m"] < 100


def test_three_shops_of_one_operator_are_not_a_factory():
    rows = [(s, "OP1", a, lat, lon, sig, c, b) for s, _, a, lat, lon, sig, c, b in FACTORY]
    assert _leads(rows).leads.empty


def test_a_comeback_chain_at_one_building_counts_once():
    """Banned, then a new shop in the next room after the ban, then again: one tenancy
    (the match model did not link them), so two independent operators only."""
    rows = [("S01", "OP1", "泉州鲤城区松岗工业区振兴路350号2栋101室", None, None, 1.0, 0, 100),
            ("S02", "OP2", "泉州鲤城区松岗工业区振兴路350号2栋102室", None, None, 1.0, 120, 220),
            ("S03", "OP3", "泉州鲤城区松岗工业区振兴路350号2栋103室", None, None, 1.0, 240, None),
            ("S04", "OP4", "泉州鲤城区松岗工业区振兴路356号", None, None, 1.0, 0, None)]
    assert _leads(rows).leads.empty
    overlapping = [(*r[:6], r[6], None) for r in rows]  # the same shops, all open at once
    assert _leads(overlapping).leads["operators"].tolist() == [4]


def test_a_warehouse_with_a_few_flagged_tenants_is_context_not_a_lead():
    where = "温州市瓯海区车站大道328号顺丰云仓2号库"
    rows = [(f"H{k:02d}", f"OPH{k}", where, 27.95, 120.67, 0.0, k, None) for k in range(40)]
    rows += [(f"C{k}", f"OPC{k}", where, 27.95, 120.67, 1.0, k, None) for k in range(4)]
    found = _leads(rows)
    assert found.leads.empty
    [place] = found.context.to_dict("records")
    assert place["tenants"] == 44 and place["flagged_operators"] == 4
    assert "without any counterfeit signal" in place["reason"]


def test_successors_after_a_ban_are_shown_not_counted():
    later = ("S05", "OP5", "义乌稠城街道新塘工业区发展路三八一号五幢", None, None, 0.0, 300, None)
    rows = [*FACTORY, later]
    lead = _leads(rows).leads.iloc[0]
    assert lead["successors"] == ["S05"] and "S05" not in lead["shops"]


def test_honest_homes_between_two_factories_do_not_join_them():
    """Two factories 500 m apart; an honest address within 300 m of both."""
    street = "义乌江东街道横沥工业区科技路"
    second = [(s.replace("S", "T"), op.replace("OP", "OQ"), f"{street}{n}号", lat, lon, 1.0, 0,
               None)
              for (s, op, *_), n, (lat, lon) in zip(
                  FACTORY[:3], (351, 355, 359),
                  ((29.3453, 120.0801), (29.3455, 120.0803), (29.3451, 120.0799)), strict=True)]
    honest = [("H1", "OPH1", "义乌稠城街道城中路1号", 29.3427, 120.0801, 0.0, 0, None)]
    assert distance_m(29.3427, 120.0801, np.array([29.3401, 29.3453]),
                      np.array([120.0801, 120.0801])).max() < 300
    found = _leads([*FACTORY, *second, *honest]).leads
    assert len(found) == 2  # two leads; the honest home joins one of them at most
    groups = sorted(map(set, found["shops"]), key=min)
    assert groups[0] - {"H1"} == {"S01", "S02", "S03", "S04"}
    assert groups[1] - {"H1"} == {"T01", "T02", "T03"}


def test_place_keys_survive_writings():
    keys = address_keys(pd.DataFrame({"value": [r[2] for r in FACTORY[:3]],
                                      "lat": [None] * 3, "lon": [None] * 3}))
    assert keys["street"].nunique() == 1 and keys["number"].tolist() == [379.0, 381.0, 375.0]
    assert keys["building"].str.endswith(("|3", "|5", "|2")).all()
    assert sites(keys, [True, False, False])["site"].nunique() == 1


_DAY = st.one_of(st.none(), st.integers(0, 12))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_DAY, _DAY), min_size=1, max_size=30))
def test_the_last_operator_ended_before_each_began_as_defined_pair_by_pair(dates):
    """Operators with missing and out-of-order dates: for each, the last other operator
    whose tenancy ended before its own began, found with one comparison of all pairs,
    is the one the tenancy chains' definition finds pair by pair."""
    month = {None: pd.NaT, **{k: pd.Timestamp(2025, 1, 1) + pd.DateOffset(months=k)
                              for k in range(13)}}
    ops = [f"OP-{k}" for k in range(len(dates))]
    start = {op: month[d[0]] for op, d in zip(ops, dates, strict=True)}
    end = {op: month[d[1]] for op, d in zip(ops, dates, strict=True)}
    want = [max((k for k, e in enumerate(ops)
                 if e != op and pd.notna(end[e]) and end[e] < start[op]), default=-1)
            for op in ops]
    assert _last_ended(ops, start, end).tolist() == want


def test_a_later_tenant_follows_the_last_one_banned_before_it():
    day = pd.Timestamp
    rows = pd.DataFrame({"building": ["b"] * 4, "operator_id": ["A", "B", "C", "D"],
                         "created_at": [day("2025-01-01"), day("2025-02-01"),
                                        day("2025-06-01"), day("2025-02-15")],
                         "banned_at": [day("2025-03-01"), day("2025-04-01"), pd.NaT, pd.NaT]})
    assert _chains(rows) == {"A": "A", "B": "B", "C": "B", "D": "D"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "jln", None]),
                          st.one_of(st.none(), st.integers(1, 90)), st.booleans()), max_size=40),
       st.integers(1, 50))
def test_street_pairs_in_chunks_are_the_pairs_made_at_once(rows, limit):
    """The street pairs are made a bounded number at a time; together they are the same
    pairs in the same order, whatever the bound."""
    street = pd.Series([r[0] for r in rows], dtype=object)
    number = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
    seeds = np.array([r[2] for r in rows], dtype=bool)
    at_once = list(_street_pairs(street, number, seeds, limit=10**9))
    chunks = list(_street_pairs(street, number, seeds, limit=limit))
    assert len(at_once) == 1 and all(len(c) <= limit + 2 * 40 for c in chunks)
    assert np.concatenate(chunks).tolist() == at_once[0].tolist()
    brute = [[s, o] for s in np.flatnonzero(seeds) for o in range(len(rows))
             if street[s] is not None and street[o] == street[s]
             and not abs(number[s] - number[o]) > 30]
    assert sorted(at_once[0].tolist()) == sorted(brute)


def test_radius_is_haversine():
    north = distance_m(30.0, 120.0, np.array([30.0 + 250 / 111_195]), np.array([120.0]))
    assert north[0] == pytest.approx(250, abs=0.5)
    keys = pd.DataFrame({"value": ["a", "b"], "lat": [30.0, 30.0 + 350 / 111_195],
                         "lon": [120.0, 120.0], "street": [None, None], "locality": ["", ""],
                         "number": [np.nan, np.nan]})
    assert sites(keys, [True, True])["site"].nunique() == 2
    assert sites(keys, [True, True], radius=400)["site"].nunique() == 1


def test_join_factories_keeps_every_operator_in_one_community():
    shops = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4"],
                          "operator_id": ["OP-S1", "OP-S1", "OP-S3", "OP-S4"],
                          "community_id": ["C-S1", "C-S1", "C-S3", "C-S4"]})
    joined = join_factories(shops, pd.DataFrame({"operator_ids": [["OP-S1", "OP-S4"]]}))
    assert joined["community_id"].tolist() == ["C-S1", "C-S1", "C-S3", "C-S1"]
    assert (joined.groupby("operator_id")["community_id"].nunique() == 1).all()


def test_measures():
    assert group_match([{1, 2, 3}], [{1, 2, 3, 4}, {9}]) == {
        "precision": 0.5, "recall": 1.0, "jaccard": 0.75, "predicted": 2, "true": 1}
    assert precision_at(["a", "b"], {"b"}, 5) == 0.5


# --- on a generated world ---------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("factories") / "world"
    generate_world(out, shops=3000, seed=5, mix="random")
    return out, gl.analyse(out)


def test_leads_on_a_generated_world(mixed):
    folder, analysis = mixed
    truth = pd.read_csv(folder.with_name("world.truth") / "factories.csv", dtype=str)
    roles = pd.read_csv(folder.with_name("world.truth") / "shops.csv", dtype=str,
                        keep_default_na=False).set_index("shop_id")["role"]
    leads = analysis.factories()
    match = group_match([set(s.split(";")) for s in truth["shop_ids"]],
                        [set(s) for s in leads["shops"]])
    assert match["precision"] >= 0.85 and match["recall"] >= 0.85 and match["jaccard"] >= 0.85
    assert (leads["operators"] >= 3).all() and (leads["honest_share"] <= 0.5).all()
    shops = [s for group in leads["shops"] for s in group]
    assert len(shops) == len(set(shops))  # a shop is in one lead at most
    for group in leads["shops"]:  # never a park or a warehouse
        assert roles.reindex(group).isin(["park", "warehouse"]).mean() <= 0.5
    community = analysis.clusters().set_index("shop_id")["community_id"]
    for group in leads["shops"]:
        assert community.reindex(group).nunique() == 1  # one dealer network


def test_factories_json_carries_evidence_and_matches_its_schema(mixed):
    _, analysis = mixed
    payload = json.loads(render(factories_report(analysis), "json"))
    jsonschema.validate(payload, load_schema("factories"))
    lead = payload["factories"][0]
    assert {o["operator_id"] for o in lead["evidence"]["operators"]} == set(lead["operator_ids"])
    assert {a["shop_id"] for a in lead["evidence"]["addresses"]} <= set(lead["shops"])
    assert lead["reasons"] and set(lead["evidence"]["score_parts"]) >= {"score", "evidence"}


def test_spotcheck_sections(mixed):
    _, analysis = mixed
    report = spotcheck_report(analysis, 15)
    payload = json.loads(render(report, "json"))
    jsonschema.validate(payload, load_schema("spotcheck"))
    buys, shops = analysis.dataset.test_buys, analysis.dataset.shops
    fake = set(buys.loc[buys["verdict"] == "fake", "shop_id"])
    active = set(shops.loc[shops["status"] == "active", "shop_id"])
    assert {r["shop_id"] for r in payload["act_now"]} == fake & active
    assert len(payload["shops"]) == 15
    assert not {r["shop_id"] for r in payload["shops"]} & fake
    assert [r["rank"] for r in payload["shops"]] == list(range(1, 16))
    assert "act now" in render(report, "table") and "test buy" in render(report, "table")
