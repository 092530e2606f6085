"""The Spark engine's :class:`~graphlink.Analysis`: its large tables written by Spark.

The identifier uses and values, the pair evidence, the scored pairs and the
similarity links never come to the driver whole: Spark writes them, in the embedded
engine's order, as Parquet folders (one file per partition) in a folder of the run's
own, and the analysis reads them as an analysis read from a state does
(:func:`graphlink.state.saved.read_analysis`): a report reads the rows it filters for
(a sign-up's matches, a page's evidence), a notebook that asks for
``analysis.evidence`` reads the whole table then. The folder is removed once the
analysis is let go (or when the process exits), unless the caller names one
(``tables=``).

>>> ORDER["pairs"]
('shop_a', 'shop_b')
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.linkage.resolve import Resolution
from graphlink.spark.evidence import EVIDENCE_ORDER

__all__ = ["ORDER", "PairsOnDisk", "spark_analysis", "ScratchTables", "write_table"]

#: the order each table is written in: the embedded engine's
ORDER = {"evidence": EVIDENCE_ORDER, "pairs": ("shop_a", "shop_b")}


class ScratchTables:
    """A temporary folder for one analysis's tables, removed once nothing holds this
    object (the analysis and its pairs hold it) or when the process exits: a notebook
    that analyses again and again does not fill the disk.

    >>> scratch = ScratchTables()
    >>> folder = scratch.path
    >>> folder.is_dir(), folder.name.startswith("graphlink-spark-tables-")
    (True, True)
    >>> del scratch
    >>> folder.exists()
    False
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="graphlink-spark-tables-"))
        weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


def write_table(frame, path: Path) -> Path:
    """``frame`` (a Spark DataFrame, already in its order; or pandas) as Parquet at
    ``path``: a folder of part files in partition order for Spark, one file for pandas.

    >>> import tempfile
    >>> out = write_table(pd.DataFrame({"a": [1]}), Path(tempfile.mkdtemp()) / "t.parquet")
    >>> pq.read_table(out).to_pandas()["a"].tolist()
    [1]
    """
    if isinstance(frame, pd.DataFrame):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                       compression="zstd")
    else:
        frame.write.option("compression", "zstd").parquet(str(path))
    return path


def spark_analysis(dataset, ids, links, evidence, resolution, shops, model,
                   tables: str | Path | None = None):
    """The :class:`~graphlink.Analysis` of the Spark engine: ``evidence`` (the weighed
    evidence frame of :func:`graphlink.spark.evidence.weighed`), ``resolution.pairs``
    (:func:`graphlink.spark.resolve.resolve_frame`), ``links.similar``
    (:func:`graphlink.spark.blocking.find_links`) and the identifiers (Spark's:
    :func:`graphlink.spark.extract.written`) written to ``tables`` (default: a
    temporary folder) and read from there when a report asks; the rest held, with
    each shop's entity and kinds (what a saved state keeps per shop)."""
    from graphlink.state.saved import _read, _saved_type
    from graphlink.state.store import StateError

    scratch = ScratchTables() if tables is None else None
    folder = Path(tables) if tables is not None else scratch.path
    # "pairs" is no part: the resolution is held, its pairs read when asked
    files = {"evidence": ("evidence", write_table(evidence, folder / "evidence.parquet")),
             "pairs": ("pairs", write_table(_in_order(resolution.pairs, "pairs"),
                                            folder / "pairs.parquet")),
             "similar": ("similar", write_table(_links(links), folder / "similar.parquet")),
             "near banned": ("pairs", _near_banned(resolution.pairs, dataset, folder))}
    if hasattr(resolution.pairs, "unpersist"):
        resolution.pairs.unpersist()
    parts = {"links": lambda: links, "shops": lambda: shops,
             "evidence": lambda: _read(files["evidence"][1], StateError),
             "resolution": lambda: PairsOnDisk(resolution.operators, files["pairs"][1],
                                               resolution.merge, scratch),
             "factory_leads": lambda: _factory_leads(analysis, files),
             **_identifier_parts(ids, folder, files)}
    analysis = _saved_type()(dataset, parts, model, files)
    analysis.__dict__["_scratch"] = scratch  # the folder lives as long as the analysis
    for held in ("links", "shops", "resolution", *(["identifiers"] if files["uses"][1] is None
                                                    else [])):
        getattr(analysis, held)
    return analysis


def _near_banned(pairs, dataset, folder: Path) -> Path:
    """The pairs of the banned shops' neighbourhood (:mod:`graphlink.spark.scoring`),
    written: what the sign-up and spot-check searches read (``_linked_pairs``)."""
    from graphlink.scoring.score import WEAK
    from graphlink.spark.scoring import neighbourhood

    if isinstance(pairs, pd.DataFrame):  # pairs on the driver: the searches' own floor
        return write_table(pairs.loc[pairs["p"] >= WEAK, ["shop_a", "shop_b", "p"]],
                           folder / "near_banned.parquet")
    near, _ = neighbourhood(pairs, dataset.banned_shop_ids())
    path = write_table(_in_order(near, "pairs"), folder / "near_banned.parquet")
    near.unpersist()
    return path


def _factory_leads(analysis, files: dict):
    """The factory leads: their sites found on Spark from the points Spark wrote
    (:mod:`graphlink.spark.factories`), else as the embedded engine finds them."""
    from graphlink.scoring.analysis import Analysis
    from graphlink.spark import factories

    points = files.get("points", (None, None))[1]
    if points is None:
        return Analysis.factory_leads.func(analysis)
    written = analysis.dataset.addresses[["shop_id", "address", "lat", "lon"]]
    return factories.factory_leads(points, analysis.shops, analysis.shop_record, written)


def _identifier_parts(ids, folder: Path, files: dict) -> dict:
    """The analysis's ``identifiers`` part, and ``shop_labels`` where Spark holds them:
    written by Spark (their files added to ``files``) and read when asked; identifiers
    already on the driver (pseudonymised there) are held as they are."""
    from graphlink.spark import extract

    if not isinstance(ids, extract.SparkIdentifiers) or ids.empty:
        ids = extract.collected(ids)  # (no use: the embedded engine's empty tables)
        files.update({"uses": ("identifiers", None), "values": ("identifiers", None)})
        return {"identifiers": lambda: ids}
    uses, values, points = extract.written(ids, folder)
    labels = extract.shop_labels(ids)
    extract.release()  # the Spark frames: nothing reads them after this
    files.update({"uses": ("identifiers", uses), "values": ("identifiers", values),
                  "points": ("identifiers", points)})
    return {"identifiers": lambda: extract.read(uses, values), "shop_labels": lambda: labels}


class PairsOnDisk(Resolution):
    """A :class:`~graphlink.linkage.resolve.Resolution` whose pairs are read from their
    Parquet file when first asked for (the operators are held; ``folder``: what keeps
    that file, a :class:`ScratchTables`)."""

    def __init__(self, operators: pd.DataFrame, path: Path, merge: float, folder=None):
        self.operators, self.merge, self.path = operators, merge, Path(path)
        self._folder = folder

    @cached_property
    def pairs(self) -> pd.DataFrame:  # type: ignore[override]
        from graphlink.state.saved import _read
        from graphlink.state.store import StateError

        return _read(self.path, StateError)


def _links(links):
    """The similarity links as Spark holds them, in their order (or as held here)."""
    frame = links.similar_frame() if hasattr(links, "similar_frame") else None
    return links.similar if frame is None else frame.orderBy("idx").drop("idx")


def _in_order(frame, table: str):
    """A Spark frame sorted as the embedded engine's table (pandas: as it is)."""
    return frame if isinstance(frame, pd.DataFrame) else frame.orderBy(*ORDER[table])
