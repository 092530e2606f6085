"""Incremental sign-up scoring: a day's new shops against an analysed world's state.

The world was analysed once and saved (:mod:`graphlink.state.store`): the saved
tables are the world's index. New shops arrive as a *delta*: a dataset folder
in the usual layout holding only them (their shops, accounts, devices,
addresses, payments rows). Scoring them runs the full pipeline's own stages
(:func:`graphlink.workflow.analyse.analyse`) on the new rows, each reading the world from the
index instead of recomputing it; no stage has a second implementation here:

1. identifiers: :func:`graphlink.linkage.identifiers.extract` on the delta; the
   world's uses and values of the same identifier values are read (Parquet
   filters: nothing else of the world is read) and shops and unrelated
   entities counted over both (:func:`graphlink.linkage.link.entity_labels`,
   each world shop starting in its saved entity, and
   :func:`graphlink.linkage.link.count_entities`);
2. blocking and comparison: :func:`graphlink.linkage.link.link_new` compares
   the new values among themselves and with the world's values a full run's
   sorted neighbourhood would have put next to them (the saved keys);
3. evidence and pair scores: :func:`graphlink.linkage.link.pair_evidence`,
   comparison vectors, the second look and the state's match model, as
   ``analyse`` weighs them;
4. operators: each new shop also against whole world operators
   (:func:`graphlink.linkage.resolve.against_operators`), then
   :func:`graphlink.linkage.resolve.resolve_operators` over the new shops and
   the world operators they merge with, given the world's ids by
   :func:`graphlink.state.runs.stabilise` as the next run would be;
5. scoring: :func:`graphlink.scoring.score.score_signups` searches the world's
   pair graph plus the new pairs (:class:`graphlink.core.paths.PairGraph`), and
   :func:`graphlink.scoring.explain.explained` explains each match from the
   evidence of the pairs on its path, as for a full analysis.

What a full re-analysis of world + delta would do and this does not (the
remaining differences; tests/state checks that flags and first matches agree):
the match model is the state's, not re-learned; world pairs whose values the
new shops made less rare are not re-weighed; world operators a new shop
bridges are not merged (the shop takes the largest, ``bridges`` names the
others, and the world's shops keep their ids); hub keys are not re-judged; a
new operator's fresh id is checked for collisions against the operators it
touches only. The next full run (``graphlink report changes`` or a stale
state) does all of it and logs what moved.

With no delta, the same path reports the world's own shops created on or after
``since`` from the saved state alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink.core.codes import community_id
from graphlink.core.dataset import Dataset
from graphlink.core.errors import GraphlinkError
from graphlink.core.paths import PairGraph
from graphlink.linkage.identifiers import Identifiers, extract
from graphlink.linkage.link import Links, count_entities, entity_labels, link_new, pair_evidence
from graphlink.linkage.model import comparison_levels, evidence_weights, score_vectors, shop_kinds
from graphlink.linkage.recompare import second_look
from graphlink.linkage.resolve import MERGE, against_operators, combined_with, resolve_operators
from graphlink.scoring.explain import explained, shops_to_explain
from graphlink.scoring.score import WEAK, score_signups
from graphlink.state import runs
from graphlink.state.store import State

__all__ = ["score_against_state"]

_SHOP_COLUMNS = ["shop_id", "created_at", "status", "banned_at", "operator_id", "community_id"]


def score_against_state(state: State, delta: Dataset | None, since: pd.Timestamp,
                        pseudonyms=None) -> list[dict]:
    """Sign-up records (as :func:`graphlink.scoring.score.score_signups`) of the delta's
    shops created on or after ``since`` -- or, without a delta, of the world's."""
    world = state.table("shops")
    if delta is None:
        scored = set(world.loc[world["created_at"] >= since, "shop_id"])
        return _score(state, world, _empty_part(), scored, since)
    clash = sorted(set(delta.shops["shop_id"]) & set(world["shop_id"]))
    if clash:
        raise GraphlinkError(
            f"{delta.source}: {len(clash)} shop(s) are already in the analysed state "
            f"(e.g. {clash[0]}); a delta holds new shops only -- analyse the whole "
            "dataset instead")
    part = _new_part(state, world, delta, pseudonyms)
    scored = set(part.shops.loc[part.shops["created_at"] >= since, "shop_id"])
    return _score(state, world, part, scored, since)


@dataclass
class _Part:
    """The delta's contribution: its shops, identifiers, evidence and new pairs."""

    shops: pd.DataFrame
    ids: Identifiers
    evidence: pd.DataFrame
    pairs: pd.DataFrame


def _empty_part() -> _Part:
    empty = pd.DataFrame(columns=["shop_a", "shop_b", "p", "kinds"])
    ids = Identifiers(pd.DataFrame(columns=["shop_id", "kind", "value", "first_seen",
                                            "last_seen"]),
                      pd.DataFrame(columns=["kind", "value", "shops", "display"]))
    return _Part(pd.DataFrame(columns=_SHOP_COLUMNS), ids, pd.DataFrame(), empty)


def _new_part(state: State, world: pd.DataFrame, delta: Dataset, pseudonyms) -> _Part:
    new_ids = extract(delta)
    linked = _link(state, new_ids)
    if pseudonyms is not None:
        delta, new_ids, linked, _ = pseudonyms.analysis_parts(delta, new_ids, linked,
                                                              pd.DataFrame())
    ids = _merged_ids(state, world, new_ids, linked)
    new = set(delta.shops["shop_id"])
    evidence = pair_evidence(ids, linked)
    evidence = evidence[evidence["shop_a"].isin(new) | evidence["shop_b"].isin(new)]
    evidence = evidence.reset_index(drop=True)
    pairs, evidence["weight"] = _scored(state, world, delta, new_ids, evidence)
    # each new shop also against the world's operators, as a full run does
    banned = set(world.loc[world["status"] == "banned", "shop_id"])
    model = state.model()
    pairs = against_operators(pairs, world.set_index("shop_id")["operator_id"], model,
                              _shops(model, world, delta), banned)
    shops = delta.shops[["shop_id", "created_at", "status", "banned_at"]].copy()
    shops = shops.merge(_operators(world, pairs, new), on="shop_id")
    return _Part(shops, ids, evidence, pairs)


def _scored(state: State, world: pd.DataFrame, delta: Dataset, new_ids: Identifiers,
            evidence: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The new pairs scored by the state's own match model (the full run's parameters),
    and each piece of evidence's weight by that model."""
    model = state.model()
    if model is None:
        raise GraphlinkError(f"{state.folder}: this state was saved before match models; "
                             "analyse the whole dataset into it once more")
    columns = ["shop_id", "created_at", "status", "banned_at"]
    table = pd.concat([world[columns], delta.shops[columns]], ignore_index=True)
    world_kinds = world.set_index("shop_id")["kinds"] if "kinds" in world else pd.Series(
        dtype=object)
    kinds = pd.concat([world_kinds, shop_kinds(new_ids.uses)])
    vectors = comparison_levels(evidence, kinds, table)
    paired = set(vectors.shop_a.tolist()) | set(vectors.shop_b.tolist())
    uses = pd.concat([state.table("uses", ["shop_id", "kind", "value"], ("shop_id", paired)),
                      new_ids.uses[["shop_id", "kind", "value"]]], ignore_index=True)
    shops = _shops(model, world, delta)
    return (score_vectors(model, second_look(vectors, uses), shops),
            evidence_weights(model, evidence, shops))


def _shops(model, world: pd.DataFrame, delta: Dataset) -> int:
    """The marketplace size chance agreement is scaled to, as a full run takes it:
    the shops analysed, or the model's own marketplace when that is larger."""
    return max(len(world) + len(delta.shops), getattr(model, "shops", 0))


def _link(state: State, new_ids: Identifiers) -> Links:
    """Links of the new values (world counts added, so hub rules hold)."""
    values = new_ids.values
    world = state.table("values", ["kind", "value", "shops"], ("value", values["value"]))
    known = values.merge(world, on=["kind", "value"], how="left", suffixes=("", "_w"))
    fresh = known[known["shops_w"].isna()].drop(columns="shops_w")
    fresh = fresh.assign(entities=fresh["shops"])
    links = link_new(fresh, state.table("keys"), state.table("hubs"))
    # the world's links of the values the new shops share with it
    shared = set(known.loc[known["shops_w"].notna(), "value"])
    old = pd.concat([state.table("similar", where=("value_a", shared)),
                     state.table("similar", where=("value_b", shared))], ignore_index=True)
    links.similar = pd.concat([links.similar, old], ignore_index=True).drop_duplicates(
        ["kind", "value_a", "value_b"], ignore_index=True)
    return links


def _merged_ids(state: State, world: pd.DataFrame, new_ids: Identifiers, links: Links
                ) -> Identifiers:
    """World and new uses of every value the new shops touch, with counts over both."""
    touched = set(new_ids.values["value"]) | set(links.similar["value_a"]) | set(
        links.similar["value_b"])
    uses = pd.concat([state.table("uses", where=("value", touched)),
                      new_ids.uses[["shop_id", "kind", "value", "first_seen", "last_seen"]]],
                     ignore_index=True)
    shown = pd.concat([state.table("values", ["kind", "value", "display", "lat", "lon"],
                                   ("value", touched)),
                       new_ids.values[["kind", "value", "display", "lat", "lon"]]],
                      ignore_index=True).drop_duplicates(["kind", "value"])
    counts = uses.groupby(["kind", "value"]).agg(shops=("shop_id", "nunique"))
    ids = Identifiers(uses, shown.merge(counts.reset_index(), on=["kind", "value"]))
    # entities as analyse counts them, each world shop starting in its saved entity
    return count_entities(ids, entity_labels(ids, world.set_index("shop_id")["entity"]))


def _operators(world: pd.DataFrame, pairs: pd.DataFrame, new: set[str]) -> pd.DataFrame:
    """Operator and community of each new shop: operators resolved as a full run does
    (:func:`graphlink.linkage.resolve.resolve_operators`) over the new shops and the
    whole world operators they are merged with, then given the world's ids as the
    next run would give them (:func:`graphlink.state.runs.stabilise`). A new shop
    bridging world operators takes the largest one (``bridges`` names the others)."""
    strong = pairs.loc[pairs["p"] >= MERGE, ["shop_a", "shop_b", "p"]]
    owner = world.set_index("shop_id")["operator_id"]
    tied = pd.unique(np.r_[strong["shop_a"].to_numpy(dtype=object),
                           strong["shop_b"].to_numpy(dtype=object)])
    olds = world[world["operator_id"].isin(set(owner.reindex(tied).dropna()))]
    olds = olds.sort_values(["operator_id", "shop_id"])
    same = (olds["operator_id"].to_numpy()[1:] == olds["operator_id"].to_numpy()[:-1])
    chained = pd.DataFrame({"shop_a": olds["shop_id"].to_numpy()[:-1][same],
                            "shop_b": olds["shop_id"].to_numpy()[1:][same], "p": 1.0})
    shops = pd.Series(sorted(new) + olds["shop_id"].tolist(), dtype=object)
    fresh = resolve_operators(shops, pd.concat([strong, chained], ignore_index=True)).operators
    stable = runs.stabilise(fresh, olds[["shop_id", "operator_id"]])
    fresh_of = dict(zip(fresh["shop_id"], fresh["operator_id"], strict=True))
    held: dict[str, set[str]] = {}
    for shop, op in zip(olds["shop_id"], olds["operator_id"], strict=True):
        held.setdefault(fresh_of[shop], set()).add(op)
    community = dict(zip(olds["operator_id"], olds["community_id"], strict=True))
    mine = stable[stable["shop_id"].isin(new)]
    ops = mine["operator_id"].tolist()
    return pd.DataFrame({
        "shop_id": mine["shop_id"].tolist(), "operator_id": ops,
        "community_id": [community.get(op) or community_id(op) for op in ops],
        "bridges": [sorted(held.get(fresh_of[s], set()) - {op})
                    for s, op in zip(mine["shop_id"], ops, strict=True)]},
        columns=["shop_id", "operator_id", "community_id", "bridges"])


def _graph(state: State, world: pd.DataFrame, part: _Part) -> PairGraph:
    """The world's pair graph (from row numbers) plus the delta's pairs."""
    stored = state.table("pairs", ["a", "b", "p"])
    stored = stored[stored["p"] >= WEAK]
    new = part.pairs[part.pairs["p"] >= WEAK]
    names = np.r_[world["shop_id"].to_numpy(dtype=object),
                  part.shops["shop_id"].to_numpy(dtype=object)]
    code = {name: i for i, name in enumerate(names.tolist())}
    a = np.r_[stored["a"].to_numpy(), new["shop_a"].map(code).to_numpy(dtype="int64")]
    b = np.r_[stored["b"].to_numpy(), new["shop_b"].map(code).to_numpy(dtype="int64")]
    p = np.r_[stored["p"].to_numpy(dtype=float), new["p"].to_numpy(dtype=float)]
    return PairGraph(names, a.astype("int64"), b.astype("int64"), p)


def _score(state: State, world: pd.DataFrame, part: _Part, scored: set[str],
           since: pd.Timestamp) -> list[dict]:
    shops = pd.concat([world.loc[(world["status"] == "banned") | world["shop_id"].isin(scored),
                                 _SHOP_COLUMNS],
                       part.shops.reindex(columns=_SHOP_COLUMNS)], ignore_index=True)
    shops = shops[shops["shop_id"].isin(scored) | (shops["status"] == "banned")]
    records = score_signups(shops, _graph(state, world, part), since, explain=None,
                            only=scored)
    records = _explained(state, part, records)
    bridges = part.shops.set_index("shop_id")["bridges"] if "bridges" in part.shops else {}
    for r in records:
        if len(bridges) and r["shop_id"] in bridges.index and bridges[r["shop_id"]]:
            r["bridges"] = bridges[r["shop_id"]]
    return records


def _combined(state: State, part: _Part, records: list[dict]) -> dict:
    """The operators' other shops read by the records' direct matches
    (:func:`graphlink.linkage.resolve.combined_with`), from the state and the delta."""
    direct = {r["shop_id"] for r in records for m in r["matches"] if m["hops"] == 1}
    stored = state.table("pairs", where=("shop_a", direct))
    stored = pd.concat([stored, state.table("pairs", where=("shop_b", direct))])
    return {**combined_with(stored), **combined_with(part.pairs)}


def _explained(state: State, part: _Part, records: list[dict]) -> list[dict]:
    """The records' evidence, explained as a full run explains it
    (:func:`graphlink.scoring.explain.explained`) from the state's evidence and
    identifiers of the shops it needs, and the delta's."""
    combined = _combined(state, part, records)
    shops = shops_to_explain(records, combined)
    evidence = state.table("evidence", where=("shop_a", shops))
    if len(part.evidence):
        evidence = pd.concat([evidence, part.evidence], ignore_index=True)
    uses = pd.concat([state.table("uses", where=("shop_id", shops)),
                      part.ids.uses[part.ids.uses["shop_id"].isin(shops)]],
                     ignore_index=True)
    values = pd.concat([state.table("values", ["kind", "value", "display"],
                                    ("value", set(uses["value"]))),
                        part.ids.values[["kind", "value", "display"]]],
                       ignore_index=True).drop_duplicates(["kind", "value"])
    return explained(records, evidence, Identifiers(uses, values), combined)
