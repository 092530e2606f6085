"""Analyst review: verdicts on matches, their effect on reports, and the review queue.

An analyst confirms or dismisses a match (a shop and a banned shop the sign-up
report tied it to); :mod:`graphlink.state.verdicts` keeps each verdict in the state.
This module gives them their effect:

- :func:`record`: give a verdict (`graphlink review confirm|dismiss`), with the
  evidence it was given on, under the state's writer lock;
- :func:`apply_verdicts`: attach the verdicts in force to an analysis; a
  confirmed match merges the two operators (the banned shop's operator id is
  kept);
- :func:`reviewed`: what the sign-up records become: a dismissed match no longer
  counts towards the shop's risk and is listed under ``dismissed`` (who, when)
  unless evidence appeared between the two shops since the verdict (then it
  counts again, with its ``verdict`` and ``new_evidence``); a confirmed match is
  certain (score and risk 1, flag ``high``) and carries its ``verdict``;
- :func:`queue`: the pairs whose verdict would move the match model most
  (expected model change over the unreviewed pairs);
- :func:`labelled`: the verdicts as labelled comparison vectors, for
  :func:`graphlink.linkage.learn.refine`.

Applied when a report is built, never saved into a run: a state's saved
analysis plus its verdicts gives the same report as a fresh analysis (with the
state's model) plus the same verdicts.

>>> evidence_keys([{"kind": "device", "method": "exact", "value": "D1", "other_value": "D1"},
...                {"kind": "path", "path": ["S1", "S2", "S3"]}])
['device|exact|D1|D1', 'path|S1>S2>S3']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from graphlink.core.errors import GraphlinkError
from graphlink.scoring.reviewed import evidence_keys, reviewed, verdict_cells, verdict_notes
from graphlink.state.lock import writer_lock
from graphlink.state.verdicts import _row, append, in_force, read_log

__all__ = ["record", "record_many", "evidence_keys", "apply_verdicts", "reviewed", "labelled",
           "queue", "pair_patterns", "confirm", "dismiss", "read_verdicts", "review_queue",
           "list_report", "verdict_report", "queue_report", "changes_verdicts", "unlearned",
           "verdict_notes", "verdict_cells", "saved_analysis"]


def record(state_dir: str | Path, shop: str, banned_shop: str, verdict: str, *,
           by: str | None = None, note: str | None = None, lock_timeout: float = 0) -> dict:
    """Give a verdict on the match of ``shop`` with ``banned_shop``; the log row.

    The evidence recorded is the match as the state's current run shows it
    (the sign-up report's evidence, or the direct evidence between the two shops
    when they are no match); writer lock held while reading and appending.

    >>> record("state", "S0412", "S0077", "dismissed", by="ana")  # doctest: +SKIP
    {'verdict_id': 'V000001', 'shop_id': 'S0412', ...}
    """
    return record_many(state_dir, [(shop, banned_shop, verdict)], by=by, note=note,
                       lock_timeout=lock_timeout)[0]


def record_many(state_dir: str | Path, verdicts: list[tuple[str, str, str]], *,
                by: str | None = None, note: str | None = None, lock_timeout: float = 0
                ) -> list[dict]:
    """:func:`record` of several ``(shop, banned_shop, verdict)`` at once (the state read
    once, the lock taken once): a morning's review in one call.

    >>> record_many("state", [("S1", "S9", "confirmed")], by="ana")  # doctest: +SKIP
    """
    from graphlink.state.store import State

    with writer_lock(state_dir, lock_timeout):
        state = State.open(state_dir)
        if state is None:
            raise GraphlinkError(f"{state_dir}: no graphlink state here yet (run `graphlink "
                                 "analyse DATASET --state DIR` first)")
        analysis = saved_analysis(state, None)
        rows = [_row(shop, banned, verdict, by, note, state.run,
                     _current_match(analysis, shop, banned),
                     bool(state.manifest.get("pseudonymised")))
                for shop, banned, verdict in verdicts]
        for row, verdict_id in zip(rows, append(state_dir, rows), strict=True):
            row["verdict_id"] = verdict_id
    return rows


def _current_match(analysis, shop: str, banned: str) -> dict:
    """The match of ``shop`` with ``banned`` in ``analysis``: score, p, comparison
    vector, evidence and its keys."""
    shops = analysis.dataset.shops.set_index("shop_id")
    for s, what in ((shop, "shop"), (banned, "banned shop")):
        if s not in shops.index:
            raise GraphlinkError(f"{what} {s!r} is not in the analysed state")
    if shops.at[banned, "status"] != "banned":
        raise GraphlinkError(f"{banned!r} is not a banned shop (status "
                             f"{shops.at[banned, 'status']!r}); --match names the banned shop")
    match = _match_of(analysis, shop, banned)
    evidence = match["evidence"] if match else analysis.explainer.pair(shop, banned)
    row = _pair_row(analysis.resolution.pairs, shop, banned)
    levels = {c.removeprefix("level_"): int(row[c]) for c in row.index
              if c.startswith("level_")} if row is not None else {}
    return {"score": match["score"] if match else None,
            "p": float(row["p"]) if row is not None else None, "levels": levels,
            "evidence": _plain(evidence), "keys": evidence_keys(evidence)}


def _match_of(analysis, shop: str, banned: str) -> dict | None:
    """The sign-up match of ``shop`` with ``banned`` (None when they are none)."""
    from graphlink.scoring.score import add_evidence, score_signups

    table = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]].merge(
        analysis.shops, on="shop_id")
    records = score_signups(table, analysis.resolution.pairs, pd.Timestamp.max, None,
                            only={shop})
    records = add_evidence(records, analysis.explainer.path)
    return next((m for r in records for m in r["matches"] if m["banned_shop_id"] == banned),
                None)


def _pair_row(pairs: pd.DataFrame, a: str, b: str) -> pd.Series | None:
    lo, hi = sorted((a, b))
    rows = pairs[(pairs["shop_a"] == lo) & (pairs["shop_b"] == hi)]
    return rows.iloc[0] if len(rows) else None


def _plain(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in item.items()})
    return out


def apply_verdicts(analysis, verdicts: pd.DataFrame | str | Path | None):
    """Attach the verdicts in force (a log, or the state folder holding it) to
    ``analysis`` and merge the operators of each confirmed match; ``analysis``.

    The banned shop's operator keeps its id; shops of the confirmed shop's
    operator take it. Reports built from ``analysis`` then show the verdicts
    (:func:`reviewed`).
    """
    if verdicts is None:
        return analysis
    log = verdicts if isinstance(verdicts, pd.DataFrame) else read_log(verdicts)
    force = in_force(log)
    analysis.verdicts = force if len(force) else None
    if analysis.verdicts is None:
        return analysis
    confirmed = force[force["verdict"] == "confirmed"]
    if len(confirmed):
        analysis.shops = _merged(analysis.shops, confirmed)
        analysis.resolution.operators = _merged(analysis.resolution.operators, confirmed)
    return analysis


def _merged(frame: pd.DataFrame, confirmed: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (shop_id, operator_id) with each confirmed pair's operators joined (the
    banned shop's operator id kept), in one pass over the shops.

    >>> frame = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "operator_id": ["A", "B", "B"]})
    >>> _merged(frame, pd.DataFrame({"shop_id": ["S2"], "banned_shop_id": ["S1"]}))[
    ...     "operator_id"].tolist()
    ['A', 'A', 'A']
    """
    owner = dict(zip(frame["shop_id"], frame["operator_id"], strict=True))
    into: dict[str, str] = {}

    def root(op: str) -> str:
        while op in into:
            op = into[op]
        return op

    for shop, banned in zip(confirmed["shop_id"], confirmed["banned_shop_id"], strict=True):
        if shop in owner and banned in owner:
            a, b = root(owner[shop]), root(owner[banned])
            if a != b:
                into[a] = b
    if not into:
        return frame
    frame = frame.copy()
    frame["operator_id"] = frame["operator_id"].map(lambda op: root(op) if op in into else op)
    return frame


# --- learning ------------------------------------------------------------------------

def labelled(pairs: pd.DataFrame, verdicts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The candidate pairs the verdicts in force speak about, and their labels (1:
    confirmed, 0: dismissed); verdicts on two shops that are no candidate pair (an
    indirect match) teach nothing about comparison levels and are left out."""
    force = in_force(verdicts)
    if not len(force):
        return pairs.iloc[:0], np.zeros(0, dtype=np.int8)
    lo = np.minimum(force["shop_id"].to_numpy(dtype=object),
                    force["banned_shop_id"].to_numpy(dtype=object))
    hi = np.maximum(force["shop_id"].to_numpy(dtype=object),
                    force["banned_shop_id"].to_numpy(dtype=object))
    label = dict(zip(zip(lo.tolist(), hi.tolist(), strict=True),
                     (force["verdict"] == "confirmed").astype(np.int8).tolist(), strict=True))
    keys = list(zip(pairs["shop_a"].tolist(), pairs["shop_b"].tolist(), strict=True))
    keep = np.array([k in label for k in keys], dtype=bool)
    chosen = pairs[keep]
    return chosen, np.array([label[k] for k, ok in zip(keys, keep, strict=True) if ok],
                            dtype=np.int8)


def pair_patterns(pairs: pd.DataFrame) -> pd.Series:
    """Each pair's comparison pattern (its levels, as text), indexed like ``pairs``."""
    cols = [c for c in pairs.columns if c.startswith("level_")]
    if not cols:
        return pd.Series("", index=pairs.index)
    return pairs[cols].astype(str).agg(",".join, axis=1)


def queue(analysis, budget: int = 25) -> pd.DataFrame:
    """The ``budget`` pairs (a shop and a banned shop) whose verdict would move the model
    most: expected model change, as active learning by expected model change does
    (one verdict teaches about every pair that shares its context and levels).

    The model's corrections (:mod:`graphlink.linkage.learn`) have a posterior: the prior
    where no label speaks, narrowed by the verdicts in force. A verdict on pair
    ``i`` would move each coefficient by about ``cov @ x_i * (y - q_i)`` (one
    Newton step), ``q_i`` the pair's predictive match probability (its
    probability with the corrections' uncertainty folded in); the log odds of
    every other unreviewed pair ``j`` by ``x_j @ cov @ x_i`` times that. The
    expected change of the probabilities of all unreviewed pairs (``teach``) is

        2 q_i (1 - q_i) / (1 + q_i (1 - q_i) s_i^2) * sum_j q_j (1 - q_j) |x_j @ cov @ x_i|

    (``s_i^2 = x_i @ cov @ x_i``). The queue is built greedily: after each pick
    the covariance is narrowed as that verdict would narrow it, so a batch
    does not ask 25 times about one level. Among pairs of one comparison
    pattern, the most uncertain is asked.

    Columns: rank, shop_id, banned_shop_id, p, uncertainty (``1 - |2q - 1|``),
    pattern_pairs (unreviewed pairs sharing its comparison pattern), kinds,
    teach, evidence (list of dicts).
    """
    from graphlink.linkage.learn import features, posterior

    pairs = _unreviewed(_banned_pairs(analysis), analysis.verdicts)
    columns = ["rank", "shop_id", "banned_shop_id", "p", "uncertainty", "pattern_pairs", "kinds",
               "teach", "evidence"]
    if not len(pairs):
        return pd.DataFrame(columns=columns)
    taught, labels = (labelled(analysis.resolution.pairs, analysis.verdicts)
                      if analysis.verdicts is not None else (pairs.iloc[:0], np.zeros(0)))
    # one row per distinct feature vector: the sums over pairs are sums over patterns
    shapes, pattern = np.unique(features(pairs), axis=0, return_inverse=True)
    pattern = pattern.reshape(-1)
    picks, teach, certain = _greedy(shapes, pattern, _log_odds(pairs),
                                    posterior(taught, labels), budget)
    best = pairs.iloc[picks].copy()
    counts = pd.Series(pattern).value_counts()
    best["pattern_pairs"] = counts.reindex(pattern[picks]).to_numpy(dtype=np.int64)
    best["uncertainty"] = [1.0 - abs(2 * q - 1) for q in certain]
    best["teach"] = teach
    best = best.reset_index(drop=True)
    best["rank"] = np.arange(1, len(best) + 1)
    best["evidence"] = [analysis.explainer.pair(s, b) for s, b in
                        zip(best["shop_id"], best["banned_shop_id"], strict=True)]
    best["p"] = best["p"].round(4)
    best["uncertainty"] = best["uncertainty"].round(4)
    best["teach"] = best["teach"].round(4)
    return best[columns]


def _unreviewed(pairs: pd.DataFrame, verdicts: pd.DataFrame | None) -> pd.DataFrame:
    """``pairs`` (shop_id, banned_shop_id) without those a verdict speaks about."""
    if verdicts is None or not len(verdicts):
        return pairs
    done = set(zip(verdicts["shop_id"], verdicts["banned_shop_id"], strict=True))
    return pairs[[(s, b) not in done for s, b in
                  zip(pairs["shop_id"], pairs["banned_shop_id"], strict=True)]]


def _log_odds(pairs: pd.DataFrame) -> np.ndarray:
    """The model's log odds of each pair (natural log), from its weight or its p."""
    if "weight" in pairs:
        return np.log(2.0) * pairs["weight"].to_numpy(dtype=float)
    p = pairs["p"].to_numpy(dtype=float)
    return np.log(np.clip(p, 1e-12, 1) / np.clip(1 - p, 1e-12, 1))


def _greedy(shapes: np.ndarray, pattern: np.ndarray, z: np.ndarray, cov: np.ndarray,
            budget: int) -> tuple[list[int], list[float], list[float]]:
    """The queue's picks (row numbers), each with its expected model change and its
    predictive match probability; after each pick the covariance is narrowed as that
    verdict would narrow it (see :func:`queue`)."""
    left = np.ones(len(z), dtype=bool)
    picks, teach, certain = [], [], []
    for _ in range(min(budget, len(z))):
        spread = np.einsum("ij,jk,ik->i", shapes, cov, shapes)[pattern]
        q = 1.0 / (1.0 + np.exp(-np.clip(z / np.sqrt(1.0 + np.pi * spread / 8.0), -500, 500)))
        v = q * (1.0 - q)
        weight = np.bincount(pattern[left], weights=v[left], minlength=len(shapes))
        reach = np.abs(shapes @ cov @ shapes.T) @ weight  # per pattern: sum_j v_j |x_j cov x_i|
        value = np.where(left, 2 * v / (1 + v * spread) * reach[pattern], -1.0)
        best = int(np.argmax(value))
        if value[best] <= 0:
            break
        picks.append(best)
        teach.append(float(value[best]))
        certain.append(float(q[best]))
        left[best] = False
        lean = cov @ shapes[pattern[best]]
        cov = cov - np.outer(lean, lean) * v[best] / (1.0 + v[best] * spread[best])
    return picks, teach, certain


def _banned_pairs(analysis) -> pd.DataFrame:
    """Candidate pairs of an unbanned shop with a banned one, as shop_id, banned_shop_id."""
    pairs = analysis.resolution.pairs
    status = analysis.dataset.shops.set_index("shop_id")["status"]
    a_banned = pairs["shop_a"].map(status).eq("banned").to_numpy()
    b_banned = pairs["shop_b"].map(status).eq("banned").to_numpy()
    keep = a_banned ^ b_banned
    chosen = pairs[keep].copy()
    banned_first = a_banned[keep]
    chosen["shop_id"] = np.where(banned_first, chosen["shop_b"], chosen["shop_a"])
    chosen["banned_shop_id"] = np.where(banned_first, chosen["shop_a"], chosen["shop_b"])
    return chosen


# --- what reports say ----------------------------------------------------------------

def unlearned(state) -> bool:
    """Whether verdicts were given on the state's current run (after it was saved): its
    model has not learned from them yet, so `graphlink analyse` analyses again."""
    log = read_log(state.folder)
    return bool(len(log)) and bool((log["run"] == state.run).any())


def _verdict_rows(log: pd.DataFrame) -> list[dict]:
    """The log as JSON-ready records (evidence kept, keys left out)."""
    rows = []
    for r in log.to_dict("records"):
        r = {k: json.loads(v) if k in ("levels", "evidence", "keys") and isinstance(v, str)
             else v for k, v in r.items()}
        rows.append({"verdict_id": r["verdict_id"], "shop_id": r["shop_id"],
                     "banned_shop_id": r["banned_shop_id"], "verdict": r["verdict"],
                     "by": r["by"], "at": r["at"], "run": r["run"], "note": r["note"],
                     "p": None if pd.isna(r["p"]) else round(float(r["p"]), 4),
                     "score": None if pd.isna(r["score"]) else float(r["score"]),
                     "levels": r["levels"] or {}, "evidence": r["evidence"] or []})
    return rows


def list_report(state_dir: str | Path):
    """`graphlink review list --state DIR`: every verdict, oldest first, with the one in
    force on each pair marked.

    >>> list_report("state").payload["verdicts"][0]["verdict"]  # doctest: +SKIP
    'dismissed'
    """
    from graphlink.reports.report import Report

    log = read_log(state_dir)
    force = set(in_force(log)["verdict_id"]) if len(log) else set()
    records = [{**r, "in_force": r["verdict_id"] in force} for r in _verdict_rows(log)]
    payload = {"schema": "graphlink.review/1", "state": str(state_dir), "verdicts": records}
    rows = [{**{k: r[k] for k in ("verdict_id", "shop_id", "banned_shop_id", "verdict", "by",
                                  "at", "run", "in_force")},
             "note": r["note"] or "",
             "evidence": "; ".join(e.get("detail", "") for e in r["evidence"][:3])}
            for r in records]
    n = sum(r["in_force"] for r in records)
    return Report(f"Verdicts in {state_dir}", payload, rows,
                  ["verdict_id", "shop_id", "banned_shop_id", "verdict", "by", "at", "run",
                   "in_force", "note", "evidence"],
                  ["", f"{len(records)} verdict(s), {n} in force"])


def verdict_report(row: dict, state_dir: str | Path):
    """The report of one verdict just given (`graphlink review confirm|dismiss`)."""
    from graphlink.reports.report import Report

    record = {**_verdict_rows(pd.DataFrame([row]))[0], "in_force": True}
    payload = {"schema": "graphlink.review/1", "state": str(state_dir), "verdicts": [record]}
    what = (f"{record['verdict']} {record['shop_id']} -> {record['banned_shop_id']} "
            f"({record['verdict_id']}, by {record['by']}, on run {record['run']})")
    rows = [{"item": k, "value": record[k]} for k in ("verdict_id", "shop_id", "banned_shop_id",
                                                     "verdict", "by", "at", "run", "p", "score")]
    return Report("Verdict recorded", payload, rows, ["item", "value"],
                  ["", what, f"{len(record['evidence'])} piece(s) of evidence recorded with it"])


def queue_report(analysis, budget: int):
    """`graphlink review queue DATASET --state DIR --budget N`: the pairs to review next."""
    from graphlink.reports.report import Report

    frame = queue(analysis, budget)
    records = [{**r, "p": float(r["p"]), "uncertainty": float(r["uncertainty"]),
                "pattern_pairs": int(r["pattern_pairs"]), "teach": float(r["teach"]),
                "rank": int(r["rank"]), "evidence": _plain(r["evidence"])}
               for r in frame.to_dict("records")]
    payload = {"schema": "graphlink.review-queue/1", "dataset": str(analysis.dataset.source),
               "state": analysis.origin.get("state"), "run": analysis.origin.get("run"),
               "budget": budget, "queue": records}
    rows = [{**{k: r[k] for k in ("rank", "shop_id", "banned_shop_id", "p", "pattern_pairs",
                                  "kinds")},
             "evidence": "; ".join(e["detail"] for e in r["evidence"][:3])} for r in records]
    notes = ["", f"{len(records)} pair(s) to review (budget {budget}): those whose verdict "
             "would move the model's view of the most unreviewed pairs; give each a verdict "
             "with `graphlink review confirm|dismiss SHOP --match BANNED_SHOP --state DIR`"]
    return Report(f"Review queue (budget {budget})", payload, rows,
                  ["rank", "shop_id", "banned_shop_id", "p", "pattern_pairs", "kinds",
                   "evidence"], notes)


def changes_verdicts(state_dir: str | Path, runs: list[str], all_runs: list[str]) -> list[dict]:
    """The verdicts a change report over ``runs`` lists: those given on the run before
    the first of them or later (they took effect in those runs or after)."""
    log = read_log(state_dir)
    if not len(log) or not runs:
        return []
    start = max(all_runs.index(runs[0]) - 1, 0)
    since = set(all_runs[start:])
    return [r for r in _verdict_rows(log) if r["run"] in since]


# --- the public API ------------------------------------------------------------------

def confirm(state_dir: str | Path, shop: str, match: str, *, by: str | None = None,
            note: str | None = None, lock_timeout: float = 0) -> dict:
    """Confirm that ``shop`` is the banned shop ``match``'s operator come back.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> gl.confirm("state", "S0412", match="S0077", by="ana")["verdict_id"]  # doctest: +SKIP
    'V000001'
    """
    return record(state_dir, shop, match, "confirmed", by=by, note=note,
                  lock_timeout=lock_timeout)


def dismiss(state_dir: str | Path, shop: str, match: str, *, by: str | None = None,
            note: str | None = None, lock_timeout: float = 0) -> dict:
    """Dismiss the match of ``shop`` with the banned shop ``match`` (a false alarm): it is
    no longer flagged unless new evidence appears between the two.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> gl.dismiss("state", "S0413", match="S0077", note="park tenant")  # doctest: +SKIP
    """
    return record(state_dir, shop, match, "dismissed", by=by, note=note,
                  lock_timeout=lock_timeout)


def read_verdicts(state_dir: str | Path) -> pd.DataFrame:
    """Every verdict of a state folder, oldest first (:func:`graphlink.state.verdicts.read_log`).

    >>> import graphlink as gl  # doctest: +SKIP
    >>> gl.read_verdicts("state")[["shop_id", "banned_shop_id", "verdict"]]  # doctest: +SKIP
    """
    return read_log(state_dir)


def review_queue(analysis, budget: int = 25) -> pd.DataFrame:
    """The ``budget`` pairs whose verdict would teach the model most (:func:`queue`).

    >>> import graphlink as gl  # doctest: +SKIP
    >>> gl.review_queue(gl.open_state("state"), budget=10).head()  # doctest: +SKIP
    """
    return queue(analysis, budget)


def saved_analysis(state, source: str | Path | None):
    """The analysis saved in ``state``'s current run (read part by part, see
    :func:`graphlink.state.saved.read_analysis`), with its origin and the verdicts
    in force attached: what every report of a fresh state reads."""
    from graphlink.state.saved import read_analysis

    analysis = read_analysis(state, source)
    analysis.origin = {"state": str(state.folder), "run": state.run}
    return apply_verdicts(analysis, state.folder)
