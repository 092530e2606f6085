"""Reading text files: encodings, streaming decode, CSV records with line numbers.

Files are read in blocks of :data:`BLOCK_SIZE` bytes and decoded
incrementally, so memory for decoding stays bounded whatever the file's size
(only the longest line must fit). Line numbers are physical lines: the header
is line 1, and a quoted field spanning lines does not shift later numbers.
Lines end with LF or CRLF; a CR elsewhere is part of its field, quoted or
not (pandas leaves it unquoted); a file with CR alone and no LF (old Mac)
ends its lines with CR.

Encodings (docs/data-layout.md, "Encodings"): one encoding per file.

- ``--encoding NAME`` (or a mapping file's ``encoding``) names it; a UTF-8
  byte-order mark is skipped.
- Otherwise a byte-order mark decides (UTF-8, UTF-16, UTF-32); a file with
  NUL bytes in every other position is UTF-16 without a mark.
- Otherwise the file is read as UTF-8. If some line is not valid UTF-8, every
  line is checked in UTF-8 and in GB18030 (which covers GBK and GB2312), and
  the encoding in which fewer lines fail is the file's (UTF-8 on a tie).

A line that does not decode in the file's encoding is a problem of its
record, with the line, the column and the first bad byte, and, when the line
is valid in the other encoding, the note that the file mixes encodings. It is
never guessed line by line: about one GBK line in 200 is also valid UTF-8
(a short Chinese name), so a per-line guess would silently garble lines.
``--lenient`` skips such records and counts them (reason ``encoding``).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
>>> _ = path.write_bytes("shop_id,name\\r\\nS1,名\\r\\n".encode("gbk"))
>>> reader = CsvFile(path, "x.csv")
>>> [r.fields for r in reader.read(list)], reader.encoding
([['shop_id', 'name'], ['S1', '名']], 'gb18030')
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import NamedTuple, TypeVar

from graphlink.core.errors import ConfigError, DatasetError, Problem

__all__ = ["BLOCK_SIZE", "AUTO", "BadLine", "CsvFile", "Record", "TextFile", "check_encoding",
           "csv_records", "decode_message"]

csv.field_size_limit(2**31 - 1)

#: bytes read and decoded at a time
BLOCK_SIZE = 1 << 20
#: encodings tried, in order, when none is given and the file has no byte-order mark
AUTO = ("utf-8", "gb18030")

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# undecodable bytes become U+DC00 + byte (lone surrogates: no decoder yields them)
_MARK = re.compile("[\udc00-\udcff]")
# a CR inside a line (writers such as pandas leave it unquoted) stands in as this
# character while the csv module, which would refuse it, splits the line
CR_MARK = "\ud800"
_BARE_CR = re.compile("\r(?!\n)")
_ERRORS = "graphlink-mark"
T = TypeVar("T")


def _mark(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


codecs.register_error(_ERRORS, _mark)


def check_encoding(name: str) -> str:
    """The codec name for ``name``; :class:`ConfigError` for an unknown or non-text one.

    >>> check_encoding("GBK"), check_encoding("utf8")
    ('gbk', 'utf-8')
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise ConfigError(f"unknown encoding {name!r} (try utf-8, gb18030, gbk, utf-16)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ConfigError(f"{name!r} is not a text encoding")
    return info.name


@dataclass(frozen=True)
class BadLine:
    """A physical line with bytes its encoding cannot decode."""

    line: int
    byte: int  # the first undecodable byte
    offset: int  # its character position in the decoded line
    other: str | None = None  # the other candidate encoding in which the line is valid


class _Undecodable(Exception):
    """Raised to abandon an optimistic UTF-8 pass at the first bad line."""


def _display(codec: str) -> str:
    return {"utf-8-sig": "utf-8"}.get(codec, codec)


def _sniff(head: bytes) -> str | None:
    """Encoding told by a byte-order mark, or UTF-16 recognised by its NUL bytes."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    sample = head[: len(head) // 2 * 2]
    if len(sample) >= 8 and b"\n" in sample.replace(b"\x00", b""):
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def _raw_line(text: str, codec: str) -> bytes:
    """The bytes a decoded line (with marks) came from."""
    out, last = bytearray(), 0
    for m in _MARK.finditer(text):
        out += text[last:m.start()].encode(codec, "replace") + bytes([ord(m.group()) - 0xDC00])
        last = m.end()
    return bytes(out + text[last:].encode(codec, "replace"))


class TextFile:
    """One text file, decoded in blocks; :meth:`read` detects its encoding.

    ``bad`` collects the lines that did not decode (filled as the blocks are
    read), ``encoding`` is the codec finally used, ``warnings`` says what a
    user should know (the encoding guessed for UTF-16 without a mark).
    """

    def __init__(self, path: Path, file: str, encoding: str | None = None,
                 mark_cr: bool = False):
        self.path, self.file, self.mark_cr = Path(path), file, mark_cr
        self.given = check_encoding(encoding) if encoding else None
        self.encoding = ""
        self.cr_lines = False
        self.bare_cr = False
        self.nul = False  # whether the decoded text holds a NUL character
        self.bad: list[BadLine] = []
        self.warnings: list[str] = []

    def _start(self) -> tuple[str, bool]:
        """The first codec to try and whether a fallback is allowed."""
        with open(self.path, "rb") as f:
            head = f.read(1 << 16)
        sniffed = _sniff(head)
        text_head = head.replace(b"\x00", b"")
        # old Mac files end lines with CR alone: then every CR ends a line
        self.cr_lines = b"\r" in text_head and b"\n" not in text_head
        if self.given:
            if self.given == "utf-8" and head.startswith(b"\xef\xbb\xbf"):
                return "utf-8-sig", False
            if self.given in ("utf-16", "utf-32") and sniffed != self.given:
                # these codecs need a byte-order mark: without one, read little-endian
                return (sniffed if sniffed and sniffed.startswith(self.given)
                        else self.given + "-le"), False
            return self.given, False
        if sniffed:
            if sniffed.startswith("utf-16-"):
                self.warnings.append(f"{self.file}: read as {sniffed.upper()} (no byte-order mark, "
                                     "NUL bytes between characters)")
            return sniffed, False
        return AUTO[0], True

    def read(self, consume: Callable[[Iterator[str]], T]) -> T:
        """``consume(lines)`` over the decoded physical lines, in the detected encoding.

        ``consume`` may be called twice: when an optimistic UTF-8 pass meets a
        bad line it is abandoned and the file read again in the encoding chosen
        by counting bad lines in each candidate.
        """
        codec, fallback = self._start()
        try:
            return self._consume(consume, codec, stop=fallback)
        except _Undecodable:
            pass
        counts = self._bad_line_counts()
        codec = min(AUTO, key=lambda c: (counts[c], AUTO.index(c)))
        return self._consume(consume, codec, stop=False)

    def _bad_line_counts(self) -> dict[str, int]:
        """How many lines fail to decode in each :data:`AUTO` encoding (one pass)."""
        counts = dict.fromkeys(AUTO, 0)
        with open(self.path, "rb") as f:
            for raw in f:
                if raw.isascii():
                    continue
                for candidate in AUTO:
                    try:
                        raw.decode(candidate)
                    except UnicodeDecodeError:
                        counts[candidate] += 1
        return counts

    def _consume(self, consume: Callable[[Iterator[str]], T], codec: str, stop: bool) -> T:
        self.encoding, self.bad, self.nul = _display(codec), [], False
        others = tuple(c for c in AUTO if c != _display(codec)) if _display(codec) in AUTO else ()
        blocks = self._blocks(codec, self.bad, stop, others)
        return consume(chain.from_iterable(io.StringIO(b, newline="\n") for b in blocks))

    def _blocks(self, codec: str, bad: list[BadLine], stop: bool,
                others: tuple[str, ...] = ()) -> Iterator[str]:
        """Decoded text in pieces of whole lines (the last may lack its newline)."""
        decoder = codecs.getincrementaldecoder(codec)(errors=_ERRORS)
        line = 1
        pending: list[str] = []
        with open(self.path, "rb") as f:
            while True:
                raw = f.read(BLOCK_SIZE)
                final = not raw
                try:
                    text = decoder.decode(raw, final=final)
                except UnicodeError as exc:  # a codec that refuses rather than reports
                    message = (f"cannot decode the file as {_display(codec)} after line {line}: "
                               f"{exc}")
                    raise DatasetError([Problem(self.file, line, None, message,
                                                "unreadable file")]) from None
                if self.cr_lines:
                    text = text.replace("\r", "\n")
                cut = len(text) if final else text.rfind("\n") + 1
                if not cut and not final:
                    pending.append(text)
                    continue
                head = "".join([*pending, text[:cut]]) if pending else text[:cut]
                pending = [text[cut:]] if cut < len(text) else []
                if _MARK.search(head):
                    self._find_bad(head, line, bad, codec, others)
                    if stop:
                        raise _Undecodable
                if self.mark_cr and "\r" in head and not self.cr_lines:  # a CR inside a line
                    head, n = _BARE_CR.subn(CR_MARK, head)
                    self.bare_cr = self.bare_cr or n > 0
                if head:
                    self.nul = self.nul or "\x00" in head
                    yield head
                    line += head.count("\n")
                if final:
                    return

    @staticmethod
    def _find_bad(text: str, first_line: int, bad: list[BadLine], codec: str,
                  others: tuple[str, ...]) -> None:
        line, pos, last_line = first_line, 0, None
        for m in _MARK.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            if line == last_line:
                continue
            last_line = line
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.start())
            content = text[start: end if end >= 0 else len(text)]
            raw = _raw_line(content, _display(codec)) if others else b""
            valid_in = None
            for other in others:
                try:
                    raw.decode(other)
                except UnicodeDecodeError:
                    continue
                valid_in = other
                break
            bad.append(BadLine(line, ord(m.group()) - 0xDC00, m.start() - start, valid_in))


class Record(NamedTuple):
    """One CSV record: its first and last physical line, fields, and its problem if any.

    A record with a ``problem`` whose ``fields`` are set is readable but
    flawed (bad bytes, shown as U+FFFD); without ``fields`` it is unreadable.
    """

    line: int
    last_line: int
    fields: list[str] | None
    problem: Problem | None = None


@dataclass
class CsvFile:
    """A CSV file read as a stream of :class:`Record` (header first).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.csv"
    >>> _ = path.write_text('a,b\\n1,"x\\ny"\\n\\n2,z\\n')
    >>> [(r.line, r.fields) for r in CsvFile(path, "f.csv").read(list)]
    [(1, ['a', 'b']), (2, ['1', 'x\\ny']), (5, ['2', 'z'])]
    """

    path: Path
    file: str
    encoding: str | None = None
    text: TextFile = field(init=False)

    def __post_init__(self) -> None:
        self.text = TextFile(self.path, self.file, self.encoding, mark_cr=True)

    @property
    def warnings(self) -> list[str]:
        return self.text.warnings

    def read(self, consume: Callable[[Iterator[Record]], T]) -> T:
        """``consume(records)``; like :meth:`TextFile.read`, it may be called twice."""
        result = self.text.read(lambda lines: consume(csv_records(lines, self.file, self.text)))
        self.encoding = self.text.encoding
        return result


def _csv_message(exc: csv.Error, start: int, end: int) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return (f"malformed CSV: the quoted field opened on line {start} is never closed "
                f"(lines {start}-{end} cannot be read)")
    span = f" (the record spans lines {start}-{end})" if end > start else ""
    return f"malformed CSV: {text}{span}"


def decode_message(bad: BadLine, text: TextFile) -> str:
    """Why ``bad`` could not be read, for a problem message."""
    enc = text.encoding
    if text.given:
        return f"cannot decode byte 0x{bad.byte:02x} as {enc} (the encoding given)"
    if bad.other:
        return (f"cannot decode byte 0x{bad.byte:02x} as {enc}, the file's encoding; this line is "
                f"valid {bad.other}: the file mixes encodings (convert it to one)")
    if enc in AUTO:
        return (f"cannot decode byte 0x{bad.byte:02x} as {' or '.join(AUTO)}"
                " (use --encoding to name the file's encoding)")
    return f"cannot decode byte 0x{bad.byte:02x} as {enc}"


def _first_bad(bad: list, seen: int, start: int, end: int) -> tuple[object, int]:
    """The first undecodable line of physical lines ``start``..``end`` (or None) and how
    many of ``bad`` are now passed; bad lines long reported are forgotten."""
    if seen > 4096:
        del bad[:seen]
        seen = 0
    first = None
    while seen < len(bad) and bad[seen].line <= end:
        if first is None and bad[seen].line >= start:
            first = bad[seen]
        seen += 1
    return first, seen


def _encoding_problem(flaw, fields: list[str], header: list[str] | None, file: str,
                      text: TextFile | None) -> Problem:
    """The problem of a record with an undecodable line, named by its column when the
    mark of the bad bytes is in a field the header names."""
    index = next((i for i, f in enumerate(fields) if _MARK.search(f)), None)
    column = None
    if header is not None and index is not None and index < len(header):
        column = header[index].strip() or None
    reason = "encoding" if header is not None else "bad header"
    return Problem(file, flaw.line, column, decode_message(flaw, text), reason)


def csv_records(lines: Iterator[str] | str, file: str, text: TextFile | None = None
                ) -> Iterator[Record]:
    """Records of the CSV ``lines`` (physical lines with their newlines, or one string).

    Blank records are skipped. Malformed CSV (an unclosed quote, text after
    a closing quote, a stray CR) gives a record without fields and a
    ``bad row shape`` problem; lines ``text`` could not decode give the
    record an ``encoding`` problem (``bad header`` on the header).

    >>> [(r.line, r.fields) for r in csv_records('a,b\\n1,"x"y\\n2,z\\n', "f.csv")]
    [(1, ['a', 'b']), (2, None), (3, ['2', 'z'])]
    """
    if isinstance(lines, str):
        lines = io.StringIO(lines, newline="\n")
    reader = csv.reader(lines, strict=True)
    bad = text.bad if text is not None else []
    start, seen, header = 1, 0, None
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = max(reader.line_num, start)
            reason = "bad row shape" if header is not None else "bad header"
            message = _csv_message(exc, start, end)
            yield Record(start, end, None, Problem(file, start, None, message, reason))
            start = end + 1
            continue
        end = reader.line_num
        first_bad = None
        if bad:
            first_bad, seen = _first_bad(bad, seen, start, end)
        if text is not None and text.bare_cr and any(CR_MARK in f for f in fields):
            fields = [f.replace(CR_MARK, "\r") for f in fields]
        if first_bad is not None or (fields and (fields[0].strip()
                                                 or any(f.strip() for f in fields))):
            problem = None
            if first_bad is not None:
                problem = _encoding_problem(first_bad, fields, header, file, text)
                fields = [_MARK.sub("\ufffd", f) for f in fields]
            if header is None:
                header = fields
            yield Record(start, end, fields, problem)
        start = end + 1
