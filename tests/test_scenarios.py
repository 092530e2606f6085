"""Scenario tests: small hand-built marketplaces with one known story each."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import graphlink as gl
from graphlink.generate import generate_world

SHOP_COLS = ["shop_id", "name", "created_at", "status", "banned_at", "ban_reason"]
ACCOUNT_COLS = ["account_id", "shop_id", "holder_name", "id_number", "phone", "email"]


@functools.lru_cache(maxsize=1)
def _marketplace_model():
    """A match model learned on a generated marketplace of 3,000 shops: a scenario of
    three shops is scored as a real marketplace's model would score it."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_world(Path(tmp) / "world", shops=3000, seed=1)
        return gl.train_model(Path(tmp) / "world")


def _world(tmp_path, shops, accounts, devices=(), addresses=(), payments=()):
    folder = tmp_path / "world"
    folder.mkdir()
    pd.DataFrame(shops, columns=SHOP_COLS).to_csv(folder / "shops.csv", index=False)
    pd.DataFrame(accounts, columns=ACCOUNT_COLS).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame(devices, columns=["account_id", "device_id", "ip", "seen_at"]).to_csv(
        folder / "devices.csv", index=False)
    pd.DataFrame(addresses, columns=["shop_id", "address"]).to_csv(
        folder / "addresses.csv", index=False)
    pd.DataFrame(payments, columns=["shop_id", "method", "endpoint", "holder_name"]).to_csv(
        folder / "payments.csv", index=False)
    return gl.analyse(folder, model=_marketplace_model())


BANNED = ("S1", "潮牌鞋业", "2025-01-01", "banned", "2025-06-01", "counterfeit")
NEW = ("S2", "新潮运动", "2025-07-01", "active", None, None)


def _signup(analysis, shop="S2"):
    return analysis.signups("2025-06-15").set_index("shop_id").loc[shop]


def test_relatives_id_and_same_device_is_high(tmp_path):
    analysis = _world(
        tmp_path, [BANNED, NEW],
        [("A1", "S1", "张伟", "110101199003074514", "13800138000", "zw@qq.com"),
         ("A2", "S2", "张敏", "110101196505124528", "13912345678", "zm88@163.com")],
        devices=[("A1", "LAPTOP-7F3A", None, "2025-03-01"),
                 ("A2", "laptop-7f3a", None, "2025-07-02")],
    )
    row = _signup(analysis)
    assert row["flag"] == "high" and row["best_match"] == "S1"
    assert "same device" in row["evidence"]
    assert "before its ban" in row["evidence"]


def test_neighbouring_room_alone_is_a_lead(tmp_path):
    analysis = _world(
        tmp_path, [BANNED, NEW],
        [("A1", "S1", "李强", None, None, None), ("A2", "S2", "王芳", None, None, None)],
        addresses=[("S1", "浙江省杭州市余杭区文一西路998号5号楼302室"),
                   ("S2", "杭州市余杭区文一西路998号五幢303室")],
    )
    row = _signup(analysis)
    # one weak signal alone is a lead to look at, not a flag (the match model)
    assert row["flag"] in ("low", "medium") and row["best_match"] == "S1"
    assert "dispatch address" in row["evidence"]


def test_masked_card_and_neighbouring_room_is_high(tmp_path):
    analysis = _world(
        tmp_path, [BANNED, NEW],
        [("A1", "S1", "李强", None, None, None), ("A2", "S2", "王芳", None, None, None)],
        addresses=[("S1", "12 Harbour Road, Flat 5B, Kowloon"),
                   ("S2", "12 Harbour Rd., Flat 5C, Kowloon")],
        payments=[("S1", "bank", "6222021234567891234", "Li Qiang"),
                  ("S2", "bank", "6222****1234", "Li Qiang")],
    )
    assert _signup(analysis)["flag"] == "high"


def test_warehouse_only_sharing_stays_none(tmp_path):
    warehouse = "广东省东莞市虎门镇东莞大道436号京东物流仓5号库"
    shops = [BANNED, NEW] + [(f"H{i:03d}", f"店铺{i}", "2024-05-01", "active", None, None)
                             for i in range(40)]
    accounts = [(f"A-{s[0]}", s[0], f"持有人{i}", None, None, None) for i, s in enumerate(shops)]
    addresses = [(s[0], warehouse) for s in shops]
    row = _signup(_world(tmp_path, shops, accounts, addresses=addresses))
    assert row["flag"] == "none" and row["risk"] == 0


def test_carrier_nat_ip_only_stays_none(tmp_path):
    shops = [BANNED, NEW] + [(f"H{i:03d}", f"店铺{i}", "2024-05-01", "active", None, None)
                             for i in range(40)]
    accounts = [(f"A-{s[0]}", s[0], None, None, None, None) for s in shops]
    devices = [(a[0], None, "117.136.12.34", "2025-07-03") for a in accounts]
    assert _signup(_world(tmp_path, shops, accounts, devices=devices))["flag"] == "none"


def test_common_name_alone_is_not_a_lead(tmp_path):
    analysis = _world(
        tmp_path, [BANNED, NEW],
        [("A1", "S1", "John Smith", None, None, None),
         ("A2", "S2", "John Smith", None, None, None)],
    )
    assert _signup(analysis)["flag"] in ("low", "none")


def test_indirect_path_through_a_sister_shop(tmp_path):
    sister = ("S3", "运动潮流", "2025-02-01", "active", None, None)
    analysis = _world(
        tmp_path, [BANNED, NEW, sister],
        [("A1", "S1", "李强", None, None, None), ("A2", "S2", "王芳", None, None, None),
         ("A3", "S3", "赵磊", None, None, None)],
        devices=[("A3", "DEV-1", None, "2025-02-02"), ("A2", "DEV-1", None, "2025-07-02")],
        payments=[("S1", "bank", "6222021234567891234", None),
                  ("S3", "bank", "6222 0212 3456 7891 234", None)],
    )
    row = _signup(analysis)
    assert row["flag"] in ("medium", "high")
    match = row["matches"][0]
    assert match["path"] == ["S2", "S3", "S1"]
    assert match["evidence"][0]["kind"] == "path"


@pytest.mark.parametrize("since", ["2025-06-15", "2024-01-01"])
def test_every_new_shop_once(tmp_path, since):
    analysis = _world(tmp_path, [BANNED, NEW], [("A1", "S1", None, None, None, None),
                                               ("A2", "S2", None, None, None, None)])
    got = analysis.signups(since)["shop_id"].tolist()
    assert got == (["S2"] if since > "2025-01-01" else ["S1", "S2"])
