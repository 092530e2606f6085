"""Pair evidence and comparison vectors on Spark.

:func:`evidence_frame` is :func:`graphlink.linkage.link.pair_evidence` as joins:
shops sharing a value with 2..its kind's hub limit of shops (a self-join of the
uses on the value), shops on the two values of a similarity link (the links
joined with the uses twice), and template values (over their kind's limit, at
most ``HUB_SHOPS`` shops) only between shops the other evidence paired (a
semi-join). The rows stay on Spark, checkpointed; :func:`weighed` weighs them there
and puts them in the embedded engine's order (:data:`EVIDENCE_ORDER`).

:func:`comparison_vectors` is :func:`graphlink.linkage.model.comparison_levels`
in a pandas function: the evidence is partitioned by shop pair, and each
partition's pairs get their vectors from ``comparison_levels`` itself (a pair's
vector reads only its own rows, the two shops' kinds and their dates; partitions
are sorted by pair and a pair split between two Arrow batches is put together
again); the driver receives one row per pair.

>>> _EVIDENCE_COLUMNS[:3]
['shop_a', 'shop_b', 'kind']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import HUB_SHOPS, Links, _users, hub_limit
from graphlink.linkage.model import MatchModel, Vectors, comparison_levels, evidence_weights
from graphlink.spark.extract import SparkIdentifiers, hub_limit_column, is_empty

__all__ = ["evidence_frame", "weighed", "vector_frame",
           "comparison_vectors", "EVIDENCE_ORDER"]

_EVIDENCE_COLUMNS = ["shop_a", "shop_b", "kind", "value_a", "value_b", "score", "method",
                     "shops", "users", "weight"]
_ROWS = ("shop_a string, shop_b string, kind string, value_a string, value_b string, "
         "a long, b long, source int, score double, method string, shops double, "
         "users double")


def _frames(spark, ids: Identifiers | SparkIdentifiers, links: Links):
    """The uses (with their value's shops, users and hub limit) and the links, on Spark
    (the identifiers' own frames, or shipped from the driver's tables)."""
    values = ids.values
    if isinstance(ids, SparkIdentifiers):
        from pyspark.sql import functions as F

        uses = ids.uses.select("shop_id", "kind", "value").join(values.select(
            "kind", "value", F.col("shops").cast("double").alias("shops"),
            F.col(_users(values)).cast("double").alias("users"),
            hub_limit_column().alias("limit")), ["kind", "value"])
    else:
        local = pd.DataFrame({"kind": values["kind"].astype(object),
                              "value": values["value"].astype(object),
                              "shops": values["shops"].to_numpy(float),
                              "users": values[_users(values)].to_numpy(float),
                              "limit": hub_limit(values["kind"]).astype(np.int64)})
        uses = spark.createDataFrame(ids.uses[["shop_id", "kind", "value"]].astype(object)).join(
            spark.createDataFrame(local), ["kind", "value"])
    return uses, _links(spark, links)


def _links(spark, links: Links):
    """The similarity links on Spark, numbered ``link`` in their order: left there by
    :func:`graphlink.spark.blocking.find_links`, or shipped from the driver's table."""
    from pyspark.sql import functions as F

    frame = links.similar_frame() if hasattr(links, "similar_frame") else None
    if frame is not None:
        return frame.select(F.col("idx").alias("link"), "kind",
                            F.col("value_a").alias("value_1"), F.col("value_b").alias("value_2"),
                            "score", "method", F.col("block_shops").cast("double").alias("block"))
    similar = links.similar
    found = pd.DataFrame({"link": np.arange(len(similar), dtype=np.int64),
                          "kind": similar["kind"].astype(object),
                          "value_1": similar["value_a"].astype(object),
                          "value_2": similar["value_b"].astype(object),
                          "score": similar["score"].to_numpy(float),
                          "method": similar["method"].astype(object),
                          "block": similar["block_shops"].to_numpy(float)})
    schema = ("link long, kind string, value_1 string, value_2 string, score double, "
              "method string, block double")
    return spark.createDataFrame(found, schema)


def _shared(uses, where):
    """Pairs of shops on one value (``where``: which values), shop_a < shop_b."""
    from pyspark.sql import functions as F

    mine = uses.where(where).select("kind", "value", "shop_id", "shops", "users")
    other = mine.select("kind", "value", F.col("shop_id").alias("shop_b"))
    return (mine.withColumnRenamed("shop_id", "shop_a").join(other, ["kind", "value"])
            .where(F.col("shop_a") < F.col("shop_b"))
            .select("shop_a", "shop_b", "kind", F.col("value").alias("value_a"),
                    F.col("value").alias("value_b"), F.lit(0).cast("long").alias("a"),
                    F.lit(0).cast("long").alias("b"), F.lit(1.0).alias("score"),
                    F.lit("exact").alias("method"), "shops", "users"))


def _fuzzy(uses, found):
    """Pairs of shops, one on each value of a similarity link (shop_a < shop_b)."""
    from pyspark.sql import functions as F

    one = uses.select("kind", F.col("value").alias("value_1"), F.col("shop_id").alias("s1"),
                      F.col("shops").alias("shops_1"), F.col("users").alias("users_1"))
    two = uses.select("kind", F.col("value").alias("value_2"), F.col("shop_id").alias("s2"),
                      F.col("shops").alias("shops_2"), F.col("users").alias("users_2"))
    both = found.join(one, ["kind", "value_1"]).join(two, ["kind", "value_2"]).where(
        F.col("s1") != F.col("s2"))
    swap = F.col("s1") > F.col("s2")
    return both.select(
        F.least("s1", "s2").alias("shop_a"), F.greatest("s1", "s2").alias("shop_b"), "kind",
        F.when(swap, F.col("value_2")).otherwise(F.col("value_1")).alias("value_a"),
        F.when(swap, F.col("value_1")).otherwise(F.col("value_2")).alias("value_b"),
        (F.col("link") + 1).alias("a"), swap.cast("long").alias("b"), "score", "method",
        F.greatest("shops_1", "shops_2").alias("shops"),
        F.greatest("users_1", "users_2", "block").alias("users"))


def evidence_frame(ids: Identifiers, links: Links, spark=None):
    """:func:`graphlink.linkage.link.pair_evidence` on Spark, lazy: its rows with the
    columns that order them as the embedded engine does (``a``, ``b``, ``source``; see
    :data:`EVIDENCE_ORDER`), checkpointed; None when there are no uses."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = spark or SparkSession.getActiveSession()
    if is_empty(ids):
        return None
    uses, found = _frames(spark, ids, links)
    uses = uses.persist()
    exact = _shared(uses, (F.col("shops") >= 2) & (F.col("shops") <= F.col("limit")))
    count = links.similar_count() if hasattr(links, "similar_count") else len(links.similar)
    paired = exact.unionByName(_fuzzy(uses, found)) if count else exact
    templates = _shared(uses, (F.col("shops") > F.col("limit")) & (F.col("shops") <= HUB_SHOPS))
    templates = templates.join(paired.select("shop_a", "shop_b").distinct(),
                               ["shop_a", "shop_b"], "left_semi")
    rows = (paired.withColumn("source", F.when(F.col("a") == 0, 0).otherwise(1))
            .unionByName(templates.withColumn("source", F.lit(2))))
    # read twice (for the vectors, then weighed and written) and by the plans of every
    # later query: on disk, its lineage cut (a persisted frame's plan is analysed again
    # by each query over it, and the planning threads' CPU doubled at 30,000 shops)
    rows = rows.checkpoint()
    uses.unpersist()
    return rows


#: the evidence's order (the embedded engine's): by shop pair, kind, link and side;
#: exact rows of one kind before template rows, each by value
EVIDENCE_ORDER = ("shop_a", "shop_b", "kind", "a", "b", "source", "value_a")


_WEIGHED = ("shop_a string, shop_b string, kind string, value_a string, value_b string, "
            "score double, method string, shops double, users double, weight double")


def weighed(rows, model: MatchModel, shops: int | None = None):
    """The evidence frame of :func:`evidence_frame` in the embedded engine's order, its
    columns those of :func:`graphlink.linkage.link.pair_evidence`, ``weight`` each row's
    :func:`graphlink.linkage.model.evidence_weights` (lazy; pandas rows are weighed as
    they are)."""
    if isinstance(rows, pd.DataFrame):
        return rows.assign(weight=evidence_weights(model, rows, shops))

    def weigh(batches):
        for batch in batches:
            yield batch[_EVIDENCE_COLUMNS[:-1]].assign(
                weight=evidence_weights(model, batch, shops))

    return rows.orderBy(*EVIDENCE_ORDER).mapInPandas(weigh, _WEIGHED)


def _whole_pairs(batches):
    """Arrow batches (of at most ``maxRecordsPerBatch`` rows) of evidence sorted by shop
    pair, regrouped so that no pair's rows are split between two: each batch's last
    pair waits for the next batch.

    >>> rows = pd.DataFrame({"shop_a": ["A", "A", "A"], "shop_b": ["B", "B", "C"]})
    >>> [len(b) for b in _whole_pairs([rows.iloc[:1], rows.iloc[1:]])]
    [2, 1]
    """
    carry = None
    for batch in batches:
        if carry is not None:
            batch = pd.concat([carry, batch], ignore_index=True)
        if not len(batch):
            continue
        last = ((batch["shop_a"] == batch["shop_a"].iat[-1])
                & (batch["shop_b"] == batch["shop_b"].iat[-1])).to_numpy()
        carry = batch[last]
        if (~last).any():
            yield batch[~last].reset_index(drop=True)
    if carry is not None and len(carry):
        yield carry.reset_index(drop=True)


_SHOP_SCHEMA = ("shop_id string, kinds string, listed boolean, created_at timestamp, "
                "status string, banned_at timestamp")


def _shop_rows(kinds: pd.Series, shops: pd.DataFrame) -> pd.DataFrame:
    """One row per shop: its ``kinds`` (None: none), whether ``shops`` lists it, and the
    columns :func:`graphlink.linkage.model.pair_context` reads (its first row's).

    >>> t = pd.DataFrame({"shop_id": ["S1"], "created_at": [pd.Timestamp("2024-01-01")],
    ...                   "status": ["active"], "banned_at": [pd.NaT]})
    >>> _shop_rows(pd.Series({"S2": "phone"}), t)[["shop_id", "kinds", "listed"]].values.tolist()
    [['S1', None, True], ['S2', 'phone', False]]
    """
    table = shops[["shop_id", "created_at", "status", "banned_at"]].drop_duplicates("shop_id")
    table = table.assign(listed=True).merge(
        pd.DataFrame({"shop_id": kinds.index.to_numpy(dtype=object),
                      "kinds": kinds.to_numpy(dtype=object)}), on="shop_id", how="outer")
    out = pd.DataFrame({"shop_id": table["shop_id"].astype(object),
                        "kinds": table["kinds"].astype(object),
                        "listed": table["listed"].eq(True).to_numpy(),
                        "created_at": pd.to_datetime(table["created_at"]),
                        "status": table["status"].astype(object),
                        "banned_at": pd.to_datetime(table["banned_at"])})
    for c in ("kinds", "status"):
        out[c] = out[c].where(out[c].notna(), None)
    return out


def _shop_info(spark, kinds, shops: pd.DataFrame):
    """:func:`_shop_rows` on Spark (:data:`_SHOP_SCHEMA`): ``kinds`` a Series, or the
    Spark frame of :func:`graphlink.spark.extract.shop_kinds` (joined there)."""
    from pyspark.sql import functions as F

    if isinstance(kinds, pd.Series):
        return spark.createDataFrame(_shop_rows(kinds, shops), _SHOP_SCHEMA)
    listed = spark.createDataFrame(_shop_rows(pd.Series(dtype=object), shops), _SHOP_SCHEMA)
    return listed.drop("kinds").join(kinds, "shop_id", "full_outer").select(
        "shop_id", "kinds", F.coalesce(F.col("listed"), F.lit(False)).alias("listed"),
        "created_at", "status", "banned_at")


def _batch_shops(batch: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The kinds and the shops table of the shops of one batch of evidence that carries
    them on its rows (``<column>_a``, ``<column>_b``; :func:`vector_frame`)."""
    sides = [batch[[f"shop_{s}", *(f"{c}_{s}" for c in _SHOP_SCHEMA_COLUMNS)]].set_axis(
        ["shop_id", *_SHOP_SCHEMA_COLUMNS], axis=1) for s in ("a", "b")]
    both = pd.concat(sides, ignore_index=True).drop_duplicates("shop_id")
    known = both[both["kinds"].notna()]
    kinds = pd.Series(known["kinds"].to_numpy(dtype=object),
                      index=known["shop_id"].to_numpy(dtype=object))
    listed = both[both["listed"].astype(bool)]
    return kinds, listed[["shop_id", "created_at", "status", "banned_at"]]


_SHOP_SCHEMA_COLUMNS = ["kinds", "listed", "created_at", "status", "banned_at"]
_VECTOR_INPUT = ["shop_a", "shop_b", "kind", "value_a", "score", "method", "users"]


def vector_frame(evidence: pd.DataFrame, kinds, shops: pd.DataFrame,
                 spark=None, partitions: int | None = None):
    """The comparison vectors of ``evidence`` on Spark (persisted; the schema of
    :func:`graphlink.spark.model.vector_frame`): :func:`comparison_levels` run on each
    partition of shop pairs. What it reads of the two shops of a pair (their kinds, and
    creation, status and ban for the context) is joined to the evidence rows on Spark:
    the function carries no shops table in its closure (which every task would ship).
    ``kinds``: the shops' kinds as a Series, or as the Spark frame of
    :func:`graphlink.spark.extract.shop_kinds`."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from graphlink.spark.model import VECTOR_SCHEMA, _vector_rows

    spark = spark or SparkSession.getActiveSession()

    def vectors(batches):
        for batch in _whole_pairs(batches):
            mine, table = _batch_shops(batch)
            yield _vector_rows(comparison_levels(batch[_VECTOR_INPUT], mine, table))

    # value_a too: a shared masked card is read as masked-compatible (model._method)
    if isinstance(evidence, pd.DataFrame):
        frame = spark.createDataFrame(
            evidence[_VECTOR_INPUT].astype({c: object for c in ("shop_a", "shop_b", "kind",
                                                               "value_a", "method")}),
            "shop_a string, shop_b string, kind string, value_a string, score double, "
            "method string, users double")
    else:  # the evidence frame of evidence_frame, on Spark
        frame = evidence.select(*_VECTOR_INPUT)
    info = _shop_info(spark, kinds, shops)
    for side in ("a", "b"):
        frame = frame.join(info.select(F.col("shop_id").alias(f"shop_{side}"), *(
            F.col(c).alias(f"{c}_{side}") for c in _SHOP_SCHEMA_COLUMNS)), f"shop_{side}", "left")
    parts = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    return (frame.repartition(parts, "shop_a", "shop_b").sortWithinPartitions("shop_a", "shop_b")
            .mapInPandas(vectors, VECTOR_SCHEMA).persist())


def comparison_vectors(evidence: pd.DataFrame, kinds: pd.Series, shops: pd.DataFrame,
                       spark=None, partitions: int | None = None) -> Vectors:
    """:func:`graphlink.linkage.model.comparison_levels` of ``evidence`` computed on Spark,
    one partition of shop pairs at a time: the same vectors, pairs in the same order."""
    from graphlink.spark.model import as_vectors

    if not len(evidence):
        return comparison_levels(evidence, kinds, shops)
    frame = vector_frame(evidence, kinds, shops, spark, partitions)
    got = frame.toPandas().sort_values(["shop_a", "shop_b"], ignore_index=True)
    frame.unpersist()
    return as_vectors(got)
