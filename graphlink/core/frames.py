"""Rows of a table that pass a filter, written once for memory and for Parquet.

A report often needs a sliver of a large table (the pairs of a few thousand
sign-ups out of millions). :func:`select` filters a DataFrame in memory with
the filters :func:`pyarrow.parquet.read_table` takes, with Arrow's meaning
(a null never passes a comparison), so a saved analysis can read the same
rows straight from its Parquet files (:mod:`graphlink.state.saved`) and hand
the reports the same rows in the same order.

Filters (pyarrow's disjunctive form): a list of ``(column, op, value)``
that must all hold, or a list of such lists of which one must hold; ``op``
is one of ``in``, ``not in``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.

>>> frame = pd.DataFrame({"a": ["S1", "S2", "S3"], "p": [0.5, 0.01, None],
...                       "via": ["", None, "S9"]})
>>> select(frame, ["a"], [("p", ">=", 0.02)])["a"].tolist()
['S1']
>>> select(frame, None, [[("a", "in", {"S1"})], [("via", "!=", "")]])["a"].tolist()
['S1', 'S3']
"""

from __future__ import annotations

import operator

import pandas as pd

__all__ = ["select", "dnf"]

_COMPARE = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt,
            "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def dnf(filters: list | None) -> list[list[tuple]] | None:
    """``filters`` as a list of conjunctions (a flat list is one conjunction); sets
    given to ``in`` become sorted lists (what pyarrow takes).

    >>> dnf([("a", "in", {"y", "x"})])
    [[('a', 'in', ['x', 'y'])]]
    """
    if not filters:
        return None
    terms = [filters] if isinstance(filters[0], tuple) else filters
    return [[(c, op, sorted(v) if op in ("in", "not in") else v) for c, op, v in term]
            for term in terms]


def select(frame: pd.DataFrame, columns: list[str] | None = None,
           filters: list | None = None) -> pd.DataFrame:
    """The rows of ``frame`` passing ``filters`` (all rows: None), in ``frame``'s order,
    with ``columns`` only (all: None)."""
    terms = dnf(filters)
    if terms is not None:
        keep = pd.Series(False, index=frame.index)
        for term in terms:
            both = pd.Series(True, index=frame.index)
            for column, op, value in term:
                both &= _passes(frame[column], op, value)
            keep |= both
        frame = frame[keep]
    return frame if columns is None else frame[list(columns)]


def _passes(column: pd.Series, op: str, value: object) -> pd.Series:
    if op == "in" and not any(pd.isna(v) for v in value):
        return column.isin(value)  # a null cell matches no value: no notna() scan needed
    present = column.notna()
    if op == "in":
        return present & column.isin(value)
    if op == "not in":
        return present & ~column.isin(value)
    return present & _COMPARE[op](column, value).fillna(False).astype(bool)
