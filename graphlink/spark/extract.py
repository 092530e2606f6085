"""Identifier extraction on Spark: :func:`graphlink.linkage.identifiers.extract` as joins.

The identifier uses and values of the embedded engine, built as Spark DataFrames
from the validated tables (:func:`graphlink.spark.load.read_tables`) and equal to
them row for row once collected (:func:`collected`):

1. each table's rows numbered in read order (``line``, the number the hand-over
   gives a row: each partition's size summed on the driver, one small job for all
   tables) and its time column parsed by the loaders' own date parser in a pandas
   function (as nanoseconds, exact);
2. every identifying column of :data:`~graphlink.linkage.identifiers.SOURCES` in
   long form, a device's shop its account's, joined to the canonical form of its
   raw value (:func:`graphlink.spark.identifiers.forms_frame`: each distinct value
   normalised once, never collected); a value that normalises to nothing is no
   identifier;
3. one use per (shop, kind, value): the first source row (earliest seen, then
   line, then the order of ``SOURCES``; undated last) gives the account, raw form,
   source and line; the first and last dates and the rows are aggregated;
4. one value per (kind, value): its shops, the raw form of its smallest shop's use,
   its display (:func:`graphlink.core.privacy.mask` in a pandas function) and an
   address's mean coordinates (pandas' own mean over its rows in read order: the
   same float);
5. :func:`entity_labels`: connected components
   (:func:`graphlink.spark.resolve.components`) of the shops on one exact value of
   ``ENTITY_KINDS`` held by 2 to ``HUB_SHOPS`` shops, labelled by their smallest
   shop id, as a Spark DataFrame (``shop_id``, ``entity``); :func:`count_entities`:
   the distinct entities among each value's shops.

The frames stay on Spark (persisted), where blocking, the pair evidence, the shops'
kinds, the second look and its sampled chance agreement read them. At the end of the
analysis Spark writes them (:func:`written`) and the driver collects only each shop's
entity and kinds (:func:`shop_labels`); :func:`collected` brings them whole to the
driver where they must be rewritten there (pseudonymising).

>>> bool(_NAT == np.datetime64("NaT").astype(np.int64))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.privacy import SENSITIVE, mask
from graphlink.linkage.identifiers import (
    _TIME,
    _USES_COLUMNS,
    SOURCES,
    Identifiers,
    value_codes,
    value_table,
)
from graphlink.linkage.identifiers import extract as extract_here
from graphlink.linkage.link import ENTITY_KINDS, HUB_SHOPS, HUB_SHOPS_BY_KIND
from graphlink.linkage.link import count_entities as count_here
from graphlink.spark.identifiers import forms_frame
from graphlink.spark.load import ROW, union_all
from graphlink.spark.resolve import components
from loaders.validate import _parse_dates

__all__ = ["SparkIdentifiers", "extract", "entity_labels", "count_entities", "shop_kinds",
           "collected", "is_empty", "hub_limit_column", "shop_labels", "written", "read"]

_NAT = np.iinfo(np.int64).min  # NaT's nanoseconds: a date the data does not give
_SOURCE_TABLES = tuple(_TIME)  # the tables identifiers come from
_VALUES_COLUMNS = ["kind", "value", "shops", "raw", "display", "lat", "lon"]
_held: list = []  # frames persisted for the identifiers, unpersisted once collected


@dataclass
class SparkIdentifiers:
    """The identifier uses and values as Spark DataFrames (checkpointed and persisted,
    the values once their entities are counted; the columns of
    :class:`graphlink.linkage.identifiers.Identifiers`, dates as nanoseconds), and
    whether there is no use at all. The Spark stages read them; :func:`collected` gives
    the driver's :class:`Identifiers`."""

    uses: object
    values: object
    empty: bool = False
    entity: object = None  # (shop_id, entity) of entity_labels, once count_entities ran


def is_empty(ids) -> bool:
    """Whether ``ids`` (:class:`SparkIdentifiers` or :class:`Identifiers`) has no use,
    without collecting anything."""
    return ids.empty if isinstance(ids, SparkIdentifiers) else not len(ids.uses)


def extract(dataset: Dataset, tables: dict) -> SparkIdentifiers:
    """:func:`graphlink.linkage.identifiers.extract` of the Spark ``tables`` (those of
    :func:`graphlink.spark.engine.prepare`; ``dataset`` is its hand-over, unread): the
    uses on Spark, checkpointed and persisted, and the values (lazy: :func:`count_entities`
    materialises them with their entities; an address's coordinates are kept). The
    tables are unpersisted: nothing reads them after this (a saved state's devices and
    payments are read from the input again)."""
    from pyspark.sql import functions as F

    forms = forms_frame(tables)
    if forms is None:
        return _empty(tables)
    forms = forms.where(F.col("value").isNotNull()).persist()
    typed = _typed_tables(tables)
    matched = _source_rows(typed, tables).join(forms, ["kind", "raw"])
    uses = _kept(_one_row_per_use(matched))
    geo = _geo(typed.get("addresses"), forms)
    if geo is not None:  # the forms are let go: what values read of them is kept
        geo = geo.persist()
        geo.count()
        _held.append(geo)
    values = _values(uses, geo)  # materialised with its entities (count_entities)
    forms.unpersist()
    for frame in tables.values():
        frame.unpersist()
    return SparkIdentifiers(uses, values, uses.isEmpty())


def _kept(frame):
    """``frame`` checkpointed (computed once, written to the session's checkpoint folder:
    the stages reading it plan a scan, not extraction's whole lineage) and persisted in
    memory only: a partition the memory does not hold is read from its checkpoint again,
    not spilled as a second copy on disk."""
    from pyspark import StorageLevel

    kept = frame.checkpoint().persist(StorageLevel.MEMORY_ONLY)
    _held.append(kept)
    return kept


def _empty(tables: dict) -> SparkIdentifiers:
    spark = next(iter(tables.values())).sparkSession
    uses = spark.createDataFrame([], "shop_id string, kind string, value string, "
                                     "account_id string, first_seen long, last_seen long, "
                                     "rows long, raw string, source string, line long")
    values = spark.createDataFrame([], "kind string, value string, shops long, raw string, "
                                       "display string, lat double, lon double")
    return SparkIdentifiers(uses, values, True)


def _line_bases(tables: dict, names: list[str]):
    """``(t, pid, base)``: ``line = _row + base`` numbers the rows of table ``names[t]`` 1,
    2, 3, ... in read order (``_row`` is Spark's partition id in its upper bits and the
    row's place in its partition below: each partition's size, summed on the driver in
    one job for every table)."""
    from pyspark.sql import functions as F

    parts = [tables[name].select(F.lit(t).alias("t"), F.shiftright(F.col(ROW), 33).alias("pid"),
                                 ROW) for t, name in enumerate(names)]
    sizes = sorted((r["t"], r["pid"], r["n"], r["low"]) for r in union_all(parts).groupBy(
        "t", "pid").agg(F.count("*").alias("n"), F.min(ROW).alias("low")).collect())
    bases, start, table = [], 0, None
    for t, pid, n, low in sizes:
        start = 0 if t != table else start
        table = t
        bases.append((t, pid, start + 1 - low))
        start += n
    spark = tables[names[0]].sparkSession
    return spark.createDataFrame(bases or [(-1, 0, 0)], "t int, pid long, base long")


def _typed_tables(tables: dict) -> dict:
    """The source tables' columns extraction reads, typed as the hand-over types them:
    ``seen`` (the table's time, nanoseconds, null when undated), ``line``, and an
    address's ``lat``, ``lon`` (pandas' ``to_numeric``, as the loaders)."""
    from pyspark.sql import functions as F

    names = [name for name in _SOURCE_TABLES if name in tables]
    if not names:
        return {}
    bases = F.broadcast(_line_bases(tables, names))
    out = {}
    for t, name in enumerate(names):
        frame = tables[name]
        text = [c for c in ("shop_id", "account_id",
                            *(col for table, col, _ in SOURCES if table == name))
                if c in frame.columns]
        floats = [c for c in ("lat", "lon") if name == "addresses" and c in frame.columns]
        time = _TIME[name] if _TIME[name] in frame.columns else None
        schema = ", ".join([*(f"`{c}` string" for c in dict.fromkeys(text)), f"{ROW} long",
                            "seen long", *(f"{c} double" for c in floats)])
        typed = (frame.select(*dict.fromkeys(text), ROW, *([time] if time else []), *floats)
                 .mapInPandas(_typed(list(dict.fromkeys(text)), time, floats), schema))
        typed = typed.withColumn("seen", F.when(F.col("seen") != F.lit(int(_NAT)), F.col("seen")))
        out[name] = (typed.withColumn("t", F.lit(t)).withColumn(
            "pid", F.shiftright(F.col(ROW), 33)).join(bases, ["t", "pid"])
            .withColumn("line", F.col(ROW) + F.col("base")).drop("t", "pid", "base", ROW))
    return out


def _typed(text: list[str], time: str | None, floats: list[str]):
    """A ``mapInPandas`` function: ``text`` columns as they are, ``time`` parsed by
    :func:`loaders.validate._parse_dates` as nanoseconds (NaT: ``_NAT``) in ``seen``,
    ``floats`` by ``pd.to_numeric`` (the loaders' canonical types)."""
    def typed(batches):
        for batch in batches:
            out = batch[[*text, ROW]].copy()
            out["seen"] = (_parse_dates(batch[time]).to_numpy().view(np.int64) if time
                           else np.full(len(batch), _NAT, dtype=np.int64))
            for column in floats:
                out[column] = pd.to_numeric(batch[column], errors="coerce").astype(float)
            yield out
    return typed


def _source_rows(typed: dict, tables: dict):
    """Every non-blank identifying cell: ``shop_id``, ``kind``, ``raw``, ``account_id``,
    ``seen``, ``source`` (its table), ``line`` and ``src`` (its source's place in
    ``SOURCES``: the order of rows with the same date and line). Each table is read once
    (its identifying columns unpivoted); a device's shop is its account's."""
    from pyspark.sql import functions as F

    parts = []
    for table, frame in typed.items():
        mine = [(src, column, kind) for src, (name, column, kind) in enumerate(SOURCES)
                if name == table and column in frame.columns]
        if not mine:
            continue
        if table == "devices":
            if "accounts" not in tables:
                continue
            frame = frame.join(tables["accounts"].select("account_id", "shop_id"), "account_id")
        account = (F.col("account_id") if "account_id" in frame.columns
                   else F.lit(None).cast("string"))
        cells = F.explode(F.array(*(F.struct(F.lit(kind).alias("kind"), F.col(column).alias(
            "raw"), F.lit(src).alias("src")) for src, column, kind in mine))).alias("cell")
        parts.append(frame.select("shop_id", account.alias("account_id"), "seen", "line", cells)
                     .where(F.col("cell.raw").isNotNull()).select(
            "shop_id", F.col("cell.kind").alias("kind"), F.col("cell.raw").alias("raw"),
            "account_id", "seen", F.lit(table).alias("source"), "line",
            F.col("cell.src").alias("src")))
    return union_all(parts)


def _one_row_per_use(matched):
    """One row per (shop, kind, value): the first source row (the smallest of (undated,
    seen, line, src): dated before undated, then by date, line and source), the first
    and last dates, the rows."""
    from pyspark.sql import functions as F

    first = F.min(F.struct(F.col("seen").isNull().alias("undated"),
                           F.coalesce(F.col("seen"), F.lit(0)).alias("at"), "line", "src",
                           "account_id", "raw", "source")).alias("first")
    return matched.groupBy("shop_id", "kind", "value").agg(
        first, F.max("seen").alias("last_seen"), F.count("*").alias("rows")).select(
        "shop_id", "kind", "value", F.col("first.account_id").alias("account_id"),
        F.when(~F.col("first.undated"), F.col("first.at")).alias("first_seen"), "last_seen",
        "rows", F.col("first.raw").alias("raw"), F.col("first.source").alias("source"),
        F.col("first.line").alias("line"))


def _displayed(kind: pd.Series, value: pd.Series) -> pd.Series:
    """The display of each value: masked for the :data:`SENSITIVE` kinds.

    >>> _displayed(pd.Series(["phone", "device"]), pd.Series(["+8613800138000", "d-1"])).tolist()
    ['+86138****8000', 'd-1']
    """
    out = value.to_numpy(dtype=object, copy=True)
    sensitive = np.flatnonzero(kind.isin(SENSITIVE).to_numpy())
    out[sensitive] = [mask(k, v) for k, v in zip(kind.to_numpy()[sensitive], out[sensitive],
                                                 strict=True)]
    return pd.Series(out, index=value.index)


def _values(uses, geo):
    """One row per (kind, value) of ``uses``: shops, the raw form of the smallest shop's
    use, the display, and an address's mean coordinates (``geo``, None: none; lazy)."""
    from pyspark.sql import functions as F

    display = F.pandas_udf(_displayed, "string")
    values = uses.groupBy("kind", "value").agg(
        F.count("*").alias("shops"), F.min(F.struct("shop_id", "raw")).alias("first")).select(
        "kind", "value", "shops", F.col("first.raw").alias("raw"),
        display("kind", "value").alias("display"))
    if geo is None:
        nothing = F.lit(None).cast("double")
        return values.select(*_VALUES_COLUMNS[:5], nothing.alias("lat"), nothing.alias("lon"))
    return values.join(geo, ["kind", "value"], "left").select(*_VALUES_COLUMNS)


def _geo(addresses, forms):
    """``(kind, value, lat, lon)``: the mean coordinates of each address value over the
    address rows giving both (None: the table gives none), computed by pandas' groupby
    mean over the rows in read order, as the embedded engine computes them."""
    from pyspark.sql import functions as F

    if addresses is None or not {"lat", "lon"} <= set(addresses.columns):
        return None
    given = ((F.col("lat").isNotNull() & ~F.isnan("lat"))
             & (F.col("lon").isNotNull() & ~F.isnan("lon")))
    points = (addresses.where(given & F.col("address").isNotNull())
              .select(F.lit("address").alias("kind"), F.col("address").alias("raw"), "line",
                      "lat", "lon")
              .join(forms, ["kind", "raw"])
              .groupBy("kind", "value").agg(F.sort_array(F.collect_list(
                  F.struct("line", "lat", "lon"))).alias("points")))
    points = points.select("kind", "value", F.col("points.lat").alias("lats"),
                           F.col("points.lon").alias("lons"))
    return points.mapInPandas(_means, "kind string, value string, lat double, lon double")


def _means(batches):
    """Each address value's mean ``lat`` and ``lon`` by pandas' groupby mean (its
    summation, in read order).

    >>> batch = pd.DataFrame({"kind": ["address"], "value": ["a"], "lats": [[1.0, 2.0]],
    ...                       "lons": [[3.0, 5.0]]})
    >>> next(_means([batch])).values.tolist()
    [['address', 'a', 1.5, 4.0]]
    """
    for batch in batches:
        sizes = batch["lats"].map(len).to_numpy()
        flat = pd.DataFrame({
            "value": np.repeat(batch["value"].to_numpy(dtype=object), sizes),
            "lat": np.concatenate([*map(np.asarray, batch["lats"]), np.empty(0)]).astype(float),
            "lon": np.concatenate([*map(np.asarray, batch["lons"]), np.empty(0)]).astype(float)})
        mean = flat.groupby("value", sort=False)[["lat", "lon"]].mean()
        yield pd.DataFrame({"kind": "address", "value": mean.index.to_numpy(dtype=object),
                            "lat": mean["lat"].to_numpy(float),
                            "lon": mean["lon"].to_numpy(float)})


def entity_labels(ids: SparkIdentifiers):
    """:func:`graphlink.linkage.link.entity_labels` on Spark: ``(shop_id, entity)`` of
    every shop on an exact value of ``ENTITY_KINDS`` with 2 to ``HUB_SHOPS`` shops, its
    entity the smallest shop id of its connected component (persisted; each value's
    shops joined to its smallest: the same components as a path)."""
    from pyspark.sql import functions as F

    mine = ids.uses.where(F.col("kind").isin(*ENTITY_KINDS))
    strong = mine.groupBy("kind", "value").agg(F.count("*").alias("shops")).where(
        (F.col("shops") >= 2) & (F.col("shops") <= HUB_SHOPS)).select("kind", "value")
    members = mine.join(strong, ["kind", "value"]).select("kind", "value", "shop_id")
    first = members.groupBy("kind", "value").agg(F.min("shop_id").alias("a"))
    edges = members.join(first, ["kind", "value"]).select("a", F.col("shop_id").alias("b"))
    labels, _ = components(edges.checkpoint())  # rounds plan a scan of the edges
    _held.append(labels)
    return labels.select(F.col("id").alias("shop_id"), F.col("label").alias("entity"))


def count_entities(ids: SparkIdentifiers, labels=None) -> SparkIdentifiers:
    """:func:`graphlink.linkage.link.count_entities` on Spark: ``ids`` with ``entities``
    among its values' columns (the distinct entities among a value's shops; a shop no
    entity lists is its own); ``labels`` as :func:`entity_labels` gives them (computed
    when not given)."""
    from pyspark.sql import functions as F

    labels = entity_labels(ids) if labels is None else labels
    who = ids.uses.join(labels, "shop_id", "left").select(
        "kind", "value", F.coalesce(F.col("entity"), F.col("shop_id")).alias("who"))
    counts = who.groupBy("kind", "value").agg(F.countDistinct("who").alias("entities"))
    values = _kept(ids.values.join(counts, ["kind", "value"], "left").select(
        *ids.values.columns, "entities"))
    return SparkIdentifiers(ids.uses, values, ids.empty, labels)


def shop_kinds(uses):
    """:func:`graphlink.linkage.model.shop_kinds` of the uses on Spark: ``(shop_id,
    kinds)``, the kinds a shop carries sorted and comma-joined (lazy)."""
    from pyspark.sql import functions as F

    return uses.groupBy("shop_id").agg(
        F.array_join(F.array_sort(F.collect_set("kind")), ",").alias("kinds"))


def shop_labels(ids: SparkIdentifiers) -> tuple[pd.Series, pd.Series]:
    """Each shop's entity (of the shops an entity lists) and kinds, collected: what
    :meth:`graphlink.Analysis.shop_labels` gives (one row per shop with a use)."""
    labels = _local(shop_kinds(ids.uses).join(ids.entity, "shop_id", "left")
                    .orderBy("shop_id").select("shop_id", "entity", "kinds"))
    listed = labels[labels["entity"].notna()]
    entity = pd.Series(listed["entity"].to_numpy(dtype=object), dtype=object, name="entity",
                       index=pd.Index(listed["shop_id"].to_numpy(dtype=object), name="shop_id"))
    kinds = pd.Series(labels["kinds"].to_numpy(dtype=object), name="kind",
                      index=pd.Index(labels["shop_id"].to_numpy(dtype=object), name="shop_id"))
    return entity, kinds


def written(ids: SparkIdentifiers, folder) -> tuple:
    """``ids`` written by Spark as Parquet folders in ``folder``, ``uses.parquet``
    (sorted by shop_id, kind, value) and ``values.parquet`` (by kind, value), the
    columns and order of the embedded engine's tables (dates as timestamps, to the
    microsecond: Spark's precision), and ``points.parquet``, what
    :meth:`graphlink.Analysis.address_points` gives (the factory leads read it; reading
    it from the uses took 190 MB of the driver at 100,000 shops); their paths.
    :func:`read` gives the first two back as the embedded engine's
    :class:`Identifiers`."""
    from pyspark.sql import functions as F

    from graphlink.spark.analysis import write_table

    epoch = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"  # no time zone: the data's own clock
    dated = {c: F.expr(f"timestampadd(MICROSECOND, {c} div 1000, {epoch})").alias(c)
             for c in ("first_seen", "last_seen")}
    uses = ids.uses.orderBy("shop_id", "kind", "value").select(
        *(dated.get(c, F.col(c)) for c in _USES_COLUMNS))
    more = [c for c in ("entities",) if c in ids.values.columns]
    values = ids.values.orderBy("kind", "value").select(*_VALUES_COLUMNS, *more)
    address = F.col("kind") == "address"
    points = (ids.uses.where(address).select("shop_id", "value")
              .join(ids.values.where(address).select("value", "lat", "lon"), "value", "left")
              .orderBy("shop_id", "value").select("shop_id", "value", "lat", "lon"))
    return (write_table(uses, folder / "uses.parquet"),
            write_table(values, folder / "values.parquet"),
            write_table(points, folder / "points.parquet"))


def read(uses, values) -> Identifiers:
    """The :class:`Identifiers` :func:`written` wrote: the embedded engine's frames
    (``account_id`` NaN where a use has none, as there)."""
    from graphlink.state.saved import _read
    from graphlink.state.store import StateError

    uses, values = _read(uses, StateError), _read(values, StateError)
    account = uses["account_id"].to_numpy(dtype=object)
    account[pd.isna(account)] = np.nan
    uses["account_id"] = account
    return Identifiers(uses, values)


def hub_limit_column(kind="kind"):
    """:func:`graphlink.linkage.link.hub_limit` as a Spark column of ``kind``."""
    from pyspark.sql import functions as F

    limit = F.lit(HUB_SHOPS)
    for name, shops in HUB_SHOPS_BY_KIND.items():
        limit = F.when(F.col(kind) == name, F.lit(shops)).otherwise(limit)
    return limit.cast("long")


def collected(ids) -> Identifiers:
    """The driver's :class:`Identifiers` of ``ids``, as the embedded engine makes them: the
    uses collected sorted by (shop_id, kind, value) (sorted on Spark; the embedded dtypes;
    converted column by column: :func:`_local`), the values' kind, value,
    shops and raw form taken from the uses by :func:`value_codes` (the same string
    objects, as the embedded engine shares them), and only what the uses do not give
    collected from the values (masked displays, coordinates, entities; sorted by kind and
    value). The Spark frames are then let go, and the memory Arrow's pool kept from the
    conversion is given back. Identifiers already on the driver are returned as they are."""
    from pyspark.sql import functions as F

    if not isinstance(ids, SparkIdentifiers):
        return ids
    if ids.empty:
        local = extract_here(Dataset.empty())
        local = count_here(local) if "entities" in ids.values.columns else local
        release()
        return local
    dated = {c: F.coalesce(F.col(c), F.lit(int(_NAT))).alias(c) for c in ("first_seen",
                                                                        "last_seen")}
    uses = _local(ids.uses.orderBy("shop_id", "kind", "value").select(
        *(dated.get(c, F.col(c)) for c in _USES_COLUMNS)))
    for column in dated:
        uses[column] = uses[column].to_numpy(dtype=np.int64).view("datetime64[ns]")
    account = uses["account_id"].to_numpy(dtype=object)
    account[pd.isna(account)] = np.nan  # the embedded engine's: NaN, not None
    uses["account_id"] = account
    codes, n = value_codes(uses)
    more = [c for c in ("entities",) if c in ids.values.columns]
    rest = _local(ids.values.orderBy("kind", "value").select(
        F.when(F.col("display") != F.col("value"), F.col("display")).alias("shown"),
        "lat", "lon", *more))
    if len(rest) != n:
        raise RuntimeError(f"{len(rest)} values on Spark, {n} among the uses")
    values = value_table(uses, codes, n)
    display = values["value"].to_numpy(dtype=object, copy=True)
    shown = rest["shown"].to_numpy(dtype=object)
    masked = pd.notna(shown)
    display[masked] = shown[masked]
    values["display"] = display
    for column in ("lat", "lon", *more):
        values[column] = rest[column].to_numpy()
    release()
    return Identifiers(uses, values, (uses, codes, n))


_SLICE = 1 << 16  # rows converted at a time


def _local(frame) -> pd.DataFrame:
    """``frame`` collected in its order (text as objects, numbers as numpy; a null number is
    NaN): through Arrow, one column at a time and each in slices of :data:`_SLICE` rows,
    the column's Arrow buffers dropped and Arrow's pool given back after it. Arrow gives
    each distinct string of a slice one object; converting a whole column of mostly
    distinct strings at once took 3x the memory of the result (at 30,000 shops 90 MB of
    the driver for the uses' values, freed after), a slice's dozens of MB at most."""
    import pyarrow as pa

    table = frame.toArrow()
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        parts = [column.slice(start, _SLICE).to_pandas().to_numpy()
                 for start in range(0, len(column), _SLICE)]
        columns[name] = np.concatenate(parts) if parts else column.to_pandas().to_numpy()
        table, column = table.drop_columns([name]), None
        pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns)


def release() -> None:
    """Unpersist the frames extraction persisted (once the driver holds the identifiers),
    and give back the memory Arrow's pool keeps from the conversions (mimalloc keeps
    freed pages for reuse: at 30,000 shops 130 MB of the driver after the uses' collect)."""
    import pyarrow as pa

    while _held:
        _held.pop().unpersist()
    pa.default_memory_pool().release_unused()
