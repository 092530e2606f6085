"""The second look on Spark: :func:`graphlink.linkage.recompare.second_look` as joins.

Names: each shop's name parts (``recompare._surnames`` per Arrow batch of holder
names), the shops per part counted, and the pairs whose name comparison is
``other`` joined with the parts of both shops: the rarest shared part's count is
the ``surname`` level's frequency. Addresses: each shop's first three distinct
Latin addresses in the uses' order (uses are sorted by shop, kind and value: a
shop's smallest values), the pairs whose address comparison is ``other`` joined
with both shops' addresses and their token-sort ratio computed in a pandas
function (rapidfuzz, as ``recompare._ratios``); the best ratio of a pair of at
least ``RESEMBLING`` makes it ``resembling``. The result is the vector frame with
those levels, on Spark.

:func:`sampled_u` is :func:`graphlink.linkage.recompare.sampled_u` of uses on
Spark: the same random pairs (ranks among the shops carrying the kind, sorted:
counted and numbered on Spark), and the embedded tests run on the driver over the
holder names or addresses of the sampled shops only (at most ``2 * SAMPLE`` shops,
however large the data).

>>> _PER_SHOP
3
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.linkage.model import COMPARISONS
from graphlink.linkage.recompare import (
    _ADDRESS,
    _NAME,
    _PER_SHOP,
    _RESEMBLING,
    _SURNAME,
    RESEMBLING,
    SAMPLE,
    SAMPLED_LEVELS,
    _surnames,
    sample_pairs,
)
from graphlink.linkage.recompare import sampled_u as sampled_here

__all__ = ["second_look", "sampled_u"]

_HANZI = "[\u4e00-\u9fff]"


def _uses_frame(spark, uses):
    """The holder names and addresses of ``uses`` on Spark (a Spark frame read as it is,
    or the driver's table shipped)."""
    kinds = ["holder_name", "address"]
    if not isinstance(uses, pd.DataFrame):
        from pyspark.sql import functions as F

        return uses.where(F.col("kind").isin(*kinds)).select("shop_id", "kind", "value")
    keep = uses[uses["kind"].isin(kinds)]
    rows = pd.DataFrame({"shop_id": keep["shop_id"].astype(object).to_numpy(),
                         "kind": keep["kind"].astype(object).to_numpy(),
                         "value": keep["value"].astype(object).to_numpy()})
    return spark.createDataFrame(rows, "shop_id string, kind string, value string")


def _shared_surnames(frame, uses):
    """(shop_a, shop_b, shared): the shops carrying the rarest name part the two share,
    for the pairs whose name comparison is ``other``."""
    from pyspark.sql import functions as F

    def parts(batches):
        for batch in batches:
            yield _surnames(batch)

    names = (uses.where(F.col("kind") == "holder_name").select("shop_id", "kind", "value")
             .mapInPandas(parts, "shop_id string, surname string").distinct())
    names = names.join(names.groupBy("surname").agg(F.count("*").alias("users")), "surname")
    other = len(COMPARISONS["name"][1])
    pairs = frame.where(F.col(f"l{_NAME}") == other).select("shop_a", "shop_b")
    mine = names.select(F.col("shop_id").alias("shop_a"), "surname", "users")
    theirs = names.select(F.col("shop_id").alias("shop_b"), "surname")
    return (pairs.join(mine, "shop_a").join(theirs, ["shop_b", "surname"])
            .groupBy("shop_a", "shop_b").agg(F.min("users").cast("double").alias("shared")))


def _resembling(frame, uses):
    """(shop_a, shop_b): the pairs whose address comparison is ``other`` and whose
    Latin addresses resemble (token-sort ratio of at least ``RESEMBLING``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    places = uses.where((F.col("kind") == "address") & F.col("value").isNotNull()
                        & ~F.col("value").rlike(_HANZI))
    first = places.select("shop_id", "value").distinct()
    order = Window.partitionBy("shop_id").orderBy("value")
    first = (first.withColumn("n", F.row_number().over(order)).where(F.col("n") <= _PER_SHOP)
             .groupBy("shop_id").agg(F.collect_list("value").alias("values")))
    other = len(COMPARISONS["address"][1])
    pairs = frame.where(F.col(f"l{_ADDRESS}") == other).select("shop_a", "shop_b")
    # one row per pair with both shops' addresses (not one per pair of addresses)
    both = (pairs.join(first.select(F.col("shop_id").alias("shop_a"),
                                    F.col("values").alias("values_a")), "shop_a")
            .join(first.select(F.col("shop_id").alias("shop_b"),
                               F.col("values").alias("values_b")), "shop_b"))
    return both.select("shop_a", "shop_b", "values_a", "values_b").mapInArrow(
        _resembling_batches, "shop_a string, shop_b string")


def _resembling_batches(batches):
    """A ``mapInArrow`` function: the rows (shop_a, shop_b, values_a, values_b) whose best
    token-sort ratio over the two lists' pairs of values is at least ``RESEMBLING``."""
    import pyarrow as pa
    from rapidfuzz import fuzz, process

    for batch in batches:
        row, a, b = _every_pair(batch.column("values_a"), batch.column("values_b"))
        score = process.cpdist(a.tolist(), b.tolist(), scorer=fuzz.token_sort_ratio, workers=1)
        best = np.zeros(batch.num_rows)
        np.maximum.at(best, row, np.asarray(score, dtype=float))
        keep = pa.array(best >= RESEMBLING)
        yield pa.RecordBatch.from_arrays([batch.column("shop_a").filter(keep),
                                          batch.column("shop_b").filter(keep)],
                                         names=["shop_a", "shop_b"])


def _every_pair(left, right) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's every (left item, right item) of two Arrow list columns, flattened:
    (row, left item, right item).

    >>> import pyarrow as pa
    >>> row, a, b = _every_pair(pa.array([["x", "y"], ["z"]]), pa.array([["p"], ["q", "r"]]))
    >>> row.tolist(), a.tolist(), b.tolist()
    ([0, 0, 1, 1], ['x', 'y', 'z', 'z'], ['p', 'p', 'q', 'r'])
    """
    # a sliced batch's offsets start where the slice does
    starts_a, starts_b = (np.asarray(c.offsets) - c.offsets[0].as_py() for c in (left, right))
    lengths_a, lengths_b = np.diff(starts_a), np.diff(starts_b)
    counts = lengths_a * lengths_b
    row = np.repeat(np.arange(len(counts)), counts)
    at = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    flat_a = left.flatten().to_numpy(zero_copy_only=False)
    flat_b = right.flatten().to_numpy(zero_copy_only=False)
    return (row, flat_a[starts_a[row] + at // lengths_b[row]],
            flat_b[starts_b[row] + at % lengths_b[row]])


def second_look(frame, uses, spark=None):
    """The vector frame (:func:`graphlink.spark.model.vector_frame`'s schema) with
    ``surname`` and ``resembling`` levels where the name or address comparison was
    ``other``, as :func:`graphlink.linkage.recompare.second_look` gives them (checkpointed and
    persisted; ``frame`` is unpersisted). ``uses``: a Spark frame
    (:class:`graphlink.spark.extract.SparkIdentifiers`' own) or the driver's table."""
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = spark or SparkSession.getActiveSession()
    names = _uses_frame(spark, uses)
    shared = _shared_surnames(frame, names)
    alike = _resembling(frame, names).withColumn("alike", F.lit(True))
    out = frame.join(shared, ["shop_a", "shop_b"], "left").join(alike, ["shop_a", "shop_b"],
                                                                 "left")
    hit = F.col("shared").isNotNull() & (F.col("shared") > 0)
    name, address = f"l{_NAME}", f"l{_ADDRESS}"
    out = out.withColumn(name, F.when(hit, F.lit(_SURNAME)).otherwise(F.col(name))
                         .cast("tinyint"))
    out = out.withColumn(f"u{_NAME}", F.when(hit, F.col("shared"))
                         .otherwise(F.col(f"u{_NAME}")))
    out = out.withColumn(address, F.when(F.col("alike").isNotNull(), F.lit(_RESEMBLING))
                         .otherwise(F.col(address)).cast("tinyint"))
    # written (its lineage cut): the shuffles that made the vectors can be freed, and
    # the vectors before the second look are not needed again; held in memory where it
    # fits, else read from the checkpoint (not spilled as a second copy)
    out = out.select(*frame.columns).checkpoint().persist(StorageLevel.MEMORY_ONLY)
    frame.unpersist()
    return out


def sampled_u(uses, size: int = SAMPLE, seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`graphlink.linkage.recompare.sampled_u` of ``uses`` on Spark (the driver's
    table: the embedded function): the same pairs drawn, the same tests, the same u."""
    from pyspark.sql import functions as F

    from graphlink.spark.blocking import _numbered

    if isinstance(uses, pd.DataFrame):
        return sampled_here(uses, size, seed)
    spark = uses.sparkSession
    rng = np.random.default_rng(seed)
    out = {}
    for comparison, kind, level, test in SAMPLED_LEVELS:
        carriers = uses.where(F.col("kind") == kind).select("shop_id").distinct()
        indexed, ranked = _numbered(carriers, ["shop_id"])
        n = ranked.count()
        if n < 2:
            ranked.unpersist()
            continue
        a, b = sample_pairs(rng, n, size)
        ranks = np.unique(np.r_[a, b])
        wanted = spark.createDataFrame(pd.DataFrame({"idx": ranks}), "idx long")
        found = indexed.join(wanted, "idx").select("idx", "shop_id").toPandas()
        ranked.unpersist()
        shops = found.sort_values("idx")["shop_id"].to_numpy(dtype=object)
        pairs = pd.DataFrame({"a": shops[np.searchsorted(ranks, a)],
                              "b": shops[np.searchsorted(ranks, b)]})
        sampled = spark.createDataFrame(found[["shop_id"]], "shop_id string")
        mine = (uses.where(F.col("kind") == kind).join(sampled, "shop_id")
                .select("shop_id", "kind", "value").orderBy("shop_id", "kind", "value")
                .toPandas())
        out[comparison] = {level: max(float(test(mine, pairs).mean()), 1.0 / size)}
    return out
