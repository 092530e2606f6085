"""The standard layout adapter: one folder, one CSV or Parquet file per table.

See CONTRACT.md section 1 (and docs/data-layout.md). CSV files are decoded
as UTF-8 or GB18030 (detected) unless an encoding is given.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graphlink.errors import DatasetError, Problem
from graphlink.schema import TABLES
from loaders.mapping import Mapping
from loaders.raw import RawDataset, RawTable
from loaders.text import csv_records, decode

__all__ = ["StandardAdapter"]


class StandardAdapter:
    """Reads ``shops.csv`` (or ``shops.parquet``), ``accounts.csv``... from a folder."""

    name = "standard"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and any(
            (path / f"{t}.{ext}").exists() for t in ("shops", "accounts") for ext in ("csv", "parquet")
        )

    def read(self, path: Path, encoding: str | None, mapping: Mapping) -> RawDataset:
        raw = RawDataset(source=str(path))
        for table in TABLES.values():
            file = self._find(path, table.name, mapping)
            if file is None:
                if table.required:
                    name = mapping.file_for(table.name, f"{table.name}.csv")
                    raw.problems.append(
                        Problem(name, None, None, "required file is missing", "missing file")
                    )
                continue
            try:
                raw.tables[table.name] = self._read_table(file, table.name, encoding, mapping)
            except DatasetError as exc:
                raw.problems.extend(exc.problems)
        return raw

    @staticmethod
    def _find(path: Path, table: str, mapping: Mapping) -> Path | None:
        if table in mapping.files:
            file = path / mapping.files[table]
            return file if file.exists() else None
        for ext in ("csv", "parquet"):
            if (path / f"{table}.{ext}").exists():
                return path / f"{table}.{ext}"
        return None

    def _read_table(
        self, file: Path, table: str, encoding: str | None, mapping: Mapping
    ) -> RawTable:
        if file.suffix.lower() == ".parquet":
            raw = _read_parquet(file, table, mapping)
        else:
            raw = _read_csv(file, table, encoding or mapping.encoding, mapping)
        raw.frame = mapping.recode(table, raw.frame)
        return raw


def _read_csv(file: Path, table: str, encoding: str | None, mapping: Mapping) -> RawTable:
    text, _ = decode(file.read_bytes(), file.name, encoding)
    records = csv_records(text, file.name)
    first = next(records, None)
    if first is None:
        raise DatasetError([Problem(file.name, None, None, "file is empty (no header row)", "empty file")])
    header = mapping.rename(table, [h.strip() for h in first[1]])
    problems = _header_problems(file.name, header)
    good, width = [], len(header)
    for line, fields in records:
        if len(fields) > width:
            message = f"row has {len(fields)} fields, the header has {width}"
            problems.append(Problem(file.name, line, None, message, "bad row shape"))
        else:  # a short row's missing trailing cells are blank, as in most CSV readers
            good.append((line, fields + [""] * (width - len(fields))))
    if problems and any(p.line == 1 for p in problems):
        raise DatasetError(problems)
    raw = RawTable.from_records(table, file.name, header, good)
    raw.problems = problems
    return raw


def _header_problems(file: str, header: list[str]) -> list[Problem]:
    problems, seen = [], set()
    for position, name in enumerate(header, 1):
        if not name:
            problems.append(Problem(file, 1, f"#{position}", "blank column name", "bad header"))
        elif name in seen:
            problems.append(Problem(file, 1, name, "duplicate column name", "bad header"))
        seen.add(name)
    return problems


def _read_parquet(file: Path, table: str, mapping: Mapping) -> RawTable:
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DatasetError([Problem(file.name, None, None, f"cannot read Parquet: {exc}")]) from None
    header = mapping.rename(table, [str(c) for c in frame.columns])
    problems = _header_problems(file.name, header)
    if problems:
        raise DatasetError(problems)
    records = [
        (i, [_parquet_cell(v) for v in row])
        for i, row in enumerate(frame.itertuples(index=False, name=None), 1)
    ]
    raw = RawTable.from_records(table, file.name, header, records, unit="row")
    raw.header_line = None
    return raw


def _parquet_cell(value: object) -> str | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return str(value)
