"""A second look at candidate pairs: the comparisons blocking cannot key.

Blocking makes candidate pairs from keys (a shared value, a name key, a map
cell); a pair found through its date of birth has its names and addresses
compared only where blocking also put them side by side. Here each candidate
pair's names and addresses are compared once more where its comparison vector
says ``other``:

- ``surname``: a name part shared under otherwise different names -- the family
  name (a relative, or one person writing the given name another way) or a
  Latin given name (a married name) -- with the number of shops carrying that
  part as its frequency (王 says little, Tu a lot);
- ``resembling``: Latin addresses whose texts resemble each other (token-sort
  ratio of at least :data:`RESEMBLING`) without meeting any address rule (typos
  in the street and the suburb, a swapped postcode). Not for Hanzi addresses:
  there the ratio of unsegmented text mostly measures a shared province, city
  and district.

Neither can be blocked on (half a marketplace shares a few family names), so
the chance agreement ``u`` of these levels is estimated from random shop pairs
(:func:`sampled_u`), as Splink's ``estimate_u_using_random_sampling`` does; a
count over blocked pairs would see none of them alone and call them certain.

>>> import pandas as pd
>>> uses = pd.DataFrame({"shop_id": ["S1", "S2", "S1", "S2"],
...                      "kind": ["holder_name", "holder_name", "address", "address"],
...                      "value": ["kayla tu", "brooke tu", "6 chauvel cir coleambally 3137",
...                                "6 chauvel circle coleambally 3173"]})
>>> sorted(_surnames(uses)["surname"])
['first:brooke', 'first:kayla', 'last:tu', 'last:tu']
>>> bool(_ratios(uses, pd.DataFrame({"a": ["S1"], "b": ["S2"]}))[0] >= RESEMBLING)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from graphlink.linkage.model import COMPARISONS, NAMES, Vectors

__all__ = ["RESEMBLING", "SAMPLE", "SAMPLED_LEVELS", "second_look", "sampled_u", "sample_pairs"]

RESEMBLING = 60  # token-sort ratio (0-100) of two address texts
SAMPLE = 50_000  # random shop pairs for u
_PER_SHOP = 3  # values of a kind compared per shop (a shop's first ones)
_HANZI = r"[\u4e00-\u9fff]"
_NAME = NAMES.index("name")
_ADDRESS = NAMES.index("address")
_SURNAME = COMPARISONS["name"][1].index("surname")
_RESEMBLING = COMPARISONS["address"][1].index("resembling")


def _name_parts(value: str) -> list[str]:
    """The parts of a normalised person name that identify on their own: the family
    name (first Hanzi) of a Chinese name; the first and last words (2+ letters) of a
    Latin one, marked by position (a given name never meets a family name)."""
    value = value.strip()
    if not value:
        return []
    if "\u4e00" <= value[0] <= "\u9fff":
        return [value[0]] if len(value) >= 2 else []
    words = value.split()
    if len(words) < 2:
        return []
    return [f"{side}:{w}" for side, w in (("first", words[0]), ("last", words[-1]))
            if len(w) >= 2]


def _surnames(uses: pd.DataFrame) -> pd.DataFrame:
    """(shop_id, surname): each name part of each shop's holder names, once."""
    names = uses[uses["kind"] == "holder_name"]
    rows = [(shop, part) for shop, value in zip(names["shop_id"].tolist(),
                                                names["value"].tolist(), strict=True)
            for part in _name_parts(value)]
    out = pd.DataFrame(rows, columns=["shop_id", "surname"])
    return out.drop_duplicates(ignore_index=True)


def _shared_surname(uses: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Per pair (columns a, b): how many shops carry the family name the two share
    (the rarest, when several; 0: none shared). The count is the level's frequency:
    王 is shared by one shop in fourteen, Tu by a handful."""
    names = _surnames(uses)
    out = np.zeros(len(pairs))
    if not len(pairs) or not len(names):
        return out
    names = names.assign(users=names.groupby("surname")["shop_id"].transform("size"))
    keyed = pairs.reset_index(drop=True).reset_index()
    hit = keyed.merge(names, left_on="a", right_on="shop_id").merge(
        names[["shop_id", "surname"]], left_on=["b", "surname"], right_on=["shop_id", "surname"])
    rarest = hit.groupby("index")["users"].min()
    out[rarest.index.to_numpy()] = rarest.to_numpy(dtype=float)
    return out


def _same_surname(uses: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    return _shared_surname(uses, pairs) > 0


def _ratios(uses: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Per pair (columns a, b): the best token-sort ratio of the two shops' addresses
    (0 when one has none)."""
    places = uses[(uses["kind"] == "address") & ~uses["value"].str.contains(_HANZI, na=True)]
    places = places.drop_duplicates(["shop_id", "value"])
    places = places.groupby("shop_id", sort=False).head(_PER_SHOP)[["shop_id", "value"]]
    if not len(pairs) or not len(places):
        return np.zeros(len(pairs))
    keyed = pairs.reset_index(drop=True).reset_index()
    both = keyed.merge(places, left_on="a", right_on="shop_id").merge(
        places, left_on="b", right_on="shop_id", suffixes=("_a", "_b"))
    out = np.zeros(len(pairs))
    if len(both):
        score = process.cpdist(both["value_a"].tolist(), both["value_b"].tolist(),
                               scorer=fuzz.token_sort_ratio, workers=-1)
        np.maximum.at(out, both["index"].to_numpy(), score)
    return out


def second_look(vec: Vectors, uses: pd.DataFrame) -> Vectors:
    """``vec`` with ``surname`` and ``resembling`` levels where the name or address
    comparison was ``other`` (both shops carry the kind, nothing linked them).

    ``uses`` holds (at least) the holder names and addresses of the pairs' shops.
    """
    level, users = vec.level.copy(), vec.users.copy()
    rows = np.flatnonzero(level[:, _NAME] == len(COMPARISONS["name"][1]))
    if len(rows):
        shared = _shared_surname(uses, _pairs(vec, rows))
        hit = rows[shared > 0]
        level[hit, _NAME], users[hit, _NAME] = _SURNAME, shared[shared > 0]
    rows = np.flatnonzero(level[:, _ADDRESS] == len(COMPARISONS["address"][1]))
    if len(rows):
        level[rows[_resemble(uses, _pairs(vec, rows))], _ADDRESS] = _RESEMBLING
    return Vectors(vec.shop_a, vec.shop_b, level, users, vec.context, vec.tries)


def _pairs(vec: Vectors, rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"a": vec.shop_a[rows], "b": vec.shop_b[rows]})


def _resemble(uses: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    return _ratios(uses, pairs) >= RESEMBLING


#: the levels :func:`sampled_u` estimates: (comparison, kind, level, the test of a pair)
SAMPLED_LEVELS = (("name", "holder_name", "surname", _same_surname),
                  ("address", "address", "resembling", _resemble))


def sampled_u(uses: pd.DataFrame, size: int = SAMPLE, seed: int = 0) -> dict[str, dict[str, float]]:
    """Chance agreement of the second-look levels among random pairs of the shops
    that carry the kind: ``{"name": {"surname": u}, "address": {"resembling": u}}``.

    Deterministic per ``seed``; at least one agreement in ``size`` pairs is assumed
    (a level never seen by chance is rare, not impossible).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for comparison, kind, level, test in SAMPLED_LEVELS:
        shops = np.sort(uses.loc[uses["kind"] == kind, "shop_id"].unique().astype(object))
        if len(shops) < 2:
            continue
        a, b = sample_pairs(rng, len(shops), size)
        pairs = pd.DataFrame({"a": shops[a], "b": shops[b]})
        out[comparison] = {level: max(float(test(uses, pairs).mean()), 1.0 / size)}
    return out


def sample_pairs(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` random pairs of ``n`` shops, as ranks (never a shop with itself).

    >>> a, b = sample_pairs(np.random.default_rng(0), 3, 5)
    >>> bool((a != b).all()), int(max(a.max(), b.max())) < 3
    (True, True)
    """
    a = rng.integers(0, n, size)
    return a, (a + rng.integers(1, n, size)) % n
