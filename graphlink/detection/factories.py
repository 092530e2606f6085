"""Factory leads: independent operators whose dispatch addresses converge on one place.

A factory, in the field, is several independent dealer operators (three or
more, often with shops banned for counterfeits or failed test buys) whose
dispatch addresses converge on one site: one building, or a few within
walking distance (:mod:`graphlink.detection.places`). It is not one operator with many
shops, and not a park, warehouse or office tower that hundreds of honest
shops share.

The unit is the *operator* of the match model, not the shop:

1. An operator is *flagged* when one of its shops has a counterfeit signal
   (:func:`shop_record`: a ban, a fake test buy or a counterfeit dispute).
2. Sites are grown from the addresses of flagged operators.
3. On a site, a shop registered at a building after a shop there was banned,
   by an operator without any signal, is a *successor* (a new tenant, or a
   comeback nobody linked): shown, not counted. Flagged operators that follow
   one another at one building (one banned before the next begins) are one
   *tenancy chain*: a counterfeiter's own comebacks count once.
4. A site is a *lead* when it holds at least ``MIN_OPERATORS`` independent
   flagged operators and at most half of its tenants are without any
   signal. A site with that many flagged operators but mostly honest
   tenants is *context* (a park, warehouse or tower), reported separately
   with its reason; its buildings are then tried one by one as leads.

Thresholds are the definition above (three independent operators, honest
majority), not fitted to any world; the radius is walking distance.

Each lead carries its evidence: operators with their bans, test buys and
disputes; shops; every address as written with its distance from the
centre; spread; time overlap; and the parts of its score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink import normalise as norm
from graphlink.core.codes import factory_id
from graphlink.core.period import day
from graphlink.detection.places import RADIUS_M, address_keys, distance_m, sites

__all__ = ["FactoryLeads", "FLAGGED", "MIN_OPERATORS", "HONEST_MAX", "factory_leads", "judged",
           "operator_uses", "shop_record"]

MIN_OPERATORS = 3
HONEST_MAX = 0.5
FLAGGED = 0.6  # a ban, a fake test buy or a counterfeit dispute
LARGE = 30  # more tenants than this: stated in the lead's reasons
LEAD_COLUMNS = ["factory_id", "shops", "operators", "flagged_operators", "score",
                "anchor_address", "lat", "lon", "radius_m", "tenants", "honest_share",
                "operator_ids", "successors", "time_overlap", "level", "reasons", "evidence"]
CONTEXT_COLUMNS = ["place_id", "anchor_address", "lat", "lon", "radius_m", "tenants",
                   "flagged_operators", "honest_share", "buildings", "rooms", "shops", "reason"]
_COUNTERFEIT = "counterfeit|fake|假"


@dataclass
class FactoryLeads:
    """Factory leads (``leads``, best first) and the crowded places kept as context."""

    leads: pd.DataFrame
    context: pd.DataFrame


def shop_record(dataset) -> pd.DataFrame:
    """Per shop: created_at, banned_at, status, banned (bool), fake_buys, genuine_buys,
    counterfeit_disputes, disputes and signal in [0, 1] (a ban or a fake test buy 1,
    a counterfeit dispute 0.6, another dispute 0.2; the strongest counts).

    >>> from graphlink.core.dataset import Dataset
    >>> ds = Dataset.empty()
    >>> shop_record(ds).columns.tolist()[:4]
    ['shop_id', 'created_at', 'banned_at', 'status']
    """
    shops = dataset.shops[["shop_id", "created_at", "banned_at", "status"]].copy()
    disputes, buys = dataset.disputes, dataset.test_buys
    counterfeit = disputes["reason"].fillna("").astype(str).str.contains(_COUNTERFEIT, case=False)
    counts = {"fake_buys": buys.loc[buys["verdict"] == "fake", "shop_id"],
              "genuine_buys": buys.loc[buys["verdict"] == "genuine", "shop_id"],
              "counterfeit_disputes": disputes.loc[counterfeit, "shop_id"],
              "disputes": disputes["shop_id"]}
    for name, ids in counts.items():
        shops[name] = shops["shop_id"].map(ids.value_counts()).fillna(0).astype(int)
    shops["banned"] = shops["status"] == "banned"
    strong = shops["banned"] | (shops["fake_buys"] > 0)
    shops["signal"] = np.select([strong, shops["counterfeit_disputes"] > 0, shops["disputes"] > 0],
                                [1.0, 0.6, 0.2], 0.0)
    return shops.reset_index(drop=True)


def factory_leads(points: pd.DataFrame, operators: pd.DataFrame, record: pd.DataFrame,
                  written: pd.DataFrame | None = None, radius: float = RADIUS_M) -> FactoryLeads:
    """Factory leads over operators (see the module notes).

    ``points``: one row per (shop, address) with shop_id, value (canonical
    address), lat, lon. ``operators``: shop_id, operator_id. ``record``:
    :func:`shop_record`. ``written``: the addresses as written (shop_id,
    address, lat, lon), for the evidence; default ``points``.

    >>> pts = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4"],
    ...     "value": ["义乌稠城街道新塘工业区发展路379号", "义乌新塘工业区发展路381号2栋",
    ...               "义乌稠城街道新塘工业区发展路三七五号", "杭州西湖区文三路9号"],
    ...     "lat": [None] * 4, "lon": [None] * 4})
    >>> ops = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4"],
    ...                     "operator_id": ["OP-1", "OP-2", "OP-3", "OP-4"]})
    >>> rec = pd.DataFrame({"shop_id": ["S1", "S2", "S3", "S4"], "signal": [1.0, 1.0, 0.6, 1.0],
    ...     "created_at": pd.to_datetime(["2025-01-01"] * 4), "banned_at": [pd.NaT] * 4,
    ...     "status": ["active"] * 4, "banned": [False] * 4, "fake_buys": [1, 1, 0, 1],
    ...     "genuine_buys": [0] * 4, "counterfeit_disputes": [0, 0, 1, 0],
    ...     "disputes": [0, 0, 1, 0]})
    >>> found = factory_leads(pts, ops, rec).leads
    >>> found[["factory_id", "shops", "operators"]].values.tolist()
    [['F-S1', ['S1', 'S2', 'S3'], 3]]
    """
    rec = record.set_index("shop_id")
    uses = operator_uses(points, operators, rec)
    values = (points.groupby("value", sort=True)[["lat", "lon"]].first().reset_index())
    flagged_values = set(uses.loc[uses["op_signal"] >= FLAGGED, "value"])
    keys = sites(address_keys(values), values["value"].isin(flagged_values).to_numpy(), radius)
    rows = uses.merge(keys, on="value")
    flagged = rows[rows["op_signal"] >= FLAGGED].groupby("site")["operator_id"].nunique()
    rows = rows[rows["site"].isin(flagged.index[flagged >= MIN_OPERATORS])]
    return judged(rows, rec, written if written is not None else points)


def operator_uses(points: pd.DataFrame, operators: pd.DataFrame,
                  rec: pd.DataFrame) -> pd.DataFrame:
    """``points``' shop_id and value with each shop's operator_id, its operator's
    strongest signal (op_signal) and its own (signal); ``rec``: :func:`shop_record`
    indexed by shop_id.

    >>> rec = pd.DataFrame({"signal": [1.0, 0.0]}, index=pd.Index(["S1", "S2"], name="shop_id"))
    >>> ops = pd.DataFrame({"shop_id": ["S1", "S2"], "operator_id": ["OP-1", "OP-1"]})
    >>> pts = pd.DataFrame({"shop_id": ["S2"], "value": ["a"]})
    >>> operator_uses(pts, ops, rec).values.tolist()
    [['S2', 'a', 'OP-1', 1.0, 0.0]]
    """
    owner = operators.set_index("shop_id")["operator_id"]
    op_signal = rec["signal"].groupby(owner.reindex(rec.index).to_numpy()).max()
    uses = points[["shop_id", "value"]].assign(operator_id=points["shop_id"].map(owner))
    uses["op_signal"] = uses["operator_id"].map(op_signal).fillna(0.0).to_numpy()
    uses["signal"] = uses["shop_id"].map(rec["signal"]).fillna(0.0).to_numpy()
    return uses


def judged(rows: pd.DataFrame, rec: pd.DataFrame, written: pd.DataFrame) -> FactoryLeads:
    """The leads and context of the candidate sites' ``rows`` (:func:`operator_uses`
    with the address keys and ``site`` of :func:`graphlink.detection.places.sites`, in
    the points' order; only sites with ``MIN_OPERATORS`` flagged operators or more need
    be there); ``rec``: :func:`shop_record` indexed by shop_id; ``written``: the
    addresses as written, for the evidence."""
    rows = rows.join(rec[["created_at", "banned_at"]], on="shop_id")
    leads, context = [], []
    rows = rows[_promising(rows, rows["site"])]
    for _, site in rows.groupby("site", sort=True):
        _judge(site, "site", leads, context)
    return FactoryLeads(_lead_frame(leads, rec, written),
                        pd.DataFrame(context, columns=CONTEXT_COLUMNS))


def _judge(rows: pd.DataFrame, level: str, leads: list, context: list) -> None:
    """Lead, context (then each building tried), or nothing. An operator counts as
    flagged here by the record of its shops at this place."""
    if level == "site":
        rows = _walkable(rows)
    rows = _mark_successors(rows)
    tenants = rows.loc[~rows["successor"]]
    ops = tenants.groupby("operator_id")["signal"].max()
    flagged = ops[ops >= FLAGGED].index
    chains = _chains(tenants[tenants["operator_id"].isin(flagged)])
    independent = len(set(chains.values()))
    if independent < MIN_OPERATORS:
        return
    honest = float((ops < FLAGGED).mean())
    if level == "site" and _split_by_street(tenants, leads, context):
        return
    if honest <= HONEST_MAX:
        leads.append({"rows": rows, "tenants": tenants, "ops": ops, "independent": independent,
                      "flagged": len(flagged), "honest": honest, "level": level,
                      "chains": chains})
        return
    if level != "building":
        context.append(_context_record(tenants, ops, honest))
        tried = tenants[_promising(tenants, tenants["building"])]
        for _, building in tried.groupby("building", sort=True):
            _judge(building, "building", leads, context)


def _promising(rows: pd.DataFrame, key: pd.Series) -> np.ndarray:
    """The rows of the groups of ``key`` where ``MIN_OPERATORS`` operators or more have a
    flagged shop. Only those are judged: a group with fewer can neither be a lead nor
    hold one (a row with a flagged shop is never a successor, so its independent
    operators are at most these), and a park's many buildings are each a pandas call.

    >>> rows = pd.DataFrame({"operator_id": ["A", "B", "C", "A", "D"],
    ...                      "signal": [1.0, 1.0, 0.6, 1.0, 0.0]})
    >>> _promising(rows, pd.Series(["x", "x", "x", "y", "y"])).tolist()
    [True, True, True, False, False]
    """
    strong = rows["signal"].to_numpy() >= FLAGGED
    count = rows.loc[strong, "operator_id"].groupby(key[strong]).nunique()
    return key.isin(count.index[count >= MIN_OPERATORS]).to_numpy()


def _split_by_street(rows: pd.DataFrame, leads: list, context: list) -> bool:
    """A site whose streets are each a lead on their own is that many places (two
    factories a street apart): judge each street, True. Addresses naming no street
    (coordinates only) go with the street of their nearest located address."""
    street = _streets(rows)
    flagged = rows[rows["signal"] >= FLAGGED].groupby(street)["operator_id"].nunique()
    if (flagged >= MIN_OPERATORS).sum() < 2:
        return False
    tried = _promising(rows, street)
    for _, part in rows[tried].groupby(street[tried], sort=True):
        _judge(part, "street", leads, context)
    return True


def _streets(rows: pd.DataFrame) -> pd.Series:
    """Each row's street; a row without one takes the nearest located row's."""
    street = rows["street"].copy()
    missing = street.isna().to_numpy()
    located = rows["lat"].notna().to_numpy() & ~missing
    if missing.any() and located.any():
        lat, lon = rows["lat"].to_numpy(dtype=float), rows["lon"].to_numpy(dtype=float)
        for i in np.flatnonzero(missing & rows["lat"].notna().to_numpy()):
            far = distance_m(lat[i], lon[i], lat[located], lon[located])
            street.iat[i] = street.to_numpy()[located][int(np.argmin(far))]
    return street.fillna("")


def _walkable(rows: pd.DataFrame, radius: float = RADIUS_M) -> pd.DataFrame:
    """The rows within walking distance: located addresses further than twice the
    radius from the centre of the flagged ones (a chain of addresses along a long
    road, linked through ones without coordinates) are dropped."""
    located = rows["lat"].notna().to_numpy() & rows["lon"].notna().to_numpy()
    core = located & (rows["signal"] >= FLAGGED).to_numpy()
    if not core.any():
        return rows
    lat = float(np.median(rows["lat"].to_numpy(dtype=float)[core]))
    lon = float(np.median(rows["lon"].to_numpy(dtype=float)[core]))
    far = distance_m(lat, lon, rows["lat"].to_numpy(dtype=float), rows["lon"].to_numpy(dtype=float))
    return rows[~(far > 2 * radius)]


def _mark_successors(rows: pd.DataFrame) -> pd.DataFrame:
    """``successor``: a shop without any signal of its own that registered at a
    building after a shop there was banned."""
    first_ban = rows.groupby("building")["banned_at"].min()
    after = rows["created_at"] > rows["building"].map(first_ban)
    return rows.assign(successor=(after & (rows["signal"] < FLAGGED)).to_numpy())


def _chains(rows: pd.DataFrame) -> dict:
    """Operator -> the first operator of its tenancy chain: at one building, an operator
    whose shops there all began after another's were all banned follows it."""
    start = rows.groupby("operator_id")["created_at"].min().to_dict()
    open_ = rows["banned_at"].isna().groupby(rows["operator_id"]).any()
    end = rows.groupby("operator_id")["banned_at"].max().where(~open_).to_dict()
    head = {op: op for op in start}

    def root(op):
        while head[op] != op:
            op = head[op]
        return op

    pairs = rows[["building", "operator_id"]].drop_duplicates()
    for ops in pairs.groupby("building", sort=True)["operator_id"].agg(list):
        ops = sorted(ops, key=lambda o: (start[o], o))
        for op, last in zip(ops, _last_ended(ops, start, end), strict=True):
            if last >= 0:
                head[root(op)] = root(ops[last])
    return {op: root(op) for op in head}


def _last_ended(ops: list, start: dict, end: dict) -> np.ndarray:
    """For each of ``ops``, the position in ``ops`` of the last other operator whose
    ``end`` is before its ``start`` (-1: none; a missing date is before nothing). One
    comparison of all pairs in numpy: a building of thousands of operators is common.

    >>> day = pd.Timestamp
    >>> _last_ended(["a", "b", "c"], {"a": day("2025-01-01"), "b": day("2025-03-01"),
    ...     "c": day("2025-05-01")}, {"a": day("2025-02-01"), "b": day("2025-04-01"),
    ...     "c": pd.NaT}).tolist()
    [-1, 0, 1]
    """
    began = pd.DatetimeIndex([start[o] for o in ops])
    ended = pd.DatetimeIndex([end[o] for o in ops])
    before = ((ended.asi8[None, :] < began.asi8[:, None]) & ended.notna()[None, :]
              & began.notna()[:, None])
    np.fill_diagonal(before, False)
    last = len(ops) - 1 - np.argmax(before[:, ::-1], axis=1)
    return np.where(before.any(axis=1), last, -1)


def _spread(rows: pd.DataFrame) -> tuple[float | None, float | None, float | None]:
    geo = rows.dropna(subset=["lat", "lon"])
    if not len(geo):
        return None, None, None
    lat, lon = float(geo["lat"].median()), float(geo["lon"].median())
    far = distance_m(lat, lon, geo["lat"].to_numpy(dtype=float), geo["lon"].to_numpy(dtype=float))
    return round(lat, 6), round(lon, 6), float(far.max())


def _overlap(tenants: pd.DataFrame, chains: dict) -> float:
    """Share of independent flagged operators active at the same time as another one."""
    spans = tenants[tenants["operator_id"].isin(chains)].assign(
        chain=lambda t: t["operator_id"].map(chains))
    end = spans["banned_at"].fillna(pd.Timestamp.max)
    spans = spans.assign(end=end).groupby("chain").agg(start=("created_at", "min"),
                                                       end=("end", "max"))
    if len(spans) < 2:
        return 0.0
    start, stop = spans["start"].to_numpy(), spans["end"].to_numpy()
    both = (start[:, None] <= stop[None, :]) & (start[None, :] <= stop[:, None])
    np.fill_diagonal(both, False)
    return float(both.any(axis=1).mean())


def _score(lead: dict, spread: float | None, overlap: float) -> dict:
    """Score parts in [0, 1] and their product-like combination.

    evidence: mean counterfeit signal of the tenants (honest ones pull it down);
    operators: 1 - 2^-(independent - 2), three independent operators 0.5, five
    0.875; tightness: 1 - spread / (2 radius) (0.5 without coordinates);
    overlap: share of operators active together. The score is the evidence,
    scaled by the rest: evidence x (0.6 + 0.2 operators + 0.1 tightness + 0.1 overlap).
    """
    evidence = float(lead["ops"].mean())
    operators = 1 - 2.0 ** -(lead["independent"] - 2)
    tight = 0.5 if spread is None else float(np.clip(1 - spread / (2 * RADIUS_M), 0, 1))
    score = evidence * (0.6 + 0.2 * operators + 0.1 * tight + 0.1 * overlap)
    return {"score": round(score, 4), "evidence": round(evidence, 4),
            "operators": round(operators, 4), "tightness": round(tight, 4),
            "overlap": round(overlap, 4)}


def _context_record(tenants: pd.DataFrame, ops: pd.Series, honest: float) -> dict:
    lat, lon, spread = _spread(tenants)
    buildings = tenants["building"].nunique()
    rooms = tenants[["building", "room"]].drop_duplicates()
    flagged = int((ops >= FLAGGED).sum())
    reason = (f"{len(ops)} tenants in {buildings} building(s) and {len(rooms)} room(s), "
              f"{honest:.0%} without any counterfeit signal: a park, warehouse or tower, "
              f"not a factory ({flagged} flagged operator(s) here)")
    return {"place_id": "P-" + str(tenants["shop_id"].min()),
            "anchor_address": tenants["value"].mode().iloc[0], "lat": lat, "lon": lon,
            "radius_m": None if spread is None else round(max(spread, 1.0), 1),
            "tenants": len(ops), "flagged_operators": flagged, "honest_share": round(honest, 4),
            "buildings": int(buildings), "rooms": len(rooms),
            "shops": sorted(tenants["shop_id"].unique()), "reason": reason}


def _lead_frame(leads: list[dict], rec: pd.DataFrame, written: pd.DataFrame) -> pd.DataFrame:
    shops = {s for lead in leads for s in lead["tenants"]["shop_id"]}
    written = written[written["shop_id"].isin(shops)]  # once, not once per lead
    rows = [_lead_row(lead, rec, written) for lead in leads]
    frame = pd.DataFrame(rows, columns=LEAD_COLUMNS)
    frame = frame.drop_duplicates("factory_id")
    return frame.sort_values(["score", "factory_id"], ascending=[False, True], ignore_index=True)


def _lead_row(lead: dict, rec: pd.DataFrame, written: pd.DataFrame) -> dict:
    tenants = lead["tenants"]
    shops = sorted(tenants["shop_id"].unique())
    lat, lon, spread = _spread(tenants)
    overlap = _overlap(tenants, lead["chains"])
    parts = _score(lead, spread, overlap)
    reasons = [f"{lead['independent']} independent operators with counterfeit signals "
               f"({lead['flagged']} flagged of {len(lead['ops'])} at this "
               f"{'building' if lead['level'] == 'building' else 'place'})"]
    if len(lead["ops"]) > LARGE:
        reasons.append(f"{len(lead['ops'])} tenants, {lead['honest']:.0%} without any signal: "
                       "large, but mostly flagged")
    successors = sorted(lead["rows"].loc[lead["rows"]["successor"], "shop_id"].unique())
    if successors:
        reasons.append(f"{len(successors)} shop(s) registered at a building after a ban there, "
                       "without any signal: shown, not counted")
    return {"factory_id": factory_id(shops[0]), "shops": shops, "operators": lead["independent"],
            "flagged_operators": lead["flagged"], "score": parts["score"],
            "anchor_address": tenants["value"].mode().iloc[0], "lat": lat, "lon": lon,
            "radius_m": None if spread is None else round(max(spread, 1.0), 1),
            "tenants": len(lead["ops"]), "honest_share": round(lead["honest"], 4),
            "operator_ids": sorted(lead["ops"].index), "successors": successors,
            "time_overlap": round(overlap, 4), "level": lead["level"], "reasons": reasons,
            "evidence": _evidence(lead, rec, written, (lat, lon), parts)}


def _evidence(lead: dict, rec: pd.DataFrame, written: pd.DataFrame,
              centre: tuple[float | None, float | None], parts: dict) -> dict:
    """Operators (with their shops' bans, test buys and disputes) and addresses as written."""
    tenants = lead["tenants"]
    operators = []
    for op, part in tenants.groupby("operator_id", sort=True):
        ids = sorted(part["shop_id"].unique())
        r = rec.loc[ids]
        operators.append({"operator_id": op, "shops": ids, "signal": float(lead["ops"][op]),
                          "chain": lead["chains"].get(op),
                          "banned_shops": int(r["banned"].sum()),
                          "fake_test_buys": int(r["fake_buys"].sum()),
                          "genuine_test_buys": int(r["genuine_buys"].sum()),
                          "counterfeit_disputes": int(r["counterfeit_disputes"].sum()),
                          "first_seen": day(r["created_at"].min()),
                          "banned_at": day(r["banned_at"].max())})
    where = set(tenants["value"])
    text = "address" if "address" in written else "value"
    shown = written[written["shop_id"].isin(set(tenants["shop_id"]))]
    canonical = shown[text].map(lambda v: getattr(norm.address(v), "canonical", v))
    shown = shown[canonical.isin(where).to_numpy()]
    addresses = []
    for r in shown.drop_duplicates(["shop_id", text]).to_dict("records"):
        far = None
        if centre[0] is not None and pd.notna(r.get("lat")) and pd.notna(r.get("lon")):
            far = round(float(distance_m(centre[0], centre[1], np.array([float(r["lat"])]),
                                         np.array([float(r["lon"])]))[0]), 1)
        addresses.append({"shop_id": r["shop_id"], "address": r[text],
                          "lat": None if pd.isna(r.get("lat")) else float(r["lat"]),
                          "lon": None if pd.isna(r.get("lon")) else float(r["lon"]),
                          "distance_m": far})
    return {"operators": operators, "addresses": addresses, "score_parts": parts}
