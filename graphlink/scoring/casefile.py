"""The explainer of a case file: each piece of evidence cites its source rows.

:class:`SourcedExplainer` is the :class:`~graphlink.scoring.explain.Explainer` of
`graphlink explain` (:mod:`graphlink.reports.casefile`): its items also name the
table, file and line of the row that first showed the identifier on each shop,
and it quotes every piece of evidence of each hop of a path.
"""

from __future__ import annotations

import pandas as pd

from graphlink.linkage.identifiers import Identifiers
from graphlink.scoring.explain import Explainer

__all__ = ["SourcedExplainer"]


class SourcedExplainer(Explainer):
    """An :class:`~graphlink.scoring.explain.Explainer` whose items also cite their source
    rows (``sources``: table, file and line on each shop), and quote every piece of
    evidence of each hop of a path."""

    hop_items = None

    def __init__(self, evidence: pd.DataFrame, ids: Identifiers, files: dict[str, str],
                 combined: dict[tuple[str, str], list[str]] | None = None):
        super().__init__(evidence, ids, combined)
        self._files = files
        shops = set(self._rows["shop_a"].tolist()) | set(self._rows["shop_b"].tolist())
        uses = ids.uses[ids.uses["shop_id"].isin(shops)]
        self._where = dict(zip(zip(uses["shop_id"], uses["kind"], uses["value"], strict=True),
                               zip(uses["source"], uses["line"], strict=True), strict=True))

    def _item(self, row: dict, shop: str, other: str) -> dict:
        item = super()._item(row, shop, other)
        mine, theirs = (row["value_a"], row["value_b"]) if row["shop_a"] == shop else (
            row["value_b"], row["value_a"])
        item["sources"] = [self._source(shop, row["kind"], mine),
                           self._source(other, row["kind"], theirs)]
        return item

    def _source(self, shop: str, kind: str, value: str) -> dict:
        table, line = self._where.get((shop, kind, value), (None, None))
        return {"shop_id": shop, "table": table, "file": self._files.get(table),
                "line": None if line is None or pd.isna(line) else int(line)}

