"""Normalisation on Spark: the canonical form of every distinct identifying value.

For each identifier source of :data:`graphlink.linkage.identifiers.SOURCES`
the distinct raw values are found by Spark and given their canonical forms
by :func:`graphlink.linkage.identifiers.canonical` (the normalisers of
:mod:`graphlink.normalise`) in a vectorised pandas function
(``mapInPandas``), one batch of values at a time. The result, collected to
the driver as ``{kind: {raw: canonical}}``, is what
:func:`graphlink.linkage.identifiers.extract` takes as ``canonical_forms``:
the embedded stages from there on run unchanged.
"""

from __future__ import annotations

import pandas as pd

from graphlink.linkage.identifiers import SOURCES, canonical
from graphlink.spark.load import union_all

__all__ = ["canonical_forms", "distinct_values"]


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


def canonical_forms(tables: dict) -> dict[str, dict[str, str | None]]:
    """``{kind: {raw: canonical form}}`` of every identifying value, computed on Spark."""
    values = distinct_values(tables)
    if values is None:
        return {}
    local = values.mapInPandas(_normalised, "kind string, raw string, value string").toPandas()
    local = local.astype(object).where(local.notna(), None)
    return {kind: dict(zip(part["raw"], part["value"], strict=True))
            for kind, part in local.groupby("kind")}
