"""The public Python API: the functions the CLI and the notebooks share.

:func:`analyse` reads as the data's path, one stage per line. The CLI calls
the same functions, so a number in a report and in a notebook is the same.

>>> import graphlink as gl
>>> callable(gl.load) and callable(gl.analyse)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx
import pandas as pd

import loaders
from graphlink.core.dataset import Dataset
from graphlink.core.errors import GraphlinkError
from graphlink.core.frames import select
from graphlink.core.period import resolve_since
from graphlink.detection.detect import communities, join_factories
from graphlink.detection.factories import FactoryLeads, factory_leads, shop_record
from graphlink.linkage.graph import build_graph
from graphlink.linkage.identifiers import Identifiers, extract
from graphlink.linkage.link import (
    Links,
    count_entities,
    entity_labels,
    find_links,
    hubs,
    pair_evidence,
)
from graphlink.linkage.model import (
    MatchModel,
    comparison_levels,
    evidence_weights,
    load_model,
    score_vectors,
    shop_kinds,
    train_vectors,
    waterfalls,
)
from graphlink.linkage.pseudonymise import pseudonymiser
from graphlink.linkage.recompare import sampled_u, second_look
from graphlink.linkage.resolve import (
    Resolution,
    against_operators,
    combined_with,
    evidence_chain,
    resolve_operators,
)
from graphlink.reports.pagedata import clusters_page, factories_page, signups_page
from graphlink.reports.report import Report
from graphlink.reports.summary import check_report
from graphlink.scoring.dossier import Dossier, dossier
from graphlink.scoring.explain import Explainer, explained, shops_to_explain
from graphlink.scoring.score import FLAGS, add_evidence, nearest_banned, score_signups
from graphlink.scoring.spotchecks import sections as spotcheck_sections
from graphlink.state import runs
from graphlink.state.incremental import score_against_state
from graphlink.state.lock import writer_lock
from graphlink.state.review import (
    apply_verdicts,
    changes_verdicts,
    reviewed,
    unlearned,
    verdict_cells,
    verdict_notes,
)
from graphlink.state.saved import has_analysis, model_version, read_analysis
from graphlink.state.store import State, StateError, fingerprint, next_run, save
from graphlink.state.verdicts import read_log

__all__ = ["load", "check", "analyse", "Analysis", "train_model", "model_report",
           "clusters_report", "signups_report",
           "factories_report", "spotcheck_report", "analyse_into_state", "signups_with_state",
           "changes_with_state", "changes_report", "open_state", "analysis_for",
           "analyse_report", "report_all", "explain_report", "StaleState", "ALL_REPORTS"]


def load(
    path: str | Path,
    *,
    encoding: str | None = None,
    mapping: str | Path | None = None,
    lenient: bool = False,
    adapter: str | None = None,
    pseudonymise: bool | str | bytes | None = None,
) -> Dataset:
    """Load and validate a dataset (see :func:`loaders.load`).

    ``pseudonymise=True`` replaces phones, emails, ID numbers and payment
    endpoints by keyed hashes (key from ``GRAPHLINK_PSEUDONYM_KEY``; see
    :mod:`graphlink.linkage.pseudonymise`).
    """
    pseudonyms = pseudonymiser(pseudonymise)
    dataset = loaders.load(path, encoding=encoding, mapping=mapping, lenient=lenient,
                           adapter=adapter)
    return pseudonyms.dataset(dataset) if pseudonyms is not None else dataset


def _dataset(source: str | Path | Dataset, load_options: dict) -> Dataset:
    return source if isinstance(source, Dataset) else load(source, **load_options)


# progress(stage, done, total): called as each stage starts (done = stages
# finished), and once more as ("done", total, total); the same callback shape
# as graphlink.neo4j.push.
Progress = Callable[[str, int, int], None]
ANALYSE_STAGES = ("loading", "extracting identifiers", "linking", "weighing evidence",
                  "resolving operators", "detecting communities")


def _stages(progress: Progress | None, stages: tuple[str, ...]) -> Callable[[str], None]:
    """A function announcing each stage of ``stages`` to ``progress`` in turn."""
    def announce(stage: str) -> None:
        if progress is not None:
            done = len(stages) if stage == "done" else stages.index(stage)
            progress(stage, done, len(stages))

    return announce


def check(source: str | Path | Dataset, *, progress: Progress | None = None,
          pseudonymise: bool | str | bytes | None = None, **load_options) -> Report:
    """Validate a dataset and summarise it (what `graphlink check` prints)."""
    pseudonyms = pseudonymiser(pseudonymise)
    stage = _stages(progress, ("loading", "summarising"))
    stage("loading")
    dataset = _dataset(source, load_options)
    if pseudonyms is not None:
        dataset = pseudonyms.dataset(dataset)
    stage("summarising")
    report = check_report(dataset)
    stage("done")
    return report


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
                                                 ("shop_b", "in", shops)]])
        values = set(evidence["value_a"]) | set(evidence["value_b"])
        ids = Identifiers(self.rows("uses", None, [("shop_id", "in", shops)]),
                          self.rows("values", None, [("value", "in", values)]))
        return reviewed(explained(records, evidence, ids, combined), self.verdicts)

    def rows(self, table: str, columns: list[str] | None = None,
             filters: list | None = None) -> pd.DataFrame:
        """The rows of one of the analysis's large tables -- ``pairs``
        (``resolution.pairs``), ``evidence``, ``uses``, ``values`` (``identifiers``)
        -- that pass ``filters``, in the table's order, with ``columns`` only (None:
        all). Filters as :func:`pyarrow.parquet.read_table` takes them
        (:mod:`graphlink.core.frames`). An analysis read from a state
        (:func:`open_state`) reads only these rows from its files."""
        frame = {"pairs": lambda: self.resolution.pairs, "evidence": lambda: self.evidence,
                 "uses": lambda: self.identifiers.uses,
                 "values": lambda: self.identifiers.values}[table]()
        return select(frame, columns, filters)

    def _linked_pairs(self) -> pd.DataFrame:
        """shop_a, shop_b, p of the pairs strong enough to be on a sign-up's path."""
        return self.rows("pairs", ["shop_a", "shop_b", "p"], [("p", ">=", FLAGS["low"])])

    def _combined(self) -> dict[tuple[str, str], list[str]]:
        """:func:`graphlink.linkage.resolve.combined_with` of the pairs, reading only
        the combined ones."""
        try:
            return combined_with(self.rows("pairs", ["shop_a", "shop_b", "via"],
                                           [("via", "!=", "")]))
        except KeyError:  # pairs resolved without operators: none combined
            return {}

    def _with_waterfalls(self, records: list[dict]) -> list[dict]:
        direct = [tuple(sorted((r["shop_id"], m["banned_shop_id"]))) for r in records
                  for m in r["matches"] if m.get("hops", 1) == 1]
        if self.model is None or not direct:
            return records
        pairs = self.rows("pairs", None, [[("shop_a", "in", {a for a, _ in direct}),
                                           ("shop_b", "in", {b for _, b in direct})]])
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


def analyse(source: str | Path | Dataset, *, seed: int = 0, progress: Progress | None = None,
            pseudonymise: bool | str | bytes | None = None,
            model: MatchModel | str | Path | None = None, verdicts: pd.DataFrame | None = None,
            **load_options) -> Analysis:
    """Run the whole pipeline on a dataset folder (or a loaded :class:`Dataset`).

    ``progress(stage, done, total)``, if given, hears each stage of
    :data:`ANALYSE_STAGES` as it starts, then ``("done", total, total)``.

    ``pseudonymise=True`` (key from ``GRAPHLINK_PSEUDONYM_KEY``) or a key:
    phones, emails, ID numbers and payment endpoints are compared in clear,
    then replaced by keyed hashes before anything else sees them, so the
    result links exactly as without it but holds no such value in clear
    (see :mod:`graphlink.linkage.pseudonymise`).

    ``verdicts`` (a verdict log, :func:`graphlink.state.verdicts.read_log`): labels that
    refine the model learned here (:func:`graphlink.linkage.learn.refine`; a given
    ``model`` is used as it is). Reports show them once attached
    (:func:`graphlink.state.review.apply_verdicts`).
    """
    pseudonyms = pseudonymiser(pseudonymise)  # a missing key fails before the work
    stage = _stages(progress, ANALYSE_STAGES)
    stage("loading")
    dataset = _dataset(source, load_options)
    stage("extracting identifiers")
    ids = extract(dataset)
    entity = entity_labels(ids)
    ids = count_entities(ids, entity)
    stage("linking")
    links = find_links(ids)
    stage("weighing evidence")
    evidence = pair_evidence(ids, links)
    # in clear: a masked card shown alike on two shops must be seen as masked
    kinds, n = shop_kinds(ids.uses), len(dataset.shops)
    vectors = second_look(comparison_levels(evidence, kinds, dataset.shops), ids.uses)
    given = _model(model)
    model = given or train_vectors(vectors, kinds, n, entity, dataset.shops,
                                   sampled=sampled_u(ids.uses, seed=seed))
    if given is None and verdicts is not None and len(verdicts):
        model = _learned(model, vectors, verdicts, n)
    # a given model scores a small sample as its own marketplace would: a value's
    # frequency among three shops says nothing
    n = max(n, model.shops)
    evidence["weight"] = evidence_weights(model, evidence, n)
    if pseudonyms is not None:
        dataset, ids, links, evidence = pseudonyms.analysis_parts(dataset, ids, links, evidence)
    stage("resolving operators")
    resolution = _resolved(dataset.shops, score_vectors(model, vectors, n), model, n)
    stage("detecting communities")
    shops = communities(resolution.operators, resolution.pairs, seed=seed)
    analysis = Analysis(dataset, ids, links, evidence, resolution, shops, model)
    # a factory lead's independent dealers are one dealer network
    analysis.shops = join_factories(shops, analysis.factory_leads.leads)
    stage("done")
    return analysis


def _learned(model: MatchModel, vectors, verdicts: pd.DataFrame, n: int) -> MatchModel:
    """``model`` refined with the verdicts on candidate pairs (graphlink.linkage.learn)."""
    from graphlink.linkage.learn import refine
    from graphlink.state.review import labelled

    pairs, labels = labelled(score_vectors(model, vectors, n), verdicts)
    return refine(model, pairs, labels)


def _resolved(shops: pd.DataFrame, pairs: pd.DataFrame, model: MatchModel, n: int
              ) -> Resolution:
    """Operators from the pairs, then again once each shop is also compared with the
    operators of the first pass (:func:`graphlink.linkage.resolve.against_operators`)."""
    first = resolve_operators(shops["shop_id"], pairs)
    owner = first.operators.set_index("shop_id")["operator_id"]
    banned = set(shops.loc[shops["status"] == "banned", "shop_id"])
    return resolve_operators(shops["shop_id"], against_operators(pairs, owner, model, n, banned))


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


def _model(model: MatchModel | str | Path | None) -> MatchModel | None:
    return load_model(model) if isinstance(model, str | Path) else model


def train_model(source: str | Path | Dataset, *, progress: Progress | None = None,
                **load_options) -> MatchModel:
    """The match model learned from one dataset (`graphlink model train`).

    The same parameters :func:`analyse` learns on the fly; pass the result
    (or its file) as ``analyse(..., model=...)`` to score other data with them.
    """
    return analyse(source, progress=progress, **load_options).model


def model_report(model: MatchModel | str | Path) -> Report:
    """`graphlink model show`: m, u and Bayes factor of every comparison level."""
    model = _model(model)
    frame = model.bayes_factors()
    rows = frame.rename(columns={"pairs": "chance_pairs"}).to_dict("records")
    rows = [{**r, "m": f"{r['m']:.4g}", "u": f"{r['u']:.3g}",
             "bayes_factor": f"{r['bayes_factor']:.4g}", "log2_bf": round(r["log2_bf"], 2)}
            for r in rows]
    payload = {**model.to_dict(), "levels": frame.to_dict("records")}
    notes = [f"{model.shops} shops, {model.pairs} candidate pairs, {model.iterations} EM "
             f"iterations; prior per pair {model.prior(0):.3g} (after a ban: {model.prior(1):.3g})"]
    return Report("Match model", payload, rows,
                  ["mode", "comparison", "level", "m", "u", "bayes_factor", "log2_bf",
                   "chance_pairs"],
                  notes)


# a keyed token of this constant tells whether a delta is pseudonymised with the
# state's key, without keeping anything that reveals the key
KEY_CHECK = "graphlink state key check"


def _options(load_options: dict, pseudonymise) -> dict:
    # the model is not the data: a state keeps its own (see _fresh_state)
    return {**{k: v for k, v in load_options.items() if k != "model"},
            "pseudonymise": bool(pseudonymise)}


def analyse_into_state(source: str | Path, state_dir: str | Path, *, seed: int = 0,
                       progress: Progress | None = None,
                       pseudonymise: bool | str | bytes | None = None,
                       dataset: Dataset | None = None, lock_timeout: float = 0,
                       **load_options) -> tuple[Analysis, State]:
    """Analyse a dataset and save it as the next run of a state folder.

    Operator and community ids are carried over from the state's previous run
    (:func:`graphlink.state.runs.stabilise`) and what changed is logged
    (:func:`graphlink.state.runs.changes`, see :func:`changes_report`). ``dataset``:
    ``source`` already loaded (without pseudonymising), to avoid reading it twice.
    The state's writer lock is held throughout (:func:`graphlink.state.lock.writer_lock`:
    another writer makes this wait up to ``lock_timeout`` seconds, then
    :class:`graphlink.state.lock.StateBusy`).
    """
    with writer_lock(state_dir, lock_timeout):
        return _analyse_into_state(source, state_dir, seed=seed, progress=progress,
                                   pseudonymise=pseudonymise, dataset=dataset, **load_options)


def _analyse_into_state(source: str | Path, state_dir: str | Path, *, seed: int,
                        progress: Progress | None, pseudonymise, dataset: Dataset | None,
                        **load_options) -> tuple[Analysis, State]:
    """:func:`analyse_into_state` once the caller holds the writer lock."""
    now = fingerprint(source, _options(load_options, pseudonymise))
    analysis = analyse(source if dataset is None else dataset, seed=seed, progress=progress,
                       pseudonymise=pseudonymise, verdicts=read_log(state_dir), **load_options)
    previous = State.open(state_dir)
    before = previous.table("shops", ["shop_id", "operator_id", "community_id"]) \
        if previous else None
    stable = runs.stabilise(analysis.shops[["shop_id", "operator_id"]], before)
    owner = dict(zip(stable["shop_id"], stable["operator_id"], strict=True))
    renamed = analysis.shops["shop_id"].map(owner)
    if not renamed.equals(analysis.shops["operator_id"]):
        # the factory leads' evidence names the old operator ids: found again when saved.
        # Unchanged (a first run; a run that keeps every id): the leads found stand
        analysis.__dict__.pop("factory_leads", None)
    analysis.shops["operator_id"] = renamed
    analysis.resolution.operators["operator_id"] = analysis.resolution.operators[
        "shop_id"].map(owner)
    # community ids are carried over the same way (a community is a group of shops too)
    named = {"community_id": "operator_id"}
    community = runs.stabilise(
        analysis.shops[["shop_id", "community_id"]].rename(columns=named),
        before[["shop_id", "community_id"]].rename(columns=named) if before is not None
        else None)
    analysis.shops["community_id"] = analysis.shops["shop_id"].map(
        dict(zip(community["shop_id"], community["operator_id"], strict=True)))
    log = runs.changes(stable, before, set(analysis.dataset.banned_shop_ids()),
                       next_run(previous))
    pseudonyms = pseudonymiser(pseudonymise)
    check = pseudonyms.token(KEY_CHECK) if pseudonyms is not None else None
    return analysis, save(analysis, state_dir, now, log, previous, key_check=check)


def signups_with_state(source: str | Path, state_dir: str | Path, since: str, *,
                       progress: Progress | None = None,
                       pseudonymise: bool | str | bytes | None = None,
                       lock_timeout: float = 0, require_fresh: bool = False,
                       notice: Notice | None = None, page: bool = True,
                       **load_options) -> Report:
    """`graphlink report signups --state DIR`: the same report, without redoing the world.

    - the state is fresh for ``source`` (same files, same options): scored from
      the saved state alone;
    - ``source`` holds only shops the state does not have (a day's delta):
      those are scored against the state (:mod:`graphlink.state.incremental`);
    - otherwise: a full analysis, saved as the state's next run under the
      writer lock (waiting up to ``lock_timeout`` seconds for another writer).

    ``require_fresh``: refuse (:class:`StaleState`) anything but a fresh state;
    ``notice(text)`` hears where the report came from; ``page``: as in
    :func:`signups_report`.
    """
    pseudonyms = pseudonymiser(pseudonymise)
    now = fingerprint(source, _options(load_options, pseudonymise))
    state = State.open(state_dir)
    if state is not None and state.fresh_for(now):
        return _signups_from_state(state, since, source, notice, page)
    _stale(state_dir, state, now, require_fresh, notice, "scores a delta against it, or "
           "analyses DATASET and saves it as the next run")
    dataset = load(source, pseudonymise=None, **load_options)
    if state is not None and _is_delta(dataset, state, source):
        _same_pseudonyms(state, state_dir, pseudonyms)
        newest = dataset.shops if len(dataset.shops) else state.table("shops", ["created_at"])
        since = resolve_since(since, newest["created_at"])  # the delta's newest shop
        records = score_against_state(state, dataset, pd.Timestamp(since), pseudonyms)
        return _signups(records, since, source, None,
                        (f"(new shops scored against state run {state.run})",))
    del state  # a writer may now delete the run it pinned
    with writer_lock(state_dir, lock_timeout):
        state = State.open(state_dir)  # the writer we waited for may have saved this data
        if state is not None and state.fresh_for(now):
            return _signups_from_state(state, since, source, notice, page)
        analysis, _ = _analyse_into_state(source, state_dir, seed=0, progress=progress,
                                          pseudonymise=pseudonymise, dataset=dataset,
                                          **load_options)
    return signups_report(apply_verdicts(analysis, state_dir), since, page=page)


def _signups_from_state(state: State, since: str, source: str | Path,
                        notice: Notice | None = None, page: bool = True) -> Report:
    """The sign-up report of a fresh state: from its saved analysis (the same bytes
    as a fresh analysis), or from its incremental tables for a run saved before
    states kept the whole analysis."""
    if has_analysis(state):
        _say(notice, f"read from state {state.folder} run {state.run}")
        return signups_report(_saved(state, source), since, page=page)
    since = resolve_since(since, state.table("shops", ["created_at"])["created_at"])
    records = score_against_state(state, None, pd.Timestamp(since))
    records = with_waterfalls(records, state.table("pairs"), state.model(),
                              len(state.table("shops", ["shop_id"])))
    return _signups(records, since, source, None, (f"(from state run {state.run})",))


def _is_delta(dataset: Dataset, state: State, source: str | Path) -> bool:
    """True when ``dataset`` holds only shops the state does not have; False when it
    is the whole (grown) dataset. Anything between is refused: analysing it alone as
    the next run would drop most of the state's shops (and its banned ones)."""
    known = state.table("shops", ["shop_id"])["shop_id"]
    overlap = dataset.shops["shop_id"].isin(known)
    if not overlap.any():
        return True
    if overlap.sum() * 2 < len(known):
        clash = sorted(dataset.shops.loc[overlap, "shop_id"])
        raise GraphlinkError(
            f"{source}: {len(clash)} shop(s) are already in the analysed state (e.g. "
            f"{clash[0]}), but most of the state's {len(known)} shops are missing: a delta "
            "holds new shops only -- remove those shops, or pass the whole dataset")
    return False


def _same_pseudonyms(state: State, state_dir: str | Path, pseudonyms) -> None:
    """A delta must be pseudonymised as the state was: with the same key, or not at all."""
    check = pseudonyms.token(KEY_CHECK) if pseudonyms is not None else None
    if state.manifest.get("key_check") == check:
        return
    if bool(state.manifest.get("pseudonymised")) != (pseudonyms is not None):
        done = "is" if state.manifest.get("pseudonymised") else "is not"
        raise GraphlinkError(
            f"{state_dir}: the state {done} pseudonymised; score the delta with the same "
            "--pseudonymise setting (clear values and keyed tokens never match)")
    raise GraphlinkError(f"{state_dir}: the state was pseudonymised with another key "
                         "(GRAPHLINK_PSEUDONYM_KEY differs): its tokens would never match")


def changes_with_state(source: str | Path, state_dir: str | Path, since_run: str | None = None,
                       *, progress: Progress | None = None,
                       pseudonymise: bool | str | bytes | None = None, lock_timeout: float = 0,
                       require_fresh: bool = False, notice: Notice | None = None,
                       **load_options) -> Report:
    """Bring the state up to date with ``source`` (a new run unless it is fresh),
    then report the changes since ``since_run`` (default: the latest run's).

    A writer: the state's writer lock is held from the freshness check to the
    report (another writer makes this wait up to ``lock_timeout`` seconds, then
    :class:`graphlink.state.lock.StateBusy`), so the run it reports is the one it saved.
    """
    with writer_lock(state_dir, lock_timeout):
        state = State.open(state_dir)
        now = fingerprint(source, _options(load_options, pseudonymise))
        if state is None or not state.fresh_for(now):
            _stale(state_dir, state, now, require_fresh, notice,
                   "analyses DATASET and saves it as the next run")
            dataset = load(source, pseudonymise=None, **load_options)
            if state is not None and _is_delta(dataset, state, source):
                raise GraphlinkError(
                    f"{source}: none of its shops is in the analysed state: `report changes` "
                    "needs the whole dataset (a delta of new shops is scored with `report "
                    "signups --state`)")
            del state  # unpinned: the run saved next may delete its tables
            _analyse_into_state(source, state_dir, seed=0, progress=progress,
                                pseudonymise=pseudonymise, dataset=dataset, **load_options)
        return changes_report(state_dir, since_run)


def changes_report(state_dir: str | Path, since_run: str | None = None) -> Report:
    """`graphlink report changes`: what changed in the runs after ``since_run``
    (default: the latest run's changes)."""
    state = State.open(state_dir)
    if state is None:
        raise GraphlinkError(f"{state_dir}: no graphlink state here yet (run `graphlink "
                             "report changes DATASET --state DIR` to make one)")
    names = [r["run"] for r in state.manifest["runs"]]
    if since_run is not None and since_run not in names:
        raise GraphlinkError(f"{state_dir}: no run {since_run!r}; runs: {', '.join(names)}")
    after = names[names.index(since_run) + 1:] if since_run else names[-1:]
    frames = [state.changes(r) for r in after]
    log = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=runs.COLUMNS)
    records = [{**r, "other_operator_id": r["other_operator_id"]
                if isinstance(r["other_operator_id"], str) else None,
                "shops": list(r["shops"]), "banned_shops": list(r["banned_shops"])}
               for r in log.to_dict("records")]
    payload = {"schema": "graphlink.changes/1", "state": str(state_dir),
               "since_run": since_run, "runs": after, "changes": records}
    rows = [{"run": r["run"], "change": r["change"], "operator_id": r["operator_id"],
             "shops": len(r["shops"]), "text": r["text"]} for r in records]
    verdicts = changes_verdicts(state_dir, after, names)
    if verdicts:  # additive: only states with verdicts
        payload["verdicts"] = verdicts
        rows += [{"run": v["run"], "change": v["verdict"], "operator_id": "", "shops": 1,
                  "text": f"{v['shop_id']} -> {v['banned_shop_id']} by {v['by']} at {v['at']}"}
                 for v in verdicts]
    title = f"Changes since run {since_run}" if since_run else f"Changes in run {state.run}"
    return Report(title, payload, rows, ["run", "change", "operator_id", "shops", "text"],
                  ["", f"{len(records)} change(s) in {len(after)} run(s)"])


def clusters_report(analysis: Analysis, *, page: bool = True) -> Report:
    """`graphlink clusters`: one row per shop, every shop exactly once. ``page``: with
    what the HTML page draws (:mod:`graphlink.reports.pagedata`; the CLI skips it for other
    formats)."""
    rows = analysis.clusters().to_dict("records")
    payload = {
        "schema": "graphlink.clusters/1",
        "dataset": analysis.dataset.source,
        "operators": int(analysis.shops["operator_id"].nunique()),
        "communities": int(analysis.shops["community_id"].nunique()),
        "shops": rows,
    }
    return Report("Operators and communities", payload, rows,
                  ["shop_id", "operator_id", "community_id"],
                  page=clusters_page(analysis) if page else None)


def _iso_day(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat().removesuffix("T00:00:00")


def signups_report(analysis: Analysis, since: str, *, page: bool = True) -> Report:
    """`graphlink report signups`: every new shop once, riskiest first, with evidence.
    ``since`` (a date or a period) is resolved here, once; ``page``: with what the HTML
    page draws (:mod:`graphlink.reports.pagedata`)."""
    since = pd.Timestamp(resolve_since(since, analysis.dataset.shops["created_at"]))
    return _signups(analysis.signup_records(since), since, analysis.dataset.source,
                    analysis if page else None)


def _signups(records: list[dict], since: str, source: str, analysis: Analysis | None,
             notes: tuple[str, ...] = ()) -> Report:
    signups = []
    for r in records:
        matches = [{"banned_shop_id": m["banned_shop_id"], "score": m["score"], "hops": m["hops"],
                    "path": m["path"], "evidence": m["evidence"],
                    **({"waterfall": m["waterfall"]} if "waterfall" in m else {}),
                    **{k: m[k] for k in ("verdict", "new_evidence") if k in m}}
                   for m in r["matches"]]
        signups.append({**r, "created_at": _iso_day(r["created_at"]), "matches": matches})
    payload = {"schema": "graphlink.signups/1", "since": str(pd.Timestamp(since).date()),
               "dataset": str(source), "signups": signups}
    rows = [{"shop_id": s["shop_id"], "created_at": s["created_at"], "risk": s["risk"],
             "flag": s["flag"], "operator_id": s["operator_id"],
             "best_match": s["matches"][0]["banned_shop_id"] if s["matches"] else "",
             "evidence": "; ".join(e["detail"] for e in s["matches"][0]["evidence"][:3])
             if s["matches"] else ""}
            for s in signups]
    rows = [verdict_cells(row, s) for row, s in zip(rows, signups, strict=True)]
    flags = pd.Series([s["flag"] for s in signups], dtype=object).value_counts()
    notes = ["", *notes, *verdict_notes(signups),
             f"{len(signups)} sign-ups since {payload['since']}: " + ", ".join(
                 f"{int(flags.get(f, 0))} {f}" for f in ("high", "medium", "low", "none"))]
    # totals last
    return Report(f"Sign-ups since {payload['since']}", payload, rows,
                  ["shop_id", "created_at", "risk", "flag", "operator_id", "best_match",
                   "evidence"],
                  notes, page=signups_page(analysis, signups) if analysis is not None else None)


def factories_report(analysis: Analysis, *, page: bool = True) -> Report:
    """`graphlink report factories`: independent operators converging on one place, best
    first, each with its evidence; crowded honest places (parks, warehouses, towers)
    listed apart under ``context`` with their reason."""
    records = [_factory_record(r) for r in analysis.factories().to_dict("records")]
    context = [{**r, "lat": _number(r["lat"]), "lon": _number(r["lon"]),
                "radius_m": _number(r["radius_m"])}
               for r in analysis.factory_context().to_dict("records")]
    payload = {"schema": "graphlink.factories/1", "dataset": analysis.dataset.source,
               "factories": records, "context": context}
    rows = [{**r, "shops": len(r["shops"]), "shop_ids": " ".join(r["shops"])} for r in records]
    notes = ["", *[f"context {c['place_id']}: {c['reason']}" for c in context],
             f"{len(records)} factory lead(s); {len(context)} crowded place(s) kept as "
             "context, not leads"]
    return Report("Factory leads", payload, rows,
                  ["factory_id", "shops", "operators", "banned_shops", "score", "anchor_address",
                   "lat", "lon", "shop_ids"], notes,
                  page=factories_page(analysis, records) if page else None)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _factory_record(r: dict) -> dict:
    """One lead as JSON: the contract's fields, then its evidence (additive)."""
    return {"factory_id": r["factory_id"], "shops": r["shops"],
            "anchor_address": r["anchor_address"], "lat": _number(r["lat"]),
            "lon": _number(r["lon"]), "radius_m": _number(r["radius_m"]),
            "score": round(r["score"], 4), "banned_shops": int(r["banned_shops"]),
            "operators": int(r["operators"]), "flagged_operators": int(r["flagged_operators"]),
            "tenants": int(r["tenants"]), "honest_share": r["honest_share"],
            "time_overlap": r["time_overlap"], "level": r["level"],
            "operator_ids": r["operator_ids"], "successors": r["successors"],
            "reasons": r["reasons"], "evidence": r["evidence"]}


def spotcheck_report(analysis: Analysis, budget: int) -> Report:
    """`graphlink report spotcheck`: shops that failed a test buy and are still open
    (``act_now``: enforce), then the unproven shops to test-buy next (``shops``)."""
    found = analysis.spotcheck_sections(budget)
    records, act_now = found["test_buy"], found["act_now"]
    payload = {"schema": "graphlink.spotcheck/1", "dataset": analysis.dataset.source,
               "budget": budget, "shops": records, "act_now": act_now}
    rows = [{"section": "act now", "rank": r["rank"], "shop_id": r["shop_id"], "priority": "",
             "operator_id": r["operator_id"], "factory_id": r["factory_id"],
             "reasons": "; ".join(x["detail"] for x in r["reasons"])} for r in act_now]
    rows += [{"section": "test buy", **r, "reasons": "; ".join(x["detail"] for x in r["reasons"])}
             for r in records]
    notes = ["", f"{len(act_now)} shop(s) failed a test buy and are still open: act now; "
             f"{len(records)} unproven shop(s) to test-buy (budget {budget})"]
    return Report(f"Spot checks (budget {budget})", payload, rows,
                  ["section", "rank", "shop_id", "priority", "operator_id", "factory_id",
                   "reasons"], notes)


# --- analyse once, report many: reading the saved analysis of a state ---------------

# notice(text): told where a report came from (a state's run, or a stale state
# analysed again); the CLI prints it on standard error
Notice = Callable[[str], None]


class StaleState(GraphlinkError):
    """A state folder that is not fresh for the dataset, where a fresh one was required."""


def _say(notice: Notice | None, text: str) -> None:
    if notice is not None:
        notice(text)


def _stale_reason(state: State | None, now: dict) -> str:
    """Why ``state`` does not answer for the data ``now`` describes, in a few words."""
    if state is None:
        return "no analysis saved there yet"
    saved = state.manifest.get("fingerprint", {})
    if saved.get("options") != now.get("options"):
        return f"run {state.run} was read with other options ({saved.get('options')})"
    old, new = saved.get("files", {}), now.get("files", {})
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    if changed:
        return f"run {state.run} was analysed from other files ({', '.join(changed[:4])} differ)"
    if not has_analysis(state):
        return f"run {state.run} was saved before states kept the whole analysis"
    return f"run {state.run} was pseudonymised with another key"


def _stale(state_dir: str | Path, state: State | None, now: dict, require_fresh: bool,
           notice: Notice | None, then: str) -> None:
    """Refuse a stale state when ``require_fresh``, else say so and what happens ``then``."""
    reason = _stale_reason(state, now)
    if require_fresh:
        raise StaleState(f"{state_dir}: the state is not fresh for {now.get('source')}: "
                         f"{reason}; refused (--require-fresh). Run `graphlink analyse "
                         "DATASET --state DIR` first")
    _say(notice, f"state {state_dir} is stale: {reason}; this {then}")


def _fresh_state(state_dir: str | Path, source: str | Path, load_options: dict,
                 pseudonymise) -> tuple[State | None, dict]:
    """The state when it holds a saved analysis of exactly this data (else None),
    and the data's fingerprint."""
    now = fingerprint(source, _options(load_options, pseudonymise))
    state = State.open(state_dir)
    if state is None or not state.fresh_for(now) or not has_analysis(state):
        return None, now
    pseudonyms = pseudonymiser(pseudonymise)
    check = pseudonyms.token(KEY_CHECK) if pseudonyms is not None else None
    return (state if state.manifest.get("key_check") == check else None), now


def _saved(state: State, source: str | Path | None) -> Analysis:
    analysis = read_analysis(state, source)
    analysis.origin = {"state": str(state.folder), "run": state.run}
    return apply_verdicts(analysis, state.folder)


def open_state(state_dir: str | Path, source: str | Path | None = None, **load_options
               ) -> Analysis:
    """The analysis saved in a state folder, without analysing anything again.

    The same :class:`Analysis` (same DataFrames, same reports, byte for byte) as
    ``analyse(source)`` with the state's model. With ``source``, the state must
    be fresh for it (same files, same load options), else :class:`StaleState`.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> analysis = gl.open_state("state")  # doctest: +SKIP
    >>> analysis.signups("7d").head()  # doctest: +SKIP
    """
    if source is not None:
        pseudonymise = load_options.pop("pseudonymise", None)
        state, now = _fresh_state(state_dir, source, load_options, pseudonymise)
        if state is None:
            _stale(state_dir, State.open(state_dir), now, True, None, "")
        return _saved(state, source)
    state = State.open(state_dir)
    if state is None:
        raise StateError(f"{state_dir}: no graphlink state here yet (run `graphlink analyse "
                         "DATASET --state DIR` to make one)")
    return _saved(state, None)


def analysis_for(source: str | Path, state_dir: str | Path | None = None, *,
                 require_fresh: bool = False, notice: Notice | None = None, seed: int = 0,
                 progress: Progress | None = None,
                 pseudonymise: bool | str | bytes | None = None,
                 model: MatchModel | str | Path | None = None, **load_options) -> Analysis:
    """The analysis every report reads: the state's saved one when it is fresh for
    ``source``, else a fresh analysis (not saved: `graphlink analyse` saves), or
    :class:`StaleState` with ``require_fresh``. ``notice(text)`` hears which.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> clusters_report(analysis_for("marketplace", "state")).payload["operators"]  # doctest: +SKIP
    """
    if state_dir is not None:
        state, now = _fresh_state(state_dir, source, load_options, pseudonymise)
        if state is not None:
            _say(notice, f"read from state {state_dir} run {state.run}")
            return _saved(state, source)
        _stale(state_dir, State.open(state_dir), now, require_fresh, notice,
               "analyses DATASET without saving it (`graphlink analyse DATASET --state DIR` "
               "saves it)")
    verdicts = read_log(state_dir) if state_dir is not None else None
    analysis = analyse(source, seed=seed, progress=progress, pseudonymise=pseudonymise,
                       model=model, verdicts=verdicts, **load_options)
    return apply_verdicts(analysis, verdicts)


def analyse_report(source: str | Path, state_dir: str | Path, *, lock_timeout: float = 0,
                   progress: Progress | None = None,
                   pseudonymise: bool | str | bytes | None = None,
                   model: MatchModel | str | Path | None = None, **load_options) -> Report:
    """`graphlink analyse DATASET --state DIR`: analyse and save a run (unless the state
    is already fresh for the data and the model), then a short summary and what to run
    next. A writer: holds the state's lock (waiting up to ``lock_timeout`` seconds)."""
    with writer_lock(state_dir, lock_timeout):
        state, now = _fresh_state(state_dir, source, load_options, pseudonymise)
        wanted = model_version(_model(model)) if model is not None else None
        saved = state is None or (wanted is not None and wanted != model_version(state.model()))
        saved = saved or (model is None and unlearned(state))  # verdicts given since its run
        if saved:
            del state  # unpinned: the run saved next may delete its tables
            _analyse_into_state(source, state_dir, seed=0, progress=progress,
                                pseudonymise=pseudonymise, dataset=None, model=model,
                                **load_options)
            state = State.open(state_dir)
    return _analysed(state, source, saved)


def _analysed(state: State, source: str | Path, saved: bool) -> Report:
    shops = state.table("shops", ["status", "operator_id", "community_id"])
    run = state.manifest["runs"][-1]
    payload = {"schema": "graphlink.analyse/1", "dataset": str(source),
               "state": str(state.folder), "run": state.run, "saved": saved,
               "runs": len(state.manifest["runs"]), "shops": len(shops),
               "banned_shops": int((shops["status"] == "banned").sum()),
               "operators": int(shops["operator_id"].nunique()),
               "communities": int(shops["community_id"].nunique()),
               "changes": int(run.get("changes", 0)),
               "model_version": model_version(state.model())}
    rows = [{"item": k, "value": payload[k]} for k in ("run", "saved", "shops", "banned_shops",
                                                         "operators", "communities", "changes")]
    what = f"saved as run {state.run}" if saved else f"already fresh (run {state.run})"
    data, folder = _quoted(source), _quoted(state.folder)
    notes = ["", f"{source}: {what} in {state.folder}", "next:",
             f"  graphlink report all {data} --state {folder} --since 7d --output-dir reports",
             f"  graphlink report signups {data} --state {folder} --since 7d",
             f"  graphlink report changes {data} --state {folder}",
             f"  graphlink explain {data} SHOP_ID --state {folder}",
             f"  graphlink neo4j push {data} --state {folder}"]
    return Report(f"Analysis of {source}", payload, rows, ["item", "value"], notes)


def _quoted(path: str | Path) -> str:
    import shlex

    return shlex.quote(str(path))


ALL_REPORTS = ("signups", "clusters", "factories", "spotcheck")


def report_all(analysis: Analysis, since: str, output_dir: str | Path, *, budget: int = 20
               ) -> Report:
    """`graphlink report all`: sign-ups since ``since``, clusters, factory leads and
    spot checks of one analysis, each as JSON and HTML in ``output_dir`` (each file
    written whole or not at all); the list of files as a report.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> report_all(gl.open_state("state"), "7d", "reports").payload["files"][0]  # doctest: +SKIP
    """
    from graphlink.reports.report import write

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    reports = {"signups": signups_report(analysis, since), "clusters": clusters_report(analysis),
               "factories": factories_report(analysis),
               "spotcheck": spotcheck_report(analysis, budget)}
    files = []
    for name, report in reports.items():
        for fmt in ("json", "html"):
            path = folder / f"{name}.{fmt}"
            write(report, fmt, path)
            files.append({"report": name, "format": fmt, "path": str(path),
                          "schema": report.payload["schema"]})
    payload = {"schema": "graphlink.report-all/1", "dataset": str(analysis.dataset.source),
               "state": analysis.origin.get("state"), "run": analysis.origin.get("run"),
               "since": reports["signups"].payload["since"], "budget": budget,
               "output_dir": str(folder), "files": files}
    notes = ["", reports["signups"].notes[-1], reports["factories"].notes[-1],
             reports["spotcheck"].notes[-1]]
    return Report(f"Reports in {folder}", payload, files, ["report", "format", "path"], notes)


def explain_report(analysis: Analysis, shop_id: str) -> Report:
    """`graphlink explain DATASET SHOP`: the case file of one shop, with the source
    file and line of each piece of evidence, the dataset's fingerprint, the run and
    the model version (:func:`graphlink.scoring.casefile.case_file`)."""
    from graphlink.scoring.casefile import case_file

    return case_file(analysis, shop_id)
