"""Linkage: blocking + fuzzy comparison of identifier values, then shop-pair evidence.

Fuzzy where people cheat, exact where machines speak (DESIGN.md, idea 3).
Devices, IPs, phones and ID numbers link only when their canonical values are
equal. Holder names, dispatch addresses, emails and payment endpoints are also
compared fuzzily, never all pairs: each *blocking pass* below gives every
distinct value of one kind a key, sorts the values by (key, text), and compares
each value with the next ``WINDOW - 1`` (the sorted-neighbourhood method).
Each comparison is a vectorised rapidfuzz prefilter (``process.cpdist``) or a
key-equality test; survivors get the kind's full rule from
:mod:`graphlink.linkage.compare`. Comparisons are therefore at most
``values * (WINDOW - 1)`` per pass: linear in the data.

Blocking passes (kind, name: key; prefilter)

- holder_name, pinyin: the script-neutral name key (张伟 = Zhang Wei = Wei Zhang, and the
  homophone 张韦); token-sort >= 60
- holder_name, prefix: Latin names, each token cut to 2 letters, sorted
  (Jonathan Smith = Jon Smyth); token-sort >= 70
- holder_name, initials: Latin names, the longest word and the other words' initials
  (Olivia Williams = O. Williams); same key
- address, place: the address without building and room (one room down the corridor); same key
- address, geocell: lat/lon rounded to ~110 m cells; same key
- address, street: a Latin street and locality without the house number (the neighbours'
  house); same key
- address, text / text-reversed: neighbours in text order, forwards and backwards (typos
  anywhere); ratio >= 85
- address, near / near-shifted / near-lat / near-lon: ~550 m cells, where coordinates
  exist, on four grids half a cell apart on either axis; same key, neighbours in Z order of
  ~55 m squares (level ``nearby``)
- email, skeleton: the email local part without digits and separators; same key
- email, local / local-reversed: neighbours by local part, read forwards and backwards (the
  same QQ number at another provider, a letter or digit added anywhere); ratio >= 80
- payment, mask: visible prefix and last four digits (6222****1234 = 6222021234567891234); same key
- id_number, head / tail / anagram and birth_date, head / tail: half of the characters,
  or all of them sorted (a swap anywhere); OSA similarity >= 1 - 1/length (one edit)
- shop_name, text / text-reversed: neighbours in text order (新…, …二店); partial ratio >= 80
- phone, head / tail / anagram: half of the last ten digits, or all of them sorted (a
  swap anywhere); OSA similarity >= 1 - 1/length (one edit)
- ip, block: the /24 (IPv4) or /48 (IPv6) network; same key

A key shared by more than ``MAX_BLOCK`` values (a very common name, a park
with hundreds of rooms) is not compared at all: it is context, recorded in
``Links.hub_blocks``.

Each comparison that scores at least ``LINK_MIN`` becomes a similarity link;
:func:`pair_evidence` then turns exact shared values and similarity links into
evidence between pairs of shops, which the match model (:mod:`graphlink.linkage.model`) weighs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from graphlink import normalise as norm
from graphlink.core.paths import smallest_in_component
from graphlink.core.workers import map_chunks, workers
from graphlink.linkage import compare
from graphlink.linkage.identifiers import Identifiers, run_starts, value_rows

__all__ = [
    "Links", "find_links", "pair_evidence", "count_entities", "ENTITY_KINDS",
    "entity_labels", "link_new",
    "MAX_BLOCK", "WINDOW", "LINK_MIN",
    "HUB_SHOPS", "HUB_SHOPS_BY_KIND", "hub_limit", "HUB_REPORT", "hubs",
    "comparison_growth",
]

MAX_BLOCK = 200
WINDOW = 10
LINK_MIN = compare.POSSIBLE  # below: "not the same" (see graphlink.linkage.compare)
# a value shared by more shops than this is a hub: context, never evidence of one operator
HUB_SHOPS = 30
# display names are picked from a vocabulary, not issued to one owner: a shop name on
# more than this many shops is a template: it makes no candidate pair, and between two
# shops that other evidence paired it counts for what its frequency says
HUB_SHOPS_BY_KIND = {"shop_name": 10}


def hub_limit(kinds: pd.Series | np.ndarray) -> np.ndarray:
    """The most shops a value of each kind may have and still be evidence.

    >>> hub_limit(np.array(["device", "shop_name"])).tolist()
    [30, 10]
    """
    kinds = pd.Series(np.asarray(kinds, dtype=object))
    return kinds.map(HUB_SHOPS_BY_KIND).fillna(HUB_SHOPS).astype(np.int64).to_numpy()


# identifiers one operator carries and strangers do not share: they define entities
ENTITY_KINDS = ("device", "payment", "phone", "email", "id_number")


def entity_labels(ids: Identifiers, known: pd.Series | None = None) -> pd.Series:
    """The entity of every shop with a shared machine identifier (indexed by shop_id).

    Shops joined by an exact, non-hub identifier of ``ENTITY_KINDS`` form one
    entity, labelled by its smallest shop id; shops not listed are their own.
    ``known`` (shop_id -> entity, e.g. a saved world's, whose ``ids`` hold only
    part of its uses): each of its shops in ``ids`` starts in that entity, so
    new shops join, and may bridge, whole entities; every such shop is listed.
    """
    uses = ids.uses
    codes, _ = ids.codes()
    n = np.bincount(codes)[codes]  # shops per value (one use row per shop and value)
    strong = np.flatnonzero(uses["kind"].isin(ENTITY_KINDS).to_numpy() & (n >= 2)
                            & (n <= HUB_SHOPS))
    mine = (known[known.index.isin(uses["shop_id"].unique())] if known is not None
            else pd.Series(dtype=object))
    shop_codes, shops = pd.factorize(np.r_[uses["shop_id"].to_numpy(dtype=object)[strong],
                                           mine.index.to_numpy(dtype=object),
                                           mine.to_numpy(dtype=object)])
    # chain each value's shops (a path per value: the same components as a clique)
    order = np.argsort(codes[strong], kind="stable")
    members, values = shop_codes[:len(strong)][order], codes[strong][order]
    same = values[1:] == values[:-1]
    tied = shop_codes[len(strong):].reshape(2, -1)  # each known shop to its entity's label
    names = np.asarray(shops, dtype=object)
    smallest = smallest_in_component(names, np.r_[members[:-1][same], tied[0]],
                                     np.r_[members[1:][same], tied[1]])
    return pd.Series(smallest, index=pd.Index(names, name="shop_id"), dtype=object,
                     name="entity")


def count_entities(ids: Identifiers, labels: pd.Series | None = None) -> Identifiers:
    """Add ``entities`` to ``ids.values``: how many unrelated entities use each value.

    Rarity is about *unrelated* users (DESIGN.md, idea 2): an operator's six
    shops that share one laptop are one user of its dispatch address, not six.
    Shops joined by an exact, non-hub machine identifier (``ENTITY_KINDS``)
    form one entity (:func:`entity_labels`, or ``labels`` when given); a
    value's ``entities`` counts the distinct entities among its shops.
    """
    uses = ids.uses
    entity = entity_labels(ids) if labels is None else labels
    mapped = uses["shop_id"].map(entity).astype(object)
    entities = pd.factorize(mapped.where(mapped.notna(), uses["shop_id"]))[0].astype(np.int64)
    rows = value_rows(ids).astype(np.int64)
    known = rows >= 0
    width = entities.max(initial=0) + 1
    pairs = _distinct(rows[known] * width + entities[known])
    counts = np.bincount(pairs // width, minlength=len(ids.values))
    # a value no use names (another extraction's) has no count
    ids.values["entities"] = counts if counts.all() else np.where(counts > 0, counts, np.nan)
    return ids


@dataclass(frozen=True)
class BlockingPass:
    """One blocking pass: which kind, how to key a value, how to prefilter.

    ``scorer`` (a rapidfuzz scorer on ``text`` forms, with ``cutoff``) is the
    prefilter; ``same_key`` restricts candidates to values with equal keys.
    """

    kind: str
    name: str
    key: Callable[[pd.DataFrame], pd.Series]
    rule: Callable[[str, str], compare.Similarity]
    same_key: bool = True
    text: Callable[[str], str] = str
    scorer: Callable | None = None
    cutoff: float = 0
    # False when the rule cannot reach ``minimum`` (a cheap test before the rule)
    may_link: Callable[[str, str], bool] | None = None
    minimum: float = LINK_MIN
    # the sort order within a key from the values table (instead of ``text`` of the value)
    order: Callable[[pd.DataFrame], pd.Series] | None = None
    # True: the key is a crowd (a place, a network, a name) and its users are the
    # agreement's frequency; False: an artefact of blocking (half of a number), so
    # the two values' own users are
    crowd: bool = True


@dataclass
class Links:
    """Similarity links between identifier values, and the cost of finding them."""

    similar: pd.DataFrame
    comparisons: int = 0
    candidates: int = 0
    hub_blocks: pd.DataFrame = field(default_factory=pd.DataFrame)
    keys: pd.DataFrame = field(default_factory=pd.DataFrame)


#: the columns of :attr:`Links.keys`, as a saved state's ``keys.parquet`` holds them
KEY_COLUMNS = ("key", "text", "value", "key_shops", "pass", "kind")


def _keys_schema():
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c == "key_shops" else pa.string())
                      for c in KEY_COLUMNS])


class CompactLinks(Links):
    """:class:`Links` whose ``keys`` (every blocking pass's keyed values: the largest
    table of an analysis, read only to save a state or link new values to it) are
    held as one Arrow table: their texts in contiguous buffers, not one Python
    string per cell (a third of the memory). Each read of ``keys`` converts them
    afresh; :meth:`keys_table` hands the Arrow table to a writer as it is. Keys set
    (the constructor, ``dataclasses.replace``) as a DataFrame are held as given.

    >>> import pyarrow as pa
    >>> links = CompactLinks(pd.DataFrame(), keys=pa.table({"key": ["k"], "key_shops": [2]}))
    >>> links.keys.to_dict("records")
    [{'key': 'k', 'key_shops': 2}]
    """

    _table = None  # the keys as a pyarrow.Table, or None: a DataFrame is held
    _held: pd.DataFrame | None = None

    @property
    def keys(self) -> pd.DataFrame:  # type: ignore[override]
        """Every pass's keyed values (a new DataFrame at each read of an Arrow table)."""
        return self._held if self._table is None else self._table.to_pandas()

    @keys.setter
    def keys(self, frame) -> None:
        if isinstance(frame, pd.DataFrame):
            self._held, self._table = frame, None
        else:
            self._held, self._table = None, frame

    def keys_table(self):
        """The keys as a :class:`pyarrow.Table` (None when a DataFrame is held)."""
        return self._table


def _apply(values: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """``fn`` of each distinct value, once (the normalisers memoise what the rules read
    later)."""
    uniques = values.unique().tolist()
    return values.map(dict(zip(uniques, map(fn, uniques), strict=True)))


def _name_prefix(value: str) -> str | None:
    """Latin names only: Hanzi typos are caught by the pinyin pass."""
    if norm.has_hanzi(value):
        return None
    key = norm.name_pinyin(value)
    return " ".join(sorted(t[:2] for t in key.split())) if key else None


def _name_initials(value: str) -> str | None:
    """Latin names only: the longest word, and the initial of every other one, sorted
    (Olivia Williams = O. Williams = Williams, Olivia)."""
    if norm.has_hanzi(value):
        return None
    words = (norm.name_pinyin(value) or "").split()
    if len(words) < 2:
        return None
    longest = max(words, key=lambda w: (len(w), w))
    rest = [w[0] for w in words if w is not longest]
    return " ".join(sorted(rest)) + " " + longest


def _address_place(value: str) -> str | None:
    a = norm.address(value)
    return a.place if a else None


def _address_street(value: str) -> str | None:
    return compare.street_key(norm.address(value))


def _geocell(values: pd.DataFrame) -> pd.Series:
    lat = values["lat"].mul(1000).round().astype("Int64").astype(str)
    lon = values["lon"].mul(1000).round().astype("Int64").astype(str)
    return (lat + "," + lon).where(values["lat"].notna() & values["lon"].notna())


def _georing(lat_shift: float, lon_shift: float) -> Callable[[pd.DataFrame], pd.Series]:
    """Cells of ~550 m (0.005 degrees), the grid moved by a share of a cell: with the
    four grids 0 / half a cell apart on each axis, every two points within ~270 m
    share a cell at least once."""
    def key(values: pd.DataFrame) -> pd.Series:
        lat = np.floor(values["lat"].astype(float) / 0.005 + lat_shift).astype("Int64")
        lon = np.floor(values["lon"].astype(float) / 0.005 + lon_shift).astype("Int64")
        return ("r" + lat.astype(str) + "," + lon.astype(str)).where(
            values["lat"].notna() & values["lon"].notna())
    return key


def _georing_order(values: pd.DataFrame) -> pd.Series:
    """Within a ~550 m cell, ~55 m squares in Z order: neighbours in the sort order are
    neighbours on the ground, so the window compares the nearest addresses."""
    fine = [np.floor(values[c].astype(float) / 0.0005).astype("int64").to_numpy() % 64
            for c in ("lat", "lon")]
    code = np.zeros(len(values), dtype=np.int64)
    for bit in range(6):
        code |= ((fine[0] >> bit) & 1) << (2 * bit + 1) | ((fine[1] >> bit) & 1) << (2 * bit)
    return pd.Series([f"{c:04d}" for c in code.tolist()], index=values.index, dtype=object)


def _email_skeleton(value: str) -> str | None:
    """The skeleton, from the memoised parts the rule reads too."""
    parts = compare.email_parts(value)
    return parts[2] if parts else None


def _email_local(value: str) -> str | None:
    local = value.rpartition("@")[0]
    return local if len(local) >= 4 else None


def _payment_mask(value: str) -> str | None:
    p = norm.payment(value)
    return norm.payment_key(p) if p is not None and not p.hashed else None


def _email_local_reversed(value: str) -> str | None:
    local = _email_local(value)
    return local[::-1] if local else None


def _pinyin_text(value: str) -> str:
    return norm.name_pinyin(value) or value


def _addresses(a: str, b: str) -> compare.Similarity:
    return compare.address_similarity(norm.address(a), norm.address(b))


def _payments(a: str, b: str) -> compare.Similarity:
    return compare.payment_similarity(norm.payment(a), norm.payment(b))


_NEARBY = compare.Similarity(LINK_MIN, "nearby")


def _nearby(a: str, b: str) -> compare.Similarity:
    """Addresses in one ~110 m cell: their text similarity, or ``nearby`` at least.
    Most neighbours on the ground share nothing in writing: those are ``nearby``
    without the full comparison."""
    if not any(x is not None and x == y for x, y in zip(_anchors(a), _anchors(b), strict=True)):
        return _NEARBY
    sim = _addresses(a, b)
    return sim if sim.score >= LINK_MIN else _NEARBY


@cache
def _anchors(value: str) -> tuple:
    return compare.address_anchors(norm.address(value))


def _homophone_names(a: str, b: str) -> compare.Similarity:
    """Name similarity, where a homophone (0.6) links and two different Latin names
    sharing a word (also 0.6) do not."""
    sim = compare.name_similarity(a, b)
    return sim if sim.method != "latin-different" else compare.Similarity(0.0, sim.method)


def _names_may_link(a: str, b: str) -> bool:
    """Names that may reach a link: a typo or homophone (张伟 / 张韦) included."""
    return compare.names_may_match(a, b) or norm.name_pinyin(a) == norm.name_pinyin(b)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


@cache  # keys and texts of three passes each: cleared after linking
def _national(value: str) -> str:
    """The last ten digits: a number written with and without its country code agrees."""
    return _digits(value)[-10:]


def _phone_head(value: str) -> str | None:
    d = _national(value)
    return d[:5] if len(d) >= 8 else None


def _phone_anagram(value: str) -> str | None:
    """The last ten digits sorted: two neighbours swapped anywhere keep the key."""
    d = _national(value)
    return "".join(sorted(d)) if len(d) >= 8 else None


def _phone_tail(value: str) -> str | None:
    d = _national(value)
    return d[-5:] if len(d) >= 8 else None


def _phone_edit(a: str, b: str) -> compare.Similarity:
    """One digit changed or two neighbours swapped: ``phone-edit`` (0.85)."""
    da, db = _national(a), _national(b)
    close = len(da) == len(db) >= 8 and OSA.distance(da, db) <= 1
    return compare.Similarity(0.85 if close else 0.0, "phone-edit")


@cache
def _id_text(value: str) -> str:
    """An ID number's letters and digits, upper case (what one edit is counted on)."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _id_key(value: str, head: bool) -> str | None:
    """Half of an ID number's characters (hashed values have none worth editing)."""
    text = _id_text(value)
    if not 6 <= len(text) <= 20:
        return None
    half = len(text) // 2
    return f"{len(text)}:" + (text[:half] if head else text[half:])


def _id_anagram(value: str) -> str | None:
    """The characters sorted: two neighbours swapped anywhere keep the key."""
    text = _id_text(value)
    return "".join(sorted(text)) if 6 <= len(text) <= 20 else None


def _id_edit(a: str, b: str) -> compare.Similarity:
    """An ID number with one character changed or two neighbours swapped: ``id-edit``."""
    ta, tb = _id_text(a), _id_text(b)
    close = ta != tb and len(ta) == len(tb) >= 6 and OSA.distance(ta, tb) <= 1
    return compare.Similarity(0.85 if close else 0.0, "id-edit")


def _ip_block(a: str, b: str) -> compare.Similarity:
    same = a != b and norm.ip_block(a) == norm.ip_block(b)
    return compare.Similarity(0.75 if same else 0.0, "ip-block")


# Prefilters of the one-edit passes, in C: one edit (or swap) in a text of n characters
# leaves an OSA similarity of at least 1 - 1/n (IDs have 6+ characters, phones 8+).
_ONE_EDIT_ID = (OSA.normalized_similarity, 1 - 1 / 6 - 1e-4)
_ONE_EDIT_PHONE = (OSA.normalized_similarity, 1 - 1 / 8 - 1e-4)

PASSES = (
    BlockingPass("holder_name", "pinyin", lambda v: _apply(v["value"], norm.name_pinyin),
                 _homophone_names, False, _pinyin_text, fuzz.token_sort_ratio, 60,
                 _names_may_link, minimum=0.6),
    BlockingPass("holder_name", "prefix", lambda v: _apply(v["value"], _name_prefix),
                 compare.name_similarity, False, _pinyin_text, fuzz.token_sort_ratio, 70,
                 compare.names_may_match),
    BlockingPass("holder_name", "initials", lambda v: _apply(v["value"], _name_initials),
                 _homophone_names),
    # canonical addresses were remembered by the extraction: a lookup each, in-process
    BlockingPass("address", "place", lambda v: v["value"].map(_address_place), _addresses),
    BlockingPass("address", "geocell", _geocell, _nearby),
    BlockingPass("address", "street", lambda v: v["value"].map(_address_street), _addresses),
    BlockingPass("email", "skeleton", lambda v: _apply(v["value"], _email_skeleton),
                 compare.email_similarity),
    BlockingPass("payment", "mask", lambda v: _apply(v["value"], _payment_mask), _payments),
    # addresses with typos anywhere: neighbours in text order, read forwards and backwards
    # (the key is the sort order itself: one value per key, never a hub)
    BlockingPass("address", "text", lambda v: v["value"], _addresses, False,
                 str, fuzz.ratio, 85, minimum=0.5),
    BlockingPass("address", "text-reversed", lambda v: v["value"].str[::-1], _addresses,
                 False, str, fuzz.ratio, 85, minimum=0.5),
    BlockingPass("id_number", "head", lambda v: v["value"].map(lambda x: _id_key(x, True)),
                 _id_edit, True, _id_text, *_ONE_EDIT_ID, crowd=False),
    BlockingPass("id_number", "tail", lambda v: v["value"].map(lambda x: _id_key(x, False)),
                 _id_edit, True, lambda v: _id_text(v)[::-1], *_ONE_EDIT_ID, crowd=False),
    BlockingPass("id_number", "anagram", lambda v: v["value"].map(_id_anagram), _id_edit,
                 True, _id_text, *_ONE_EDIT_ID, crowd=False),
    BlockingPass("birth_date", "head", lambda v: v["value"].map(lambda x: _id_key(x, True)),
                 _id_edit, True, _id_text, *_ONE_EDIT_ID, crowd=False),
    BlockingPass("birth_date", "tail", lambda v: v["value"].map(lambda x: _id_key(x, False)),
                 _id_edit, True, lambda v: _id_text(v)[::-1], *_ONE_EDIT_ID, crowd=False),
    # shop names: a prefix or suffix added (新..., ...二店) keeps one of the two orders
    BlockingPass("shop_name", "text", lambda v: v["value"], compare.shop_name_similarity, False,
                 str, fuzz.partial_ratio, 80),
    BlockingPass("shop_name", "text-reversed", lambda v: v["value"].str[::-1],
                 compare.shop_name_similarity, False, str, fuzz.partial_ratio, 80),
    BlockingPass("address", "near", _georing(0, 0), _nearby, order=_georing_order),
    BlockingPass("address", "near-shifted", _georing(0.5, 0.5), _nearby, order=_georing_order),
    BlockingPass("address", "near-lat", _georing(0.5, 0), _nearby, order=_georing_order),
    BlockingPass("address", "near-lon", _georing(0, 0.5), _nearby, order=_georing_order),
    BlockingPass("email", "local", lambda v: v["value"].map(_email_local), compare.email_similarity,
                 False, lambda v: v.rpartition("@")[0], fuzz.ratio, 80),
    BlockingPass("email", "local-reversed", lambda v: v["value"].map(_email_local_reversed),
                 compare.email_similarity, False, lambda v: v.rpartition("@")[0][::-1],
                 fuzz.ratio, 80),
    BlockingPass("phone", "head", lambda v: v["value"].map(_phone_head), _phone_edit, True,
                 _national, *_ONE_EDIT_PHONE, crowd=False),
    BlockingPass("phone", "tail", lambda v: v["value"].map(_phone_tail), _phone_edit, True,
                 lambda v: _national(v)[::-1], *_ONE_EDIT_PHONE, crowd=False),
    BlockingPass("phone", "anagram", lambda v: v["value"].map(_phone_anagram), _phone_edit,
                 True, _national, *_ONE_EDIT_PHONE, crowd=False),
    BlockingPass("ip", "block", lambda v: _apply(v["value"], norm.ip_block), _ip_block),
)

_LINK_COLUMNS = ["kind", "value_a", "value_b", "score", "method", "block_shops"]


def find_links(ids: Identifiers, passes=PASSES, window: int = WINDOW) -> Links:
    """Compare identifier values pass by pass; return the similarity links.

    The result's ``similar`` has columns kind, value_a, value_b (value_a <
    value_b), score, method, block_shops (shops on the two values' keys, for
    rarity); its ``keys`` every pass's blocking keys (saved with an analysis so
    that :func:`link_new` compares new values without normalising the world).
    """
    try:
        return _find_links(ids, passes, window)
    finally:
        _forget_edit_texts()


#: values (of all kinds) from which the passes run in worker processes
PARALLEL_VALUES = 50_000


def _forget_edit_texts() -> None:
    _national.cache_clear()
    _id_text.cache_clear()
    _anchors.cache_clear()


def _find_links(ids: Identifiers, passes, window: int) -> Links:
    by_kind = dict(tuple(ids.values.groupby("kind", sort=False)))  # not a mask per pass
    groups = _pass_groups(passes, by_kind)
    by_kind[None] = ids.values.iloc[:0]  # the kinds without values
    # the groups run side by side in worker processes (each its passes in order, with
    # its own memo); small data stays in-process, where a fork costs more than the work
    alone = len(ids.values) < PARALLEL_VALUES
    done = map_chunks(_run_groups, groups, passes, by_kind, window,
                      min_items=len(groups) + 1 if alone else 1)
    results = dict(item for group in done for item in group)
    found, hubs, keys = [], [], []
    comparisons = candidates = 0
    for i in range(len(passes)):  # pass order: the first of two equal links is kept
        pass_found, pass_hubs, pass_keys, compared, pairs = results[i]
        found.extend(pass_found)
        hubs.extend(pass_hubs)
        keys.append(pass_keys)
        comparisons += compared
        candidates += pairs
    return CompactLinks(_links_frame(found), comparisons, candidates, pd.DataFrame(hubs),
                        _concat_keys(keys))


def _concat_keys(tables: list):
    """The passes' key tables as one (a DataFrame when there are none: its columns and
    dtypes as the passes' frames concatenated always had)."""
    import pyarrow as pa

    if not sum(t.num_rows for t in tables):
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True) if tables else \
            pd.DataFrame(columns=list(KEY_COLUMNS))
    return pa.concat_tables(tables)


def _pass_groups(passes, by_kind: dict) -> list[list[int]]:
    """Pass indices in as many groups as there are workers, balanced by values to key:
    the passes of one kind, and of kinds sharing a rule (ID numbers and birth dates),
    stay in one group, so each rule's memo sees all its passes."""
    cluster = {bp.kind: bp.kind for bp in passes}

    def root(kind: str) -> str:
        while cluster[kind] != kind:
            kind = cluster[kind]
        return kind

    by_rule: dict = {}
    for bp in passes:
        cluster[root(bp.kind)] = root(by_rule.setdefault((bp.rule, bp.may_link), bp.kind))
    members: dict[str, list[int]] = {}
    for i, bp in enumerate(passes):
        members.setdefault(root(bp.kind), []).append(i)
    cost = {c: sum(len(by_kind.get(passes[i].kind, ())) for i in idx)
            for c, idx in members.items()}
    bins: list[list[int]] = [[] for _ in range(max(1, min(workers(), len(members))))]
    loads = [0] * len(bins)
    for c in sorted(members, key=lambda c: (-cost[c], c)):
        k = loads.index(min(loads))
        bins[k].extend(members[c])
        loads[k] += cost[c]
    return [sorted(b) for b in bins if b]


def _run_groups(groups: list[list[int]], passes, by_kind: dict, window: int) -> list[list]:
    """Each group's passes in order: per pass (index, (links, hubs, keys, comparisons,
    candidates))."""
    return [[(i, result) for i, result in zip(group, _run_passes(
        [passes[i] for i in group], by_kind, window), strict=True)] for group in groups]


def _run_passes(passes, by_kind: dict, window: int) -> list[tuple]:
    memo, out = _Memo(passes), []
    for bp in passes:
        keyed, hub_keys = _keyed(by_kind.get(bp.kind, by_kind[None]), bp)
        keys = _key_table(keyed[["key", "text", "value", "key_shops"]].assign(
            **{"pass": bp.name, "kind": bp.kind}))
        found, compared, pairs = [], 0, []
        if len(keyed) >= 2:
            pairs, compared = _window_pairs(keyed, bp, window)
            found = _compared(bp, pairs, memo)
        memo.done(bp)
        out.append((found, hub_keys, keys, compared, len(pairs)))
    return out


def _key_table(keys: pd.DataFrame):
    """A pass's keys as an Arrow table (compact, and cheap to send from a worker)."""
    import pyarrow as pa

    return pa.Table.from_pandas(keys, schema=_keys_schema(), preserve_index=False
                                ).replace_schema_metadata(None)


class _Memo:
    """Rule results kept while later passes use the same rule: the ~550 m grids and
    the address passes meet many pairs twice or more."""

    def __init__(self, passes) -> None:
        self.last = {(bp.rule, bp.may_link): bp for bp in passes}
        uses = Counter((bp.rule, bp.may_link) for bp in passes)
        self.results: dict = {rule: {} for rule, n in uses.items() if n > 1}

    def get(self, bp: BlockingPass) -> dict | None:
        return self.results.get((bp.rule, bp.may_link))

    def done(self, bp: BlockingPass) -> None:
        if self.last[(bp.rule, bp.may_link)] is bp:
            self.results.pop((bp.rule, bp.may_link), None)


def _compared(bp: BlockingPass, pairs: list[tuple[str, str, int]], memo: _Memo | None = None
              ) -> list[tuple]:
    """The candidate pairs the pass's rule calls at least possible matches."""
    known = memo.get(bp) if memo is not None else None
    # in-process: with each value's parts memoised (keys, anchors, names), a rule costs
    # microseconds, less than forking workers and sending results back (measured at
    # 100k shops on 2 cores, every pass); the memos then serve the later passes too
    if known is None:
        sims = _compare_chunk(pairs, bp)
    else:
        fresh = list({(a, b) if a <= b else (b, a) for a, b, _ in pairs} - known.keys())
        known.update(zip(fresh, _compare_chunk(fresh, bp), strict=True))
        sims = [known[(a, b) if a <= b else (b, a)] for a, b, _ in pairs]
    return [(bp.kind, *sorted((a, b)), sim.score, sim.method, shops)
            for (a, b, shops), sim in zip(pairs, sims, strict=True)
            if sim is not None and sim.score >= bp.minimum]


def _compare_chunk(pairs: list[tuple], bp: BlockingPass) -> list[compare.Similarity | None]:
    """The rule's similarity (or None, ruled out at once) of each candidate pair
    (value_a, value_b, ...) of a pass."""
    may_link = bp.may_link or (lambda a, b: True)
    return [bp.rule(a, b) if may_link(a, b) else None for a, b, *_ in pairs]


def _links_frame(found: list[tuple]) -> pd.DataFrame:
    """One link per (kind, value_a, value_b), sorted by them: the best score, then the
    smallest block, then the first found (passes can find one pair twice)."""
    if not found:
        return pd.DataFrame(columns=_LINK_COLUMNS)
    similar = pd.DataFrame(dict(zip(_LINK_COLUMNS, zip(*found, strict=True), strict=True)))
    codes = [pd.factorize(similar[c], sort=True)[0] for c in ("kind", "value_a", "value_b")]
    order = np.lexsort((similar["block_shops"].to_numpy(), -similar["score"].to_numpy(),
                        *reversed(codes)))
    return similar.iloc[order[run_starts(*(code[order] for code in codes))]].reset_index(
        drop=True)


def link_new(new: pd.DataFrame, keys: pd.DataFrame, hub_blocks: pd.DataFrame,
             passes=PASSES, window: int = WINDOW) -> Links:
    """Similarity links of new identifier values, among themselves and with a world.

    ``new`` holds the values an analysed world does not have (kind, value,
    shops, entities); ``keys`` and ``hub_blocks`` are that world's
    :attr:`Links.keys` and :attr:`Links.hub_blocks`. Each new value is placed
    in the world's sorted order of each pass and compared with the values a
    full run's window would have put next to it, so linking a day's sign-ups
    costs a binary search per value, not a pass over the world. Keys that are
    hubs in the world stay hubs; a key the new values push over ``MAX_BLOCK``
    is not re-judged (the next full analysis does).
    """
    try:
        return _link_new(new, keys, hub_blocks, passes, window)
    finally:
        _forget_edit_texts()


def _link_new(new: pd.DataFrame, keys: pd.DataFrame, hub_blocks: pd.DataFrame, passes,
              window: int) -> Links:
    found, comparisons, candidates = [], 0, 0
    for bp in passes:
        mine, _ = _keyed(new, bp)
        hub = hub_blocks["key"][hub_blocks["pass"] == bp.name] if len(hub_blocks) else []
        mine = mine[~mine["key"].isin(set(hub))].reset_index(drop=True)
        if not len(mine):
            continue
        mine, world = _crowds_together(mine, keys[keys["pass"] == bp.name], bp)
        among = _window_pairs(mine, bp, window) if len(mine) >= 2 else ([], 0)
        with_world = _neighbour_pairs(mine, world, bp, window)
        for pairs, compared in (among, with_world):
            comparisons += compared
            candidates += len(pairs)
            found.extend(_compared(bp, pairs))
    return Links(_links_frame(found), comparisons, candidates)


def _crowds_together(mine: pd.DataFrame, world: pd.DataFrame, bp: BlockingPass
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A crowd key's users as a full run counts them: the world's and the new values'
    together (each side alone made a new link look rarer than a full run finds it)."""
    if not bp.crowd or not len(world):
        return mine, world
    world_users = world.groupby("key")["key_shops"].first()
    new_users = mine.groupby("key")["key_shops"].first()
    mine = mine.assign(key_shops=mine["key_shops"]
                       + mine["key"].map(world_users).fillna(0).astype("int64"))
    world = world.assign(key_shops=world["key_shops"]
                         + world["key"].map(new_users).fillna(0).astype("int64"))
    return mine, world


def _sort_key(keyed: pd.DataFrame) -> np.ndarray:
    return (keyed["key"].astype(str) + "\x00" + keyed["text"].astype(str) + "\x00"
            + keyed["value"].astype(str)).to_numpy(dtype=object)


def _neighbour_pairs(mine: pd.DataFrame, world: pd.DataFrame, bp: BlockingPass, window: int
                     ) -> tuple[list[tuple[str, str, int]], int]:
    """Candidates between new values and their would-be neighbours in the world."""
    if not len(world):
        return [], 0
    order = _sort_key(world)
    if len(order) > 1 and not (order[:-1] <= order[1:]).all():
        world = world.iloc[np.argsort(order, kind="stable")]
        order = _sort_key(world)
    at = np.searchsorted(order, _sort_key(mine))
    mine_rows, world_rows = _columns(mine), _columns(world)
    found, compared = [], 0
    for offset in range(-(window - 1), window - 1):
        j = at + offset
        left = np.flatnonzero((j >= 0) & (j < len(world)))
        found.extend(_candidates(bp, mine_rows, world_rows, left, j[left]))
        compared += len(left)
    return found, compared


def _columns(keyed: pd.DataFrame) -> dict:
    """A keyed table's columns as arrays and lists (row access in loops)."""
    return {"key": keyed["key"].to_numpy(dtype=object), "text": keyed["text"].tolist(),
            "value": keyed["value"].to_numpy(dtype=object),
            "shops": keyed["key_shops"].to_numpy()}


def _candidates(bp: BlockingPass, a: dict, b: dict, left: np.ndarray, right: np.ndarray
                ) -> list[tuple[str, str, int]]:
    """Rows ``left`` of ``a`` against rows ``right`` of ``b`` that pass the pass's
    key and prefilter: (value_a, value_b, shops on their keys)."""
    keep = a["key"][left] == b["key"][right] if bp.same_key else np.ones(len(left), bool)
    if bp.scorer is not None and len(left):
        scores = process.cpdist([a["text"][i] for i in left], [b["text"][k] for k in right],
                                scorer=bp.scorer, score_cutoff=bp.cutoff, workers=-1)
        keep &= scores > 0
    return [(a["value"][i], b["value"][k], int(max(a["shops"][i], b["shops"][k])))
            for i, k in zip(left[keep].tolist(), right[keep].tolist(), strict=True)]


def _users(values: pd.DataFrame) -> str:
    """The column counting a value's users: unrelated entities when known."""
    return "entities" if "entities" in values.columns else "shops"


#: what the keys, texts and orders of the passes read (raw and display texts are not copied)
_KEYED_COLUMNS = ("value", "shops", "entities", "lat", "lon")


def _keyed(values: pd.DataFrame, bp: BlockingPass) -> tuple[pd.DataFrame, list[dict]]:
    """The pass's values with keys, sorted; hub keys removed and reported."""
    values = values.loc[(values["kind"] == bp.kind)
                        & (values["shops"] <= HUB_SHOPS_BY_KIND.get(bp.kind, HUB_SHOPS)),
                        [c for c in _KEYED_COLUMNS if c in values.columns]]
    keyed = values.assign(key=bp.key(values)).dropna(subset=["key"])
    grouped = keyed.groupby("key")
    keyed = keyed.assign(key_values=grouped["value"].transform("size"),
                         key_shops=grouped[_users(keyed)].transform("sum") if bp.crowd
                         else keyed[_users(keyed)])
    big = keyed["key_values"] > MAX_BLOCK
    hubs = [{"kind": bp.kind, "pass": bp.name, "key": key, "values": int(part["key_values"].iat[0]),
             "shops": int(part["key_shops"].iat[0])}
            for key, part in keyed[big].groupby("key", sort=True)]
    keyed = keyed[~big]
    if bp.order is not None:
        keyed = keyed.assign(text=bp.order(keyed))
    else:
        keyed = keyed.assign(text=keyed["value"] if bp.text is str else _apply(keyed["value"],
                                                                               bp.text))
    return _sorted(keyed), hubs


def _sorted(keyed: pd.DataFrame) -> pd.DataFrame:
    """Rows by (key, text, value): a sort of tuples, 2-3x faster than ``sort_values``
    on three text columns (pandas factorises each first)."""
    rows = list(zip(keyed["key"].tolist(), keyed["text"].tolist(), keyed["value"].tolist(),
                    range(len(keyed)), strict=True))
    rows.sort()
    return keyed.iloc[[r[3] for r in rows]].reset_index(drop=True)


def _window_pairs(keyed: pd.DataFrame, bp: BlockingPass, window: int
                  ) -> tuple[list[tuple[str, str, int]], int]:
    """Sorted-neighbourhood candidates: (value_a, value_b, shops on their keys)."""
    rows = _columns(keyed)
    found, compared = [], 0
    for offset in range(1, min(window, len(keyed))):
        left, right = np.arange(len(keyed) - offset), np.arange(offset, len(keyed))
        found.extend(_candidates(bp, rows, rows, left, right))
        compared += len(left)
    return found, compared


_EVIDENCE_COLUMNS = ["shop_a", "shop_b", "kind", "value_a", "value_b", "score", "method",
                     "shops", "users", "weight"]


def pair_evidence(ids: Identifiers, links: Links) -> pd.DataFrame:
    """Evidence between pairs of shops: one row per shared or similar identifier.

    Exact: both shops use the same (kind, value), with 2..HUB_SHOPS shops on it (a
    template shop name only between shops that other evidence pairs).
    Fuzzy: one uses value_a, the other value_b, and the two are linked.
    ``users`` counts the unrelated entities on the value (or its block; see
    :func:`count_entities`), ``shops`` the shops, for display; ``weight`` is the
    similarity until :func:`graphlink.linkage.model.evidence_weights` replaces it.
    """
    values = ids.values
    shop_codes, shops = pd.factorize(ids.uses["shop_id"], sort=True)
    rows = value_rows(ids)
    known = rows >= 0
    # (shop, value row) once each, sorted by value row (integer work from here on)
    uses = _distinct(rows[known].astype(np.int64) * len(shops) + shop_codes[known])
    use_row, use_shop = uses // len(shops), uses % len(shops)
    counts = {"shops": values["shops"].to_numpy(float),
              "users": values[_users(values)].to_numpy(float),
              "limit": hub_limit(values["kind"])}
    exact = _exact_pairs(use_row, use_shop, counts)
    fuzzy = _fuzzy_pairs(ids, use_row, use_shop, counts, links.similar)
    paired = [part for part in (exact, fuzzy) if len(part)]  # (empty frames: dtype warnings)
    if not paired:
        return pd.DataFrame(columns=_EVIDENCE_COLUMNS)
    templates = _template_pairs(use_row, use_shop, counts, pd.concat(paired))
    evidence = pd.concat([*paired, templates] if len(templates) else paired, ignore_index=True)
    evidence = evidence.astype(dict.fromkeys(["shop_a", "shop_b", "row_a", "row_b", "a", "b"],
                                             np.int64))
    kinds = values["kind"].to_numpy(dtype=object)
    texts = values["value"].to_numpy(dtype=object)
    order = np.lexsort((evidence["b"].to_numpy(), evidence["a"].to_numpy(),
                        pd.factorize(kinds[evidence["row_a"].to_numpy()], sort=True)[0],
                        evidence["shop_b"].to_numpy(), evidence["shop_a"].to_numpy()))
    evidence = evidence.iloc[order].reset_index(drop=True)
    names = np.asarray(shops, dtype=object)
    out = pd.DataFrame({
        "shop_a": pd.Series(names[evidence["shop_a"].to_numpy()], dtype=object),
        "shop_b": pd.Series(names[evidence["shop_b"].to_numpy()], dtype=object),
        "kind": kinds[evidence["row_a"].to_numpy()],
        "value_a": texts[evidence["row_a"].to_numpy()],
        "value_b": texts[evidence["row_b"].to_numpy()],
        "score": evidence["score"].astype(float), "method": evidence["method"],
        "shops": evidence["shops"].astype(float), "users": evidence["users"].astype(float)})
    out["weight"] = out["score"].to_numpy()  # until the match model weighs it
    return out[_EVIDENCE_COLUMNS]


def _distinct(codes: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (np.unique hashes them now: slower on large arrays)."""
    codes = np.sort(codes)
    return codes[np.concatenate(([True], codes[1:] != codes[:-1]))] if len(codes) else codes


def _exact_pairs(use_row: np.ndarray, use_shop: np.ndarray, counts: dict) -> pd.DataFrame:
    """Pairs of shops on one value with 2..HUB_SHOPS shops (uses sorted by value row)."""
    n = counts["shops"][use_row]
    keep = (n >= 2) & (n <= counts["limit"][use_row])
    shared = pd.DataFrame({"row": use_row[keep], "shop": use_shop[keep]})
    pairs = shared.merge(shared, on="row", suffixes=("_a", "_b"))
    pairs = pairs[pairs["shop_a"] < pairs["shop_b"]]
    row = pairs["row"].to_numpy()
    return pd.DataFrame({
        "shop_a": pairs["shop_a"].to_numpy(), "shop_b": pairs["shop_b"].to_numpy(),
        "row_a": row, "row_b": row, "a": 0, "b": 0, "score": 1.0, "method": "exact",
        "shops": counts["shops"][row], "users": counts["users"][row]})


def _template_pairs(use_row: np.ndarray, use_shop: np.ndarray, counts: dict,
                    found: pd.DataFrame) -> pd.DataFrame:
    """A template value (over its kind's limit, at most HUB_SHOPS shops: a shop name
    picked from a vocabulary) shared by two shops that other evidence already
    paired: it never makes a pair, but says what its frequency says about one."""
    n = counts["shops"][use_row]
    keep = (n > counts["limit"][use_row]) & (n <= HUB_SHOPS)
    if not keep.any():
        return _exact_pairs(use_row[:0], use_shop[:0], counts)
    shared = _exact_pairs(use_row[keep], use_shop[keep], {**counts, "limit": counts["shops"]})
    paired = found[["shop_a", "shop_b"]].drop_duplicates()
    return shared.merge(paired, on=["shop_a", "shop_b"])[shared.columns]


def _fuzzy_pairs(ids: Identifiers, use_row: np.ndarray, use_shop: np.ndarray, counts: dict,
                 similar: pd.DataFrame) -> pd.DataFrame:
    """Pairs of shops, one on value_a and one on value_b of a similarity link."""
    if not len(similar):
        return pd.DataFrame(columns=["shop_a", "shop_b", "row_a", "row_b", "a", "b", "score",
                                     "method", "shops", "users"])
    links = pd.DataFrame({
        "link": np.arange(len(similar)), "row_1": value_rows(ids, similar, "value_a"),
        "row_2": value_rows(ids, similar, "value_b"),
        "block": similar["block_shops"].to_numpy(float)})
    uses = pd.DataFrame({"row": use_row, "shop": use_shop})
    both = (links.merge(uses.rename(columns={"row": "row_1", "shop": "s1"}), on="row_1")
            .merge(uses.rename(columns={"row": "row_2", "shop": "s2"}), on="row_2"))
    both = both[both["s1"] != both["s2"]]
    swap = (both["s1"] > both["s2"]).to_numpy()
    s1, s2 = both["s1"].to_numpy(), both["s2"].to_numpy()
    r1, r2 = both["row_1"].to_numpy(), both["row_2"].to_numpy()
    link = both["link"].to_numpy()
    row_a, row_b = np.where(swap, r2, r1), np.where(swap, r1, r2)
    return pd.DataFrame({
        "shop_a": np.where(swap, s2, s1), "shop_b": np.where(swap, s1, s2),
        "row_a": row_a, "row_b": row_b, "a": 1 + link, "b": swap.astype(np.int64),
        "score": similar["score"].to_numpy(float)[link],
        "method": similar["method"].to_numpy(dtype=object)[link],
        "shops": np.maximum(counts["shops"][r1], counts["shops"][r2]),
        "users": np.maximum(np.maximum(counts["users"][r1], counts["users"][r2]),
                            both["block"].to_numpy())})


def comparison_growth(n1: int, c1: int, n2: int, c2: int) -> float:
    """How much faster comparisons grew than records: (c2/c1) / (n2/n1).

    1.0 means comparisons grew exactly as fast as the data (linear).

    >>> comparison_growth(1000, 5000, 10000, 50000)
    1.0
    """
    return (max(c2, 1) / max(c1, 1)) / (n2 / n1)


# values shared by at least this many shops are listed as context by :func:`hubs`
HUB_REPORT = 10

_HUB_TYPES = {
    ("address", "value"): "shared warehouse or office address",
    ("address", "place"): "e-commerce park or multi-tenant building",
    ("ip", "value"): "carrier NAT or shared network IP",
    ("holder_name", "value"): "common name",
    ("holder_name", "pinyin"): "common name (all spellings)",
    ("device", "value"): "shared device",
    ("payment", "value"): "shared payment endpoint",
    ("phone", "value"): "shared phone",
    ("email", "value"): "shared email",
    ("id_number", "value"): "shared ID number",
    ("birth_date", "value"): "shared date of birth",
    ("shop_name", "value"): "common shop name",
}


def _grouped_hubs(ids: Identifiers, kind: str, scope: str, key: Callable[[str], object],
                  minimum: int) -> list[dict]:
    """Many distinct values under one key (rooms of one park, spellings of one name)."""
    uses = ids.uses[ids.uses["kind"] == kind]
    if not len(uses):
        return []
    keyed = uses.assign(key=_apply(uses["value"], key)).dropna(subset=["key"])
    stats = keyed.groupby("key").agg(shops=("shop_id", "nunique"), values=("value", "nunique"))
    stats = stats[(stats["shops"] >= minimum) & (stats["values"] >= 3)]
    return [{"kind": kind, "key": k, "shops": int(r["shops"]), "values": int(r["values"]),
             "scope": scope}
            for k, r in stats.iterrows()]


def hubs(ids: Identifiers, minimum: int = HUB_REPORT) -> pd.DataFrame:
    """Identifiers too widely shared to say much about one operator, typed.

    Columns: kind, key (the value, or the place / name key grouping many
    values), shops, values (distinct values under the key), scope
    (``value``: one value shared by many shops, e.g. a warehouse or a NAT IP;
    ``place``: many rooms of one building complex, e.g. an e-commerce park;
    ``pinyin``: many holders of one name), type, and
    treatment: ``excluded`` (a value on more than ``HUB_SHOPS`` shops, or a
    key over more than ``MAX_BLOCK`` values: never evidence) or
    ``down-weighted`` (counted with its rarity weight).
    """
    values = ids.values[ids.values["shops"] >= minimum]
    rows = [{"kind": k, "key": v, "shops": int(n), "values": 1, "scope": "value"}
            for k, v, n in zip(values["kind"], values["value"], values["shops"], strict=True)]
    rows += _grouped_hubs(ids, "address", "place", _address_place, minimum)
    rows += _grouped_hubs(ids, "holder_name", "pinyin", norm.name_pinyin, minimum)
    frame = pd.DataFrame(rows, columns=["kind", "key", "shops", "values", "scope"])
    frame["type"] = [_HUB_TYPES.get((k, s), "shared value")
                     for k, s in zip(frame["kind"], frame["scope"], strict=True)]
    excluded = np.where(frame["scope"] == "value", frame["shops"] > hub_limit(frame["kind"]),
                        frame["values"] > MAX_BLOCK)
    frame["treatment"] = np.where(excluded, "excluded", "down-weighted")
    return frame.sort_values(["shops", "kind", "key"], ascending=[False, True, True],
                             ignore_index=True)
