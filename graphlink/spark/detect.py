"""Communities on Spark: :func:`graphlink.detection.detect.communities` with the pairs
left on Spark, each batch of connected parts partitioned in a Python worker.

1. the operator edges (:func:`graphlink.detection.detect.operator_edges`) by joins;
2. their connected parts (:func:`graphlink.spark.resolve.collected_components`: on the
   driver up to :data:`COLLECT_EDGES` distinct operator pairs, else label propagation),
   each part's batch the CRC-32 of its smallest operator id, as the embedded engine
   computes it;
3. each batch's weight (:func:`~graphlink.detection.detect.batch_weight`), summed on
   the driver, then each batch partitioned by
   :func:`~graphlink.detection.detect.batch_communities` (``applyInPandas``): the rows of
   a batch, the whole graph's weight and the seed are what the embedded engine gives
   it, so the communities are the same.

Only an operator and its community come back to the driver, for the operators with
an edge: never the pairs.

>>> COLLECT_EDGES
2000000
"""

from __future__ import annotations

import math

import pandas as pd

from graphlink.detection.detect import (
    BATCHES,
    COMMUNITY_MIN,
    batch_communities,
    batch_weight,
    community_of,
)

__all__ = ["COLLECT_EDGES", "communities"]

#: operator pairs up to this many are collected for their components (tens of MB)
COLLECT_EDGES = 2_000_000


def communities(operators: pd.DataFrame, pairs, seed: int = 0,
                minimum: float = COMMUNITY_MIN,
                collect: int = COLLECT_EDGES) -> pd.DataFrame:
    """:func:`graphlink.detection.detect.communities` of the pairs of a Spark frame
    (shop_a, shop_b, p): ``operators`` with ``community_id``."""
    from pyspark.sql import functions as F

    from graphlink.spark.resolve import collected_components

    edges = _operator_edges(operators, pairs, minimum).checkpoint()
    labels = collected_components(pairs.sparkSession,
                                  edges.select("a", "b").distinct(), collect)
    part = labels.select(F.col("id").alias("a"), F.col("label").alias("part"))
    # read twice (the weights, then the communities): on disk
    rows = edges.join(part, "a").select(
        F.pmod(F.crc32(F.col("part")), F.lit(BATCHES)).cast("long").alias("batch"),
        "a", "b", "p").checkpoint()
    labels.unpersist()
    weights = rows.groupBy("batch").applyInPandas(_weight, "weight double").toPandas()
    total = math.fsum(weights["weight"])

    def partitioned(batch: pd.DataFrame) -> pd.DataFrame:
        return batch_communities(batch, total, seed)

    found = rows.groupBy("batch").applyInPandas(
        partitioned, "operator_id string, community string").toPandas()
    return community_of(operators, found.astype(object))


def _operator_edges(operators: pd.DataFrame, pairs, minimum: float):
    """:func:`graphlink.detection.detect.operator_edges` on Spark."""
    from pyspark.sql import functions as F

    ops = pairs.sparkSession.createDataFrame(
        operators[["shop_id", "operator_id"]].astype(object), "shop_id string, operator_id string")
    strong = pairs.where(F.col("p") >= minimum).select("shop_a", "shop_b", "p")
    joined = strong.join(ops.toDF("shop_a", "op_a"), "shop_a").join(
        ops.toDF("shop_b", "op_b"), "shop_b")
    return joined.where(F.col("op_a") != F.col("op_b")).select(
        F.least("op_a", "op_b").alias("a"), F.greatest("op_a", "op_b").alias("b"), "p")


def _weight(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"weight": [batch_weight(rows)]})
