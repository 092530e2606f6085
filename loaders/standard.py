"""The standard layout adapter: one folder, one CSV or Parquet file per table.

See CONTRACT.md section 1 (and docs/data-layout.md). CSV files are decoded
as UTF-8 or GB18030 (detected) unless an encoding is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from graphlink.core.errors import DatasetError, Problem
from graphlink.core.schema import TABLES
from loaders.fastcsv import read_plain_csv
from loaders.mapping import Mapping
from loaders.raw import RawDataset, RawTable, TableBuilder
from loaders.text import CsvFile, Record

__all__ = ["StandardAdapter"]


class StandardAdapter:
    """Reads ``shops.csv`` (or ``shops.parquet``), ``accounts.csv``... from a folder."""

    name = "standard"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and any(
            (path / f"{t}.{ext}").exists()
            for t in ("shops", "accounts") for ext in ("csv", "parquet")
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
    """Read ``file`` into a raw table: a plain file by the fast path, any other streamed.

    See :mod:`loaders.fastcsv` for what is plain and :mod:`loaders.text` for encodings.
    """
    plain = read_plain_csv(file, encoding)
    if plain is not None:
        header, columns, lines = plain
        header = mapping.rename(table, header)
        if not _header_problems(file.name, header):
            frame = pd.DataFrame({name: pd.Series(column, dtype=object, copy=False)
                                  for name, column in zip(header, columns, strict=True)},
                                 columns=header, copy=False)
            return RawTable(table, file.name, frame, lines, nul_free=True)  # none in plain files
    reader = CsvFile(file, file.name, encoding)
    raw = reader.read(lambda records: _build(records, file.name, table, mapping))
    raw.warnings = list(reader.warnings)
    raw.nul_free = not reader.text.nul
    return raw


def _build(records: Iterator[Record], name: str, table: str, mapping: Mapping) -> RawTable:
    first = next(records, None)
    if first is None:
        message = "file is empty (no header row)"
        raise DatasetError([Problem(name, None, None, message, "empty file")])
    if first.problem is not None:
        raise DatasetError([first.problem])
    header = mapping.rename(table, [h.strip() for h in first.fields])
    problems = _header_problems(name, header, first.line)
    if problems:
        raise DatasetError(problems)
    builder, width = TableBuilder(header), len(header)
    for record in records:
        if record.fields is None:
            problems.append(record.problem)
        elif len(record.fields) > width:
            message = f"row has {len(record.fields)} fields, the header has {width}"
            if record.last_line > record.line:
                message += (f" (the record spans lines {record.line}-{record.last_line}: "
                            "an unbalanced quote?)")
            problems.append(Problem(name, record.line, None, message, "bad row shape"))
        else:  # a short row's missing trailing cells are blank, as in most CSV readers
            builder.add(record.line, record.fields, record.problem)
    raw = builder.build(table, name)
    raw.problems, raw.header_line = problems, first.line
    return raw


def _header_problems(file: str, header: list[str], line: int | None = 1) -> list[Problem]:
    problems, seen = [], set()
    for position, name in enumerate(header, 1):
        if not name:
            problems.append(Problem(file, line, f"#{position}", "blank column name", "bad header"))
        elif name in seen:
            problems.append(Problem(file, line, _shown(name), "duplicate column name",
                                    "bad header"))
        seen.add(name)
    return problems


def _shown(name: str) -> str:
    """A column name fit for a message: control characters escaped, long names cut.

    >>> print(_shown("a\\x1b[31mb"), len(_shown("x" * 500)))
    'a\\x1b[31mb' 83
    """
    text = name if name.isprintable() else repr(name)
    return text if len(text) <= 80 else text[:80] + "..."


# Parquet decompresses a row group's column chunks whole: a crafted file can
# declare a small file and a huge row group. Refuse row groups declaring more.
MAX_ROW_GROUP_BYTES = 2 << 30


def _read_parquet(file: Path, table: str, mapping: Mapping) -> RawTable:
    """Read a Parquet file batch by batch (rows are numbered from 1)."""
    try:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(file)
        names = [str(c) for c in parquet.schema_arrow.names]
        _check_row_groups(file, parquet.metadata)
        batches = parquet.iter_batches(batch_size=65_536)
    except DatasetError:
        raise
    except Exception as exc:  # pyarrow raises many types for a bad file
        message = f"cannot read Parquet: {_shown(str(exc))}"
        raise DatasetError([Problem(file.name, None, None, message, "unreadable file")]) from None
    header = mapping.rename(table, names)
    problems = _header_problems(file.name, header, None)
    if problems:
        raise DatasetError(problems)
    builder, row = TableBuilder(header), 0
    try:
        for batch in batches:
            columns = [[_parquet_cell(v) or "" for v in column.to_pylist()]
                       for column in batch.columns]
            for i in range(batch.num_rows):
                row += 1
                builder.add(row, [c[i] for c in columns])
    except Exception as exc:
        message = f"cannot read Parquet after row {row}: {_shown(str(exc))}"
        raise DatasetError([Problem(file.name, None, None, message, "unreadable file")]) from None
    raw = builder.build(table, file.name, unit="row")
    raw.header_line = None
    return raw


def _check_row_groups(file: Path, metadata) -> None:
    """Fail on a row group whose declared uncompressed size is over the limit."""
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        size = max(group.total_byte_size, sum(
            group.column(c).total_uncompressed_size for c in range(group.num_columns)))
        if size > MAX_ROW_GROUP_BYTES:
            message = (f"row group {i + 1} declares {size / 2**20:,.0f} MiB uncompressed, over "
                       f"the limit of {MAX_ROW_GROUP_BYTES / 2**20:,.0f} MiB: write the file "
                       "with smaller row groups")
            raise DatasetError([Problem(file.name, None, None, message, "unreadable file")])


def _parquet_cell(value: object) -> str | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):  # datetime, date, time, pd.Timestamp
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
