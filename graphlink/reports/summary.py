"""`graphlink check`: what a dataset holds, at a glance.

Rows per table, date ranges, shop statuses, missing-value rates of every
column, rows skipped by ``--lenient`` (by reason), and identifier values
shared by unusually many shops (candidate hubs: an e-commerce park address,
a warehouse, a carrier NAT IP, a common name). Phones, emails, ID numbers and
payment endpoints among them are listed by their masked display form
(``+86138****8000``), or by token when the dataset is pseudonymised, never in
clear.

>>> from graphlink.core.dataset import Dataset
>>> s = summarise(Dataset.empty())
>>> s["schema"], s["shops"]["total"]
('graphlink.check/1', 0)
"""

from __future__ import annotations

import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.privacy import SENSITIVE, hashed, mask, mask_hard
from graphlink.core.schema import TABLES
from graphlink.linkage.identifiers import canonical
from graphlink.reports.report import Report

__all__ = ["summarise", "check_report", "HUB_MIN_SHOPS"]

# A value is listed as a hub when at least this many shops use it (or 0.1% of
# all shops, whichever is larger). The check only lists; linkage decides.
HUB_MIN_SHOPS = 10

# (table, column) pairs holding identifying values, and the kind they name.
_IDENTIFIER_COLUMNS = (
    ("devices", "device_id", "device"),
    ("devices", "ip", "ip"),
    ("accounts", "phone", "phone"),
    ("accounts", "email", "email"),
    ("accounts", "id_number", "id_number"),
    ("accounts", "date_of_birth", "birth_date"),
    ("accounts", "holder_name", "holder_name"),
    ("addresses", "address", "address"),
    ("payments", "endpoint", "payment"),
    ("shops", "name", "shop_name"),
)


def summarise(dataset: Dataset, top: int = 20) -> dict:
    """A JSON-ready summary of ``dataset`` (schema ``graphlink.check/1``)."""
    shops = dataset.shops
    status = shops["status"].value_counts()
    return {
        "schema": "graphlink.check/1",
        "dataset": dataset.source,
        "tables": [_table_summary(dataset, name) for name in TABLES],
        "shops": {
            "total": int(len(shops)),
            **{s: int(status.get(s, 0)) for s in ("active", "banned", "closed")},
        },
        "missing": _missing_rates(dataset),
        "hubs": _hubs(dataset, top),
        "skipped": dict(sorted(dataset.skipped.items())),
        "warnings": list(dataset.warnings),
    }


def _table_summary(dataset: Dataset, name: str) -> dict:
    frame = dataset.tables[name]
    dates = {}
    for col in TABLES[name].date_columns:
        values = frame[col].dropna()
        if len(values):
            dates[col] = [values.min().isoformat(), values.max().isoformat()]
    return {
        "table": name,
        "file": dataset.files.get(name),
        "rows": int(len(frame)),
        "date_ranges": dates,
    }


def _missing_rates(dataset: Dataset) -> list[dict]:
    rows = []
    for name, frame in dataset.tables.items():
        if not len(frame):
            continue
        for col in frame.columns:
            if col == "_line":
                continue
            rate = float(frame[col].isna().mean())
            extension = name in TABLES and col in TABLES[name].extension_columns
            if rate > 0 and not (extension and rate == 1.0):
                rows.append({"table": name, "column": col, "missing_rate": round(rate, 4)})
    return rows


def _shop_values(dataset: Dataset, table: str, column: str) -> pd.DataFrame:
    frame = dataset.tables[table]
    if table == "devices":
        owners = dataset.accounts[["account_id", "shop_id"]]
        frame = frame.merge(owners, on="account_id", how="inner")
    elif table == "accounts":
        frame = frame[["shop_id", column]]
    return frame[["shop_id", column]].dropna().rename(columns={column: "value"})


def _hubs(dataset: Dataset, top: int) -> list[dict]:
    threshold = max(HUB_MIN_SHOPS, int(0.001 * len(dataset.shops)))
    found = []
    for table, column, kind in _IDENTIFIER_COLUMNS:
        pairs = _shop_values(dataset, table, column)
        counts = pairs.drop_duplicates().groupby("value")["shop_id"].count()
        for value, n in counts[counts >= threshold].items():
            found.append({"kind": kind, "value": str(value), "shops": int(n)})
    found.sort(key=lambda h: (-h["shops"], h["kind"], h["value"]))
    return [{**h, "value": shown(h["kind"], h["value"])} for h in found[:top]]


def shown(kind: str, value: str) -> str:
    """How ``check`` lists a value: personal data (:data:`~graphlink.core.privacy.SENSITIVE`)
    by the masked display form of its canonical value (a token as it is), the rest
    as it is.

    >>> shown("phone", "+86 138-0013-8000"), shown("email", "ZW@qq.com"), shown("ip", "10.0.0.1")
    ('+86138****8000', 'z***@qq.com', '10.0.0.1')
    >>> shown("id_number", "call me"), shown("payment", "a" * 64) == "a" * 64
    ('C****E', True)
    """
    if kind not in SENSITIVE or hashed(value) == value:
        return value
    value_ = canonical(kind)(value)
    return mask(kind, value_) if value_ else mask_hard(value)


def check_report(dataset: Dataset) -> Report:
    """The check summary as a :class:`Report` (rows: one per table)."""
    summary = summarise(dataset)
    rows = [
        {
            "table": t["table"],
            "file": t["file"] or "",
            "rows": t["rows"],
            "dates": "; ".join(f"{c} {a[:10]}..{b[:10]}" for c, (a, b) in t["date_ranges"].items()),
        }
        for t in summary["tables"]
    ]
    shops = summary["shops"]
    notes = [
        "",
        f"shops: {shops['total']} ({shops['active']} active, {shops['banned']} banned, "
        f"{shops['closed']} closed)",
    ]
    if summary["skipped"]:
        skipped = ", ".join(f"{n} {reason}" for reason, n in summary["skipped"].items())
        notes.append(f"skipped rows (--lenient): {skipped}")
    worst = sorted(summary["missing"], key=lambda m: -m["missing_rate"])[:8]
    if worst:
        notes.append("most missing: " + ", ".join(
            f"{m['table']}.{m['column']} {m['missing_rate']:.0%}" for m in worst))
    for hub in summary["hubs"]:
        notes.append(f"shared by {hub['shops']} shops: {hub['kind']} {hub['value']}")
    notes += [f"warning: {w}" for w in summary["warnings"]]
    return Report("Dataset check", summary, rows, ["table", "file", "rows", "dates"], notes)
