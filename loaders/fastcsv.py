"""A fast path for plain CSV files: pyarrow parses, Python's csv module has the last word.

The strict reader (:mod:`loaders.text`) streams any file in any encoding and
names the line and column of every flaw, at about a microsecond per cell.
Most files are plain: UTF-8, one record per physical line, no blank lines, no
stray CR, no NUL. :func:`read_plain_csv` reads those with pyarrow's
multi-threaded parser and returns ``None`` for everything else (and on any
doubt), so the strict reader sees every file that has something to report.

Python's csv module and pyarrow split a line without quotes the same way;
lines with a quote are re-read with ``csv.reader(strict=True)``, whose fields
replace pyarrow's, so quoting follows the strict reader's rules exactly (and
a quoting error sends the file to it). Cells are stripped with ``str.strip``
and blank cells become ``None``, as :class:`loaders.raw.TableBuilder` does.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "f.csv"
>>> _ = path.write_text('a,b\\n1, x \\n2,"y, z"\\n,\\n3,\\n', encoding="utf-8")
>>> header, columns, lines = read_plain_csv(path)
>>> header, [list(c) for c in columns], lines.tolist()
(['a', 'b'], [['1', '2', '3'], ['x', 'y, z', None]], [2, 3, 5])
>>> _ = path.write_text('a,b\\n1,"x\\ny"\\n', encoding="utf-8")
>>> read_plain_csv(path) is None  # a quoted newline: the strict reader's job
True
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["read_plain_csv", "MAX_BYTES"]

#: larger files are streamed by the strict reader (this path holds the file in memory)
MAX_BYTES = 1 << 30
_BOM = b"\xef\xbb\xbf"


def read_plain_csv(
    path: Path, encoding: str | None = None
) -> tuple[list[str], list[np.ndarray], np.ndarray] | None:
    """``(header, columns, lines)`` of a plain UTF-8 CSV file, or ``None``.

    ``columns`` are object arrays of stripped text (``None`` for blank; equal
    values share one object), ``lines`` the physical line of each record
    (the header is line 1). Records whose cells are all blank are left out.
    """
    if encoding is not None and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    size = path.stat().st_size
    if not 0 < size <= MAX_BYTES:
        return None
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        return _parse(data)
    except (ValueError, csv.Error, UnicodeDecodeError, OSError):
        return None  # pyarrow's ArrowInvalid is a ValueError


def _parse(data: bytes) -> tuple[list[str], list[np.ndarray], np.ndarray] | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    end = data.find(b"\n")
    header = next(csv.reader([data[:end if end >= 0 else len(data)].decode("utf-8")],
                             strict=True))
    if len(set(header)) != len(header) or not header:
        return None
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=[f"c{i}" for i in
                                                                  range(len(header))]),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(len(header))},
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if table.num_rows + 1 != lines:
        return None  # blank lines or records over several lines
    columns = [_cells(table.column(i)) for i in range(len(header))]
    if not _requote(data, columns):
        return None
    keep = np.zeros(table.num_rows, dtype=bool)
    for column in columns:
        keep |= column != None  # noqa: E711 (element-wise)
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    if not keep.all():
        columns, rows = [c[keep] for c in columns], rows[keep]
    return [h.strip() for h in header], columns, rows


def _cells(column) -> np.ndarray:
    """Stripped text of a string column, ``None`` for blank, one object per distinct value."""
    encoded = column.combine_chunks().dictionary_encode()
    distinct = np.array([v.strip() or None for v in encoded.dictionary.to_pylist()] or [None],
                        dtype=object)
    return distinct[encoded.indices.to_numpy(zero_copy_only=False)]


def _requote(data: bytes, columns: list[np.ndarray]) -> bool:
    """Re-read the lines with a quote in Python's csv module; False on a quoting error."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(buffer == ord('"'))
    if not len(quotes):
        return True
    ends = np.flatnonzero(buffer == ord("\n"))
    quoted = np.unique(np.searchsorted(ends, quotes))  # line index, 0 = the header
    starts = np.concatenate(([0], ends + 1))
    width = len(columns)
    for index in quoted[quoted > 0].tolist():
        stop = int(ends[index]) if index < len(ends) else len(data)
        text = data[int(starts[index]):stop].decode("utf-8")
        fields = next(csv.reader([text], strict=True), [])
        if len(fields) != width:
            return False
        for column, value in zip(columns, fields, strict=True):
            column[index - 1] = value.strip() or None
    return True
