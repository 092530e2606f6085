"""The saved analysis: every part of an :class:`graphlink.Analysis` in a state run, and back.

A run saved into a state folder (`graphlink analyse DATASET --state DIR`,
`report changes`) keeps, beside the tables incremental scoring reads
(:mod:`graphlink.state.store`), the whole analysis in ``tables/RNNNN/analysis/``:

- ``dataset.<table>.parquet``: the dataset's tables as loaded (``_line`` kept);
- ``uses.parquet``, ``values.parquet``: the identifier model, all columns
  (the account, source table and line of each use: the provenance of evidence);
- ``pairs.parquet``, ``operators.parquet``, ``shops.parquet``,
  ``hub_blocks.parquet``: the resolution and the clusters, all columns;
- ``factory_leads.parquet``, ``factory_context.parquet``: the factory leads
  and the crowded places kept as context (their evidence as JSON text);
- ``analysis.json``: :data:`SCHEMA`, the dataset's source, files, skipped rows
  and warnings, the linkage counts;
- ``linked.*.parquet`` (:func:`write_linked`): the rows of the large tables the
  sign-up and spot-check reports read, whatever their ``--since``;
- ``page.*.parquet``, ``page.spotchecks.json`` (:func:`write_page_index`): the rows
  the sign-up page's evidence graphs read for every shop that can be drawn, keyed by
  shop or value in small row groups, the factory maps' points and the spot checks.
  Both indexes are optional: a run saved without them reads the whole tables (the
  same rows), and either function adds them to such a run.

The run's ``evidence``, ``similar`` and ``keys`` tables and ``model.json`` are
shared with the incremental tables. :func:`read_analysis` rebuilds the
:class:`~graphlink.Analysis` from them, so a report read from a fresh state runs
the same code on the same data as a fresh analysis, and writes the same bytes.

Parquet and JSON only (reading never runs code); object columns holding lists
or dicts are stored as JSON text, named in the table's metadata.

>>> frame = pd.DataFrame({"a": [[1, 2], None], "b": ["x", None]})
>>> back = _decoded(_table(frame))
>>> back["a"].tolist(), back["b"].tolist()
([[1, 2], None], ['x', None])
"""

from __future__ import annotations

import functools
import json
import operator
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.core.errors import Problem
from graphlink.core.frames import dnf
from graphlink.linkage.model import model_version

__all__ = ["SCHEMA", "FOLDER", "write_analysis", "read_analysis", "has_analysis",
           "model_version", "write_page_index"]

SCHEMA = "graphlink.saved-analysis/1"
FOLDER = "analysis"
_JSON_COLUMNS = b"graphlink.json_columns"
_FRAMES = ("uses", "values", "pairs", "operators", "shops", "hub_blocks", "factory_leads",
           "factory_context")


def write_analysis(analysis, tables: Path) -> None:
    """Save every part of ``analysis`` that is not already among the run's ``tables``
    into ``tables/analysis`` (the caller writes ``evidence``, ``similar``, ``keys``
    and ``model.json``)."""
    folder = Path(tables) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    dataset = analysis.dataset
    for name, frame in dataset.tables.items():
        _write(frame, folder / f"dataset.{name}.parquet")
    leads = analysis.factory_leads  # computed here once (seconds at 30,000 shops), not per read
    from graphlink.state.store import copy_parquet

    large = {}
    for name in ("uses", "values", "pairs"):
        on_disk = analysis.table_file(name)
        if on_disk is not None:  # the Spark engine's: copied, never whole in memory
            copy_parquet(on_disk, folder / f"{name}.parquet")
        large[name] = analysis.rows(name) if on_disk is None else None
    frames = {**large, "operators": analysis.resolution.operators,
              "shops": analysis.shops, "hub_blocks": analysis.links.hub_blocks,
              "factory_leads": leads.leads, "factory_context": leads.context}
    for name, frame in frames.items():
        if frame is not None:
            _write(frame, folder / f"{name}.parquet")
    write_linked(Path(tables))
    write_page_index(analysis, Path(tables))
    meta = {"schema": SCHEMA, "tables": sorted(dataset.tables), "source": str(dataset.source),
            "files": dataset.files, "skipped": dict(dataset.skipped),
            "warnings": list(dataset.warnings), "problems": [asdict(p) for p in dataset.problems],
            "comparisons": int(analysis.links.comparisons),
            "candidates": int(analysis.links.candidates),
            "merge": float(analysis.resolution.merge)}
    (folder / "analysis.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False),
                                          encoding="utf-8")


#: the files of the linked index (see write_linked), by the table they are a part of
LINKED = {"pairs": "linked.pairs", "evidence": "linked.evidence", "uses": "linked.uses",
          "values": "linked.values"}
_FLOOR = b"graphlink.linked-floor"  # the least p of linked.pairs, in its Parquet metadata


def write_linked(tables: Path) -> None:
    """The *linked index* of a saved run: the rows of its large tables that the sign-up
    and spot-check reports read, whatever their ``--since``, in ``tables/analysis/``:

    - ``linked.pairs``: the pairs scored at least ``WEAK`` (every edge of a path to
      a banned shop, weak ties included, every direct match's waterfall) or combined
      with an operator's other shops (``via``), all columns; its Parquet metadata
      keeps that floor (an index of another floor is not read);
    - ``linked.evidence``: the evidence between two shops of those pairs (their
      ``via`` shops included): a match's evidence reads only such pairs;
    - ``linked.uses``: the identifier uses of those shops; ``linked.values``: the
      values named by that evidence.

    Each is the table's rows in its own order, so rows filtered within it equal the
    whole table's (:meth:`SavedAnalysis.rows` with ``linked=True``). At 300,000 shops:
    129k of 6.5M pairs (48k before weak ties), 0.5M of 6.9M evidence rows. Written by
    every saved run; for a run saved before, run this once on its tables folder
    (reports read the whole tables until then)."""
    import pyarrow.compute as pc

    from graphlink.scoring.score import WEAK

    folder = Path(tables) / FOLDER

    def linked(rows: pa.Table) -> pa.Array:
        keep = pc.greater_equal(rows["p"], WEAK)
        if "via" in rows.column_names:
            keep = pc.or_(keep, pc.fill_null(pc.not_equal(rows["via"], ""), False))
        return pc.fill_null(keep, False)

    pairs = _filtered(folder / "pairs.parquet", linked)
    shops = set(pairs["shop_a"].to_pylist()) | set(pairs["shop_b"].to_pylist())
    if "via" in pairs.column_names:
        shops |= {s for via in pairs["via"].to_pylist() if via for s in via.split(",")}
    among = pa.array(sorted(shops), type=pa.string())
    evidence = _filtered(Path(tables) / "evidence.parquet", lambda rows: pc.and_(
        pc.is_in(rows["shop_a"], among), pc.is_in(rows["shop_b"], among)))
    uses = _filtered(folder / "uses.parquet", lambda rows: pc.is_in(rows["shop_id"], among))
    named = pa.array(sorted(set(evidence["value_a"].to_pylist())
                            | set(evidence["value_b"].to_pylist()) - {None}), type=pa.string())
    values = _filtered(folder / "values.parquet", lambda rows: pc.is_in(rows["value"], named))
    pairs = pairs.replace_schema_metadata({**(pairs.schema.metadata or {}),
                                           _FLOOR: repr(WEAK).encode()})
    for name, rows in (("pairs", pairs), ("evidence", evidence), ("uses", uses),
                       ("values", values)):
        pq.write_table(rows, folder / f"{LINKED[name]}.parquet", compression="zstd")


def _filtered(path: Path, keep) -> pa.Table:
    """The rows of the Parquet file at ``path`` that ``keep`` (Arrow table -> mask)
    keeps, read one row group at a time (a large table is never whole in memory).

    >>> import tempfile, pyarrow.compute as pc
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pq.write_table(pa.table({"a": [1, 2, 3]}), path, row_group_size=2)
    >>> _filtered(path, lambda rows: pc.greater(rows["a"], 1))["a"].to_pylist()
    [2, 3]
    """
    part = pq.ParquetFile(path)
    kept = [rows.filter(keep(rows)) for rows in
            (part.read_row_group(i) for i in range(part.num_row_groups))]
    return pa.concat_tables(kept) if kept else part.schema_arrow.empty_table()


#: the files of the page index (see write_page_index), by the part of the page they hold
PAGE = {"shops": "page.shops", "pairs": "page.pairs", "evidence": "page.evidence",
        "uses": "page.uses", "values": "page.values", "accounts": "page.accounts",
        "points": "page.points"}
_MAPPED = b"graphlink.mapped"  # the factory ids page.points covers, in its metadata
#: the spot checks of the run (write_page_index): both sections, the test buys for
#: budgets up to SPOTCHECK_KEPT (a larger budget ranks the shops again)
SPOTCHECKS, SPOTCHECK_KEPT = "page.spotchecks.json", 500
_KEY, _ROW = "_key", "_row"  # a page index row's look-up key and its row in the table
PAGE_GROUP = 2_048  # rows per row group of a page index: a look-up decodes a few only


# long: one selection per table, each keyed as the reader looks it up
def write_page_index(analysis, tables: Path) -> None:
    """The *page index* of a saved run: the rows the sign-up page's evidence graphs
    (:meth:`graphlink.Analysis.page_rows`) read for any shop that can be drawn, sorted
    by the shop or value they are looked up by, in ``tables/analysis/page.*.parquet``.

    A page draws the sign-ups flagged high; the index covers every shop flagged high
    when scored as a sign-up (``page.shops``: role ``drawn``) and the shops on their
    matches' paths (role ``path``). Each other file holds its table's rows that
    ``page_rows`` could read for them, the columns it reads, ``_key`` (the shop or
    value it is found by; a row under each of its keys) and ``_row`` (its row in the
    table: the reader puts rows back in the table's order), in row groups of
    :data:`PAGE_GROUP` rows, so that the few shops of one page decode a few row groups
    instead of the marketplace's millions of rows. A page whose shops it does not cover
    (an analyst's verdict made one high) reads the whole tables, with the same rows.
    At 300,000 shops: 9,491 shops drawn, 11,669 on paths; written in a few seconds.
    """
    from graphlink.scoring.analysis import EVIDENCE_DRAWN, seen_uses
    from graphlink.scoring.score import on_paths

    folder = Path(tables) / FOLDER
    high = _high_signups(analysis)
    drawn = {r["shop_id"] for r in high}
    path = on_paths(high) - drawn
    _write(pd.DataFrame({"shop_id": sorted(drawn) + sorted(path),
                         "role": ["drawn"] * len(drawn) + ["path"] * len(path)}),
           folder / f"{PAGE['shops']}.parquet")
    _write_keyed(_chunks(analysis, "pairs"), ["shop_a", "shop_b", "p", "kinds"],
                 lambda rows: [(rows["shop_a"].isin(drawn | path), rows["shop_a"]),
                               (rows["shop_b"].isin(drawn), rows["shop_b"])],
                 folder / "page.pairs")
    theirs = []  # the evidence of the drawn shops, part by part

    def evidence_keys(rows: pd.DataFrame) -> list[tuple]:
        by_a, by_b = rows["shop_a"].isin(drawn), rows["shop_b"].isin(drawn)
        theirs.append(rows[by_a | by_b])
        return [(by_a, rows["shop_a"]), (by_b, rows["shop_b"])]

    _write_keyed(_chunks(analysis, "evidence"), list(EVIDENCE_DRAWN), evidence_keys,
                 folder / "page.evidence")
    mine = pd.concat(theirs, ignore_index=True)
    named, shown = set(mine["shop_a"]) | set(mine["shop_b"]), set(mine["value_a"]) | set(
        mine["value_b"])

    def use_keys(uses: pd.DataFrame) -> list[tuple]:
        by_shop = uses["shop_id"].isin(drawn).to_numpy().copy()
        shown.update(uses["value"][by_shop])
        near = uses["shop_id"].isin(named).to_numpy()
        by_shop[near] |= seen_uses(uses[near], mine)  # the (shop, kind, value) named only
        return [(by_shop, uses["shop_id"])]

    _write_keyed(_chunks(analysis, "uses"), ["shop_id", "kind", "value", "account_id",
                                              "first_seen"], use_keys, folder / "page.uses")
    _write_keyed(_chunks(analysis, "values"), ["kind", "value", "display", "shops"],
                 lambda values: [(values["value"].isin(shown), values["value"])],
                 folder / "page.values")
    accounts = analysis.dataset.accounts
    _write_keyed([(accounts, 0)], ["shop_id", "account_id"],
                 lambda rows: [(rows["shop_id"].isin(drawn), rows["shop_id"])],
                 folder / "page.accounts")
    # the factory maps: the points of every placed lead's map (a map reads the points
    # within its own frame and of its own shops: the same from these)
    leads = analysis.factories()
    leads = leads[leads["lat"].notna()].set_index("factory_id")
    points = pa.Table.from_pandas(
        analysis.map_points([leads.loc[f] for f in leads.index]).reset_index(drop=True),
        preserve_index=False)
    points = points.replace_schema_metadata({**(points.schema.metadata or {}),
                                             _MAPPED: json.dumps(list(leads.index)).encode()})
    pq.write_table(points, folder / f"{PAGE['points']}.parquet", compression="zstd")
    # the spot checks (no option but the budget: the best SPOTCHECK_KEPT kept)
    spot = {"budget": SPOTCHECK_KEPT, **analysis.spotcheck_sections(SPOTCHECK_KEPT)}
    (folder / SPOTCHECKS).write_text(json.dumps(spot, ensure_ascii=False, default=_plain),
                                     encoding="utf-8")


def _high_signups(analysis) -> list[dict]:
    """The shops of ``analysis`` flagged high when scored as sign-ups (verdicts aside),
    as :func:`graphlink.scoring.score.score_signups` records. Only the shops within a
    high flag's path cost of a banned shop (any number of hops: a superset) and the
    banned shops themselves are scored."""
    import math

    from graphlink.core.paths import PairGraph
    from graphlink.scoring.score import FLAGS, WEAK, score_signups

    shops = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]].merge(
        analysis.shops, on="shop_id")
    graph = PairGraph.of(analysis._linked_pairs(), WEAK)
    banned = set(shops["shop_id"][shops["status"] == "banned"])
    # risk is rounded to 4 places: a score a little under the flag still makes it
    reach = graph.near(banned, -math.log(FLAGS["high"] - 1e-3))
    records = score_signups(shops, graph, pd.Timestamp.min, None, only=reach | banned)
    return [r for r in records if r["flag"] == "high"]


def _write_keyed(chunks, columns: list[str], keys, stem: Path) -> None:
    """The rows of a table (``chunks``: its parts and the row each begins at, see
    :func:`_chunks`) picked by each ``(mask, key column)`` that ``keys(part)`` gives, with
    ``columns``, ``_key`` and ``_row``, sorted by key then row, at ``stem``.parquet."""
    parts = []
    for frame, offset in chunks:
        for mask, key in keys(frame):
            rows = np.flatnonzero(np.asarray(mask, dtype=bool))
            part = frame[columns].iloc[rows].reset_index(drop=True)
            part[_KEY] = np.asarray(key)[rows]
            part[_ROW] = rows.astype(np.int64) + offset
            parts.append(part)
    rows = pd.concat(parts, ignore_index=True).sort_values([_KEY, _ROW], kind="stable")
    # flat columns only (no JSON text to name): straight to Arrow
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), f"{stem}.parquet",
                   compression="zstd", row_group_size=PAGE_GROUP)


def _chunks(analysis, table: str):
    """``(part, first row)`` of one of the analysis's large tables: the whole table in
    memory, or each row group of the file it reads the table from (the Spark engine's
    tables: never whole on the driver)."""
    source = analysis.table_file(table) if hasattr(analysis, "table_file") else None
    if source is None:
        yield analysis._table(table), 0
        return
    source = Path(source)
    offset = 0
    for file in sorted(source.glob("*.parquet")) if source.is_dir() else [source]:
        part = pq.ParquetFile(file)
        for group in range(part.num_row_groups):
            rows = _decoded(part.read_row_group(group))
            yield rows, offset
            offset += len(rows)


def _page_files(folder: Path) -> dict[str, Path] | None:
    """The run's page index files (write_page_index), or None when it has none."""
    files = {name: folder / f"{stem}.parquet" for name, stem in PAGE.items()}
    return files if all(f.exists() for f in files.values()) else None


def _keyed_read(path: Path, keys: set, error: type[Exception]) -> pd.DataFrame:
    """The rows of a page index filed under any of ``keys``, once each, in their
    table's order (without ``_key`` and ``_row``): only the row groups whose key range
    holds one of them are decoded."""
    import bisect

    try:
        found = pq.ParquetFile(path)
        at = found.schema_arrow.get_field_index(_KEY)
        wanted, groups = sorted(keys), []
        for i in range(found.metadata.num_row_groups):
            stats = found.metadata.row_group(i).column(at).statistics
            if stats is None or not stats.has_min_max:
                groups.append(i)
                continue
            j = bisect.bisect_left(wanted, stats.min)
            if j < len(wanted) and wanted[j] <= stats.max:
                groups.append(i)
        table = _filed_under(found.read_row_groups(groups), keys)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise error(f"{path}: cannot read ({exc})") from exc
    frame = _decoded(table)
    frame = frame[frame[_KEY].isin(keys)].drop_duplicates(_ROW).sort_values(_ROW)
    return frame.drop(columns=[_KEY, _ROW]).reset_index(drop=True)


def _filed_under(table: pa.Table, keys: set) -> pa.Table:
    """The rows of ``table`` whose ``_key`` is one of ``keys``, filtered in Arrow before
    pandas decodes them (a page's values span dozens of row groups: 88,000 rows read
    for 89 at 300,000 shops). Unfiltered when an integer or boolean column holds a null:
    pandas would give those columns another dtype for the rows kept than for all.

    >>> t = pa.table({"_key": ["S1", "S2", "S1"], "_row": [0, 1, 2]})
    >>> _filed_under(t, {"S1"}).column("_row").to_pylist()
    [0, 2]
    """
    import pyarrow.compute as pc

    if any((pa.types.is_integer(f.type) or pa.types.is_boolean(f.type))
           and table.column(f.name).null_count for f in table.schema):
        return table
    key = table.column(_KEY)
    return table.filter(pc.is_in(key, value_set=pa.array(list(keys), type=key.type)))


def _linked_current(folder: Path) -> bool:
    """Whether the run has a linked index made with today's floor (an index written
    before weak ties ranked sign-ups holds fewer pairs: the whole tables are read)."""
    from graphlink.scoring.score import WEAK

    try:
        metadata = pq.read_schema(folder / f"{LINKED['pairs']}.parquet").metadata or {}
    except (OSError, pa.ArrowException):  # none or damaged: the whole tables say it all
        return False
    return metadata.get(_FLOOR) == repr(WEAK).encode()


def has_analysis(state) -> bool:
    """Whether the state's current run carries the whole analysis (runs saved before
    it did carry only the incremental tables)."""
    return (state.tables / FOLDER / "analysis.json").exists()


def read_analysis(state, source: str | Path | None = None):
    """The :class:`~graphlink.Analysis` saved in the state's current run.

    Each part (identifiers, links, evidence, resolution, clusters, factory leads,
    each dataset table) is read from its Parquet file when first used, so a report
    reads only what it needs: ``clusters`` the clusters, ``factories`` the leads
    and a few dataset tables. ``source``: the dataset path as the caller spells it
    (what reports print as ``dataset``); default, the one it was analysed from.
    """
    from graphlink.core.dataset import Dataset
    from graphlink.detection.factories import FactoryLeads
    from graphlink.linkage.identifiers import Identifiers
    from graphlink.linkage.link import Links
    from graphlink.linkage.resolve import Resolution
    from graphlink.state.store import StateError

    folder = state.tables / FOLDER
    meta = _meta(folder, StateError)

    def frame(name: str) -> pd.DataFrame:
        return _read(folder / f"{name}.parquet", StateError)

    tables = _LazyTables(meta["tables"], lambda name: frame(f"dataset.{name}"))
    dataset = Dataset(tables, str(source) if source is not None else meta["source"],
                      meta["files"], [Problem(**p) for p in meta["problems"]],
                      Counter(meta["skipped"]), meta["warnings"])
    # the large tables a report may read a sliver of (SavedAnalysis.rows): their files
    files = {"pairs": ("resolution", folder / "pairs.parquet"),
             "evidence": ("evidence", state.tables / "evidence.parquet"),
             "uses": ("identifiers", folder / "uses.parquet"),
             "values": ("identifiers", folder / "values.parquet")}
    # and their linked index (write_linked), where the run has one
    if _linked_current(folder):
        files.update({f"linked {t}": (files[t][0], folder / f"{name}.parquet")
                      for t, name in LINKED.items()})
    page = _page_files(folder)
    if page is not None:
        files["page"] = page
    files["spotchecks"] = folder / SPOTCHECKS
    parts = {
        "identifiers": lambda: Identifiers(frame("uses"), frame("values")),
        "links": lambda: Links(state.table("similar"), meta["comparisons"], meta["candidates"],
                               frame("hub_blocks"), state.table("keys")),
        "evidence": lambda: state.table("evidence"),
        "resolution": lambda: Resolution(frame("operators"), frame("pairs"), meta["merge"]),
        "shops": lambda: frame("shops"),
        "factory_leads": lambda: FactoryLeads(frame("factory_leads"), frame("factory_context")),
    }
    return _saved_type()(dataset, parts, state.model(), files)


class _LazyTables(dict):
    """A dataset's tables, each read on first use (``name in tables`` without reading)."""

    def __init__(self, names: list[str], read):
        super().__init__()
        self._names, self._read = list(names), read

    def __missing__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        self[name] = value = self._read(name)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self):
        return list(self._names)

    def values(self):
        return [self[n] for n in self._names]

    def items(self):
        return [(n, self[n]) for n in self._names]

    def get(self, name: str, default=None):
        return self[name] if name in self._names else default


def _table_file(analysis, table: str) -> Path | None:
    """``SavedAnalysis.table_file`` (:meth:`graphlink.Analysis.table_file`): the run's
    file of ``table`` (``similar`` sits beside ``evidence``) while the analysis has not
    read that table's part whole.

    >>> from types import SimpleNamespace as Saved
    >>> _table_file(Saved(_files={"evidence": ("links", "run/evidence.parquet")}), "similar")
    PosixPath('run/similar.parquet')
    """
    parts = analysis.__dict__
    files = parts["_files"]
    part, path = files.get(table) or ("links", Path(files["evidence"][1]).parent
                                      / f"{table}.parquet")
    return None if part in parts else Path(path)


def _shop_labels(analysis) -> tuple[pd.Series, pd.Series]:
    """``SavedAnalysis.shop_labels`` (:meth:`graphlink.Analysis.shop_labels`): the Spark
    engine's are held (collected from Spark), its identifiers left unread."""
    from graphlink.scoring.analysis import Analysis

    held = analysis.__dict__["_parts"].get("shop_labels")
    return Analysis.shop_labels(analysis) if held is None else held()


def _address_points(analysis) -> pd.DataFrame:
    """``SavedAnalysis.address_points`` (:meth:`graphlink.Analysis.address_points`): from
    the Spark engine's own table of them while the identifiers are unread."""
    from graphlink.scoring.analysis import Analysis
    from graphlink.state.store import StateError

    points = analysis.__dict__["_files"].get("points")
    if points is None or points[0] in analysis.__dict__:
        return Analysis.address_points(analysis)
    return _read(points[1], StateError)


def _linked_pairs(analysis) -> pd.DataFrame:
    """As :meth:`graphlink.Analysis._linked_pairs`; the pairs of the banned shops'
    neighbourhood where the run wrote them (the Spark engine's:
    :mod:`graphlink.spark.scoring`): every search from a banned shop stays in it."""
    from graphlink.scoring.analysis import Analysis
    from graphlink.state.store import StateError

    near = analysis.__dict__["_files"].get("near banned")
    if near is None:
        return Analysis._linked_pairs(analysis)
    return _read(near[1], StateError, ["shop_a", "shop_b", "p"])


@functools.cache
def _saved_type() -> type:
    """``SavedAnalysis``: an :class:`~graphlink.Analysis` whose parts are read when
    first used (made on first call: the Analysis imports every stage)."""
    from graphlink.scoring.analysis import Analysis

    class SavedAnalysis(Analysis):
        """An analysis read from a state run, part by part (see :func:`read_analysis`)."""

        def __init__(self, dataset, parts: dict, model, files: dict):
            self.__dict__["_parts"], self.__dict__["_files"] = parts, files
            self.dataset, self.model, self.origin = dataset, model, {}

        def rows(self, table: str, columns: list[str] | None = None,
                 filters: list | None = None, *, linked: bool = False) -> pd.DataFrame:
            """As :meth:`graphlink.Analysis.rows`; while the table's part is not read
            whole, only the rows passing ``filters`` are read from its file (``linked``:
            from the run's linked index, :func:`write_linked`, where it has one)."""
            files = self.__dict__["_files"]
            part, path = files[f"linked {table}" if linked and f"linked {table}" in files
                               else table]
            if part in self.__dict__:
                return super().rows(table, columns, filters)
            from graphlink.state.store import StateError

            return _read(path, StateError, columns, filters)

        table_file, shop_labels, address_points = _table_file, _shop_labels, _address_points
        _linked_pairs = _linked_pairs

        def page_rows(self, drawn: set[str], on_paths: set[str]) -> dict[str, pd.DataFrame]:
            """As :meth:`graphlink.Analysis.page_rows`; from the run's page index
            (:func:`write_page_index`) when it covers ``drawn`` and ``on_paths`` and the
            tables are not read whole, else from the tables."""
            rows = _indexed_rows(self.__dict__, drawn, on_paths)
            return super().page_rows(drawn, on_paths) if rows is None else rows

        def map_points(self, leads: list[pd.Series]) -> pd.DataFrame:
            """As :meth:`graphlink.Analysis.map_points`; the points of every placed
            lead's map from the run's page index (:func:`write_page_index`) when it
            has one that maps these leads."""
            points = _indexed_points(self.__dict__, {lead.name for lead in leads})
            return super().map_points(leads) if points is None else points

        def spotcheck_sections(self, budget: int = 20) -> dict[str, list[dict]]:
            """As :meth:`graphlink.Analysis.spotcheck_sections`; from the run's page
            index (:func:`write_page_index`) when it keeps ``budget`` test buys."""
            found = _indexed_spotchecks(self.__dict__, budget)
            return super().spotcheck_sections(budget) if found is None else found

        def __getattr__(self, name: str):
            parts = self.__dict__.get("_parts", {})
            if name not in parts:
                raise AttributeError(name)
            self.__dict__[name] = value = parts.pop(name)()
            return value

        factory_leads = functools.cached_property(lambda self: _kept_part(self, "factory_leads"))

    return SavedAnalysis


def _kept_part(analysis, name: str):
    """The part ``name`` of a :class:`SavedAnalysis`, its maker kept (not dropped once
    read, as the other parts are): a state renames a fresh run's operators, drops the
    factory leads found and asks for them again (:mod:`graphlink.workflow.with_state`)."""
    make = analysis.__dict__.get("_parts", {}).get(name)
    if make is None:
        raise AttributeError(name)
    return make()


def _covers(shops: Path, drawn: set[str], on_paths: set[str]) -> bool:
    """Whether a page index (its ``page.shops`` file) holds the rows of a page drawing
    ``drawn`` with these ``on_paths``: every drawn shop is one of its drawn shops, every
    shop on a path one of its shops."""
    try:
        frame = pd.read_parquet(shops)
    except (OSError, pa.ArrowException, ValueError):  # damaged: the tables say it all
        return False
    indexed = set(frame["shop_id"][frame["role"] == "drawn"])
    return drawn <= indexed and on_paths <= indexed | set(frame["shop_id"])


def _indexed_rows(parts: dict, drawn: set[str], on_paths: set[str]
                  ) -> dict[str, pd.DataFrame] | None:
    """:func:`_page_rows` for a saved analysis's ``parts`` (its ``__dict__``), or None
    when its page index does not cover the page or the tables are read whole."""
    files = parts["_files"].get("page")
    if files is None or {"resolution", "evidence", "identifiers"} & parts.keys() or \
            not _covers(files["shops"], drawn, on_paths):
        return None
    from graphlink.state.store import StateError

    return _page_rows(files, drawn, on_paths, StateError)


def _indexed_points(parts: dict, leads: set[str]) -> pd.DataFrame | None:
    """:func:`_mapped_points` for a saved analysis's ``parts``, or None without them."""
    files = parts["_files"].get("page")
    if files is None:
        return None
    from graphlink.state.store import StateError

    return _mapped_points(files["points"], leads, StateError)


def _indexed_spotchecks(parts: dict, budget: int) -> dict[str, list[dict]] | None:
    """The spot-check sections kept by write_page_index, their best ``budget`` test
    buys; None when the run kept none or fewer than ``budget``."""
    path = parts["_files"].get("spotchecks")
    if path is None or not path.exists():
        return None
    from graphlink.state.store import StateError

    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: cannot read ({exc})") from exc
    if not 0 <= budget <= kept["budget"]:
        return None
    return {"act_now": kept["act_now"], "test_buy": kept["test_buy"][:budget]}


def _mapped_points(path: Path, leads: set[str], error: type[Exception]
                   ) -> pd.DataFrame | None:
    """The page index's map points when they cover the maps of ``leads`` (factory ids),
    else None."""
    try:
        metadata = pq.read_schema(path).metadata or {}
        if not leads <= set(json.loads(metadata.get(_MAPPED, b"[]"))):
            return None
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise error(f"{path}: cannot read ({exc})") from exc


def _page_rows(files: dict[str, Path], drawn: set[str], on_paths: set[str],
               error: type[Exception]) -> dict[str, pd.DataFrame]:
    """:meth:`graphlink.Analysis.page_rows` from a page index that covers the shops:
    the same filters, over the rows filed under the shops (or values) they name."""
    from graphlink.core.frames import select
    from graphlink.scoring.analysis import seen_uses

    between = drawn | on_paths
    pairs = select(_keyed_read(files["pairs"], between, error), None,
                   [[("shop_a", "in", between)], [("shop_b", "in", drawn)]])
    evidence = select(_keyed_read(files["evidence"], drawn, error), None,
                      [[("shop_a", "in", drawn)], [("shop_b", "in", drawn)]])
    touching = pairs[pairs["shop_a"].isin(drawn) | pairs["shop_b"].isin(drawn)]
    near = between | set(touching["shop_a"]) | set(touching["shop_b"])
    named = (set(evidence["shop_a"]) | set(evidence["shop_b"])) & near
    uses = _keyed_read(files["uses"], drawn | named, error)
    uses = uses[uses["shop_id"].isin(drawn) | (uses["shop_id"].isin(named)
                                               & seen_uses(uses, evidence))]
    mine = uses[uses["shop_id"].isin(drawn)]
    shown = set(mine["value"]) | set(evidence["value_a"]) | set(evidence["value_b"])
    values = _keyed_read(files["values"], shown, error)
    return {"pairs": pairs, "evidence": evidence, "uses": uses, "values": values,
            "accounts": _keyed_read(files["accounts"], drawn, error)}


def _meta(folder: Path, error: type[Exception]) -> dict:
    path = folder / "analysis.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{folder.parent}: this run was saved before states kept the whole "
                    "analysis; run `graphlink analyse DATASET --state DIR` once (the run "
                    "history and its change logs are kept)") from exc
    except (OSError, ValueError) as exc:
        raise error(f"{path}: not a saved analysis ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        found = meta.get("schema") if isinstance(meta, dict) else None
        raise error(f"{path}: saved analysis of schema {found!r}, this graphlink reads "
                    f"{SCHEMA!r}; run `graphlink analyse DATASET --state DIR` to save it again "
                    "(the run history is kept)")
    return meta


#: what pandas' infer_dtype calls a column of scalars only (a list makes it "mixed")
_FLAT = frozenset({"string", "empty", "bytes", "floating", "integer", "mixed-integer-float",
                   "boolean", "decimal", "datetime", "datetime64", "date", "time",
                   "timedelta", "timedelta64"})


def _nested(column: pd.Series) -> bool:
    """Whether an object column holds lists, tuples, dicts or arrays.

    >>> _nested(pd.Series(["a", None])), _nested(pd.Series([None, ["a"]], dtype=object))
    (False, True)
    """
    if pd.api.types.infer_dtype(column, skipna=True) in _FLAT:
        return False  # decided in C: a cell-by-cell loop took 3 s a 30,000-shop state
    for value in column:
        if isinstance(value, list | tuple | dict | np.ndarray):
            return True
    return False


def _encoded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its nested object columns as JSON text (named in ``attrs``)."""
    nested = [c for c in frame.columns if frame[c].dtype == object and _nested(frame[c])]
    out = frame.reset_index(drop=True)
    if nested:
        out = out.copy()
        for c in nested:
            out[c] = [None if v is None else json.dumps(_plain(v), ensure_ascii=False)
                      for v in out[c]]
    out.attrs = {"json_columns": nested}
    return out


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray | tuple):
        value = list(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def _table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table, its nested columns as JSON text named in the metadata."""
    encoded = _encoded(frame)
    table = pa.Table.from_pandas(encoded, preserve_index=False)
    meta = {**(table.schema.metadata or {}),
            _JSON_COLUMNS: json.dumps(encoded.attrs["json_columns"]).encode()}
    return table.replace_schema_metadata(meta)


def _write(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(_table(frame), path, compression="zstd")


def _decoded(table: pa.Table) -> pd.DataFrame:
    nested = json.loads((table.schema.metadata or {}).get(_JSON_COLUMNS, b"[]"))
    # nanoseconds, as pandas parses dates (Spark writes microseconds)
    frame = table.to_pandas(coerce_temporal_nanoseconds=True)
    for c in nested:
        if c in frame:
            frame[c] = _json_cells(frame[c].tolist())
    return frame


def _json_cells(texts: list) -> list:
    """Each JSON text of a column decoded (None stays None): the column's texts as one
    array through orjson, or each through ``json.loads`` when orjson refuses the text
    (NaN, integers beyond 64 bits: what ``json.dumps`` may write).

    >>> _json_cells(['["S1", "S2"]', None, '{"a": NaN}'])
    [['S1', 'S2'], None, {'a': nan}]
    >>> _json_cells(['[1, 2.5]', None])
    [[1, 2.5], None]
    """
    import orjson

    kept = [t for t in texts if t is not None]
    try:
        found = orjson.loads("[" + ",".join(kept) + "]")
    except orjson.JSONDecodeError:
        found = None
    if found is None or len(found) != len(kept):  # a text that is no JSON value alone
        return [None if t is None else json.loads(t) for t in texts]
    values = iter(found)
    return [None if t is None else next(values) for t in texts]


def _read(path: Path, error: type[Exception], columns: list[str] | None = None,
          filters: list | None = None) -> pd.DataFrame:
    """The table at ``path`` (its ``columns``, the rows passing ``filters``:
    :mod:`graphlink.core.frames`), in the file's order. A column it lacks: KeyError,
    as a DataFrame says."""
    try:
        # a folder of part files (the Spark engine's tables) has no one footer
        schema = pq.ParquetDataset(path).schema if Path(path).is_dir() else pq.read_schema(path)
        for column in [*(columns or []), *(c for t in dnf(filters) or [] for c, _, _ in t)]:
            if column not in schema.names:
                raise KeyError(column)
        where = _expression(dnf(filters), schema)
        return _decoded(pq.read_table(path, columns=columns, filters=where))
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise error(f"{path}: cannot read ({exc})") from exc


def _expression(terms: list[list[tuple]] | None, schema: pa.Schema):
    """pyarrow's filter expression for ``terms`` (see :func:`graphlink.core.frames.dnf`),
    value sets typed as the column (an empty set passes nothing)."""
    if terms is None:
        return None
    import pyarrow.compute as pc

    either = None
    for term in terms:
        both = None
        for column, op, value in term:
            field = pc.field(column)
            if op in ("in", "not in"):
                found = field.isin(pa.array(value, type=schema.field(column).type))
                test = found if op == "in" else ~found & field.is_valid()
            else:
                test = _OPS[op](field, pc.scalar(value))
            both = test if both is None else both & test
        either = both if either is None else either | both
    return either


_OPS = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt,
        "<=": operator.le, ">": operator.gt, ">=": operator.ge}
