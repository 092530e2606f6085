"""Property tests over the loaders: no input crashes them.

Whatever bytes a file holds, loading either gives a dataset or raises
:class:`DatasetError` (or :class:`ConfigError` for a bad option) whose every
problem names a file; nothing else escapes. Well-formed CSV round-trips
exactly in every encoding (a cell holding NUL is refused: its row is counted
as ``nul byte``), and with ``lenient`` no data row is lost without being
counted. The budget is small (``max_examples``) so CI stays fast;
tests/normalise/test_normalise.py covers the normalisers, this adds the identifier
canonical forms built on them (with the pre-hashed path) and the masks.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from conftest import BASE, write_dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphlink as gl
from graphlink.core.errors import ConfigError, DatasetError
from graphlink.core.privacy import mask
from graphlink.linkage.identifiers import SOURCES, canonical
from graphlink.linkage.pseudonymise import Pseudonymiser

# GRAPHLINK_FUZZ_EXAMPLES=2000 for a longer local run
FUZZ = settings(max_examples=int(os.environ.get("GRAPHLINK_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SHOP_COLUMNS = ["shop_id", "name", "created_at", "status", "banned_at", "ban_reason", "category"]
# text that breaks CSV and decoders: quotes, separators, line breaks, NUL, BOMs, CJK, bidi
_cell_chars = st.characters(blacklist_categories=("Cs",))
_tricky = st.sampled_from(['"', ",", "\n", "\r", "\r\n", "\x00", "\ufeff", "\u202e", "\x1b[31m",
                           " ", "名", "=1+1", "'", "\\", "\t"])
cells = st.lists(st.one_of(_tricky, st.text(_cell_chars, max_size=8)), max_size=6).map("".join)


def _check(folder: Path, **options) -> gl.Dataset | None:
    """Load ``folder``; anything but a dataset or a placed DatasetError fails the test."""
    try:
        return gl.load(folder, **options)
    except DatasetError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file and problem.message
        return None
    except ConfigError:
        return None


def _folder(files: dict[str, bytes | str]) -> tuple[tempfile.TemporaryDirectory, Path]:
    tmp = tempfile.TemporaryDirectory()
    folder = write_dataset(Path(tmp.name) / "ds", {k: v for k, v in BASE.items()
                                                   if k in ("accounts.csv",)})
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return tmp, folder


@FUZZ
@given(data=st.binary(max_size=2000), lenient=st.booleans())
def test_random_bytes_never_crash(data, lenient):
    tmp, folder = _folder({"shops.csv": BASE["shops.csv"].encode() + data})
    with tmp:
        _check(folder, lenient=lenient)


@FUZZ
@given(data=st.binary(max_size=600), table=st.sampled_from(["devices", "addresses", "payments",
                                                             "disputes", "test_buys"]))
def test_random_bytes_as_a_whole_file_never_crash(data, table):
    tmp, folder = _folder({"shops.csv": BASE["shops.csv"], f"{table}.csv": data})
    with tmp:
        _check(folder)
        _check(folder, lenient=True)


@FUZZ
@given(text=st.lists(st.one_of(_tricky, st.text(_cell_chars, max_size=20)), max_size=40)
       .map("".join),
       encoding=st.sampled_from([None, "utf-8", "gb18030", "latin-1", "utf-16"]))
def test_random_text_never_crashes(text, encoding):
    try:
        data = text.encode(encoding or "utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "replace")
    tmp, folder = _folder({"shops.csv": BASE["shops.csv"].encode() + data})
    with tmp:
        _check(folder, encoding=encoding)
        _check(folder, encoding=encoding, lenient=True)


rows = st.lists(st.lists(cells, min_size=len(SHOP_COLUMNS), max_size=len(SHOP_COLUMNS)),
                max_size=8)


@FUZZ
@given(rows=rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
       newline=st.sampled_from(["\r\n", "\n"]))
def test_well_formed_csv_round_trips_or_is_counted(rows, encoding, newline):
    """Cells written by a CSV writer load back exactly; with lenient, rows that fail
    validation are counted: loaded + skipped = every non-blank row."""
    for i, row in enumerate(rows):
        row[0] = f"X{i}"  # unique ids, so only the values themselves can be wrong
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(SHOP_COLUMNS)
    writer.writerows(rows)
    tmp, folder = _folder({"shops.csv": buffer.getvalue().encode(encoding)})
    with tmp:
        ds = _check(folder, lenient=True)
        assert ds is not None, "well-formed CSV must load"
        assert len(ds.shops) + ds.skipped["bad date"] + ds.skipped["bad value"] + \
            ds.skipped["missing value"] + ds.skipped["nul byte"] == len(rows)
        assert ds.skipped_rows == sum(ds.skipped.values())
        assert not any("\x00" in v for v in ds.shops.select_dtypes(object).stack().map(str))
        expected = {f"X{i}": (row[1].strip() or None) for i, row in enumerate(rows)}
        for shop_id, name in zip(ds.shops["shop_id"], ds.shops["name"], strict=True):
            assert name == expected[shop_id]


@FUZZ
@given(lines=st.lists(st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode),
                                st.just(b'{"type": "shop", "shop_id": "S1"}'),
                                st.just(b'{"type": "account", "x": [1, {"y": null}]}')),
                      max_size=12))
def test_random_json_lines_never_crash(lines):
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "x.jsonl"
        export.write_bytes(b"\n".join(lines))
        _check(export)
        _check(export, lenient=True)


# --- identifier canonical forms and masks ---------------------------------------------------

_values = st.one_of(st.text(max_size=40), cells,
                    st.text("0123456789abcdefABCDEF", min_size=32, max_size=64))


@FUZZ
@given(kind=st.sampled_from(sorted({k for _, _, k in SOURCES})), raw=_values)
def test_canonical_forms_are_total_and_idempotent(kind, raw):
    value = canonical(kind)(raw)
    if value is not None:
        assert canonical(kind)(value) == value
        shown = mask(kind, value)
        assert isinstance(shown, str)
        if kind in ("phone", "email", "id_number", "payment") and len(value) > 12:
            assert shown != value  # long sensitive values never show whole


@FUZZ
@given(raw=_values)
def test_tokens_are_stable_and_idempotent(raw):
    p = Pseudonymiser(b"fuzz-key-0123456789")
    token = p.token(raw)
    assert p.token(raw) == token and p.token(token) == token
    assert len(token) == 64 or token == raw
