"""The analysed state of a dataset, kept between runs: Parquet tables, never pickle.

A state folder holds what the next run needs to avoid redoing the world, in
the tables of its latest run, ``tables/R0004/`` (say; ``manifest.json`` names
the folder; states saved before runs had folders of their own use ``current/``):

- ``shops.parquet``: every shop (sorted by id) with its dates, status,
  stable operator id, community and entity (see :func:`graphlink.linkage.link.entity_labels`);
- ``uses.parquet``, ``values.parquet``: the identifier model;
- ``evidence.parquet``, ``pairs.parquet``: shop-pair evidence and scores
  (pairs also as row numbers ``a``/``b`` into shops, so the pair graph is
  rebuilt without hashing a million strings);
- ``similar.parquet``: similarity links between identifier values;
- ``keys.parquet``, ``hubs.parquet``: every blocking pass's keys and hub
  keys (:func:`graphlink.linkage.link.link_new` places new values among them);
- ``runs/R0001.parquet``...: what changed in each run (:mod:`graphlink.state.runs`);
- ``manifest.json``: schema, runs, the folder of the current tables, and the
  fingerprint of the dataset they came from (files, sizes, modification
  times, load options);
- ``writer.lock``: the writer lock (:mod:`graphlink.state.lock`).

Parquet and JSON only: a state folder may come from elsewhere, and reading it
must never run code (pickle would).

One writer at a time (:func:`save` requires the writer lock), and a run
becomes visible all at once: it writes its tables into a folder of its own and
its change log, then replaces ``manifest.json`` in one atomic rename. Until
that rename, readers see the previous run whole; a run killed at any point
leaves the previous run in place (and debris the next run clears). A reader
keeps a shared ``flock`` on the ``shops.parquet`` of the run it opened, and a
writer deletes an old run's tables only when no reader holds it, so a slow
reader never sees its tables vanish.

>>> fingerprint_matches({"files": {"shops": [1, 2]}}, {"files": {"shops": [1, 2]}})
True
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.core.codes import run_id
from graphlink.core.errors import GraphlinkError
from graphlink.state.lock import holds

__all__ = ["SCHEMA", "State", "StateError", "fingerprint", "fingerprint_matches", "next_run",
           "save", "copy_parquet"]

SCHEMA = "graphlink.state/1"
_USES = ["shop_id", "kind", "value", "first_seen", "last_seen"]
_VALUES = ["kind", "value", "shops", "entities", "display", "lat", "lon"]
_LEGACY = "current"  # the tables folder of states saved before runs had their own


class StateError(GraphlinkError):
    """A state folder that cannot be used (wrong schema, damaged, incomplete)."""


def fingerprint(source: str | Path, options: dict) -> dict:
    """What identifies a dataset's content for freshness, without reading it: the
    files of the folder (or the file) with sizes and modification times, and the
    load options that shape what is read."""
    source = Path(source).resolve()
    paths = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
    files = {}
    for path in paths:
        st = path.stat()
        files[path.name] = [st.st_size, st.st_mtime_ns]
    return {"source": str(source), "files": files,
            "options": {k: str(v) for k, v in sorted(options.items()) if v not in (None, False)}}


def fingerprint_matches(saved: dict, now: dict) -> bool:
    """Whether a saved fingerprint describes the same files read the same way."""
    return saved.get("files") == now.get("files") and saved.get("options") == now.get("options")


@dataclass
class State:
    """An opened state folder; tables are read on demand, whole or filtered."""

    folder: Path
    manifest: dict
    _pin: _Pin | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, folder: str | Path) -> State | None:
        """The state in ``folder``, or None when there is none yet.

        The run it opens stays readable while the object lives (or until
        :func:`save` makes the next run from it), whatever writers do meanwhile.
        """
        for _ in range(5):  # a writer may delete the run between manifest and pin: retry
            state = cls._read(Path(folder))
            if state is None:
                return None
            state._pin = _Pin.take(state.tables)
            if state._pin is not None:
                return state
            again = cls._read(Path(folder))
            if again is None or again.manifest.get("tables") == state.manifest.get("tables"):
                return state  # its tables are missing: State.table says which, when read
        raise StateError(f"{folder}: the state keeps changing under this reader; run again")

    @classmethod
    def _read(cls, folder: Path) -> State | None:
        path = folder / "manifest.json"
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(f"{path}: not a graphlink state manifest ({exc})") from exc
        if not isinstance(manifest, dict):
            raise StateError(f"{path}: not a graphlink state manifest (not a JSON object)")
        if manifest.get("schema") != SCHEMA:
            raise StateError(f"{path}: schema {manifest.get('schema')!r}, expected {SCHEMA!r}")
        if not isinstance(manifest.get("runs"), list) or not manifest["runs"]:
            raise StateError(f"{path}: damaged graphlink state manifest (no runs)")
        return cls(folder, manifest)

    @property
    def tables(self) -> Path:
        """The folder of the current run's tables."""
        return self.folder / self.manifest.get("tables", _LEGACY)

    @property
    def run(self) -> str:
        """Id of the latest run (the one the current tables come from)."""
        return self.manifest["runs"][-1]["run"]

    def model(self):
        """The match model of the current run (None for a state saved before models)."""
        from graphlink.linkage.model import load_model

        path = self.tables / "model.json"
        return load_model(path) if path.exists() else None

    def fresh_for(self, now: dict) -> bool:
        """Whether the current tables were computed from exactly this data."""
        return fingerprint_matches(self.manifest.get("fingerprint", {}), now)

    def table(self, name: str, columns: list[str] | None = None,
              where: tuple[str, object] | None = None) -> pd.DataFrame:
        """One current table; ``where=(column, values)`` keeps rows whose column is
        in ``values`` (filtered while reading)."""
        path = self.tables / f"{name}.parquet"
        filters = None
        if where is not None:
            column, values = where
            values = sorted({v for v in values if isinstance(v, str)})
            if not values:
                return pq.read_schema(path).empty_table().to_pandas()[columns or slice(None)]
            filters = [(column, "in", values)]
        try:
            return pq.read_table(path, columns=columns, filters=filters).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise StateError(f"{path}: cannot read ({exc})") from exc

    def changes(self, run: str) -> pd.DataFrame:
        """The change log written by ``run``."""
        return pq.read_table(self.folder / "runs" / f"{run}.parquet").to_pandas()


def next_run(previous: State | None) -> str:
    """The id the next run of a state gets (``R0001`` for the first)."""
    return run_id((len(previous.manifest["runs"]) if previous else 0) + 1)


def _write(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False),
                   path, compression="zstd")


def _write_large(analysis, table: str, path: Path, convert=None) -> None:
    """One of the analysis's large tables (those of :meth:`graphlink.Analysis.rows`;
    ``convert``: what to make of its rows) at ``path``: copied from the file the
    analysis reads it from where it has one (the Spark engine's: never whole on the
    driver), else written from memory."""
    source = analysis.table_file(table)
    if source is not None:
        copy_parquet(source, path, convert)
        return
    # held: the table itself
    frame = analysis.links.similar if table == "similar" else analysis.rows(table)
    _write(frame if convert is None else convert(frame), path)


def copy_parquet(source: Path, path: Path, convert=None) -> None:
    """The Parquet file or folder of part files ``source`` (in its order) as one file at
    ``path``, one row group in memory at a time; ``convert`` (DataFrame -> DataFrame)
    applied to each.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _write(pd.DataFrame({"a": [1, 2]}), folder / "t.parquet")
    >>> copy_parquet(folder / "t.parquet", folder / "u.parquet", lambda f: f.assign(b=f["a"]))
    >>> pq.read_table(folder / "u.parquet").to_pandas().values.tolist()
    [[1, 1], [2, 2]]
    """
    source = Path(source)
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    writer = None
    try:
        for file in files:
            part = pq.ParquetFile(file)
            groups = [part.read_row_group(i) for i in range(part.num_row_groups)] or \
                [part.schema_arrow.empty_table()]
            for table in groups:
                if convert is not None:
                    table = pa.Table.from_pandas(convert(table.to_pandas()).reset_index(
                        drop=True), preserve_index=False)
                writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                del table
    finally:
        if writer is not None:
            writer.close()


def _write_keys(links, path: Path) -> None:
    """``links.keys`` written as :func:`_write` writes a DataFrame; keys held as an
    Arrow table (:class:`graphlink.linkage.link.CompactLinks`) are written as they are,
    with the pandas metadata their DataFrame would carry (never converted whole)."""
    table = links.keys_table() if hasattr(links, "keys_table") else None
    if table is None:
        _write(links.keys, path)
        return
    head = pa.Table.from_pandas(table.slice(0, 1).to_pandas(), schema=table.schema,
                                preserve_index=False)
    pq.write_table(table.replace_schema_metadata(head.schema.metadata), path,
                   compression="zstd")


def _shops_table(analysis) -> pd.DataFrame:
    base = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]]
    shops = base.merge(analysis.shops[["shop_id", "operator_id", "community_id"]], on="shop_id")
    shops = shops.sort_values("shop_id", ignore_index=True)
    labels, kinds = analysis.shop_labels()
    entity = shops["shop_id"].map(labels).astype(object)
    shops["entity"] = entity.where(entity.notna(), shops["shop_id"])
    # the identifier kinds each shop carries: what tells "other" from "missing"
    shops["kinds"] = shops["shop_id"].map(kinds).fillna("")
    return shops.astype({"shop_id": object, "operator_id": object, "community_id": object})


def _pairs_table(pairs: pd.DataFrame, position: pd.Index) -> pd.DataFrame:
    """The pairs as the state keeps them: the columns incremental scoring reads and
    each shop's row in the shops table (``position``: its shop ids, a hash look-up)."""
    # the comparison vector too: waterfalls read from the state equal a fresh run's
    vector = [c for c in pairs.columns
              if c.startswith(("level_", "users_")) or c in ("context", "tries", "via")]
    out = pairs[["shop_a", "shop_b", "p", "kinds", *vector]].copy()
    out["a"] = position.get_indexer(out["shop_a"]).astype("int64")
    out["b"] = position.get_indexer(out["shop_b"]).astype("int64")
    return out


class _Pin:
    """A shared ``flock`` on a run's ``shops.parquet``: writers leave that run's tables be."""

    def __init__(self, fd: int):
        self.fd = fd

    @classmethod
    def take(cls, tables: Path) -> _Pin | None:
        """Pin the run whose tables are ``tables`` (None when they are gone)."""
        try:
            fd = os.open(tables / "shops.parquet", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_SH)  # a writer deleting this run holds LOCK_EX briefly
        try:
            still = os.stat(tables / "shops.parquet").st_ino == os.fstat(fd).st_ino
        except OSError:
            still = False
        if not still:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        """Unpin: from now on a writer may delete the run."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    __del__ = release


def save(analysis, folder: str | Path, now: dict, changes: pd.DataFrame,
         previous: State | None = None, key_check: str | None = None) -> State:
    """Write ``analysis`` (operator ids already stabilised) as the state's new run.

    ``now`` is the dataset's :func:`fingerprint`; ``changes`` the run's change
    log (:func:`graphlink.state.runs.changes`); ``key_check`` the keyed token of a
    constant when the analysis was pseudonymised (None otherwise). The caller
    holds the writer lock (:func:`graphlink.state.lock.writer_lock`) since it opened
    ``previous``, so the run id allocated here is the state's next.
    """
    folder = Path(folder)
    if not holds(folder):
        raise StateError(f"{folder}: saving a run needs the state's writer lock")
    latest = State._read(folder)
    if (latest.run if latest else None) != (previous.run if previous else None):
        raise StateError(f"{folder}: the state moved on to run {latest.run} since this run "
                         "read it; run again")
    run = next_run(previous)
    tables = Path("tables") / run
    shops = _write_tables(analysis, folder / tables)
    (folder / "runs").mkdir(exist_ok=True)
    _write(changes, folder / "runs" / f"{run}.parquet")
    runs = list(previous.manifest["runs"]) if previous else []
    runs.append({"run": run, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "dataset": str(analysis.dataset.source), "shops": shops,
                 "operators": int(analysis.shops["operator_id"].nunique()),
                 "changes": len(changes)})
    manifest = {"schema": SCHEMA, "fingerprint": now, "runs": runs, "tables": tables.as_posix(),
                "pseudonymised": key_check is not None, "key_check": key_check}
    tmp = folder / "manifest.json.new"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps(manifest, indent=1, ensure_ascii=False))
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(folder / "manifest.json")  # the run is visible from here on, whole
    if previous is not None and previous._pin is not None:
        previous._pin.release()  # the caller is done with it: its tables may go
    _prune(folder, keep=tables.as_posix())
    return State.open(folder)


def _write_tables(analysis, staging: Path) -> int:
    """Every current table of ``analysis`` into ``staging`` (emptied first: a run
    killed before its manifest was written may have left part of it); the number
    of shops."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shops = _shops_table(analysis)
    links = analysis.links
    _write(shops, staging / "shops.parquet")
    _write_large(analysis, "uses", staging / "uses.parquet", lambda uses: uses[_USES])
    _write_large(analysis, "values", staging / "values.parquet",
                 lambda values: values.reindex(columns=_VALUES))
    _write_large(analysis, "evidence", staging / "evidence.parquet")
    position = pd.Index(shops["shop_id"])  # a hash lookup: fast on millions of pairs
    _write_large(analysis, "pairs", staging / "pairs.parquet",
                 lambda pairs: _pairs_table(pairs, position))
    _write_large(analysis, "similar", staging / "similar.parquet")
    _write_keys(links, staging / "keys.parquet")
    _write(links.hub_blocks.reindex(columns=["kind", "pass", "key", "values", "shops"]),
           staging / "hubs.parquet")
    if getattr(analysis, "model", None) is not None:
        analysis.model.save(staging / "model.json")
    from graphlink.state.saved import write_analysis

    write_analysis(analysis, staging)  # the whole analysis: every report reads it back
    return len(shops)


def _prune(folder: Path, keep: str) -> None:
    """Delete the tables of runs other than ``keep`` that no reader holds, and the
    debris of older versions (``current.new``, ``current.old``)."""
    for name in ("current.new", "current.old"):
        shutil.rmtree(folder / name, ignore_errors=True)
    old = [p for p in (folder / "tables").glob("*") if p.is_dir()] + [folder / _LEGACY]
    for tables in old:
        if tables.relative_to(folder).as_posix() != keep and tables.is_dir():
            _delete_unread(tables)


def _delete_unread(tables: Path) -> None:
    try:
        fd = os.open(tables / "shops.parquet", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no shops table: debris of a killed run, nobody reads it
        shutil.rmtree(tables, ignore_errors=True)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.rmtree(tables, ignore_errors=True)
    except BlockingIOError:
        pass  # a reader still holds it: the next run deletes it
    finally:
        os.close(fd)
