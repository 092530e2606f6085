"""What an HTML page and its figures need, computed once from the analysis.

The report builders (:mod:`graphlink.api`) call these functions; renderers
(:mod:`graphlink.reports.html`, :mod:`graphlink.reports.plot`) take the result and never reach
back into the analysis. A :class:`Page` rides on a
:class:`graphlink.reports.report.Report` beside its JSON payload (never part of it):

- ``names``: shop id -> (name, status), for the shops a page mentions;
- ``evidence``: shop id -> :class:`EvidenceGraph`, the evidence around each
  flagged sign-up that gets a figure (:func:`figured_signups`);
- ``places``: factory id -> :class:`FactoryPlace`, the addresses of each lead
  that gets a map;
- ``clusters``: one row per shop (operator, community, banned) for the sizes chart.

Only what is drawn is computed: at most :data:`MAX_FIGURES` evidence graphs and
maps per page, each from the rows of its own shops.

>>> figured_signups([{"shop_id": "S1", "flag": "high", "matches": []},
...                  {"shop_id": "S2", "flag": "low", "matches": []},
...                  {"shop_id": "S3", "flag": "medium", "matches": [{"waterfall": [{}]}]},
...                  {"shop_id": "S4", "flag": "medium", "matches": [{}]}], evidence=True)
['S1', 'S3']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graphlink.core.period import day
from graphlink.core.safetext import short
from graphlink.scoring.analysis import M_PER_DEGREE, map_frame

__all__ = ["Page", "EvidenceGraph", "FactoryPlace", "GraphNode", "MAX_FIGURES",
           "figured_signups", "signups_page", "factories_page", "clusters_page",
           "evidence_graph", "evidence_graphs", "factory_place", "cluster_table", "shop_names"]

#: most evidence figures / factory maps drawn in one report
MAX_FIGURES = 20


@dataclass
class GraphNode:
    """A node of an evidence graph: a shop, an account or an identifier value."""

    key: str
    kind: str  # shop, banned, account or an identifier kind
    text: str
    column: int
    order: float = 0.0
    y: float = 0.0


@dataclass
class EvidenceGraph:
    """The evidence around one shop, ready to draw
    (:func:`graphlink.reports.plot.draw_evidence`)."""

    shop_id: str
    name: str
    risk: float
    flag: str
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # a, b, style, label
    omitted_identifiers: int = 0
    omitted_shops: int = 0

    def node(self, key: str, kind: str, text: str, column: int, order: float = 0.0) -> None:
        if key not in self.nodes:
            self.nodes[key] = GraphNode(key, kind, text, column, order)


@dataclass
class FactoryPlace:
    """A factory lead's addresses around its anchor
    (:func:`graphlink.reports.plot.draw_factory_map`).

    ``inside``, ``later`` and ``outside`` have shop_id, lat, lon and status:
    the lead's shops, the successors registered after a ban there, and the
    other shops' addresses within the map.
    """

    factory_id: str
    lat: float
    lon: float
    radius: float
    span: float
    shops: int
    operators: int
    banned_shops: int
    score: float
    anchor_address: str
    inside: pd.DataFrame
    later: pd.DataFrame
    outside: pd.DataFrame
    elsewhere: int
    unplaced: list[str]


@dataclass
class Page:
    """The data of a report's HTML page beyond its payload (see the module doc)."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    evidence: dict[str, EvidenceGraph] = field(default_factory=dict)
    places: dict[str, FactoryPlace] = field(default_factory=dict)
    clusters: pd.DataFrame | None = None


# --- which items get a figure (shared by builder and renderer) ----------------------


def figured_signups(signups: list[dict], evidence: bool) -> list[str]:
    """Shop ids of the flagged sign-ups that get a figure, in report order, at most
    :data:`MAX_FIGURES`: a high flag (when ``evidence`` graphs are drawn) or a best
    match with a waterfall."""
    chosen = []
    for s in signups:
        if s["flag"] not in ("high", "medium"):
            continue
        best = s["matches"][0] if s["matches"] else None
        if (evidence and s["flag"] == "high") or (best and best.get("waterfall")):
            chosen.append(s["shop_id"])
            if len(chosen) == MAX_FIGURES:
                break
    return chosen


def mapped_factories(factories: list[dict]) -> list[str]:
    """Factory ids of the leads that get a map: those with a place among the first
    :data:`MAX_FIGURES`."""
    return [f["factory_id"] for f in factories[:MAX_FIGURES] if f.get("lat") is not None]


# --- builders: analysis in, page data out ---------------------------------------------


def shop_names(analysis: Any, mentioned: set[str] | None = None
               ) -> dict[str, tuple[str, str]]:
    """shop id -> (name, status) of the ``mentioned`` shops of the analysis (None: of
    every shop; a page names a few hundred of a marketplace's shops)."""
    shops = analysis.dataset.shops
    if mentioned is not None:
        shops = shops[shops["shop_id"].isin(mentioned)]
    return {s: (n, st) for s, n, st in zip(shops["shop_id"], shops["name"], shops["status"],
                                           strict=True)}


def signups_page(analysis: Any, signups: list[dict]) -> Page:
    """Names and the evidence graphs of the figured high-flag sign-ups of ``signups``
    (the report's records, with the paths of their matches)."""
    high = {s["shop_id"]: s for s in signups if s["flag"] == "high"}
    chosen = [high[s] for s in figured_signups(signups, evidence=True) if s in high]
    # the page names its flagged sign-ups and the banned shops they are tied to
    flagged = [s for s in signups if s["flag"] in ("high", "medium")]
    mentioned = {s["shop_id"] for s in flagged} | {
        m["banned_shop_id"] for s in flagged for m in s["matches"]}
    return Page(names=shop_names(analysis, mentioned),
                evidence=evidence_graphs(analysis, chosen))


def factories_page(analysis: Any, factories: list[dict], leads: pd.DataFrame | None = None
                   ) -> Page:
    """Names and the map data of the mapped leads of ``factories`` (the report's records);
    ``leads``: :meth:`graphlink.Analysis.factories` when the caller has it."""
    mapped = mapped_factories(factories)
    named = {s for f in factories for s in f["shops"]}  # the page names the shops of every lead
    places, points = {}, None
    if mapped:
        found = (analysis.factories() if leads is None else leads).set_index("factory_id")
        points = analysis.map_points([found.loc[f] for f in mapped])
    shops = analysis.dataset.shops
    # one pass over the shops for the names and the mapped points' status
    shops = shops[shops["shop_id"].isin(named if points is None
                                        else named | set(points["shop_id"]))]
    if mapped:
        status = shops.set_index("shop_id")["status"]  # each map looks its points up in it
        placed = points["shop_id"].value_counts().to_dict()
        places = {f: factory_place(found.loc[f], f, points, status, placed=placed)
                  for f in mapped}
    names = {s: (n, st) for s, n, st in zip(shops["shop_id"], shops["name"], shops["status"],
                                           strict=True) if s in named}
    return Page(names=names, places=places)


def clusters_page(analysis: Any, shops: pd.DataFrame | None = None) -> Page:
    """The per-shop table of the operator and community sizes chart (``shops``: as
    :func:`cluster_table` takes it)."""
    return Page(clusters=cluster_table(analysis, shops))


def cluster_table(analysis: Any, shops: pd.DataFrame | None = None) -> pd.DataFrame:
    """shop_id, operator_id, community_id and banned (bool), one row per shop.
    ``shops``: :meth:`graphlink.Analysis.clusters` when the caller has it (a copy it
    gives up: ``banned`` is added to it)."""
    shops = analysis.clusters() if shops is None else shops
    shops["banned"] = shops["shop_id"].isin(set(analysis.dataset.banned_shop_ids()))
    return shops


# --- evidence graphs ---------------------------------------------------------------


class _Tables:
    """The rows of the analysis's tables that the evidence graphs of ``signups`` read:
    one pass over each table for all graphs (each graph then filters a few hundred
    rows, not the whole marketplace's), in the tables' own order."""

    def __init__(self, analysis: Any, signups: list[dict]):
        drawn = {s["shop_id"] for s in signups}
        on_paths = {shop for s in signups for m in s["matches"] for shop in m["path"]}
        # only these rows are read (from a state's page index or files: Analysis.page_rows)
        rows = analysis.page_rows(drawn, on_paths)
        pairs = rows["pairs"]
        self.pairs = pairs[pairs["shop_a"].isin(drawn) | pairs["shop_b"].isin(drawn)]
        hops = pairs[pairs["shop_a"].isin(on_paths) & pairs["shop_b"].isin(on_paths)]
        self.pair_info = {(a, b): (p, k) for a, b, p, k in
                          zip(hops["shop_a"], hops["shop_b"], hops["p"], hops["kinds"],
                              strict=True)}
        self.evidence = rows["evidence"]
        near = drawn | on_paths | set(self.pairs["shop_a"]) | set(self.pairs["shop_b"])
        self.uses = rows["uses"]
        # datetime64 values, not Timestamps: day() writes either the same
        self.seen = dict(zip(zip(self.uses["shop_id"], self.uses["kind"], self.uses["value"],
                                 strict=True), self.uses["first_seen"].to_numpy(), strict=True))
        shops = analysis.dataset.shops
        shops = shops[shops["shop_id"].isin(near)]
        self.shops = {s: (n, st, b) for s, n, st, b in zip(
            shops["shop_id"], shops["name"], shops["status"], shops["banned_at"], strict=True)}
        # the values a graph names: the drawn shops' own, and those of their evidence
        mine = self.uses[self.uses["shop_id"].isin(drawn)]
        values = rows["values"]
        keys = list(zip(values["kind"], values["value"], strict=True))
        self.display = dict(zip(keys, values["display"], strict=True))
        self.n_shops = dict(zip(keys, values["shops"], strict=True))
        self._by_shop(drawn, rows["accounts"], mine)

    def _by_shop(self, drawn: set[str], accounts: pd.DataFrame, mine: pd.DataFrame) -> None:
        """Each drawn shop's rows, in the tables' order (a graph reads only its own):
        its accounts, linked shops with the pair's p, evidence rows and uses."""
        self.accounts: dict[str, list] = {}
        for shop, account in zip(accounts["shop_id"], accounts["account_id"], strict=True):
            self.accounts.setdefault(shop, []).append(account)
        self.partners: dict[str, dict[str, float]] = {}  # shop -> linked shop -> p
        for a, b, p in zip(self.pairs["shop_a"], self.pairs["shop_b"], self.pairs["p"],
                           strict=True):
            if a in drawn:
                self.partners.setdefault(a, {})[b] = p
            if b in drawn:
                self.partners.setdefault(b, {})[a] = p
        self.evidence_of: dict[str, list] = {}
        for row in self.evidence.itertuples(index=False):
            for shop in {row.shop_a, row.shop_b} & drawn:
                self.evidence_of.setdefault(shop, []).append(row)
        self.uses_of: dict[str, list[tuple]] = {}
        for shop, kind, value, account in zip(mine["shop_id"], mine["kind"], mine["value"],
                                              mine["account_id"], strict=True):
            self.uses_of.setdefault(shop, []).append((kind, value, account))

    def shop_text(self, shop: str, width: int = 26) -> tuple[str, str]:
        name, status, banned_at = self.shops[shop]
        banned = status == "banned"
        text = f"{shop} {short(name, width - len(shop) - 1)}"
        if banned:
            text += f"\nbanned {day(banned_at) or ''}"
        return ("banned" if banned else "shop"), text

    def first_seen(self, shop: str, kind: str, value: str) -> str | None:
        """The day ``shop`` was first seen with the value (None: not one of its values)."""
        key = (shop, kind, value)
        return (day(self.seen[key]) or "") if key in self.seen else None


def _evidence_label(row, mine_first: bool, tables: _Tables) -> str:
    """``same · date first seen on the other shop``, or ``87% ~ other value`` (masked)."""
    other = row.value_b if mine_first else row.value_a
    other_shop = row.shop_b if mine_first else row.shop_a
    if row.method == "exact":
        first = tables.first_seen(other_shop, row.kind, other)
        return "same" + (f" · {first}" if first else "")
    shown = tables.display.get((row.kind, other), other)
    return f"{round(100 * row.score)}% ~ {short(shown, 16, tail=row.kind == 'address')}"


def evidence_graphs(analysis: Any, signups: list[dict], *, max_identifiers: int = 14,
                    max_shops: int = 8) -> dict[str, EvidenceGraph]:
    """The evidence graph of each sign-up record (shop id -> graph), reading the
    analysis's tables once; the paths to banned shops are the records' matches'."""
    if not signups:
        return {}
    tables = _Tables(analysis, signups)
    return {s["shop_id"]: _graph(tables, s["shop_id"], s["risk"], s["flag"],
                                 [m["path"] for m in s["matches"]], max_identifiers, max_shops)
            for s in signups}


def evidence_graph(analysis: Any, shop_id: str, *, max_identifiers: int = 14,
                   max_shops: int = 8) -> EvidenceGraph:
    """The evidence graph of any shop: it is scored as a sign-up against every banned
    shop (:meth:`graphlink.Analysis.explain`) for the paths, risk and flag."""
    dossier = analysis.explain(shop_id)
    record = {"shop_id": shop_id, "risk": dossier.risk, "flag": dossier.flag,
              "matches": dossier.banned_ties}
    return evidence_graphs(analysis, [record], max_identifiers=max_identifiers,
                           max_shops=max_shops)[shop_id]


def _linked(tables: _Tables, shop_id: str, paths: list[list[str]],
            max_shops: int) -> tuple[list[str], int]:
    """The linked shops drawn: the first hop of every path to a banned shop, then the
    strongest pairs; and how many were left out."""
    p_of = tables.partners.get(shop_id, {})
    first_hops = list(dict.fromkeys(p[1] for p in paths))
    ranked = first_hops + sorted((s for s in p_of if s not in first_hops),
                                 key=lambda s: (-p_of[s], s))
    linked = ranked[:max(max_shops, len(first_hops))]
    return linked, len(ranked) - len(linked)


def _graph(tables: _Tables, shop_id: str, risk: float, flag: str, paths: list[list[str]],
           max_identifiers: int, max_shops: int) -> EvidenceGraph:
    """Nodes and edges around ``shop_id``: the shop, its accounts, its identifiers
    (evidence first), the linked shops, the further hops of ``paths``."""
    name = tables.shops[shop_id][0]
    graph = EvidenceGraph(shop_id, name, risk, flag)
    linked, graph.omitted_shops = _linked(tables, shop_id, paths, max_shops)
    kind, text = tables.shop_text(shop_id, 30)
    graph.node(f"shop:{shop_id}", kind, text, 0)
    accounts = sorted(tables.accounts.get(shop_id, []))
    for i, account in enumerate(accounts):
        graph.node(f"account:{account}", "account", f"account {account}", 1, i)
        graph.edges.append((f"shop:{shop_id}", f"account:{account}", "operates", ""))
    drawn = set(linked)
    ev = [row for row in tables.evidence_of.get(shop_id, [])
          if row.shop_a in drawn or row.shop_b in drawn]
    _identifiers(tables, graph, ev, accounts, max_identifiers)
    for rank, s in enumerate(linked):
        kind, text = tables.shop_text(s)
        graph.node(f"shop:{s}", kind, text, 3, rank)
    _evidence_edges(tables, graph, ev)
    _path_hops(tables, graph, paths)
    return graph


def _identifiers(tables: _Tables, graph: EvidenceGraph, ev: list, accounts: list[str],
                 max_identifiers: int) -> None:
    """The shop's identifier nodes: those carrying evidence to a drawn linked shop
    first, then the most shared; each tied to the account that uses it. ``ev``: the
    evidence rows between the shop and the drawn linked shops."""
    shop_id = graph.shop_id
    uses = tables.uses_of.get(shop_id, [])
    evidential = list(dict.fromkeys(
        (row.kind, row.value_a if row.shop_a == shop_id else row.value_b) for row in ev))
    everything = list(dict.fromkeys((k, v) for k, v, _ in uses))
    n_shops = tables.n_shops
    rest = sorted((k for k in everything if k not in evidential),
                  key=lambda k: (-int(n_shops.get(k, 1)), k))
    chosen = (evidential + rest)[:max(max_identifiers, len(evidential))]
    graph.omitted_identifiers = len(everything) - len([k for k in chosen if k in everything])
    owner = {(k, v): a for k, v, a in uses}
    owner_rank = {a: i for i, a in enumerate(accounts)}
    from graphlink.scoring.score import label

    for k, v in chosen:
        count = int(n_shops.get((k, v), 1))
        text = f"{label(k)} {short(tables.display.get((k, v), v), 24, tail=k == 'address')}"
        if count > 1:
            text += f"\n{count} shops"
        account = owner.get((k, v))
        graph.node(f"{k}:{v}", k, text, 2, owner_rank.get(account, len(accounts)))
        src = f"account:{account}" if isinstance(account, str) else f"shop:{shop_id}"
        graph.edges.append((src, f"{k}:{v}", "uses", ""))


def _evidence_edges(tables: _Tables, graph: EvidenceGraph, ev: list) -> None:
    """An edge from each of the shop's values to the linked shop it matches."""
    shop_id = graph.shop_id
    for row in ev:
        first = row.shop_a == shop_id
        mine = row.value_a if first else row.value_b
        other = row.shop_b if first else row.shop_a
        style = "exact" if row.method == "exact" else "fuzzy"
        graph.edges.append((f"{row.kind}:{mine}", f"shop:{other}", style,
                            _evidence_label(row, first, tables)))


def _path_hops(tables: _Tables, graph: EvidenceGraph, paths: list[list[str]]) -> None:
    """The further hops of the paths to banned shops, each with its pair's p and kinds."""
    for path in paths:
        for hop, (u, v) in enumerate(zip(path[1:], path[2:], strict=False), start=4):
            kind, text = tables.shop_text(v)
            graph.node(f"shop:{v}", kind, text, hop)
            p, kinds = tables.pair_info[tuple(sorted((u, v)))]
            edge = (f"shop:{u}", f"shop:{v}", "path", f"p {p:.2f}\n{kinds.replace(',', ', ')}")
            if edge not in graph.edges:
                graph.edges.append(edge)


# --- factory maps --------------------------------------------------------------------



def factory_place(lead: pd.Series, factory_id: str, points: pd.DataFrame, status: pd.Series,
                  context: float = 1.8, *, placed: dict[str, int] | None = None
                  ) -> FactoryPlace:
    """The addresses around one lead (a row of :meth:`graphlink.Analysis.factories`):
    ``points`` are the placed (shop, address) rows of every shop, ``status`` each
    shop's status; the map spans ``context`` radii (at least 150 m) around the anchor.
    ``placed``: how many rows of ``points`` each shop has, when the caller draws several
    maps (computed here otherwise)."""
    if placed is None:
        placed = points["shop_id"].value_counts().to_dict()
    lat0, lon0, span = map_frame(lead, context)
    radius = float(lead["radius_m"]) if pd.notna(lead["radius_m"]) else 300.0
    # on the columns' arrays (the same operations in the same order as on the Series)
    dy = (points["lat"].to_numpy() - lat0) * M_PER_DEGREE
    dx = (points["lon"].to_numpy() - lon0) * M_PER_DEGREE * math.cos(math.radians(lat0))
    near = points.loc[(np.abs(dx) <= span) & (np.abs(dy) <= span), ["shop_id", "lat", "lon"]]
    near = near.assign(status=near["shop_id"].map(status))
    members = set(lead["shops"])
    successors = set(lead["successors"]) if "successors" in lead else set()
    # a few hundred points: a set look-up each (isin's hashing costs more than its work)
    shops = near["shop_id"].tolist()
    member = np.array([s in members for s in shops], dtype=bool)
    later = np.array([s in successors for s in shops], dtype=bool)
    inside = near[member]
    return FactoryPlace(
        factory_id=factory_id, lat=lat0, lon=lon0, radius=radius, span=span,
        shops=len(members), operators=int(lead["operators"]),
        banned_shops=int(lead["banned_shops"]), score=float(lead["score"]),
        anchor_address=lead["anchor_address"], inside=inside, later=near[later],
        outside=near[~(member | later)],
        elsewhere=sum(placed.get(s, 0) for s in members) - len(inside),
        unplaced=sorted(members - placed.keys()))
