"""The rows of a push, planned from the analysis's tables column by column: one
:class:`_Step` (statement and rows) per node label or identifier kind and per
relationship type and ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import hubs
from graphlink.linkage.resolve import MERGE
from graphlink.neo4j.model import (
    _HASHED,
    ACCOUNT,
    IDENTIFIER,
    KEY_LIMIT,
    KIND_LABELS,
    SHOP,
    _node_statement,
    _prop,
    _props,
    _rel_statement,
    _temporal,
    bounded_key,
)


@dataclass
class _Step:
    """One statement and the rows it is run with, batch by batch."""

    label: str  # what progress shows
    kind: str  # "node" or "rel"
    name: str  # node label or relationship type (counted in the summary)
    statement: str
    table: _Columns
    kind_of: str | None = None  # identifier kind of a node step (None: shops, accounts)
    ends: tuple[str, str] = ("", "")  # labels of a relationship step's start and end

    @cached_property
    def rows(self) -> list[dict]:
        return self.table.records()


def _plan(analysis) -> list[_Step]:
    """The statements of a push and their rows, built column by column from the
    analysis's tables (the rows :attr:`graphlink.Analysis.graph` would give, without
    building it: at 300,000 shops the networkx graph alone took minutes)."""
    scores, matches = _signups(analysis)
    nodes, rels = _node_rows(analysis, scores), _rel_rows(analysis, matches)
    steps = [_Step(f"{KIND_LABELS[kind] if kind else label} nodes", "node", label,
                   _node_statement(label, kind), table, kind_of=kind)
             for (label, kind), table in nodes.items() if len(table)]
    steps += [_Step(f"{rel} {src}->{dst}", "rel", rel, _rel_statement(rel, src, dst), table,
                    ends=(src, dst))
              for (rel, src, dst), table in sorted(rels.items()) if len(table)]
    return steps


def _iso(series: pd.Series) -> list:
    """A datetime64 column as ISO text (``datetime.isoformat``, UTC without a zone for
    zoned values), None where missing.

    >>> _iso(pd.Series(pd.to_datetime(["2025-01-02 10:00", None, "2025-01-02 10:00:00.5"],
    ...                               format="ISO8601")))
    ['2025-01-02T10:00:00', None, '2025-01-02T10:00:00.500000']
    """
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = series.to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(stamps, unit="s").astype(object)
    micro = stamps.astype(np.int64) % 1_000_000
    for i in np.flatnonzero(micro):
        text[i] = f"{text[i]}.{micro[i]:06d}"
    text[np.isnat(stamps)] = None
    return text.tolist()


def _column(name: str, series: pd.Series) -> tuple[list, list | None]:
    """A column as property values and temporal values (ISO text), None where unset:
    what :func:`_props` makes of each value, a whole column at a time."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return [None] * len(series), _iso(series)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.tolist(), None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy()
        out = values.tolist()
        for i in np.flatnonzero(np.isnan(values)):
            out[i] = None
        return out, None
    props, times = [], []
    temporal = _temporal(name)
    for value in series.tolist():
        if type(value) is str and not temporal:
            props.append(value)
            times.append(None)
            continue
        converted = _prop(name, value)
        if isinstance(converted, datetime):
            props.append(None)
            times.append(converted.isoformat())
        else:
            props.append(converted)
            times.append(None)
    return props, (times if any(t is not None for t in times) else None)


@dataclass
class _Columns:
    """A step's rows column by column: ``ends`` (``key``, or ``src`` and ``dst``) as
    they are; property values and temporal ones (ISO text), None where unset."""

    ends: dict[str, list]
    props: dict[str, list] = field(default_factory=dict)
    times: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.ends.values())))

    def records(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """``{"key", "props", "times"}`` (or ``src``/``dst``) rows ``start:stop``, as the
        statements read them (a batch at a time: all rows of a 300,000-shop world as
        dicts would hold many gigabytes)."""
        cut = slice(start, len(self) if stop is None else min(stop, len(self)))
        names, tnames = list(self.props), list(self.times)
        n = len(range(len(self))[cut])
        prow = zip(*(v[cut] for v in self.props.values()), strict=True) if names else \
            iter([()] * n)
        trow = zip(*(v[cut] for v in self.times.values()), strict=True) if tnames else \
            iter([()] * n)
        out = []
        for ends, p, t in zip(zip(*(v[cut] for v in self.ends.values()), strict=True), prow,
                              trow, strict=True):
            row = dict(zip(self.ends, ends, strict=True))
            row["props"] = {k: v for k, v in zip(names, p, strict=True) if v is not None}
            row["times"] = {k: v for k, v in zip(tnames, t, strict=True) if v is not None}
            out.append(row)
        return out

    @classmethod
    def of_records(cls, rows: list[dict], ends: tuple[str, ...]) -> _Columns:
        """The columns of rows made one by one (a few: the sign-up matches)."""
        names = list(dict.fromkeys(k for r in rows for k in r["props"]))
        tnames = list(dict.fromkeys(k for r in rows for k in r["times"]))
        return cls({e: [r[e] for r in rows] for e in ends},
                   {k: [r["props"].get(k) for r in rows] for k in names},
                   {k: [r["times"].get(k) for r in rows] for k in tnames})


def _columns(columns: Mapping[str, pd.Series | list], ready: Mapping[str, list] | None = None,
             **ends: list) -> _Columns:
    """:class:`_Columns` of named columns converted as :func:`_props` converts values
    (later names win); ``ready`` columns hold property values already (lists)."""
    props: dict[str, list] = {}
    times: dict[str, list] = {}
    for name, column in columns.items():
        series = column if isinstance(column, pd.Series) else pd.Series(column, dtype=object)
        values, stamps = _column(str(name), series.reset_index(drop=True))
        props.pop(str(name), None)
        times.pop(str(name), None)
        props[str(name)] = values
        if stamps is not None:
            times[str(name)] = stamps
    props.update(ready or {})
    return _Columns(dict(ends), props, times)


def _bounded(ids: pd.Series) -> list[str]:
    """:func:`bounded_key` of every id of a column."""
    return [t if len(t) <= KEY_LIMIT and not t.startswith(_HASHED) else bounded_key(t)
            for t in ids.astype(str).tolist()]


def _identifier_keys(kinds: pd.Series, values: pd.Series) -> list[str]:
    """:func:`_identifier_key` of every (kind, value) of two columns."""
    return [f"{k}:{v}" for k, v in zip(kinds.tolist(), _bounded(values), strict=True)]


def _extras(table: pd.DataFrame, key: str, keep: tuple[str, ...] | None = None) -> list[str]:
    """The columns of ``table`` that become properties: all but ``_*`` (or only ``keep``)."""
    return [c for c in table.columns
            if c != key and not str(c).startswith("_") and (keep is None or c in keep)]


def _node_rows(analysis, scores: dict[str, dict]) -> dict[tuple[str, str | None], _Columns]:
    """Node rows by (label, identifier kind): shops, accounts, identifiers."""
    return {(SHOP, None): _shop_rows(analysis, scores),
            (ACCOUNT, None): _account_rows(analysis.dataset),
            **_identifier_rows(analysis)}


def _shop_rows(analysis, scores: dict[str, dict]) -> _Columns:
    """Shop rows: the shop table's columns, factory, operator and community, risk."""
    dataset = analysis.dataset
    shops = dataset.shops.drop_duplicates("shop_id", keep="last").reset_index(drop=True)
    # later columns win, as in the graph's shop nodes: the shop table, the factory,
    # the graph's own attributes (shop columns, operator and community), the risk
    columns: dict[str, pd.Series] = {c: shops[c] for c in _extras(shops, "shop_id")}
    factory = _factory_ids(analysis)
    if factory:
        columns["factory_id"] = shops["shop_id"].map(
            lambda s: factory[s]["factory_id"] if s in factory else None)
    for c in ("shop_id", "name", "status", "created_at", "banned_at"):
        columns[c] = shops[c]
    found = analysis.clusters().drop_duplicates("shop_id", keep="last").set_index("shop_id")
    for c in found.columns:
        columns[c] = shops["shop_id"].map(found[c]).astype(object).where(
            shops["shop_id"].isin(found.index), None)
    if scores:
        columns["risk"] = shops["shop_id"].map(
            lambda s: scores[s]["risk"] if s in scores else None)
        columns["flag"] = shops["shop_id"].map(
            lambda s: scores[s]["flag"] if s in scores else None)
    keys = _bounded(shops["shop_id"])
    columns["key"] = pd.Series(keys, dtype=object)
    return _columns(columns, key=keys)


def _account_rows(dataset) -> _Columns:
    """Account rows: id and creation time."""
    accounts = dataset.accounts.drop_duplicates("account_id", keep="last")
    accounts = accounts.reset_index(drop=True)
    keys = _bounded(accounts["account_id"])
    columns = {c: accounts[c] for c in _extras(accounts, "account_id", keep=("created_at",))}
    columns["account_id"] = accounts["account_id"]
    columns["key"] = pd.Series(keys, dtype=object)
    return _columns(columns, key=keys)


def _identifier_rows(analysis) -> dict[tuple[str, str], _Columns]:
    """Identifier rows by kind: canonical value, display, shops, hub type, point."""
    values = analysis.identifiers.values.drop_duplicates(["kind", "value"], keep="last")
    values = values.reset_index(drop=True)
    unknown = set(values["kind"]) - set(KIND_LABELS)
    if unknown:
        raise ValueError(f"identifiers of unknown kind {sorted(unknown)!r}")
    keys = _identifier_keys(values["kind"], values["value"])
    columns = {}
    if {"lat", "lon"} <= set(values.columns):  # Cypher makes the point (``location``)
        located = ((values["kind"] == "address") & values["lat"].notna()
                   & values["lon"].notna()).to_numpy()
        columns.update(lat=values["lat"].astype(float).where(located),
                       lon=values["lon"].astype(float).where(located))
    typed = hubs(Identifiers(analysis.identifiers.uses.iloc[:0], analysis.identifiers.values))
    typed = typed[typed["scope"] == "value"].drop_duplicates(["kind", "key"], keep="last")
    hub = values[["kind", "value"]].merge(
        typed.rename(columns={"key": "value"})[["kind", "value", "type"]],
        on=["kind", "value"], how="left")["type"]
    columns.update(value=values["value"], display=values["display"],
                   shops=values["shops"].astype(np.int64), hub=hub.astype(object).where(
                       hub.notna(), None), kind=values["kind"],
                   key=pd.Series(keys, dtype=object))
    table = _columns(columns, key=keys)
    kinds = values["kind"].to_numpy()
    out = {}
    for kind in KIND_LABELS:
        where = np.flatnonzero(kinds == kind)
        out[(IDENTIFIER, kind)] = _Columns(
            *({k: [v[i] for i in where] for k, v in part.items()}
              for part in (table.ends, table.props, table.times)))
    return out


def _rel_rows(analysis, matches: list[dict]) -> dict[tuple[str, str, str], _Columns]:
    dataset, ids = analysis.dataset, analysis.identifiers
    rels: dict[tuple[str, str, str], _Columns] = {}
    accounts = dataset.accounts.drop_duplicates("account_id", keep="last")
    rels[("OPERATES", ACCOUNT, SHOP)] = _columns(
        {}, src=_bounded(accounts["account_id"]), dst=_bounded(accounts["shop_id"]))

    uses = ids.uses
    by_account = uses["account_id"].map(lambda a: isinstance(a, str)).to_numpy(dtype=bool)
    for owner, mask in ((ACCOUNT, by_account), (SHOP, ~by_account)):
        part = uses[mask]
        src = part["account_id"] if owner == ACCOUNT else part["shop_id"]
        part = part.assign(_src=src).drop_duplicates(["_src", "kind", "value"], keep="last")
        part = part.reset_index(drop=True)
        source = [f"{s} line {n}" for s, n in
                  zip(part["source"].tolist(), part["line"].tolist(), strict=True)]
        rels[("USES", owner, IDENTIFIER)] = _columns(
            {"first_seen": part["first_seen"], "last_seen": part["last_seen"],
             "rows": part["rows"].astype(np.int64), "source": source},
            src=_bounded(part["_src"]), dst=_identifier_keys(part["kind"], part["value"]))

    similar = analysis.links.similar
    swap = (similar["value_a"] > similar["value_b"]).to_numpy()
    low = similar["value_a"].where(~swap, similar["value_b"])
    high = similar["value_b"].where(~swap, similar["value_a"])
    pairs = pd.DataFrame({"kind": similar["kind"], "low": low, "high": high,
                          "score": similar["score"].astype(float), "method": similar["method"]})
    pairs = pairs.drop_duplicates(["kind", "low", "high"], keep="last").reset_index(drop=True)
    rels[("SIMILAR", IDENTIFIER, IDENTIFIER)] = _columns(
        {"score": pairs["score"], "method": pairs["method"]},
        src=_identifier_keys(pairs["kind"], pairs["low"]),
        dst=_identifier_keys(pairs["kind"], pairs["high"]))
    rels[("LINKED", SHOP, SHOP)] = _linked_rows(analysis)
    rels[("MATCHES", SHOP, SHOP)] = _Columns.of_records(matches, ("src", "dst"))
    return rels



def _signups(analysis) -> tuple[dict[str, dict], list[dict]]:
    """Sign-up risk of every shop: ``risk``/``flag`` per shop and MATCHES rows.

    A shop's risk does not depend on the report's ``since`` (it only selects
    the shops), so scoring every shop once serves every ``since``.
    """
    shops = analysis.dataset.shops
    if not hasattr(analysis, "signups") or not len(shops):
        return {}, []
    frame = analysis.signups(shops["created_at"].min())
    scores, rows = {}, []
    for shop_id, risk, flag, found in zip(frame["shop_id"], frame["risk"], frame["flag"],
                                          frame["matches"], strict=True):
        scores[shop_id] = {"risk": risk, "flag": flag}
        for rank, match in enumerate(found, 1):
            rows.append({"src": bounded_key(shop_id), "dst": bounded_key(match["banned_shop_id"]),
                         **_props({
                "rank": rank, "score": match["score"], "hops": match["hops"],
                "path": match["path"],
                "evidence": [e["detail"] for e in match.get("evidence", [])],
                **_verdict_props(match.get("verdict"), match.get("new_evidence"))})})
    return scores, rows


def _verdict_props(verdict: dict | None, new: list[dict] | None = None) -> dict:
    """An analyst's verdict as relationship properties (issue 20; none without one)."""
    if not verdict:
        return {}
    out = {"verdict": verdict["verdict"], "verdict_id": verdict["verdict_id"],
           "verdict_by": verdict["by"], "verdict_at": verdict["at"],
           "verdict_note": verdict.get("note")}
    if new:
        out["new_evidence"] = [e["detail"] for e in new]
    return out


def _pair_verdicts(analysis) -> dict[tuple[str, str], dict]:
    """The verdicts in force by (smaller shop id, larger), as reports show them."""
    force = getattr(analysis, "verdicts", None)
    if force is None or not len(force):
        return {}
    out = {}
    for v in force.to_dict("records"):
        key = tuple(sorted((v["shop_id"], v["banned_shop_id"])))
        out[key] = {"verdict": v["verdict"], "verdict_id": v["verdict_id"], "by": v["by"],
                    "at": v["at"], "note": v["note"]}
    return out


def _factory_ids(analysis) -> dict[str, dict]:
    """``factory_id`` per shop from ``analysis.factories()``, when the analysis has it."""
    if not hasattr(analysis, "factories"):
        return {}
    found = analysis.factories()
    records = found.to_dict("records") if isinstance(found, pd.DataFrame) else list(found)
    out = {}
    for record in records:
        members = record.get("shops")
        if members is None and "shop_id" in record:
            members = [record["shop_id"]]
        for shop_id in members if isinstance(members, (list, tuple, np.ndarray)) else []:
            out[shop_id] = {"factory_id": record["factory_id"]}
    return out


def _linked_rows(analysis) -> _Columns:
    """LINKED rows: per candidate pair its probability, kinds and evidence lines
    (strongest first), and an analyst's verdict on it."""
    pairs = analysis.resolution.pairs
    if not len(pairs):
        return _Columns({"src": [], "dst": []})
    values = analysis.identifiers.values
    shown = values["display"].where(values["display"].notna() & (values["display"] != ""),
                                    values["value"])
    display = dict(zip((values["kind"] + ":" + values["value"]).tolist(), shown.tolist(),
                       strict=True))
    evidence = analysis.evidence
    kinds = evidence["kind"].tolist()
    texts = []
    for kind, va, vb, method, score, shops, weight in zip(
            kinds, evidence["value_a"].tolist(), evidence["value_b"].tolist(),
            evidence["method"].tolist(), evidence["score"].tolist(),
            evidence["shops"].tolist(), evidence["weight"].tolist(), strict=True):
        a = display.get(f"{kind}:{va}", va)
        what = a if va == vb else (f"{a} ~ {display.get(f'{kind}:{vb}', vb)} "
                                   f"({method} {score:.2f})")
        texts.append(f"{kind}: {what}, {int(shops)} shops, {weight:+.1f} bits")
    lines = pd.DataFrame({"a": evidence["shop_a"].to_numpy(), "b": evidence["shop_b"].to_numpy(),
                          "w": -evidence["weight"].astype(float).to_numpy(), "t": texts})
    lines = lines.sort_values(["a", "b", "w", "t"], kind="stable")
    shop_a, shop_b = pairs["shop_a"].tolist(), pairs["shop_b"].tolist()
    p = pairs["p"].astype(float)
    verdicts = _pair_verdicts(analysis)
    found = [verdicts.get(pair) for pair in zip(shop_a, shop_b, strict=True)]
    columns = {name: [_verdict_props(v).get(name) if v else None for v in found]
               for name in ("verdict", "verdict_id", "verdict_by", "verdict_at", "verdict_note")
               } if verdicts else {}
    return _columns(columns, ready={
        "p": p.astype(object).where(p.notna(), None).tolist(),
        "kinds": [[k for k in text.split(",") if k] for text in pairs["kinds"].astype(str)],
        "merged": (p >= MERGE).tolist(),
        "evidence": _texts_of(lines, pairs["shop_a"], pairs["shop_b"])},
        src=_bounded(pairs["shop_a"]), dst=_bounded(pairs["shop_b"]))


def _texts_of(lines: pd.DataFrame, shop_a: pd.Series, shop_b: pd.Series) -> list[list[str]]:
    """Per pair (``shop_a``, ``shop_b``), the texts ``t`` of its ``lines`` (sorted by
    pair: each pair's lines are one run), in their order; [] for a pair without lines.

    >>> lines = pd.DataFrame({"a": ["S1", "S1", "S2"], "b": ["S2", "S2", "S3"],
    ...                       "t": ["x", "y", "z"]})
    >>> _texts_of(lines, pd.Series(["S2", "S1", "S1"]), pd.Series(["S3", "S3", "S2"]))
    [['z'], [], ['x', 'y']]
    """
    if not len(lines):
        return [[] for _ in range(len(shop_a))]
    a, b = lines["a"].to_numpy(dtype=object), lines["b"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
    texts = lines["t"].tolist()
    runs = [texts[i:j] for i, j in zip(starts.tolist(), [*starts[1:].tolist(), len(texts)],
                                       strict=True)]
    at = pd.MultiIndex.from_arrays([a[starts], b[starts]]).get_indexer(
        pd.MultiIndex.from_arrays([shop_a.to_numpy(dtype=object), shop_b.to_numpy(dtype=object)]))
    return [runs[i] if i >= 0 else [] for i in at.tolist()]
