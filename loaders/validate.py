"""Validation: raw text tables -> the canonical :class:`~graphlink.core.dataset.Dataset`.

Every problem in every file is collected with its place before anything is
reported. Strict mode raises one :class:`DatasetError` listing them all;
lenient mode drops the offending rows (and rows that then dangle) and counts
them by reason. Problems that no row-skipping can fix (a missing file or
column, a bad header) are always fatal.

A NUL character inside a value (a NUL byte in a CSV file, ``\\u0000`` in a
JSON-lines export, a NUL in a Parquet string) is the sign of a binary or
mis-encoded file, never of real data: it is a problem of its row (reason
``nul byte``) with file, line and column, whatever the format. Other control
characters (ESC, BEL, bidi marks) are data and are neutralised by every
renderer.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.errors import DatasetError, Problem
from graphlink.core.schema import TABLES, Table
from loaders.raw import RawDataset, RawTable

__all__ = ["validate"]

# problems no row-skipping can fix; "encoding" (a line with undecodable bytes) is a row problem
_FATAL = {"missing file", "missing column", "bad header", "empty file", "unreadable file"}


def validate(raw: RawDataset, lenient: bool = False) -> Dataset:
    """Check every table against the contract and build the canonical dataset."""
    problems = list(raw.problems)
    dataset = Dataset.empty()
    dataset.source, dataset.warnings = raw.source, list(raw.warnings)
    ids: dict[str, pd.Series] = {}
    for table in TABLES.values():
        rt = raw.tables.get(table.name)
        if rt is None:
            continue
        dataset.files[table.name] = rt.file
        dataset.warnings.extend(rt.warnings)
        missing = _missing_columns(table, rt) + _nul_header(rt)
        problems.extend(missing)
        if missing:
            continue
        bad, row_problems = _row_problems(table, rt, ids, lenient)
        problems.extend(row_problems)
        keep = ~bad if lenient else np.ones(len(rt.frame), dtype=bool)
        dataset.tables[table.name] = _canonical(table, rt, keep)
        if table.id_column:
            ids[table.name] = dataset.tables[table.name][table.id_column]
    problems = _in_table_order(problems, raw)
    fatal = [p for p in problems if p.reason in _FATAL]
    if fatal or (problems and not lenient):
        raise DatasetError(fatal or problems)
    dataset.problems = problems
    dataset.skipped = _skipped_rows(problems)
    return dataset


def _q(value: object, limit: int = 80) -> str:
    """A cell value quoted for a message: ``repr`` (control characters escaped), cut.

    >>> print(_q("2025-02-30"), _q("x" * 100)[-6:], _q("\\x1b[31m"))
    '2025-02-30' xxx... '\\x1b[31m'
    """
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _in_table_order(problems: list[Problem], raw: RawDataset) -> list[Problem]:
    """Problems sorted by table (contract order), then by place in the file."""
    rank = {name: i for i, name in enumerate(TABLES)}
    table_of = {rt.file: name for name, rt in raw.tables.items()}

    def key(p: Problem) -> tuple[int, int]:
        table = table_of.get(p.file, p.file.split(".")[0])
        return rank.get(table, len(rank)), p.line or 0

    return sorted(problems, key=key)


def _skipped_rows(problems: list[Problem]) -> Counter:
    """Count skipped rows by the reason of their first problem."""
    first: dict[tuple[str, int | None], str] = {}
    for p in problems:
        first.setdefault((p.file, p.line), p.reason)
    return Counter(first.values())


def _missing_columns(table: Table, rt: RawTable) -> list[Problem]:
    return [
        Problem(rt.file, rt.header_line, col, "missing required column", "missing column")
        for col in table.required_columns
        if col not in rt.frame.columns
    ]


def _row_problems(
    table: Table, rt: RawTable, ids: dict[str, pd.Series], lenient: bool
) -> tuple[np.ndarray, list[Problem]]:
    frame = rt.frame
    checks = [
        *_blank_checks(table, frame),
        *_choice_checks(table, frame),
        *_date_checks(table, frame),
        *_float_checks(table, frame),
        *_duplicate_checks(table, rt),
        *_reference_checks(table, frame, ids),
        *([] if rt.nul_free else _nul_checks(frame)),
    ]
    bad = np.zeros(len(frame), dtype=bool)
    found = []
    for row, problem in rt.row_problems:  # flawed rows the adapter kept (undecodable bytes)
        bad[row] = True
        found.append(problem)
    for mask, column, message, reason in checks:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool) & ~bad if lenient else mask)
        found.extend(rt.problem(i, column, message(i), reason) for i in rows)
        bad |= np.asarray(mask, dtype=bool)
    found.extend(rt.problems)
    return bad, sorted(found, key=lambda p: (p.line or 0))


def _nul_header(rt: RawTable) -> list[Problem]:
    return [Problem(rt.file, rt.header_line, _q(col), "NUL byte in the column name: the sign "
                    "of a binary or mis-encoded export", "bad header")
            for col in rt.frame.columns if "\x00" in str(col)]


def _nul_checks(frame: pd.DataFrame):
    """Values holding a NUL character, column by column (one join per column finds none
    quickly: the usual case)."""
    for col in frame.columns:
        values = frame[col]
        present = values.dropna().tolist()
        try:
            text = "".join(present)
        except TypeError:  # not all text (a mapping's recoding, say)
            text = "".join(map(str, present))
        if "\x00" not in text:
            continue
        bad = values.notna() & values.astype(str).str.contains("\x00", regex=False)
        message = lambda i, v=values: (  # noqa: E731
            f"NUL byte at character {str(v.iat[i]).index(chr(0)) + 1} of {_q(v.iat[i], 40)}: "
            "the sign of a binary or mis-encoded export")
        yield bad, col, message, "nul byte"


def _blank_checks(table: Table, frame: pd.DataFrame):
    for col in table.required_values:
        yield frame[col].isna(), col, lambda i: "missing value (required)", "missing value"
    for col, (cond_col, cond_value) in table.required_when.items():
        if cond_col not in frame.columns:
            continue
        condition = frame[cond_col].str.lower() == cond_value
        values = frame[col] if col in frame.columns else pd.Series(None, index=frame.index)
        message = f"missing value (required when {cond_col} is {cond_value})"
        yield condition & values.isna(), col, lambda i, m=message: m, "missing value"
    for group in table.one_of:
        present = [frame[c].notna() for c in group if c in frame.columns]
        blank = ~np.logical_or.reduce(present) if present else np.ones(len(frame), bool)
        message = f"needs at least one of {', '.join(group)}"
        yield blank, group[0], lambda i, m=message: m, "missing value"


def _choice_checks(table: Table, frame: pd.DataFrame):
    for col, allowed in table.choices.items():
        if col not in frame.columns:
            continue
        values = frame[col]
        bad = values.notna() & ~values.str.lower().isin(allowed)
        expected = ", ".join(allowed)
        message = lambda i, v=values, e=expected: f"{_q(v.iat[i])} is not one of {e}"  # noqa: E731
        yield bad, col, message, "bad value"


def _date_checks(table: Table, frame: pd.DataFrame):
    for col in table.date_columns:
        if col not in frame.columns:
            continue
        values = frame[col]
        bad = values.notna() & _parse_dates(values).isna()
        message = lambda i, v=values: f"unparseable date {_q(v.iat[i])} (expected ISO 8601)"  # noqa: E731
        yield bad, col, message, "bad date"


def _float_checks(table: Table, frame: pd.DataFrame):
    for col, (low, high) in table.float_columns.items():
        if col not in frame.columns:
            continue
        values = frame[col]
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & ~numbers.between(low, high)
        message = lambda i, v=values, lo=low, hi=high: (  # noqa: E731
            f"{_q(v.iat[i])} is not a number between {lo:g} and {hi:g}"
        )
        yield bad, col, message, "bad number"


def _duplicate_checks(table: Table, rt: RawTable):
    col = table.id_column
    if col is None:
        return
    values = rt.frame[col]
    dup = values.duplicated(keep="first") & values.notna()
    if not dup.any():
        return
    first_line = dict(zip(values[~dup], rt.lines[~dup.to_numpy()], strict=False))
    message = lambda i: (  # noqa: E731
        f"duplicate {col} {_q(values.iat[i])} (first on {rt.unit} {first_line[values.iat[i]]})")
    yield dup, col, message, "duplicate id"


def _reference_checks(table: Table, frame: pd.DataFrame, ids: dict[str, pd.Series]):
    for col, target in table.references.items():
        known = ids.get(target, pd.Series(dtype=object))
        values = frame[col]
        bad = values.notna() & ~values.isin(known)
        target_file = f"{target} table"
        message = lambda i, v=values, c=col, t=target_file: (  # noqa: E731
            f"unknown {c} {_q(v.iat[i])} (not in the {t})")
        yield bad, col, message, "dangling reference"


def _parse_dates(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _canonical(table: Table, rt: RawTable, keep: np.ndarray) -> pd.DataFrame:
    frame = rt.frame.loc[keep].reset_index(drop=True)
    for col in table.columns:
        if col not in frame.columns:
            frame[col] = pd.Series([None] * len(frame), dtype=object)
    for col in table.date_columns:
        frame[col] = _parse_dates(frame[col])
    for col in table.float_columns:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    for col in table.choices:
        frame[col] = frame[col].str.lower()
    typed = {*table.date_columns, *table.float_columns}
    for col in frame.columns:
        if col not in typed:
            frame[col] = frame[col].astype(object)
    frame["_line"] = rt.lines[keep]
    extras = [c for c in frame.columns if c not in table.columns and c != "_line"]
    return frame[[*table.columns, *extras, "_line"]]
