"""Detection: communities of operators, and factory clusters.

Communities: the wider networks (dealer rings, families of operators) shops belong to.

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
import re

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd

from graphlink import normalise as norm
from graphlink.link import smallest_in_component

__all__ = ["COMMUNITY_MIN", "communities", "factories", "shop_signals", "street_key", "RADIUS_M"]

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
    result["community_id"] = ("C-" + pd.Series(names[community[op_code]], dtype=object)
                              .str.removeprefix("OP-")).astype(operators["operator_id"].dtype)
    return result


# igraph's default; "until stable" (-1) ran for minutes on a million operators
LEIDEN_ITERATIONS = 2


def _leiden(a: np.ndarray, b: np.ndarray, weight: np.ndarray, seed: int) -> pd.Series:
    """Communities of the operator graph (edges a-b, weighted; codes numbered in name
    order): Leiden optimising modularity (igraph, C: minutes of pure-Python Louvain
    become seconds at a million operators), each split into connected parts, seeded.
    Returns each operator's part as the smallest operator code in it."""
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


# --- factories -------------------------------------------------------------

RADIUS_M = 300.0
FACTORY_MIN_SHOPS = 3
FACTORY_MIN_OPERATORS = 3
FACTORY_MIN_SCORE = 0.35
_EARTH_M = 6_371_000.0


def shop_signals(dataset) -> pd.Series:
    """Per shop, how strongly the platform's own findings point at counterfeits, in [0, 1].

    A ban or a fake test buy counts 1, a counterfeit dispute 0.6, any other
    dispute 0.2; the strongest counts.
    """
    shops = dataset.shops["shop_id"]
    signal = pd.Series(0.0, index=shops.to_numpy())
    disputes = dataset.disputes
    counterfeit = disputes["reason"].fillna("").str.contains("counterfeit|fake|假", case=False)
    for ids, value in (
        (disputes.loc[~counterfeit, "shop_id"], 0.2),
        (disputes.loc[counterfeit, "shop_id"], 0.6),
        (dataset.test_buys.loc[dataset.test_buys["verdict"] == "fake", "shop_id"], 1.0),
        (dataset.shops.loc[dataset.shops["status"] == "banned", "shop_id"], 1.0),
    ):
        hit = signal.index.isin(ids)
        signal[hit] = signal[hit].clip(lower=value)
    return signal


_LATIN_NOISE = {"no", "unit", "room", "rm", "flat", "apt", "suite", "ste", "floor", "fl", "bldg",
                "building", "block", "blk", "lot"}


def street_key(value: str) -> str | None:
    """The street an address is on, without house number, building or room.

    >>> street_key("广东省广州市白云区上沙工业区前进迎宾路２７７号７栋３０１")
    '广州白云区上沙工业区前进迎宾路'
    >>> street_key("Unit 24, Eastfield Industrial Estate, No. 1, Jln Ipoh, 46286 Petaling Jaya")
    'eastfield ind est jln ipoh 46286'
    >>> street_key("No. 9, Eastfield Industrial Estate, No. 14, Jalan Ipoh, 46286 Petaling Jaya")
    'eastfield ind est jln ipoh 46286'
    """
    a = norm.address(value)
    if a is None:
        return None
    if a.script == "zh":
        street = re.sub(r"[\d-]+号.*$", "", a.street or "")
        return (a.locality or "") + street or None
    tokens = a.place.split()
    postcode = next((i for i, w in enumerate(tokens) if w.isdigit() and len(w) >= 4), None)
    if postcode is not None:  # what follows a postcode is city, state, country: spelt variously
        tokens = tokens[: postcode + 1]
    words = [w for w in tokens if (w.isalpha() and w not in _LATIN_NOISE) or w == tokens[-1]]
    return " ".join(w for w in words if w.isalpha() or len(w) >= 4) or None


def _projected(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local metres (equirectangular): fine at the scale of a few hundred metres."""
    y = np.radians(lat) * _EARTH_M
    x = np.radians(lon) * _EARTH_M * np.cos(np.radians(lat))
    return x, y


def _geo_groups(points: pd.DataFrame, signal: pd.Series, radius: float) -> list[set[str]]:
    """For each point of a shop with a counterfeit signal, the shops within ``radius``."""
    pts = points.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    if not len(pts):
        return []
    x, y = _projected(pts["lat"].to_numpy(), pts["lon"].to_numpy())
    cells: dict[tuple[int, int], list[int]] = {}
    cx_all, cy_all = (x // radius).astype(int), (y // radius).astype(int)
    for i, cell in enumerate(zip(cx_all.tolist(), cy_all.tolist(), strict=True)):
        cells.setdefault(cell, []).append(i)
    groups = []
    centres = np.flatnonzero(pts["shop_id"].map(signal).to_numpy() >= 0.6)
    for i in centres:
        cx, cy = int(x[i] // radius), int(y[i] // radius)
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                for j in cells.get((cx + dx, cy + dy), [])]
        near = [j for j in near if (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2 <= radius ** 2]
        groups.append(set(pts.loc[near, "shop_id"]))
    return groups


def _group_stats(shops: set[str], owner: pd.Series, signal: pd.Series) -> dict:
    members = sorted(shops)
    signals = signal.reindex(members).fillna(0)
    flagged = signals[signals >= 0.6].index
    return {"shops": members, "operators": int(owner.reindex(members).nunique()),
            "flagged_operators": int(owner.reindex(flagged).nunique()),
            "score": float(signals.mean())}


def _passes(stats: dict) -> bool:
    return (len(stats["shops"]) >= FACTORY_MIN_SHOPS
            and stats["flagged_operators"] >= FACTORY_MIN_OPERATORS
            and stats["score"] >= FACTORY_MIN_SCORE)


def factories(points: pd.DataFrame, operators: pd.DataFrame, signal: pd.Series,
              radius: float = RADIUS_M) -> pd.DataFrame:
    """Groups of shops of different operators whose dispatch addresses converge on one place.

    ``points``: one row per (shop, address) with shop_id, value (canonical
    address), lat, lon. Candidates are the shops on one street (address
    hierarchy) and the shops within ``radius`` metres of a shop with a
    counterfeit signal (coordinates); a candidate is kept when it has at least
    ``FACTORY_MIN_SHOPS`` shops, at least ``FACTORY_MIN_OPERATORS`` distinct
    operators among its shops with a counterfeit signal (a ban, a fake test
    buy or a counterfeit dispute: several independent sellers, not one
    operator's shops or a chance pair), and a mean signal
    (:func:`shop_signals`) of ``FACTORY_MIN_SCORE``, so a park or a warehouse
    full of honest shops is not a factory unless its shops' record says so.
    Kept candidates sharing a shop are merged.
    """
    owner = operators.set_index("shop_id")["operator_id"]
    streets = points.assign(street=points["value"].map(street_key)).dropna(subset=["street"])
    candidates = [set(g["shop_id"]) for _, g in streets.groupby("street", sort=True)]
    candidates += _geo_groups(points, signal, radius)
    kept = [c for c in candidates if _passes(_group_stats(c, owner, signal))]
    graph = nx.Graph()
    for group in kept:
        members = sorted(group)
        graph.add_nodes_from(members)
        graph.add_edges_from(zip(members, members[1:], strict=False))
    rows = []
    for component in nx.connected_components(graph):
        stats = _group_stats(component, owner, signal)
        rows.append({"factory_id": "F-" + min(component), **stats,
                     **_anchor(points[points["shop_id"].isin(component)], radius)})
    columns = ["factory_id", "shops", "operators", "flagged_operators", "score",
               "anchor_address", "lat", "lon", "radius_m"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["score", "factory_id"], ascending=[False, True], ignore_index=True)


def _anchor(points: pd.DataFrame, radius: float) -> dict:
    """The most used address of the group, and the centre of its densest coordinates."""
    streets = points["value"].map(street_key)
    main_street = streets.mode().iloc[0] if streets.notna().any() else None
    on_street = points[streets == main_street] if main_street else points
    anchor = on_street["value"].mode().iloc[0] if len(on_street) else None
    geo = on_street.dropna(subset=["lat", "lon"])
    if not len(geo):
        return {"anchor_address": anchor, "lat": None, "lon": None, "radius_m": None}
    lat, lon = float(geo["lat"].median()), float(geo["lon"].median())
    x, y = _projected(geo["lat"].to_numpy(), geo["lon"].to_numpy())
    cx, cy = _projected(np.array([lat]), np.array([lon]))
    spread = float(np.sqrt((x - cx) ** 2 + (y - cy) ** 2).max())
    return {"anchor_address": anchor, "lat": round(lat, 6), "lon": round(lon, 6),
            "radius_m": round(max(spread, 1.0), 1)}
