"""The analysis pipeline: load a dataset, then every stage in the data's order.

:func:`analyse` reads as the data's path, one stage per line; :func:`load` and
:func:`check` are the loading end (the only place, with the CLI, that joins
``loaders`` to graphlink), :func:`train_model` and :func:`model_report` the
match model's. Re-exported by :mod:`graphlink.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

import loaders
from graphlink.core.allocator import fix_mmap_threshold
from graphlink.core.dataset import Dataset
from graphlink.core.errors import ConfigError
from graphlink.detection.detect import communities, join_factories
from graphlink.linkage.identifiers import extract
from graphlink.linkage.link import count_entities, entity_labels, find_links, pair_evidence
from graphlink.linkage.model import (
    MatchModel,
    comparison_levels,
    evidence_weights,
    load_model,
    score_vectors,
    shop_kinds,
    train_vectors,
)
from graphlink.linkage.pseudonymise import pseudonymiser
from graphlink.linkage.recompare import sampled_u, second_look
from graphlink.linkage.resolve import Resolution, against_operators, resolve_operators
from graphlink.reports.report import Report
from graphlink.reports.summary import check_report
from graphlink.scoring.analysis import Analysis

__all__ = ["load", "check", "analyse", "train_model", "model_report", "Progress", "ANALYSE_STAGES"]


def load(
    path: str | Path,
    *,
    encoding: str | None = None,
    mapping: str | Path | None = None,
    lenient: bool = False,
    adapter: str | None = None,
    pseudonymise: bool | str | bytes | None = None,
    engine: str = "embedded",
    spark_master: str | None = None,
    spark_conf: dict[str, str] | list[str] | tuple[str, ...] | None = None,
) -> Dataset:
    """Load and validate a dataset (see :func:`loaders.load`).

    ``pseudonymise=True`` replaces phones, emails, ID numbers and payment
    endpoints by keyed hashes (key from ``GRAPHLINK_PSEUDONYM_KEY``; see
    :mod:`graphlink.linkage.pseudonymise`).

    ``engine="spark"`` reads and validates it on Spark (``spark_master``, default
    ``local[2]``; ``spark_conf``: ``key=value`` settings; see :mod:`graphlink.spark`).
    """
    pseudonyms = pseudonymiser(pseudonymise)
    if _engine(engine, spark_master, spark_conf) == "spark":
        _spark_only(encoding, mapping, lenient, adapter)
        from graphlink.spark.engine import load as spark_load

        dataset = spark_load(path, master=spark_master, conf=spark_conf, encoding=encoding)
    else:
        dataset = loaders.load(path, encoding=encoding, mapping=mapping, lenient=lenient,
                               adapter=adapter)
    return pseudonyms.dataset(dataset) if pseudonyms is not None else dataset


ENGINES = ("embedded", "spark")


def _engine(engine: str | None, master: str | None, conf) -> str:
    """The engine asked for; Spark settings without ``engine="spark"`` are a mistake."""
    engine = engine or "embedded"
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r} (embedded, spark)")
    if engine != "spark" and (master or conf):
        raise ConfigError("--spark-master and --spark-conf need --engine spark")
    return engine


def _spark_only(encoding, mapping, lenient: bool, adapter) -> None:
    """What the Spark engine's first slice does not read yet."""
    for name, given in (("--mapping", mapping), ("--lenient", lenient),
                        ("--adapter", adapter not in (None, "standard"))):
        if given:
            raise ConfigError(f"{name} is not supported by --engine spark yet")


def _dataset(source: str | Path | Dataset, load_options: dict) -> Dataset:
    return source if isinstance(source, Dataset) else load(source, **load_options)


_SPARK_OPTIONS = ("engine", "spark_master", "spark_conf")


def _prepared(source: str | Path | Dataset, load_options: dict) -> tuple[Dataset, dict | None]:
    """The dataset and, with ``engine="spark"``, its validated tables on Spark, which
    extraction reads there (:func:`graphlink.spark.engine.prepare`, the hand-over)."""
    options = dict(load_options)
    engine, master, conf = (options.pop(k, None) for k in _SPARK_OPTIONS)
    if isinstance(source, Dataset) or _engine(engine, master, conf) != "spark":
        return _dataset(source, options), None
    _spark_only(options.get("encoding"), options.get("mapping"), options.get("lenient"),
                options.get("adapter"))
    from graphlink.spark.engine import prepare

    return prepare(source, master=master, conf=conf, encoding=options.get("encoding"))


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


# long: the pipeline's stages in their order, each a few lines beside its reason
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

    ``engine="spark"`` (with ``spark_master``, ``spark_conf``, among the load options):
    loading, identifier extraction and entity labels, linking to the vectors' second
    look, the model's counts and scoring, the operators' two passes, the communities
    (a batch of connected parts per Python worker) and the factory leads' sites run on
    Spark (:mod:`graphlink.spark`), EM and the judging of candidate factory sites
    here; the evidence, the pairs and the links are written by Spark and read by the
    analysis when asked.
    """
    pseudonyms = pseudonymiser(pseudonymise)  # a missing key fails before the work
    fix_mmap_threshold()  # freed buffers go back to the system (graphlink.core.allocator)
    stage = _stages(progress, ANALYSE_STAGES)
    stage("loading")
    dataset, tables = _prepared(source, load_options)
    on_spark = tables is not None
    engine = _stages_on(on_spark)
    stage("extracting identifiers")
    ids = engine.extract(dataset, tables)  # on Spark: Spark DataFrames until collected
    entity = engine.entity_labels(ids)
    ids = engine.count_entities(ids, entity)
    stage("linking")
    links = engine.find_links(ids)
    stage("weighing evidence")
    evidence = engine.pair_evidence(ids, links)
    # in clear: a masked card shown alike on two shops must be seen as masked
    kinds, n = engine.shop_kinds(ids.uses), len(dataset.shops)
    vectors = engine.second_look(engine.comparison_levels(evidence, kinds, dataset.shops), ids.uses)
    given = _model(model)
    model = given or engine.train_vectors(vectors, kinds, n, entity, dataset.shops,
                                          sampled=engine.sampled_u(ids.uses, seed=seed))
    if given is None and verdicts is not None and len(verdicts):
        model = _learned(model, engine.score_vectors(model, vectors, n), verdicts)
    # a given model scores a small sample as its own marketplace would: a value's
    # frequency among three shops says nothing
    n = max(n, model.shops)
    evidence = engine.weighed(evidence, model, n)
    if pseudonyms is not None:  # (on Spark the identifiers are collected here, not below)
        dataset, ids, links, evidence = pseudonyms.analysis_parts(
            dataset, engine.collected(ids), links, engine.collected_evidence(evidence))
    stage("resolving operators")
    resolution = engine.resolve(dataset.shops, vectors, model, n)
    if hasattr(vectors, "unpersist"):  # Spark's vectors: not read after the operators
        vectors.unpersist()
    stage("detecting communities")
    shops = engine.communities(resolution.operators, resolution.pairs, seed=seed)
    # on Spark the identifiers are written there, and read when a report asks
    analysis = engine.analysis(dataset, ids, links, evidence, resolution, shops, model)
    # a factory lead's independent dealers are one dealer network
    analysis.shops = join_factories(shops, analysis.factory_leads.leads)
    if not on_spark:  # the Spark engine's tables are on disk: a page reads its rows there
        analysis.index_pages()  # as a saved run writes its page index (state.saved)
    stage("done")
    return analysis


class _Engine(NamedTuple):
    """The stage functions that run on one engine (same signatures, same results)."""

    extract: Callable
    entity_labels: Callable
    count_entities: Callable
    collected: Callable
    find_links: Callable
    pair_evidence: Callable
    comparison_levels: Callable
    second_look: Callable
    train_vectors: Callable
    score_vectors: Callable
    shop_kinds: Callable
    sampled_u: Callable
    weighed: Callable
    collected_evidence: Callable
    resolve: Callable
    communities: Callable
    analysis: Callable


def _stages_on(on_spark: bool) -> _Engine:
    """The engine's stage functions: the embedded ones, or their Spark versions (in the
    session ``prepare`` started; the same results: :mod:`graphlink.spark.extract`: the
    uses, values and entity labels as Spark DataFrames, ``collected`` once for the
    Analysis; :mod:`graphlink.spark.blocking`: the links stay on Spark;
    :mod:`graphlink.spark.evidence`: the evidence stays on Spark, weighed there;
    :mod:`graphlink.spark.recompare`: the vectors stay on Spark;
    :mod:`graphlink.spark.model`: EM on the driver from the fitted pairs, up to a sample
    of them; :mod:`graphlink.spark.resolve`: every pair scored and the operators
    resolved on Spark, connected components by label propagation, the pairs staying
    there; :mod:`graphlink.spark.detect`: the communities of each batch of parts in a
    Python worker; :mod:`graphlink.spark.analysis`: the evidence, the pairs and the links
    written by Spark, read by the analysis as a saved run's)."""
    if not on_spark:
        return _Engine(extract, entity_labels, count_entities, _as_is, find_links,
                       pair_evidence, comparison_levels, second_look, train_vectors,
                       score_vectors, shop_kinds, sampled_u, _weighed, _as_is, _resolved,
                       communities, _analysis)
    from graphlink.spark import extract as on_spark_ids
    from graphlink.spark.analysis import spark_analysis
    from graphlink.spark.blocking import find_links as links_on_spark
    from graphlink.spark.detect import communities as communities_on_spark
    from graphlink.spark.evidence import evidence_frame, vector_frame, weighed
    from graphlink.spark.model import score_vectors_on_spark
    from graphlink.spark.model import train_vectors as train_on_spark
    from graphlink.spark.recompare import sampled_u as sampled_on_spark
    from graphlink.spark.recompare import second_look as second_look_on_spark
    from graphlink.spark.resolve import resolve_scored

    return _Engine(on_spark_ids.extract, on_spark_ids.entity_labels,
                   on_spark_ids.count_entities, on_spark_ids.collected, links_on_spark,
                   _or_empty(evidence_frame), vector_frame, second_look_on_spark,
                   train_on_spark, score_vectors_on_spark, on_spark_ids.shop_kinds,
                   sampled_on_spark, weighed, _collected, resolve_scored, communities_on_spark,
                   spark_analysis)


def _weighed(evidence: pd.DataFrame, model: MatchModel, n: int) -> pd.DataFrame:
    """``evidence`` with each row's weight (in place: no copy of the largest table)."""
    evidence["weight"] = evidence_weights(model, evidence, n)
    return evidence


def _as_is(frame, *_):
    return frame


def _analysis(*parts) -> Analysis:
    return Analysis(*parts)


def _or_empty(evidence_frame: Callable) -> Callable:
    """Spark's evidence frame, or the embedded engine's empty evidence without uses."""
    def evidence(ids, links):
        found = evidence_frame(ids, links)
        return pair_evidence(ids, links) if found is None else found

    return evidence


def _collected(evidence) -> pd.DataFrame:
    """The weighed evidence of the Spark engine collected (what pseudonymising rewrites)."""
    if isinstance(evidence, pd.DataFrame):
        return evidence
    local = evidence.toPandas()
    for column in ("shop_a", "shop_b", "kind", "value_a", "value_b", "method"):
        local[column] = local[column].astype(object)
    return local


def _learned(model: MatchModel, scored: pd.DataFrame, verdicts: pd.DataFrame) -> MatchModel:
    """``model`` refined with the verdicts on candidate pairs (graphlink.linkage.learn),
    ``scored`` by it (:func:`score_vectors`)."""
    from graphlink.linkage.learn import refine
    from graphlink.state.review import labelled

    pairs, labels = labelled(scored, verdicts)
    return refine(model, pairs, labels)


def _resolved(shops: pd.DataFrame, vectors, model: MatchModel, n: int) -> Resolution:
    """Operators from the pairs ``model`` scores, then again once each shop is also
    compared with the operators of the first pass
    (:func:`graphlink.linkage.resolve.against_operators`)."""
    pairs = score_vectors(model, vectors, n)
    first = resolve_operators(shops["shop_id"], pairs)
    owner = first.operators.set_index("shop_id")["operator_id"]
    banned = set(shops.loc[shops["status"] == "banned", "shop_id"])
    return resolve_operators(shops["shop_id"], against_operators(pairs, owner, model, n, banned))


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

