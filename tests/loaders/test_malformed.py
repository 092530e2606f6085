"""A corpus of malformed datasets: each names its exact place and fails the command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import BASE, write_dataset

from graphlink.cli import cli

SHOPS_HEAD = "shop_id,name,created_at,status,banned_at,ban_reason,category,rating\n"


def _with(**changes: str | None) -> dict[str, str | None]:
    files = dict(BASE)
    for key, text in changes.items():
        files[key.replace("__", ".")] = text
    return files


def _append(name: str, text: str) -> dict[str, str]:
    return _with(**{name.replace(".", "__"): BASE[name] + text})


CASES = [
    ("missing-shops-file", _with(shops__csv=None), ["shops.csv: required file is missing"]),
    ("missing-accounts-file", _with(accounts__csv=None),
     ["accounts.csv: required file is missing"]),
    ("missing-required-column",
     _with(shops__csv=BASE["shops.csv"].replace("status,", "state,")),
     ["shops.csv line 1, column status: missing required column"]),
    ("missing-optional-table-column",
     _with(addresses__csv="shop_id,lat\nS1,30.1\n"),
     ["addresses.csv line 1, column address: missing required column"]),
    ("duplicate-header",
     _with(disputes__csv="shop_id,reason,reason\nS1,a,b\n"),
     ["disputes.csv line 1, column reason: duplicate column name"]),
    ("empty-file", _with(devices__csv=""), ["devices.csv: file is empty (no header row)"]),
    ("duplicate-shop-id", _append("shops.csv", "S2,again,2025-01-01,active,,,,\n"),
     ["shops.csv line 5, column shop_id: duplicate shop_id 'S2' (first on line 3)"]),
    ("duplicate-account-id", _append("accounts.csv", "A1,S2,,,,,\n"),
     ["accounts.csv line 5, column account_id: duplicate account_id 'A1' (first on line 2)"]),
    ("dangling-account-shop", _append("accounts.csv", "A9,S404,,,,,\n"),
     ["accounts.csv line 5, column shop_id: unknown shop_id 'S404' (not in the shops table)"]),
    ("dangling-device-account", _append("devices.csv", "A404,D-1,,\n"),
     ["devices.csv line 5, column account_id: unknown account_id 'A404' "
      "(not in the accounts table)"]),
    ("dangling-payment-shop", _append("payments.csv", "S404,bank,6222,,\n"),
     ["payments.csv line 4, column shop_id: unknown shop_id 'S404' (not in the shops table)"]),
    ("bad-created-at", _append("shops.csv", "S4,x,2025-02-30,active,,,,\n"),
     ["shops.csv line 5, column created_at: unparseable date '2025-02-30' (expected ISO 8601)"]),
    ("bad-seen-at", _append("devices.csv", "A1,D-2,,yesterday\n"),
     ["devices.csv line 5, column seen_at: unparseable date 'yesterday' (expected ISO 8601)"]),
    ("bad-latitude", _append("addresses.csv", "S2,somewhere,91.5,120,\n"),
     ["addresses.csv line 4, column lat: '91.5' is not a number between -90 and 90"]),
    ("bad-longitude-text", _append("addresses.csv", "S2,somewhere,30,east,\n"),
     ["addresses.csv line 4, column lon: 'east' is not a number between -180 and 180"]),
    ("bad-status", _append("shops.csv", "S4,x,2025-01-01,suspended,,,,\n"),
     ["shops.csv line 5, column status: 'suspended' is not one of active, banned, closed"]),
    ("banned-without-date", _append("shops.csv", "S4,x,2025-01-01,banned,,,,\n"),
     ["shops.csv line 5, column banned_at: missing value (required when status is banned)"]),
    ("blank-name", _append("shops.csv", "S4,  ,2025-01-01,active,,,,\n"),
     ["shops.csv line 5, column name: missing value (required)"]),
    ("device-row-without-device-or-ip", _append("devices.csv", "A1,,,2025-01-01\n"),
     ["devices.csv line 5, column device_id: needs at least one of device_id, ip"]),
    ("bad-verdict", _append("test_buys.csv", "S1,2025-01-01,counterfeit\n"),
     ["test_buys.csv line 4, column verdict: 'counterfeit' is not one of fake, genuine"]),
    ("too-many-fields", _append("disputes.csv", "S1,2025-01-01,counterfeit,extra\n"),
     ["disputes.csv line 3: row has 4 fields, the header has 3"]),
    ("undecodable-bytes", None, ["shops.csv line 5, column name: cannot decode byte 0xff as "
                                 "utf-8 or gb18030 (use --encoding to name the file's encoding)"]),
    ("two-problems-one-file",
     _append("shops.csv", "S2,again,2025-01-01,active,,,,\nS5,x,13/01/2025,active,,,,\n"),
     ["shops.csv line 5, column shop_id: duplicate shop_id 'S2' (first on line 3)",
      "shops.csv line 6, column created_at: unparseable date '13/01/2025' (expected ISO 8601)"]),
    ("quoted-newline-keeps-line-numbers",
     _append("shops.csv", 'S4,"two\nlines",2025-01-01,active,,,,\nS5,x,bad,active,,,,\n'),
     ["shops.csv line 7, column created_at: unparseable date 'bad' (expected ISO 8601)"]),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_dataset_is_reported_exactly(tmp_path, files, expected):
    folder = write_dataset(tmp_path / "ds", files or BASE)
    if files is None:
        bad_row = b"S4,\xff\xff\xff,2025-01-01,active\n"
        (folder / "shops.csv").write_bytes(BASE["shops.csv"].encode() + bad_row)
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: {line}" for line in expected]
    assert "Traceback" not in result.output


def test_corpus_is_large_enough():
    assert len(CASES) >= 20
