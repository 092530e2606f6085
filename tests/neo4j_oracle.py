"""The rows of a Neo4j push built the slow, obvious way: from ``Analysis.graph``
(networkx), node by node and edge by edge, as graphlink did before issue 19.

:func:`graphlink.neo4j.plan._plan` builds the same rows column by column from the
analysis's tables without the graph; tests compare the two (networkx as the
oracle). Addresses' ``location`` is left out: Cypher makes it from ``lat`` and
``lon``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pandas as pd

from graphlink import neo4j as gn
from graphlink.core.schema import NODE_ACCOUNT, NODE_SHOP, node_id
from graphlink.linkage.resolve import MERGE
from graphlink.neo4j.model import _identifier_key, _props
from graphlink.neo4j.plan import _factory_ids, _pair_verdicts, _plan, _signups, _verdict_props


def _table_extras(table: pd.DataFrame, key: str, keep: tuple[str, ...] | None = None) -> dict:
    columns = [c for c in table.columns
               if c != key and not str(c).startswith("_") and (keep is None or c in keep)]
    if not columns or not len(table):
        return {}
    frame = table.drop_duplicates(key).set_index(key)[columns]
    return {k: dict(zip(columns, row, strict=True))
            for k, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True)}


def _coordinates(analysis) -> dict[str, dict]:
    values = analysis.identifiers.values
    if not {"lat", "lon"} <= set(values.columns):
        return {}
    rows = values[(values["kind"] == "address") & values["lat"].notna() & values["lon"].notna()]
    return {v: {"lat": float(la), "lon": float(lo)}
            for v, la, lo in zip(rows["value"], rows["lat"], rows["lon"], strict=True)}


def _linked(analysis, display: dict[str, str]) -> list[dict]:
    pairs = analysis.resolution.pairs
    if not len(pairs):
        return []
    lines: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for row in analysis.evidence.itertuples(index=False):
        a = display.get(node_id(row.kind, row.value_a), row.value_a)
        b = display.get(node_id(row.kind, row.value_b), row.value_b)
        what = a if row.value_a == row.value_b else f"{a} ~ {b} ({row.method} {row.score:.2f})"
        text = f"{row.kind}: {what}, {int(row.shops)} shops, {row.weight:+.1f} bits"
        lines[(row.shop_a, row.shop_b)].append((float(row.weight), text))
    out = []
    verdicts = _pair_verdicts(analysis)
    for row in pairs.itertuples(index=False):
        evidence = [t for _, t in sorted(lines.get((row.shop_a, row.shop_b), []),
                                         key=lambda wt: (-wt[0], wt[1]))]
        kinds = [k for k in str(row.kinds).split(",") if k]
        out.append({"src": gn.bounded_key(row.shop_a), "dst": gn.bounded_key(row.shop_b),
                    **_props({"p": float(row.p), "kinds": kinds,
                                 "merged": bool(row.p >= MERGE), "evidence": evidence,
                                 **_verdict_props(verdicts.get((row.shop_a, row.shop_b)))})})
    return out


def graph_rows(analysis) -> dict[str, list[dict]]:
    """Rows per node label / relationship type (and ends), from ``analysis.graph``."""
    graph, dataset = analysis.graph, analysis.dataset
    shop_extra = _table_extras(dataset.shops, "shop_id")
    account_extra = _table_extras(dataset.accounts, "account_id", keep=("created_at",))
    coords = _coordinates(analysis)
    scores, matches = _signups(analysis)
    factory = _factory_ids(analysis)
    out: dict[str, list[dict]] = defaultdict(list)
    display: dict[str, str] = {}
    for key, attrs in graph.nodes(data=True):
        kind = attrs.get("kind")
        own = {k: v for k, v in attrs.items() if k != "kind"}
        if kind == NODE_SHOP:
            shop_id = attrs["shop_id"]
            props = _props({**shop_extra.get(shop_id, {}), **factory.get(shop_id, {}), **own,
                               **scores.get(shop_id, {})}, key=gn.bounded_key(shop_id))
            out["Shop"].append({"key": gn.bounded_key(shop_id), **props})
        elif kind == NODE_ACCOUNT:
            account_id = attrs["account_id"]
            props = _props({**account_extra.get(account_id, {}), **own},
                              key=gn.bounded_key(account_id))
            out["Account"].append({"key": gn.bounded_key(account_id), **props})
        else:
            extra = coords.get(attrs["value"], {}) if kind == "address" else {}
            ident = _identifier_key(kind, attrs["value"])
            out["Identifier"].append({"key": ident,
                                      **_props({**extra, **own}, kind=kind, key=ident)})
            display[key] = attrs.get("display") or attrs["value"]
    for u, v, attrs in graph.edges(data=True):
        rel = attrs["rel"]
        a, b = graph.nodes[u], graph.nodes[v]
        props = _props({k: val for k, val in attrs.items() if k != "rel"})
        if rel == "OPERATES":
            if a["kind"] != NODE_ACCOUNT:
                a, b = b, a
            out["OPERATES Account->Shop"].append({"src": gn.bounded_key(a["account_id"]),
                                                  "dst": gn.bounded_key(b["shop_id"]), **props})
        elif rel == "USES":
            if a["kind"] not in (NODE_SHOP, NODE_ACCOUNT):
                a, b = b, a
            owner = "Shop" if a["kind"] == NODE_SHOP else "Account"
            src = a["shop_id"] if owner == "Shop" else a["account_id"]
            out[f"USES {owner}->Identifier"].append(
                {"src": gn.bounded_key(src), "dst": _identifier_key(b["kind"], b["value"]),
                 **props})
        else:
            if a["value"] > b["value"]:
                a, b = b, a
            out["SIMILAR Identifier->Identifier"].append(
                {"src": _identifier_key(a["kind"], a["value"]),
                 "dst": _identifier_key(b["kind"], b["value"]), **props})
    out["LINKED Shop->Shop"] = _linked(analysis, display)
    out["MATCHES Shop->Shop"] = matches
    return {k: v for k, v in out.items() if v}


def plan_rows(analysis) -> dict[str, list[dict]]:
    """The rows of :func:`graphlink.neo4j.plan._plan`, under the same names (identifier
    steps of every kind together)."""
    out: dict[str, list[dict]] = defaultdict(list)
    for step in _plan(analysis):
        out[step.name if step.kind == "node" else step.label].extend(step.rows)
    return dict(out)


def canonical(rows: list[dict]) -> Counter:
    """Rows as a multiset of JSON text (property order ignored, no ``location``)."""
    def one(row: dict) -> str:
        row = {k: ({p: v for p, v in val.items() if p != "location"} if isinstance(val, dict)
                   else val) for k, val in row.items()}
        return json.dumps(row, sort_keys=True, ensure_ascii=False, default=repr)
    return Counter(one(r) for r in rows)
