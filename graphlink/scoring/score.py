"""Scoring: sign-up risk with evidence, and which shops to test-buy next.

Sign-up risk: is a new shop a banned operator coming back under a new identity?

For each shop created on or after ``since``, the strongest paths through the
shop-pair graph (combined pair scores ``p`` from :mod:`graphlink.linkage.resolve`)
to banned shops are found: a direct pair (the new shop shares or resembles an
identifier of the banned shop), or an indirect one through other shops (a new
shop that shares a device with a shop that shares a card with a banned shop).
A path's score is the product of its pairs' ``p`` (so each hop must itself be
believable), times ``CONCURRENT`` when the new shop was opened before the
banned shop's ban (a sister shop rather than a comeback: still a lead, but
ban evasion is a sequence: ban first, new shop after).

A match is one banned shop reached with score >= ``FLAGS['low']``; ``risk`` is
the best match's score. A sign-up without a match but with a *weak tie* (a path
scored at least ``WEAK``, 1 in 500: one signal the model holds likely chance,
such as a namesake or a masked card) gets that tie's score as its ``risk``,
flag ``none`` and no match: it ranks above the sign-ups tied to no banned shop
at all, as its odds say, without being reported as a lead. Flags (documented
thresholds):

Pair scores are calibrated match probabilities (:mod:`graphlink.linkage.model`), so the
thresholds are probabilities, not weights tuned to one world:

- ``high`` (>= 0.9): a rare machine identifier, or two or three weaker
  signals together, tie the shop to a banned shop. Investigate today.
- ``medium`` (>= 0.5): more likely than not a comeback.
- ``low`` (>= 0.02): a lead with odds of at least 1 in 50, often one weak
  signal alone (a neighbouring room, a masked card, a namesake).
- ``none``: nothing ties the shop to a banned shop.

Spot checks (:func:`spotcheck`) rank active shops for the next test buys by
their network proximity to banned shops, factory membership, counterfeit
disputes and fake verdicts not yet acted on; each comes with its reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink.core.paths import PairGraph
from graphlink.core.workers import map_chunks

__all__ = ["FLAGS", "WEAK", "CONCURRENT", "MAX_HOPS", "flag_of", "score_signups", "nearest_banned",
           "spotcheck", "SPOTCHECK_WEIGHTS", "PairGraph",
           "on_paths", "add_evidence"]

FLAGS = {"high": 0.9, "medium": 0.5, "low": 0.02}
#: the weakest path that still ranks a sign-up (its risk, below every flag)
WEAK = 0.002
CONCURRENT = 0.9
MAX_HOPS = 3
MAX_MATCHES = 5
PRUNE_ABOVE = 1000
_CUTOFF = -np.log(FLAGS["low"])  # path cost (-log p) of the weakest lead
_WEAK_CUTOFF = -np.log(WEAK)  # ... and of the weakest tie that ranks a sign-up

_LABELS = {
    "device": "device", "ip": "IP", "phone": "phone", "email": "email",
    "id_number": "ID number", "birth_date": "date of birth", "holder_name": "holder name",
    "address": "dispatch address", "payment": "payment endpoint", "shop_name": "shop name",
}


def flag_of(risk: float) -> str:
    """The flag for a risk value.

    >>> [flag_of(r) for r in (0.93, 0.5, 0.2, 0.0)]
    ['high', 'medium', 'low', 'none']
    """
    for name, threshold in FLAGS.items():
        if risk >= threshold:
            return name
    return "none"


def score_signups(shops: pd.DataFrame, pairs: pd.DataFrame | PairGraph, since: pd.Timestamp,
                  explain, only: set[str] | None = None) -> list[dict]:
    """Score every shop created on or after ``since``; sorted by risk, then shop id.

    ``shops`` has shop_id, created_at, status, banned_at, operator_id,
    community_id (banned shops of the world included); ``pairs`` the combined
    pair scores (or their :class:`PairGraph`); ``explain(new_shop,
    banned_shop, path, banned_at)`` returns the evidence list of one match
    (``None``: matches keep ``banned_at`` and get their evidence later).
    ``only``, when given, names the shops to score instead.
    """
    graph = pairs if isinstance(pairs, PairGraph) else PairGraph.of(pairs, WEAK)
    banned_rows = shops[shops["status"] == "banned"].set_index("shop_id")
    banned = set(banned_rows.index)
    new = shops[shops["shop_id"].isin(only) if only is not None
                else shops["created_at"] >= since].sort_values("shop_id")
    # one search from all banned shops first pays off when many shops are scored
    # (the cutoff with rounding slack: it only prunes, paths_from decides)
    reach = (graph.near(banned, _WEAK_CUTOFF * (1 + 1e-9) + 1e-12) if len(new) > PRUNE_ABOVE
             else None)
    rows = list(new[["shop_id", "created_at", "operator_id", "community_id"]].itertuples(
        index=False, name=None))
    near = [(shop, created) for shop, created, *_ in rows
            if (reach is None or shop in reach) and shop in graph]
    context = _Scoring(graph, banned, banned_rows["banned_at"].to_dict())
    # workers send back the matches of the shops near a banned shop only (few, small)
    found = dict(zip((shop for shop, _ in near),
                     map_chunks(_matches_chunk, near, context, min_items=SHARE_ABOVE),
                     strict=True))
    results = [_record(row, found.get(row[0], ([], 0.0)), explain) for row in rows]
    results.sort(key=lambda r: (-r["risk"], r["shop_id"]))
    return results


#: sign-ups (or records to explain) from which the work is spread over worker processes
SHARE_ABOVE = 5_000


@dataclass
class _Scoring:
    graph: PairGraph
    banned: set[str]
    banned_at: dict


def _matches_chunk(shops: list[tuple], c: _Scoring) -> list[tuple[list[dict], float]]:
    return [_matches(shop, created_at, c) for shop, created_at in shops]


def _matches(shop: str, created_at: pd.Timestamp, c: _Scoring) -> tuple[list[dict], float]:
    """The best matches of one shop with banned shops, strongest first, and its risk:
    the best match's score, or without a match its best weak tie's (``WEAK``)."""
    matches, risk = [], 0.0
    for b, path in c.graph.paths_from(shop, c.banned, hops=MAX_HOPS,
                                      cutoff=_WEAK_CUTOFF).items():
        score = c.graph.path_score(path)
        if pd.notna(c.banned_at[b]) and created_at < c.banned_at[b]:
            score *= CONCURRENT
        if score >= WEAK:
            risk = max(risk, round(score, 4))
        if score >= FLAGS["low"]:
            matches.append({"banned_shop_id": b, "score": round(score, 4),
                            "path": path, "banned_at": c.banned_at[b]})
    matches.sort(key=lambda m: (-m["score"], len(m["path"]), m["banned_shop_id"]))
    return matches[:MAX_MATCHES], risk


def _record(row: tuple, found: tuple[list[dict], float], explain) -> dict:
    shop, created_at, operator_id, community_id = row
    matches, risk = found
    return {"shop_id": shop, "created_at": created_at, "risk": round(risk, 4),
            "flag": flag_of(risk), "operator_id": operator_id, "community_id": community_id,
            "matches": [_match(m, shop, explain) for m in matches]}


def on_paths(records: list[dict]) -> set[str]:
    """Every shop on the paths of the records' matches."""
    return {s for r in records for m in r["matches"] for s in m["path"]}


def add_evidence(records: list[dict], explain) -> list[dict]:
    """Fill in the evidence of records scored with ``explain=None``."""
    todo = [r for r in records if r["matches"]]
    for r, matches in zip(todo, map_chunks(_explain_chunk, todo, explain,
                                           min_items=SHARE_ABOVE), strict=True):
        r["matches"] = matches
    return records


def _explain_chunk(records: list[dict], explain) -> list[list[dict]]:
    out = []
    for r in records:
        matches = [dict(m) for m in r["matches"]]
        for m in matches:
            m["evidence"] = explain(r["shop_id"], m["banned_shop_id"], m["path"],
                                    m.pop("banned_at"))
        out.append(matches)
    return out


def _match(match: dict, shop: str, explain) -> dict:
    if explain is None:
        return {"banned_shop_id": match["banned_shop_id"], "score": match["score"],
                "hops": len(match["path"]) - 1, "path": match["path"],
                "banned_at": match["banned_at"], "evidence": []}
    return {
        "banned_shop_id": match["banned_shop_id"],
        "score": match["score"],
        "hops": len(match["path"]) - 1,
        "path": match["path"],
        "evidence": explain(shop, match["banned_shop_id"], match["path"], match["banned_at"]),
    }


def label(kind: str) -> str:
    """Human label of an identifier kind (``id_number`` -> ``ID number``)."""
    return _LABELS.get(kind, kind)


# --- spot checks -------------------------------------------------------------

# How much each kind of lead adds to a shop's test-buy priority (combined as
# independent signals, 1 - prod(1 - w)).
SPOTCHECK_WEIGHTS = {"proximity": 0.8, "factory": 0.6, "fake": 0.9, "dispute": 0.3}
# a genuine verdict already on file halves the priority: that shop was checked
GENUINE_DISCOUNT = 0.5


def nearest_banned(pairs: pd.DataFrame, banned: list[str]) -> pd.DataFrame:
    """For every shop linked to a banned shop: the best path score and that shop.

    One multi-source Dijkstra over ``-log p`` from all banned shops at once.
    """
    graph = PairGraph.of(pairs, FLAGS["low"])
    found = graph.nearest([b for b in banned if b in graph], _CUTOFF)
    rows = [{"shop_id": s, "proximity": float(np.exp(-c)), "banned_shop_id": b, "hops": h}
            for s, (c, b, h) in found.items()]
    return pd.DataFrame(rows, columns=["shop_id", "proximity", "banned_shop_id", "hops"])


def spotcheck(shops: pd.DataFrame, near: pd.DataFrame, factory: pd.Series,
              factory_score: pd.Series, disputes: pd.DataFrame, test_buys: pd.DataFrame,
              budget: int) -> list[dict]:
    """The ``budget`` active shops most worth a test buy, each with its reasons."""
    active = shops[shops["status"] == "active"]
    # plain dicts: one look-up per shop, not a pandas scalar access (x10 at 30,000 shops)
    hits = {s: (p, b, h) for s, p, b, h in zip(near["shop_id"], near["proximity"],
                                               near["banned_shop_id"], near["hops"], strict=True)}
    counterfeit = disputes[disputes["reason"].fillna("").str.contains("counterfeit|fake|假",
                                                                      case=False)]
    n_disputes = counterfeit["shop_id"].value_counts().to_dict()
    verdicts: dict[str, set] = {}
    for shop, verdict in zip(test_buys["shop_id"], test_buys["verdict"], strict=True):
        if pd.notna(verdict):
            verdicts.setdefault(shop, set()).add(verdict)
    factories, scores = factory.to_dict(), factory_score.to_dict()
    # priorities first (numbers only), then the reasons' texts of the ``budget`` kept
    ranked = []
    for shop, operator, community in zip(active["shop_id"], active["operator_id"],
                                         active["community_id"], strict=True):
        weights = _spot_weights(shop, hits, factories, scores, n_disputes)
        fake = "fake" in verdicts.get(shop, set())
        if fake:
            weights.append(SPOTCHECK_WEIGHTS["fake"])
        if not weights:
            continue
        # math.prod multiplies in order, as np.prod of so short a list does (same bits)
        priority = 1 - math.prod([1 - w for w in weights])
        genuine = "genuine" in verdicts.get(shop, set()) and not fake
        if genuine:
            priority *= GENUINE_DISCOUNT
        ranked.append((round(float(priority), 4), shop, operator, community, fake, genuine))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    out = []
    for i, (priority, shop, operator, community, fake, genuine) in enumerate(
            ranked[:budget], 1):
        reasons = _spot_reasons(shop, hits, factories, scores, n_disputes)
        if fake:
            reasons.append(("fake", SPOTCHECK_WEIGHTS["fake"],
                            "a fake test buy on file, not banned"))
        if genuine:
            reasons.append(("genuine", 0.0, "a genuine test buy on file (priority halved)"))
        out.append({"rank": i, "shop_id": shop, "priority": priority,
                    "operator_id": operator, "community_id": community,
                    "factory_id": fid if isinstance(fid := factories.get(shop), str) else None,
                    "reasons": [{"kind": k, "detail": d} for k, _, d in reasons]})
    return out


def _spot_weights(shop: str, hits: dict, factory: dict, factory_score: dict,
                  n_disputes: dict) -> list[float]:
    """The weights of :func:`_spot_reasons`, in its order, without their texts.

    >>> _spot_weights("S1", {"S1": (0.5, "B", 1)}, {}, {}, {"S1": 1})
    [0.4, 0.30000000000000004]
    """
    weights = []
    if shop in hits:
        weights.append(SPOTCHECK_WEIGHTS["proximity"] * hits[shop][0])
    fid = factory.get(shop)
    if isinstance(fid, str):
        weights.append(SPOTCHECK_WEIGHTS["factory"] * factory_score.get(fid, 0.0))
    n = int(n_disputes.get(shop, 0))
    if n:
        weights.append(1 - (1 - SPOTCHECK_WEIGHTS["dispute"]) ** n)
    return weights


def _spot_reasons(shop: str, hits: dict, factory: dict, factory_score: dict,
                  n_disputes: dict) -> list[tuple[str, float, str]]:
    """Why ``shop`` is worth a test buy: its nearest banned shop (``hits``: shop ->
    (proximity, banned shop, hops)), its factory lead, its counterfeit disputes."""
    reasons = []
    if shop in hits:
        proximity, banned, hops = hits[shop]
        reasons.append(("proximity", SPOTCHECK_WEIGHTS["proximity"] * proximity,
                        f"linked to banned shop {banned} "
                        f"({int(hops)} hop(s), path score {proximity:.2f})"))
    fid = factory.get(shop)
    if isinstance(fid, str):
        reasons.append(("factory", SPOTCHECK_WEIGHTS["factory"] * factory_score.get(fid, 0.0),
                        f"in factory cluster {fid} (score {factory_score.get(fid, 0.0):.2f})"))
    n = int(n_disputes.get(shop, 0))
    if n:
        weight = 1 - (1 - SPOTCHECK_WEIGHTS["dispute"]) ** n
        reasons.append(("dispute", weight, f"{n} counterfeit dispute(s)"))
    return reasons
