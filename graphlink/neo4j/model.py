"""The graph model in Neo4j: labels, relationship types, node keys, the schema
(constraints and indexes), the MERGE statements, and Python values as property values.

The model itself is described in :mod:`graphlink.neo4j`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from functools import lru_cache

import numpy as np
import pandas as pd
from neo4j.spatial import WGS84Point

from graphlink.core.schema import node_id

KIND_LABELS: dict[str, str] = {
    "device": "Device",
    "ip": "IP",
    "phone": "Phone",
    "email": "Email",
    "id_number": "IdNumber",
    "birth_date": "BirthDate",
    "shop_name": "ShopName",
    "holder_name": "HolderName",
    "address": "Address",
    "payment": "Payment",
}

SHOP, ACCOUNT, IDENTIFIER, META = "Shop", "Account", "Identifier", "GraphlinkMeta"
# label -> the property that identifies a node to a reader (shop id, account id,
# ``device:d-88``: the node key of Analysis.graph, canonical value). Shops,
# accounts and identifiers are MERGEd on ``key`` (MERGE_KEY), their id bounded.
NODE_LABELS: dict[str, str] = {SHOP: "shop_id", ACCOUNT: "account_id", IDENTIFIER: "key",
                               **{label: "value" for label in KIND_LABELS.values()}}
MERGE_KEY = "key"
REL_TYPES = ("OPERATES", "USES", "SIMILAR", "LINKED", "MATCHES")
BANNED = "Banned"  # extra label of shops whose status is banned (Browser colours it)
_OWNED = f"n:{SHOP} OR n:{ACCOUNT} OR n:{IDENTIFIER}"

#: longest id (characters) used as a key as it is; at most 4 bytes a character in
#: UTF-8, well under Neo4j's index key limit (8,167 bytes for a range index)
KEY_LIMIT = 1000
_HASHED = "sha256:"


def bounded_key(text: str) -> str:
    """``text``, or ``sha256:`` and its SHA-256 in hex when it is longer than
    :data:`KEY_LIMIT` characters (or itself starts with ``sha256:``, so that no
    short id can collide with a hashed one).

    >>> bounded_key("S000001")
    'S000001'
    >>> bounded_key("A" * 10_000)[:15], len(bounded_key("A" * 10_000))
    ('sha256:85757d9e', 71)
    """
    if len(text) <= KEY_LIMIT and not text.startswith(_HASHED):
        return text
    return _HASHED + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _identifier_key(kind: str, value: str) -> str:
    """The ``key`` of an identifier node: ``device:d-88``, its value bounded."""
    return node_id(kind, bounded_key(value))


# Indexed properties hold only bounded or validated values: ``key``, shop
# ``status`` (one of three words), numbers and dates. Ids (and the operator,
# community and factory ids made from shop ids) can be of any length.
_CONSTRAINTS: dict[str, tuple[str, str]] = {
    "graphlink_shop_key": (SHOP, MERGE_KEY),
    "graphlink_account_key": (ACCOUNT, MERGE_KEY),
    "graphlink_identifier_key": (IDENTIFIER, MERGE_KEY),
    "graphlink_meta_key": (META, "key"),
}
_INDEXES: dict[str, tuple[str, str]] = {
    **{f"graphlink_shop_{prop}": (SHOP, prop) for prop in ("status", "created_at", "risk")},
    "graphlink_identifier_shops": (IDENTIFIER, "shops"),
}
SCHEMA_STATEMENTS = (
    *(f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
      for name, (label, prop) in _CONSTRAINTS.items()),
    *(f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
      for name, (label, prop) in _INDEXES.items()),
    "CALL db.awaitIndexes(300)",
)


def _drop_old_schema(session) -> None:
    """Drop graphlink constraints and indexes that earlier versions made and this one
    does not want (on unbounded values: ``Shop.shop_id``, ``Phone.value``, ...)."""
    for show, drop, wanted in (("SHOW CONSTRAINTS", "CONSTRAINT", _CONSTRAINTS),
                               ("SHOW INDEXES WHERE owningConstraint IS NULL", "INDEX",
                                _INDEXES)):
        for record in list(session.run(show)):
            name = record["name"]
            if not name.startswith("graphlink_"):
                continue
            label, prop = wanted.get(name, (None, None))
            if record["labelsOrTypes"] != [label] or record["properties"] != [prop]:
                session.run(f"DROP {drop} `{name}` IF EXISTS").consume()


def _node_statement(label: str, kind: str | None = None) -> str:
    """The statement that MERGEs a batch of ``label`` nodes (identifiers: of one
    ``kind``, whose label is then a constant of the statement) on their keys."""
    if label not in (SHOP, ACCOUNT, IDENTIFIER) or (kind is not None) != (label == IDENTIFIER):
        raise ValueError(f"unknown node label {label!r} (kind {kind!r})")
    if kind is not None and kind not in KIND_LABELS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    extra = f", n:{KIND_LABELS[kind]}" if kind else ""
    if label == SHOP:
        extra = (f" REMOVE n:{BANNED} FOREACH (_ IN CASE WHEN row.props.status = 'banned' "
                 f"THEN [1] ELSE [] END | SET n:{BANNED})")
    if kind == "address":  # a WGS84 point where the address has coordinates
        extra += (" FOREACH (_ IN CASE WHEN row.props.lat IS NULL OR row.props.lon IS NULL "
                  "THEN [] ELSE [1] END | SET n.location = point({latitude: row.props.lat, "
                  "longitude: row.props.lon}))")
    return (f"UNWIND $rows AS row MERGE (n:{label} {{{MERGE_KEY}: row.key}}) "
            f"SET n = row.props, n.push_id = $push_id{extra} {_SET_TIMES.format('n')} "
            "RETURN count(n) AS n")


def _rel_statement(rel: str, src: str, dst: str) -> str:
    """The statement that MERGEs a batch of ``rel`` relationships between nodes found
    by their keys."""
    if rel not in REL_TYPES:
        raise ValueError(f"unknown relationship type {rel!r}")
    if not {src, dst} <= {SHOP, ACCOUNT, IDENTIFIER}:
        raise ValueError(f"unknown node label {src!r} or {dst!r}")
    return (f"UNWIND $rows AS row "
            f"MATCH (a:{src} {{{MERGE_KEY}: row.src}}) "
            f"MATCH (b:{dst} {{{MERGE_KEY}: row.dst}}) "
            f"MERGE (a)-[r:{rel}]->(b) SET r = row.props, r.push_id = $push_id "
            f"{_SET_TIMES.format('r')} "
            "RETURN count(r) AS n")


_TEMPORAL = re.compile(r"(_at|_seen|_date)$")


@lru_cache(maxsize=4096)
def _temporal(name: str) -> bool:
    return bool(_TEMPORAL.search(name))


def _prop(name: str, value: object) -> object:
    """A Python value as a Neo4j property value (None: leave the property unset).

    Text in a property whose name ends in ``_at``, ``_seen`` or ``_date`` is
    read as an ISO date-time.

    >>> _prop("created_at", "2025-01-02T10:00:00")
    datetime.datetime(2025, 1, 2, 10, 0)
    >>> _prop("shops", np.int64(3)), _prop("score", float("nan")), _prop("tags", ("a", "b"))
    (3, None, ['a', 'b'])
    """
    kind = type(value)
    if kind is str:
        return _temporal_text(name, value) if _temporal(name) else value
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return _moment(value)
    return _other(name, value)


def _temporal_text(name: str, value: str) -> object:
    """Text in a temporal property: a date-time when it reads as ISO, else the text."""
    try:
        return _prop(name, datetime.fromisoformat(value))
    except ValueError:
        return value


def _moment(value: pd.Timestamp | datetime | date) -> datetime:
    """A timestamp, date-time or date as a date-time without a zone (zoned: in UTC)."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)


def _other(name: str, value: object) -> object:
    """:func:`_prop` of a value that is neither a plain scalar nor a moment: numpy
    scalars, subclasses of str, int and float, lists, points, else its text."""
    if isinstance(value, np.generic):
        return _prop(name, value.item())
    if isinstance(value, (str, int, float)):  # subclasses
        return _prop(name, str(value) if isinstance(value, str) else value.real)
    if isinstance(value, (list, tuple, set, np.ndarray)):
        items = [_prop("", v) for v in value]
        return [v for v in items if v is not None]
    if isinstance(value, WGS84Point):
        return value
    return str(value)


def _props(attrs: Mapping[str, object], **extra: object) -> dict:
    """``{"props": ..., "times": ...}``: property values, and temporal ones as ISO text.

    Temporal values travel as text and become ``LocalDateTime`` in Cypher: the
    driver's own datetime encoding costs three times as much per row.

    >>> _props({"name": "S", "created_at": "2025-01-02", "gone": None})
    {'props': {'name': 'S'}, 'times': {'created_at': '2025-01-02T00:00:00'}}
    """
    props, times = {}, {}
    for key, value in {**attrs, **extra}.items():
        converted = _prop(str(key), value)
        if isinstance(converted, datetime):
            times[str(key)] = converted.isoformat()
        elif converted is not None:
            props[str(key)] = converted
    return {"props": props, "times": times}


_SET_TIMES = "FOREACH (k IN keys(row.times) | SET {0}[k] = localdatetime(row.times[k]))"
