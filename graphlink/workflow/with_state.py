"""Analyse once, report many: the workflow around a state folder.

:func:`analyse_into_state` saves an analysis as a state's next run (stable
operator ids, the change log); :func:`open_state` and :func:`analysis_for` read
the saved analysis back when it is fresh for the data; the ``*_with_state``
functions and :func:`analyse_report` bring a state up to date (under its writer
lock) and report from it; :func:`report_all` writes every report of one
analysis. Re-exported by :mod:`graphlink.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.errors import GraphlinkError
from graphlink.core.period import resolve_since
from graphlink.linkage.model import MatchModel
from graphlink.linkage.pseudonymise import pseudonymiser
from graphlink.reports.payloads import (
    _signups,
    clusters_report,
    factories_report,
    signups_report,
    spotcheck_report,
)
from graphlink.reports.report import Report
from graphlink.scoring.analysis import Analysis, with_waterfalls
from graphlink.state import runs
from graphlink.state.incremental import score_against_state
from graphlink.state.lock import writer_lock
from graphlink.state.review import apply_verdicts, changes_verdicts, saved_analysis, unlearned
from graphlink.state.saved import has_analysis, model_version
from graphlink.state.store import State, StateError, fingerprint, next_run, save
from graphlink.state.verdicts import read_log
from graphlink.workflow.analyse import Progress, _model, analyse, load

__all__ = ["analyse_into_state", "signups_with_state", "changes_with_state", "changes_report",
           "open_state", "analysis_for", "analyse_report", "report_all", "StaleState",
           "ALL_REPORTS", "Notice", "KEY_CHECK"]


# a keyed token of this constant tells whether a delta is pseudonymised with the
# state's key, without keeping anything that reveals the key
KEY_CHECK = "graphlink state key check"


def _options(load_options: dict, pseudonymise) -> dict:
    # the model is not the data: a state keeps its own (see _fresh_state); the engines
    # read the same data the same way (issue 16: a state is fresh for both)
    engine = ("engine", "spark_master", "spark_conf")
    return {**{k: v for k, v in load_options.items() if k != "model" and k not in engine},
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
        return signups_report(saved_analysis(state, source), since, page=page)
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
        return saved_analysis(state, source)
    state = State.open(state_dir)
    if state is None:
        raise StateError(f"{state_dir}: no graphlink state here yet (run `graphlink analyse "
                         "DATASET --state DIR` to make one)")
    return saved_analysis(state, None)


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
            return saved_analysis(state, source)
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
    # the clusters rows made a batch at a time as its two files are written
    reports = {"signups": signups_report(analysis, since),
               "clusters": clusters_report(analysis, streamed=True),
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

