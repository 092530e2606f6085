"""Detection: communities of operators (factory leads: :mod:`graphlink.detection.factories`).

Communities: the wider networks (dealer rings, families of operators) shops belong to.
A community is a separate relation from an operator (one real-world actor) and
from a factory lead (a place): it groups operators tied by weaker evidence, and
the operators of one factory lead (:func:`join_factories`).

Operators are the nodes; two operators are joined by the sum of the combined
scores of their shop pairs that reach ``COMMUNITY_MIN`` (weaker than an
operator merge: a shared residential IP, a neighbouring address, a name).
Leiden optimising modularity (igraph, seeded) partitions that graph, a batch of
its connected parts at a time (:func:`batch_communities`: the whole graph's
modularity all the same), so that Spark's workers can take the batches
(:mod:`graphlink.spark.detect`) and give what this engine gives: the pure-Python
Louvain of networkx took 20 s at 100,000 shops and minutes at a million;
igraph's C implementation takes about a second. Leiden also guarantees
well-connected communities; each is split into its connected parts all the
same.

Every operator lies inside exactly one community; a community id is ``C-``
plus the smallest shop id in it.

>>> import pandas as pd
>>> ops = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "operator_id": ["OP-S1", "OP-S1", "OP-S3"]})
>>> pairs = pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S3"], "p": [0.4], "kinds": ["ip"]})
>>> communities(ops, pairs)["community_id"].tolist()
['C-S1', 'C-S1', 'C-S1']
"""

from __future__ import annotations

import math
import random
import zlib

import numpy as np
import pandas as pd

from graphlink.core.codes import COMMUNITY, community_ids
from graphlink.core.paths import smallest_in_component, smallest_per_group

__all__ = ["BATCHES", "COMMUNITY_MIN", "batch_communities", "batch_of_parts", "batch_weight",
           "communities", "community_of", "join_factories", "operator_edges"]

COMMUNITY_MIN = 0.25


def communities(operators: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0,
                minimum: float = COMMUNITY_MIN) -> pd.DataFrame:
    """Add ``community_id`` to the shop -> operator table: each batch of the operator
    graph's connected parts (:func:`batch_of_parts`) partitioned by
    :func:`batch_communities`."""
    edges = operator_edges(operators, pairs, minimum)
    edges["batch"] = batch_of_parts(edges)
    batches = [rows for _, rows in edges.groupby("batch", sort=True)]
    total = math.fsum(batch_weight(rows) for rows in batches)
    found = [batch_communities(rows, total, seed) for rows in batches]
    return community_of(operators, pd.concat(found) if found else None)


def operator_edges(operators: pd.DataFrame, pairs: pd.DataFrame,
                   minimum: float = COMMUNITY_MIN) -> pd.DataFrame:
    """``a``, ``b``, ``p``: the operators of each pair of shops scored at least
    ``minimum`` (``a`` < ``b``; pairs inside one operator left out), a row per pair.

    >>> ops = pd.DataFrame({"shop_id": ["S1", "S2"], "operator_id": ["OP-S1", "OP-S2"]})
    >>> operator_edges(ops, pd.DataFrame({"shop_a": ["S2"], "shop_b": ["S1"], "p": [0.5]}))
           a      b    p
    0  OP-S1  OP-S2  0.5
    """
    links = pairs[pairs["p"] >= minimum]
    index = pd.Index(operators["shop_id"])
    ops = operators["operator_id"].to_numpy(dtype=object)
    a = ops[index.get_indexer(links["shop_a"])]
    b = ops[index.get_indexer(links["shop_b"])]
    swap, keep = a > b, a != b
    return pd.DataFrame({"a": np.where(swap, b, a)[keep], "b": np.where(swap, a, b)[keep],
                         "p": links["p"].to_numpy(dtype=float)[keep]})


# Leiden takes the connected parts in batches: a call per part would be a million calls
# at a million shops (most parts are two operators); a part's batch is the CRC-32 of its
# smallest operator id (zlib's, as Spark's crc32 computes it) modulo BATCHES
BATCHES = 64


def batch_of_parts(edges: pd.DataFrame) -> np.ndarray:
    """The batch of each operator edge's connected part (:data:`BATCHES`).

    >>> edges = pd.DataFrame({"a": ["OP-S1", "OP-S2"], "b": ["OP-S2", "OP-S3"]})
    >>> batch_of_parts(edges).tolist() == [zlib.crc32(b"OP-S1") % BATCHES] * 2
    True
    """
    n = len(edges)
    if not n:
        return np.zeros(0, dtype=np.int64)
    codes, names = pd.factorize(np.r_[edges["a"].to_numpy(dtype=object),
                                      edges["b"].to_numpy(dtype=object)])
    first = smallest_in_component(np.asarray(names, dtype=object), codes[:n], codes[n:])
    heads, at = np.unique(first[codes[:n]], return_inverse=True)
    return np.array([zlib.crc32(head.encode()) % BATCHES for head in heads],
                    dtype=np.int64)[at]


def batch_weight(rows: pd.DataFrame) -> float:
    """The summed weight of one batch's edges (:func:`math.fsum`: the same float in
    whatever order the rows and the batches come)."""
    return math.fsum(_weighed_edges(rows)[3])


# igraph's default; "until stable" (-1) ran for minutes on a million operators
LEIDEN_ITERATIONS = 2


def batch_communities(rows: pd.DataFrame, total: float, seed: int) -> pd.DataFrame:
    """``operator_id``, ``community``: the communities of one batch of parts (rows of
    :func:`operator_edges` with their ``batch``), each named by its smallest operator.

    Leiden optimising the whole graph's modularity (igraph, seeded per batch): with
    the resolution ``weight of the batch / total``, the batch's modularity is its share
    of the whole graph's, so batching changes the search, not what it optimises. Each
    community is then split into its connected parts. The rows may come in any order.
    """
    # imported here: igraph imports matplotlib (a second or more), and every report
    # read from a state imports this module without detecting anything
    import igraph as ig

    names, a, b, weight = _weighed_edges(rows)
    graph = ig.Graph(n=len(names), edges=np.c_[a, b].tolist())
    ig.set_random_number_generator(random.Random(f"{seed}/{rows['batch'].iloc[0]}"))
    try:
        found = graph.community_leiden(objective_function="modularity", weights=weight.tolist(),
                                       resolution=math.fsum(weight) / total,
                                       n_iterations=LEIDEN_ITERATIONS)
    finally:
        ig.set_random_number_generator(random)
    member = np.asarray(found.membership)
    inside = member[a] == member[b]
    return pd.DataFrame({"operator_id": names,
                         "community": smallest_in_component(names, a[inside], b[inside])})


def _weighed_edges(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sorted operator ids of ``rows``, and one edge per operator pair (codes
    ``a`` < ``b`` in that order) weighing its rows' ``p`` summed smallest first."""
    n = len(rows)
    codes, names = pd.factorize(np.r_[rows["a"].to_numpy(dtype=object),
                                      rows["b"].to_numpy(dtype=object)], sort=True)
    key = codes[:n].astype(np.int64) * len(names) + codes[n:]
    p = rows["p"].to_numpy(dtype=float)
    order = np.lexsort((p, key))
    key, p = key[order], p[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    key = key[starts]
    return (np.asarray(names, dtype=object), key // len(names), key % len(names),
            np.add.reduceat(p, starts))


def community_of(operators: pd.DataFrame, found: pd.DataFrame | None) -> pd.DataFrame:
    """``operators`` with the ``community_id`` of each operator ``found``
    (:func:`batch_communities`); an operator without edges is its own community."""
    names = operators["operator_id"].to_numpy(dtype=object)
    chosen = names
    if found is not None and len(found):
        at = pd.Index(found["operator_id"]).get_indexer(names)
        chosen = np.where(at >= 0, found["community"].to_numpy(dtype=object)[at], names)
    result = operators.copy()
    result["community_id"] = community_ids(pd.Series(chosen, index=operators.index,
                                                     dtype=object)
                                           ).astype(operators["operator_id"].dtype)
    return result


# --- communities around factories --------------------------------------------

def join_factories(shops: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    """Communities joined by factory leads: the operators of one lead (independent
    dealers converging on one place, :mod:`graphlink.detection.factories`) are one dealer
    network, so their communities become one; its id is ``C-`` plus the smallest
    shop id in it. Operators stay as they are; a shop's community holds its
    operator, as before.

    >>> shops = pd.DataFrame({"shop_id": ["S1", "S2", "S3"],
    ...                       "operator_id": ["OP-S1", "OP-S2", "OP-S3"],
    ...                       "community_id": ["C-S1", "C-S2", "C-S3"]})
    >>> leads = pd.DataFrame({"operator_ids": [["OP-S2", "OP-S3"]]})
    >>> join_factories(shops, leads)["community_id"].tolist()
    ['C-S1', 'C-S2', 'C-S2']
    """
    if not len(leads):
        return shops
    codes, names = pd.factorize(shops["community_id"])
    community_of = pd.Series(codes, index=shops["operator_id"].to_numpy())
    community_of = community_of[~community_of.index.duplicated()]
    a, b = [], []
    for ops in leads["operator_ids"]:
        found = community_of.reindex(list(ops)).dropna().to_numpy(dtype=np.int64)
        a += [found[0]] * (len(found) - 1)
        b += found[1:].tolist()
    part = smallest_in_component(np.arange(len(names)), np.asarray(a, dtype=np.int64),
                                 np.asarray(b, dtype=np.int64))
    first_shop = smallest_per_group(shops["shop_id"].to_numpy(dtype=object), codes)
    first_shop = pd.Series(first_shop).groupby(codes).first().to_numpy(dtype=object)
    joined = smallest_per_group(first_shop, part)
    result = shops.copy()
    # named after its first shop, as a community is after its operator
    result["community_id"] = (COMMUNITY + pd.Series(joined[codes], index=shops.index,
                                                    dtype=object)).astype(shops["community_id"].dtype)
    return result
