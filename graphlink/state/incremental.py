"""Incremental sign-up scoring: a day's new shops against an analysed world's state.

The world was analysed once and saved (:mod:`graphlink.state.store`). New shops
arrive as a *delta*: a dataset folder in the usual layout holding only them
(their shops, accounts, devices, addresses, payments rows). Scoring them
repeats the pipeline for the new rows only:

1. extract and normalise the delta's identifiers;
2. read the world's uses and values of the same identifier values (Parquet
   filters: nothing else of the world is read), count shops and unrelated
   entities on each value again with the new shops on it;
3. link the new values among themselves and with the world's values that a
   full run's sorted neighbourhood would have put next to them
   (:func:`graphlink.linkage.link.link_new`);
4. weigh the new pairs' evidence and score it with the state's match model;
5. search the world's pair graph plus the new pairs from each new shop to the
   banned shops (:class:`graphlink.core.paths.PairGraph`), and explain each match
   from the evidence of the pairs on its path.

New shops join the (stable) operator of a world shop they are merged with;
shops merged only among themselves form a new operator (``OP-`` + smallest
shop id). What a full re-analysis would do and this does not: re-weigh world
pairs whose values the new shops made less rare, merge world operators that
a new shop bridges (the shop takes the larger one and the report says
``bridges``), re-judge hub keys. The next full run (``graphlink report changes``
or a stale state) does all of it and logs what moved.

With no delta, the same path reports the world's own shops created on or after
``since`` from the saved state alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.errors import GraphlinkError
from graphlink.core.paths import PairGraph, components
from graphlink.linkage.identifiers import Identifiers, extract
from graphlink.linkage.link import ENTITY_KINDS, HUB_SHOPS, Links, link_new, pair_evidence
from graphlink.linkage.model import comparison_levels, evidence_weights, score_vectors, shop_kinds
from graphlink.linkage.recompare import second_look
from graphlink.linkage.resolve import MERGE, against_operators, combined_with
from graphlink.scoring.explain import Explainer
from graphlink.scoring.score import FLAGS, add_evidence, on_paths, score_signups
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
    label = _entities(world, uses)
    counted = uses.assign(entity=uses["shop_id"].map(label).fillna(uses["shop_id"]))
    counts = counted.groupby(["kind", "value"]).agg(shops=("shop_id", "nunique"),
                                                    entities=("entity", "nunique"))
    values = shown.merge(counts.reset_index(), on=["kind", "value"])
    return Identifiers(uses, values)


def _entities(world: pd.DataFrame, uses: pd.DataFrame) -> pd.Series:
    """Entity of each shop in ``uses``: the world's label; a new shop tied by an
    exact machine identifier to a world shop takes that shop's entity."""
    label = world.set_index("shop_id")["entity"]
    known = uses["shop_id"].isin(label.index)
    strong = uses[uses["kind"].isin(ENTITY_KINDS)]
    n = strong.groupby(["kind", "value"])["shop_id"].transform("nunique")
    strong = strong[(n >= 2) & (n <= HUB_SHOPS)]
    edges: list[tuple[str, str]] = []
    for (_, _), group in strong.groupby(["kind", "value"], sort=False)["shop_id"]:
        members = group.tolist()
        edges += zip(members, members[1:], strict=False)
    out = label.reindex(uses.loc[known, "shop_id"].unique()).to_dict()
    for component in components([], edges):
        olds = sorted(label.get(s) for s in component if s in label.index)
        for shop in component:
            out.setdefault(shop, olds[0] if olds else min(component))
    return pd.Series(out, dtype=object)


def _operators(world: pd.DataFrame, pairs: pd.DataFrame, new: set[str]) -> pd.DataFrame:
    """Operator and community of each new shop (see the module docstring)."""
    strong = pairs[pairs["p"] >= MERGE]
    tied = set(strong["shop_a"]) | set(strong["shop_b"])
    owner = world[world["shop_id"].isin(tied)].set_index("shop_id")
    rows = []
    for component in components(new, strong[["shop_a", "shop_b"]].itertuples(index=False)):
        mine = sorted(s for s in component if s in new)
        if not mine:
            continue
        olds = owner.loc[[s for s in component if s not in new]]
        ops = olds["operator_id"].value_counts()
        if len(ops):
            op = sorted(ops.index, key=lambda o: (-ops[o], o))[0]
            community = olds.loc[olds["operator_id"] == op, "community_id"].iloc[0]
        else:
            op = "OP-" + mine[0]
            community = "C-" + mine[0]
        rows += [{"shop_id": s, "operator_id": op, "community_id": community,
                  "bridges": sorted(set(ops.index) - {op})} for s in mine]
    return pd.DataFrame(rows, columns=["shop_id", "operator_id", "community_id", "bridges"])


def _graph(state: State, world: pd.DataFrame, part: _Part) -> PairGraph:
    """The world's pair graph (from row numbers) plus the delta's pairs."""
    stored = state.table("pairs", ["a", "b", "p"])
    stored = stored[stored["p"] >= FLAGS["low"]]
    new = part.pairs[part.pairs["p"] >= FLAGS["low"]]
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
    add_evidence(records, _explainer(state, part, records).path)
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


def _explainer(state: State, part: _Part, records: list[dict]) -> Explainer:
    """An explainer holding only the evidence and identifiers of the matches' paths."""
    combined = _combined(state, part, records)
    shops = on_paths(records) | {s for sisters in combined.values() for s in sisters}
    evidence = state.table("evidence", where=("shop_a", shops))
    evidence = evidence[evidence["shop_b"].isin(shops)]
    if len(part.evidence):
        evidence = pd.concat([evidence, part.evidence], ignore_index=True)
    uses = pd.concat([state.table("uses", where=("shop_id", shops)),
                      part.ids.uses[part.ids.uses["shop_id"].isin(shops)]],
                     ignore_index=True)
    values = pd.concat([state.table("values", ["kind", "value", "display"],
                                    ("value", set(uses["value"]))),
                        part.ids.values[["kind", "value", "display"]]],
                       ignore_index=True).drop_duplicates(["kind", "value"])
    return Explainer(evidence, Identifiers(uses, values), combined)
