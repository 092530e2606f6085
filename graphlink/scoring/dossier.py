"""One shop's evidence in one call: what :meth:`graphlink.Analysis.explain` returns.

A :class:`Dossier` answers the analyst's "why?" about a shop: who runs it
(operator), which wider network it sits in (community), whether it ships
from a factory cluster, which banned shops it is tied to and by what
evidence, the shops it is linked to, and every identifier it uses with how
many shops share each one. The same facts as data (dicts and DataFrames, for
a notebook) and as text (``dossier.text``, for a ticket or an e-mail); the
numbers are those of the reports (same risk as ``graphlink report signups``).

>>> _shorten("x" * 50, 10)
'xxxxxxxxx…'
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from graphlink.core.period import moment
from graphlink.core.safetext import safe_terminal
from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import hubs as typed_hubs
from graphlink.linkage.resolve import MERGE, combined_with
from graphlink.scoring.explain import Explainer, shops_to_explain
from graphlink.scoring.score import WEAK, label, score_signups

__all__ = ["Dossier", "dossier"]

# most shops listed in text and data for one shared identifier
SHARED_LIST = 20
# linked shops and identifiers shown in the text form (the data has them all)
TEXT_LINKS = 10


@dataclass
class Dossier:
    """The evidence around one shop; see :meth:`graphlink.Analysis.explain`.

    Attributes
    ----------
    shop : dict
        shop_id, name, status, created_at, banned_at, category.
    operator : dict
        operator_id, shops (ids), banned (ids of banned shops among them).
    community : dict
        community_id, shops (count), operators (count), banned (ids).
    factory : dict or None
        factory_id, anchor_address, lat, lon, radius_m, score, shops (ids).
    risk, flag : float, str
        The shop's risk of being a banned operator come back, as in the
        sign-up report (computed whatever the shop's creation date).
    banned_ties : list of dict
        The banned shops it is tied to, best first: banned_shop_id, score,
        hops, path, evidence (items with ``kind`` and ``detail``), as in the
        sign-up report's ``matches``.
    links : DataFrame
        Every shop it has pair evidence with: shop_id, name, status,
        operator_id, p, kinds, same_operator, evidence (detail texts).
    identifiers : DataFrame
        Every identifier it uses: kind, value, display (masked), account_id,
        first_seen, last_seen, shops (how many shops use it), hub (hub type
        or None), shared_with (other shop ids, at most 20).
    """

    shop: dict
    operator: dict
    community: dict
    factory: dict | None
    risk: float
    flag: str
    banned_ties: list[dict]
    links: pd.DataFrame
    identifiers: pd.DataFrame

    @property
    def shop_id(self) -> str:
        return self.shop["shop_id"]

    @property
    def text(self) -> str:
        """The dossier as readable text (terminal-safe)."""
        return safe_terminal("\n".join(_text_lines(self))) + "\n"

    def to_dict(self) -> dict:
        """JSON-ready form (dates as ISO text, frames as lists of records)."""
        links = self.links.to_dict("records")
        idents = [{**r, "first_seen": moment(r["first_seen"]), "last_seen": moment(r["last_seen"])}
                  for r in self.identifiers.to_dict("records")]
        return {"shop": self.shop, "operator": self.operator, "community": self.community,
                "factory": self.factory, "risk": self.risk, "flag": self.flag,
                "banned_ties": self.banned_ties, "links": links, "identifiers": idents}

    def __str__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython / Jupyter display
        printer.text(self.text)


def dossier(analysis, shop_id: str, explainer=None) -> Dossier:
    """Gather the evidence around ``shop_id`` from ``analysis`` (see :class:`Dossier`);
    ``explainer`` words the evidence (default: ``analysis.explainer`` when it is already
    built, else one of only the rows around the shop, :func:`evidence_for`; a case
    file's also cites the source rows, :mod:`graphlink.scoring.casefile`)."""
    row = _shop_row(analysis, shop_id)
    if explainer is None:
        explainer = (analysis.explainer if "explainer" in vars(analysis)
                     else Explainer(*evidence_for(analysis, shop_id)))
    clusters = analysis.shops.set_index("shop_id")
    operator_id, community_id = clusters.at[shop_id, "operator_id"], clusters.at[shop_id,
                                                                                  "community_id"]
    banned = set(analysis.dataset.banned_shop_ids())
    members = sorted(clusters.index[clusters["operator_id"] == operator_id])
    community = clusters[clusters["community_id"] == community_id]
    risk, flag, ties = _ties(analysis, shop_id, explainer)
    return Dossier(
        shop={"shop_id": shop_id, "name": row["name"], "status": row["status"],
              "created_at": moment(row["created_at"]), "banned_at": moment(row["banned_at"]),
              "category": row.get("category")},
        operator={"operator_id": operator_id, "shops": members,
                  "banned": [s for s in members if s in banned]},
        community={"community_id": community_id, "shops": len(community),
                   "operators": int(community["operator_id"].nunique()),
                   "banned": sorted(s for s in community.index if s in banned)},
        factory=_factory(analysis, shop_id),
        risk=risk, flag=flag, banned_ties=ties,
        links=_links(analysis, shop_id, clusters, explainer),
        identifiers=_identifiers(analysis, shop_id),
    )


def _shop_row(analysis, shop_id: str) -> pd.Series:
    """The shop's row of the dataset; a clear error for a shop the dataset lacks."""
    from graphlink.core.errors import ConfigError

    shops = analysis.dataset.shops
    row = shops[shops["shop_id"] == shop_id]
    if not len(row):
        raise ConfigError(f"no shop {shop_id!r} in {analysis.dataset.source or 'the dataset'}")
    return row.iloc[0]


def _ties(analysis, shop_id: str, explainer) -> tuple[float, str, list[dict]]:
    """Score the shop as a sign-up against every banned shop (the report's scoring)."""
    records = _scored(analysis, shop_id, explainer.path)
    record = next(r for r in records if r["shop_id"] == shop_id)
    ties = [{k: m[k] for k in ("banned_shop_id", "score", "hops", "path", "evidence")}
            for m in record["matches"]]
    return record["risk"], record["flag"], ties


def _scored(analysis, shop_id: str, explain) -> list[dict]:
    """The shop scored as a sign-up against every banned shop (the report's scoring);
    ``explain``: as :func:`graphlink.scoring.score.score_signups` takes it."""
    shops = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]].merge(
        analysis.shops, on="shop_id")
    mine = shops[shops["shop_id"] == shop_id]
    scored = pd.concat([mine, shops[(shops["status"] == "banned") & (shops["shop_id"] != shop_id)]])
    return score_signups(scored, _path_pairs(analysis), mine["created_at"].iloc[0], explain)


def _path_pairs(analysis) -> pd.DataFrame:
    """The pairs a path to a banned shop may use (the sign-up report's: ``WEAK``)."""
    return analysis.rows("pairs", ["shop_a", "shop_b", "p"], [("p", ">=", WEAK)],
                         linked=True)


def _pairs_of(analysis, shop_id: str) -> pd.DataFrame:
    """Every candidate pair of ``shop_id``, in the pair table's order."""
    return analysis.rows("pairs", None, [[("shop_a", "==", shop_id)],
                                         [("shop_b", "==", shop_id)]])


def evidence_for(analysis, shop_id: str
                 ) -> tuple[pd.DataFrame, Identifiers, dict[tuple[str, str], list[str]]]:
    """The evidence rows, identifiers and combined pairs that word the dossier of
    ``shop_id``: the pairs among the shops on its paths to banned shops and its linked
    shops (a saved analysis reads only these rows, not the whole marketplace's)."""
    _shop_row(analysis, shop_id)  # a clear error for an unknown shop
    records = _scored(analysis, shop_id, None)
    try:
        combined = combined_with(analysis.rows("pairs", ["shop_a", "shop_b", "via"],
                                               [("via", "!=", "")], linked=True))
    except KeyError:  # pairs resolved without operators: none combined
        combined = {}
    pairs = _pairs_of(analysis, shop_id)
    near = shops_to_explain(records, combined) | {shop_id} | set(pairs["shop_a"]) | set(
        pairs["shop_b"])
    evidence = analysis.rows("evidence", None, [[("shop_a", "in", near), ("shop_b", "in", near)]])
    values = set(evidence["value_a"]) | set(evidence["value_b"])
    ids = Identifiers(analysis.rows("uses", None, [("shop_id", "in", near)]),
                      analysis.rows("values", None, [("value", "in", values)]))
    return evidence, ids, combined


def _factory(analysis, shop_id: str) -> dict | None:
    factory_id = analysis.factory_of().get(shop_id)
    if not isinstance(factory_id, str):
        return None
    found = analysis.factories().set_index("factory_id").loc[factory_id]
    return {"factory_id": factory_id, "anchor_address": found["anchor_address"],
            "lat": _num(found["lat"]), "lon": _num(found["lon"]),
            "radius_m": _num(found["radius_m"]), "score": round(float(found["score"]), 4),
            "shops": list(found["shops"]), "banned_shops": int(found["banned_shops"])}


def _links(analysis, shop_id: str, clusters: pd.DataFrame, explainer) -> pd.DataFrame:
    mine = _pairs_of(analysis, shop_id)
    other = mine["shop_b"].where(mine["shop_a"] == shop_id, mine["shop_a"])
    names = analysis.dataset.shops.set_index("shop_id")
    frame = pd.DataFrame({
        "shop_id": other.to_numpy(),
        "name": names.loc[other, "name"].to_numpy(),
        "status": names.loc[other, "status"].to_numpy(),
        "operator_id": clusters.loc[other, "operator_id"].to_numpy(),
        "p": mine["p"].round(4).to_numpy(),
        "kinds": mine["kinds"].to_numpy(),
    })
    frame["same_operator"] = frame["operator_id"] == clusters.at[shop_id, "operator_id"]
    frame["merged"] = frame["p"] >= MERGE
    frame["evidence"] = [[e["detail"] for e in explainer.pair(shop_id, o)]
                         for o in frame["shop_id"]]
    return frame.sort_values(["p", "shop_id"], ascending=[False, True], ignore_index=True)


def _identifiers(analysis, shop_id: str) -> pd.DataFrame:
    mine = analysis.rows("uses", None, [("shop_id", "==", shop_id)])
    shown = set(mine["value"])
    found = analysis.rows("values", None, [("value", "in", shown)])
    values = found.set_index(["kind", "value"])
    keys = list(zip(mine["kind"], mine["value"], strict=True))
    # values shared by many shops only: the place and name groupings of
    # Analysis.hubs() (seconds at 30,000 shops) are not shown per identifier; a value's
    # hub type depends on its own row alone, so the shop's values are enough
    hubs = typed_hubs(Identifiers(mine.iloc[:0], found))
    hub_type = {(k, v): t for k, v, t, s in zip(hubs["kind"], hubs["key"], hubs["type"],
                                                hubs["scope"], strict=True) if s == "value"}
    users = analysis.rows("uses", ["kind", "value", "shop_id"], [("value", "in", shown)])
    users = users[users.set_index(["kind", "value"]).index.isin(keys)]
    others = (users[users["shop_id"] != shop_id].groupby(["kind", "value"])["shop_id"]
              .agg(lambda s: sorted(set(s))[:SHARED_LIST]))
    frame = pd.DataFrame({
        "kind": mine["kind"].to_numpy(),
        "value": mine["value"].to_numpy(),
        "display": [values.at[k, "display"] for k in keys],
        "account_id": mine["account_id"].to_numpy(),
        "first_seen": mine["first_seen"].to_numpy(),
        "last_seen": mine["last_seen"].to_numpy(),
        "shops": [int(values.at[k, "shops"]) for k in keys],
        "hub": [hub_type.get(k) for k in keys],
        "shared_with": [others.get(k, []) for k in keys],
    })
    return frame.sort_values(["shops", "kind", "value"], ascending=[False, True, True],
                             ignore_index=True)


def _text_lines(d: Dossier) -> list[str]:
    s = d.shop
    status = s["status"] + (f" {s['banned_at'][:10]}" if s["banned_at"] else "")
    lines = [f"Shop {s['shop_id']} {s['name']} ({status}, created {(s['created_at'] or '?')[:10]})"]
    op = d.operator
    others = [x for x in op["shops"] if x != s["shop_id"]]
    lines.append(f"Operator {op['operator_id']}: {len(op['shops'])} shop(s)"
                 + (f", with {_list(others)}" if others else ", runs only this shop")
                 + (f"; banned: {_list(op['banned'])}" if op["banned"] else ""))
    c = d.community
    lines.append(f"Community {c['community_id']}: {c['shops']} shop(s) of {c['operators']} "
                 f"operator(s)" + (f"; banned: {_list(c['banned'])}" if c["banned"] else ""))
    f = d.factory
    lines.append("Factory cluster: none" if f is None else
                 f"Factory cluster {f['factory_id']}: {len(f['shops'])} shops near "
                 f"{f['anchor_address']} (score {f['score']:.2f}, {f['banned_shops']} banned)")
    lines.append("")
    if d.banned_ties:
        lines.append(f"Sign-up risk {d.risk:.2f} ({d.flag}): tied to "
                     f"{len(d.banned_ties)} banned shop(s)")
        for tie in d.banned_ties:
            how = "directly" if tie["hops"] == 1 else "via " + " -> ".join(tie["path"][1:-1])
            lines.append(f"  {tie['banned_shop_id']}  score {tie['score']:.2f}, {how}")
            lines += [f"    - {e['detail']}" for e in tie["evidence"]]
    elif d.risk > 0:
        lines.append(f"Sign-up risk {d.risk:.3f} ({d.flag}): a weak tie to a banned shop only "
                     "(below the low flag; one signal that is likely chance)")
    else:
        lines.append("Sign-up risk 0.00 (none): no path to a banned shop")
    lines.append("")
    links = d.links
    lines.append(f"Linked shops: {len(links)}" + (f" (top {TEXT_LINKS} by p)" if len(links) >
                                                   TEXT_LINKS else ""))
    for r in links.head(TEXT_LINKS).itertuples(index=False):
        tag = ", same operator" if r.same_operator else ""
        lines.append(f"  {r.shop_id} {_shorten(str(r.name), 24)} [{r.status}{tag}]  "
                     f"p {r.p:.2f}  {r.kinds}")
    lines.append("")
    lines.append(f"Identifiers: {len(d.identifiers)}")
    for r in d.identifiers.itertuples(index=False):
        if r.hub:
            who = f"hub: {r.hub}, {r.shops} shops (context, not evidence)"
        elif r.shops > 1:
            unlisted = r.shops - 1 - len(r.shared_with)
            more = f" +{unlisted}" if unlisted > 0 else ""
            who = f"shared by {r.shops} shops: {_list(r.shared_with)}{more}"
        else:
            who = "only this shop"
        lines.append(f"  {label(r.kind):<17} {_shorten(str(r.display), 40):<40}  {who}")
    return lines


def _list(ids: list[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
