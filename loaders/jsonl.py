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
from collections import defaultdict
from pathlib import Path

from graphlink.errors import Problem
from graphlink.schema import TABLES
from loaders.mapping import Mapping
from loaders.raw import RawDataset, RawTable
from loaders.text import decode

__all__ = ["JsonLinesAdapter"]

_SUFFIXES = (".jsonl", ".ndjson")
_SINGULAR = {name.removesuffix("es") if name == "addresses" else name.rstrip("s"): name for name in TABLES}


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
        text, _ = decode(file.read_bytes(), file.name, encoding or mapping.encoding)
        grouped: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        for line, obj in self._objects(text, file.name, raw.problems):
            table = _table_of(obj.get("type"))
            if table is None:
                message = f"unknown record type {obj.get('type')!r}"
                raw.problems.append(Problem(file.name, line, "type", message, "unknown type"))
                continue
            grouped[table].append((line, obj))
        for table, rows in grouped.items():
            raw.tables[table] = self._table(file.name, table, rows, mapping)
        for table in TABLES.values():
            if table.required and table.name not in raw.tables:
                message = f"no record of type '{table.name.rstrip('s')}'"
                raw.problems.append(Problem(file.name, None, None, message, "missing file"))
        return raw

    @staticmethod
    def _objects(text: str, file: str, problems: list[Problem]):
        for line, content in enumerate(text.splitlines(), 1):
            if not content.strip():
                continue
            try:
                obj = json.loads(content)
            except json.JSONDecodeError as exc:
                message = f"invalid JSON: {exc.msg} (character {exc.colno})"
                problems.append(Problem(file, line, None, message, "bad row shape"))
                continue
            if not isinstance(obj, dict):
                problems.append(Problem(file, line, None, "not a JSON object", "bad row shape"))
                continue
            yield line, obj

    @staticmethod
    def _table(file: str, table: str, rows: list[tuple[int, dict]], mapping: Mapping) -> RawTable:
        keys: dict[str, None] = {}
        for _, obj in rows:
            keys.update(dict.fromkeys(k for k in obj if k != "type"))
        header = list(keys)
        records = [(line, [_cell(obj.get(k)) for k in header]) for line, obj in rows]
        raw = RawTable.from_records(table, file, mapping.rename(table, header), records)
        raw.header_line = None
        raw.frame = mapping.recode(table, raw.frame)
        return raw


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
