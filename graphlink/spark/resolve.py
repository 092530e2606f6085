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

:func:`resolve_scored` is the embedded engine's two passes with the components
found on Spark: the driver receives one label per shop in a strong pair.

>>> CHECKPOINT_EVERY
4
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.core.codes import OPERATOR, operator_ids
from graphlink.linkage.model import MatchModel
from graphlink.linkage.resolve import MERGE, Resolution, combined_groups, strongest
from graphlink.spark.model import typed_pairs

__all__ = ["CHECKPOINT_EVERY", "collected_components", "components",
           "resolve_frame", "resolve_scored"]

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


def collected_components(spark, edges, collect: int):
    """id, label of the vertices of ``edges`` (a, b): the smallest vertex of their
    component. Up to ``collect`` edges are collected and their components found on the
    driver (scipy): where paths are long (addresses within walking distance chain across
    a dense city) label propagation takes dozens of rounds, each a join of every edge
    (5 minutes at 1,000,000 shops). More edges: :func:`components`."""
    from graphlink.core.paths import smallest_in_component

    if edges.count() > collect:
        return components(edges)[0]
    local = edges.toPandas()
    codes, names = pd.factorize(np.r_[local["a"].to_numpy(dtype=object),
                                      local["b"].to_numpy(dtype=object)])
    names = np.asarray(names, dtype=object)
    # Python orders text by code point, as Spark by UTF-8 bytes: label propagation's label
    label = smallest_in_component(names, codes[:len(local)], codes[len(local):])
    found = pd.DataFrame({"id": names, "label": label}).astype(object)
    return spark.createDataFrame(found, "id string, label string").checkpoint()


def _operators(shop_ids: pd.Series, found: pd.DataFrame) -> pd.DataFrame:
    """shop_id, operator_id of every shop: ``OP-`` and its component's label (``found``:
    id, label of the shops in a component; every other shop is its own)."""
    operators = pd.DataFrame({"shop_id": shop_ids.to_numpy()})
    smallest = operators["shop_id"].to_numpy(dtype=object).copy()
    label = pd.Series(found["label"].to_numpy(dtype=object),
                      index=found["id"].to_numpy(dtype=object))
    hit = pd.Series(smallest).map(label)
    known = hit.notna().to_numpy()
    smallest[known] = hit[known].to_numpy(dtype=object)
    operators["operator_id"] = operator_ids(pd.Series(smallest, dtype=object)).astype(
        operators["shop_id"].dtype)
    return operators


def resolve_frame(shop_ids: pd.Series, pairs, model: MatchModel, shops: int,
                  banned: set[str], merge: float = MERGE) -> Resolution:
    """The embedded engine's two passes (``workflow.analyse._resolved``) with the scored
    pairs left on Spark: components of the MERGE-strength pairs, each shop compared with
    whole operators (:func:`graphlink.linkage.resolve.against_operators`: the ties are
    found by joins and combined by the embedded code in Python workers, a few shops'
    groups at a time; only the combined pairs are collected), the combined pairs put in
    place of the pairs they beat, components again. Returns a :class:`Resolution` whose
    ``pairs`` is that Spark frame (checkpointed, with ``via``)."""
    from pyspark.sql import functions as F

    labels = _labels(pairs, merge)
    final = pairs.withColumn("via", F.lit(""))
    combined = _combined(_tie_rows(pairs, labels.select("id", "label")), final.schema, model,
                         shops, banned)
    labels.unpersist()
    if len(combined):
        spark = pairs.sparkSession
        fresh = spark.createDataFrame(combined[final.columns], final.schema)
        final = final.join(fresh.select("shop_a", "shop_b"), ["shop_a", "shop_b"],
                           "left_anti").unionByName(fresh)
    final = final.checkpoint()  # on disk, its lineage cut: read by every round below
    labels = _labels(final, merge)
    found = labels.select("id", "label").toPandas()
    labels.unpersist()
    return Resolution(_operators(shop_ids, found), final, merge)


def _labels(pairs, merge: float):
    """:func:`components` of the pairs scored at least ``merge`` (unpersist it)."""
    from pyspark.sql import functions as F

    strong = pairs.where(F.col("p") >= merge)
    return components(strong.select(F.col("shop_a").alias("a"), F.col("shop_b").alias("b")))[0]


def _combined(tied, schema, model: MatchModel, shops: int, banned: set[str]) -> pd.DataFrame:
    """:func:`graphlink.linkage.resolve._combined` of the tie rows of a Spark frame:
    the groups of a shop ``x`` are combined together in a Python worker (buckets of
    shops by a hash of ``x``), the combined pairs collected, and the strongest of each
    pair kept as the embedded engine keeps it (its rows in (x, op) order)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    out = StructType([*schema.fields, StructField("x", StringType()),
                      StructField("op", StringType())])
    names = out.fieldNames()

    def combine(rows: pd.DataFrame) -> pd.DataFrame:
        rows = typed_pairs(rows.drop(columns="bucket"))
        return combined_groups(rows, model, shops, banned)[names]

    buckets = 4 * int(tied.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    rows = tied.withColumn("bucket", F.abs(F.xxhash64("x")) % buckets).groupBy(
        "bucket").applyInPandas(combine, out).toPandas()
    rows = typed_pairs(rows).sort_values(["x", "op"], ignore_index=True)
    return strongest(rows)


def _tie_rows(pairs, labels):
    """:func:`graphlink.linkage.resolve._ties` on Spark: each pair seen from
    both shops (``x``, ``y``) where ``x`` is tied to two or more shops of ``y``'s
    operator ``op`` (of two shops or more, not ``x``'s own), with ``tries`` its size."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    columns = [c for c in pairs.columns if c != "tries"]  # the pair's own: 1
    size = labels.groupBy("label").agg(F.count("*").cast("int").alias("tries"))
    theirs = labels.join(size, "label").select(F.col("id").alias("y"),
                                               F.col("label").alias("of_y"), "tries")
    own = labels.select(F.col("id").alias("x"), F.col("label").alias("of_x"))
    sides = pairs.select(*columns, F.col("shop_a").alias("x"), F.col("shop_b").alias("y")) \
        .unionByName(pairs.select(*columns, F.col("shop_b").alias("x"),
                                  F.col("shop_a").alias("y")))
    tied = sides.join(theirs, "y").join(own, "x", "left").where(
        F.col("of_x").isNull() | (F.col("of_x") != F.col("of_y")))
    tied = tied.withColumn("n", F.count("*").over(Window.partitionBy("x", "of_y")))
    return tied.where(F.col("n") >= 2).select(
        *columns, "x", "y", F.concat(F.lit(OPERATOR), F.col("of_y")).alias("op"), "tries")


def _chain(n: int) -> pd.DataFrame:
    """A path of ``n`` shops S0000 - S0001 - ... (a test graph of diameter ``n - 1``).

    >>> _chain(3).values.tolist()
    [['S0000', 'S0001'], ['S0001', 'S0002']]
    """
    ids = np.array([f"S{i:04d}" for i in range(n)], dtype=object)
    return pd.DataFrame({"a": ids[:-1], "b": ids[1:]})


def resolve_scored(shops: pd.DataFrame, vectors, model: MatchModel, n: int) -> Resolution:
    """Every pair of the vector frame scored on Spark (:func:`graphlink.spark.model.score_frame`)
    and resolved by :func:`resolve_frame`; a banned shop is the representative of its
    operator first, as in the embedded engine."""
    from graphlink.spark.model import score_frame

    # on disk, the lineage cut: label propagation plans a query per round over them
    pairs = score_frame(model, vectors, n).checkpoint()
    banned = set(shops.loc[shops["status"] == "banned", "shop_id"])
    return resolve_frame(shops["shop_id"], pairs, model, n, banned)
