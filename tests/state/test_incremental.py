"""Unit tests of incremental sign-up scoring (graphlink/state/incremental.py) on a hand-made world.

A world of ten shops is written by hand (B1 banned on 2025-03-01; B2 its sister
shop on one laptop; eight honest shops, two of them in one e-commerce park), analysed
and saved as a state; a delta of four new shops is scored against that state
(:func:`score_against_state`) and compared with a full analysis of world + delta
scored by the state's own match model (both score with one hand-made match
model: ten shops teach a model nothing, and the incremental run keeps the world's).

The state is built by the full pipeline (``api.analyse_into_state``): there is
no smaller way to make one (see the report on issue 15).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import graphlink as gl
from graphlink import api
from graphlink.core.errors import GraphlinkError
from graphlink.linkage.model import COMPARISONS, MODES, NAMES, MatchModel
from graphlink.state.incremental import score_against_state
from graphlink.state.store import State

SINCE = "2025-05-01"
PARK = "杭州市余杭区文一西路998号{building}号楼{room}室"

# shop_id, created_at, status, banned_at, phone, holder, device, ip, address, card
WORLD = [
    ("B1", "2025-01-02", "banned", "2025-03-01", "13800138000", "张伟", "D-B1", "10.1.2.3",
     PARK.format(building=5, room=302), "6222021234567891234"),
    ("B2", "2025-01-20", "active", None, "13911112222", "李娜", "D-B1", "10.9.9.9",
     "北京市朝阳区建国路88号", "6222020000000001111"),
    *[(f"H{i}", f"2025-02-0{i}", "active", None, phone, name, f"D-H{i}", f"172.16.{i}.1",
       address, f"62220300{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}")
      for i, (phone, name, address) in enumerate([
          ("13712345678", "王芳", PARK.format(building=5, room=101)),
          ("13698765432", "刘洋", PARK.format(building=5, room=208)),
          ("13587654321", "陈静", "上海市浦东新区世纪大道100号"),
          ("13456789012", "杨帆", "广州市天河区体育西路1号"),
          ("13398761234", "赵磊", "深圳市南山区科技园南区8栋"),
          ("13276543210", "周敏", "成都市武侯区天府大道北段1700号"),
          ("13165432109", "吴刚", "武汉市洪山区珞喻路1037号"),
          ("15012348765", "孙丽", "南京市鼓楼区汉口路22号")], start=1)],
]
DELTA = [
    # B1 back: its phone one digit off, its name as a homophone, the room next door
    ("N1", "2025-05-02", "active", None, "13800138001", "张韦", "D-N1", "10.50.0.1",
     PARK.format(building=5, room=303), "6222029999999990000"),
    # on the laptop of B1 and its sister B2: a direct tie to B1
    ("N2", "2025-05-03", "active", None, "15820461357", "郑凯", "D-B1", "10.60.0.1",
     "西安市雁塔区长安南路1号", "6222027777777770000"),
    # an honest tenant of the park: a room in B1's building and nothing else
    ("N3", "2025-05-04", "active", None, "18967305142", "冯涛", "D-N3", "10.70.0.1",
     PARK.format(building=5, room=110), "6222026666666660000"),
    # a stranger
    ("N4", "2025-05-05", "active", None, "17703958216", "何伟", "D-N4", "10.80.0.1",
     "重庆市渝中区解放碑1号", "6222025555555550000"),
]


def toy_model(shops: int = len(WORLD)) -> MatchModel:
    """Plain numbers instead of parameters learned from ten shops (which say nothing):
    every agreeing level equally likely among matches, rare among non-matches; learned,
    as far as ``shops`` says, from the world. Both runs score with it."""
    levels = {c: len(COMPARISONS[c][1]) for c in NAMES}
    m = {mode: {c: [0.5 / levels[c]] * levels[c] + [0.5] for c in NAMES} for mode in MODES}
    u = {c: [1e-4] * levels[c] + [1.0] for c in NAMES}
    return MatchModel(m, u, {mode: [1e-3 / 3, 1e-3 / 3] for mode in MODES}, shops=shops)


def write(folder: Path, shops: list[tuple]) -> Path:
    """The shops as a dataset folder in the standard layout (one account each)."""
    folder.mkdir(parents=True)
    frames = {
        "shops.csv": [{"shop_id": s, "name": f"店铺{s}", "created_at": c, "status": st,
                       "banned_at": b or "", "ban_reason": "counterfeit" if b else "",
                       "category": "shoes", "rating": ""} for s, c, st, b, *_ in shops],
        "accounts.csv": [{"account_id": f"A-{s}", "shop_id": s, "holder_name": h, "id_number": "",
                          "phone": p, "email": "", "created_at": c}
                         for s, c, _, _, p, h, *_ in shops],
        "devices.csv": [{"account_id": f"A-{r[0]}", "device_id": r[6], "ip": r[7],
                         "seen_at": r[1]} for r in shops],
        "addresses.csv": [{"shop_id": r[0], "address": r[8], "lat": "", "lon": "",
                           "first_seen": r[1]} for r in shops],
        "payments.csv": [{"shop_id": r[0], "method": "bank", "endpoint": r[9], "holder_name": r[5],
                          "first_seen": r[1]} for r in shops],
    }
    for name, rows in frames.items():
        pd.DataFrame(rows).to_csv(folder / name, index=False)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    world, delta = write(root / "world", WORLD), write(root / "delta", DELTA)
    whole = write(root / "whole", WORLD + DELTA)
    api.analyse_into_state(world, root / "state", model=toy_model())
    state = State.open(root / "state")
    incremental = score_against_state(state, gl.load(delta), pd.Timestamp(SINCE))
    full = gl.analyse(whole, model=state.model()).signup_records(SINCE)
    return {"root": root, "world": world, "delta": delta, "state": state,
            "incremental": {r["shop_id"]: r for r in incremental},
            "full": {r["shop_id"]: r for r in full}}


def _matches(record: dict) -> list[tuple]:
    return [(m["banned_shop_id"], m["score"], m["hops"], m["path"]) for m in record["matches"]]


def test_every_new_shop_is_scored_once(runs):
    assert sorted(runs["incremental"]) == ["N1", "N2", "N3", "N4"]


@pytest.mark.parametrize("shop", ["N1", "N2", "N3", "N4"])
def test_incremental_score_of_a_new_shop_equals_the_full_runs(runs, shop):
    mine, full = runs["incremental"][shop], runs["full"][shop]
    assert (mine["risk"], mine["flag"]) == (full["risk"], full["flag"])
    assert _matches(mine) == _matches(full)
    assert mine["operator_id"] == full["operator_id"]  # N1 joins B1's operator in both


def test_the_hand_made_world_says_what_it_was_made_to_say(runs):
    """The comparison above is only worth something if the delta holds leads."""
    got = runs["incremental"]
    assert got["N1"]["matches"][0]["banned_shop_id"] == "B1"
    assert got["N1"]["flag"] in ("high", "medium")
    assert got["N2"]["matches"] and got["N2"]["matches"][0]["path"][0] == "N2"
    assert got["N4"]["flag"] == "none"
    assert got["N3"]["risk"] < got["N1"]["risk"]


def test_incremental_evidence_is_the_full_runs(runs):
    for shop in ("N1", "N2"):
        mine = runs["incremental"][shop]["matches"][0]["evidence"]
        full = runs["full"][shop]["matches"][0]["evidence"]
        assert [e["detail"] for e in mine] == [e["detail"] for e in full]


def test_a_delta_with_a_world_shop_is_refused(runs, tmp_path):
    clash = write(tmp_path / "clash", [WORLD[1], DELTA[0]])
    with pytest.raises(GraphlinkError, match="1 shop\\(s\\) are already in the analysed state"):
        score_against_state(runs["state"], gl.load(clash), pd.Timestamp(SINCE))


def test_without_a_delta_the_worlds_own_shops_are_scored_from_the_state(runs):
    since = pd.Timestamp("2025-01-15")
    mine = {r["shop_id"]: r for r in score_against_state(runs["state"], None, since)}
    full = {r["shop_id"]: r for r in gl.analyse(runs["world"], model=toy_model())
            .signup_records(since)}
    assert sorted(mine) == sorted(full)
    assert {s: (r["risk"], _matches(r)) for s, r in mine.items()} == {
        s: (r["risk"], _matches(r)) for s, r in full.items()}


def test_a_model_from_a_larger_marketplace_scores_a_delta_as_a_full_run_does(tmp_path):
    world, delta = write(tmp_path / "world", WORLD), write(tmp_path / "delta", DELTA)
    whole = write(tmp_path / "whole", WORLD + DELTA)
    api.analyse_into_state(world, tmp_path / "state", model=toy_model(shops=1000))
    state = State.open(tmp_path / "state")
    mine = score_against_state(state, gl.load(delta), pd.Timestamp(SINCE))
    full = gl.analyse(whole, model=state.model()).signup_records(SINCE)
    assert {r["shop_id"]: r["risk"] for r in mine} == {r["shop_id"]: r["risk"] for r in full}


def test_every_match_and_its_evidence_is_the_full_runs(runs):
    """Item by item (weights, shops sharing, dates), not only the sentences."""
    for shop in ("N1", "N2", "N3", "N4"):
        mine, full = runs["incremental"][shop]["matches"], runs["full"][shop]["matches"]
        assert [m["evidence"] for m in mine] == [m["evidence"] for m in full]


def test_new_shops_take_world_operators_as_a_next_run_would():
    """Operators of new shops by the pipeline's resolution and the state's stable ids: a
    shop merged with two world operators takes the larger (and names the other), shops
    merged with it follow, and new shops merged only among themselves are named after
    the smallest of them."""
    from graphlink.state.incremental import _operators

    world = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4", "S5", "S6"],
                          "operator_id": ["OP-S1", "OP-S1", "OP-S3", "OP-S3", "OP-S3", "OP-S6"],
                          "community_id": ["C-S1", "C-S1", "C-S3", "C-S3", "C-S3", "C-S1"]})
    pairs = pd.DataFrame({"shop_a": ["N1", "N1", "N1", "N4", "N3"],
                          "shop_b": ["S1", "S5", "N2", "N5", "S6"],
                          "p": [0.95, 0.8, 0.9, 0.99, 0.3]})
    got = _operators(world, pairs, {"N1", "N2", "N3", "N4", "N5"}).set_index("shop_id")
    assert got.loc[["N1", "N2"], "operator_id"].tolist() == ["OP-S3", "OP-S3"]
    assert got.loc[["N1", "N2"], "community_id"].tolist() == ["C-S3", "C-S3"]
    assert got.loc["N1", "bridges"] == ["OP-S1"]
    assert got.loc["N3"].tolist() == ["OP-N3", "C-N3", []]  # 0.3 does not merge
    assert got.loc[["N4", "N5"], "operator_id"].tolist() == ["OP-N4", "OP-N4"]
    assert got.loc["N5", "community_id"] == "C-N4"
