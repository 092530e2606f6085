"""Blocking and value comparison on Spark: :func:`graphlink.linkage.link.find_links` as joins.

The same passes (:data:`graphlink.linkage.link.PASSES`), the same caps and the
same candidate pairs as the embedded engine, computed on Spark DataFrames:

1. every value of a pass's kind (at most its kind's hub limit of shops) gets the
   pass's key and sort text in a pandas function (``mapInPandas``: the pass's
   own key function on a batch of values);
2. a key's values and users are an aggregation; a key shared by more than
   ``MAX_BLOCK`` values is a hub block, reported and not compared (the cap);
3. the values are sorted by (pass, key, text, value) and numbered 0, 1, 2, ...
   across partitions (each partition's count, summed on the driver: no single
   partition holds a pass), then cut into chunks of ``CHUNK`` consecutive
   numbers, each chunk with a copy of the ``WINDOW - 1`` values after it, so
   that a chunk holds every neighbour its values meet (each value travels once,
   not once per neighbour);
4. in a pandas function per chunk, each value meets the ``WINDOW - 1`` values
   after it in its pass (with equal keys where the pass blocks on them), then
   each candidate's prefilter (rapidfuzz ``cpdist``) and rule
   (:mod:`graphlink.linkage.compare`); what the driver receives is the links
   (pairs scoring at least the pass's minimum), the hub blocks and the count of
   comparisons and candidates.

The driver then builds :class:`graphlink.linkage.link.Links` exactly as the
embedded engine does (one link per pair of values: the best score, then the
smallest block, then the first pass), and collects the passes' keys, which a
state saves for :func:`graphlink.linkage.link.link_new`.

>>> from graphlink.linkage.link import PASSES
>>> _shared_rules(PASSES)[0] < len(PASSES)
True
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from rapidfuzz import process

from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import (
    HUB_SHOPS,
    HUB_SHOPS_BY_KIND,
    MAX_BLOCK,
    PASSES,
    WINDOW,
    Links,
    _apply,
    _forget_edit_texts,
    _links_frame,
    _users,
)
from graphlink.spark.extract import is_empty

__all__ = ["find_links", "SparkLinks"]

_KEYED_SCHEMA = ("pass long, kind string, value string, key string, text string, "
                 "users double, crowd boolean, same_key boolean")
_FOUND_SCHEMA = ("pass long, value_a string, value_b string, score double, method string, "
                 "shops long, link boolean")


def _shared_rules(passes) -> list[int]:
    """Indices of the passes whose rule (with its ``may_link``) another pass shares: the
    embedded engine memoises those and calls them on the pair in sorted order.

    >>> from graphlink.linkage.link import PASSES
    >>> [PASSES[i].name for i in _shared_rules(PASSES)][:3]
    ['place', 'geocell', 'street']
    """
    uses = Counter((bp.rule, bp.may_link) for bp in passes)
    return [i for i, bp in enumerate(passes) if uses[(bp.rule, bp.may_link)] > 1]


def _passes(chosen: list[int]) -> list:
    """The passes of :data:`PASSES` at ``chosen`` (Spark's workers get indices: the passes'
    rapidfuzz scorers do not pickle)."""
    from graphlink.linkage.link import PASSES

    return [PASSES[i] for i in chosen]


def _keyed_batches(chosen: list[int], users: str):
    """A ``mapInPandas`` function: each value's key and sort text in every pass of its kind
    (values over their kind's hub limit and values without a key left out)."""
    def keyed(batches):
        passes = _passes(chosen)
        for batch in batches:
            for i, bp in enumerate(passes):
                limit = HUB_SHOPS_BY_KIND.get(bp.kind, HUB_SHOPS)
                part = batch[(batch["kind"] == bp.kind) & (batch["shops"] <= limit)]
                if not len(part):
                    continue
                part = part.assign(key=bp.key(part)).dropna(subset=["key"])
                if not len(part):
                    continue
                if bp.order is not None:
                    text = bp.order(part)
                else:
                    text = part["value"] if bp.text is str else _apply(part["value"], bp.text)
                yield pd.DataFrame({
                    "pass": np.full(len(part), i, dtype=np.int64), "kind": bp.kind,
                    "value": part["value"].to_numpy(dtype=object),
                    "key": part["key"].astype(str).to_numpy(dtype=object),
                    "text": np.asarray(text, dtype=object),
                    "users": part[users].to_numpy(dtype=float), "crowd": bp.crowd,
                    "same_key": bp.same_key})
        _forget_edit_texts()
    return keyed


def _compared_batches(chosen: list[int]):
    """A ``mapInPandas`` function: each candidate pair's prefilter and rule, as the embedded
    engine's ``_candidates`` and ``_compared`` apply them (pairs the prefilter drops are
    not returned; ``link``: the rule's score reaches the pass's minimum)."""
    def compared(batches):
        passes = _passes(chosen)
        sorted_rule = set(_shared_rules(passes))
        for batch in batches:
            for i, part in batch.groupby("pass", sort=False):
                bp = passes[int(i)]
                a, b = part["value"].tolist(), part["value_b"].tolist()
                keep = np.ones(len(part), dtype=bool)
                if bp.scorer is not None:
                    scores = process.cpdist(part["text"].tolist(), part["text_b"].tolist(),
                                            scorer=bp.scorer, score_cutoff=bp.cutoff, workers=1)
                    keep = np.asarray(scores) > 0
                rows = np.flatnonzero(keep)
                may_link = bp.may_link or (lambda x, y: True)
                pairs = [(a[r], b[r]) if i not in sorted_rule or a[r] <= b[r] else (b[r], a[r])
                         for r in rows.tolist()]
                sims = [bp.rule(x, y) if may_link(x, y) else None for x, y in pairs]
                shops = np.maximum(part["key_shops"].to_numpy(), part["shops_b"].to_numpy())[rows]
                yield pd.DataFrame({
                    "pass": np.full(len(pairs), int(i), dtype=np.int64),
                    "value_a": np.array([min(x, y) for x, y in pairs], dtype=object),
                    "value_b": np.array([max(x, y) for x, y in pairs], dtype=object),
                    "score": np.array([s.score if s is not None else np.nan for s in sims],
                                      dtype=float),
                    "method": np.array([s.method if s is not None else "" for s in sims],
                                       dtype=object),
                    "shops": shops.astype(np.int64),
                    "link": np.array([s is not None and s.score >= bp.minimum for s in sims],
                                     dtype=bool)})
                yield _counted(int(i), len(pairs))
        _forget_edit_texts()
    return compared


#: consecutive numbered values compared in one pandas call (plus the ``WINDOW - 1`` after)
CHUNK = 20_000

_COUNT = "#count"  # the method of a row counting a batch's candidates (in ``shops``)


def _counted(i: int, n: int) -> pd.DataFrame:
    """The row saying a batch of pass ``i`` had ``n`` candidates."""
    return pd.DataFrame({"pass": np.array([i], dtype=np.int64), "value_a": "", "value_b": "",
                         "score": np.nan, "method": _COUNT, "shops": np.array([n], np.int64),
                         "link": False})


def _numbered(frame, order: list[str]):
    """``frame`` sorted by ``order`` with ``idx``: 0, 1, 2, ... in that order across all
    partitions (each partition's size summed on the driver; no partition holds it all)."""
    from pyspark.sql import functions as F

    ranked = (frame.orderBy(*order).withColumn("pid", F.spark_partition_id())
              .withColumn("mid", F.monotonically_increasing_id()).persist())
    sizes = sorted((r["pid"], r["n"], r["low"]) for r in ranked.groupBy("pid").agg(
        F.count("*").alias("n"), F.min("mid").alias("low")).collect())
    bases, start = [], 0
    for pid, n, low in sizes:
        bases.append((pid, start - low))
        start += n
    spark = frame.sparkSession
    base = spark.createDataFrame(bases or [(0, 0)], "pid int, base long")
    return ranked.join(F.broadcast(base), "pid").withColumn(
        "idx", F.col("mid") + F.col("base")).drop("pid", "mid", "base"), ranked


def find_links(ids: Identifiers, spark=None, passes=PASSES, window: int = WINDOW) -> Links:
    """:func:`graphlink.linkage.link.find_links` on Spark: the same links, hub blocks, keys
    and counts, the comparisons run in Spark's workers.

    ``spark``: the session (the running one by default); ``passes``: some of
    :data:`PASSES`, in their order.
    """
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = spark or SparkSession.getActiveSession()
    chosen = [PASSES.index(bp) for bp in passes]
    users = _users(ids.values)
    dtype = _users_dtype(ids.values, users)
    if is_empty(ids):
        return Links(_links_frame([]), 0, 0, pd.DataFrame(), _keys(pd.DataFrame(), passes, dtype))
    keyed = _values(spark, ids.values, users).mapInPandas(
        _keyed_batches(chosen, users), _KEYED_SCHEMA).persist()
    hubs, sizes, kept, stats = _capped(keyed)
    indexed, ranked = _numbered(kept, ["pass", "key", "text", "value"])
    indexed = indexed.persist()
    # "found" numbers the rows as a last tie-break; a pass meets a pair once at most, and
    # _similar orders by pass before it, so it never decides
    found = (_chunked(indexed, window).groupBy("chunk")
             .applyInPandas(_window_compared(chosen, window), _FOUND_SCHEMA)
             .where("link or method = '#count'")
             .withColumn("found", F.monotonically_increasing_id()).checkpoint())
    # on disk, not on the driver: only a saved state reads the keys (SparkLinks.keys)
    keys = indexed.select("idx", "pass", "kind", "key", "text", "value", "key_shops").checkpoint()
    for frame in (indexed, ranked, stats, keyed):
        frame.unpersist()
    candidates = found.where(F.col("method") == _COUNT).agg(F.sum("shops")).first()[0]
    similar, count = _similar(found.where(~(F.col("method") == _COUNT)), passes)
    comparisons = sum(sum(n - d for d in range(1, min(window, n))) for n in sizes.values())
    links = SparkLinks(_links_frame([]), comparisons, int(candidates or 0),
                       pd.DataFrame(_hub_blocks(hubs, passes)))
    links.keep_on_spark(keys, passes, dtype)
    links.similar_on_spark(similar, count)
    return links


def _similar(found, passes):
    """:func:`graphlink.linkage.link._links_frame` on Spark: one link per (kind, value_a,
    value_b), the best score, then the smallest block, then the first found (by pass,
    then as found), numbered ``idx`` in (kind, value_a, value_b) order; checkpointed.
    Returns it and its count."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    kind = F.create_map(*[F.lit(x) for i, bp in enumerate(passes) for x in (i, bp.kind)])
    links = found.select(kind[F.col("pass")].alias("kind"), "value_a", "value_b", "score",
                         "method", F.col("shops").alias("block_shops"), "pass", "found")
    first = Window.partitionBy("kind", "value_a", "value_b").orderBy(
        F.desc("score"), "block_shops", "pass", "found")
    best = links.withColumn("r", F.row_number().over(first)).where("r = 1").drop(
        "r", "pass", "found")
    indexed, ranked = _numbered(best, ["kind", "value_a", "value_b"])
    similar = indexed.checkpoint()
    ranked.unpersist()
    return similar, similar.count()


class SparkLinks(Links):
    """:class:`graphlink.linkage.link.Links` whose ``keys`` stay on Spark (a checkpointed
    frame, on disk in the session's checkpoint folder) until read: each read of ``keys``
    collects them afresh and the driver keeps no copy (a saved state reads them once, for
    :func:`graphlink.linkage.link.link_new`; the analysis itself never does). Keys set
    (the constructor, ``dataclasses.replace``) are held as given.

    >>> links = SparkLinks(pd.DataFrame(), keys=pd.DataFrame({"key": ["a"]}))
    >>> links.keys["key"].tolist()
    ['a']
    """

    _frame = None  # the checkpointed keys (idx, pass, kind, key, text, value, key_shops)
    _passes: tuple = ()
    _dtype = object
    _links = None  # the checkpointed links (idx and the columns of similar)
    _count = 0

    def similar_on_spark(self, frame, count: int) -> None:
        """Read ``similar`` from ``frame`` (:func:`_similar`'s, ``count`` rows) from now on,
        once, when first asked for."""
        self._links, self._count = frame, count
        self.__dict__.pop("_similar", None)

    def similar_frame(self):
        """The links on Spark (``idx`` and the columns of ``similar``), or None when they
        are held here."""
        return self._links

    def similar_count(self) -> int:
        """How many links there are (without reading them)."""
        return self._count if self._links is not None else len(self.similar)

    @property
    def similar(self) -> pd.DataFrame:  # type: ignore[override]
        """The links, as :func:`graphlink.linkage.link._links_frame` gives them: collected
        from Spark on first use, then held."""
        if "_similar" not in self.__dict__:
            self.__dict__["_similar"] = _collected_links(self._links)
        return self.__dict__["_similar"]

    @similar.setter
    def similar(self, frame: pd.DataFrame) -> None:
        self.__dict__["_similar"], self._links = frame, None

    def keep_on_spark(self, frame, passes, dtype) -> None:
        """Read ``keys`` from ``frame`` (find_links' numbered keys) from now on."""
        self._frame, self._passes, self._dtype = frame, tuple(passes), dtype

    @property
    def keys(self) -> pd.DataFrame:  # type: ignore[override]
        """Every pass's keyed values, as :func:`_keys` orders them."""
        if self._frame is None:
            return self._held
        return _keys(self._frame.toPandas().sort_values("idx"), self._passes, self._dtype)

    @keys.setter
    def keys(self, frame: pd.DataFrame) -> None:
        self._held, self._frame = frame, None


def _collected_links(frame) -> pd.DataFrame:
    """The links of :func:`_similar` collected, typed as the embedded engine's."""
    local = frame.orderBy("idx").drop("idx").toPandas()
    if not len(local):
        return _links_frame([])
    for column in ("kind", "value_a", "value_b", "method"):
        local[column] = local[column].astype(object)
    local["score"] = local["score"].astype(float)
    local["block_shops"] = local["block_shops"].astype(np.int64)
    return local


def _users_dtype(values, users: str) -> np.dtype:
    """The dtype of the values' ``users`` column (on Spark: as collected)."""
    if isinstance(values, pd.DataFrame):
        return values[users].dtype
    return np.dtype(np.int64 if values.schema[users].dataType.typeName() == "long" else float)


def _values(spark, values, users: str):
    """The columns of the values table the passes read, as a Spark DataFrame (``values``:
    the identifiers' own on Spark, or shipped from the driver's table)."""
    cols = ["kind", "value", "shops", users] + [c for c in ("lat", "lon") if c in values.columns]
    floats = {users, "lat", "lon"}
    if not isinstance(values, pd.DataFrame):
        from pyspark.sql import functions as F

        return values.select(*(F.col(c).cast("double" if c in floats else "long").alias(c)
                               if c not in ("kind", "value") else c
                               for c in dict.fromkeys(cols)))
    local = values[list(dict.fromkeys(cols))].copy()
    local["shops"] = local["shops"].astype(np.int64)
    for c in floats & set(local.columns):
        local[c] = local[c].astype(float)
    return spark.createDataFrame(local)


def _capped(keyed):
    """The hub blocks (keys over ``MAX_BLOCK`` values: rows), each pass's count of values
    left, and those values with ``key_shops`` (the users on the key, or the value's own);
    plus the persisted key statistics (to unpersist)."""
    from pyspark.sql import functions as F

    keyed = keyed.withColumn("users", F.nanvl("users", F.lit(None).cast("double")))
    stats = keyed.groupBy("pass", "key").agg(
        F.count("*").alias("key_values"), F.coalesce(F.sum("users"), F.lit(0.0)).alias("key_sum"),
        F.min_by("users", "value").alias("first_users"), F.first("crowd").alias("crowd"),
    ).persist()
    small = F.col("key_values") <= MAX_BLOCK
    per_pass = stats.where(small).groupBy("pass").agg(F.sum("key_values").alias("key_values"))
    told = stats.where(~small).unionByName(per_pass, allowMissingColumns=True).collect()
    hubs = [r for r in told if r["key"] is not None]
    sizes = {r["pass"]: r["key_values"] for r in told if r["key"] is None}
    kept = (keyed.join(stats.where(small).select("pass", "key", "key_sum"), ["pass", "key"])
            .withColumn("key_shops", F.when(F.col("crowd"), F.col("key_sum"))
                        .otherwise(F.coalesce(F.col("users"), F.lit(0.0))))
            .drop("key_sum", "users", "crowd"))
    return hubs, sizes, kept, stats


def _chunked(indexed, window: int):
    """The numbered values in chunks of ``CHUNK`` numbers (``chunk``), each chunk with a
    copy of the ``window - 1`` values after it (``tail``: compared with, not from)."""
    from pyspark.sql import functions as F

    columns = ["idx", "pass", "key", "text", "value", "key_shops", "same_key"]
    chunk = F.expr(f"idx div {CHUNK}")
    own = indexed.select(*columns, chunk.alias("chunk"), F.lit(False).alias("tail"))
    # the chunks whose last value is fewer than ``window`` values before this one
    first = F.greatest(F.lit(0), F.floor((F.col("idx") - (window - 1)) / CHUNK).cast("long"))
    after = (indexed.where(first < chunk)
             .select(*columns, F.explode(F.sequence(first, chunk - 1)).alias("chunk"),
                     F.lit(True).alias("tail")))
    return own.unionByName(after)


def _window_compared(chosen: list[int], window: int):
    """An ``applyInPandas`` function on one chunk of :func:`_chunked`: each of its own values
    with the ``window - 1`` after it in its pass (equal keys where the pass blocks on them),
    compared as :func:`_compared_batches` does."""
    compared = _compared_batches(chosen)

    def windowed(chunk: pd.DataFrame) -> pd.DataFrame:
        chunk = chunk.sort_values("idx", ignore_index=True)
        own = ~chunk["tail"].to_numpy(dtype=bool)
        passes, keys = chunk["pass"].to_numpy(), chunk["key"].to_numpy(dtype=object)
        same_key = chunk["same_key"].to_numpy(dtype=bool)
        lefts = [np.flatnonzero(own[: max(len(chunk) - d, 0)]) for d in range(1, window)]
        left = np.concatenate(lefts or [np.zeros(0, np.int64)])
        right = left + np.repeat(np.arange(1, window), [len(i) for i in lefts])
        keep = (passes[left] == passes[right]) & (~same_key[left] | (keys[left] == keys[right]))
        left, right = left[keep], right[keep]
        pairs = pd.DataFrame({
            "pass": passes[left], "value": chunk["value"].to_numpy(dtype=object)[left],
            "text": chunk["text"].to_numpy(dtype=object)[left],
            "key_shops": chunk["key_shops"].to_numpy()[left],
            "value_b": chunk["value"].to_numpy(dtype=object)[right],
            "text_b": chunk["text"].to_numpy(dtype=object)[right],
            "shops_b": chunk["key_shops"].to_numpy()[right]})
        found = list(compared(iter([pairs])))
        return pd.concat(found, ignore_index=True) if found else _counted(0, 0).iloc[:0]
    return windowed


def _hub_blocks(rows, passes) -> list[dict]:
    """The hub blocks as the embedded engine lists them: by pass, then key."""
    found = sorted(rows, key=lambda r: (r["pass"], r["key"]))
    return [{"kind": passes[r["pass"]].kind, "pass": passes[r["pass"]].name, "key": r["key"],
             "values": int(r["key_values"]),
             "shops": int(r["key_sum"] if r["crowd"] else r["first_users"])} for r in found]


def _keys(keys: pd.DataFrame, passes, users_dtype) -> pd.DataFrame:
    """Every pass's keyed values (key, text, value, key_shops, pass, kind), in pass order and
    each pass sorted by (key, text, value) (the order of ``idx``), as the embedded engine's
    ``Links.keys``."""
    columns = ["key", "text", "value", "key_shops", "pass", "kind"]
    if not len(keys):
        return pd.DataFrame({c: pd.Series(dtype=users_dtype if c == "key_shops" else object)
                             for c in columns})
    names = np.array([bp.name for bp in passes], dtype=object)
    keys = keys.reset_index(drop=True)
    return pd.DataFrame({
        "key": keys["key"].astype(object), "text": keys["text"].astype(object),
        "value": keys["value"].astype(object),
        "key_shops": keys["key_shops"].astype(users_dtype),
        "pass": names[keys["pass"].to_numpy()], "kind": keys["kind"].astype(object)})
