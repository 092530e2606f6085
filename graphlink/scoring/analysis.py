"""The Analysis: everything one analysis of a dataset found, as DataFrames and records.

:class:`Analysis` is what :func:`graphlink.analyse` returns and the notebooks
read: the dataset, its identifiers, links, evidence, the resolved operators and
the clusters, with the questions a report asks (sign-ups since a date, factory
leads, spot checks, one shop's dossier, the identity graph). It sits below
``state`` so that a state can rebuild one from a saved run
(:func:`graphlink.state.saved.read_analysis`); :func:`with_waterfalls` adds the
match weight, step by step, to each direct match of sign-up records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.frames import KeyIndex, select
from graphlink.core.period import resolve_since
from graphlink.detection.factories import FactoryLeads, factory_leads, shop_record
from graphlink.linkage.graph import build_graph
from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import Links, hubs
from graphlink.linkage.model import MatchModel, waterfalls
from graphlink.linkage.resolve import Resolution, combined_with, evidence_chain
from graphlink.scoring.dossier import Dossier, dossier
from graphlink.scoring.explain import Explainer, explained, shops_to_explain
from graphlink.scoring.reviewed import reviewed
from graphlink.scoring.score import WEAK, add_evidence, nearest_banned, score_signups
from graphlink.scoring.spotchecks import sections as spotcheck_sections

__all__ = ["Analysis", "with_waterfalls", "EVIDENCE_DRAWN", "seen_uses", "map_frame",
           "M_PER_DEGREE"]

#: the evidence columns an evidence graph reads (:meth:`Analysis.page_rows`)
EVIDENCE_DRAWN = ("shop_a", "shop_b", "kind", "value_a", "value_b", "score", "method")


@dataclass
class Analysis:
    """Everything one analysis of a dataset found; see :func:`analyse`."""

    dataset: Dataset
    identifiers: Identifiers
    links: Links
    evidence: pd.DataFrame
    resolution: Resolution
    shops: pd.DataFrame  # shop_id, operator_id, community_id
    model: MatchModel | None = None
    # where it was read from: {"state": folder, "run": "R0003"} (see open_state); empty
    # for a fresh analysis
    origin: dict = field(default_factory=dict, repr=False, compare=False)
    # the analysts' verdicts in force (graphlink.state.review.apply_verdicts); None: none
    verdicts: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def clusters(self) -> pd.DataFrame:
        """One row per shop: shop_id, operator_id, community_id."""
        return self.shops[["shop_id", "operator_id", "community_id"]].copy()

    def shop_labels(self) -> tuple[pd.Series, pd.Series]:
        """Each shop's entity (:func:`graphlink.linkage.link.entity_labels`: the shops an
        entity lists) and the identifier kinds it carries
        (:func:`graphlink.linkage.model.shop_kinds`), both indexed by shop_id: what a
        saved state keeps per shop."""
        from graphlink.linkage.link import entity_labels
        from graphlink.linkage.model import shop_kinds

        return entity_labels(self.identifiers), shop_kinds(self.identifiers.uses)

    def hubs(self) -> pd.DataFrame:
        """Identifier values and blocks kept as context, with their type."""
        return hubs(self.identifiers)

    def explain_pair(self, shop_a: str, shop_b: str) -> list[dict]:
        """The evidence chain that put two shops in one operator (empty if none)."""
        return evidence_chain(self.resolution, self.evidence, shop_a, shop_b)

    def explain(self, shop_id: str) -> Dossier:
        """Why this shop matters, in one call: its operator, community and factory,
        the banned shops it is tied to with the evidence, its linked shops, and
        every identifier it uses with how many shops share it.

        The result is data (``.banned_ties``, ``.links``, ``.identifiers``, ...)
        and text (``.text``); see :class:`graphlink.scoring.dossier.Dossier`.
        """
        return dossier(self, shop_id)

    @cached_property
    def explainer(self) -> Explainer:
        """Readable evidence for shop pairs and paths."""
        return Explainer(self.evidence, self.identifiers, combined_with(self.resolution.pairs))

    def signup_records(self, since: str | pd.Timestamp) -> list[dict]:
        """Sign-up risk of every shop created on or after ``since`` (JSON-ready dicts);
        ``since`` is a date or a period such as ``"7d"`` (:mod:`graphlink.core.period`)."""
        since = resolve_since(since, self.dataset.shops["created_at"])
        shops = self.dataset.shops[["shop_id", "created_at", "status", "banned_at"]].merge(
            self.shops, on="shop_id")
        records = score_signups(shops, self._linked_pairs(), pd.Timestamp(since), None)
        records = self._with_waterfalls(records)
        if "explainer" in self.__dict__:  # already built for the whole analysis
            return reviewed(add_evidence(records, self.explainer.path), self.verdicts)
        # only the rows the matches' evidence reads (a saved analysis reads just those)
        combined = self._combined()
        shops = shops_to_explain(records, combined)
        evidence = self.rows("evidence", None, [[("shop_a", "in", shops),
                                                 ("shop_b", "in", shops)]], linked=True)
        values = set(evidence["value_a"]) | set(evidence["value_b"])
        ids = Identifiers(self.rows("uses", None, [("shop_id", "in", shops)], linked=True),
                          self.rows("values", None, [("value", "in", values)], linked=True))
        return reviewed(explained(records, evidence, ids, combined), self.verdicts)

    def rows(self, table: str, columns: list[str] | None = None,
             filters: list | None = None, *, linked: bool = False) -> pd.DataFrame:
        """The rows of one of the analysis's large tables -- ``pairs``
        (``resolution.pairs``), ``evidence``, ``uses``, ``values`` (``identifiers``)
        -- that pass ``filters``, in the table's order, with ``columns`` only (None:
        all). Filters as :func:`pyarrow.parquet.read_table` takes them
        (:mod:`graphlink.core.frames`). An analysis read from a state
        (:func:`open_state`) reads only these rows from its files.

        ``linked=True``: the caller uses only rows of pairs scored at least
        ``WEAK`` (:mod:`graphlink.scoring.score`) or combined, and the evidence, uses
        and values among their shops (:func:`graphlink.state.saved.write_linked`); a
        saved analysis then reads its small linked index, whose rows passing ``filters``
        are those rows."""
        return select(self._table(table), columns, filters)

    #: the columns :meth:`page_rows` looks its rows up by, per table (:meth:`index_pages`)
    PAGE_KEYS = {"pairs": ["shop_a", "shop_b"], "evidence": ["shop_a", "shop_b"],
                 "uses": ["shop_id"], "values": ["value"], "accounts": ["shop_id"]}

    def index_pages(self) -> None:
        """Index the tables :meth:`page_rows` reads by the shops and values it looks up
        (:class:`graphlink.core.frames.KeyIndex`), so that each page of an analysis in
        memory finds its rows without a pass over the whole tables (0.1 s at 30,000
        shops, 0.5 s at 100,000). :func:`graphlink.analyse` calls it as its last step,
        as a saved run writes its page index
        (:func:`graphlink.state.saved.write_page_index`); without it, or once a table
        is replaced, :meth:`page_rows` filters the tables (the same rows).

        >>> from types import SimpleNamespace as Parts
        >>> a = Analysis.__new__(Analysis)
        >>> pairs = pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": ["S2", "S3"]})
        >>> a.resolution, a.evidence = Parts(pairs=pairs), pairs
        >>> a.identifiers = Parts(uses=pd.DataFrame({"shop_id": ["S1"]}),
        ...                       values=pd.DataFrame({"value": ["1"]}))
        >>> a.dataset = Parts(accounts=pd.DataFrame({"shop_id": ["S1"]}))
        >>> a.index_pages()
        >>> a._keyed("pairs", None, [("shop_b", "in", {"S2"})])["shop_a"].tolist()
        ['S1']
        >>> a.resolution = Parts(pairs=pairs[1:])  # replaced: filtered, not looked up
        >>> a._keyed("pairs", None, [("shop_b", "in", {"S2", "S3"})])["shop_a"].tolist()
        ['S2']
        """
        self.__dict__["_page_index"] = {
            table: KeyIndex(self._table(table), columns, {"value": "kind"})  # values: by kind
            for table, columns in self.PAGE_KEYS.items()}

    def _table(self, table: str) -> pd.DataFrame:
        """One of the tables :meth:`page_rows` reads, whole."""
        if table == "accounts":
            return self.dataset.accounts
        return {"pairs": lambda: self.resolution.pairs, "evidence": lambda: self.evidence,
                "uses": lambda: self.identifiers.uses,
                "values": lambda: self.identifiers.values}[table]()

    def _keyed(self, table: str, columns: list[str] | None, filters: list) -> pd.DataFrame:
        """:meth:`rows` (``accounts``: of ``dataset.accounts``) for ``in`` filters on the
        columns of :data:`PAGE_KEYS`: from the page index (:meth:`index_pages`) when
        there is one for this very table, else by filtering it."""
        index = self.__dict__.get("_page_index", {}).get(table)
        if index is not None and index.frame is self._table(table):
            return index.select(columns, filters)
        if table == "accounts":
            return select(self.dataset.accounts, columns, filters)
        return self.rows(table, columns, filters)

    def table_file(self, table: str) -> Path | None:
        """The Parquet file this analysis reads one of its large tables from (those of
        :meth:`rows`, and ``similar``), while it has not read that table whole: None
        here, in memory; a file for an analysis read from a state (:func:`open_state`),
        so that an exporter can read it straight (:mod:`graphlink.neo4j.plan`).

        >>> Analysis.__new__(Analysis).table_file("pairs") is None
        True
        """
        return None

    # long: the page's five reads in their order, each filter beside the reason for it
    def page_rows(self, drawn: set[str], on_paths: set[str]) -> dict[str, pd.DataFrame]:
        """The rows the evidence graphs of the ``drawn`` shops read (``on_paths``: the
        shops on their matches' paths), each in its table's order: ``pairs`` (shop_a,
        shop_b, p, kinds) with a shop drawn or an edge of a path, ``evidence`` with a
        shop drawn, ``uses`` (shop_id, kind, value, account_id, first_seen) of the drawn
        shops and of the shops their evidence and pairs both name, ``values`` (kind,
        value, display, shops) the drawn shops use or their evidence names, and
        ``accounts`` (shop_id, account_id) of the drawn shops. A saved analysis reads
        them from its page index where it covers the shops
        (:func:`graphlink.state.saved.write_page_index`).

        >>> from types import SimpleNamespace as Parts
        >>> a = Analysis.__new__(Analysis)
        >>> a.resolution = Parts(pairs=pd.DataFrame({"shop_a": ["S1", "S2"], "shop_b": [
        ...     "S2", "S3"], "p": [0.9, 0.1], "kinds": ["phone", "ip"]}))
        >>> a.evidence = pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S2"], "kind": ["phone"],
        ...     "value_a": ["1"], "value_b": ["1"], "score": [1.0], "method": ["exact"]})
        >>> a.identifiers = Parts(uses=pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "kind": [
        ...     "phone"] * 3, "value": ["1", "1", "2"], "account_id": ["A1", "A2", "A3"],
        ...     "first_seen": pd.to_datetime(["2025-01-01"] * 3)}), values=pd.DataFrame({
        ...     "kind": ["phone"] * 2, "value": ["1", "2"], "display": ["1", "2"],
        ...     "shops": [2, 1]}))
        >>> a.dataset = Parts(accounts=pd.DataFrame({"shop_id": ["S1"], "account_id": ["A1"]}))
        >>> rows = a.page_rows({"S1"}, set())
        >>> len(rows["pairs"]), rows["uses"]["shop_id"].tolist(), len(rows["values"])
        (1, ['S1', 'S2'], 1)
        """
        between = drawn | on_paths
        pairs = self._keyed("pairs", ["shop_a", "shop_b", "p", "kinds"],
                            [[("shop_a", "in", between)], [("shop_b", "in", drawn)]])
        evidence = self._keyed("evidence", list(EVIDENCE_DRAWN),
                               [[("shop_a", "in", drawn)], [("shop_b", "in", drawn)]])
        # a graph looks up the first day a shop it draws or one its evidence names used
        # a value; only the shops near it (paths, pairs) were ever read for that
        touching = pairs[pairs["shop_a"].isin(drawn) | pairs["shop_b"].isin(drawn)]
        near = between | set(touching["shop_a"]) | set(touching["shop_b"])
        named = (set(evidence["shop_a"]) | set(evidence["shop_b"])) & near
        uses = self._keyed("uses", ["shop_id", "kind", "value", "account_id", "first_seen"],
                           [("shop_id", "in", drawn | named)])
        uses = uses[uses["shop_id"].isin(drawn) | (uses["shop_id"].isin(named)
                                                   & seen_uses(uses, evidence))]
        mine = uses[uses["shop_id"].isin(drawn)]
        shown = set(mine["value"]) | set(evidence["value_a"]) | set(evidence["value_b"])
        values = self._keyed("values", ["kind", "value", "display", "shops"],
                             [("value", "in", shown)])
        accounts = self._keyed("accounts", ["shop_id", "account_id"],
                               [("shop_id", "in", drawn)])
        return {"pairs": pairs, "evidence": evidence, "uses": uses, "values": values,
                "accounts": accounts}

    def map_points(self, leads: list[pd.Series]) -> pd.DataFrame:
        """The placed rows of :meth:`address_points` that the maps of ``leads`` (rows of
        :meth:`factories`, named by factory id) read: those within a map
        (:func:`map_frame`) and every row of a lead's shops, in its order. The
        addresses' places are read first, then only the uses of the addresses near an
        anchor (not every shop's address); a saved analysis reads them from its page
        index (:func:`graphlink.state.saved.write_page_index`).

        >>> from types import SimpleNamespace as Parts
        >>> a = Analysis.__new__(Analysis)
        >>> a.identifiers = Parts(uses=pd.DataFrame({"shop_id": ["S1", "S2"], "kind": [
        ...     "address"] * 2, "value": ["v1", "v2"]}), values=pd.DataFrame({"kind": [
        ...     "address"] * 2, "value": ["v1", "v2"], "lat": [1.0, 9.0], "lon": [1.0, 9.0]}))
        >>> lead = pd.Series({"lat": 1.0, "lon": 1.0, "radius_m": 100.0, "shops": ["S9"]})
        >>> a.map_points([lead])["shop_id"].tolist()
        ['S1']
        """
        geo = self.rows("values", ["value", "lat", "lon"], [("kind", "==", "address")])
        near = pd.Series(False, index=geo.index)
        for lead in leads:
            lat0, lon0, span = map_frame(lead)
            near |= (((geo["lat"] - lat0) * M_PER_DEGREE).abs() <= span) & (
                ((geo["lon"] - lon0) * M_PER_DEGREE * math.cos(math.radians(lat0))).abs()
                <= span)
        members = {s for lead in leads for s in lead["shops"]}
        points = self.rows("uses", ["shop_id", "value"],
                           [[("kind", "==", "address"), ("value", "in", set(geo["value"][near]))],
                            [("kind", "==", "address"), ("shop_id", "in", members)]])
        return points.merge(geo, on="value", how="left").dropna(subset=["lat", "lon"])

    def _linked_pairs(self) -> pd.DataFrame:
        """shop_a, shop_b, p of the pairs strong enough to be on a sign-up's path."""
        return self.rows("pairs", ["shop_a", "shop_b", "p"], [("p", ">=", WEAK)],
                         linked=True)

    def _combined(self) -> dict[tuple[str, str], list[str]]:
        """:func:`graphlink.linkage.resolve.combined_with` of the pairs, reading only
        the combined ones."""
        try:
            return combined_with(self.rows("pairs", ["shop_a", "shop_b", "via"],
                                           [("via", "!=", "")], linked=True))
        except KeyError:  # pairs resolved without operators: none combined
            return {}

    def _with_waterfalls(self, records: list[dict]) -> list[dict]:
        direct = [tuple(sorted((r["shop_id"], m["banned_shop_id"]))) for r in records
                  for m in r["matches"] if m.get("hops", 1) == 1]
        if self.model is None or not direct:
            return records
        # a direct match's pair is on its path: scored at least WEAK (linked)
        pairs = self.rows("pairs", None, [[("shop_a", "in", {a for a, _ in direct}),
                                           ("shop_b", "in", {b for _, b in direct})]],
                          linked=True)
        return with_waterfalls(records, pairs, self.model, len(self.dataset.shops))

    def signups(self, since: str | pd.Timestamp) -> pd.DataFrame:
        """Sign-up risk as a DataFrame: one row per new shop, riskiest first.

        Columns: shop_id, created_at, risk, flag, operator_id, community_id,
        best_match, best_score, evidence (the best match's evidence as text),
        matches (the full list, as in the JSON report).
        """
        rows = []
        for r in self.signup_records(since):
            best = r["matches"][0] if r["matches"] else None
            rows.append({**{k: r[k] for k in ("shop_id", "created_at", "risk", "flag",
                                              "operator_id", "community_id")},
                         "best_match": best["banned_shop_id"] if best else None,
                         "best_score": best["score"] if best else None,
                         "evidence": "; ".join(e["detail"] for e in best["evidence"])
                         if best else "",
                         "matches": r["matches"]})
        return pd.DataFrame(rows, columns=["shop_id", "created_at", "risk", "flag", "operator_id",
                                           "community_id", "best_match", "best_score", "evidence",
                                           "matches"])

    def address_points(self) -> pd.DataFrame:
        """One row per (shop, dispatch address): shop_id, value, lat, lon."""
        points = self.rows("uses", ["shop_id", "value"], [("kind", "==", "address")])
        geo = self.rows("values", ["value", "lat", "lon"], [("kind", "==", "address")])
        return points.merge(geo, on="value", how="left")

    @cached_property
    def shop_record(self) -> pd.DataFrame:
        """Per shop: dates, status, bans, test buys, disputes and counterfeit signal
        (:func:`graphlink.detection.factories.shop_record`)."""
        return shop_record(self.dataset)

    @cached_property
    def factory_leads(self) -> FactoryLeads:
        """Factory leads and the crowded places kept as context
        (:func:`graphlink.detection.factories.factory_leads`)."""
        written = self.dataset.addresses[["shop_id", "address", "lat", "lon"]]
        return factory_leads(self.address_points(), self.shops, self.shop_record, written)

    @property
    def _factories(self) -> pd.DataFrame:
        return self.factory_leads.leads

    def factories(self) -> pd.DataFrame:
        """Factory leads: factory_id, shops (list), operators (independent ones), score,
        anchor_address, lat, lon, radius_m, banned_shops, and their evidence (tenants,
        honest_share, operator_ids, successors, time_overlap, reasons, evidence);
        best score first. Crowded places kept as context: :meth:`factory_context`."""
        frame = self._factories.copy()
        banned = set(self.dataset.banned_shop_ids())
        frame["banned_shops"] = [sum(s in banned for s in shops) for shops in frame["shops"]]
        return frame

    def factory_context(self) -> pd.DataFrame:
        """Parks, warehouses and towers: places with several flagged operators among
        mostly honest tenants, each with its reason; never a lead."""
        return self.factory_leads.context.copy()

    def factory_of(self) -> pd.Series:
        """factory_id per shop (None outside any factory), indexed by shop_id."""
        owner = {s: f for f, shops in zip(self._factories["factory_id"], self._factories["shops"],
                                          strict=True) for s in shops}
        return self.shops["shop_id"].map(owner).set_axis(self.shops["shop_id"])

    def spotcheck_sections(self, budget: int = 20) -> dict[str, list[dict]]:
        """``act_now``: active shops that already failed a test buy (enforce, do not
        buy again); ``test_buy``: the ``budget`` unproven active shops most worth a
        test buy (:func:`graphlink.scoring.spotchecks.sections`). JSON-ready dicts."""
        shops = self.dataset.shops[["shop_id", "status"]].merge(self.shops, on="shop_id")
        near = nearest_banned(self._linked_pairs(), self.dataset.banned_shop_ids())
        found = self._factories
        return spotcheck_sections(shops, near, self.factory_of(),
                                  found.set_index("factory_id")["score"], self.dataset.disputes,
                                  self.dataset.test_buys, budget)

    def spotcheck_records(self, budget: int = 20) -> list[dict]:
        """The ``budget`` unproven active shops most worth a test buy (JSON-ready dicts);
        shops that already failed one are in :meth:`spotcheck_sections` ``act_now``."""
        return self.spotcheck_sections(budget)["test_buy"]

    def spotcheck(self, budget: int = 20) -> pd.DataFrame:
        """Spot-check list as a DataFrame: rank, shop_id, priority, reasons (text), ..."""
        rows = [{**r, "reasons": "; ".join(x["detail"] for x in r["reasons"])}
                for r in self.spotcheck_records(budget)]
        return pd.DataFrame(rows, columns=["rank", "shop_id", "priority", "operator_id",
                                           "community_id", "factory_id", "reasons"])

    @cached_property
    def graph(self) -> nx.Graph:
        """The identity graph (shops, accounts, identifiers) as networkx."""
        # values shared by many shops only: the place and name groupings of hubs()
        # cost seconds (a worker pool at 30,000 shops) and the graph has no node for them
        typed = hubs(Identifiers(self.identifiers.uses.iloc[:0], self.identifiers.values))
        hub_types = {(k, v): t for k, v, t, s in
                     zip(typed["kind"], typed["key"], typed["type"], typed["scope"], strict=True)
                     if s == "value"}
        return build_graph(self.dataset, self.identifiers, self.links, self.clusters(), hub_types)


def with_waterfalls(records: list[dict], pairs: pd.DataFrame, model: MatchModel | None,
                    shops: int) -> list[dict]:
    """Each direct match of ``records`` gets ``waterfall``: its match weight step by step.

    ``shops`` counts the shops the pairs came from; a model learned on a larger
    marketplace keeps its own count, as :func:`analyse` does when scoring.
    """
    wanted = {tuple(sorted((r["shop_id"], m["banned_shop_id"])))
              for r in records for m in r["matches"] if m.get("hops", 1) == 1}
    if model is None or not wanted or "level_device" not in pairs:
        return records
    keys = pd.MultiIndex.from_arrays([pairs["shop_a"], pairs["shop_b"]])
    rows = pairs[keys.isin(list(wanted))]
    found = {(r["shop_a"], r["shop_b"]): r for r in rows.to_dict("records")}
    shown = [(m, found[key]) for r in records for m in r["matches"]
             if m.get("hops", 1) == 1
             and (key := tuple(sorted((r["shop_id"], m["banned_shop_id"])))) in found]
    steps = waterfalls(model, [row for _, row in shown], max(shops, model.shops))
    for (m, _), waterfall in zip(shown, steps, strict=True):
        m["waterfall"] = [_rounded(step) for step in waterfall]
    return records


def _rounded(step: dict) -> dict:
    return {**step, "bayes_factor": float(f"{step['bayes_factor']:.4g}"),
            "tf_adjustment": float(f"{step['tf_adjustment']:.4g}"),
            "log2_bf": round(step["log2_bf"], 3)}


#: metres per degree of latitude (and of longitude at the equator)
M_PER_DEGREE = 111_320.0


def map_frame(lead: pd.Series, context: float = 1.8) -> tuple[float, float, float]:
    """The anchor (lat, lon) of a lead's map and its half-width in metres: ``context``
    radii, at least 150 m (300 m radius when the lead has none).

    >>> map_frame(pd.Series({"lat": 30.0, "lon": 120.0, "radius_m": None}))
    (30.0, 120.0, 540.0)
    """
    radius = float(lead["radius_m"]) if pd.notna(lead["radius_m"]) else 300.0
    return float(lead["lat"]), float(lead["lon"]), max(radius * context, 150.0)


def seen_uses(uses: pd.DataFrame, evidence: pd.DataFrame) -> np.ndarray:
    """Which ``uses`` rows are a shop's use of a value that ``evidence`` names on it
    (the first day an evidence graph writes beside a linked shop's value).

    >>> uses = pd.DataFrame({"shop_id": ["S1", "S2", "S2"], "kind": ["phone"] * 3,
    ...                      "value": ["1", "1", "2"]})
    >>> ev = pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S2"], "kind": ["phone"],
    ...                    "value_a": ["1"], "value_b": ["1"]})
    >>> seen_uses(uses, ev).tolist()
    [True, True, False]
    """
    # tuples in a set: a MultiIndex costs milliseconds to build for a page's few rows,
    # and is slower for a whole table's too
    named = set(zip(evidence["shop_a"], evidence["kind"], evidence["value_a"], strict=True))
    named.update(zip(evidence["shop_b"], evidence["kind"], evidence["value_b"], strict=True))
    return np.fromiter(((s, k, v) in named for s, k, v in zip(
        uses["shop_id"], uses["kind"], uses["value"], strict=True)), dtype=bool, count=len(uses))
