"""Raw tables: what an adapter hands to validation.

A :class:`RawTable` is one source table with every cell as text (``None`` for
blank), column names already in graphlink's vocabulary, and the source line
(or row) of each record, so validation can name the place of each problem.

>>> t = RawTable.from_records("shops", "shops.csv", ["shop_id", "name"], [(2, ["S1", " A "])])
>>> t.frame.iloc[0].tolist(), t.lines.tolist()
(['S1', 'A'], [2])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphlink.errors import Problem

__all__ = ["RawTable", "RawDataset", "clean_cell"]


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
    problems: list[Problem] = field(default_factory=list)

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


@dataclass
class RawDataset:
    """Everything an adapter read, plus the problems it met on the way."""

    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    source: str = ""
    warnings: list[str] = field(default_factory=list)
