"""Detection: communities of operators (factory leads: :mod:`graphlink.detection.factories`).

Communities: the wider networks (dealer rings, families of operators) shops belong to.
A community is a separate relation from an operator (one real-world actor) and
from a factory lead (a place): it groups operators tied by weaker evidence, and
the operators of one factory lead (:func:`join_factories`).

Operators are the nodes; two operators are joined by the sum of the combined
scores of their shop pairs that reach ``COMMUNITY_MIN`` (weaker than an
operator merge: a shared residential IP, a neighbouring address, a name).
Leiden optimising modularity (igraph, seeded) partitions that graph: the
pure-Python Louvain of networkx took 20 s at 100,000 shops and minutes at a
million; igraph's C implementation takes about a second. Leiden also
guarantees well-connected communities; each is split into its connected
parts all the same.

Every operator lies inside exactly one community; a community id is ``C-``
plus the smallest shop id in it.

>>> import pandas as pd
>>> ops = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "operator_id": ["OP-S1", "OP-S1", "OP-S3"]})
>>> pairs = pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S3"], "p": [0.4], "kinds": ["ip"]})
>>> communities(ops, pairs)["community_id"].tolist()
['C-S1', 'C-S1', 'C-S1']
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from graphlink.core.codes import COMMUNITY, community_ids
from graphlink.core.paths import smallest_in_component, smallest_per_group

__all__ = ["COMMUNITY_MIN", "communities", "join_factories"]

COMMUNITY_MIN = 0.25


def communities(operators: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0,
                minimum: float = COMMUNITY_MIN) -> pd.DataFrame:
    """Add ``community_id`` to the shop -> operator table."""
    op_code, op_names = pd.factorize(operators["operator_id"], sort=True)
    links = pairs[pairs["p"] >= minimum]
    where = pd.Index(operators["shop_id"]).get_indexer(
        np.r_[links["shop_a"].to_numpy(dtype=object), links["shop_b"].to_numpy(dtype=object)])
    ops = op_code[where].astype(np.int64)
    a, b = np.minimum(ops[:len(links)], ops[len(links):]), np.maximum(
        ops[:len(links)], ops[len(links):])
    keep = a != b
    # one edge per operator pair, weights summed, in (a, b) order
    key = a[keep] * len(op_names) + b[keep]
    order = np.argsort(key, kind="stable")
    key, weight = key[order], links["p"].to_numpy(dtype=float)[keep][order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    key, weight = key[starts], np.add.reduceat(weight, starts) if len(key) else weight
    part = _leiden(key // len(op_names), key % len(op_names), weight, seed)
    community = np.arange(len(op_names))  # alone: its own community
    community[part.index] = part.to_numpy()
    names = np.asarray(op_names, dtype=object)
    result = operators.copy()
    result["community_id"] = community_ids(pd.Series(names[community[op_code]], dtype=object)
                                           ).astype(operators["operator_id"].dtype)
    return result


# igraph's default; "until stable" (-1) ran for minutes on a million operators
LEIDEN_ITERATIONS = 2


def _leiden(a: np.ndarray, b: np.ndarray, weight: np.ndarray, seed: int) -> pd.Series:
    """Communities of the operator graph (edges a-b, weighted; codes numbered in name
    order): Leiden optimising modularity (igraph, C: minutes of pure-Python Louvain
    become seconds at a million operators), each split into connected parts, seeded.
    Returns each operator's part as the smallest operator code in it."""
    # imported here: igraph imports matplotlib (a second or more), and every report
    # read from a state imports this module without detecting anything
    import igraph as ig

    nodes = np.unique(np.r_[a, b])
    ea, eb = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    graph = ig.Graph(n=len(nodes), edges=np.c_[ea, eb].tolist())
    rng = random.Random(seed)
    ig.set_random_number_generator(rng)
    try:
        found = graph.community_leiden(objective_function="modularity",
                                       weights=weight.tolist(), n_iterations=LEIDEN_ITERATIONS)
    finally:
        ig.set_random_number_generator(random)
    member = np.asarray(found.membership)
    inside = member[ea] == member[eb]  # the connected parts of each community
    return pd.Series(smallest_in_component(nodes, ea[inside], eb[inside]), index=nodes)


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
