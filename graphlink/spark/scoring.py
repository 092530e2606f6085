"""Sign-up scoring on Spark: the banned shops' neighbourhood, found by joins.

A sign-up's match is a path of pairs from a banned shop whose scores multiply to at
least ``WEAK`` (:mod:`graphlink.scoring.score`): a path of cost ``-log p`` summed at
most ``-log WEAK``. Every shop on such a path is within that cost of a banned shop,
and so is every shop the spot checks' search from the banned shops reaches (a
smaller cost, over stronger pairs). :func:`neighbourhood` finds those shops on Spark:
a shortest-path search from every banned shop at once, in rounds, each a join of
the shops that came nearer in the last round with the pairs (Bellman-Ford, as
Splink's label propagation finds components), until no shop comes nearer; then it
keeps the pairs between two of them.

The driver runs the embedded searches (sign-ups, spot checks, the page index's high
flags) on that part of the pair graph alone and finds what it finds on the whole
graph: those searches go from a banned shop, or towards one, only through shops
within the cost of a banned shop; they never reach, or push, a shop outside it
(the searches keep their order: shops are coded in name order either way).

>>> round(CUTOFF, 3)
6.215
"""

from __future__ import annotations

import math

from graphlink.scoring.score import WEAK

__all__ = ["CUTOFF", "neighbourhood"]

#: the cost a shop of the neighbourhood is within, with slack for the order in which a
#: search adds up a path's costs (Spark's and the driver's sums may differ in the last
#: digit; the slack only admits more shops, which changes no search)
CUTOFF = -math.log(WEAK) * (1 + 1e-6) + 1e-9


def neighbourhood(pairs, banned: list[str], cutoff: float = CUTOFF):
    """shop_a, shop_b, p of the pairs of ``pairs`` (a Spark frame) scored at least
    ``WEAK`` whose two shops are both within ``cutoff`` (``-log p`` summed along a
    path of such pairs) of a shop of ``banned``, checkpointed; and the rounds it took."""
    from pyspark.sql import functions as F

    linked = pairs.where(F.col("p") >= WEAK).select("shop_a", "shop_b", "p").persist()
    cost = (-F.log("p")).alias("c")
    edges = linked.select(F.col("shop_a").alias("shop"), F.col("shop_b").alias("to"), cost
                          ).unionByName(linked.select(F.col("shop_b").alias("shop"),
                                                      F.col("shop_a").alias("to"), cost)
                                        ).persist()
    # every round's frames checkpointed (small: the shops near a banned shop), so no
    # plan grows with the rounds
    near = pairs.sparkSession.createDataFrame([(b, 0.0) for b in sorted(set(banned))],
                                              "shop string, d double").checkpoint()
    frontier, rounds = near, 0
    while True:
        rounds += 1
        nearer = _nearer(frontier, edges, near, cutoff).checkpoint()
        if not nearer.limit(1).count():
            break
        near = near.unionByName(nearer).groupBy("shop").agg(F.min("d").alias("d")).checkpoint()
        frontier = nearer
    shops = near.select("shop")
    kept = (linked.join(shops.withColumnRenamed("shop", "shop_a"), "shop_a", "left_semi")
            .join(shops.withColumnRenamed("shop", "shop_b"), "shop_b", "left_semi")
            .select("shop_a", "shop_b", "p").checkpoint())
    linked.unpersist()
    edges.unpersist()
    return kept, rounds


def _nearer(frontier, edges, near, cutoff: float):
    """shop, d: the shops one pair from ``frontier`` (shop, d) that this brings nearer
    than ``near`` holds them (and within ``cutoff``)."""
    from pyspark.sql import functions as F

    reached = (frontier.join(edges, "shop")
               .select(F.col("to").alias("shop"), (F.col("d") + F.col("c")).alias("d"))
               .where(F.col("d") <= cutoff)
               .groupBy("shop").agg(F.min("d").alias("d")))
    return (reached.join(near.withColumnRenamed("d", "known"), "shop", "left")
            .where(F.col("known").isNull() | (F.col("d") < F.col("known")))
            .select("shop", "d"))
