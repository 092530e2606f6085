"""Normalisation on Spark: the canonical form of every distinct identifying value.

For each identifier source of :data:`graphlink.linkage.identifiers.SOURCES`
the distinct raw values are found by Spark and given their canonical forms
by :func:`graphlink.linkage.identifiers.canonical` (the normalisers of
:mod:`graphlink.normalise`) in a vectorised pandas function
(``mapInPandas``), one batch of values at a time. The result,
:func:`forms_frame`, stays on Spark: :mod:`graphlink.spark.extract` joins it to
the identifying columns (never collected).
"""

from __future__ import annotations

import pandas as pd

from graphlink.linkage.identifiers import SOURCES, canonical
from graphlink.spark.load import union_all

__all__ = ["forms_frame", "distinct_values"]


def distinct_values(tables: dict):
    """``(kind, raw)``: every distinct non-blank value of every identifier source."""
    from pyspark.sql import functions as F

    parts = [tables[t].select(F.lit(kind).alias("kind"), F.col(c).alias("raw"))
             .where(F.col(c).isNotNull())
             for t, c, kind in SOURCES if t in tables and c in tables[t].columns]
    return union_all(parts).distinct() if parts else None


def _normalised(batches):
    """Canonical form of each ``(kind, raw)`` row (``value``; None: not an identifier)."""
    for batch in batches:
        value = pd.Series(None, index=batch.index, dtype=object)
        for kind, rows in batch.groupby("kind").groups.items():
            fn = canonical(kind)
            value[rows] = [fn(raw) for raw in batch.loc[rows, "raw"]]
        yield batch.assign(value=value)


def forms_frame(tables: dict):
    """``(kind, raw, value)``: the canonical form of every distinct identifying value
    (``value`` null: not an identifier), computed on Spark (lazy; None without sources)."""
    values = distinct_values(tables)
    if values is None:
        return None
    return values.mapInPandas(_normalised, "kind string, raw string, value string")
