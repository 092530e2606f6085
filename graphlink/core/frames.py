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

Each ``in`` filter of :func:`select` hashes every cell of its column; a table asked
again and again for the rows of a few keys (the shops a page draws) keeps a
:class:`KeyIndex` of those columns instead: the cells hashed once, as integer
codes, then each look-up gathers from an array.

>>> frame = pd.DataFrame({"a": ["S1", "S2", "S3"], "p": [0.5, 0.01, None],
...                       "via": ["", None, "S9"]})
>>> select(frame, ["a"], [("p", ">=", 0.02)])["a"].tolist()
['S1']
>>> select(frame, None, [[("a", "in", {"S1"})], [("via", "!=", "")]])["a"].tolist()
['S1', 'S3']
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["select", "dnf", "KeyIndex"]

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


class KeyIndex:
    """The rows of one table holding any of a few keys in some of its ``columns``, found
    without a pass over the table's cells per look-up. A column of text in sorted runs
    (the shop a table is sorted by; ``within``: sorted within each run of equal cells of
    another column, as values within their kind) is searched by bisection in each run;
    any other keeps its cells as integer codes of its distinct keys, and a look-up
    gathers one flag per code. Making it costs about one ``in`` filter of
    :func:`select` per column (a comparison or a hash per cell); :meth:`select` then
    gives the rows :func:`select` gives for ``in`` filters on those columns, in the
    table's order.

    >>> frame = pd.DataFrame({"a": ["S1", "S2", "S3"], "b": ["S2", "S3", None],
    ...                       "p": [0.5, 0.2, 0.1]})
    >>> index = KeyIndex(frame, ["a", "b"])
    >>> index.select(["p"], [[("a", "in", {"S1"})], [("b", "in", {"S3", "S9"})]])["p"].tolist()
    [0.5, 0.2]
    >>> index.select(None, [("b", "in", {"S2", "S3"}), ("a", "in", {"S2"})])["a"].tolist()
    ['S2']
    >>> values = pd.DataFrame({"kind": ["ip", "ip", "phone"], "value": ["1", "2", "1"]})
    >>> KeyIndex(values, ["value"], {"value": "kind"}).select(None, [("value", "in", {"1"})]
    ...                                                      )["kind"].tolist()
    ['ip', 'phone']
    """

    #: most runs a sorted column is searched in (more: it keeps codes)
    RUNS = 64

    def __init__(self, frame: pd.DataFrame, columns: list[str],
                 within: dict[str, str] | None = None):
        self.frame = frame
        within = {c: frame[g] for c, g in (within or {}).items() if g in frame}
        # column -> (True, cells, run edges) when sorted in runs, else (False, codes, keys)
        self.columns = {c: _keyed(frame[c], within.get(c), self.RUNS) for c in columns}

    def hits(self, column: str, keys: Iterable) -> np.ndarray:
        """Which rows hold one of ``keys`` in ``column`` (a boolean array)."""
        runs, cells, extra = self.columns[column]
        keys = list(keys)
        if not runs:
            flags = np.zeros(len(extra) + 1, dtype=bool)
            codes = extra.get_indexer(pd.Index(keys, dtype=object))
            flags[codes[codes >= 0]] = True
            return flags[cells]
        edges = np.zeros(len(cells) + 1, dtype=np.int32)
        try:
            wanted = np.array(sorted(keys), dtype=object)
            for start, end in zip(extra[:-1].tolist(), extra[1:].tolist(), strict=True):
                run = cells[start:end]
                np.add.at(edges, np.searchsorted(run, wanted, "left") + start, 1)
                np.add.at(edges, np.searchsorted(run, wanted, "right") + start, -1)
        except TypeError:  # keys that do not compare with the cells: filtered
            return self.frame[column].isin(keys).to_numpy()
        return np.cumsum(edges[:-1]) > 0

    def select(self, columns: list[str] | None, filters: list) -> pd.DataFrame:
        """:func:`select` of the table, for ``filters`` made of ``in`` filters on the
        indexed columns only (:class:`ValueError` otherwise)."""
        if not filters:
            return self.frame if columns is None else self.frame[list(columns)]
        keep = np.zeros(len(self.frame), dtype=bool)
        for term in dnf(filters) or []:
            both = np.ones(len(self.frame), dtype=bool)
            for column, op, value in term:
                if op != "in" or column not in self.columns:
                    raise ValueError(f"not a look-up by key: {(column, op)}")
                both &= self.hits(column, value)
            keep |= both
        frame = self.frame.iloc[np.flatnonzero(keep)]
        return frame if columns is None else frame[list(columns)]


def _keyed(column: pd.Series, within: pd.Series | None = None, most: int = 64) -> tuple:
    """``(True, cells, edges)`` of a column of text sorted ascending in each run of
    equal cells of ``within`` (None: as a whole; ``edges``: where the runs start, then
    the end), at most ``most`` runs; else ``(False, codes, keys)``: each cell's code
    among the distinct ``keys`` (an Index), a null's code ``len(keys)``.

    >>> _keyed(pd.Series(["a", "b", "b"]))[2].tolist(), _keyed(pd.Series(["b", "a"]))[0]
    ([0, 3], False)
    >>> _keyed(pd.Series(["b", "c", "a"]), pd.Series(["x", "x", "y"]))[2].tolist()
    [0, 2, 3]
    >>> _keyed(pd.Series(["b", "a", None]))[1].tolist()
    [0, 1, 2]
    """
    cells = column.to_numpy(dtype=object)
    if pd.api.types.is_string_dtype(cells):
        groups = within.to_numpy(dtype=object) if within is not None else cells[:0]
        breaks = np.flatnonzero(groups[1:] != groups[:-1]) + 1
        edges = np.concatenate(([0], breaks, [len(cells)])).astype(np.int64)
        if len(breaks) < most and all(pd.Series(cells[start:end]).is_monotonic_increasing
                                      for start, end in zip(edges[:-1], edges[1:],
                                                            strict=True)):
            return True, cells, edges
    codes, keys = pd.factorize(cells)
    codes[codes < 0] = len(keys)  # reads the last flag, never set: a null matches no key
    keys = pd.Index(keys, dtype=object)
    keys.get_indexer(keys[:1])  # its hash table made here, not by the first look-up
    return False, codes.astype(np.int32), keys


def _passes(column: pd.Series, op: str, value: object) -> pd.Series:
    if op == "in" and not any(pd.isna(v) for v in value):
        return column.isin(value)  # a null cell matches no value: no notna() scan needed
    present = column.notna()
    if op == "in":
        return present & column.isin(value)
    if op == "not in":
        return present & ~column.isin(value)
    return present & _COMPARE[op](column, value).fillna(False).astype(bool)
