"""The match model: comparison levels, parameters learned from the data, one probability per pair.

Fellegi-Sunter, as Splink and fastLink do it. Every candidate shop pair (a pair
with at least one piece of evidence from :func:`graphlink.linkage.link.pair_evidence`)
gets a *comparison vector*: for each comparison below, the best level its
evidence reaches, ``other`` when both shops carry that kind of value and
nothing agrees, or ``missing`` when one of them carries none (no evidence
either way: Bayes factor 1).

Comparisons and their levels (best first)

- device: exact
- ip: exact, same /24 block
- phone: exact, one edit (a digit changed or two swapped)
- id_number: exact, one edit (a character changed or two swapped)
- birth_date: exact, one edit
- email: exact, same local part at another provider, small edit
- name (holder names of accounts and payments, and email local parts that
  spell the name: one signal, never counted twice): exact, typo (homophone,
  traditional form, nickname, swapped order, small edit), pinyin or initials,
  partial, email skeleton
- address: same room (or the same address written another way), same building
  another room, same street address another building, within ~550 m, similar text
- payment: exact, masked-compatible (same visible prefix and last digits)
- shop_name: exact, near variant (a word added or dropped, 二店, 新...)

Parameters, learned from the data being analysed, without labels (docs/model.md)

- ``u`` (chance agreement), per level: the candidate pairs at that level that
  agree on nothing else, between two different entities, over all pairs of
  shops carrying the kind. Blocking enumerates the agreeing pairs, so this is
  the count a random sample of pairs would estimate, without its variance on
  rare levels.
- frequency adjustment: a value (or a blocking key: a park's street address,
  a common name's pinyin) used by ``k`` unrelated entities agrees by chance
  with probability at least ``(k - 1) / n``; the level's ``u`` is raised to
  that, so a park, a warehouse or a NAT IP counts for what its frequency says.
- ``m`` per match mode (:data:`MODES`) and the priors per mode and pair
  context (:data:`CONTEXTS`) by expectation-maximisation over the pairs with
  two agreements or more, ``u`` held.

A pair's match weight is the log2 of its summed odds over the modes (each mode:
prior odds times the Bayes factors of the pair's levels), its probability
``p = 1 / (1 + 2 ** -weight)``. Deterministic: no sampling, and the same
evidence in any row order gives the same model.

>>> import pandas as pd
>>> ev = pd.DataFrame({"shop_a": ["S1", "S1", "S3"], "shop_b": ["S2", "S2", "S4"],
...                    "kind": ["device", "address", "address"],
...                    "method": ["exact", "same-building", "same-place"],
...                    "users": [1.0, 1.0, 40.0]})
>>> kinds = pd.Series(["device,address"] * 4, index=["S1", "S2", "S3", "S4"])
>>> model = train(ev, kinds, shops=1000)
>>> pairs = score(model, ev, kinds, shops=1000)
>>> bool(pairs["p"].iloc[0] > pairs["p"].iloc[1])
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COMPARISONS", "MODES", "MatchModel", "comparison_levels", "train", "score",
           "train_vectors", "score_vectors", "evidence_weights", "expectation_maximisation",
           "shop_kinds",
           "waterfall", "waterfalls", "load_model",
           "model_version"]

# comparison -> (identifier kinds it reads, its agreeing levels, best first)
COMPARISONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "device": (("device",), ("exact",)),
    "ip": (("ip",), ("exact", "same-block")),
    "phone": (("phone",), ("exact", "one-edit")),
    "id_number": (("id_number",), ("exact", "one-edit")),
    "birth_date": (("birth_date",), ("exact", "one-edit")),
    "email": (("email",), ("exact", "same-local", "small-edit")),
    "name": (("holder_name", "email"), ("exact", "typo", "pinyin", "partial", "email-skeleton",
                                        "surname")),
    "address": (("address",), ("same-room", "same-building", "same-place", "nearby", "similar",
                               "resembling")),
    "payment": (("payment",), ("exact", "masked")),
    "shop_name": (("shop_name",), ("exact", "near")),
}
NAMES = tuple(COMPARISONS)

# (identifier kind, evidence method) -> (comparison, level); other methods of a kind
# fall back to its comparison's first level (exact) or last level (fuzzy)
_LEVEL_OF = {
    ("ip", "ip-block"): ("ip", "same-block"),
    ("phone", "phone-edit"): ("phone", "one-edit"),
    ("id_number", "id-edit"): ("id_number", "one-edit"),
    ("birth_date", "id-edit"): ("birth_date", "one-edit"),
    ("email", "same-email"): ("email", "exact"),
    ("email", "email-same-local"): ("email", "same-local"),
    ("email", "email-fuzzy"): ("email", "small-edit"),
    ("email", "email-role"): ("email", "small-edit"),
    ("email", "email-skeleton"): ("name", "email-skeleton"),
    **{("holder_name", m): ("name", "exact")
       for m in ("exact", "hanzi-exact", "latin-exact", "company-exact")},
    **{("holder_name", m): ("name", "typo")
       for m in ("hanzi-edit", "hanzi-homophone", "latin-fuzzy", "latin-nickname",
                 "latin-token-sort")},
    **{("holder_name", m): ("name", "pinyin")
       for m in ("pinyin", "pinyin-fuzzy", "latin-initials")},
    **{("holder_name", m): ("name", "partial")
       for m in ("latin-partial", "pinyin-partial", "latin-subset", "company-contains")},
    **{("address", m): ("address", "same-room") for m in ("exact", "same-address", "same-room")},
    **{("address", m): ("address", "same-building")
       for m in ("same-building", "same-building-neighbour-room")},
    ("address", "same-place"): ("address", "same-place"),
    ("address", "nearby"): ("address", "nearby"),
    ("address", "same-street"): ("address", "nearby"),
    ("payment", "same-payment"): ("payment", "exact"),
    **{("payment", m): ("payment", "masked") for m in ("masked-prefix-suffix", "masked-partial")},
}
_COMPARISON_OF_KIND = {"device": "device", "ip": "ip", "phone": "phone",
                       "id_number": "id_number", "birth_date": "birth_date", "email": "email",
                       "holder_name": "name", "address": "address", "payment": "payment",
                       "shop_name": "shop_name"}

MIN_M = 1e-4  # no level is impossible among matches
EM_ITERATIONS = 200
EM_TOLERANCE = 1e-7
_PRIOR_M = 0.5  # pseudo-counts keeping m away from 0 and 1 on small data
CHANGED = 0.5  # outside "reuse", the least share of a mode's pairs disagreeing per comparison
RARE = 2  # a value or block of at most this many unrelated users is not a crowd


def _row_levels(kind: pd.Series, method: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(comparison index, level index) of each evidence row (-1: not a comparison)."""
    k_code, k_names = pd.factorize(kind.to_numpy(dtype=object))
    m_code, m_names = pd.factorize(method.to_numpy(dtype=object))
    combo = k_code.astype(np.int64) * max(len(m_names), 1) + m_code
    distinct, inverse = np.unique(combo, return_inverse=True)
    table = np.array([_level_of(k_names[c // max(len(m_names), 1)],
                                m_names[c % max(len(m_names), 1)]) for c in distinct.tolist()],
                     dtype=np.int64).reshape(-1, 2)
    found = table[inverse.reshape(-1)] if len(table) else np.zeros((0, 2), dtype=np.int64)
    return found[:, 0], found[:, 1]


def _level_of(kind: str, method: str) -> tuple[int, int]:
    """(comparison index, level index) of one (kind, method); (-1, -1): none."""
    comp, level = _LEVEL_OF.get((kind, method), (None, None))
    if comp is None:
        comp = _COMPARISON_OF_KIND.get(kind)
        if comp is None:
            return -1, -1
        levels = COMPARISONS[comp][1]
        # another fuzzy method of names is a partial match, never an email's; the
        # second look's levels (graphlink.linkage.recompare) come from no evidence row
        weakest = {"name": "partial", "address": "similar"}.get(comp, levels[-1])
        level = levels[0] if method == "exact" else weakest
    return NAMES.index(comp), COMPARISONS[comp][1].index(level)


def _method(evidence: pd.DataFrame) -> pd.Series:
    """Evidence methods, a shared masked card (6222****1234 on both shops: two cards
    may show the same digits) read as masked-compatible, never as the same card."""
    method = evidence["method"]
    if "value_a" not in evidence or not len(evidence):
        return method
    rows = np.flatnonzero(((evidence["kind"] == "payment") & (method == "exact")).to_numpy())
    shown = evidence["value_a"].to_numpy(dtype=object)[rows]
    masked = rows[[isinstance(v, str) and "*" in v for v in shown.tolist()]]
    if not len(masked):
        return method
    method = method.copy()
    method.iloc[masked] = "masked-prefix-suffix"
    return method


def shop_kinds(uses: pd.DataFrame) -> pd.Series:
    """The identifier kinds each shop carries, comma-joined (indexed by shop_id).

    >>> shop_kinds(pd.DataFrame({"shop_id": ["S1", "S1", "S2"],
    ...                          "kind": ["phone", "device", "phone"]})).to_dict()
    {'S1': 'device,phone', 'S2': 'phone'}
    """
    distinct = uses[["shop_id", "kind"]].drop_duplicates().sort_values(["shop_id", "kind"])
    return distinct.groupby("shop_id", sort=True)["kind"].agg(",".join)


def _present(kinds: pd.Series, shops: np.ndarray) -> np.ndarray:
    """(shops x comparisons) booleans: does the shop carry a kind the comparison reads?"""
    codes, distinct = pd.factorize(kinds.reindex(shops).fillna("").to_numpy(dtype=object))
    table = np.array([[any(k in set(text.split(",")) for k in COMPARISONS[c][0])
                       for c in NAMES] for text in distinct], dtype=bool).reshape(-1, len(NAMES))
    return table[codes]


@dataclass
class Vectors:
    """Candidate pairs and their comparison vectors.

    ``level[i, c]``: index of the level (``len(levels)`` = other, ``+ 1`` = missing);
    ``users[i, c]``: unrelated entities on the agreeing value or block (frequency).
    """

    shop_a: np.ndarray
    shop_b: np.ndarray
    level: np.ndarray
    users: np.ndarray
    context: np.ndarray  # 1: one shop banned, the other created after that ban
    tries: np.ndarray | None = None  # shops compared at once (one shop against an operator's)


CONTEXTS = ("other", "after-ban")
"""Ban evasion is a sequence: a shop created after another's ban is far likelier
its comeback than two shops taken at random. Each context has its own prior."""


def pair_context(shops: pd.DataFrame | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 where one shop of the pair is banned and the other was created after the ban.

    ``shops`` has shop_id, created_at, status, banned_at (None: every pair is 0).
    """
    if shops is None or not len(a):
        return np.zeros(len(a), dtype=np.int8)
    table = shops.drop_duplicates("shop_id").set_index("shop_id")
    created = pd.to_datetime(table["created_at"]).reindex(a), pd.to_datetime(
        table["created_at"]).reindex(b)
    ban = _ban_times(table)
    banned_a, banned_b = ban.reindex(a).to_numpy(), ban.reindex(b).to_numpy()
    after = ((created[1].to_numpy() >= banned_a) & ~pd.isna(banned_a)) | (
        (created[0].to_numpy() >= banned_b) & ~pd.isna(banned_b))
    return after.astype(np.int8)


def _ban_times(table: pd.DataFrame) -> pd.Series:
    banned = table["status"].astype(str).eq("banned")
    return pd.to_datetime(table["banned_at"].where(banned)).fillna(
        pd.to_datetime(table["created_at"]).where(banned))


def context_pairs(shops: pd.DataFrame | None, n: int) -> np.ndarray:
    """How many shop pairs each context holds (all pairs: ``n * (n - 1) / 2``)."""
    total = n * (n - 1) / 2
    if shops is None or not len(shops):
        return np.array([total, 1.0])
    table = shops.drop_duplicates("shop_id").set_index("shop_id")
    created = np.sort(pd.to_datetime(table["created_at"]).to_numpy())
    bans = _ban_times(table).dropna().to_numpy()
    after = float((len(created) - np.searchsorted(created, bans, side="left")).sum())
    after = min(max(after, 1.0), total - 1)
    return np.array([total - after, after])


def comparison_levels(evidence: pd.DataFrame, kinds: pd.Series,
                      shops: pd.DataFrame | None = None) -> Vectors:
    """The comparison vector of every shop pair in ``evidence``.

    ``kinds`` is :func:`shop_kinds` of the shops (what tells ``other`` from
    ``missing``). Per pair and comparison the best level counts; among rows
    at that level, the rarest value.
    """
    comp, level = _row_levels(evidence["kind"], _method(evidence))
    keep = comp >= 0
    ev = evidence[keep]
    comp, level = comp[keep], level[keep]
    pair, firsts, shop_a, shop_b, present = _pair_codes(ev, kinds)
    users = ev["users"].to_numpy(dtype=float) if "users" in ev else np.ones(len(ev))
    n, width = len(firsts), len(NAMES)
    best_level = np.full((n, width), 255, dtype=np.int64)
    order = np.lexsort((users, level, comp, pair))  # best level, then rarest, first
    pair, comp, level, users = pair[order], comp[order], level[order], users[order]
    first = np.r_[True, (pair[1:] != pair[:-1]) | (comp[1:] != comp[:-1])][:len(pair)]
    best_level[pair[first], comp[first]] = level[first]
    best_users = np.ones((n, width))
    best_users[pair[first], comp[first]] = users[first]
    sizes = np.array([len(COMPARISONS[c][1]) for c in NAMES])
    other = np.where(present, sizes, sizes + 1)
    best_level = np.where(best_level == 255, other, best_level).astype(np.int8)
    return Vectors(shop_a, shop_b, best_level, best_users, pair_context(shops, shop_a, shop_b))


def _pair_codes(ev: pd.DataFrame, kinds: pd.Series) -> tuple:
    """A code per (shop_a, shop_b), in the order of the shop ids (so sums over pairs
    do not depend on the rows' order), each code's first row, the pairs' shops, and
    (pairs x comparisons) whether both shops carry the comparison's kinds."""
    if not len(ev):
        empty = np.zeros(0, dtype=np.int64)
        return (empty, empty, np.zeros(0, dtype=object), np.zeros(0, dtype=object),
                np.zeros((0, len(NAMES)), dtype=bool))
    half = len(ev)
    codes, names = pd.factorize(np.r_[ev["shop_a"].to_numpy(dtype=object),
                                      ev["shop_b"].to_numpy(dtype=object)], sort=True)
    names = np.asarray(names, dtype=object)
    key = codes[:half].astype(np.int64) * len(names) + codes[half:]
    distinct, first, pair = np.unique(key, return_index=True, return_inverse=True)
    a, b = distinct // len(names), distinct % len(names)
    carried = _present(kinds, names)
    return pair.reshape(-1), first, names[a], names[b], carried[a] & carried[b]


MODES = ("reuse", "evasion", "trace")
"""Matching pairs come in modes, each with its own m: shops of one operator that reuse
its identifiers (sister shops, careless comebacks); comebacks that change every
machine identifier and keep what is hard to change (a relative's name, a room in the
same building, a card in the same name); and comebacks that changed everything but
one trace (a laptop, a card). One m for all would learn the first mode and punish
the others for every identifier they changed."""


@dataclass
class MatchModel:
    """m per match mode and u per comparison level, and each mode's share of pairs.

    ``m[mode][c]`` and ``u[c]`` list the comparison's agreeing levels then
    ``other``. The file form (:meth:`save`) holds no identifying value: only
    probabilities and counts.

    ``lone``: the parameters of the pairs that agree on one comparison at most, when
    they differ (a model refined by analysts' verdicts keeps the EM fit there:
    :func:`graphlink.linkage.learn.corrections`); None, the same.
    """

    m: dict[str, dict[str, list[float]]]
    u: dict[str, list[float]]
    priors: dict[str, list[float]]  # per mode, per context (CONTEXTS)
    shops: int
    pairs: int = 0
    iterations: int = 0
    version: str = "graphlink.model/1"
    counts: dict[str, list[int]] = field(default_factory=dict)
    lone: MatchModel | None = None

    def prior(self, context: int = 0) -> float:
        """The share of the context's shop pairs that match (every mode)."""
        return float(sum(p[context] for p in self.priors.values()))

    def levels(self, comparison: str) -> list[str]:
        return [*COMPARISONS[comparison][1], "other"]

    def bayes_factors(self) -> pd.DataFrame:
        """One row per match mode and comparison level: m, u, Bayes factor, log2."""
        rows = [{"mode": mode, "comparison": c, "level": lv, "m": m, "u": u,
                 "bayes_factor": m / u, "log2_bf": float(np.log2(m / u)),
                 "pairs": (self.counts.get(c) or [0] * 99)[i]}
                for mode in MODES for c in NAMES for i, (lv, m, u) in
                enumerate(zip(self.levels(c), self.m[mode][c], self.u[c], strict=True))]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"schema": self.version, "priors": self.priors, "shops": self.shops,
                "pairs": self.pairs, "iterations": self.iterations,
                "comparisons": {c: {"levels": self.levels(c), "u": self.u[c],
                                    **{f"m_{mode}": self.m[mode][c] for mode in MODES},
                                    "pairs": self.counts.get(c, [])} for c in NAMES},
                **({"lone": self.lone.to_dict()} if self.lone is not None else {})}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> MatchModel:
        comps = {c: _with_levels(c, data["comparisons"][c]) for c in NAMES}
        return cls(m={mode: {c: list(comps[c][f"m_{mode}"]) for c in NAMES} for mode in MODES},
                   u={c: list(comps[c]["u"]) for c in NAMES},
                   priors={mode: [float(x) for x in data["priors"][mode]] for mode in MODES},
                   shops=int(data["shops"]), pairs=int(data.get("pairs", 0)),
                   iterations=int(data.get("iterations", 0)),
                   counts={c: list(comps[c].get("pairs", [])) for c in NAMES},
                   lone=cls.from_dict(data["lone"]) if data.get("lone") else None)


def _with_levels(comparison: str, saved: dict) -> dict:
    """A saved comparison with the levels this version knows: a level the model was
    trained without says nothing (m = u), so older model files still score."""
    levels = [*COMPARISONS[comparison][1], "other"]
    have = saved.get("levels", levels)
    if have == levels:
        return saved
    at = {lv: i for i, lv in enumerate(have)}
    out = dict(saved)
    for key in ["u", *(f"m_{mode}" for mode in MODES)]:
        out[key] = [saved[key][at[lv]] if lv in at else 1e-9 for lv in levels]
    counts = list(saved.get("pairs", []))
    out["pairs"] = [counts[at[lv]] if lv in at and at[lv] < len(counts) else 0
                    for lv in levels[:-1]] if counts else []
    return out


def load_model(path: str | Path) -> MatchModel:
    """Read a model written by :meth:`MatchModel.save` (``graphlink model train``)."""
    from graphlink.core.errors import GraphlinkError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema") != "graphlink.model/1":
            raise ValueError(f"schema {data.get('schema')!r} is not graphlink.model/1")
        return MatchModel.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraphlinkError(f"{path}: not a graphlink model file ({exc})") from exc


def _pairs_with(kinds: pd.Series) -> np.ndarray:
    """Per comparison: the number of shop pairs where both shops carry its kinds."""
    return _pairs_among(_present(kinds, kinds.index.to_numpy(dtype=object)).sum(axis=0))


def _pairs_among(carriers: np.ndarray) -> np.ndarray:
    """Per comparison: the shop pairs among its ``carriers`` shops (at least one pair).

    >>> _pairs_among(np.array([4, 0])).tolist()
    [6.0, 1.0]
    """
    present = np.maximum(carriers.astype(float), 2.0)
    return present * (present - 1) / 2


def _log_u(model: MatchModel, vec: Vectors, shops: int) -> np.ndarray:
    """(pairs x comparisons) log2 u, raised by each value's frequency (0 where missing)."""
    out = np.zeros(vec.level.shape)
    for c, name in enumerate(NAMES):
        u = np.array(model.u[name])
        level = vec.level[:, c].astype(np.int64)
        known = level < len(u)
        lv = level[known]
        chance = np.maximum(vec.users[known, c] - 1.0, 0.0) / max(shops, 2)
        agree = np.maximum(u[lv], chance)
        if vec.tries is not None:  # agreeing with any of k shops is k times likelier by chance
            agree = np.minimum(agree * vec.tries[known], 1.0)
        out[known, c] = np.log2(np.where(lv < len(u) - 1, agree, u[lv]))
    return out


def _log_m(model: MatchModel, mode: str, vec: Vectors) -> np.ndarray:
    out = np.zeros(vec.level.shape)
    for c, name in enumerate(NAMES):
        m = np.array(model.m[mode][name])
        level = vec.level[:, c].astype(np.int64)
        known = level < len(m)
        out[known, c] = np.log2(m[level[known]])
    return out


def _mode_weights(model: MatchModel, vec: Vectors, shops: int) -> np.ndarray:
    """(pairs x modes) log2 odds of each match mode against no match (a pair agreeing on
    one comparison at most by ``model.lone``, where there is one)."""
    out = _own_mode_weights(model, vec, shops)
    if model.lone is not None and len(vec.level):
        lone = _lone(vec)
        out[lone] = _own_mode_weights(model.lone, _subset(vec, lone), shops)
    return out


def _lone(vec: Vectors) -> np.ndarray:
    """The pairs that agree on one comparison at most (as blocking found them)."""
    return _agreements(vec).sum(axis=1) <= 1


def _own_mode_weights(model: MatchModel, vec: Vectors, shops: int) -> np.ndarray:
    log_u = _log_u(model, vec, shops).sum(axis=1)
    ctx = vec.context.astype(np.int64)
    rest = np.array([1.0 - model.prior(c) for c in range(len(CONTEXTS))])[ctx]
    return np.column_stack([np.log2(np.asarray(model.priors[mode])[ctx] / rest)
                            + _log_m(model, mode, vec).sum(axis=1) - log_u for mode in MODES])


def _odds(weights: np.ndarray) -> np.ndarray:
    """log2 of the summed odds of the modes (the pair's match weight)."""
    top = weights.max(axis=1)
    return top + np.log2(np.exp2(np.clip(weights - top[:, None], -200, 0)).sum(axis=1))


def _probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -200, 200)))


def _initial(counts: dict, possible: np.ndarray, shops: int, sampled: dict) -> MatchModel:
    """Reuse: exact levels likely; evasion: exact levels rare, others likely. u from
    the counts. One match per shop, shared by the modes."""
    m = {mode: {} for mode in MODES}
    u = {}
    for c, name in enumerate(NAMES):
        k = len(COMPARISONS[name][1])
        start = {"reuse": np.r_[0.5, np.full(k - 1, 0.05)],
                 "evasion": np.r_[0.02, np.full(k - 1, 0.15)] if k > 1 else np.array([0.02]),
                 "trace": np.r_[0.05, np.full(k - 1, 0.01)]}
        for mode, agree in start.items():
            agree = agree * min(1.0, 0.9 / agree.sum())
            m[mode][name] = [*agree.tolist(), 1.0 - float(agree.sum())]
        chance = np.maximum(counts[name][:k], 0.5) / possible[c]
        for level, share in sampled.get(name, {}).items():
            at = COMPARISONS[name][1].index(level)
            chance[at] = max(chance[at], share)
        u[name] = [*chance.tolist(), max(1.0 - float(chance.sum()), 1e-9)]
    share = min(0.25, 1.0 / max(shops, 4))
    return MatchModel(m, u, priors={mode: [share, share] for mode in MODES}, shops=shops)


def train(evidence: pd.DataFrame, kinds: pd.Series, shops: int,
          entity: pd.Series | None = None, table: pd.DataFrame | None = None,
          iterations: int = EM_ITERATIONS) -> MatchModel:
    """Learn m, u and the priors from one dataset's candidate pairs (no labels).

    ``entity`` (shop_id -> entity, :func:`graphlink.linkage.link.entity_labels`) tells
    pairs of one user from chance agreements when counting u; ``table`` (the
    shops: created_at, status, banned_at) gives each pair its context.
    """
    return train_vectors(comparison_levels(evidence, kinds, table), kinds, shops, entity, table,
                         iterations)


def train_vectors(vec: Vectors, kinds: pd.Series, shops: int, entity: pd.Series | None = None,
                  table: pd.DataFrame | None = None, iterations: int = EM_ITERATIONS,
                  sampled: dict[str, dict[str, float]] | None = None) -> MatchModel:
    """:func:`train` on comparison vectors already built (:func:`comparison_levels`).

    ``sampled`` (comparison -> level -> u) gives the chance agreement of levels that
    blocking cannot count, from random pairs (:func:`graphlink.linkage.recompare.sampled_u`).
    """
    total = context_pairs(table, shops)
    possible = _pairs_with(kinds)
    counts = _level_counts(vec, entity)
    model = _initial(counts, possible, shops, sampled or {})
    model = expectation_maximisation(model, _subset(vec, _fitted(vec, entity)), total, shops,
                                     iterations)
    model.pairs = len(vec.level)
    model.counts = {name: counts[name][:-1].astype(int).tolist() for name in NAMES}
    return model


def expectation_maximisation(model: MatchModel, vec: Vectors, total: np.ndarray, shops: int,
                             iterations: int = EM_ITERATIONS) -> MatchModel:
    """EM from ``model`` (:func:`_initial`'s start) over the pairs ``vec`` it is fitted to
    (:func:`_fitted`), ``u`` held; ``total``: the shop pairs of each context the priors
    are shares of (a sample of the fitted pairs: its share of them times all).

    >>> start = _initial({c: np.zeros(len(COMPARISONS[c][1]) + 2) for c in NAMES},
    ...                  np.full(len(NAMES), 1e6), 1000, {})
    >>> one = Vectors(np.array(["S1"]), np.array(["S2"]),
    ...               np.zeros((1, len(NAMES)), dtype=np.int8), np.ones((1, len(NAMES))),
    ...               np.zeros(1, dtype=np.int8))
    >>> expectation_maximisation(start, one, np.array([1e6, 1.0]), 1000).iterations > 0
    True
    """
    for it in range(1, iterations + 1):
        weights = _mode_weights(model, vec, shops)
        odds = _odds(weights)
        match = _probability(odds)
        share = np.exp2(np.clip(weights - odds[:, None], -200, 0)) * match[:, None]
        previous = model.prior()
        model = _maximise(vec, share, model.u, total, shops)
        model.iterations = it
        if abs(model.prior() - previous) <= EM_TOLERANCE * previous and it > 5:
            break
    return model


def _same_entity(vec: Vectors, entity: pd.Series | None) -> np.ndarray:
    if entity is None:
        return np.zeros(len(vec.shop_a), dtype=bool)
    return entity.reindex(vec.shop_a).to_numpy() == entity.reindex(vec.shop_b).to_numpy()


def _fitted(vec: Vectors, entity: pd.Series | None) -> np.ndarray:
    """The pairs EM learns m and the priors from: two agreements or more, or one
    user's shops. A lone agreement is what chance looks like (it sets u); were it
    fitted too, a common weak level (look-alike shop names) could pass itself
    off as a match mode and take its own chance agreements with it."""
    return (_agreements(vec).sum(axis=1) >= 2) | _same_entity(vec, entity)


#: levels only the second look gives (graphlink.linkage.recompare): no candidate pair is
#: made by them, so they never make a pair "two agreements" or break a lone one
SECOND_LOOK = {"name": "surname", "address": "resembling"}


def _agreements(vec: Vectors) -> np.ndarray:
    """(pairs x comparisons): agreeing levels blocking found (second-look levels not)."""
    sizes = np.array([len(COMPARISONS[c][1]) for c in NAMES])
    agree = vec.level < sizes
    for name, level in SECOND_LOOK.items():
        c = NAMES.index(name)
        agree[:, c] &= vec.level[:, c] != COMPARISONS[name][1].index(level)
    return agree


def _subset(vec: Vectors, keep: np.ndarray) -> Vectors:
    return Vectors(vec.shop_a[keep], vec.shop_b[keep], vec.level[keep], vec.users[keep],
                   vec.context[keep], None if vec.tries is None else vec.tries[keep])


def _level_counts(vec: Vectors, entity: pd.Series | None) -> dict[str, np.ndarray]:
    """Chance agreements per comparison level, counted on the pairs that agree on
    nothing else: two different entities (shops joined by a rare machine identifier
    are one user, not a coincidence) whose value or block has at most ``RARE``
    unrelated users (the crowd's pairs get their chance agreement from their own
    frequency instead). Pairs with two agreements are what the model looks for;
    counting them as chance would weaken exactly the evidence that adds up."""
    sizes = np.array([len(COMPARISONS[c][1]) for c in NAMES])
    agree = _agreements(vec)
    lone = (agree.sum(axis=1) == 1) & ~_same_entity(vec, entity)
    out = {}
    for c, name in enumerate(NAMES):
        level = vec.level[:, c].astype(np.int64)
        keep = ~agree[:, c] | (lone & (vec.users[:, c] <= RARE))
        out[name] = np.bincount(level[keep], minlength=sizes[c] + 2)
    return out


def _changed(m: np.ndarray, mode: str) -> np.ndarray:
    """Comebacks change identifiers on purpose: outside ``reuse``, at least
    ``CHANGED`` of a mode's pairs disagree on each comparison."""
    if mode == "reuse" or m[-1] >= CHANGED:
        return m
    return np.r_[m[:-1] * (1 - CHANGED) / m[:-1].sum(), CHANGED]


def _maximise(vec: Vectors, share: np.ndarray, u: dict, total: np.ndarray, shops: int
              ) -> MatchModel:
    """The M step: m per mode from the responsibilities, each mode's prior from its
    expected pairs; u stays as counted."""
    m = {mode: {} for mode in MODES}
    for c, name in enumerate(NAMES):
        k = len(COMPARISONS[name][1])
        level = vec.level[:, c].astype(np.int64)
        for j, mode in enumerate(MODES):
            seen = np.bincount(level, weights=share[:, j], minlength=k + 2)[:k + 1]
            m[mode][name] = _changed(np.maximum(
                (seen + _PRIOR_M / (k + 1)) / (seen.sum() + _PRIOR_M), MIN_M), mode).tolist()
    ctx = vec.context.astype(np.int64)
    priors = {mode: np.clip(np.bincount(ctx, weights=share[:, j], minlength=len(CONTEXTS))
                            / total, 1e-15, 0.25).tolist() for j, mode in enumerate(MODES)}
    return MatchModel(m, u, priors=priors, shops=shops)


def score(model: MatchModel, evidence: pd.DataFrame, kinds: pd.Series, shops: int | None = None,
          table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per shop pair: ``p`` (match probability), ``weight`` (log2 odds), ``kinds`` (the
    comparisons that agree) and each comparison's level and users, sorted by shop_a,
    shop_b."""
    if not len(evidence):
        return pd.DataFrame(columns=["shop_a", "shop_b", "p", "weight", "kinds"])
    return score_vectors(model, comparison_levels(evidence, kinds, table), shops)


def score_vectors(model: MatchModel, vec: Vectors, shops: int | None = None) -> pd.DataFrame:
    """:func:`score` of comparison vectors already built (:func:`comparison_levels`)."""
    weight = _odds(_mode_weights(model, vec, shops or model.shops))
    sizes = np.array([len(COMPARISONS[c][1]) for c in NAMES])
    bits = ((vec.level < sizes) * (1 << np.arange(len(NAMES)))).sum(axis=1)
    spelt = {b: ",".join(sorted(n for i, n in enumerate(NAMES) if b >> i & 1))
             for b in np.unique(bits).tolist()}
    out = pd.DataFrame({"shop_a": vec.shop_a, "shop_b": vec.shop_b,
                        "p": _probability(weight), "weight": weight,
                        "kinds": [spelt[b] for b in bits.tolist()]})
    out["context"] = vec.context
    out["tries"] = np.ones(len(out), dtype=np.int32) if vec.tries is None else vec.tries
    for c, name in enumerate(NAMES):
        out[f"level_{name}"] = vec.level[:, c]
        out[f"users_{name}"] = vec.users[:, c].astype(np.float32)
    return out  # in (shop_a, shop_b) order already


def evidence_weights(model: MatchModel, evidence: pd.DataFrame, shops: int | None = None
                     ) -> np.ndarray:
    """Each piece of evidence's log2 Bayes factor (its level's, frequency-adjusted, in
    the match mode it favours most): how much it says on its own; 0 for a kind no
    comparison reads.

    >>> ev = pd.DataFrame({"kind": ["device", "address"], "method": ["exact", "same-place"],
    ...                    "users": [1.0, 50.0]})
    >>> m = MatchModel({mode: {c: [0.5, *[0.5 / len(COMPARISONS[c][1])] * len(COMPARISONS[c][1])]
    ...                        [:len(COMPARISONS[c][1]) + 1] for c in NAMES} for mode in MODES},
    ...                {c: [1e-6] * len(COMPARISONS[c][1]) + [1.0] for c in NAMES},
    ...                {mode: [1e-6, 1e-4] for mode in MODES}, shops=1000)
    >>> w = evidence_weights(m, ev)
    >>> bool(w[0] > w[1] > 0)
    True
    """
    if not len(evidence):
        return np.zeros(0)
    comp, level = _row_levels(evidence["kind"], _method(evidence))
    users = evidence["users"].to_numpy(dtype=float) if "users" in evidence else np.ones(len(comp))
    chance = np.maximum(users - 1.0, 0.0) / max(shops or model.shops, 2)
    out = np.zeros(len(comp))
    for c, name in enumerate(NAMES):
        rows = np.flatnonzero(comp == c)
        lv = level[rows]
        u = np.maximum(np.asarray(model.u[name])[lv], chance[rows])
        m = np.max([np.asarray(model.m[mode][name])[lv] for mode in MODES], axis=0)
        out[rows] = np.log2(m) - np.log2(u)
    return out


def waterfall(model: MatchModel, pair: pd.Series | dict, shops: int | None = None) -> list[dict]:
    """The match weight of one scored pair, step by step (Splink's waterfall).

    ``pair`` is a row of :func:`score`'s result. Steps: the prior of the match
    mode that explains the pair best, then each comparison with its level,
    Bayes factor, frequency adjustment (the factor by which the value's
    frequency lowered the level's Bayes factor; 1 when none) and log2
    contribution (missing comparisons left out), then the other mode's share.
    The ``log2_bf`` of the steps sum to the pair's ``weight``.
    """
    return waterfalls(model, [pair], shops)[0]


def waterfalls(model: MatchModel, pairs: list[pd.Series | dict], shops: int | None = None
               ) -> list[list[dict]]:
    """:func:`waterfall` of each of ``pairs``, the weights of all computed at once (a
    sign-up report shows thousands: one pair at a time, numpy's overhead was most of it)."""
    n = max(shops or model.shops, 2)
    contexts = [int(pair.get("context", 0)) for pair in pairs]
    vec = Vectors(np.array([""] * len(pairs)), np.array([""] * len(pairs)),
                  np.array([[int(pair[f"level_{c}"]) for c in NAMES] for pair in pairs],
                           dtype=np.int64).reshape(len(pairs), len(NAMES)),
                  np.array([[float(pair[f"users_{c}"]) for c in NAMES] for pair in pairs],
                           dtype=float).reshape(len(pairs), len(NAMES)),
                  np.array(contexts, dtype=np.int64),
                  np.array([1 if pd.isna(t := pair.get("tries", 1)) else int(t)
                            for pair in pairs], dtype=np.int64))
    if not pairs:
        return []
    all_weights, all_log_u = _mode_weights(model, vec, n), _log_u(model, vec, n)
    lone = _lone(vec) if model.lone is not None else np.zeros(len(pairs), dtype=bool)
    return [_steps(model.lone if lone[i] else model, ctx, vec.level[i], all_weights[i],
                   all_log_u[i]) for i, ctx in enumerate(contexts)]


def _steps(model: MatchModel, ctx: int, levels: np.ndarray, weights: np.ndarray,
           log_u: np.ndarray) -> list[dict]:
    """One pair's waterfall from its levels, mode weights and log2 u (see :func:`waterfall`)."""
    best = int(np.argmax(weights))
    mode = MODES[best]
    prior = model.priors[mode][ctx] / (1.0 - model.prior(ctx))
    steps = [{"comparison": "prior", "level": f"{mode}, {CONTEXTS[ctx]}", "bayes_factor": prior,
              "tf_adjustment": 1.0, "log2_bf": float(np.log2(prior))}]
    for c, name in enumerate(NAMES):
        level = int(levels[c])
        if level > len(COMPARISONS[name][1]):
            continue
        m, u = model.m[mode][name][level], model.u[name][level]
        u_eff = float(np.exp2(log_u[c]))
        steps.append({"comparison": name, "level": model.levels(name)[level],
                      "bayes_factor": m / u_eff, "tf_adjustment": u / u_eff,
                      "log2_bf": float(np.log2(m / u_eff))})
    rest = float(_odds(weights[None, :])[0] - weights[best])
    steps.append({"comparison": "other modes", "level": ",".join(MODES[:best] + MODES[best + 1:]),
                  "bayes_factor": float(np.exp2(rest)), "tf_adjustment": 1.0, "log2_bf": rest})
    return steps


def model_version(model) -> str | None:
    """A short hash of the model's parameters (its JSON): the version a case file cites.

    >>> model_version(None) is None
    True
    """
    if model is None:
        return None
    text = json.dumps(model.to_dict(), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
