"""The report builders: an analysis in, a :class:`~graphlink.reports.report.Report` out.

Each builder computes its report's payload (the JSON the schemas of
``reports/schemas/`` describe), its table rows and notes, and the data its HTML
page draws (:mod:`graphlink.reports.pagedata`); renderers take the result and
never call the analysis. Re-exported by :mod:`graphlink.api`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlink.core.period import moment, resolve_since
from graphlink.reports.pagedata import clusters_page, factories_page, signups_page
from graphlink.reports.report import Report, Rows
from graphlink.scoring.analysis import Analysis
from graphlink.scoring.reviewed import verdict_cells, verdict_notes

__all__ = ["clusters_report", "signups_report", "factories_report", "spotcheck_report",
           "explain_report"]


def clusters_report(analysis: Analysis, *, page: bool = True, streamed: bool = False
                    ) -> Report:
    """`graphlink clusters`: one row per shop, every shop exactly once. ``page``: with
    what the HTML page draws (:mod:`graphlink.reports.pagedata`; the CLI skips it for other
    formats); ``streamed``: the rows (the payload's ``shops``) as a
    :class:`~graphlink.reports.report.Rows`, made a batch at a time as a file is written
    (`report all`), when the three columns hold text."""
    shops = analysis.clusters()
    rows = _cluster_rows(shops, streamed=streamed)
    groups = {c: _grouped(shops[c]) for c in ("operator_id", "community_id")}
    payload = {
        "schema": "graphlink.clusters/1",
        "dataset": analysis.dataset.source,
        "operators": len(groups["operator_id"].cat.categories),
        "communities": len(groups["community_id"].cat.categories),
        "shops": rows,
    }
    if page:  # the sizes chart counts the groups by their codes (no second hashing)
        shops = shops.assign(**groups)
    return Report("Operators and communities", payload, rows,
                  ["shop_id", "operator_id", "community_id"],
                  page=clusters_page(analysis, shops) if page else None)


def _grouped(column: pd.Series) -> pd.Series:
    """``column`` as a categorical of its distinct values (None and NaN: no group),
    hashed once: its categories count as ``nunique()`` does, and the sizes chart
    factorizes its codes.

    >>> grouped = _grouped(pd.Series(["O1", None, "O2", "O1"]))
    >>> len(grouped.cat.categories), grouped.cat.codes.tolist()
    (2, [0, -1, 1, 0])
    """
    codes, uniques = pd.factorize(column)
    return pd.Series(pd.Categorical.from_codes(codes, categories=uniques), index=column.index,
                     name=column.name)


_CLUSTER_COLUMNS = ["shop_id", "operator_id", "community_id"]


def _cluster_rows(frame: pd.DataFrame, *, streamed: bool = False) -> list[dict] | Rows:
    """:func:`records` of :meth:`graphlink.Analysis.clusters`, each row a dict display of
    its three columns when they hold text (or None): half the time of ``dict(zip())`` on
    a clusters report's row per shop.

    >>> _cluster_rows(pd.DataFrame({"shop_id": ["S1"], "operator_id": ["O1"],
    ...                             "community_id": [None]}))
    [{'shop_id': 'S1', 'operator_id': 'O1', 'community_id': None}]
    """
    if frame.columns.tolist() != _CLUSTER_COLUMNS:
        return records(frame)
    shops, operators, communities = columns = [frame[c].tolist() for c in _CLUSTER_COLUMNS]
    if not all(frame[c].dtype == object and _texts(values)
               for c, values in zip(_CLUSTER_COLUMNS, columns, strict=True)):
        return records(frame)
    if streamed:
        return Rows(len(shops), lambda start, stop: _cluster_dicts(
            shops[start:stop], operators[start:stop], communities[start:stop]),
            dict(zip(_CLUSTER_COLUMNS, columns, strict=True)))
    return _cluster_dicts(shops, operators, communities)


def _cluster_dicts(shops: list, operators: list, communities: list) -> list[dict]:
    """The clusters rows of three columns, a dict display each.

    >>> _cluster_dicts(["S1"], ["O1"], [None])
    [{'shop_id': 'S1', 'operator_id': 'O1', 'community_id': None}]
    """
    return [{"shop_id": s, "operator_id": o, "community_id": c}
            for s, o, c in zip(shops, operators, communities, strict=True)]


def _texts(values: list) -> bool:
    """Whether every value is text or None, as :func:`records` asks; a column without
    None is answered by ``str.join`` (it refuses anything but text, in C: a third of the
    time of a set of the types). A subclass of ``str`` passes there, where the set of
    types would send the frame to ``to_dict``, which keeps such a value as it is too.

    >>> _texts(["S1", "S2"]), _texts(["S1", None]), _texts(["S1", 1.5])
    (True, True, False)
    """
    try:
        "".join(values)
    except TypeError:
        return set(map(type, values)) <= {str, type(None)}
    return True


def records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")``, the same values, built column by column when every
    column holds text (or None) or is numeric (a clusters report has a row per shop;
    pandas boxes each cell on its own).

    >>> records(pd.DataFrame({"a": ["S1", None], "b": [1, 2], "c": [0.5, 1.0]}))
    [{'a': 'S1', 'b': 1, 'c': 0.5}, {'a': None, 'b': 2, 'c': 1.0}]
    """
    columns = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            values = column.tolist()
            if not set(map(type, values)) <= {str, type(None)}:
                return frame.to_dict("records")  # cells pandas would box one by one
        elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
            values = column.tolist()  # Python numbers, as to_dict gives them
        else:
            return frame.to_dict("records")
        columns.append(values)
    names = frame.columns.tolist()
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] \
        if columns else frame.to_dict("records")


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
        signups.append({**r, "created_at": moment(r["created_at"]), "matches": matches})
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
    leads = analysis.factories()
    records = [_factory_record(r) for r in leads.to_dict("records")]
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
                  page=factories_page(analysis, records, leads) if page else None)


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


def explain_report(analysis: Analysis, shop_id: str) -> Report:
    """`graphlink explain DATASET SHOP`: the case file of one shop, with the source
    file and line of each piece of evidence, the dataset's fingerprint, the run and
    the model version (:func:`graphlink.reports.casefile.case_file`)."""
    from graphlink.reports.casefile import case_file

    return case_file(analysis, shop_id)

