"""Analyst verdicts on matches: an append-only Parquet log in the state folder.

An analyst confirms or dismisses a match between a shop and a banned shop
(`graphlink review confirm SHOP --match BANNED_SHOP --state DIR`). Each verdict
is one row of the log, in ``<state>/verdicts/``, one Parquet file per verdict
(``000001.parquet``, ``000002.parquet``, ...): written under the state's
writer lock (:func:`graphlink.state.lock.writer_lock`) to a temporary name and
renamed into place, never rewritten, never deleted. Runs write their tables
under ``tables/`` and prune only there, so no later run, crash or re-analysis
loses a verdict.

A row (:data:`COLUMNS`): ``verdict_id``, ``shop_id``, ``banned_shop_id``,
``verdict`` (``confirmed`` or ``dismissed``), ``by``, ``note``, ``at`` (ISO 8601,
UTC), ``run`` (the state's run it was given on), ``p`` (the pair's match
probability then; None when the two shops were no candidate pair), ``score`` (the
match's score in the sign-up report then), ``levels`` (the pair's comparison
vector, JSON), ``evidence`` (the evidence shown, JSON) and ``keys`` (what
identifies that evidence: :func:`graphlink.state.review.evidence_keys`, JSON), and
``pseudonymised`` (whether the state was). The evidence is taken from the
state's saved analysis, so in a pseudonymised state it holds keyed tokens and
masked values, as every other table there; the note is the analyst's own text.

The latest verdict on a pair is the one in force (:func:`in_force`): dismissing
a match confirmed earlier reverses it, and the log keeps both.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     first = _append(Path(folder), [_row("S2", "S1", "dismissed", "ana", None, "R0001", {})])
...     again = _append(Path(folder), [_row("S2", "S1", "confirmed", "bo", "seen", "R0001", {})])
...     log = read_log(folder)
...     log["verdict_id"].tolist(), in_force(log)["verdict"].tolist()
(['V000001', 'V000002'], ['confirmed'])
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.core.codes import verdict_id
from graphlink.core.errors import GraphlinkError
from graphlink.state.lock import holds

__all__ = ["FOLDER", "COLUMNS", "VERDICTS", "read_log", "in_force", "append"]

FOLDER = "verdicts"
VERDICTS = ("confirmed", "dismissed")
COLUMNS = ["verdict_id", "shop_id", "banned_shop_id", "verdict", "by", "note", "at", "run",
           "p", "score", "levels", "evidence", "keys", "pseudonymised"]
_JSON = ("levels", "evidence", "keys")


def _row(shop: str, banned: str, verdict: str, by: str | None, note: str | None, run: str,
         found: dict, pseudonymised: bool = False) -> dict:
    """One verdict as a log row (its id is given when it is appended)."""
    if verdict not in VERDICTS:
        raise GraphlinkError(f"verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
    return {"verdict_id": None, "shop_id": shop, "banned_shop_id": banned, "verdict": verdict,
            "by": by or os.environ.get("USER") or "analyst", "note": note,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run": run,
            "p": found.get("p"), "score": found.get("score"),
            "levels": json.dumps(found.get("levels", {}), sort_keys=True),
            "evidence": json.dumps(found.get("evidence", []), ensure_ascii=False),
            "keys": json.dumps(sorted(found.get("keys", []))),
            "pseudonymised": bool(pseudonymised)}


def append(state_dir: str | Path, rows: list[dict]) -> list[str]:
    """Append verdict rows to the log of ``state_dir`` (the caller holds its writer
    lock); their ids."""
    folder = Path(state_dir)
    if not holds(folder):
        raise GraphlinkError(f"{folder}: recording a verdict needs the state's writer lock")
    return _append(folder, rows)


def _append(folder: Path, rows: list[dict]) -> list[str]:
    log = folder / FOLDER
    log.mkdir(parents=True, exist_ok=True)
    ids = []
    for row in rows:
        number = _next_number(log)
        row = {**row, "verdict_id": verdict_id(number)}
        schema = pa.schema([(c, pa.float64() if c in ("p", "score") else
                             pa.bool_() if c == "pseudonymised" else pa.string())
                            for c in COLUMNS])
        table = pa.Table.from_pylist([{c: row.get(c) for c in COLUMNS}], schema=schema)
        tmp = log / f".{number:06d}.parquet.new"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as done:
            os.fsync(done.fileno())
        tmp.replace(log / f"{number:06d}.parquet")  # appears whole, or not at all
        ids.append(row["verdict_id"])
    return ids


def _next_number(log: Path) -> int:
    numbers = [int(p.stem) for p in log.glob("*.parquet") if p.stem.isdigit()]
    return max(numbers, default=0) + 1


def read_log(state_dir: str | Path) -> pd.DataFrame:
    """Every verdict of the state, oldest first (:data:`COLUMNS`; JSON columns decoded).

    Empty (with the columns) when no verdict was given yet.
    """
    log = Path(state_dir) / FOLDER
    files = sorted(p for p in log.glob("*.parquet") if p.stem.isdigit()) if log.is_dir() else []
    if not files:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    try:
        frame = pd.concat([pq.read_table(p).to_pandas() for p in files], ignore_index=True)
    except (OSError, pa.ArrowException) as exc:
        raise GraphlinkError(f"{log}: cannot read the verdict log ({exc})") from exc
    for c in _JSON:
        frame[c] = [json.loads(v) if isinstance(v, str) else None for v in frame[c]]
    return frame.sort_values("verdict_id", ignore_index=True)[COLUMNS]


def in_force(log: pd.DataFrame) -> pd.DataFrame:
    """The latest verdict on each (shop, banned shop) pair, by shop then banned shop."""
    if not len(log):
        return log
    latest = log.sort_values("verdict_id").drop_duplicates(["shop_id", "banned_shop_id"],
                                                           keep="last")
    return latest.sort_values(["shop_id", "banned_shop_id"], ignore_index=True)
