"""The match model on Spark: trained on the driver from a sample of the comparison
vectors, applied on Spark to every pair.

:func:`train_vectors` is :func:`graphlink.linkage.model.train_vectors` with the
vectors on Spark. What it reads of all pairs is counted there: the chance
agreements per level (``u``, :func:`graphlink.linkage.model._level_counts` per
partition, summed: exact) and how many pairs EM is fitted to (two agreements or
more, or one user's shops). EM itself runs on the driver over those fitted pairs,
all of them up to :data:`EM_SAMPLE`, else a sample of about ``EM_SAMPLE`` drawn by a
hash of the pair (deterministic per seed), the priors then read as shares of the
sample's fraction of all pairs. Up to the bound the model is the embedded engine's,
bit for bit (the pairs come to the driver in the embedded order); above it m and
the priors are estimates from ``EM_SAMPLE`` pairs, whose sampling error on a level
with share ``q`` of the matches is about ``sqrt(q / EM_SAMPLE)`` (under 0.1
percentage point at the bound), small beside EM's own.

:func:`score_frame` applies a model to every pair on Spark: each Arrow batch of
vectors is scored by :func:`graphlink.linkage.model.score_vectors` itself, so a
pair's probability is the embedded engine's.

>>> EM_SAMPLE
1000000
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.linkage.model import (
    COMPARISONS,
    EM_ITERATIONS,
    NAMES,
    MatchModel,
    Vectors,
    _fitted,
    _initial,
    _level_counts,
    _pairs_among,
    _pairs_with,
    _present,
    context_pairs,
    expectation_maximisation,
    score_vectors,
)

__all__ = ["EM_SAMPLE", "VECTOR_SCHEMA", "as_vectors", "vector_frame", "train_vectors",
           "score_frame", "score_vectors_on_spark", "typed_pairs"]

#: the fitted pairs EM reads at most (the driver holds them: ~150 bytes a pair)
EM_SAMPLE = 1_000_000
_WIDTH = len(NAMES)
VECTOR_SCHEMA = ", ".join(["shop_a string, shop_b string", *(f"l{i} tinyint" for i in
                                                                range(_WIDTH)),
                            *(f"u{i} double" for i in range(_WIDTH)), "context tinyint"])
_SCORED_SCHEMA = ", ".join(["shop_a string, shop_b string, p double, weight double, "
                            "kinds string, context tinyint, tries int",
                            *(f"level_{c} tinyint, users_{c} float" for c in NAMES)])
_last: list = []  # (vectors, their frame): train then score the same vectors once on Spark


def _vector_rows(vec: Vectors) -> pd.DataFrame:
    """``vec`` as rows of :data:`VECTOR_SCHEMA`.

    >>> v = Vectors(np.array(["S1"]), np.array(["S2"]), np.zeros((1, _WIDTH), np.int8),
    ...             np.ones((1, _WIDTH)), np.zeros(1, np.int8))
    >>> list(_vector_rows(v).columns[:3]), as_vectors(_vector_rows(v)).level.shape
    (['shop_a', 'shop_b', 'l0'], (1, 10))
    """
    out = pd.DataFrame({"shop_a": vec.shop_a.astype(object), "shop_b": vec.shop_b.astype(object)})
    for i in range(_WIDTH):
        out[f"l{i}"] = vec.level[:, i].astype(np.int8)
    for i in range(_WIDTH):
        out[f"u{i}"] = vec.users[:, i].astype(float)
    out["context"] = vec.context.astype(np.int8)
    return out


def as_vectors(rows: pd.DataFrame) -> Vectors:
    """Rows of :data:`VECTOR_SCHEMA` as :class:`Vectors` (in their order)."""
    return Vectors(rows["shop_a"].to_numpy(dtype=object), rows["shop_b"].to_numpy(dtype=object),
                   rows[[f"l{i}" for i in range(_WIDTH)]].to_numpy().astype(np.int8),
                   rows[[f"u{i}" for i in range(_WIDTH)]].to_numpy(dtype=float),
                   rows["context"].to_numpy().astype(np.int8))


def vector_frame(vec: Vectors, spark=None):
    """The comparison vectors as a Spark DataFrame (persisted; the last one is reused
    while the same ``vec`` is asked for again)."""
    from pyspark.sql import SparkSession

    if _last and _last[0] is vec:
        return _last[1]
    spark = spark or SparkSession.getActiveSession()
    frame = spark.createDataFrame(_vector_rows(vec), VECTOR_SCHEMA).persist()
    if _last:
        _last[1].unpersist()
    _last[:] = [vec, frame]
    return frame


def _with_entities(frame, entity):
    """``frame`` (vectors) with the entity label of each pair's two shops (``ea``, ``eb``;
    null: none), joined on Spark, so that the functions reading them carry no labels in
    their closure (pickled with the query, unpickled by every task); as it is without
    ``entity`` (a Series, or the Spark frame of
    :func:`graphlink.spark.extract.entity_labels`)."""
    from pyspark.sql import functions as F

    if entity is None:
        return frame
    if isinstance(entity, pd.Series):
        labels = frame.sparkSession.createDataFrame(pd.DataFrame({
            "shop": entity.index.to_numpy(dtype=object),
            "entity": entity.to_numpy(dtype=object)}), "shop string, entity string")
    else:  # graphlink.spark.extract.entity_labels: already on Spark
        labels = entity.select(F.col("shop_id").alias("shop"), "entity")
    for side in ("a", "b"):
        frame = frame.join(labels.select(F.col("shop").alias(f"shop_{side}"),
                                         F.col("entity").alias(f"e{side}")),
                           f"shop_{side}", "left")
    return frame


def _batch_entity(batch: pd.DataFrame) -> pd.Series | None:
    """The entity labels a batch of :func:`_with_entities` carries (None: it carries none).

    >>> b = pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S3", "S3"],
    ...                   "ea": ["S1", None], "eb": ["S1", "S1"]})
    >>> _batch_entity(b).to_dict()
    {'S1': 'S1', 'S3': 'S1'}
    """
    if "ea" not in batch:
        return None
    both = pd.concat([batch[["shop_a", "ea"]].set_axis(["shop", "entity"], axis=1),
                      batch[["shop_b", "eb"]].set_axis(["shop", "entity"], axis=1)])
    both = both[both["entity"].notna()].drop_duplicates("shop")
    return pd.Series(both["entity"].to_numpy(dtype=object),
                     index=both["shop"].to_numpy(dtype=object))


_VECTOR_COLUMNS = [c.split()[0] for c in VECTOR_SCHEMA.split(", ")]


def _counts(frame, entity: pd.Series | None) -> tuple[dict[str, np.ndarray], int, int]:
    """Chance agreements per level over all pairs (summed per-partition counts), the
    number of pairs and of fitted pairs."""
    frame = _with_entities(frame, entity)

    def count(batches):
        for batch in batches:
            vec, entity = as_vectors(batch), _batch_entity(batch)
            counts = _level_counts(vec, entity)
            yield pd.DataFrame({"name": list(counts), "counts": [c.tolist() for c in
                                                                 counts.values()],
                                "pairs": len(batch), "fitted": int(_fitted(vec, entity).sum())})

    rows = frame.mapInPandas(count, "name string, counts array<long>, pairs long, "
                                    "fitted long").toPandas()
    counts = {}
    for name in NAMES:
        counts[name] = np.zeros(len(COMPARISONS[name][1]) + 2, dtype=np.int64)
        for part in rows.loc[rows["name"] == name, "counts"]:
            counts[name] = counts[name] + np.asarray(part, dtype=np.int64)
    first = rows[rows["name"] == NAMES[0]]
    return counts, int(first["pairs"].sum()), int(first["fitted"].sum())


def _fitted_pairs(frame, entity: pd.Series | None, fraction: float, seed: int) -> Vectors:
    """The fitted pairs (a ``fraction`` of them by a hash of the pair, seeded), on the
    driver in (shop_a, shop_b) order, the embedded engine's."""
    from pyspark.sql import functions as F

    def fitted(batches):
        for batch in batches:
            yield batch[_fitted(as_vectors(batch), _batch_entity(batch))][_VECTOR_COLUMNS]

    if fraction < 1.0:  # xxhash64 over [0, 2^63): keep those under fraction of the range
        bound = int(fraction * 2 ** 63)
        frame = frame.where(F.abs(F.xxhash64("shop_a", "shop_b", F.lit(seed))) < F.lit(bound))
    frame = _with_entities(frame, entity)
    rows = frame.mapInPandas(fitted, VECTOR_SCHEMA).toPandas()
    return as_vectors(rows.sort_values(["shop_a", "shop_b"], ignore_index=True))


def _kinds_pairs(kinds) -> np.ndarray:
    """:func:`graphlink.linkage.model._pairs_with` of ``kinds``: a Series, or the Spark
    frame of :func:`graphlink.spark.extract.shop_kinds` (the shops of each set of kinds
    counted there: a few hundred rows reach the driver)."""
    if isinstance(kinds, pd.Series):
        return _pairs_with(kinds)
    sets = kinds.groupBy("kinds").count().toPandas()
    texts = pd.Series(sets["kinds"].to_numpy(dtype=object))
    present = _present(texts, texts.index.to_numpy())
    return _pairs_among(sets["count"].to_numpy(dtype=np.int64) @ present.astype(np.int64))


def train_vectors(vec: Vectors | object, kinds, shops: int,
                  entity: pd.Series | None = None, table: pd.DataFrame | None = None,
                  iterations: int = EM_ITERATIONS,
                  sampled: dict[str, dict[str, float]] | None = None,
                  limit: int = EM_SAMPLE, seed: int = 0) -> MatchModel:
    """:func:`graphlink.linkage.model.train_vectors` of vectors on Spark (``vec``:
    :class:`Vectors`, put on Spark, or a DataFrame of :func:`vector_frame`'s schema):
    counts on Spark, EM on the driver over at most about ``limit`` fitted pairs."""
    frame = vector_frame(vec) if isinstance(vec, Vectors) else vec
    counts, pairs, fitted = _counts(frame, entity)
    fraction = min(1.0, limit / fitted) if fitted else 1.0
    model = _initial(counts, _kinds_pairs(kinds), shops, sampled or {})
    sample = _fitted_pairs(frame, entity, fraction, seed)
    model = expectation_maximisation(model, sample, context_pairs(table, shops) * fraction,
                                     shops, iterations)
    model.pairs = pairs
    model.counts = {name: counts[name][:-1].astype(int).tolist() for name in NAMES}
    return model


def score_frame(model: MatchModel, frame, shops: int | None = None):
    """Every pair of a vector frame scored on Spark by
    :func:`graphlink.linkage.model.score_vectors` (its columns; lazy)."""
    def scored(batches):
        for batch in batches:
            yield score_vectors(model, as_vectors(batch), shops)

    return frame.mapInPandas(scored, _SCORED_SCHEMA)


def score_vectors_on_spark(model: MatchModel, vec: Vectors | object, shops: int | None = None
                           ) -> pd.DataFrame:
    """:func:`graphlink.linkage.model.score_vectors` computed on Spark and collected: the
    same rows, columns and types, in (shop_a, shop_b) order."""
    frame = vector_frame(vec) if isinstance(vec, Vectors) else vec
    got = score_frame(model, frame, shops).toPandas()
    return typed_pairs(got.sort_values(["shop_a", "shop_b"], ignore_index=True))


def typed_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """Scored pair rows collected from Spark with the embedded engine's column types
    (in place; text columns as objects, levels int8, users float32)."""
    for col in ("shop_a", "shop_b", "kinds", "x", "y", "op", "via"):
        if col in rows:
            rows[col] = rows[col].astype(object)
    rows["context"] = rows["context"].astype(np.int8)
    rows["tries"] = rows["tries"].astype(np.int32)
    for name in NAMES:
        rows[f"level_{name}"] = rows[f"level_{name}"].astype(np.int8)
        rows[f"users_{name}"] = rows[f"users_{name}"].astype(np.float32)
    return rows
