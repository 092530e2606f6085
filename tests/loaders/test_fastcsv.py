"""The pyarrow fast path reads every file it accepts exactly as the strict reader does."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loaders.standard as standard
from graphlink.core.errors import DatasetError
from loaders.fastcsv import read_plain_csv
from loaders.mapping import Mapping

CELL = st.lists(st.sampled_from(list('ab ,"\r\n\t名\u3000\u00a0\x1c') + ["\r\n"]),
                max_size=6).map("".join)


def _both(path: Path) -> tuple[object, object]:
    fast = standard._read_csv(path, "shops", None, Mapping())
    original, standard.read_plain_csv = standard.read_plain_csv, lambda *a: None
    try:
        strict = standard._read_csv(path, "shops", None, Mapping())
    finally:
        standard.read_plain_csv = original
    return fast, strict


def _same(fast, strict) -> None:
    pd.testing.assert_frame_equal(fast.frame, strict.frame)
    assert fast.lines.tolist() == strict.lines.tolist()
    assert (fast.problems, fast.row_problems) == (strict.problems, strict.row_problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=6),
       quote_all=st.booleans(), crlf=st.booleans(), bom=st.booleans())
def test_fast_path_agrees_with_the_strict_reader(rows, quote_all, crlf, bom):
    header = "shop_id,name,note"
    newline = "\r\n" if crlf else "\n"
    lines = [",".join(f'"{c}"' if quote_all else c for c in row) for row in rows]
    text = newline.join([header, *lines]) + newline
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shops.csv"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        fast, strict = _both(path)
    _same(fast, strict)


LINE_CELL = st.lists(st.sampled_from(list('ab ,"\t名\u3000\u00a0\x1c')), max_size=6).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(LINE_CELL, min_size=3, max_size=3), max_size=6),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), crlf=st.booleans())
def test_files_a_csv_writer_wrote_agree_too(rows, quoting, crlf):
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator="\r\n" if crlf else "\n")
    writer.writerows([["shop_id", "name", "note"], *rows])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shops.csv"
        path.write_bytes(out.getvalue().encode("utf-8"))
        assert read_plain_csv(path) is not None  # one record per line: plain
        fast, strict = _both(path)
    _same(fast, strict)


def test_plain_files_take_the_fast_path(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text('shop_id,name\r\nS1,"A, B"\r\nS2,"say ""hi"""\r\n,\r\nS3,  \r\n',
                    encoding="utf-8")
    header, columns, lines = read_plain_csv(path)
    assert header == ["shop_id", "name"]
    assert [list(c) for c in columns] == [["S1", "S2", "S3"], ['A, B', 'say "hi"', None]]
    assert lines.tolist() == [2, 3, 5]
    _same(*_both(path))


def test_files_with_something_to_report_go_to_the_strict_reader(tmp_path):
    path = tmp_path / "shops.csv"
    for body in (b'shop_id,name\nS1,"x"y\n',  # text after a closing quote
                 b"shop_id,name\nS1,a\n\nS2,b\n",  # a blank line
                 b"shop_id,name\nS1\n",  # a short row
                 b"shop_id,name\nS1,a,b\n",  # a long row
                 b"shop_id,name\nS1,\xc3\n",  # not UTF-8
                 b"shop_id,name\nS1,a\rb\n",  # a bare CR
                 b'shop_id,name\nS1,"a\nb"\n'):  # a quoted newline
        path.write_bytes(body)
        assert read_plain_csv(path) is None, body
        _same(*_both(path))
    path.write_bytes(b"shop_id,name\nS1,a\n")
    assert read_plain_csv(path, "gbk") is None and read_plain_csv(path, "utf-8") is not None
    path.write_bytes(b"shop_id, shop_id\nS1,a\n")  # duplicate names: the strict reader says so
    with pytest.raises(DatasetError, match="line 1, column shop_id: duplicate column name"):
        standard._read_csv(path, "shops", None, Mapping())


def test_values_repeat_as_one_object(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text("shop_id,status\n" + "".join(f"S{i},active\n" for i in range(100)),
                    encoding="utf-8")
    _, (_, status), _ = read_plain_csv(path)
    assert len({id(v) for v in status}) == 1 and isinstance(status, np.ndarray)
