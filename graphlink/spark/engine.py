"""The Spark engine's stages joined: what ``engine="spark"`` runs before the hand-over.

:func:`prepare` starts (or reuses) the session, reads and validates the
dataset on Spark, then collects the canonical tables the driver's stages read
(all but devices and payments, which only extraction reads, on Spark, and a
saved state) and hands over the validated Spark tables, from which
:func:`graphlink.spark.extract.extract` builds the identifiers on Spark;
:func:`graphlink.workflow.analyse.analyse` continues from there.
"""

from __future__ import annotations

from pathlib import Path

from graphlink.core.dataset import Dataset
from graphlink.spark.load import check_tables, read_tables, to_dataset
from graphlink.spark.session import spark_session

__all__ = ["prepare", "load", "ON_SPARK"]

#: the tables the driver does not hold: read by extraction (on Spark) and by a saved state
ON_SPARK = ("devices", "payments")


def _read(path: str | Path, master, conf, checkpoint, encoding):
    spark = spark_session(master, conf, checkpoint, source=path)
    tables, files = read_tables(spark, str(path), encoding)
    check_tables(tables, files)
    return tables, files


def _unpersist(tables: dict) -> None:
    for frame in tables.values():
        frame.unpersist()


def load(path: str | Path, *, master: str | None = None, conf=None,
         checkpoint: str | None = None, encoding: str | None = None) -> Dataset:
    """The dataset read and validated on Spark, collected as the canonical Dataset."""
    tables, files = _read(path, master, conf, checkpoint, encoding)
    try:
        return to_dataset(tables, files, str(path))
    finally:
        _unpersist(tables)


def prepare(path: str | Path, *, master: str | None = None, conf=None,
            checkpoint: str | None = None, encoding: str | None = None
            ) -> tuple[Dataset, dict]:
    """The canonical Dataset on the driver (its :data:`ON_SPARK` tables collected only
    when read) and the validated tables on Spark, persisted (the hand-over point):
    :func:`graphlink.spark.extract.extract` reads them, then unpersists them."""
    tables, files = _read(path, master, conf, checkpoint, encoding)
    try:
        return to_dataset(tables, files, str(path), on_spark=ON_SPARK), tables
    except BaseException:
        _unpersist(tables)
        raise
