"""What the analysts' verdicts do to sign-up records, and how a report says so.

- :func:`reviewed`: a dismissed match no longer counts towards the shop's risk
  and is listed under ``dismissed`` (who, when) unless evidence appeared
  between the two shops since the verdict (then it counts again, with its
  ``verdict`` and ``new_evidence``); a confirmed match is certain (score and
  risk 1, flag ``high``) and carries its ``verdict``;
- :func:`evidence_keys`: what identifies each piece of a match's evidence;
- :func:`verdict_notes`, :func:`verdict_cells`: the sign-up report's note and
  table cells on verdicts.

Pure functions of records and a verdict log (the log itself, its lock and the
review workflow are :mod:`graphlink.state.verdicts` and
:mod:`graphlink.state.review`); here, below ``state``, so that the
:class:`~graphlink.scoring.analysis.Analysis` can apply verdicts.

>>> evidence_keys([{"kind": "device", "method": "exact", "value": "D1", "other_value": "D1"},
...                {"kind": "path", "path": ["S1", "S2", "S3"]}])
['device|exact|D1|D1', 'path|S1>S2>S3']
"""

from __future__ import annotations

import pandas as pd

__all__ = ["evidence_keys", "reviewed", "verdict_notes", "verdict_cells"]


def evidence_keys(items: list[dict]) -> list[str]:
    """What identifies each piece of a match's evidence (kind, method and the two
    values as shown; a path by its shops), sorted: what "new evidence" is new against."""
    keys = set()
    for item in items:
        if item.get("kind") == "path":
            keys.add("path|" + ">".join(item.get("path", [])))
            continue
        hop = "-".join(item.get("hop", [])) or item.get("via") or ""
        keys.add("|".join(str(x) for x in ((hop,) if hop else ()) + (
            item.get("kind"), item.get("method"), item.get("value"), item.get("other_value"))))
    return sorted(keys)


def reviewed(records: list[dict], verdicts: pd.DataFrame | None) -> list[dict]:
    """Sign-up records (with evidence) as the verdicts in force make them; re-sorted
    by risk. Records of shops without a verdict are returned as they are."""
    from graphlink.scoring.score import flag_of

    if verdicts is None or not len(verdicts):
        return records
    by_shop = {s: rows for s, rows in verdicts.groupby("shop_id", sort=False)}
    for r in records:
        rows = by_shop.get(r["shop_id"])
        if rows is None:
            continue
        given = {b: v for b, v in zip(rows["banned_shop_id"], rows.to_dict("records"),
                                      strict=True)}
        kept, dismissed = _judged(r["matches"], given)
        kept += [_confirmed_match(v) for b, v in given.items() if v["verdict"] == "confirmed"
                 and not any(m["banned_shop_id"] == b for m in kept)]
        kept.sort(key=lambda m: (-m["score"], len(m["path"]), m["banned_shop_id"]))
        r["matches"] = kept
        if dismissed:
            r["dismissed"] = dismissed
        r["risk"] = kept[0]["score"] if kept else 0.0
        r["flag"] = flag_of(r["risk"])
    records.sort(key=lambda r: (-r["risk"], r["shop_id"]))
    return records


def _about(v: dict) -> dict:
    """A verdict as reports show it."""
    return {"verdict": v["verdict"], "verdict_id": v["verdict_id"], "by": v["by"], "at": v["at"],
            "run": v["run"], "note": v["note"]}


def _judged(matches: list[dict], given: dict) -> tuple[list[dict], list[dict]]:
    """The matches that still count (confirmed ones made certain, reopened dismissals
    with what is new), and the dismissed ones."""
    kept, dismissed = [], []
    for m in matches:
        v = given.get(m["banned_shop_id"])
        if v is None:
            kept.append(m)
        elif v["verdict"] == "confirmed":
            kept.append({**m, "score": 1.0, "verdict": _about(v)})
        else:
            new = set(evidence_keys(m["evidence"])) - set(v["keys"] or [])
            if new:
                fresh = [e for e in m["evidence"] if evidence_keys([e])[0] in new]
                kept.append({**m, "verdict": _about(v), "new_evidence": fresh})
            else:
                dismissed.append({"banned_shop_id": m["banned_shop_id"], "score": m["score"],
                                  "verdict": _about(v)})
    return kept, dismissed


def _confirmed_match(v: dict) -> dict:
    """A confirmed match the analysis no longer finds: shown with the evidence it was
    confirmed on."""
    return {"banned_shop_id": v["banned_shop_id"], "score": 1.0, "hops": 1,
            "path": [v["shop_id"], v["banned_shop_id"]], "evidence": list(v["evidence"] or []),
            "verdict": _about(v)}


def verdict_notes(signups: list[dict]) -> list[str]:
    """One line on the verdicts a sign-up report shows (none when it shows none)."""
    confirmed = sum(1 for s in signups for m in s["matches"]
                    if m.get("verdict", {}).get("verdict") == "confirmed")
    reopened = sum(1 for s in signups for m in s["matches"] if "new_evidence" in m)
    dismissed = sum(len(s.get("dismissed", [])) for s in signups)
    if not confirmed + reopened + dismissed:
        return []
    return [f"verdicts: {confirmed} match(es) confirmed, {dismissed} dismissed (no longer "
            f"flagged), {reopened} dismissed but flagged again on new evidence"]


def verdict_cells(row: dict, signup: dict) -> dict:
    """A sign-up's table row with its verdicts said: the best match marked confirmed or
    flagged again, a sign-up quiet because of a dismissal saying by whom; rows of
    sign-ups without verdicts unchanged.

    >>> verdict_cells({"best_match": "", "evidence": ""}, {"matches": [], "dismissed": [
    ...     {"banned_shop_id": "S1", "verdict": {"by": "ana", "at": "2026-12-06"}}]})
    {'best_match': '', 'evidence': 'dismissed: S1 by ana 2026-12-06'}
    """
    best = signup["matches"][0] if signup["matches"] else None
    if best is not None and "verdict" in best:
        state = "flagged again" if "new_evidence" in best else best["verdict"]["verdict"]
        row = {**row, "best_match": f"{row['best_match']} ({state})"}
    if best is None and signup.get("dismissed"):
        row = {**row, "evidence": "; ".join(
            f"dismissed: {d['banned_shop_id']} by {d['verdict']['by']} {d['verdict']['at']}"
            for d in signup["dismissed"])}
    return row

