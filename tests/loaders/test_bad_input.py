"""Bad input at the byte level: each case loads correctly, or fails naming its place.

Encodings (BOMs, UTF-16, GB18030, a file mixing encodings), line endings,
quotes, NUL bytes, long fields and block boundaries, duplicated headers,
empty and header-only files, JSON-lines and Parquet oddities. Nothing may
end in a traceback or lose rows silently: with ``--lenient`` every skipped
row is counted by reason. See loaders/text.py for the encoding rules.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BASE, write_dataset

import graphlink as gl
import loaders.text
from graphlink.cli import cli
from graphlink.core.errors import ConfigError, DatasetError

SHOPS = BASE["shops.csv"]


def _dataset(tmp_path, **files) -> object:
    data = dict(BASE)
    data.update({k.replace("__", "."): v for k, v in files.items() if isinstance(v, str)})
    folder = write_dataset(tmp_path / "ds", data)
    for name, value in files.items():
        if isinstance(value, bytes):
            (folder / name.replace("__", ".")).write_bytes(value)
    return folder


def _run(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def _errors(folder, *options: str) -> list[str]:
    result = _run("check", folder, *options)
    assert result.exit_code == 1, result.output
    return result.stderr.splitlines()


def _names(folder, **options) -> list[str]:
    return gl.load(folder, **options).shops["name"].tolist()


EXPECTED_NAMES = ["Nike潮牌店", "好运百货", "Lucky Goods Store"]


# --- encodings --------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "gb18030", "gbk"])
def test_every_supported_encoding_loads_the_same(tmp_path, encoding):
    folder = _dataset(tmp_path, shops__csv=SHOPS.encode(encoding))
    ds = gl.load(folder)
    assert ds.shops["name"].tolist() == EXPECTED_NAMES
    assert ds.shops.columns[0] == "shop_id"  # no BOM left in the first column name
    if encoding in ("utf-16-le", "utf-16-be"):  # no byte-order mark: recognised, and said so
        assert any("no byte-order mark" in w for w in ds.warnings)


def test_explicit_utf8_skips_a_byte_order_mark(tmp_path):
    folder = _dataset(tmp_path, shops__csv=SHOPS.encode("utf-8-sig"))
    assert _names(folder, encoding="utf-8") == EXPECTED_NAMES


def test_a_gbk_line_in_a_utf8_file_is_reported_with_its_place(tmp_path):
    data = SHOPS.encode() + "S4,假货店,2025-03-01,active,,,,\n".encode("gbk")
    folder = _dataset(tmp_path, shops__csv=data)
    assert _errors(folder) == [
        "error: shops.csv line 5, column name: cannot decode byte 0xbc as utf-8, the file's "
        "encoding; this line is valid gb18030: the file mixes encodings (convert it to one)"]


def test_lenient_skips_the_foreign_line_and_counts_it(tmp_path):
    data = SHOPS.encode() + "S4,假货店,2025-03-01,active,,,,\n".encode("gbk")
    folder = _dataset(tmp_path, shops__csv=data)
    ds = gl.load(folder, lenient=True)
    assert ds.shops["name"].tolist() == EXPECTED_NAMES
    assert dict(ds.skipped) == {"encoding": 1}
    result = _run("check", folder, "--lenient")
    assert result.exit_code == 0
    assert "skipped rows (--lenient): 1 encoding" in result.output


def test_a_utf8_line_in_a_gbk_file_is_reported_with_its_place(tmp_path):
    gbk = SHOPS.encode("gbk") + "S4,名,2025-03-01,active,,,,\n".encode()
    folder = _dataset(tmp_path, shops__csv=gbk)
    assert _errors(folder) == [
        "error: shops.csv line 5, column name: cannot decode byte 0x8d as gb18030, the file's "
        "encoding; this line is valid utf-8: the file mixes encodings (convert it to one)"]
    assert _names(folder, lenient=True) == EXPECTED_NAMES


def test_bytes_valid_in_no_encoding_are_reported(tmp_path):
    folder = _dataset(tmp_path, shops__csv=SHOPS.encode() + b"S4,ok,2025-03-01,active,,,,\n"
                      + b"S5,\x80\xff,2025-03-01,active,,,,\n")
    assert _errors(folder) == [
        "error: shops.csv line 6, column name: cannot decode byte 0x80 as utf-8 or gb18030 "
        "(use --encoding to name the file's encoding)"]


def test_a_given_encoding_reports_the_line_it_cannot_decode(tmp_path):
    folder = write_dataset(tmp_path / "ds", BASE, encoding="gbk")
    (folder / "shops.csv").write_bytes(SHOPS.encode("gbk") + b"S4,\xff,2025-03-01,active\n")
    assert _errors(folder, "--encoding", "gbk") == [
        "error: shops.csv line 5, column name: cannot decode byte 0xff as gbk (the encoding given)"]


def test_an_undecodable_header_is_fatal_even_when_lenient(tmp_path):
    folder = _dataset(tmp_path, shops__csv=b"shop_id,n\xffme\n" + SHOPS.encode().split(b"\n", 1)[1])
    errors = _errors(folder, "--lenient")
    assert errors[0].startswith("error: shops.csv line 1: cannot decode byte 0xff")


@pytest.mark.parametrize("name", ["no-such-codec", "hex"])
def test_unknown_or_non_text_encodings_are_an_error(small_dataset, name):
    errors = _errors(small_dataset, "--encoding", name)
    assert len(errors) == 1 and name in errors[0]
    with pytest.raises(ConfigError):
        gl.load(small_dataset, encoding=name)


def test_block_boundaries_do_not_change_the_result(tmp_path, monkeypatch):
    rows = "".join(f"S{i},店铺{i}号 \"引号\" {'长' * (i % 7)},2025-01-01,active,,,,\n"
                   for i in range(10, 60))
    for encoding in ("utf-8", "gb18030", "utf-16"):
        folder = _dataset(tmp_path / encoding, shops__csv=(SHOPS + rows).encode(encoding))
        expected = gl.load(folder).shops
        for size in (1, 2, 3, 7, 64):
            monkeypatch.setattr(loaders.text, "BLOCK_SIZE", size)
            pd.testing.assert_frame_equal(gl.load(folder).shops, expected)
        monkeypatch.undo()


# --- line endings, quotes, NUL bytes, long fields ------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings(tmp_path, newline):
    folder = _dataset(tmp_path, shops__csv=SHOPS.replace("\n", newline))
    ds = gl.load(folder)
    assert ds.shops["name"].tolist() == EXPECTED_NAMES
    assert ds.shops["_line"].tolist() == [2, 3, 4]


def test_mixed_line_endings_and_quoted_line_breaks_keep_line_numbers(tmp_path):
    text = (SHOPS.replace("\n", "\r\n", 2)
            + 'S4,"two\r\nlines, and ""quotes""",2025-01-01,active,,,,\n'
            + "S5,plain,not-a-date,active,,,,\r\n")
    folder = _dataset(tmp_path, shops__csv=text)
    assert _errors(folder) == ["error: shops.csv line 7, column created_at: unparseable date "
                               "'not-a-date' (expected ISO 8601)"]
    names = gl.load(folder, lenient=True).shops.set_index("shop_id")["name"]
    assert names["S4"] == 'two\r\nlines, and "quotes"'


def test_a_cr_inside_a_line_is_data_quoted_or_not(tmp_path):
    # pandas and the csv module write a lone CR unquoted when lines end with LF
    rows = 'S4,a\rb,2025-01-01,active,,,,\nS5,"c\rd",2025-01-01,active,,,,\r\n'
    folder = _dataset(tmp_path, shops__csv=SHOPS + rows)
    assert _names(folder)[-2:] == ["a\rb", "c\rd"]
    assert gl.load(folder).shops["_line"].tolist() == [2, 3, 4, 5, 6]


def test_quotes_inside_an_unquoted_field_are_text(tmp_path):
    folder = _dataset(tmp_path, shops__csv=SHOPS + 'S4,the "best" shop,2025-01-01,active,,,,\n')
    assert _names(folder)[-1] == 'the "best" shop'


@pytest.mark.parametrize(("row", "message"), [
    ('S4,"closed" then text,2025-01-01,active,,,,\n',
     "shops.csv line 5: malformed CSV: ',' expected after '\"'"),
    ('S4,"never closed,2025-01-01,active,,,,\nS5,x,2025-01-01,active,,,,\n',
     "shops.csv line 5: malformed CSV: the quoted field opened on line 5 is never closed "
     "(lines 5-6 cannot be read)"),
    ('S4,"a\nb",2025-01-01,active,,,,,,,\n',
     "shops.csv line 5: row has 11 fields, the header has 8 (the record spans lines 5-6: an "
     "unbalanced quote?)"),
])
def test_malformed_quotes_are_reported_and_counted(tmp_path, row, message):
    folder = _dataset(tmp_path, shops__csv=SHOPS + row)
    assert _errors(folder) == [f"error: {message}"]
    ds = gl.load(folder, lenient=True)
    assert ds.shops["name"].tolist() == EXPECTED_NAMES
    assert dict(ds.skipped) == {"bad row shape": 1}


NUL_ROW = "S4,nul\x00inside,2025-01-01,active,,,,\n"
NUL_ERROR = ("error: shops.csv line 5, column name: NUL byte at character 4 of 'nul\\x00inside': "
             "the sign of a binary or mis-encoded export")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_a_nul_byte_in_a_field_is_reported_and_lenient_skips_and_counts_it(tmp_path, encoding):
    folder = _dataset(tmp_path, shops__csv=(SHOPS + NUL_ROW).encode(encoding))
    assert _errors(folder) == [NUL_ERROR]
    ds = gl.load(folder, lenient=True)
    assert ds.shops["name"].tolist() == EXPECTED_NAMES
    assert dict(ds.skipped) == {"nul byte": 1}
    table = _run("check", folder, "--lenient")
    assert table.exit_code == 0 and "\x00" not in table.output
    assert "skipped rows (--lenient): 1 nul byte" in table.output


def test_a_nul_byte_in_any_column_and_in_a_header_is_reported(tmp_path):
    folder = _dataset(tmp_path, disputes__csv="shop_id,reason,note\nS1,fake,ok\nS2,fake,a\x00\n")
    assert _errors(folder) == ["error: disputes.csv line 3, column note: NUL byte at character 2 "
                               "of 'a\\x00': the sign of a binary or mis-encoded export"]
    folder = _dataset(tmp_path / "h", disputes__csv="shop_id,re\x00ason\nS1,fake\n")
    assert _errors(folder, "--lenient") == [
        "error: disputes.csv line 1, column 're\\x00ason': NUL byte in the column name: the sign "
        "of a binary or mis-encoded export"]


def test_other_control_characters_stay_data(tmp_path):
    rows = "S4,\x1b[31mred\x07 rtl\u202eevil,2025-01-01,active,,,,\n"
    folder = _dataset(tmp_path, shops__csv=SHOPS + rows)
    assert _names(folder)[-1] == "\x1b[31mred\x07 rtl\u202eevil"
    table = _run("check", folder)
    assert table.exit_code == 0 and "\x1b" not in table.output and "\u202e" not in table.output


def test_very_long_fields_load_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(loaders.text, "BLOCK_SIZE", 4096)
    long = "长" * 300_000 + "x" * 700_000
    folder = _dataset(tmp_path, shops__csv=SHOPS + f'S4,"{long}",2025-01-01,active,,,,\n')
    assert _names(folder)[-1] == long


# --- headers and empty files --------------------------------------------------------


def test_duplicated_header_names_the_column(tmp_path):
    folder = _dataset(tmp_path, disputes__csv="shop_id,reason,opened_at,reason\nS1,a,,b\n")
    assert _errors(folder, "--lenient") == [
        "error: disputes.csv line 1, column reason: duplicate column name"]


def test_a_hostile_header_is_escaped_in_messages(tmp_path):
    folder = _dataset(tmp_path, disputes__csv="shop_id,\x1b[31mx,\x1b[31mx\nS1,a,b\n")
    errors = _errors(folder)
    assert errors == ["error: disputes.csv line 1, column '\\x1b[31mx': duplicate column name"]


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_an_empty_file_fails_with_its_name(tmp_path, content):
    folder = _dataset(tmp_path, devices__csv=content)
    assert _errors(folder, "--lenient") == ["error: devices.csv: file is empty (no header row)"]


def test_header_only_files_load_as_empty_tables(tmp_path):
    files = {name.replace(".", "__"): text.split("\n", 1)[0] + "\n" for name, text in BASE.items()}
    folder = _dataset(tmp_path, **files)
    ds = gl.load(folder)
    assert all(len(t) == 0 for t in ds.tables.values())
    assert _run("check", folder).exit_code == 0
    clusters = _run("clusters", folder, "--format", "json")
    assert clusters.exit_code == 0, clusters.output
    assert json.loads(clusters.output)["shops"] == []


def test_blank_lines_before_the_header_shift_its_line(tmp_path):
    folder = _dataset(tmp_path, addresses__csv="\n\nshop_id,lat\nS1,30.1\n")
    assert _errors(folder) == ["error: addresses.csv line 3, column address: missing required "
                               "column"]
    folder = _dataset(tmp_path / "ok", disputes__csv="\n\nshop_id,reason\nS1,fake\n")
    assert gl.load(folder).disputes["_line"].tolist() == [4]


# --- --lenient counts everything ------------------------------------------------------


def test_lenient_counts_every_skipped_row_by_reason_and_loses_none(tmp_path):
    shops = (SHOPS
             + "S4,x,2025-02-30,active,,,,\n"  # bad date
             + 'S5,"bad"quote,2025-01-01,active,,,,\n'  # malformed CSV
             + "S6,x,2025-01-01,active,,,,,,,,\n"  # too many fields
             + "S7,x,2025-01-01,weird,,,,\n")  # bad value
    data = shops.encode() + "S8,假,2025-01-01,active,,,,\n".encode("gbk")  # encoding
    accounts = BASE["accounts.csv"] + "A4,S4,,,,,\nA5,S1,,,,,\nA5,S2,,,,,\n"  # dangling, duplicate
    folder = _dataset(tmp_path, shops__csv=data, accounts__csv=accounts)
    ds = gl.load(folder, lenient=True)
    assert dict(ds.skipped) == {"bad date": 1, "bad row shape": 2, "bad value": 1, "encoding": 1,
                                "dangling reference": 1, "duplicate id": 1}
    data_rows = 3 + 5 + 3 + 3
    assert len(ds.shops) + len(ds.accounts) + ds.skipped_rows == data_rows
    report = json.loads(_run("check", folder, "--lenient", "--format", "json").output)
    assert report["skipped"] == dict(sorted(ds.skipped.items()))


# --- JSON lines and Parquet ---------------------------------------------------------------


def _jsonl(small_dataset) -> str:
    ds = gl.load(small_dataset)
    lines = []
    for table, frame in ds.tables.items():
        for row in frame.drop(columns="_line").to_dict("records"):
            lines.append(json.dumps({"type": table, **{k: (None if pd.isna(v) else str(v))
                                                       for k, v in row.items()}},
                                    ensure_ascii=False))
    return "\n".join(lines) + "\n"


def test_jsonl_problems_have_places(tmp_path, small_dataset):
    text = _jsonl(small_dataset)
    n = text.count("\n")
    bad = ('{"type": "dispute", "shop_id": "S1", "shop_id": "S2"}\n'
           + "[" * 100_000 + "]" * 100_000 + "\n"
           + '"just a string"\n')
    export = tmp_path / "x.jsonl"
    export.write_bytes((text + bad).encode() + b'{"type": "dispute", "reason": "\xff"}\n')
    with pytest.raises(DatasetError) as info:
        gl.load(export)
    assert [str(p) for p in info.value.problems] == [
        f"x.jsonl line {n + 1}: duplicate key 'shop_id' in one object",
        f"x.jsonl line {n + 2}: invalid JSON: nested too deeply",
        f"x.jsonl line {n + 3}: not a JSON object",
        f"x.jsonl line {n + 4}: cannot decode byte 0xff as utf-8 or gb18030 (use --encoding to "
        "name the file's encoding)",
    ]


def test_jsonl_nul_characters_are_reported_with_their_place(tmp_path, small_dataset):
    text = _jsonl(small_dataset)
    n = text.count("\n")
    bad = ('{"type": "dispute", "shop_id": "S1", "reason": "fa\\u0000ke"}\n'  # JSON escape
           '{"type": "dispute", "shop_id": "S1", "reason": "fa\x00ke"}\n'  # a raw NUL in a string
           '{"type": "dispute", "shop_id": "S1",\x00 "reason": "fake"}\n')  # between tokens
    export = tmp_path / "x.jsonl"
    export.write_text(text + bad, encoding="utf-8")
    message = "NUL byte at character 3 of 'fa\\x00ke': the sign of a binary or mis-encoded export"
    with pytest.raises(DatasetError) as info:
        gl.load(export)
    assert [str(p) for p in info.value.problems] == [
        f"x.jsonl line {n + 1}, column reason: {message}",
        f"x.jsonl line {n + 2}, column reason: {message}",
        f"x.jsonl line {n + 3}: NUL byte at character 37: the sign of a binary or mis-encoded "
        "export",
    ]
    ds = gl.load(export, lenient=True)
    assert dict(ds.skipped) == {"nul byte": 3}
    assert len(ds.disputes) == len(gl.load(small_dataset).disputes)


def test_parquet_nul_characters_are_reported_by_row(tmp_path, small_dataset):
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, frame in gl.load(small_dataset).tables.items():
        frame = frame.drop(columns="_line")
        if name == "shops":
            frame.loc[1, "name"] = "nul\x00inside"
        frame.to_parquet(folder / f"{name}.parquet")
    assert _errors(folder) == ["error: shops.parquet row 2, column name: NUL byte at character 4 "
                               "of 'nul\\x00inside': the sign of a binary or mis-encoded export"]
    assert gl.load(folder, lenient=True).skipped["nul byte"] == 1


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "gb18030"])
def test_jsonl_in_other_encodings(tmp_path, small_dataset, encoding):
    export = tmp_path / "x.jsonl"
    export.write_bytes(_jsonl(small_dataset).encode(encoding))
    assert gl.load(export).shops["name"].tolist() == EXPECTED_NAMES


def test_parquet_streams_and_a_corrupt_file_is_reported(tmp_path, small_dataset):
    ds = gl.load(small_dataset)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, frame in ds.tables.items():
        frame.drop(columns="_line").to_parquet(folder / f"{name}.parquet")
    loaded = gl.load(folder)
    assert loaded.shops["name"].tolist() == EXPECTED_NAMES
    assert loaded.shops["_line"].tolist() == [1, 2, 3]
    (folder / "devices.parquet").write_bytes(b"PAR1 not really")
    errors = _errors(folder, "--lenient")
    assert len(errors) == 1 and errors[0].startswith("error: devices.parquet: cannot read Parquet")


def test_parquet_row_group_over_the_memory_limit_is_refused(tmp_path, small_dataset,
                                                            monkeypatch):
    import loaders.standard

    ds = gl.load(small_dataset)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, frame in ds.tables.items():
        frame.drop(columns="_line").to_parquet(folder / f"{name}.parquet")
    # the real limit is 2 GiB; a file that big is not for a test suite
    monkeypatch.setattr(loaders.standard, "MAX_ROW_GROUP_BYTES", 64)
    errors = _errors(folder)
    assert errors[0] == ("error: shops.parquet: row group 1 declares 0 MiB uncompressed, over "
                         "the limit of 0 MiB: write the file with smaller row groups")
    assert len(errors) == len(ds.tables)  # every file is checked and named
