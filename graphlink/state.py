"""The analysed state of a dataset, kept between runs: Parquet tables, never pickle.

A state folder holds what the next run needs to avoid redoing the world:

- ``current/shops.parquet``: every shop (sorted by id) with its dates, status,
  stable operator id, community and entity (see :func:`graphlink.link.entity_labels`);
- ``current/uses.parquet``, ``values.parquet``: the identifier model;
- ``current/evidence.parquet``, ``pairs.parquet``: shop-pair evidence and scores
  (pairs also as row numbers ``a``/``b`` into shops, so the pair graph is
  rebuilt without hashing a million strings);
- ``current/similar.parquet``: similarity links between identifier values;
- ``current/keys.parquet``, ``hubs.parquet``: every blocking pass's keys and hub
  keys (:func:`graphlink.link.link_new` places new values among them);
- ``runs/R0001.parquet``...: what changed in each run (:mod:`graphlink.runs`);
- ``manifest.json``: schema, runs, and the fingerprint of the dataset the
  current tables came from (files, sizes, modification times, load options).

Parquet and JSON only: a state folder may come from elsewhere, and reading it
must never run code (pickle would). The current tables are replaced as a
whole: a run writes ``current.new/`` and swaps it in, then the manifest.

>>> fingerprint_matches({"files": {"shops": [1, 2]}}, {"files": {"shops": [1, 2]}})
True
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.errors import GraphlinkError

__all__ = ["SCHEMA", "State", "StateError", "fingerprint", "fingerprint_matches", "next_run",
           "save"]

SCHEMA = "graphlink.state/1"
_USES = ["shop_id", "kind", "value", "first_seen", "last_seen"]
_VALUES = ["kind", "value", "shops", "entities", "display", "lat", "lon"]


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

    @classmethod
    def open(cls, folder: str | Path) -> State | None:
        """The state in ``folder``, or None when there is none yet."""
        folder = Path(folder)
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
    def run(self) -> str:
        """Id of the latest run (the one the current tables come from)."""
        return self.manifest["runs"][-1]["run"]

    def model(self):
        """The match model of the current run (None for a state saved before models)."""
        from graphlink.model import load_model

        path = self.folder / "current" / "model.json"
        return load_model(path) if path.exists() else None

    def fresh_for(self, now: dict) -> bool:
        """Whether the current tables were computed from exactly this data."""
        return fingerprint_matches(self.manifest.get("fingerprint", {}), now)

    def table(self, name: str, columns: list[str] | None = None,
              where: tuple[str, object] | None = None) -> pd.DataFrame:
        """One current table; ``where=(column, values)`` keeps rows whose column is
        in ``values`` (filtered while reading)."""
        path = self.folder / "current" / f"{name}.parquet"
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
    return f"R{(len(previous.manifest['runs']) if previous else 0) + 1:04d}"


def _write(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False),
                   path, compression="zstd")


def _shops_table(analysis) -> pd.DataFrame:
    from graphlink.link import entity_labels
    from graphlink.model import shop_kinds

    base = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]]
    shops = base.merge(analysis.shops[["shop_id", "operator_id", "community_id"]], on="shop_id")
    shops = shops.sort_values("shop_id", ignore_index=True)
    entity = shops["shop_id"].map(entity_labels(analysis.identifiers)).astype(object)
    shops["entity"] = entity.where(entity.notna(), shops["shop_id"])
    # the identifier kinds each shop carries: what tells "other" from "missing"
    shops["kinds"] = shops["shop_id"].map(shop_kinds(analysis.identifiers.uses)).fillna("")
    return shops.astype({"shop_id": object, "operator_id": object, "community_id": object})


def _pairs_table(pairs: pd.DataFrame, shop_ids: pd.Series) -> pd.DataFrame:
    position = pd.Index(shop_ids)  # a hash lookup: fast on millions of pairs
    # the comparison vector too: waterfalls read from the state equal a fresh run's
    vector = [c for c in pairs.columns if c.startswith(("level_", "users_")) or c == "context"]
    out = pairs[["shop_a", "shop_b", "p", "kinds", *vector]].copy()
    out["a"] = position.get_indexer(out["shop_a"]).astype("int64")
    out["b"] = position.get_indexer(out["shop_b"]).astype("int64")
    return out


def save(analysis, folder: str | Path, now: dict, changes: pd.DataFrame,
         previous: State | None = None, key_check: str | None = None) -> State:
    """Write ``analysis`` (operator ids already stabilised) as the state's new run.

    ``now`` is the dataset's :func:`fingerprint`; ``changes`` the run's change
    log (:func:`graphlink.runs.changes`); ``key_check`` the keyed token of a
    constant when the analysis was pseudonymised (None otherwise).
    """
    folder = Path(folder)
    run = next_run(previous)
    staging, current = folder / "current.new", folder / "current"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (folder / "runs").mkdir(exist_ok=True)
    shops = _shops_table(analysis)
    ids, links = analysis.identifiers, analysis.links
    values = ids.values.reindex(columns=_VALUES)
    _write(shops, staging / "shops.parquet")
    _write(ids.uses[_USES], staging / "uses.parquet")
    _write(values, staging / "values.parquet")
    _write(analysis.evidence, staging / "evidence.parquet")
    _write(_pairs_table(analysis.resolution.pairs, shops["shop_id"]), staging / "pairs.parquet")
    _write(links.similar, staging / "similar.parquet")
    _write(links.keys, staging / "keys.parquet")
    _write(links.hub_blocks.reindex(columns=["kind", "pass", "key", "values", "shops"]),
           staging / "hubs.parquet")
    if getattr(analysis, "model", None) is not None:
        analysis.model.save(staging / "model.json")
    _write(changes, folder / "runs" / f"{run}.parquet")
    if current.exists():
        shutil.rmtree(folder / "current.old", ignore_errors=True)
        current.rename(folder / "current.old")
    staging.rename(current)
    shutil.rmtree(folder / "current.old", ignore_errors=True)
    runs = list(previous.manifest["runs"]) if previous else []
    runs.append({"run": run, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "dataset": str(analysis.dataset.source), "shops": len(shops),
                 "operators": int(shops["operator_id"].nunique()), "changes": len(changes)})
    manifest = {"schema": SCHEMA, "fingerprint": now, "runs": runs,
                "pseudonymised": key_check is not None, "key_check": key_check}
    tmp = folder / "manifest.json.new"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / "manifest.json")
    return State(folder, manifest)
