"""Reading text files: encoding detection and CSV records with their line numbers.

UTF-8 (with or without BOM) is tried first, then GB18030 (a superset of GBK
and GB2312). A file that decodes in neither is reported with the line of its
first undecodable byte.

>>> decode(b"shop_id\\r\\nS1\\r\\n", "x.csv")[1]
'utf-8'
>>> decode("名".encode("gbk"), "x.csv")[1]
'gb18030'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from graphlink.errors import DatasetError, Problem

__all__ = ["decode", "csv_records"]

csv.field_size_limit(2**31 - 1)

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode(data: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding_used)``.

    With ``encoding`` given, only that encoding is tried. Raises
    :class:`DatasetError` naming the line of the first bad byte.
    """
    if encoding:
        candidates = [encoding]
    else:
        candidates = [enc for bom, enc in _BOMS if data.startswith(bom)][:1] or [
            "utf-8",
            "gb18030",
        ]
    first_error: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
        except LookupError:
            raise DatasetError([Problem(file, None, None, f"unknown encoding '{enc}'")]) from None
    assert first_error is not None
    at = first_error.start
    line = data.count(b"\n", 0, at) + 1
    tried = " or ".join(candidates)
    message = (
        f"cannot decode byte 0x{data[at]:02x} as {tried}"
        " (use --encoding to name the file's encoding)"
    )
    problem = Problem(file, line, _column_at(data, at), message, reason="encoding")
    raise DatasetError([problem])


def _column_at(data: bytes, at: int) -> str | None:
    """The CSV header name above byte ``at`` (by comma count; None if unsure)."""
    if not _csv_like(data) or at <= data.find(b"\n"):
        return None
    header = data[: data.find(b"\n")].decode("utf-8", "replace").lstrip("\ufeff").split(",")
    line_start = data.rfind(b"\n", 0, at) + 1
    prefix = data[line_start:at]
    if b'"' in prefix:
        return None
    index = prefix.count(b",")
    return header[index].strip() if index < len(header) else None


def _csv_like(data: bytes) -> bool:
    """True when the first line looks like a CSV header (has a comma, no brace)."""
    first = data[: data.find(b"\n")]
    return b"," in first and not first.lstrip().startswith(b"{")


def csv_records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-blank CSV record.

    The line number is the physical line where the record starts, so a
    quoted field spanning lines does not shift later numbers.

    >>> list(csv_records('a,b\\n1,"x\\ny"\\n\\n2,z\\n', "f.csv"))
    [(1, ['a', 'b']), (2, ['1', 'x\\ny']), (5, ['2', 'z'])]
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem = Problem(file, start, None, f"malformed CSV: {exc}", reason="bad row shape")
            raise DatasetError([problem]) from None
        if fields and any(f.strip() for f in fields):
            yield start, fields
        start = reader.line_num + 1
