"""Places: where dispatch addresses converge, however they are written.

A factory is a few buildings within walking distance, its address written
in many ways (Chinese numerals, 号楼/栋/幢/座, full-width digits, province or
city left out) or given only as coordinates. This module turns the distinct
dispatch addresses of a marketplace into *sites*: groups of addresses that
are one place on the ground.

Each address gets its keys from the address hierarchy
(:func:`graphlink.normalise.address`): the street it is on (``street``,
without house number, building or room), its ``locality`` (city, district;
may be missing), its house ``number`` and its ``building`` key (street,
number and building, without the locality, so that a dropped city does not
make two buildings: one site holds one locality). Two addresses are one place when

- their coordinates lie within ``radius`` metres (haversine) and their texts
  do not say otherwise (one names no street, as a coordinates-only address,
  or both are on one street with house numbers within ``NUMBER_SPAN``: a
  counterfeiter's home round the corner from another's is not a factory), or
- they are on the same street, their localities agree (one is the other or
  holds it: a dropped city, district or street office), their house numbers lie within
  ``NUMBER_SPAN`` of each other (or one has none) and, when both have
  coordinates, these are within twice the radius.

Links are only drawn from a *seed* address (one used by a shop with a
counterfeit signal) to any address: honest addresses are never linked to
each other, so a crowded street or district of honest homes cannot chain
into one site, and the work stays near-linear (seeds times their
neighbours). Sites are the connected parts of that graph.

>>> import pandas as pd
>>> values = pd.DataFrame({"value": ["泉州鲤城区松岗工业区振兴路350号",
...                                  "鲤城区松岗工业区振兴路三六二号7幢",
...                                  "泉州鲤城区松岗工业区振兴路900号", "泉州丰泽区东海路8号"],
...                        "lat": [None, None, None, 24.9], "lon": [None, None, None, 118.6]})
>>> sites(address_keys(values), seeds=[True, False, False, True])["site"].tolist()
[0, 0, 2, 3]
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from graphlink import normalise as norm
from graphlink.core.paths import component_labels

__all__ = ["RADIUS_M", "NUMBER_SPAN", "address_keys", "sites", "distance_m", "projected"]

#: walking distance: the buildings of one factory lie within a few hundred metres
RADIUS_M = 300.0
#: house numbers further apart than this on one street are not one place (no coordinates)
NUMBER_SPAN = 30
_EARTH_M = 6_371_000.0
#: street pairs made and filtered at a time (about 100 MB of work)
_PAIRS_AT_ONCE = 2_000_000
_ZH_NUMBER = re.compile(r"(\d+)号$")
_STREET_TYPES = frozenset("st rd ave blvd dr ln ct pl sq hwy pkwy ter cres way jln lrg".split())
_ALIASES = {"wy": "way", "lane": "ln", "street": "st", "road": "rd"}
_LATIN_NOISE = frozenset({"no", "unit", "room", "rm", "flat", "apt", "suite", "ste", "floor",
                          "fl", "bldg", "building", "block", "blk", "lot"})


def _keys(value: str) -> tuple[str | None, str, float, str | None, str | None]:
    """(street, locality, house number, building key, room) of one address."""
    a = norm.address(value)
    if a is None or not any(c.isalpha() for c in value):  # none, or coordinates only
        return None, "", np.nan, None, None
    if a.script == "zh":
        m = _ZH_NUMBER.search(a.street)
        street = a.street[: m.start()] if m else a.street
        number = float(m.group(1)) if m else np.nan
        return street or None, a.locality, number, f"{a.street}|{a.building or ''}", a.room
    tokens = [_ALIASES.get(t, t) for t in a.place.split()]
    cut = next((k for k, t in enumerate(tokens) if k and t in _STREET_TYPES
                and any(c.isdigit() for w in tokens[:k] for c in w)), len(tokens) - 1)
    street, locality = " ".join(tokens[: cut + 1]), " ".join(tokens[cut + 1:])
    tokens = tokens[: cut + 1]  # "15 northgate ind est 68 jln": up to the street type
    words = [t for t in tokens if t.isalpha() and t not in _LATIN_NOISE]
    numbers = [t for t in tokens if t.isdigit()]
    number = float(numbers[-1]) if numbers else np.nan
    return " ".join(words) or None, locality, number, f"{street}|{a.building or ''}", a.room


def address_keys(values: pd.DataFrame) -> pd.DataFrame:
    """Add street, locality, number, building and room to a table of addresses.

    ``values``: one row per distinct address, with ``value``, ``lat``, ``lon``.

    >>> keys = address_keys(pd.DataFrame({"value": ["广东省广州市白云区迎宾路２７７号七号楼３０１"],
    ...                                   "lat": [None], "lon": [None]}))
    >>> keys[["street", "locality", "number", "building", "room"]].values.tolist()
    [['迎宾路', '广州白云区', 277.0, '迎宾路277号|7', '301']]
    """
    parts = [_keys(v) for v in values["value"]]
    keys = pd.DataFrame(parts, columns=["street", "locality", "number", "building", "room"],
                        index=values.index)
    return pd.concat([values, keys], axis=1)


def projected(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a sphere as 3-D coordinates in metres: chord length is within a
    millimetre of the haversine distance at a few hundred metres.

    >>> a, b = projected(np.array([30.0, 30.001]), np.array([120.0, 120.0]))
    >>> round(float(np.linalg.norm(a - b)), 1)
    111.2
    """
    phi, lam = np.radians(lat), np.radians(lon)
    return _EARTH_M * np.c_[np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]


def distance_m(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in metres.

    >>> round(float(distance_m(30.0, 120.0, np.array([30.001]), np.array([120.0]))[0]), 1)
    111.2
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _geo_links(keys: pd.DataFrame, seeds: np.ndarray, radius: float) -> np.ndarray:
    """Pairs (seed, other) of addresses whose coordinates are within ``radius``."""
    has = keys["lat"].notna().to_numpy() & keys["lon"].notna().to_numpy()
    where = np.flatnonzero(has)
    centres = np.flatnonzero(has & seeds)
    if not len(centres):
        return np.empty((0, 2), dtype=np.int64)
    xyz = projected(keys["lat"].to_numpy(dtype=float)[where],
                    keys["lon"].to_numpy(dtype=float)[where])
    from scipy.spatial import cKDTree  # a second to import; reports from a state need none

    tree = cKDTree(xyz)
    found = tree.query_ball_point(projected(keys["lat"].to_numpy(dtype=float)[centres],
                                            keys["lon"].to_numpy(dtype=float)[centres]), radius)
    sizes = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
    if not sizes.sum():
        return np.empty((0, 2), dtype=np.int64)
    others = where[np.concatenate([np.asarray(f, dtype=np.int64) for f in found])]
    pairs = np.c_[np.repeat(centres, sizes), others]
    return pairs[_consistent(keys, pairs)]


def _consistent(keys: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Pairs whose texts do not contradict their coordinates: one names no street
    (coordinates only), or both are on one street (one name holding the other:
    ``maple st`` and ``harbour ind est maple st``) with house numbers within
    ``NUMBER_SPAN`` (or one without a number)."""
    street = keys["street"].to_numpy(dtype=object)
    number = keys["number"].to_numpy(dtype=float)
    a, b = pairs[:, 0], pairs[:, 1]
    gap = np.abs(number[a] - number[b])
    close = ~(gap > NUMBER_SPAN)  # NaN (a number missing) is close
    return np.fromiter((pd.isna(x) or pd.isna(y) or (ok and _same_street(x, y))
                        for x, y, ok in zip(street[a], street[b], close, strict=True)),
                       dtype=bool, count=len(pairs))


def _same_street(x: str, y: str) -> bool:
    """One street name holds the other, as text or as a set of words.

    >>> _same_street("maple st", "harbour ind est maple st"), _same_street("迎宾路", "振兴路")
    (True, False)
    """
    return x in y or y in x or set(x.split()) <= set(y.split()) or set(y.split()) <= set(
        x.split())


def _agree(locality: np.ndarray, deepest: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Localities agree (:func:`_same_locality`) for row pairs: a dropped city,
    district or street office does not part two writings of one place.
    ``locality``: one text per row ('' when none); ``deepest``: its :func:`_deepest`."""
    a, b = pairs[:, 0], pairs[:, 1]
    return np.fromiter((x in y or y in x or _ends_alike(dx, dy) for x, y, dx, dy
                        in zip(locality[a], locality[b], deepest[a], deepest[b], strict=True)),
                       dtype=bool, count=len(pairs))


_UNIT = re.compile(r".*?(?:街道|市|区|县|旗|镇|乡|盟)")


def _deepest(locality: str) -> str:
    """The last administrative unit of a Chinese locality ('' when none)."""
    units = _UNIT.findall(locality)
    return units[-1] if units else ""


def _ends_alike(x: str, y: str) -> bool:
    return bool(x) and bool(y) and (x.endswith(y) or y.endswith(x))


def _same_locality(x: str, y: str) -> bool:
    """One locality holds the other, or their deepest units agree.

    >>> _same_locality("义乌稠城街道新塘工业区", "义乌新塘工业区")
    True
    >>> _same_locality("泉州鲤城区", "厦门集美区")
    False
    """
    return x in y or y in x or _ends_alike(_deepest(x), _deepest(y))


def _street_links(keys: pd.DataFrame, seeds: np.ndarray, radius: float) -> np.ndarray:
    """Pairs (seed, other) of addresses on one street, close in number and space.
    The candidates are made and filtered a bounded number at a time: one street
    name many addresses share ("jln") makes them with the square of the data."""
    lat, lon = keys["lat"].to_numpy(dtype=float), keys["lon"].to_numpy(dtype=float)
    locality = keys["locality"].fillna("").to_numpy(dtype=object)
    deepest = pd.Series(locality).map({x: _deepest(x) for x in pd.unique(locality)}).to_numpy(
        dtype=object)
    kept = [np.empty((0, 2), dtype=np.int64)]
    for pairs in _street_pairs(keys["street"], keys["number"].to_numpy(dtype=float), seeds):
        a, b = pairs[:, 0], pairs[:, 1]
        pairs = pairs[~(distance_m(lat[a], lon[a], lat[b], lon[b]) > 2 * radius)]  # NaN: near
        kept.append(pairs[_agree(locality, deepest, pairs)])
    return np.concatenate(kept)


def _street_spans(street: pd.Series, number: np.ndarray,
                  seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(owners, starts, stops, order): seed ``owners[i]`` is paired with the rows
    ``order[starts[i]:stops[i]]`` of its street (see :func:`_street_pairs`)."""
    code = pd.factorize(street)[0]  # -1: no street
    rows = np.flatnonzero(code >= 0)
    blank = np.isnan(number[rows])
    # by street, numbered addresses first in number order, then those without a number
    order = rows[np.lexsort((np.where(blank, 0.0, number[rows]), blank, code[rows]))]
    code_sorted, blank_sorted = code[order], np.isnan(number[order])
    streets = np.arange(code.max() + 1 if len(rows) else 0)
    first = np.searchsorted(code_sorted, streets, side="left")
    end = np.searchsorted(code_sorted, streets, side="right")
    numbered = (~blank_sorted).astype(np.int64)
    unnumbered = first + np.add.reduceat(numbered, first) if len(order) else first
    starts, stops, owners = [], [], []
    for s in np.flatnonzero(seeds & (code >= 0)):
        c, x = code[s], number[s]
        if np.isnan(x):  # no number: every address of the street
            starts.append(first[c])
            stops.append(end[c])
        else:  # numbers within the span, then the addresses without a number
            block = number[order[first[c]:unnumbered[c]]]
            starts += [first[c] + np.searchsorted(block, x - NUMBER_SPAN, side="left"),
                       unnumbered[c]]
            stops += [first[c] + np.searchsorted(block, x + NUMBER_SPAN, side="right"), end[c]]
            owners.append(s)
        owners.append(s)
    return (np.asarray(owners, dtype=np.int64), np.asarray(starts, dtype=np.int64),
            np.asarray(stops, dtype=np.int64), order)


def _street_pairs(street: pd.Series, number: np.ndarray, seeds: np.ndarray,
                  limit: int = _PAIRS_AT_ONCE) -> Iterator[np.ndarray]:
    """Pairs (seed, other) of row numbers on one street (the seed with itself too) whose
    house numbers lie within ``NUMBER_SPAN`` or one has none, in seed order, in
    chunks of about ``limit`` pairs. Only those pairs are made: a street name many
    addresses share ("jln") would otherwise make seeds times addresses of them.

    >>> chunks = _street_pairs(pd.Series(["a", "a", "a", None]), np.array([1.0, 40.0, np.nan, 1.0]),
    ...                        np.array([True, False, False, True]))
    >>> np.concatenate(list(chunks)).tolist()
    [[0, 0], [0, 2]]
    """
    owners, starts, stops, order = _street_spans(street, number, seeds)
    sizes = stops - starts
    chunk = (np.cumsum(sizes) - sizes) // limit  # spans go with the chunk they start in
    cuts = np.r_[0, np.flatnonzero(np.diff(chunk)) + 1, len(sizes)]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        size = sizes[lo:hi]
        at = np.repeat(starts[lo:hi] - (np.cumsum(size) - size), size) + np.arange(size.sum())
        yield np.c_[np.repeat(owners[lo:hi], size), order[at]]


def sites(keys: pd.DataFrame, seeds, radius: float = RADIUS_M) -> pd.DataFrame:
    """Group addresses into sites (see the module notes); adds ``site``: the
    smallest row number of the site, for every row of ``keys``.

    ``seeds``: one boolean per row, True for an address a shop with a
    counterfeit signal uses. Seeds linked to each other are one site; any
    other address joins the site of the nearest seed it is linked to (so it
    never bridges two sites); an address reached from no seed is its own site.
    """
    seeds = np.asarray(seeds, dtype=bool)
    n = len(keys)
    links = np.r_[_geo_links(keys, seeds, radius), _street_links(keys, seeds, radius)]
    inner = links[seeds[links[:, 1]]]
    label = component_labels(n, inner[:, 0], inner[:, 1])
    outer = links[~seeds[links[:, 1]]]
    if len(outer):
        lat, lon = keys["lat"].to_numpy(dtype=float), keys["lon"].to_numpy(dtype=float)
        far = distance_m(lat[outer[:, 0]], lon[outer[:, 0]], lat[outer[:, 1]], lon[outer[:, 1]])
        nearest = pd.DataFrame({"seed": outer[:, 0], "other": outer[:, 1],
                                "far": np.nan_to_num(far, nan=radius)})
        nearest = nearest.sort_values(["other", "far", "seed"]).drop_duplicates("other")
        label[nearest["other"].to_numpy()] = label[nearest["seed"].to_numpy()]
    smallest = pd.Series(np.arange(n)).groupby(label).transform("min").to_numpy()
    return keys.assign(site=smallest)
