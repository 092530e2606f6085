"""Unit tests of the evidence explanations (graphlink/scoring/explain.py and the case file's
SourcedExplainer in graphlink/scoring/casefile.py) on hand-made evidence.

The world: B1 is banned on 2025-03-01; N1 opens on 2025-04-01 with B1's phone,
a room in B1's building and a namesake holder; B2 is B1's sister shop (one
operator) and shares a device with N1; S7 ties N1 to B1 the long way round.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from graphlink.core.privacy import mask
from graphlink.linkage.identifiers import Identifiers
from graphlink.scoring.casefile import SourcedExplainer
from graphlink.scoring.explain import Explainer

PHONE = "+8613800138000"
FILES = {"accounts": "accounts.csv", "devices": "devices.csv", "addresses": "addresses.csv"}

# (shop, kind, value, first_seen, last_seen, source table, line)
USES = [
    ("B1", "phone", PHONE, "2025-01-02", "2025-02-01", "accounts", 2),
    ("N1", "phone", PHONE, "2025-04-01", "2025-04-01", "accounts", 9),
    ("B1", "address", "文一西路998号5号楼302室", "2025-01-02", "2025-01-02", "addresses", 3),
    ("N1", "address", "文一西路998号5号楼303室", "2025-04-01", "2025-04-01", "addresses", 11),
    ("B1", "holder_name", "张伟", "2025-01-02", "2025-01-02", "accounts", 2),
    ("N1", "holder_name", "张韦", "2025-04-01", "2025-04-01", "accounts", 9),
    ("B2", "device", "d-88", "2025-01-05", "2025-02-20", "devices", 4),
    ("N1", "device", "d-88", "2025-04-02", "2025-04-02", "devices", 12),
    ("S7", "device", "d-99", "2025-02-01", "2025-02-01", "devices", 7),
    ("N1", "device", "d-99", "2025-04-02", "2025-04-02", "devices", 13),
    ("S7", "ip", "10.1.2.3", None, None, "devices", 7),
    ("B1", "ip", "10.1.2.3", None, None, "devices", 5),
]

# (shop_a, shop_b, kind, value_a, value_b, score, method, shops, weight)
EVIDENCE = [
    ("B1", "N1", "holder_name", "张伟", "张韦", 0.6, "hanzi-homophone", 2, 1.5),
    ("B1", "N1", "phone", PHONE, PHONE, 1.0, "exact", 2, 9.0),
    ("B1", "N1", "address", "文一西路998号5号楼302室", "文一西路998号5号楼303室", 0.8,
     "same-building", 5, 3.0),
    ("B2", "N1", "device", "d-88", "d-88", 1.0, "exact", 2, 8.0),
    ("N1", "S7", "device", "d-99", "d-99", 1.0, "exact", 2, 8.0),
    ("B1", "S7", "ip", "10.1.2.3", "10.1.2.3", 1.0, "exact", 2, 2.0),
]


def identifiers() -> Identifiers:
    uses = pd.DataFrame(USES, columns=["shop_id", "kind", "value", "first_seen", "last_seen",
                                       "source", "line"])
    for column in ("first_seen", "last_seen"):
        uses[column] = pd.to_datetime(uses[column])
    values = uses.groupby(["kind", "value"], as_index=False)["shop_id"].nunique().rename(
        columns={"shop_id": "shops"})
    values["display"] = [mask(k, v) for k, v in zip(values["kind"], values["value"], strict=True)]
    return Identifiers(uses, values)


def evidence() -> pd.DataFrame:
    return pd.DataFrame(EVIDENCE, columns=["shop_a", "shop_b", "kind", "value_a", "value_b",
                                           "score", "method", "shops", "weight"]).assign(
        users=1.0)


SISTERS = {("B1", "N1"): ["B2"]}  # what resolve.combined_with gives for a combined pair


def test_pair_names_every_piece_of_evidence_strongest_first():
    items = Explainer(evidence(), identifiers()).pair("N1", "B1")
    assert [(i["kind"], i["method"]) for i in items] == [
        ("phone", "exact"), ("address", "same-building"), ("holder_name", "hanzi-homophone")]
    assert [i["weight"] for i in items] == [9.0, 3.0, 1.5]
    phone = items[0]
    assert phone["detail"] == ("same phone +86138****8000 (on B1 2025-01-02..2025-02-01; "
                               "on N1 from 2025-04-01)")
    assert items[1]["detail"].startswith("dispatch address 80% similar (same-building): "
                                         "文一西路998号5号楼303室 ~ 文一西路998号5号楼302室")
    assert items[1]["detail"].endswith(", used by 5 shops")
    # seen from the other side, values and dates swap
    other = Explainer(evidence(), identifiers()).pair("B1", "N1")[1]
    assert (other["value"], other["other_value"]) == (items[1]["other_value"], items[1]["value"])


def test_no_clear_sensitive_value_in_any_item():
    explainer = Explainer(evidence(), identifiers(), SISTERS)
    items = explainer.path("N1", "B1", ["N1", "B1"], pd.Timestamp("2025-03-01"))
    text = repr(items)
    assert PHONE not in text and re.sub(r"\D", "", PHONE) not in text


def test_a_direct_match_marks_what_the_banned_shop_had_before_its_ban():
    items = Explainer(evidence(), identifiers()).path("N1", "B1", ["N1", "B1"],
                                                      pd.Timestamp("2025-03-01"))
    phone = items[0]
    assert phone["before_ban"] is True
    assert phone["detail"].endswith("; on B1 before its ban (2025-03-01), here after it")
    assert all(i["before_ban"] for i in items)  # all three were on B1 from January


def test_a_banned_shops_sister_routes_the_sign_ups_evidence():
    """A pair scored against B1's whole operator also quotes the sister B2's evidence."""
    items = Explainer(evidence(), identifiers(), SISTERS).path("N1", "B1", ["N1", "B1"])
    sister = [i for i in items if i.get("via")]
    assert len(items) == 4
    assert [(i["via"], i["kind"]) for i in sister] == [("B2", "device")]
    assert sister[0]["detail"].startswith("with B2, same operator as B1: same device d-88")
    # without the combined pair, nothing of B2's is quoted
    assert not [i for i in Explainer(evidence(), identifiers()).path("N1", "B1", ["N1", "B1"])
                if i.get("via")]


def test_an_indirect_path_quotes_each_hop():
    items = Explainer(evidence(), identifiers()).path("N1", "B1", ["N1", "S7", "B1"])
    assert items[0] == {"kind": "path", "detail": "linked through N1 -> S7 -> B1",
                        "path": ["N1", "S7", "B1"]}
    assert [(i["hop"], i["kind"]) for i in items[1:]] == [(["N1", "S7"], "device"),
                                                          (["S7", "B1"], "ip")]
    assert items[2]["detail"].startswith("S7 - B1: same IP 10.1.2.3")


def test_hop_items_caps_the_evidence_per_hop():
    class Short(Explainer):
        hop_items = 1
    items = Short(evidence(), identifiers()).path("B2", "B1", ["B2", "N1", "B1"])
    assert [i["hop"] for i in items[1:]] == [["B2", "N1"], ["N1", "B1"]]
    assert items[2]["kind"] == "phone"  # the strongest of the hop's three


def test_case_file_items_cite_source_file_and_line_of_every_piece_of_evidence():
    explainer = SourcedExplainer(evidence(), identifiers(), FILES, SISTERS)
    direct = explainer.path("N1", "B1", ["N1", "B1"], pd.Timestamp("2025-03-01"))
    indirect = explainer.path("N1", "B1", ["N1", "S7", "B1"])
    where = {(s, k, v): (t, n) for s, k, v, _, _, t, n in USES}
    for item in direct + indirect[1:]:
        mine, theirs = item["sources"]
        assert mine["file"] == FILES[mine["table"]] and theirs["file"] == FILES[theirs["table"]]
        assert isinstance(mine["line"], int) and isinstance(theirs["line"], int)
    phone = direct[0]["sources"]
    assert [(s["shop_id"], s["file"], s["line"]) for s in phone] == [
        ("N1", "accounts.csv", where[("N1", "phone", PHONE)][1]),
        ("B1", "accounts.csv", where[("B1", "phone", PHONE)][1])]
    sister = next(i for i in direct if i.get("via"))
    assert [(s["shop_id"], s["file"], s["line"]) for s in sister["sources"]] == [
        ("N1", "devices.csv", 12), ("B2", "devices.csv", 4)]
    # a case file quotes every piece of evidence of a hop (no cap)
    assert len([i for i in indirect if i.get("hop") == ["N1", "S7"]]) == 1
    assert SourcedExplainer.hop_items is None


def test_pair_without_evidence_is_empty():
    assert Explainer(evidence(), identifiers()).pair("N1", "nobody") == []


@pytest.mark.parametrize("limit", [1, 2])
def test_pair_limit(limit):
    items = Explainer(evidence(), identifiers()).pair("N1", "B1", limit=limit)
    assert [i["kind"] for i in items] == ["phone", "address"][:limit]


def test_an_explainer_without_evidence_says_nothing_but_the_path():
    explainer = Explainer(evidence().iloc[:0], identifiers())
    assert explainer.pair("N1", "B1") == []
    assert explainer.path("N1", "B1", ["N1", "B1"]) == []
    assert [i["kind"] for i in explainer.path("N1", "B1", ["N1", "S7", "B1"])] == ["path"]
