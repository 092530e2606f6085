"""The Spark engine's stages joined: what ``engine="spark"`` runs before the hand-over.

:func:`prepare` starts (or reuses) the session, reads and validates the
dataset and normalises its identifying values on Spark, then collects the
canonical dataset and the canonical forms to the driver, where
:func:`graphlink.workflow.analyse.analyse` continues with the embedded stages.
"""

from __future__ import annotations

from pathlib import Path

from graphlink.core.dataset import Dataset
from graphlink.spark.identifiers import canonical_forms
from graphlink.spark.load import check_tables, read_tables, to_dataset
from graphlink.spark.session import spark_session

__all__ = ["prepare", "load"]


def _read(path: str | Path, master, conf, checkpoint, encoding):
    spark = spark_session(master, conf, checkpoint)
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
            ) -> tuple[Dataset, dict[str, dict]]:
    """The canonical Dataset and ``{kind: {raw: canonical}}`` of its identifying values,
    both computed on Spark and collected to the driver (the hand-over point)."""
    tables, files = _read(path, master, conf, checkpoint, encoding)
    try:
        return to_dataset(tables, files, str(path)), canonical_forms(tables)
    finally:
        _unpersist(tables)
