"""The rows of a push, planned from the analysis's tables column by column: one
:class:`_Step` (statement and rows) per node label or identifier kind and per
relationship type and ends.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import hubs
from graphlink.linkage.resolve import MERGE
from graphlink.neo4j.model import (
    _HASHED,
    ACCOUNT,
    IDENTIFIER,
    KEY_LIMIT,
    KIND_LABELS,
    SHOP,
    _node_statement,
    _prop,
    _props,
    _rel_statement,
    _temporal,
    bounded_key,
)


@dataclass
class _Step:
    """One statement and the rows it is run with, batch by batch."""

    label: str  # what progress shows
    kind: str  # "node" or "rel"
    name: str  # node label or relationship type (counted in the summary)
    statement: str
    table: _Columns
    kind_of: str | None = None  # identifier kind of a node step (None: shops, accounts)
    ends: tuple[str, str] = ("", "")  # labels of a relationship step's start and end

    @cached_property
    def rows(self) -> list[dict]:
        return self.table.records()


def _plan(analysis) -> list[_Step]:
    """The statements of a push and their rows, built column by column from the
    analysis's tables (the rows :attr:`graphlink.Analysis.graph` would give, without
    building it: at 300,000 shops the networkx graph alone took minutes)."""
    with paused_gc(), arrow_pool():
        return list(_steps(analysis))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (the rows are millions of small lists and
    dicts, none in a cycle, which the collector would otherwise walk over and over).

    >>> with paused_gc():
    ...     gc.isenabled()
    False
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def arrow_pool() -> Iterator[None]:
    """jemalloc as arrow's memory pool inside, where pyarrow has it: with the default
    (mimalloc) the LINKED rows of 100,000 shops spent 3.6-4.6 s in the kernel, with
    jemalloc 1.4-2.5 s (user time the same).

    >>> with arrow_pool():
    ...     pa.default_memory_pool().backend_name in ("jemalloc", "mimalloc", "system")
    True
    """
    was = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without it
        pass
    try:
        yield
    finally:
        pa.set_memory_pool(was)


def _steps(analysis) -> Iterator[_Step]:
    """:func:`_plan`'s steps one at a time, each built when it is asked for (the
    offline import writes a step's file and drops its rows before the next)."""
    scores, matches = _signups(analysis)
    for (label, kind), table in _node_rows(analysis, scores):
        if len(table):
            yield _Step(f"{KIND_LABELS[kind] if kind else label} nodes", "node", label,
                        _node_statement(label, kind), table, kind_of=kind)
    builders = _rel_builders(analysis, matches)
    for (rel, src, dst) in sorted(builders):
        table = builders.pop((rel, src, dst))()
        if len(table):
            yield _Step(f"{rel} {src}->{dst}", "rel", rel, _rel_statement(rel, src, dst), table,
                        ends=(src, dst))


def _iso(series: pd.Series) -> list:
    """A datetime64 column as ISO text (``datetime.isoformat``, UTC without a zone for
    zoned values), None where missing.

    >>> _iso(pd.Series(pd.to_datetime(["2025-01-02 10:00", None, "2025-01-02 10:00:00.5"],
    ...                               format="ISO8601")))
    ['2025-01-02T10:00:00', None, '2025-01-02T10:00:00.500000']
    """
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = series.to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(stamps, unit="s").astype(object)
    micro = stamps.astype(np.int64) % 1_000_000
    for i in np.flatnonzero(micro):
        text[i] = f"{text[i]}.{micro[i]:06d}"
    text[np.isnat(stamps)] = None
    return text.tolist()


def _column(name: str, series: pd.Series) -> tuple[list, list | None]:
    """A column as property values and temporal values (ISO text), None where unset:
    what :func:`_props` makes of each value, a whole column at a time."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return [None] * len(series), _iso(series)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.tolist(), None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy()
        out = values.tolist()
        for i in np.flatnonzero(np.isnan(values)):
            out[i] = None
        return out, None
    temporal = _temporal(name)
    if not temporal and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return series.astype(object).where(series.notna(), None).tolist(), None  # text as is
    props, times = [], []
    for value in series.tolist():
        if type(value) is str and not temporal:
            props.append(value)
            times.append(None)
            continue
        converted = _prop(name, value)
        if isinstance(converted, datetime):
            props.append(None)
            times.append(converted.isoformat())
        else:
            props.append(converted)
            times.append(None)
    return props, (times if any(t is not None for t in times) else None)


def _values(column: list | pa.Array, cut: slice) -> list:
    """Rows ``cut`` of a column (a list, or an arrow array) as Python values.

    >>> _values(pa.array([[1], [], None]), slice(1, 3))
    [[], None]
    """
    return column[cut].to_pylist() if isinstance(column, pa.Array) else column[cut]


@dataclass
class _Columns:
    """A step's rows column by column: ``ends`` (``key``, or ``src`` and ``dst``) as
    they are; property values (lists, or arrow arrays of the same values) and temporal
    ones (ISO text), None where unset."""

    ends: dict[str, list]
    props: dict[str, list | pa.Array] = field(default_factory=dict)
    times: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.ends.values())))

    def records(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """``{"key", "props", "times"}`` (or ``src``/``dst``) rows ``start:stop``, as the
        statements read them (a batch at a time: all rows of a 300,000-shop world as
        dicts would hold many gigabytes). No cyclic garbage collection meanwhile: it
        walked every row of the plan again and again (30,000 shops: 8.3 s instead of
        4.6 s for all batches)."""
        with paused_gc():
            return self._records(start, stop)

    def _records(self, start: int, stop: int | None) -> list[dict]:
        cut = slice(start, len(self) if stop is None else min(stop, len(self)))
        names, tnames = list(self.props), list(self.times)
        n = len(range(len(self))[cut])
        prow = zip(*(_values(v, cut) for v in self.props.values()), strict=True) if names \
            else iter([()] * n)
        trow = zip(*(v[cut] for v in self.times.values()), strict=True) if tnames else \
            iter([()] * n)
        out = []
        erow = zip(*(_values(v, cut) for v in self.ends.values()), strict=True)
        for ends, p, t in zip(erow, prow, trow, strict=True):
            row = dict(zip(self.ends, ends, strict=True))
            row["props"] = {k: v for k, v in zip(names, p, strict=True) if v is not None}
            row["times"] = {k: v for k, v in zip(tnames, t, strict=True) if v is not None}
            out.append(row)
        return out

    @classmethod
    def of_records(cls, rows: list[dict], ends: tuple[str, ...]) -> _Columns:
        """The columns of rows made one by one (a few: the sign-up matches)."""
        names = list(dict.fromkeys(k for r in rows for k in r["props"]))
        tnames = list(dict.fromkeys(k for r in rows for k in r["times"]))
        return cls({e: [r[e] for r in rows] for e in ends},
                   {k: [r["props"].get(k) for r in rows] for k in names},
                   {k: [r["times"].get(k) for r in rows] for k in tnames})


def _columns(columns: Mapping[str, pd.Series | list],
             ready: Mapping[str, list | pa.Array] | None = None,
             **ends: list) -> _Columns:
    """:class:`_Columns` of named columns converted as :func:`_props` converts values
    (later names win); ``ready`` columns hold property values already (lists)."""
    props: dict[str, list] = {}
    times: dict[str, list] = {}
    for name, column in columns.items():
        series = column if isinstance(column, pd.Series) else pd.Series(column, dtype=object)
        values, stamps = _column(str(name), series.reset_index(drop=True))
        props.pop(str(name), None)
        times.pop(str(name), None)
        props[str(name)] = values
        if stamps is not None:
            times[str(name)] = stamps
    props.update(ready or {})
    return _Columns(dict(ends), props, times)


def _bounded(ids: pd.Series) -> list[str]:
    """:func:`bounded_key` of every id of a column."""
    texts = ids.astype(str).tolist()
    if not texts:
        return texts
    column = pa.array(texts, pa.string())
    long = pc.or_(pc.greater(pc.utf8_length(column), KEY_LIMIT), pc.starts_with(column, _HASHED))
    for i in np.flatnonzero(long.to_numpy(zero_copy_only=False)).tolist():
        texts[i] = bounded_key(texts[i])
    return texts


def _identifier_keys(kinds: pd.Series, values: pd.Series) -> list[str]:
    """:func:`_identifier_key` of every (kind, value) of two columns."""
    return [f"{k}:{v}" for k, v in zip(kinds.tolist(), _bounded(values), strict=True)]


def _extras(table: pd.DataFrame, key: str, keep: tuple[str, ...] | None = None) -> list[str]:
    """The columns of ``table`` that become properties: all but ``_*`` (or only ``keep``)."""
    return [c for c in table.columns
            if c != key and not str(c).startswith("_") and (keep is None or c in keep)]


def _part(analysis, table: str, columns: list[str], optional: tuple[str, ...] = ()
          ) -> pd.DataFrame:
    """Only ``columns`` (and those of ``optional`` it has) of one of the analysis's
    large tables (``pairs``, ``evidence``, ``uses``, ``values``): an
    analysis read from a state reads just those columns from its file, not the whole
    table (at 300,000 shops the pairs alone have 30 columns of 6.5M rows).

    >>> import graphlink as gl
    >>> frame = pd.DataFrame({"kind": ["ip"], "value": ["1.2.3.4"], "shops": [2]})
    >>> ids = gl.Analysis.__new__(gl.Analysis)
    >>> ids.identifiers = Identifiers(frame.iloc[:0], frame)
    >>> list(_part(ids, "values", ["kind", "value"], ("lat",)).columns)
    ['kind', 'value']
    """
    wanted = [*columns, *optional]
    try:
        return analysis.rows(table, wanted)
    except KeyError:  # an optional column it lacks: read them all, keep those it has
        frame = analysis.rows(table)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(missing[0]) from None
        return frame[[c for c in wanted if c in frame.columns]]


def _table_file(analysis, table: str) -> Path | None:
    """The Parquet file an analysis reads one of its large tables from
    (:meth:`graphlink.Analysis.table_file`); None for anything else.

    >>> _table_file(object(), "pairs") is None
    True
    """
    return analysis.table_file(table) if hasattr(analysis, "table_file") else None


def _arrow(analysis, table: str, columns: list[str]) -> pa.Table:
    """``columns`` of one of the analysis's large tables (:func:`_part`) as an arrow
    table: read straight from the state's file for a saved analysis (no Python object
    per value), else converted from its DataFrame."""
    path = _table_file(analysis, table)
    if path is not None:
        return pq.read_table(path, columns=columns)
    return pa.Table.from_pandas(_part(analysis, table, columns), preserve_index=False)


def _node_rows(analysis, scores: dict[str, dict]
               ) -> Iterator[tuple[tuple[str, str | None], _Columns]]:
    """Node rows by (label, identifier kind): shops, accounts, identifiers."""
    yield (SHOP, None), _shop_rows(analysis, scores)
    yield (ACCOUNT, None), _account_rows(analysis.dataset)
    yield from _identifier_rows(analysis).items()


def _shop_rows(analysis, scores: dict[str, dict]) -> _Columns:
    """Shop rows: the shop table's columns, factory, operator and community, risk."""
    dataset = analysis.dataset
    shops = dataset.shops.drop_duplicates("shop_id", keep="last").reset_index(drop=True)
    # later columns win, as in the graph's shop nodes: the shop table, the factory,
    # the graph's own attributes (shop columns, operator and community), the risk
    columns: dict[str, pd.Series] = {c: shops[c] for c in _extras(shops, "shop_id")}
    factory = _factory_ids(analysis)
    if factory:
        columns["factory_id"] = shops["shop_id"].map(
            lambda s: factory[s]["factory_id"] if s in factory else None)
    for c in ("shop_id", "name", "status", "created_at", "banned_at"):
        columns[c] = shops[c]
    found = analysis.clusters().drop_duplicates("shop_id", keep="last").set_index("shop_id")
    for c in found.columns:
        columns[c] = shops["shop_id"].map(found[c]).astype(object).where(
            shops["shop_id"].isin(found.index), None)
    if scores:
        columns["risk"] = shops["shop_id"].map(
            lambda s: scores[s]["risk"] if s in scores else None)
        columns["flag"] = shops["shop_id"].map(
            lambda s: scores[s]["flag"] if s in scores else None)
    keys = _bounded(shops["shop_id"])
    columns["key"] = pd.Series(keys, dtype=object)
    return _columns(columns, key=keys)


def _account_rows(dataset) -> _Columns:
    """Account rows: id and creation time."""
    accounts = dataset.accounts.drop_duplicates("account_id", keep="last")
    accounts = accounts.reset_index(drop=True)
    keys = _bounded(accounts["account_id"])
    columns = {c: accounts[c] for c in _extras(accounts, "account_id", keep=("created_at",))}
    columns["account_id"] = accounts["account_id"]
    columns["key"] = pd.Series(keys, dtype=object)
    return _columns(columns, key=keys)


def _identifier_rows(analysis) -> dict[tuple[str, str], _Columns]:
    """Identifier rows by kind: canonical value, display, shops, hub type, point."""
    values = _part(analysis, "values", ["kind", "value", "display", "shops"], ("lat", "lon"))
    values = values.drop_duplicates(["kind", "value"], keep="last").reset_index(drop=True)
    unknown = set(values["kind"]) - set(KIND_LABELS)
    if unknown:
        raise ValueError(f"identifiers of unknown kind {sorted(unknown)!r}")
    keys = _identifier_keys(values["kind"], values["value"])
    columns = {}
    if {"lat", "lon"} <= set(values.columns):  # Cypher makes the point (``location``)
        located = ((values["kind"] == "address") & values["lat"].notna()
                   & values["lon"].notna()).to_numpy()
        columns.update(lat=values["lat"].astype(float).where(located),
                       lon=values["lon"].astype(float).where(located))
    # no uses: the hubs of single values (as the analysis's graph types them)
    typed = hubs(Identifiers(pd.DataFrame({c: pd.Series(dtype=object)
                                           for c in ("shop_id", "kind", "value")}), values))
    typed = typed[typed["scope"] == "value"].drop_duplicates(["kind", "key"], keep="last")
    hub = values[["kind", "value"]].merge(
        typed.rename(columns={"key": "value"})[["kind", "value", "type"]],
        on=["kind", "value"], how="left")["type"]
    columns.update(value=values["value"], display=values["display"],
                   shops=values["shops"].astype(np.int64), hub=hub.astype(object).where(
                       hub.notna(), None), kind=values["kind"],
                   key=pd.Series(keys, dtype=object))
    table = _columns(columns, key=keys)
    kinds = values["kind"].to_numpy()
    out = {}
    parts = [{k: _objects(v) for k, v in part.items()}
             for part in (table.ends, table.props, table.times)]
    for kind in KIND_LABELS:
        where = np.flatnonzero(kinds == kind)
        out[(IDENTIFIER, kind)] = _Columns(
            *({k: v[where].tolist() for k, v in part.items()} for part in parts))
    return out


def _objects(values: list) -> np.ndarray:
    """``values`` as a one-dimensional object array (lists stay items).

    >>> _objects([[1], None, "a"]).shape
    (3,)
    """
    return np.fromiter(values, dtype=object, count=len(values))


def _rel_builders(analysis, matches: list[dict]
                  ) -> dict[tuple[str, str, str], Callable[[], _Columns]]:
    """Relationship rows by (type, start label, end label), each made when called."""
    return {("OPERATES", ACCOUNT, SHOP): lambda: _operates_rows(analysis.dataset),
            ("USES", ACCOUNT, IDENTIFIER): lambda: _uses_rows(analysis, ACCOUNT),
            ("USES", SHOP, IDENTIFIER): lambda: _uses_rows(analysis, SHOP),
            ("SIMILAR", IDENTIFIER, IDENTIFIER): lambda: _similar_rows(analysis),
            ("LINKED", SHOP, SHOP): lambda: _linked_rows(analysis),
            ("MATCHES", SHOP, SHOP): lambda: _Columns.of_records(matches, ("src", "dst"))}


def _rel_rows(analysis, matches: list[dict]) -> dict[tuple[str, str, str], _Columns]:
    """Relationship rows by (type, start label, end label)."""
    return {key: build() for key, build in _rel_builders(analysis, matches).items()}


def _operates_rows(dataset) -> _Columns:
    """OPERATES rows: account to shop."""
    accounts = dataset.accounts.drop_duplicates("account_id", keep="last")
    return _columns({}, src=_bounded(accounts["account_id"]), dst=_bounded(accounts["shop_id"]))


def _uses_rows(analysis, owner: str) -> _Columns:
    """USES rows of accounts (``owner`` ACCOUNT) or of shops: dates, rows, source."""
    uses = _part(analysis, "uses", ["shop_id", "kind", "value", "account_id", "first_seen",
                                    "last_seen", "rows", "source", "line"])
    by_account = uses["account_id"].map(type, na_action="ignore").eq(str).to_numpy(dtype=bool)
    part = uses[by_account if owner == ACCOUNT else ~by_account]
    src = part["account_id"] if owner == ACCOUNT else part["shop_id"]
    part = part.assign(_src=src).drop_duplicates(["_src", "kind", "value"], keep="last")
    part = part.reset_index(drop=True)
    source = [f"{s} line {n}" for s, n in
              zip(part["source"].tolist(), part["line"].tolist(), strict=True)]
    return _columns(
        {"first_seen": part["first_seen"], "last_seen": part["last_seen"],
         "rows": part["rows"].astype(np.int64), "source": source},
        src=_bounded(part["_src"]), dst=_identifier_keys(part["kind"], part["value"]))


def _similar_rows(analysis) -> _Columns:
    """SIMILAR rows: from the smaller value to the larger, score and method."""
    columns = ["kind", "value_a", "value_b", "score", "method"]
    path = _table_file(analysis, "similar")  # a saved analysis: not the links' other tables
    similar = pq.read_table(path, columns=columns).to_pandas() if path is not None else \
        analysis.links.similar[columns]
    swap = (similar["value_a"] > similar["value_b"]).to_numpy()
    low = similar["value_a"].where(~swap, similar["value_b"])
    high = similar["value_b"].where(~swap, similar["value_a"])
    pairs = pd.DataFrame({"kind": similar["kind"], "low": low, "high": high,
                          "score": similar["score"].astype(float), "method": similar["method"]})
    pairs = pairs.drop_duplicates(["kind", "low", "high"], keep="last").reset_index(drop=True)
    return _columns(
        {"score": pairs["score"], "method": pairs["method"]},
        src=_identifier_keys(pairs["kind"], pairs["low"]),
        dst=_identifier_keys(pairs["kind"], pairs["high"]))


def _signups(analysis) -> tuple[dict[str, dict], list[dict]]:
    """Sign-up risk of every shop: ``risk``/``flag`` per shop and MATCHES rows.

    A shop's risk does not depend on the report's ``since`` (it only selects
    the shops), so scoring every shop once serves every ``since``.
    """
    shops = analysis.dataset.shops
    if not hasattr(analysis, "signups") or not len(shops):
        return {}, []
    frame = analysis.signups(shops["created_at"].min())
    scores, rows = {}, []
    for shop_id, risk, flag, found in zip(frame["shop_id"], frame["risk"], frame["flag"],
                                          frame["matches"], strict=True):
        scores[shop_id] = {"risk": risk, "flag": flag}
        for rank, match in enumerate(found, 1):
            rows.append({"src": bounded_key(shop_id), "dst": bounded_key(match["banned_shop_id"]),
                         **_props({
                "rank": rank, "score": match["score"], "hops": match["hops"],
                "path": match["path"],
                "evidence": [e["detail"] for e in match.get("evidence", [])],
                **_verdict_props(match.get("verdict"), match.get("new_evidence"))})})
    return scores, rows


def _verdict_props(verdict: dict | None, new: list[dict] | None = None) -> dict:
    """An analyst's verdict as relationship properties (issue 20; none without one)."""
    if not verdict:
        return {}
    out = {"verdict": verdict["verdict"], "verdict_id": verdict["verdict_id"],
           "verdict_by": verdict["by"], "verdict_at": verdict["at"],
           "verdict_note": verdict.get("note")}
    if new:
        out["new_evidence"] = [e["detail"] for e in new]
    return out


def _pair_verdicts(analysis) -> dict[tuple[str, str], dict]:
    """The verdicts in force by (smaller shop id, larger), as reports show them."""
    force = getattr(analysis, "verdicts", None)
    if force is None or not len(force):
        return {}
    out = {}
    for v in force.to_dict("records"):
        key = tuple(sorted((v["shop_id"], v["banned_shop_id"])))
        out[key] = {"verdict": v["verdict"], "verdict_id": v["verdict_id"], "by": v["by"],
                    "at": v["at"], "note": v["note"]}
    return out


def _factory_ids(analysis) -> dict[str, dict]:
    """``factory_id`` per shop from ``analysis.factories()``, when the analysis has it."""
    if not hasattr(analysis, "factories"):
        return {}
    found = analysis.factories()
    records = found.to_dict("records") if isinstance(found, pd.DataFrame) else list(found)
    out = {}
    for record in records:
        members = record.get("shops")
        if members is None and "shop_id" in record:
            members = [record["shop_id"]]
        for shop_id in members if isinstance(members, (list, tuple, np.ndarray)) else []:
            out[shop_id] = {"factory_id": record["factory_id"]}
    return out


def _linked_rows(analysis) -> _Columns:
    """LINKED rows: per candidate pair its probability, kinds and evidence lines
    (strongest first), and an analyst's verdict on it. Made in arrow, without a Python
    object per pair or per line (:func:`_linked_arrow`), except for pairs that are not
    unique or text arrow cannot hold (lone surrogates: :func:`_linked_frame`)."""
    if not _pair_verdicts(analysis):
        try:
            return _linked_arrow(analysis)
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
            pass
    return _linked_frame(analysis)


def _large(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one large string array, every value as ``str`` makes it (a null as
    ``None``, as :meth:`pandas.Series.astype` does)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.fill_null(column.cast(pa.large_string()), "None")


def _ends(column: pa.Array) -> pa.Array:
    """:func:`_bounded` of a large string array, as a string array."""
    column = column.cast(pa.string())
    long = pc.or_(pc.greater(pc.utf8_length(column), KEY_LIMIT), pc.starts_with(column, _HASHED))
    if pc.any(long).as_py():
        return pa.array(_bounded(pd.Series(column.to_pylist(), dtype=object)), pa.string())
    return column


def _linked_arrow(analysis) -> _Columns:
    """:func:`_linked_rows` in arrow, for pairs without verdicts (ArrowInvalid when the
    pairs are not unique or arrow cannot hold the text)."""
    pairs = _arrow(analysis, "pairs", ["shop_a", "shop_b", "p", "kinds"])
    if not len(pairs):
        return _Columns({"src": [], "dst": []})
    shop_a, shop_b = _large(pairs["shop_a"]), _large(pairs["shop_b"])
    key = _join(shop_a, "\x00", shop_b)
    if pc.count_distinct(key).as_py() != len(key):
        raise pa.ArrowInvalid("pairs that are not unique")
    p = pairs["p"].combine_chunks().cast(pa.float64())
    kinds = pc.dictionary_encode(_large(pairs["kinds"]))
    split = [[k for k in text.split(",") if k] for text in kinds.dictionary.to_pylist()]
    ready = {"p": p, "kinds": pa.array(split, pa.list_(pa.string())).take(kinds.indices),
             "merged": pc.fill_null(pc.greater_equal(p, MERGE), False),
             "evidence": _evidence_arrow(analysis, key)}
    return _Columns({"src": _ends(shop_a), "dst": _ends(shop_b)}, dict(ready))


def _linked_frame(analysis) -> _Columns:
    """:func:`_linked_rows` from the pairs' DataFrame (lists where arrow cannot hold
    the text)."""
    pairs = _part(analysis, "pairs", ["shop_a", "shop_b", "p", "kinds"])
    if not len(pairs):
        return _Columns({"src": [], "dst": []})
    p = pairs["p"].astype(float)
    verdicts = _pair_verdicts(analysis)
    columns = {}
    if verdicts:
        found = [verdicts.get(pair) for pair in zip(pairs["shop_a"].tolist(),
                                                    pairs["shop_b"].tolist(), strict=True)]
        columns = {name: [_verdict_props(v).get(name) if v else None for v in found]
                   for name in ("verdict", "verdict_id", "verdict_by", "verdict_at",
                                "verdict_note")}
    return _columns(columns, ready={
        "p": pa.array(p.to_numpy(), pa.float64(), from_pandas=True),
        "kinds": _kind_lists(pairs["kinds"]),
        "merged": pa.array((p >= MERGE).to_numpy(), pa.bool_()),
        "evidence": _evidence_lists(analysis, pairs)},
        src=_bounded(pairs["shop_a"]), dst=_bounded(pairs["shop_b"]))


def _kind_lists(kinds: pd.Series) -> pa.Array | list[list[str]]:
    """Each pair's comma-separated kinds as a list (an arrow list array; Python lists
    where arrow cannot hold the text).

    >>> _kind_lists(pd.Series(["ip,phone", "", "ip"])).to_pylist()
    [['ip', 'phone'], [], ['ip']]
    """
    codes, uniques = pd.factorize(kinds.astype(str))
    split = [[k for k in text.split(",") if k] for text in uniques.tolist()]
    try:
        return pa.array(split, pa.list_(pa.string())).take(pa.array(codes))
    except (pa.ArrowInvalid, UnicodeEncodeError):  # lone surrogates
        return [split[c] for c in codes.tolist()]


def _formatted(values: pd.Series, form: Callable[[object], str]) -> np.ndarray:
    """``form`` of every value, computed once per distinct value (an object array)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([form(v) for v in uniques.tolist()] or [""], dtype=object)[codes]


_EVIDENCE = ["shop_a", "shop_b", "kind", "value_a", "value_b", "score", "method", "shops",
             "weight"]


def _evidence_texts(analysis, evidence: pd.DataFrame) -> np.ndarray:
    """The text line of every row of ``evidence`` (an object array), as
    ``kind: value[ ~ other (method score)], N shops, +W bits``: values shown by
    their display (masked) where they have one."""
    values = _part(analysis, "values", ["kind", "value", "display"])
    shown = values["display"].where(values["display"].notna() & (values["display"] != ""),
                                    values["value"])
    display = pd.Series(shown.to_numpy(dtype=object),
                        index=(values["kind"] + ":" + values["value"]).to_numpy(dtype=object))
    display = display[~display.index.duplicated(keep="last")]
    kind, va, vb, method = (evidence[c].astype(str).to_numpy(dtype=object)
                            for c in ("kind", "value_a", "value_b", "method"))

    def show(k: np.ndarray, v: np.ndarray) -> np.ndarray:
        at = display.index.get_indexer(k + ":" + v)
        return np.where(at >= 0, display.to_numpy()[at], v)

    a = show(kind, va)
    other = np.flatnonzero(va != vb)
    if len(other):
        rest = (show(kind[other], vb[other]) + " (" + method[other] + " "
                + _formatted(evidence["score"].iloc[other], lambda x: f"{x:.2f}") + ")")
        a[other] = a[other] + " ~ " + rest
    return (kind + ": " + a + ", " + _formatted(evidence["shops"], lambda x: f"{int(x)}")
            + " shops, " + _formatted(evidence["weight"], lambda x: f"{x:+.1f}") + " bits")


def _text(values: pd.Series) -> pa.Array:
    """Every value of a column as text (``str``), a large arrow string array."""
    return pa.array(values.astype(str).to_numpy(dtype=object), pa.large_string())


def _join(*parts: pa.Array | str) -> pa.Array:
    """The parts (large arrow strings, or text for every row) joined row by row.

    >>> _join(pa.array(["a", "b"], pa.large_string()), "!").to_pylist()
    ['a!', 'b!']
    """
    return pc.binary_join_element_wise(
        *(pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts),
        pa.scalar("", pa.large_string()))


def _evidence_lines(analysis, evidence: pd.DataFrame) -> pa.Array:
    """:func:`_evidence_texts` in arrow (ArrowInvalid or UnicodeEncodeError for text
    arrow cannot hold: lone surrogates)."""
    values = _part(analysis, "values", ["kind", "value", "display"]).iloc[::-1]
    shown = _shown(_text(values["kind"]), _text(values["value"]),
                   pa.array(values["display"], pa.large_string()))
    del values

    def formatted(column: pd.Series, form: Callable[[object], str]) -> pa.Array:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        return pa.array([form(v) for v in uniques.tolist()], pa.large_string()).take(codes)

    return _lines([_text(evidence[c]) for c in ("kind", "value_a", "value_b", "method")],
                  [formatted(evidence[c], form) for c, form in _FORMS], shown)


#: how an evidence line writes its score, shops and weight
_FORMS = (("score", lambda x: f"{x:.2f}"), ("shops", lambda x: f"{int(x)}"),
          ("weight", lambda x: f"{x:+.1f}"))


def _shown(kind: pa.Array, value: pa.Array, display: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``kind:value`` keys of the values table (rows reversed, so that the first of a key
    found is its last row, as the Python text) and the text each shows: its display,
    else the value."""
    text = pc.if_else(pc.fill_null(pc.not_equal(display, ""), False), display, value)
    return _join(kind, ":", value), text


def _lines(columns: list[pa.Array], numbers: list[pa.Array],
           shown: tuple[pa.Array, pa.Array]) -> pa.Array:
    """The evidence lines of :func:`_evidence_texts` from the evidence's kind, value_a,
    value_b and method (large strings), its score, shops and weight as text
    (:data:`_FORMS`) and the values' :func:`_shown` text."""
    kind, va, vb, method = columns
    keys, text = shown

    def show(v: pa.Array) -> pa.Array:
        at = pc.index_in(_join(kind, ":", v), value_set=keys)
        return pc.if_else(pc.is_valid(at), pc.take(text, at), v)

    a = show(va)
    a = pc.if_else(pc.equal(va, vb), a, _join(a, " ~ ", show(vb), " (", method, " ",
                                              numbers[0], ")"))
    return _join(kind, ": ", a, ", ", numbers[1], " shops, ", numbers[2], " bits")


def _formatted_arrow(column: pa.ChunkedArray, form: Callable[[object], str]) -> pa.Array:
    """``form`` of every value (a null as NaN), once per distinct value."""
    codes = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    texts = [form(float("nan") if v is None else v) for v in codes.dictionary.to_pylist()]
    return pa.array(texts, pa.large_string()).take(codes.indices)


def _evidence_arrow(analysis, pairs: pa.Array) -> pa.Array:
    """:func:`_evidence_lists` in arrow: ``pairs`` are the unique pair keys (``shop_a``
    NUL ``shop_b``, large strings); a large list array of lines per pair."""
    evidence = _arrow(analysis, "evidence", _EVIDENCE)
    values = _arrow(analysis, "values", ["kind", "value", "display"])
    values = values.take(pa.array(np.arange(len(values) - 1, -1, -1)))  # last row wins
    shown = _shown(_large(values["kind"]), _large(values["value"]),
                   values["display"].combine_chunks().cast(pa.large_string()))
    del values
    lines = _lines([_large(evidence[c]) for c in ("kind", "value_a", "value_b", "method")],
                   [_formatted_arrow(evidence[c], form) for c, form in _FORMS], shown)
    at = pc.fill_null(pc.index_in(_join(_large(evidence["shop_a"]), "\x00",
                                        _large(evidence["shop_b"])), value_set=pairs), -1)
    weight = pc.negate(evidence["weight"].combine_chunks().cast(pa.float64()))
    del evidence
    order = pc.sort_indices(pa.table({"p": at, "w": weight, "t": lines}),
                            sort_keys=[("p", "ascending"), ("w", "ascending"),
                                       ("t", "ascending")])
    at = at.take(order).to_numpy()
    first = int(np.searchsorted(at, 0))  # rows of no pair (-1) sort first
    counts = np.bincount(at[first:], minlength=len(pairs))
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int64))
    return pa.LargeListArray.from_arrays(offsets, lines.take(order.slice(first)))


def _evidence_lists(analysis, pairs: pd.DataFrame) -> pa.Array | list[list[str]]:
    """Per pair of ``pairs``, the text lines of its evidence, strongest first (then
    by text); [] for a pair without evidence. An arrow list array, or Python lists
    where arrow cannot hold the text (lone surrogates)."""
    evidence = _part(analysis, "evidence", _EVIDENCE)
    if not len(evidence):
        return [[] for _ in range(len(pairs))]
    key = (pairs["shop_a"].astype(str) + "\x00" + pairs["shop_b"].astype(str)).to_numpy(object)
    index = pd.Index(key).drop_duplicates()
    at = index.get_indexer(evidence["shop_a"].astype(str).to_numpy(object) + "\x00"
                           + evidence["shop_b"].astype(str).to_numpy(object))
    weight = -evidence["weight"].astype(float).to_numpy()
    try:
        lines = _evidence_lines(analysis, evidence)
        order = pc.sort_indices(pa.table({"p": at, "w": weight, "t": lines}),
                                sort_keys=[("p", "ascending"), ("w", "ascending"),
                                           ("t", "ascending")]).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):  # lone surrogates
        texts = _evidence_texts(analysis, evidence)
        order = pd.DataFrame({"p": at, "w": weight, "t": texts}).sort_values(
            ["p", "w", "t"], kind="stable").index
        order = np.asarray(order)
    else:
        at = at[order]
        first = int(np.searchsorted(at, 0))  # rows of no pair (-1) sort first
        counts = np.bincount(at[first:], minlength=len(index))
        offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int64))
        lists = pa.LargeListArray.from_arrays(offsets, lines.take(pa.array(order[first:])))
        # pairs are unique as a rule: then the index is the pairs in their order
        return lists if len(index) == len(key) else lists.take(pa.array(index.get_indexer(key)))
    at, lines = at[order], texts[order].tolist()
    starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]]).tolist()
    pair = at.tolist()
    found: list[list[str]] = [[] for _ in range(len(index))]
    for i, j in zip(starts, [*starts[1:], len(lines)], strict=True):
        if pair[i] >= 0:
            found[pair[i]] = lines[i:j]
    return [found[i] for i in index.get_indexer(key).tolist()]


def _texts_of(lines: pd.DataFrame, shop_a: pd.Series, shop_b: pd.Series) -> list[list[str]]:
    """Per pair (``shop_a``, ``shop_b``), the texts ``t`` of its ``lines`` (sorted by
    pair: each pair's lines are one run), in their order; [] for a pair without lines.

    >>> lines = pd.DataFrame({"a": ["S1", "S1", "S2"], "b": ["S2", "S2", "S3"],
    ...                       "t": ["x", "y", "z"]})
    >>> _texts_of(lines, pd.Series(["S2", "S1", "S1"]), pd.Series(["S3", "S3", "S2"]))
    [['z'], [], ['x', 'y']]
    """
    if not len(lines):
        return [[] for _ in range(len(shop_a))]
    a, b = lines["a"].to_numpy(dtype=object), lines["b"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
    texts = lines["t"].tolist()
    runs = [texts[i:j] for i, j in zip(starts.tolist(), [*starts[1:].tolist(), len(texts)],
                                       strict=True)]
    at = pd.MultiIndex.from_arrays([a[starts], b[starts]]).get_indexer(
        pd.MultiIndex.from_arrays([shop_a.to_numpy(dtype=object), shop_b.to_numpy(dtype=object)]))
    return [runs[i] if i >= 0 else [] for i in at.tolist()]
