"""Operators on Spark: connected components of the MERGE-strength pairs by label
propagation.

GraphFrames is not used (its JAR is not served by this machine's Maven mirror);
:func:`components` is the iteration Splink runs instead: every shop starts with
its own id as its label, each round every shop takes the smallest label of
itself and its neighbours, until no label changes (as many rounds as the
longest shortest path in a component, plus one). The labels are checkpointed
in the session's checkpoint folder every :data:`CHECKPOINT_EVERY` rounds, so
the plan does not grow with the rounds. A component's label is then its
smallest shop id (Spark compares strings by their UTF-8 bytes, which orders
them as Python does), the operator id the embedded engine gives it.

:func:`resolve_operators` is :func:`graphlink.linkage.resolve.resolve_operators`
with the components found on Spark: the driver receives one label per shop in a
strong pair.

>>> CHECKPOINT_EVERY
4
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.core.codes import operator_ids
from graphlink.linkage.resolve import MERGE, Resolution

__all__ = ["CHECKPOINT_EVERY", "components", "resolve_operators"]

CHECKPOINT_EVERY = 4
MAX_ROUNDS = 10_000  # a path of that many shops; never reached by real operators


def components(edges, checkpoint_every: int = CHECKPOINT_EVERY):
    """``(id, label, moved)``: each vertex of ``edges`` (columns ``a``, ``b``) and the
    smallest vertex of its connected component, by min-label propagation (persisted or
    checkpointed: unpersist it when read; ``moved`` is false once done). Returns the
    labels and the rounds it took."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").unionByName(edges.select(F.col("b").alias("a"),
                                                           F.col("a").alias("b")))
    both = both.where(F.col("a") != F.col("b")).distinct().persist()
    labels = both.select(F.col("a").alias("id")).distinct().withColumn(
        "label", F.col("id")).persist()
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        heard = both.join(labels.withColumnRenamed("id", "a"), "a").groupBy(
            F.col("b").alias("id")).agg(F.min("label").alias("heard"))
        # one round: a join and an aggregation; whether a label moved is kept beside it,
        # so the check reads the round's own (cached) rows, not a join with the last round
        fresh = labels.join(heard, "id", "left").select(
            "id", F.least("label", "heard").alias("label"),
            F.coalesce(F.col("heard") < F.col("label"), F.lit(False)).alias("moved"))
        fresh = fresh.checkpoint() if rounds % checkpoint_every == 0 else fresh.persist()
        changed = fresh.where("moved").limit(1).count()
        labels.unpersist()
        labels = fresh
        if not changed:
            break
    both.unpersist()
    return labels, rounds


def resolve_operators(shop_ids: pd.Series, pairs: pd.DataFrame, merge: float = MERGE,
                      spark=None) -> Resolution:
    """:func:`graphlink.linkage.resolve.resolve_operators` with the connected components
    found on Spark: every shop once, its operator ``OP-`` plus its component's smallest
    shop id."""
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.getActiveSession()
    strong = pairs[pairs["p"] >= merge]
    operators = pd.DataFrame({"shop_id": shop_ids.to_numpy()})
    smallest = operators["shop_id"].to_numpy(dtype=object).copy()
    if len(strong):
        edges = spark.createDataFrame(pd.DataFrame({
            "a": strong["shop_a"].astype(str).to_numpy(dtype=object),
            "b": strong["shop_b"].astype(str).to_numpy(dtype=object)}), "a string, b string")
        labels, _ = components(edges)
        found = labels.select("id", "label").toPandas()
        labels.unpersist()
        label = pd.Series(found["label"].to_numpy(dtype=object),
                          index=found["id"].to_numpy(dtype=object))
        hit = pd.Series(smallest).map(label)
        known = hit.notna().to_numpy()
        smallest[known] = hit[known].to_numpy(dtype=object)
    operators["operator_id"] = operator_ids(pd.Series(smallest, dtype=object)).astype(
        operators["shop_id"].dtype)
    return Resolution(operators, pairs, merge)


def _chain(n: int) -> pd.DataFrame:
    """A path of ``n`` shops S0000 - S0001 - ... (a test graph of diameter ``n - 1``).

    >>> _chain(3).values.tolist()
    [['S0000', 'S0001'], ['S0001', 'S0002']]
    """
    ids = np.array([f"S{i:04d}" for i in range(n)], dtype=object)
    return pd.DataFrame({"a": ids[:-1], "b": ids[1:]})
