"""Evidence an analyst can verify by hand: which identifier, which shops, which dates.

:class:`Explainer` turns the rows of shop-pair evidence into readable items,
``{"kind": ..., "detail": ...}`` plus the data behind the sentence (the
masked identifier, both shops, the dates, the similarity and its method), so
a report, a notebook and a court exhibit quote the same facts.

>>> _pct(0.937)
'94%'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.core.period import day
from graphlink.linkage.identifiers import Identifiers
from graphlink.scoring.score import add_evidence, label, on_paths

__all__ = ["Explainer", "explained", "shops_to_explain"]


def _pct(score: float) -> str:
    return f"{round(100 * score)}%"


def _runs(*columns: np.ndarray) -> dict:
    """``key -> (start, stop)`` of each run of equal keys in sorted ``columns``
    (the key is a tuple of the columns' values, or the value itself for one column)."""
    n = len(columns[0])
    if not n:
        return {}
    change = np.zeros(n - 1, dtype=bool)
    for col in columns:
        change |= col[1:] != col[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    stops = np.r_[starts[1:], n]
    firsts = [col[starts].tolist() for col in columns]
    keys = firsts[0] if len(columns) == 1 else list(zip(*firsts, strict=True))
    return dict(zip(keys, zip(starts.tolist(), stops.tolist(), strict=True), strict=True))


class Explainer:
    """Readable evidence for shop pairs and paths, from one analysis.

    Built once per analysis and asked for thousands of pairs, so it holds the
    evidence as plain arrays sorted by pair (strongest first) and looks rows up
    by position: pandas row access per pair was the sign-up report's hot spot.
    """

    #: items quoted per hop of an indirect path (None: every one, as a case file does)
    hop_items: int | None = 3

    def __init__(self, evidence: pd.DataFrame, ids: Identifiers,
                 combined: dict[tuple[str, str], list[str]] | None = None):
        # pairs scored against a whole operator: the operator's other shops they read
        self._combined = combined or {}
        flat = evidence.sort_values(["shop_a", "shop_b", "weight"],
                                    ascending=[True, True, False], kind="stable")
        self._rows = {c: flat[c].to_numpy(dtype=object) for c in flat.columns}
        a, b = self._rows["shop_a"], self._rows["shop_b"]
        self._runs = _runs(a, b)  # (shop_a, shop_b) -> its rows
        # only values and shops that appear in evidence are ever looked up
        shown = set(self._rows["value_a"].tolist()) | set(self._rows["value_b"].tolist())
        values = ids.values[ids.values["value"].isin(shown)]
        self._display = dict(zip(zip(values["kind"].tolist(), values["value"].tolist(),
                                     strict=True), values["display"].tolist(), strict=True))
        shops = set(a.tolist()) | set(b.tolist())
        uses = ids.uses[ids.uses["shop_id"].isin(shops)].sort_values("shop_id", kind="stable")
        self._uses = {c: uses[c].to_numpy(dtype=object) for c in ("shop_id", "kind", "value")}
        # days as text once, not per item ("NaT" -> None when read)
        self._uses.update({c: np.datetime_as_string(uses[c].to_numpy(dtype="datetime64[ns]"),
                                                    unit="D").astype(object)
                           for c in ("first_seen", "last_seen")})
        self._shop_rows = _runs(self._uses["shop_id"])

    def pair(self, shop: str, other: str, limit: int | None = None) -> list[dict]:
        """Evidence between two shops, strongest first (one item per kind and value;
        the first ``limit`` items when given)."""
        key = tuple(sorted((shop, other)))
        if key not in self._runs:
            return []
        start, stop = self._runs[key]
        if limit is not None:
            stop = min(stop, start + limit)
        rows = [{c: col[i] for c, col in self._rows.items()} for i in range(start, stop)]
        return [self._item(r, shop, other) for r in rows]

    def path(self, shop: str, banned: str, path: list[str], banned_at: object = None) -> list[dict]:
        """Evidence of a match: the direct pair, or each hop of an indirect path."""
        if len(path) <= 2:
            return self._dated(self.pair(shop, banned), banned, banned_at) + self._sisters(
                shop, banned)
        items = [{"kind": "path", "detail": "linked through " + " -> ".join(path),
                  "path": list(path)}]
        for u, v in zip(path, path[1:], strict=False):
            for item in self.pair(u, v, limit=self.hop_items):
                items.append({**item, "detail": f"{u} - {v}: {item['detail']}", "hop": [u, v]})
        return items

    def _sisters(self, shop: str, banned: str) -> list[dict]:
        """Evidence with the other shops of ``banned``'s operator that a combined pair
        read (see :func:`graphlink.linkage.resolve.against_operators`)."""
        items = []
        for other in self._combined.get(tuple(sorted((shop, banned))), []):
            for item in self.pair(shop, other):
                items.append({**item, "detail": f"with {other}, same operator as {banned}: "
                              f"{item['detail']}", "via": other})
        return items

    def _display_of(self, kind: str, value: str) -> str:
        return str(self._display.get((kind, value), value))

    def _seen_on(self, shop: str, kind: str, value: str) -> tuple[str | None, str | None]:
        u = self._uses
        lo, hi = self._shop_rows.get(shop, (0, 0))
        for i in range(lo, hi):
            if u["kind"][i] == kind and u["value"][i] == value:
                first, last = u["first_seen"][i], u["last_seen"][i]
                return (None if first == "NaT" else first), (None if last == "NaT" else last)
        return None, None

    def _item(self, row: dict, shop: str, other: str) -> dict:
        mine, theirs = (row["value_a"], row["value_b"]) if row["shop_a"] == shop else (
            row["value_b"], row["value_a"])
        kind, what = row["kind"], label(row["kind"])
        first_o, last_o = self._seen_on(other, kind, theirs)
        first_s, _ = self._seen_on(shop, kind, mine)
        if row["method"] == "exact":
            detail = f"same {what} {self._display_of(kind, mine)}"
        else:
            detail = (f"{what} {_pct(row['score'])} similar ({row['method']}): "
                      f"{self._display_of(kind, mine)} ~ {self._display_of(kind, theirs)}")
        when = [f"on {other} {first_o or '?'}..{last_o or '?'}" if first_o or last_o else None,
                f"on {shop} from {first_s}" if first_s else None]
        when = [w for w in when if w]
        if when:
            detail += " (" + "; ".join(when) + ")"
        if row["shops"] > 2:
            detail += f", used by {int(row['shops'])} shops"
        return {"kind": kind, "detail": detail, "value": self._display_of(kind, mine),
                "other_value": self._display_of(kind, theirs), "method": row["method"],
                "similarity": round(float(row["score"]), 4),
                "weight": round(float(row["weight"]), 4),
                "shops_sharing": int(row["shops"]), "first_seen_other": first_o,
                "last_seen_other": last_o, "first_seen": first_s}

    @staticmethod
    def _dated(items: list[dict], banned: str, banned_at: object) -> list[dict]:
        """Mark items whose identifier was on the banned shop before its ban."""
        ban_day = day(banned_at)
        for item in items:
            seen = item.get("first_seen_other")
            item["before_ban"] = bool(ban_day and seen and seen <= ban_day)
            if item["before_ban"] and item.get("first_seen") and item["first_seen"] >= ban_day:
                item["detail"] += f"; on {banned} before its ban ({ban_day}), here after it"
        return items


def shops_to_explain(records: list[dict], combined: dict[tuple[str, str], list[str]]
                     ) -> set[str]:
    """The shops whose pair evidence explains ``records``' matches: those on the paths,
    and the operator's other shops a combined pair read (``combined``:
    :func:`graphlink.linkage.resolve.combined_with`)."""
    shops = on_paths(records)
    shops |= {s for r in records for m in r["matches"]
              for s in combined.get(tuple(sorted((r["shop_id"], m["banned_shop_id"]))), [])}
    return shops


def explained(records: list[dict], evidence: pd.DataFrame, ids: Identifiers,
              combined: dict[tuple[str, str], list[str]]) -> list[dict]:
    """``records`` scored with ``explain=None``, their evidence filled in by an
    :class:`Explainer` of only the pairs among :func:`shops_to_explain` (at a million
    shops an explainer of all evidence held gigabytes). ``evidence`` may be a whole
    analysis's or the part of it a saved state was asked for."""
    shops = shops_to_explain(records, combined)
    evidence = evidence[evidence["shop_a"].isin(shops) & evidence["shop_b"].isin(shops)]
    return add_evidence(records, Explainer(evidence, ids, combined).path)
