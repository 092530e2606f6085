"""The JSON-lines adapter: one export file, one JSON object per line.

Each object has a ``type`` naming its table, in the singular or the plural
(``shop``/``shops``, ``account``, ``device``, ``address``, ``payment``,
``dispute``, ``test_buy``); its other keys are the table's columns. Blank
lines are ignored. The dataset path is the ``.jsonl``/``.ndjson`` file, or a
folder holding exactly one such file.

>>> _table_of("test_buys"), _table_of("Address"), _table_of("order")
('test_buys', 'addresses', None)
"""

from __future__ import annotations

import json
from pathlib import Path

from graphlink.core.errors import Problem
from graphlink.core.schema import TABLES
from loaders.mapping import Mapping
from loaders.raw import RawDataset, RawTable, TableBuilder
from loaders.text import TextFile, decode_message

__all__ = ["JsonLinesAdapter"]

_SUFFIXES = (".jsonl", ".ndjson")
_SINGULAR = {name.removesuffix("es") if name == "addresses" else name.rstrip("s"): name
             for name in TABLES}


def _table_of(kind: object) -> str | None:
    key = str(kind).strip().lower()
    return key if key in TABLES else _SINGULAR.get(key)


class JsonLinesAdapter:
    """Reads a JSON-lines export whose objects carry a ``type`` field."""

    name = "jsonl"

    def detect(self, path: Path) -> bool:
        return self._file(path) is not None

    @staticmethod
    def _file(path: Path) -> Path | None:
        if path.is_file() and path.suffix.lower() in _SUFFIXES:
            return path
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
            return found[0] if len(found) == 1 else None
        return None

    def read(self, path: Path, encoding: str | None, mapping: Mapping) -> RawDataset:
        file = self._file(path)
        raw = RawDataset(source=str(path))
        reader = TextFile(file, file.name, encoding or mapping.encoding)
        tables = reader.read(lambda lines: self._tables(lines, file.name, reader, raw.problems))
        raw.warnings.extend(reader.warnings)
        for table, builder in tables.items():
            rt = builder.build(table, file.name)
            rt.frame = mapping.recode(table, rt.frame.rename(
                columns=dict(zip(rt.frame.columns, mapping.rename(table, list(rt.frame.columns)),
                                 strict=True))))
            rt.header_line = None
            raw.tables[table] = rt
        for table in TABLES.values():
            if table.required and table.name not in raw.tables:
                message = f"no record of type '{table.name.rstrip('s')}'"
                raw.problems.append(Problem(file.name, None, None, message, "missing file"))
        return raw

    @staticmethod
    def _tables(lines, file: str, reader: TextFile, problems: list[Problem]
                ) -> dict[str, _Columns]:
        """Objects grouped by table, column-wise; problems of bad lines appended."""
        del problems[:]  # a second pass (another encoding) starts afresh
        tables: dict[str, _Columns] = {}
        flaws = _Flaws(reader)
        for line, content in enumerate(lines, 1):
            flawed = flaws.at(line)
            if flawed is not None:
                problems.append(Problem(file, line, None, decode_message(flawed, reader),
                                        "encoding"))
                continue
            if not content.strip():
                continue
            table, obj = _record(content.rstrip("\r\n"), file, line)
            if table is None:
                problems.append(obj)
                continue
            tables.setdefault(table, _Columns()).add(line, obj)
        return tables


class _Flaws:
    """The decoding flaws of a file's lines, met in line order while the reader
    decodes (it appends them as it goes)."""

    def __init__(self, reader: TextFile):
        self.reader, self.seen = reader, 0

    def at(self, line: int):
        """The (last) flaw on ``line``, or None; flaws of earlier lines are passed."""
        bad, flawed = self.reader.bad, None
        while self.seen < len(bad) and bad[self.seen].line <= line:
            if bad[self.seen].line == line:
                flawed = bad[self.seen]
            self.seen += 1
        return flawed


def _record(text: str, file: str, line: int) -> tuple[str | None, dict | Problem]:
    """One line's table and object, or (None, the problem that keeps it out)."""
    nul = "\x00" in text  # inside a string it stays, for validation to report by column
    try:
        obj = json.loads(text, object_pairs_hook=_unique_keys, strict=not nul)
    except _DuplicateKey as exc:
        message = f"duplicate key {_shown(exc.args[0])} in one object"
        return None, Problem(file, line, None, message, "bad row shape")
    except json.JSONDecodeError as exc:
        if nul:
            message = (f"NUL byte at character {text.index(chr(0)) + 1}: the sign of a "
                       "binary or mis-encoded export")
            return None, Problem(file, line, None, message, "nul byte")
        message = f"invalid JSON: {exc.msg} (character {exc.colno})"
        return None, Problem(file, line, None, message, "bad row shape")
    except RecursionError:
        return None, Problem(file, line, None, "invalid JSON: nested too deeply",
                             "bad row shape")
    if not isinstance(obj, dict):
        return None, Problem(file, line, None, "not a JSON object", "bad row shape")
    table = _table_of(obj.get("type"))
    if table is None:
        message = f"unknown record type {_shown(_cell(obj.get('type')))}"
        return None, Problem(file, line, "type", message, "unknown type")
    return table, obj


class _Columns:
    """One table's objects, column-wise, as keys appear (missing keys are blank)."""

    def __init__(self):
        self.keys: dict[str, list[str | None]] = {}
        self.lines: list[int] = []

    def add(self, line: int, obj: dict) -> None:
        n = len(self.lines)
        for key, value in obj.items():
            if key == "type":
                continue
            column = self.keys.get(key)
            if column is None:
                column = self.keys[key] = [None] * n
            column.append(_cell(value))
        self.lines.append(line)
        for column in self.keys.values():
            if len(column) == n:
                column.append(None)

    def build(self, table: str, file: str) -> RawTable:
        builder = TableBuilder(list(self.keys))
        builder.columns = [[None if v is None else v.strip() or None for v in column]
                           for column in self.keys.values()]
        builder.lines.extend(self.lines)
        return builder.build(table, file)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


def _shown(value: str | None) -> str:
    """``repr`` of a value for a message, cut to 80 characters."""
    if value is not None and len(value) > 80:
        value = value[:80] + "..."
    return repr(value)


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
