"""Unit tests of one shop's dossier (graphlink/scoring/dossier.py) on a hand-made analysis.

:func:`graphlink.scoring.dossier.dossier` reads an analysis object (duck-typed: dataset,
shops, resolution.pairs, identifiers, explainer, factory_of(), factories()); the
stand-in below holds a few hand-written rows of each, nothing computed by the
pipeline. The world: B1 (banned 2025-03-01) and its sister B2 are one operator;
N1 opens after the ban with B1's phone and is merged into that operator, and
shares an IP with B3 (banned on 2025-02-01); N1 and 25 honest shops ship from one
warehouse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import pytest

from graphlink.core.dataset import Dataset
from graphlink.core.errors import ConfigError
from graphlink.core.frames import select
from graphlink.core.privacy import mask
from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.resolve import MERGE, Resolution
from graphlink.scoring.dossier import SHARED_LIST, dossier
from graphlink.scoring.explain import Explainer
from graphlink.scoring.score import score_signups

PHONE = "+8613800138000"
WAREHOUSE = "义乌市北苑街道春晗路9号仓库"
HONEST = [f"W{i:02d}" for i in range(25)]


def _shops() -> pd.DataFrame:
    rows = [("B1", "Nike潮牌店", "2025-01-01", "banned", "2025-03-01"),
            ("B2", "Nike潮牌二店", "2025-01-10", "active", None),
            ("N1", "新Nike潮牌店", "2025-04-01", "active", None),
            ("B3", "潮流鞋铺", "2025-01-05", "banned", "2025-02-01"),
            *[(s, f"百货{s}", "2025-01-01", "active", None) for s in HONEST]]
    frame = pd.DataFrame(rows, columns=["shop_id", "name", "created_at", "status", "banned_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["banned_at"] = pd.to_datetime(frame["banned_at"])
    return frame.assign(category="shoes", _line=range(2, len(frame) + 2))


def _identifiers() -> Identifiers:
    rows = [("B1", "phone", PHONE, "A1"), ("N1", "phone", PHONE, "A3"),
            ("B2", "device", "d-88", "A2"), ("N1", "device", "d-88", "A3"),
            ("N1", "address", WAREHOUSE, None),
            ("B3", "ip", "10.1.2.3", "A4"), ("N1", "ip", "10.1.2.3", "A3"),
            *[(s, "address", WAREHOUSE, None) for s in HONEST]]
    uses = pd.DataFrame(rows, columns=["shop_id", "kind", "value", "account_id"])
    uses["first_seen"] = uses["last_seen"] = pd.Timestamp("2025-04-01")
    values = uses.groupby(["kind", "value"], as_index=False)["shop_id"].nunique().rename(
        columns={"shop_id": "shops"})
    values["display"] = [mask(k, v) for k, v in zip(values["kind"], values["value"], strict=True)]
    return Identifiers(uses, values)


def _evidence() -> pd.DataFrame:
    rows = [("B1", "N1", "phone", PHONE, PHONE, 1.0, "exact", 2, 9.0),
            ("B2", "N1", "device", "d-88", "d-88", 1.0, "exact", 2, 8.0),
            ("B3", "N1", "ip", "10.1.2.3", "10.1.2.3", 1.0, "exact", 2, 2.0),
            ("N1", "W00", "address", WAREHOUSE, WAREHOUSE, 1.0, "exact", 26, 0.5)]
    return pd.DataFrame(rows, columns=["shop_id_a", "shop_b", "kind", "value_a", "value_b",
                                       "score", "method", "shops", "weight"]).rename(
        columns={"shop_id_a": "shop_a"})


@dataclass
class HandMadeAnalysis:
    """What :func:`dossier` reads of an analysis, written by hand."""

    dataset: Dataset = field(default_factory=lambda: Dataset({"shops": _shops()},
                                                             source="hand-made"))
    identifiers: Identifiers = field(default_factory=_identifiers)
    evidence: pd.DataFrame = field(default_factory=_evidence)
    factory: dict | None = None

    def __post_init__(self):
        pairs = pd.DataFrame({"shop_a": ["B1", "B1", "B2", "B3", "N1"],
                              "shop_b": ["B2", "N1", "N1", "N1", "W00"],
                              "p": [0.99, 0.95, 0.4, 0.3, 0.05],
                              "kinds": ["device", "phone", "device", "ip", "address"]})
        ids = ["B1", "B2", "N1", "B3", *HONEST]
        operator = ["OP-B1"] * 3 + ["OP-B3"] + [f"OP-{s}" for s in HONEST]
        community = ["C-B1"] * 3 + ["C-B3"] + ["C-W00"] * len(HONEST)
        self.shops = pd.DataFrame({"shop_id": ids, "operator_id": operator,
                                   "community_id": community})
        self.resolution = Resolution(self.shops[["shop_id", "operator_id"]], pairs)
        self.explainer = Explainer(self.evidence, self.identifiers)

    def rows(self, table: str, columns=None, filters=None, *, linked: bool = False):
        frame = {"pairs": self.resolution.pairs, "evidence": self.evidence,
                 "uses": self.identifiers.uses, "values": self.identifiers.values}[table]
        return select(frame, columns, filters)

    def factory_of(self) -> pd.Series:
        owner = {s: self.factory["factory_id"] for s in self.factory["shops"]} \
            if self.factory else {}
        return self.shops["shop_id"].map(owner).set_axis(self.shops["shop_id"])

    def factories(self) -> pd.DataFrame:
        return pd.DataFrame([self.factory] if self.factory else [],
                            columns=["factory_id", "anchor_address", "lat", "lon", "radius_m",
                                     "score", "shops", "banned_shops"])


def test_dossier_gathers_operator_community_and_banned_ties():
    d = dossier(HandMadeAnalysis(), "N1")
    assert d.shop == {"shop_id": "N1", "name": "新Nike潮牌店", "status": "active",
                      "created_at": "2025-04-01", "banned_at": None, "category": "shoes"}
    assert d.operator == {"operator_id": "OP-B1", "shops": ["B1", "B2", "N1"], "banned": ["B1"]}
    assert d.community == {"community_id": "C-B1", "shops": 3, "operators": 1, "banned": ["B1"]}
    assert d.factory is None
    assert [(t["banned_shop_id"], t["score"], t["hops"]) for t in d.banned_ties] == [
        ("B1", 0.95, 1), ("B3", 0.3, 1)]  # every banned shop it is tied to, best first
    assert d.banned_ties[0]["evidence"][0]["detail"].startswith("same phone +86138****8000")


def test_dossier_risk_is_the_sign_up_reports():
    """Whatever the shop's creation date, its risk is what score_signups gives it."""
    analysis = HandMadeAnalysis()
    shops = analysis.dataset.shops.merge(analysis.shops, on="shop_id")
    for shop in ("N1", "B2", "B3", "W00"):
        scored = shops[(shops["shop_id"] == shop) | (shops["status"] == "banned")]
        record = next(r for r in score_signups(scored, analysis.resolution.pairs,
                                               pd.Timestamp("1970-01-01"), None)
                      if r["shop_id"] == shop)
        d = dossier(analysis, shop)
        assert (d.risk, d.flag) == (record["risk"], record["flag"])
    assert dossier(analysis, "N1").risk == 0.95


def test_links_list_every_linked_shop_best_first_with_its_evidence():
    links = dossier(HandMadeAnalysis(), "N1").links
    assert links[["shop_id", "p", "same_operator", "merged"]].values.tolist() == [
        ["B1", 0.95, True, True], ["B2", 0.4, True, False], ["B3", 0.3, False, False],
        ["W00", 0.05, False, False]]
    assert (links["merged"] == (links["p"] >= MERGE)).all()
    assert links["evidence"].iloc[0][0].startswith("same phone +86138****8000")
    assert links["evidence"].iloc[3][0].endswith("used by 26 shops")


def test_identifiers_say_how_widely_each_is_shared():
    ids = dossier(HandMadeAnalysis(), "N1").identifiers.set_index("kind")
    assert ids.loc["address", "shops"] == 26
    assert ids.loc["address", "hub"] == "shared warehouse or office address"
    assert len(ids.loc["address", "shared_with"]) == SHARED_LIST
    assert ids.loc["address", "shared_with"] == sorted(HONEST)[:SHARED_LIST]
    assert ids.loc["phone", ["display", "shops", "hub", "shared_with"]].tolist() == [
        "+86138****8000", 2, None, ["B1"]]
    assert list(dossier(HandMadeAnalysis(), "N1").identifiers["kind"]) == [
        "address", "device", "ip", "phone"]  # most shared first


def test_text_form_names_the_facts_and_never_the_clear_phone():
    text = dossier(HandMadeAnalysis(), "N1").text
    assert "Operator OP-B1: 3 shop(s), with B1, B2; banned: B1" in text
    assert "Sign-up risk 0.95 (high): tied to 2 banned shop(s)" in text
    assert "  B1  score 0.95, directly" in text
    assert "hub: shared warehouse or office address, 26 shops (context, not evidence)" in text
    assert PHONE not in text
    assert "Factory cluster: none" in text


def test_factory_membership_is_reported():
    factory = {"factory_id": "F-1", "anchor_address": WAREHOUSE, "lat": 29.3, "lon": 120.1,
               "radius_m": 80.0, "score": 0.81234, "shops": ["N1", "W00"], "banned_shops": 0}
    d = dossier(HandMadeAnalysis(factory=factory), "N1")
    assert d.factory == {**factory, "score": 0.8123}
    assert f"Factory cluster F-1: 2 shops near {WAREHOUSE} (score 0.81, 0 banned)" in d.text


def test_to_dict_is_json_ready():
    """JSON-ready; the clear value is only in ``identifiers[].value`` (the notebook's
    key; the case file drops it)."""
    data = dossier(HandMadeAnalysis(), "N1").to_dict()
    json.dumps(data, ensure_ascii=False)
    assert data["identifiers"][0]["first_seen"] == "2025-04-01"
    for row in data["identifiers"]:
        del row["value"]
    assert PHONE not in json.dumps(data, ensure_ascii=False)


def test_unknown_shop_is_a_config_error_naming_the_dataset():
    with pytest.raises(ConfigError, match="no shop 'X9' in hand-made"):
        dossier(HandMadeAnalysis(), "X9")


def test_a_shop_with_no_pair_has_a_quiet_dossier():
    d = dossier(HandMadeAnalysis(), "W05")
    assert (d.risk, d.flag, d.banned_ties, len(d.links)) == (0.0, "none", [], 0)
    assert "Sign-up risk 0.00 (none): no path to a banned shop" in d.text
    assert "Operator OP-W05: 1 shop(s), runs only this shop" in d.text
