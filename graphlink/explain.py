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

from graphlink.identifiers import Identifiers
from graphlink.score import label

__all__ = ["Explainer"]


def _pct(score: float) -> str:
    return f"{round(100 * score)}%"


def _day(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


class Explainer:
    """Readable evidence for shop pairs and paths, from one analysis."""

    def __init__(self, evidence: pd.DataFrame, ids: Identifiers):
        self._evidence = evidence.set_index(["shop_a", "shop_b"]).sort_index()
        self._display = ids.values.set_index(["kind", "value"])["display"]
        self._seen = ids.uses.set_index(["shop_id", "kind", "value"])[["first_seen", "last_seen"]]
        self._first, self._last = self._seen["first_seen"].array, self._seen["last_seen"].array
        # each pair's rows are one run of the sorted table: (shop_a, shop_b) -> (start, stop)
        self._flat = self._evidence.reset_index()
        a, b = self._flat["shop_a"].to_numpy(), self._flat["shop_b"].to_numpy()
        starts = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])])[:len(a)]
        stops = np.r_[starts[1:], len(a)][:len(starts)]
        self._runs = dict(zip(zip(a[starts].tolist(), b[starts].tolist(), strict=True),
                              zip(starts.tolist(), stops.tolist(), strict=True), strict=True))

    def pair(self, shop: str, other: str) -> list[dict]:
        """Evidence between two shops, strongest first (one item per kind and value)."""
        key = tuple(sorted((shop, other)))
        if key not in self._runs:
            return []
        start, stop = self._runs[key]
        rows = self._flat.iloc[start:stop].sort_values("weight", ascending=False)
        return [self._item(r, shop, other) for r in rows.to_dict("records")]

    def path(self, shop: str, banned: str, path: list[str], banned_at: object = None) -> list[dict]:
        """Evidence of a match: the direct pair, or each hop of an indirect path."""
        if len(path) <= 2:
            return self._dated(self.pair(shop, banned), banned, banned_at)
        items = [{"kind": "path", "detail": "linked through " + " -> ".join(path),
                  "path": list(path)}]
        for u, v in zip(path, path[1:], strict=False):
            for item in self.pair(u, v)[:3]:
                items.append({**item, "detail": f"{u} - {v}: {item['detail']}", "hop": [u, v]})
        return items

    def _display_of(self, kind: str, value: str) -> str:
        return str(self._display.get((kind, value), value))

    def _seen_on(self, shop: str, kind: str, value: str) -> tuple[str | None, str | None]:
        try:
            at = self._seen.index.get_loc((shop, kind, value))
        except KeyError:
            return None, None
        if isinstance(at, int):
            first, last = self._first[at], self._last[at]
        else:  # a repeated key (not produced by extract): as before
            first, last = self._seen.loc[(shop, kind, value)]
        return _day(first), _day(last)

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
        ban_day = _day(banned_at)
        for item in items:
            seen = item.get("first_seen_other")
            item["before_ban"] = bool(ban_day and seen and seen <= ban_day)
            if item["before_ban"] and item.get("first_seen") and item["first_seen"] >= ban_day:
                item["detail"] += f"; on {banned} before its ban ({ban_day}), here after it"
        return items
