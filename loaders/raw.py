"""Raw tables: what an adapter hands to validation.

A :class:`RawTable` is one source table with every cell as text (``None`` for
blank), column names already in graphlink's vocabulary, and the source line
(or row) of each record, so validation can name the place of each problem.

>>> t = RawTable.from_records("shops", "shops.csv", ["shop_id", "name"], [(2, ["S1", " A "])])
>>> t.frame.iloc[0].tolist(), t.lines.tolist()
(['S1', 'A'], [2])
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphlink.core.errors import Problem

__all__ = ["RawTable", "RawDataset", "TableBuilder", "clean_cell"]


def clean_cell(value: object) -> str | None:
    """Text of a cell, stripped; blank or null becomes ``None``.

    >>> clean_cell("  x "), clean_cell("   "), clean_cell(None), clean_cell(3)
    ('x', None, None, '3')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


@dataclass
class RawTable:
    """One source table as text, before validation."""

    name: str
    file: str
    frame: pd.DataFrame
    lines: np.ndarray
    unit: str = "line"
    header_line: int | None = 1
    # problems of records that are not in ``frame`` (unreadable, wrong shape)
    problems: list[Problem] = field(default_factory=list)
    # problems of rows that are in ``frame`` but flawed: (row position, problem);
    # validation keeps them (strict: so references to them resolve) or skips them
    row_problems: list[tuple[int, Problem]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # True when the reader saw no NUL character in the file: validation skips its scan
    nul_free: bool = False

    @classmethod
    def from_records(
        cls,
        name: str,
        file: str,
        header: list[str],
        records: list[tuple[int, list[str]]],
        unit: str = "line",
    ) -> RawTable:
        """Build from ``(line, fields)`` records whose fields match ``header``."""
        columns = list(zip(*(fields for _, fields in records), strict=False)) or [()] * len(header)
        data = {
            col: pd.Series([clean_cell(v) for v in values], dtype=object)
            for col, values in zip(header, columns, strict=False)
        }
        lines = np.array([line for line, _ in records], dtype=np.int64)
        return cls(name, file, pd.DataFrame(data, columns=header), lines, unit)

    def problem(self, row: int, column: str | None, message: str, reason: str) -> Problem:
        """A :class:`Problem` at positional ``row`` of this table."""
        return Problem(self.file, int(self.lines[row]), column, message, reason, self.unit)


class TableBuilder:
    """Builds a :class:`RawTable` row by row, column-wise (no list of rows is kept).

    >>> b = TableBuilder(["shop_id", "name"])
    >>> b.add(2, ["S1", " A "]); b.add(3, ["S2"])
    >>> t = b.build("shops", "shops.csv")
    >>> t.frame.values.tolist(), t.lines.tolist()
    ([['S1', 'A'], ['S2', None]], [2, 3])
    """

    def __init__(self, header: list[str]):
        self.header = header
        self.columns: list[list[str | None]] = [[] for _ in header]
        self.lines = array("q")
        self.row_problems: list[tuple[int, Problem]] = []
        self._rows: list[list[str]] = []
        self._seen: list[dict[str, str] | None] = [{} for _ in header]
        self._new = [0] * len(header)

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: int, fields: list[str], problem: Problem | None = None) -> None:
        """Append one record: text fields ("" is blank), at most as many as the header."""
        if problem is not None:
            self.row_problems.append((len(self.lines), problem))
        self.lines.append(line)
        self._rows.append(fields)
        if len(self._rows) >= 4096:
            self._flush()

    def _flush(self) -> None:
        """Move the buffered rows into the columns, cleaned, equal values shared."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        width = len(self.columns)
        if any(len(r) != width for r in rows):
            rows = [r if len(r) == width else [*r, *[""] * (width - len(r))] for r in rows]
        for i, (column, values) in enumerate(zip(self.columns, zip(*rows, strict=True),
                                                 strict=True)):
            stripped = map(str.strip, values)  # blank -> None
            seen = self._seen[i]
            if seen is None:
                column.extend([v or None for v in stripped])
                continue
            # equal values share one object: ids, statuses and dates repeat a lot, and
            # a str object costs ~50 bytes more than its text
            before, share = len(seen), seen.setdefault
            column.extend([share(v, v) if v else None for v in stripped])
            self._new[i] += len(seen) - before
            if len(column) >= 1 << 16 and self._new[i] > 0.8 * len(column):
                self._seen[i] = None  # mostly distinct values: sharing does not pay
            elif len(seen) > 1 << 19:
                seen.clear()

    def build(self, name: str, file: str, unit: str = "line") -> RawTable:
        self._flush()
        self._seen = []
        data = {}
        for col, values in zip(self.header, self.columns, strict=True):
            array_ = np.empty(len(values), dtype=object)
            array_[:] = values
            values.clear()
            data[col] = pd.Series(array_, dtype=object)
        lines = np.frombuffer(self.lines, dtype=np.int64).copy()
        frame = pd.DataFrame(data, columns=self.header, copy=False)
        table = RawTable(name, file, frame, lines, unit)
        table.row_problems = self.row_problems
        return table


@dataclass
class RawDataset:
    """Everything an adapter read, plus the problems it met on the way."""

    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    source: str = ""
    warnings: list[str] = field(default_factory=list)
