"""Factory leads on Spark: the sites found by joins, only candidate sites judged on the
driver.

:func:`graphlink.detection.factories.factory_leads` holds every dispatch address's
keys and links on the driver (3 GB more at 1,000,000 shops). Here Spark finds the
sites of :func:`graphlink.detection.places.sites` from the address points Spark
wrote (``points.parquet``), with the embedded engine's own functions run in the
Python workers:

1. the keys of each distinct address (:func:`~graphlink.detection.places.address_keys`,
   in ``mapInPandas``);
2. the street links, street by street (``applyInPandas`` over
   :func:`~graphlink.detection.places._street_links`: a street's pairs never leave it);
3. the coordinate links: the addresses' 3-D points in cells of the radius's size, each
   seed joined with its cell and the 26 around it, then the embedded engine's distance
   and text checks (:func:`~graphlink.detection.places._consistent`);
4. the seeds' components (their links collected and joined on the driver up to
   :data:`COLLECT_LINKS`, else by label propagation:
   :func:`graphlink.spark.resolve.collected_components`), each other address with its nearest
   seed, a site named by its smallest address (the embedded engine numbers addresses in
   that order, so the sites come in its order).

Only the rows of sites with ``MIN_OPERATORS`` flagged operators or more come to the
driver, in the points' order, and are judged there as the embedded engine judges them
(:func:`~graphlink.detection.factories.judged`): the same leads and context.

>>> NEIGHBOURS[:2], len(NEIGHBOURS)
([(-1, -1, -1), (-1, -1, 0)], 27)
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd

from graphlink.detection.factories import (
    FLAGGED,
    MIN_OPERATORS,
    FactoryLeads,
    judged,
    operator_uses,
)
from graphlink.detection.places import (
    RADIUS_M,
    _consistent,
    _street_links,
    address_keys,
    distance_m,
    projected,
)

__all__ = ["COLLECT_LINKS", "NEIGHBOURS", "factory_leads"]

#: a cell and the 26 around it: every point within the radius of a seed is in one
NEIGHBOURS = list(product((-1, 0, 1), repeat=3))
_KEYS = ("value string, lat double, lon double, street string, locality string, "
         "number double, building string, room string, x double, y double, z double")
_LINKS = "seed string, other string, far double"
#: links between seeds up to this many are collected for their components (tens of MB)
COLLECT_LINKS = 2_000_000


def factory_leads(points_path, operators: pd.DataFrame, record: pd.DataFrame,
                  written: pd.DataFrame, radius: float = RADIUS_M) -> FactoryLeads:
    """:func:`graphlink.detection.factories.factory_leads` of the points Spark wrote at
    ``points_path`` (shop_id, value, lat, lon in shop_id, value order), the sites found
    on Spark; ``operators``, ``record`` and ``written`` as there."""
    from graphlink.spark.session import spark_session

    spark = spark_session()
    rec = record.set_index("shop_id")
    points = spark.read.parquet(str(points_path))
    # checkpointed: the plans that read them (a label propagation's rounds among them)
    # then hold a scan, not the flagged shops' rows and the keys' lineage
    flagged = _flagged_shops(spark, operators, rec).checkpoint()
    keys = _keys(points, flagged).checkpoint()
    found = _candidates(points, flagged, keys, _sites(keys, radius)).toPandas()
    found = found.sort_values(["shop_id", "value"], ignore_index=True)
    uses = operator_uses(found[["shop_id", "value"]], operators, rec)
    values = found.drop(columns=["shop_id"]).drop_duplicates("value")
    return judged(uses.merge(values, on="value"), rec, written)


def _flagged_shops(spark, operators: pd.DataFrame, rec: pd.DataFrame):
    """shop_id, operator_id of the shops whose operator has a counterfeit signal."""
    uses = operator_uses(operators[["shop_id"]].assign(value=""), operators, rec)
    flagged = uses.loc[uses["op_signal"] >= FLAGGED, ["shop_id", "operator_id"]]
    return spark.createDataFrame(flagged.astype(str), "shop_id string, operator_id string")


def _keys(points, flagged):
    """Each distinct address with its keys, 3-D point and ``seed`` (used by a flagged
    operator's shop)."""
    from pyspark.sql import functions as F

    values = points.select("value", "lat", "lon").dropDuplicates(["value"])
    keyed = values.mapInPandas(_keyed, _KEYS)
    seeds = points.join(flagged, "shop_id").select("value").distinct()
    return keyed.join(seeds.withColumn("seed", F.lit(True)), "value", "left").fillna(
        False, ["seed"])


def _keyed(frames):
    for values in frames:
        keys = address_keys(values.reset_index(drop=True))
        xyz = projected(keys["lat"].to_numpy(dtype=float), keys["lon"].to_numpy(dtype=float))
        yield keys.assign(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2])


def _sites(keys, radius: float, collect: int = COLLECT_LINKS):
    """value, site of every address: the smallest address of its site (the seeds'
    components: :func:`~graphlink.spark.resolve.collected_components`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from graphlink.spark.resolve import collected_components

    links = _street(keys, radius).unionByName(_geo(keys, radius)).persist()
    seeds = keys.where("seed").select(F.col("value").alias("other"))
    inner = links.join(seeds, "other").select(F.col("seed").alias("a"), F.col("other").alias("b"))
    labels = collected_components(keys.sparkSession, inner.where("a != b"), collect)
    seed_label = labels.select(F.col("id").alias("seed"), "label")
    outer = links.join(seeds, "other", "left_anti")
    nearest = Window.partitionBy("other").orderBy("far", "seed")
    outer = (outer.withColumn("rank", F.row_number().over(nearest)).where("rank = 1")
             .join(seed_label, "seed", "left")
             .select(F.col("other").alias("value"), F.coalesce("label", "seed").alias("label")))
    label = (keys.select("value").join(labels.select(F.col("id").alias("value"), "label"),
                                       "value", "left")
             .join(outer.withColumnRenamed("label", "near"), "value", "left")
             .select("value", F.coalesce("label", "near", "value").alias("label")))
    site = label.withColumn("site", F.min("value").over(Window.partitionBy("label")))
    site = site.select("value", "site").checkpoint()
    links.unpersist()
    labels.unpersist()
    return site


def _street(keys, radius: float):
    """seed, other, far of the street links, found street by street."""
    columns = ["value", "lat", "lon", "street", "locality", "number", "seed"]
    named = keys.where("street IS NOT NULL").select(*columns)
    seeded = named.where("seed").select("street").distinct()
    located = named.join(seeded, "street", "left_semi")  # streets without a seed: no links

    def linked(rows: pd.DataFrame) -> pd.DataFrame:
        seeds = rows["seed"].to_numpy(dtype=bool)
        pairs = _street_links(rows, seeds, radius) if seeds.any() else np.empty((0, 2), int)
        return _named(rows, pairs, radius)

    return located.groupBy("street").applyInPandas(linked, _LINKS)


def _geo(keys, radius: float):
    """seed, other, far of the coordinate links: pairs of cells, then the checks."""
    from pyspark.sql import functions as F

    cell = [F.floor(F.col(c) / radius).alias(f"c{c}") for c in "xyz"]
    placed = keys.where("lat IS NOT NULL AND lon IS NOT NULL").select(
        "value", "lat", "lon", "street", "number", "x", "y", "z", "seed", *cell)
    around = F.explode(F.array(*(F.struct(F.lit(a).alias("a"), F.lit(b).alias("b"),
                                          F.lit(c).alias("c")) for a, b, c in NEIGHBOURS)))
    seeds = placed.where("seed").select(*(F.col(c).alias(f"s_{c}") for c in placed.columns),
                                        around.alias("step"))
    seeds = seeds.select("*", *(
        (F.col(f"s_c{c}") + F.col(f"step.{d}")).alias(f"c{c}")
        for c, d in zip("xyz", "abc", strict=True)))
    pairs = seeds.join(placed, ["cx", "cy", "cz"]).select(
        *(F.col(f"s_{c}").alias(f"a_{c}") for c in placed.columns if not c.startswith("c")),
        *(F.col(c).alias(f"b_{c}") for c in placed.columns if not c.startswith("c")))
    return pairs.mapInPandas(lambda frames: _near(frames, radius), _LINKS)


def _near(frames, radius: float):
    """The pairs within ``radius`` (chord length, as the embedded engine's k-d tree)
    whose texts agree (:func:`~graphlink.detection.places._consistent`)."""
    for both in frames:
        n = len(both)
        a = both[[c for c in both.columns if c.startswith("a_")]].rename(columns=lambda c: c[2:])
        b = both[[c for c in both.columns if c.startswith("b_")]].rename(columns=lambda c: c[2:])
        gap = a[["x", "y", "z"]].to_numpy() - b[["x", "y", "z"]].to_numpy()
        close = np.sqrt((gap ** 2).sum(axis=1)) <= radius
        rows = pd.concat([a, b], ignore_index=True)
        pairs = np.c_[np.arange(n), np.arange(n) + n][close]
        yield _named(rows, pairs[_consistent(rows, pairs)], radius)


def _named(rows: pd.DataFrame, pairs: np.ndarray, radius: float) -> pd.DataFrame:
    """Row pairs of ``rows`` as seed, other (their addresses) and far (metres apart; the
    radius when either has no coordinates)."""
    lat, lon = rows["lat"].to_numpy(dtype=float), rows["lon"].to_numpy(dtype=float)
    a, b = pairs[:, 0], pairs[:, 1]
    far = distance_m(lat[a], lon[a], lat[b], lon[b])
    value = rows["value"].to_numpy(dtype=object)
    return pd.DataFrame({"seed": value[a], "other": value[b],
                         "far": np.nan_to_num(far, nan=radius)})


def _candidates(points, flagged, keys, site):
    """The points of sites with ``MIN_OPERATORS`` flagged operators or more, with their
    address keys and site."""
    from pyspark.sql import functions as F

    placed = points.select("shop_id", "value").join(site, "value")
    counts = (placed.join(flagged, "shop_id").groupBy("site")
              .agg(F.countDistinct("operator_id").alias("n")).where(F.col("n") >= MIN_OPERATORS))
    columns = ["value", "lat", "lon", "street", "locality", "number", "building", "room"]
    return (placed.join(counts.select("site"), "site").join(keys.select(*columns), "value")
            .select("shop_id", *columns, "site"))
