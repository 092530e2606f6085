"""Loader tests: every adapter and format yields the same canonical dataset."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import BASE, write_dataset

import graphlink as gl
from graphlink.core.schema import TABLES


def _frames(ds: gl.Dataset) -> dict[str, pd.DataFrame]:
    return {name: frame.drop(columns="_line") for name, frame in ds.tables.items()}


def test_standard_csv_loads_every_table(small_dataset):
    ds = gl.load(small_dataset)
    assert {name: len(f) for name, f in ds.tables.items()} == {
        "shops": 3, "accounts": 3, "devices": 3, "addresses": 2,
        "payments": 2, "disputes": 1, "test_buys": 2,
    }
    for name, table in TABLES.items():
        assert list(ds.tables[name].columns[: len(table.columns)]) == list(table.columns)


def test_values_are_typed_and_blank_is_missing(small_dataset):
    ds = gl.load(small_dataset)
    shops = ds.shops.set_index("shop_id")
    assert shops.loc["S2", "created_at"] == pd.Timestamp("2025-02-03 10:00")
    assert pd.isna(shops.loc["S2", "banned_at"])
    assert ds.addresses["lat"].tolist()[0] == pytest.approx(30.27)
    assert pd.isna(ds.addresses["lat"].tolist()[1])
    assert ds.accounts.set_index("account_id").loc["A2", "email"] is None


def test_extra_columns_are_kept(small_dataset):
    ds = gl.load(small_dataset)
    assert ds.shops.set_index("shop_id").loc["S1", "rating"] == "4.1"


def test_lines_point_into_the_source(small_dataset):
    ds = gl.load(small_dataset)
    assert ds.devices["_line"].tolist() == [2, 3, 4]


def test_gb18030_is_detected(tmp_path, small_dataset):
    gbk = write_dataset(tmp_path / "gbk", BASE, encoding="gb18030")
    assert (gbk / "shops.csv").read_bytes() != (small_dataset / "shops.csv").read_bytes()
    assert _frames(gl.load(gbk))["shops"].equals(_frames(gl.load(small_dataset))["shops"])


def test_explicit_encoding_is_used(tmp_path):
    gbk = write_dataset(tmp_path / "gbk", BASE, encoding="gbk")
    ds = gl.load(gbk, encoding="gbk")
    assert ds.accounts["holder_name"].tolist()[0] == "张伟"


def test_utf8_bom_and_crlf(tmp_path, small_dataset):
    files = {k: "\ufeff" + v.replace("\n", "\r\n") for k, v in BASE.items()}
    ds = gl.load(write_dataset(tmp_path / "bom", files))
    assert _frames(ds)["accounts"].equals(_frames(gl.load(small_dataset))["accounts"])


def test_parquet_equals_csv(tmp_path, small_dataset):
    csv_ds = gl.load(small_dataset)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name in BASE:
        frame = pd.read_csv(small_dataset / name, dtype=str, keep_default_na=False)
        frame.to_parquet(folder / name.replace(".csv", ".parquet"), index=False)
    pq_ds = gl.load(folder)
    for name in TABLES:
        assert _frames(pq_ds)[name].equals(_frames(csv_ds)[name]), name


def test_parquet_with_native_timestamps(tmp_path, small_dataset):
    folder = write_dataset(tmp_path / "mixed", {k: v for k, v in BASE.items() if k != "shops.csv"})
    shops = pd.read_csv(small_dataset / "shops.csv", dtype=str)
    shops["created_at"] = pd.to_datetime(shops["created_at"], format="ISO8601")
    shops.to_parquet(folder / "shops.parquet", index=False)
    ds = gl.load(folder)
    assert ds.shops["created_at"].iloc[1] == pd.Timestamp("2025-02-03 10:00")


def test_mapping_file_renames_files_columns_and_values(tmp_path, small_dataset):
    folder = write_dataset(tmp_path / "export", {k: v for k, v in BASE.items() if k != "shops.csv"})
    shops = BASE["shops.csv"].replace("shop_id,name,created_at,status",
                                      "StoreID,Store Name,Opened,State")
    (folder / "stores.csv").write_text(shops.replace(",banned,", ",封禁,"), encoding="utf-8")
    mapping = tmp_path / "export.toml"
    mapping.write_text(
        '[tables.shops]\nfile = "stores.csv"\n'
        '[tables.shops.columns]\nshop_id = "StoreID"\nname = "Store Name"\n'
        'created_at = "Opened"\nstatus = "State"\n'
        '[tables.shops.values.status]\n"封禁" = "banned"\n',
        encoding="utf-8",
    )
    ds = gl.load(folder, mapping=mapping)
    assert _frames(ds)["shops"].equals(_frames(gl.load(small_dataset))["shops"])


def test_mapping_with_unknown_table_is_a_config_error(tmp_path, small_dataset):
    mapping = tmp_path / "bad.toml"
    mapping.write_text("[tables.orders]\nfile = 'x.csv'\n", encoding="utf-8")
    with pytest.raises(gl.ConfigError, match="unknown table 'orders'"):
        gl.load(small_dataset, mapping=mapping)


def _to_jsonl(folder) -> str:
    lines = []
    for name in BASE:
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        kind = name.removesuffix(".csv")
        for row in frame.to_dict("records"):
            lines.append(json.dumps({"type": kind, **{k: v for k, v in row.items() if v}},
                                    ensure_ascii=False))
    return "\n".join(lines) + "\n"


def test_jsonl_export_equals_csv(tmp_path, small_dataset):
    export = tmp_path / "export.jsonl"
    export.write_text(_to_jsonl(small_dataset), encoding="utf-8")
    js = _frames(gl.load(export))
    csv_frames = _frames(gl.load(small_dataset))
    for name in TABLES:
        cols = list(TABLES[name].columns)
        assert js[name][cols].equals(csv_frames[name][cols]), name


def test_jsonl_reports_bad_lines(tmp_path, small_dataset):
    text = _to_jsonl(small_dataset) + '{"type": "shop", "shop_id": "S9"\n{"type": "order"}\n'
    export = tmp_path / "export.jsonl"
    export.write_text(text, encoding="utf-8")
    with pytest.raises(gl.DatasetError) as info:
        gl.load(export)
    n = text.count("\n")
    messages = [str(p) for p in info.value.problems]
    bad_json = "invalid JSON: Expecting ',' delimiter (character 33)"
    assert f"export.jsonl line {n - 1}: {bad_json}" in messages
    assert f"export.jsonl line {n}, column type: unknown record type 'order'" in messages


def test_lenient_counts_every_skipped_row(tmp_path):
    files = dict(BASE)
    files["shops.csv"] += "S4,x,not-a-date,active,,,,\nS5,y,2025-01-01,gone,,,,\n"
    files["accounts.csv"] += "A9,S4,,,,,\n"
    ds = gl.load(write_dataset(tmp_path / "d", files), lenient=True)
    assert len(ds.shops) == 3 and len(ds.accounts) == 3
    assert dict(ds.skipped) == {"bad date": 1, "bad value": 1, "dangling reference": 1}
