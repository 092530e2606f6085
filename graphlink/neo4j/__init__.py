"""Neo4j: push the analysed identity graph, and run the named queries of ``queries/``.

The graph model in Neo4j, in one place (docs/neo4j.md repeats it for analysts).
It is DESIGN.md's identifier model: shops and accounts link to identifier
nodes keyed by (kind, canonical value) with time-stamped edges.

Nodes (label: identifying property; other properties). Every shop, account
and identifier node is MERGEd on ``key`` (unique per label), a bounded form
of its id: the id itself, or for an id longer than :data:`KEY_LIMIT`
characters (or starting with ``sha256:``) ``sha256:`` and the SHA-256 of the
id in hex (:func:`bounded_key`). Neo4j cannot index a value of more than
about 8 KB, and field values are written by the people under investigation;
the full id and value are kept in properties that are not indexed.

- ``Shop``: ``shop_id``; every attribute of the shop node of
  :attr:`graphlink.Analysis.graph` (``name``, ``status``, ``created_at``,
  ``banned_at``, ``operator_id``, ``community_id``, ...), the shop table's
  other columns (``ban_reason``, ``category``, extra columns), the sign-up
  ``risk`` and ``flag`` of :meth:`graphlink.Analysis.signups` (a shop's risk
  does not depend on ``since``, so every shop is scored once) and the
  ``factory_id`` of :meth:`graphlink.Analysis.factories`, when the analysis
  has them. Banned shops also carry the label ``Banned``.
- ``Account``: ``account_id``; ``created_at``.
- ``Identifier`` plus one kind label: ``Device``, ``IP``, ``Phone``,
  ``Email``, ``IdNumber``, ``HolderName``, ``Address``, ``Payment``; key
  ``key`` (``device:d-88``, the node key of the networkx graph, with the
  value bounded: ``address:sha256:<hex>`` for a very long address) and
  ``value`` (canonical value, in full); ``kind``, ``display``
  (masked where sensitive), ``shops`` (how many shops use it), ``hub`` (hub
  type when it is too widely shared to be evidence), ``lat``/``lon`` and
  ``location`` (a WGS84 point) for addresses with coordinates.
- ``GraphlinkMeta``: ``key`` = ``"graph"``; one node saying which dataset was
  pushed, when, by which graphlink version, and whether the push completed.

Relationships

- ``(:Account)-[:OPERATES]->(:Shop)``
- ``(:Account|Shop)-[:USES {first_seen, last_seen, rows, source}]->(:Identifier)``:
  accounts use phones, emails, ID numbers, holder names, devices and IPs;
  shops use dispatch addresses, payment endpoints and payee names. A shop's
  identifiers are therefore ``(s:Shop)<-[:OPERATES*0..1]-()-[:USES]->(i)``.
- ``(:Identifier)-[:SIMILAR {score, method}]->(:Identifier)``: same kind,
  fuzzy match (from the smaller value to the larger).
- ``(:Shop)-[:LINKED {p, kinds, merged, evidence}]->(:Shop)``: the combined
  pair evidence of :mod:`graphlink.linkage.resolve` (from the smaller shop id to the
  larger): ``p`` the probability of one operator, ``kinds`` the identifier
  kinds behind it, ``merged`` whether ``p`` reaches the operator merge
  threshold, ``evidence`` one human-readable line per piece of evidence.
- ``(:Shop)-[:MATCHES {rank, score, hops, path, evidence}]->(:Shop)``: a
  shop's sign-up matches with banned shops, best first, as in
  ``graphlink report signups``.
- On both, when an analyst gave one (``graphlink review``): ``verdict``
  (``confirmed`` or ``dismissed``), ``verdict_id``, ``verdict_by``,
  ``verdict_at``, ``verdict_note``; a dismissed match flagged again on new
  evidence also has ``new_evidence``. A dismissed match is no MATCHES
  relationship (it no longer counts); its LINKED pair keeps the verdict.

Temporal values are Cypher ``LocalDateTime`` (compare them with
``localdatetime($since)``). Labels and relationship types come only from
the fixed tables of this module; values always travel as parameters.

A push makes the database's graphlink graph equal to one analysis: it MERGEs
every node and relationship on its key and replaces its properties
(``SET n = row``), stamping each with the push's ``push_id``, then deletes the
graphlink nodes and relationships that carry an older ``push_id``. So pushing
the same data twice leaves the same graph, and a push after an interrupted
one converges to it. Nodes and relationships without ``push_id`` (made by
someone else) are never touched.

The rows are built column by column from the analysis's tables (shops,
accounts, ``identifiers.values`` and ``uses``, ``links.similar``,
``resolution.pairs`` and ``evidence``): the same rows as a walk over
:attr:`graphlink.Analysis.graph`, which tests/neo4j_oracle.py keeps as the
oracle, without building the networkx graph (minutes at 300,000 shops).

>>> sorted(KIND_LABELS.values())[:3]
['Address', 'BirthDate', 'Device']
>>> [q.name for q in list_queries()][:2]
['banned_reappearing', 'evidence_path']
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import neo4j as _neo4j
import neo4j.exceptions as _nx
import numpy as np
import pandas as pd
from neo4j.graph import Node, Relationship
from neo4j.graph import Path as GraphPath
from neo4j.spatial import WGS84Point

from graphlink import __version__
from graphlink.core.errors import ConfigError, Neo4jError
from graphlink.core.schema import node_id
from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import hubs
from graphlink.linkage.resolve import MERGE
from graphlink.reports.report import Report

__all__ = [
    "KIND_LABELS", "NODE_LABELS", "REL_TYPES", "DEFAULT_URI", "DEFAULT_USER",
    "PushSummary", "Query", "push", "run_query", "list_queries", "get_query",
    "query_report", "queries_report", "fingerprint", "clear", "queries_dir",
    "grass_json", "render_guide", "bounded_key", "KEY_LIMIT", "MERGE_KEY",
]

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "graphlink-dev"  # the local development server's (scripts/neo4j-local)

HOW_TO_START = (
    "Start the local server with `scripts/neo4j-local start` (docs/neo4j.md), or run "
    "`docker run -p7474:7474 -p7687:7687 -e NEO4J_AUTH=neo4j/graphlink-dev neo4j:5`, "
    "or point --uri / NEO4J_URI at your server."
)

# ---------------------------------------------------------------- the model ---

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


# ------------------------------------------------------------ connection ---


@dataclass(frozen=True)
class _Settings:
    uri: str
    user: str
    password: str = field(repr=False)
    database: str | None = None

    @property
    def where(self) -> str:
        """The URI without any user info, safe to print."""
        return _safe_uri(self.uri)


def _settings(uri, user, password, database) -> _Settings:
    return _Settings(
        uri=uri or os.environ.get("NEO4J_URI") or DEFAULT_URI,
        user=user or os.environ.get("NEO4J_USER") or DEFAULT_USER,
        password=password or os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD,
        database=database or os.environ.get("NEO4J_DATABASE") or None,
    )


def _safe_uri(uri: str) -> str:
    """``uri`` without user name and password.

    >>> _safe_uri("bolt://neo4j:secret@db.example:7687")
    'bolt://db.example:7687'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _scrub(text: str, settings: _Settings) -> str:
    """``text`` with the password (and a URI with user info) removed."""
    if len(settings.password) >= 3:
        text = text.replace(settings.password, "***")
    return text.replace(settings.uri, settings.where) if settings.uri else text


def _error(settings: _Settings, exc: Exception, doing: str) -> Neo4jError:
    where = settings.where
    if isinstance(exc, _nx.AuthError):
        message = (f"Neo4j at {where} rejected the user name or password (from --user/--password "
                   "or NEO4J_USER/NEO4J_PASSWORD). For the local server the password is "
                   "NEO4J_PASSWORD at its first start (default graphlink-dev); "
                   "`scripts/neo4j-local reset` starts it afresh.")
    elif isinstance(exc, (_nx.ServiceUnavailable, _nx.SessionExpired, OSError)):
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        message = f"cannot reach Neo4j at {where} while {doing} ({reason}). {HOW_TO_START}"
    elif isinstance(exc, _nx.Neo4jError):
        message = f"Neo4j refused {doing}: {exc.code}: {exc.message}"
    elif isinstance(exc, (_nx.ConfigurationError, ValueError)):
        message = f"bad Neo4j connection settings for {where}: {exc}"
    else:
        message = f"Neo4j error while {doing}: {type(exc).__name__}: {exc}"
    return Neo4jError(_scrub(message, settings))


_DRIVER_ERRORS = (_nx.Neo4jError, _nx.DriverError, OSError)


@contextmanager
def _connect(settings: _Settings, max_retry_time: float = 30.0) -> Iterator[_neo4j.Driver]:
    try:
        driver = _neo4j.GraphDatabase.driver(
            settings.uri, auth=(settings.user, settings.password), connection_timeout=10,
            max_transaction_retry_time=max_retry_time, notifications_min_severity="OFF",
            user_agent=f"graphlink/{__version__}")
    except (_nx.ConfigurationError, ValueError) as exc:
        raise _error(settings, exc, "connecting") from None
    try:
        try:
            driver.verify_connectivity()
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, "connecting") from None
        yield driver
    finally:
        driver.close()


# ------------------------------------------------------------------ values ---

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
        if _temporal(name):
            try:
                return _prop(name, datetime.fromisoformat(value))
            except ValueError:
                return value
        return value
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return _prop(name, value.item())
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
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


# -------------------------------------------------------------------- plan ---


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
    out = {(SHOP, None): _columns(columns, key=keys)}

    accounts = dataset.accounts.drop_duplicates("account_id", keep="last")
    accounts = accounts.reset_index(drop=True)
    keys = _bounded(accounts["account_id"])
    columns = {c: accounts[c] for c in _extras(accounts, "account_id", keep=("created_at",))}
    columns["account_id"] = accounts["account_id"]
    columns["key"] = pd.Series(keys, dtype=object)
    out[(ACCOUNT, None)] = _columns(columns, key=keys)

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


# -------------------------------------------------------------------- push ---


@dataclass
class PushSummary:
    """What a push did: counts in Neo4j afterwards, stale data removed, time taken."""

    dataset: str
    uri: str
    nodes: dict[str, int]
    relationships: dict[str, int]
    rows: int
    batches: int
    removed_nodes: int
    removed_relationships: int
    seconds: float
    push_id: str

    def report(self) -> Report:
        rows = ([{"element": "node", "name": k, "count": v} for k, v in self.nodes.items()]
                + [{"element": "relationship", "name": k, "count": v}
                   for k, v in self.relationships.items()])
        payload = {"schema": "graphlink.neo4j-push/1", "dataset": self.dataset, "uri": self.uri,
                   "nodes": self.nodes, "relationships": self.relationships, "rows": self.rows,
                   "batches": self.batches, "removed_nodes": self.removed_nodes,
                   "removed_relationships": self.removed_relationships,
                   "seconds": round(self.seconds, 3), "push_id": self.push_id}
        notes = [f"pushed {self.dataset} to {self.uri}: {_node_total(self.nodes)} nodes, "
                 f"{sum(self.relationships.values())} relationships in {self.seconds:.1f} s "
                 f"({self.batches} batches); removed {self.removed_nodes} stale nodes and "
                 f"{self.removed_relationships} stale relationships"]
        return Report("Neo4j push", payload, rows, ["element", "name", "count"], notes)


Progress = Callable[[str, int, int], None]


def push(analysis, uri: str | None = None, user: str | None = None,
         password: str | None = None, batch_size: int = 5000,
         progress: Progress | None = None, *, database: str | None = None,
         max_retry_time: float = 30.0) -> PushSummary:
    """Load ``analysis`` (a :class:`graphlink.Analysis`) into Neo4j; see the module doc.

    Connection: the arguments, else ``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``
    (``NEO4J_DATABASE``), else the local development server's defaults.
    ``progress(stage, done, total)`` is called after every batch (rows done
    of all rows). ``max_retry_time`` bounds the driver's retries of a failed
    batch (seconds). Raises :class:`graphlink.core.errors.Neo4jError`.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    settings = _settings(uri, user, password, database)
    started = time.monotonic()
    push_id = uuid.uuid4().hex
    steps = _plan(analysis)
    total = sum(len(s.table) for s in steps)
    expected_nodes: dict[str, int] = defaultdict(int)
    expected_rels: dict[str, int] = defaultdict(int)
    for step in steps:
        (expected_nodes if step.kind == "node" else expected_rels)[step.name] += len(step.table)
    dataset = str(analysis.dataset.source or "")
    done = batches = 0
    doing = "creating constraints and indexes"
    with _connect(settings, max_retry_time) as driver:
        try:
            with driver.session(database=settings.database) as session:
                _drop_old_schema(session)
                for statement in SCHEMA_STATEMENTS:
                    session.run(statement).consume()
                doing = "recording the push"
                session.execute_write(_run, f"MERGE (m:{META} {{key: 'graph'}}) "
                                      "SET m.push_id = $push_id, m.complete = false, "
                                      "m.dataset = $dataset, m.started_at = localdatetime(), "
                                      "m.graphlink_version = $version",
                                      push_id=push_id, dataset=dataset, version=__version__)
                for step in steps:
                    for start in range(0, len(step.table), batch_size):
                        batch = step.table.records(start, start + batch_size)
                        doing = (f"loading {step.label} (batch {batches + 1}, "
                                 f"{done} of {total} rows)")
                        written = session.execute_write(_run, step.statement, rows=batch,
                                                        push_id=push_id)
                        if written != len(batch):
                            raise Neo4jError(
                                f"{step.label}: {len(batch) - written} of {len(batch)} rows found "
                                "no endpoint node (was another push running at the same time?)"
                                f"{_PARTIAL}")
                        done += len(batch)
                        batches += 1
                        if progress:
                            progress(step.label, done, total)
                doing = "removing stale data"
                removed_rels = _delete_stale(
                    session, "MATCH ()-[r:" + "|".join(REL_TYPES) + "]->() "
                    "WHERE r.push_id <> $push_id WITH r LIMIT $limit DELETE r "
                    "RETURN count(*) AS n", push_id)
                removed_nodes = _delete_stale(
                    session, f"MATCH (n) WHERE ({_OWNED}) AND n.push_id <> $push_id "
                    "WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS n", push_id)
                doing = "counting the result"
                nodes, rels = _counts(session, push_id)
                found = {**nodes, **rels}
                for name, count in {**expected_nodes, **expected_rels}.items():
                    if found.get(name, 0) != count:
                        raise Neo4jError(
                            f"after the push Neo4j holds {found.get(name, 0)} {name} of this "
                            f"push, expected {count} (was another push running at the same "
                            f"time?){_PARTIAL}")
                session.execute_write(_run, f"MATCH (m:{META} {{key: 'graph'}}) "
                                      "WHERE m.push_id = $push_id SET m.complete = true, "
                                      "m.finished_at = localdatetime(), m.nodes = $nodes, "
                                      "m.relationships = $rels RETURN count(m) AS n",
                                      push_id=push_id, nodes=_node_total(nodes),
                                      rels=sum(rels.values()))
        except _DRIVER_ERRORS as exc:
            error = str(_error(settings, exc, doing))
            if done or doing == "removing stale data":
                error += f" The push stopped part-way ({done} of {total} rows).{_PARTIAL}"
            raise Neo4jError(error) from None
    if progress:
        progress("done", total, total)
    return PushSummary(dataset, settings.where, nodes, rels, total, batches, removed_nodes,
                       removed_rels, time.monotonic() - started, push_id)


# ---------------------------------------------------- neo4j-admin import ---

#: between array elements and labels in the import files (never in graphlink's values)
IMPORT_ARRAY_DELIMITER = "\x1f"
_NO_ITEMS = "\x1e"  # stands for an empty list: neo4j-admin reads an empty array as no value
_IMPORT_TYPES = {str: "string", int: "long", float: "double", bool: "boolean"}
IMPORT_ROWS = 50_000  # rows of an import file made into text at a time


def _import_type(name: str, values: list) -> str:
    """The neo4j-admin type of a property column (ConfigError when one type cannot
    carry it exactly: then push over Bolt)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {list}:
        items = {type(x) for v in values if v is not None for x in v}
        if len(items) <= 1 and items <= set(_IMPORT_TYPES):
            return _IMPORT_TYPES[items.pop() if items else str] + "[]"
    elif len(kinds) == 1 and kinds <= set(_IMPORT_TYPES):
        return _IMPORT_TYPES[kinds.pop()]
    elif not kinds:
        return "string"
    raise ConfigError(f"property {name!r} mixes {sorted(k.__name__ for k in kinds)}: the "
                      "import files cannot carry it exactly; use `graphlink neo4j push`")


def _import_text(value: object, kind: str) -> str | None:
    """One CSV field (None: an empty field, no property)."""
    if value is None:
        return None
    if kind.endswith("[]"):
        items = [_import_text(x, kind[:-2]) for x in value] or [_NO_ITEMS]
        if any(IMPORT_ARRAY_DELIMITER in x or x == _NO_ITEMS and value for x in items):
            raise ConfigError("a list value holds the import files' delimiter U+001F; use "
                              "`graphlink neo4j push`")
        return IMPORT_ARRAY_DELIMITER.join(items)
    if kind == "boolean":
        return "true" if value else "false"
    return repr(value) if kind == "double" else str(value)


def _quoted(text: str | None) -> str:
    return "" if text is None else '"' + text.replace('"', '""') + '"'


def write_import(analysis, folder: str | Path) -> dict:
    """Write the graph a push would make as CSV files for ``neo4j-admin database
    import full`` (an offline first load into an empty database), plus
    ``import.json`` (push id, counts, the files) and ``neo4j-admin.args``.

    Every node and relationship carries the ``push_id`` of ``import.json``, as
    after a push; :func:`finish_import` then creates the constraints and indexes,
    restores empty lists and marks the graph complete, and a later push
    MERGEs on top of it as on any pushed graph. Returns the manifest.
    """
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    push_id = uuid.uuid4().hex
    files, empties, nodes, rels = [], [], defaultdict(int), defaultdict(int)
    steps = _plan(analysis)
    for number in range(1, len(steps) + 1):
        step = steps[number - 1]
        steps[number - 1] = None  # its rows go once written (all of them: gigabytes at 300k)
        table = step.table
        names = [n for n in table.props if n != MERGE_KEY]
        for name in [*names, *table.times]:
            if ":" in name or "\n" in name or "\r" in name:
                raise ConfigError(f"property name {name!r} cannot be written to the import "
                                  "files; use `graphlink neo4j push`")
        kinds = {n: _import_type(n, table.props[n]) for n in names}
        for n in table.times:
            if any(v is not None for v in table.props.get(n, [])):
                raise ConfigError(f"property {n!r} mixes dates and text; use "
                                  "`graphlink neo4j push`")
            kinds[n] = "localdatetime"
        columns = [n for n in kinds if n not in table.times] + list(table.times)
        empties += [(step.kind, step.name, n) for n in names if kinds[n].endswith("[]")
                    and any(v == [] for v in table.props[n])]
        if step.kind == "node":
            head = [f"{MERGE_KEY}:ID({step.name})", ":LABEL"]
            if step.kind_of == "address":
                head.append("location:point{crs:WGS-84}")
            nodes[step.name] += len(table)
        else:
            src, dst = step.ends
            head = [f":START_ID({src})", f":END_ID({dst})", ":TYPE"]
            rels[step.name] += len(table)
        head += [f"{n}:{kinds[n]}" for n in columns] + ["push_id:string"]
        name = f"{number:02d}-{step.kind}-{step.label.replace(' ', '-').replace('>', '')}.csv"
        with open(folder / name, "w", encoding="utf-8", newline="") as out:
            out.write(",".join(_quoted(h) for h in head) + "\n")
            tail = "," + _quoted(push_id) + "\n"
            for start in range(0, len(table), IMPORT_ROWS):
                rows = slice(start, start + IMPORT_ROWS)  # the fields of a slice at a time
                values = [[_quoted(_import_text(v, kinds[n])) for v in
                           (table.times[n] if n in table.times else table.props[n])[rows]]
                          for n in columns]
                for fields in zip(*_import_lead(step, rows), *values, strict=True):
                    out.write(",".join(f or "" for f in fields) + tail)
        files.append({"kind": step.kind, "file": name})
    args = ["--overwrite-destination=true", "--array-delimiter=U+001F",
            "--multiline-fields=true",
            *(f"--{'nodes' if f['kind'] == 'node' else 'relationships'}="
              f"{folder.resolve() / f['file']}" for f in files)]
    manifest = {"schema": "graphlink.neo4j-import/1", "push_id": push_id,
                "dataset": str(analysis.dataset.source or ""), "graphlink_version": __version__,
                "nodes": dict(nodes), "relationships": dict(rels), "files": files,
                "empty_lists": empties}
    (folder / "import.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (folder / "neo4j-admin.args").write_text("\n".join(args) + "\n", encoding="utf-8")
    return manifest


def _import_lead(step: _Step, rows: slice) -> list[list[str | None]]:
    """The first fields of the import file's ``rows``: a node's key, labels (and an
    address's point), a relationship's start, end and type."""
    table = step.table
    n = len(range(len(table))[rows])
    if step.kind != "node":
        return [[_quoted(k) for k in table.ends["src"][rows]],
                [_quoted(k) for k in table.ends["dst"][rows]], [step.name] * n]
    labels = step.name + (IMPORT_ARRAY_DELIMITER + KIND_LABELS[step.kind_of]
                          if step.kind_of else "")
    lead = [[_quoted(k) for k in table.ends["key"][rows]]]
    if step.name == SHOP:
        status = table.props.get("status", [None] * len(table))[rows]
        lead.append([_quoted(labels + (IMPORT_ARRAY_DELIMITER + BANNED
                                       if s == "banned" else "")) for s in status])
    else:
        lead.append([_quoted(labels)] * n)
    if step.kind_of == "address":
        lat, lon = (table.props.get(c, [None] * len(table))[rows] for c in ("lat", "lon"))
        lead.append([None if a is None or o is None else
                     f'"{{latitude: {a!r}, longitude: {o!r}}}"'
                     for a, o in zip(lat, lon, strict=True)])
    return lead


def finish_import(folder: str | Path, uri: str | None = None, user: str | None = None,
                  password: str | None = None, *, database: str | None = None) -> dict:
    """After ``neo4j-admin database import`` of :func:`write_import`'s files: the
    constraints and indexes, empty lists restored, the counts checked and the
    ``GraphlinkMeta`` node marked complete, as at the end of a push."""
    import json

    manifest = json.loads((Path(folder) / "import.json").read_text(encoding="utf-8"))
    push_id = manifest["push_id"]
    settings = _settings(uri, user, password, database)
    with _connect(settings) as driver, driver.session(database=settings.database) as session:
        try:
            for statement in SCHEMA_STATEMENTS:
                session.run(statement).consume()
            for kind, name, prop in manifest["empty_lists"]:
                if name not in (*REL_TYPES, SHOP, ACCOUNT, IDENTIFIER):
                    raise Neo4jError(f"import.json names an unknown label or type {name!r}")
                match = f"()-[x:{name}]->()" if kind == "rel" else f"(x:{name})"
                session.run(f"MATCH {match} WHERE x[$prop] = [$none] "
                            "CALL (x) { SET x[$prop] = [] } IN TRANSACTIONS OF 10000 ROWS",
                            prop=prop, none=_NO_ITEMS).consume()
            nodes, rels = _counts(session, push_id)
            found = {**nodes, **rels}
            for name, count in {**manifest["nodes"], **manifest["relationships"]}.items():
                if found.get(name, 0) != count:
                    raise Neo4jError(f"after the import Neo4j holds {found.get(name, 0)} {name}, "
                                     f"expected {count}")
            session.execute_write(_run, f"MERGE (m:{META} {{key: 'graph'}}) "
                                  "SET m.push_id = $push_id, m.complete = true, "
                                  "m.dataset = $dataset, m.started_at = localdatetime(), "
                                  "m.finished_at = localdatetime(), m.graphlink_version = $version,"
                                  " m.nodes = $nodes, m.relationships = $rels RETURN count(m)",
                                  push_id=push_id, dataset=manifest["dataset"],
                                  version=manifest["graphlink_version"],
                                  nodes=_node_total(nodes), rels=sum(rels.values()))
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, "finishing the import") from None
    return {"nodes": nodes, "relationships": rels}


_PARTIAL = ("\nThe graph in Neo4j is partly updated. Push again: the next complete push "
            "replaces it.")


def _node_total(nodes: Mapping[str, int]) -> int:
    return sum(nodes.get(label, 0) for label in (SHOP, ACCOUNT, IDENTIFIER))


def _run(tx, statement: str, **params) -> int:
    record = tx.run(statement, params).single()
    return int(record[0]) if record is not None else 0


def _delete_stale(session, statement: str, push_id: str, limit: int = 10_000) -> int:
    removed = 0
    while True:
        n = session.execute_write(_run, statement, push_id=push_id, limit=limit)
        removed += n
        if n < limit:
            return removed


_COUNTED = (SHOP, BANNED, ACCOUNT, IDENTIFIER, *KIND_LABELS.values())


def _counts(session, push_id: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Nodes per label and relationships per type: all, or those of one push.

    One statement (one query plan); without ``push_id`` the counts come from
    Neo4j's count store, without a scan.
    """
    where = " WHERE x.push_id = $push_id" if push_id else ""
    parts = [f"CALL {{ MATCH (x:{label}){where} RETURN count(x) AS n{i} }}"
             for i, label in enumerate(_COUNTED)]
    parts += [f"CALL {{ MATCH ()-[x:{rel}]->(){where} RETURN count(x) AS r{i} }}"
              for i, rel in enumerate(REL_TYPES)]
    statement = " ".join(parts) + " RETURN " + ", ".join(
        [f"n{i}" for i in range(len(_COUNTED))] + [f"r{i}" for i in range(len(REL_TYPES))])
    row = session.execute_read(lambda tx: tx.run(statement, push_id=push_id).single())
    nodes = {label: row[f"n{i}"] for i, label in enumerate(_COUNTED)}
    rels = {rel: row[f"r{i}"] for i, rel in enumerate(REL_TYPES)}
    return ({k: v for k, v in nodes.items() if v or k in (SHOP, ACCOUNT, IDENTIFIER)}, rels)


def clear(uri: str | None = None, user: str | None = None, password: str | None = None,
          *, database: str | None = None) -> int:
    """Delete every graphlink node (and its relationships); returns how many nodes went."""
    settings = _settings(uri, user, password, database)
    with _connect(settings) as driver, driver.session(database=settings.database) as session:
        try:
            return _delete_stale(
                session, f"MATCH (n) WHERE {_OWNED} OR n:{META} WITH n LIMIT $limit "
                "DETACH DELETE n RETURN count(*) AS n", "")
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, "clearing the graph") from None


_CANONICAL = """
CALL (x) {
  UNWIND [k IN keys(x) WHERE k <> 'push_id'] AS k
  WITH k, x[k] AS v ORDER BY k
  RETURN reduce(s = '', p IN collect(k + '=' + CASE WHEN v IS :: LIST<ANY>
           THEN '[' + reduce(t = '', e IN v | t + toString(e) + '|') + ']'
           ELSE toString(v) END) | s + p + ';') AS props
}
"""
_KEY = "coalesce({0}.shop_id, {0}.account_id, {0}.kind + ':' + {0}.value)"


def fingerprint(uri: str | None = None, user: str | None = None, password: str | None = None,
                *, database: str | None = None) -> dict:
    """Counts per label and relationship type, and a checksum of the graphlink graph's content.

    The canonical text of every node and relationship (labels, type, end
    keys, properties but ``push_id``) is computed and sorted in Cypher; the
    checksum is the SHA-256 of those lines. Two graphs with equal fingerprints
    hold the same data.
    """
    settings = _settings(uri, user, password, database)
    node_lines = (f"MATCH (x) WHERE x:{SHOP} OR x:{ACCOUNT} OR x:{IDENTIFIER} " + _CANONICAL +
                  "CALL (x) { UNWIND labels(x) AS l WITH l ORDER BY l "
                  "RETURN reduce(s = '', m IN collect(l) | s + ':' + m) AS labels } "
                  "RETURN labels + ' ' + props AS line ORDER BY line")
    rel_lines = ("MATCH (a)-[x:" + "|".join(REL_TYPES) + "]->(b) WHERE x.push_id IS NOT NULL "
                 + _CANONICAL + "RETURN type(x) + ' ' + " + _KEY.format("a") + " + ' -> ' + "
                 + _KEY.format("b") + " + ' ' + props AS line ORDER BY line")
    digest = hashlib.sha256()
    with _connect(settings) as driver, driver.session(database=settings.database) as session:
        try:
            for statement in (node_lines, rel_lines):
                for record in session.run(statement):
                    digest.update(record["line"].encode("utf-8") + b"\n")
                digest.update(b"--\n")
            nodes, rels = _counts(session)
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, "reading the graph") from None
    return {"nodes": nodes, "relationships": rels, "checksum": digest.hexdigest()}


# ----------------------------------------------------------------- queries ---


def queries_dir() -> Path:
    """Where the named queries are: shipped in the package, else the source checkout's.

    >>> (queries_dir() / "banned_reappearing.cypher").is_file()
    True
    """
    shipped = Path(str(resources.files("graphlink") / "queries"))
    if shipped.is_dir() and any(shipped.glob("*.cypher")):
        return shipped
    checkout = Path(__file__).resolve().parent.parent.parent / "queries"
    if checkout.is_dir():
        return checkout
    raise ConfigError(f"the named queries are missing: neither {shipped} nor {checkout} exists")


@dataclass(frozen=True)
class Query:
    """One named query: its header (purpose, parameters, example) and its Cypher."""

    name: str
    path: Path
    purpose: str
    params: dict[str, str]  # name -> description
    examples: dict[str, str]  # name -> Cypher expression of its example value
    returns: str
    guide: str
    text: str  # the whole file
    body: str  # the Cypher without the header comment

    @property
    def summary(self) -> str:
        """The first sentence of the purpose."""
        return re.split(r"(?<=\.)\s", self.purpose, maxsplit=1)[0]


_SECTION = re.compile(r"^(Purpose|Parameters|Example|Returns|Guide):\s*(.*)$")
_PARAM_LINE = re.compile(r"^:param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=>\s*(.+?);?\s*$")
_USED_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _parse_query(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    header, body, in_header = [], [], True
    for line in text.splitlines():
        if in_header and line.startswith("//"):
            header.append(line[2:].removeprefix(" "))
        elif in_header and not line.strip() and not header:
            continue
        else:
            in_header = False
            body.append(line)
    name = header[0].strip() if header else ""
    if name != path.stem:
        raise ConfigError(f"{path}: the first header line must be the query name {path.stem!r}")
    sections: dict[str, list[str]] = defaultdict(list)
    current = None
    for line in header[1:]:
        match = _SECTION.match(line)
        if match:
            current = match.group(1)
            if match.group(2):
                sections[current].append(match.group(2))
        elif current:
            sections[current].append(line)
    params: dict[str, str] = {}
    for line in sections["Parameters"]:
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            continue
        if indent < 4 or not params:  # "  name  description"; deeper lines continue it
            pname, _, description = line.strip().partition(" ")
            params[pname.lstrip("$")] = description.strip()
        else:
            last = next(reversed(params))
            params[last] = f"{params[last]} {line.strip()}"
    examples = {}
    for line in sections["Example"]:
        match = _PARAM_LINE.match(line.strip())
        if match:
            examples[match.group(1)] = match.group(2)

    def prose(key: str) -> str:
        return " ".join(s.strip() for s in sections[key] if s.strip())

    return Query(name, path, prose("Purpose"), params, examples, prose("Returns"),
                 "\n".join(sections["Guide"]).strip(), text, "\n".join(body).strip())


def list_queries() -> list[Query]:
    """Every named query of ``queries/``, by name."""
    return [_parse_query(p) for p in sorted(queries_dir().glob("*.cypher"))]


def get_query(name: str) -> Query:
    """The named query ``name``; :class:`ConfigError` listing the names if unknown."""
    if not re.fullmatch(r"[a-z0-9_]+", name or ""):
        raise ConfigError(f"bad query name {name!r}")
    path = queries_dir() / f"{name}.cypher"
    if not path.is_file():
        names = ", ".join(q.name for q in list_queries())
        raise ConfigError(f"no named query {name!r}; the queries are: {names}")
    return _parse_query(path)


def _coerce(name: str, value: object, like: object) -> object:
    """A parameter given as text, converted to the type of its example value.

    >>> _coerce("limit", "10", 50), _coerce("min_p", "0.5", 0.7)
    (10, 0.5)
    >>> _coerce("kinds", "device,ip", ["payment"])
    ['device', 'ip']
    """
    if not isinstance(value, str):
        return value
    try:
        if isinstance(like, bool):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(value)
            return lowered in ("true", "yes", "1")
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        if isinstance(like, list):
            items = [v.strip() for v in value.split(",") if v.strip()]
            return [_coerce(name, v, like[0]) for v in items] if like else items
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a number"}.get(type(like), "")
        raise ConfigError(f"parameter {name}: expected {kind}, got {value!r}") from None
    return value


def run_query(name: str, params: Mapping[str, object] | None = None, *, uri: str | None = None,
              user: str | None = None, password: str | None = None,
              database: str | None = None) -> pd.DataFrame:
    """Run the named query ``name`` (read-only) and return its rows.

    Parameters not given take the value of the query's example (its
    ``:param name => expression`` header lines, evaluated by Neo4j as Browser
    does). Text values are converted to the example value's type, so
    ``{"limit": "10"}`` works. Nodes, relationships and paths come back as
    short text (``(Shop S1)-[:LINKED]->(Shop S2)``), temporal values as ISO
    text.
    """
    keys, rows, _ = _run_named(get_query(name), params or {},
                               _settings(uri, user, password, database))
    return _frame(keys, rows)


def _frame(keys: list[str], rows: list[list]) -> pd.DataFrame:
    """Rows as a DataFrame; integer columns with nulls stay integers (``Int64``)."""
    frame = pd.DataFrame(rows, columns=keys)
    for i, key in enumerate(keys):
        values = [r[i] for r in rows if r[i] is not None]
        if values and frame[key].dtype == float and all(type(v) is int for v in values):
            frame[key] = pd.array([r[i] for r in rows], dtype="Int64")
    return frame


def _run_named(query: Query, given: Mapping[str, object], settings: _Settings
               ) -> tuple[list[str], list[list], dict]:
    unknown = sorted(set(given) - set(query.params))
    if unknown:
        known = ", ".join(query.params) or "none"
        raise ConfigError(f"query {query.name} has no parameter {', '.join(unknown)} "
                          f"(its parameters: {known})")
    with _connect(settings) as driver, driver.session(database=settings.database) as session:
        try:
            defaults = {}
            if query.examples:
                returns = ", ".join(f"{expr} AS `{p}`" for p, expr in query.examples.items())
                defaults = session.execute_read(
                    lambda tx: tx.run(f"RETURN {returns}").single().data())
            values = {p: _coerce(p, given[p], defaults.get(p)) if p in given else defaults.get(p)
                      for p in query.params}
            keys, records = session.execute_read(_fetch, query.body, values)
            meta = session.execute_read(
                lambda tx: tx.run(f"MATCH (m:{META} {{key: 'graph'}}) RETURN m.complete AS "
                                  "complete, m.dataset AS dataset").data())
        except _nx.CypherSyntaxError as exc:
            raise Neo4jError(f"query {query.name} ({query.path}): {exc.message}") from None
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, f"running query {query.name}") from None
    rows = [[_plain(v) for v in r] for r in records]
    return keys, rows, {"params": {k: _plain(v) for k, v in values.items()},
                   "graph": meta[0] if meta else None}


def _fetch(tx, body: str, values: dict) -> tuple[list[str], list[list]]:
    result = tx.run(body, values)
    records = [list(r.values()) for r in result]
    return list(result.keys()), records


def _node_text(node: Node) -> str:
    """``(Shop S1)``, ``(Account A1)``, ``(Payment 6222****1234)``: identifiers masked."""
    labels = set(node.labels)
    if IDENTIFIER in labels:
        kind = KIND_LABELS.get(node.get("kind"), IDENTIFIER)
        return f"({kind} {node.get('display') or node.get('value')})"
    for label in (SHOP, ACCOUNT):
        if label in labels and NODE_LABELS[label] in node:
            return f"({label} {node[NODE_LABELS[label]]})"
    return f"({':'.join(sorted(labels)) or 'node'})"


def _plain(value: object) -> object:
    """A Neo4j result value as plain, printable data."""
    if isinstance(value, GraphPath):
        text = _node_text(value.start_node)
        current = value.start_node
        for rel in value.relationships:
            forward = rel.start_node is not None and rel.start_node.element_id == current.element_id
            nxt = rel.end_node if forward else rel.start_node
            arrow = f"-[:{rel.type}]->" if forward else f"<-[:{rel.type}]-"
            text += arrow + _node_text(nxt)
            current = nxt
        return text
    if isinstance(value, Node):
        return _node_text(value)
    if isinstance(value, Relationship):
        return f"[:{value.type}]"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "to_native") and hasattr(value, "iso_format"):
        native = value.to_native()
        return native.isoformat() if hasattr(native, "isoformat") else str(native)
    if isinstance(value, WGS84Point):
        return {"lon": value.longitude, "lat": value.latitude}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def query_report(name: str, params: Mapping[str, object] | None = None, *,
                 uri: str | None = None, user: str | None = None, password: str | None = None,
                 database: str | None = None) -> Report:
    """`graphlink neo4j query NAME`: the rows of a named query as a report."""
    query = get_query(name)
    keys, records, info = _run_named(query, params or {},
                                     _settings(uri, user, password, database))
    rows = [dict(zip(keys, r, strict=True)) for r in records]
    notes = [] if len(rows) else ["(no rows)"]
    graph = info["graph"]
    if graph is None:
        notes.append("note: no graphlink graph in this database yet: run `graphlink neo4j push`")
    elif not graph.get("complete"):
        notes.append("warning: the last push did not complete; results may mix two pushes. "
                     "Push again.")
    payload = {"schema": "graphlink.neo4j-query/1", "query": name, "params": info["params"],
               "columns": keys, "rows": rows}
    return Report(f"Neo4j query {name}", payload, rows, keys, notes)


def queries_report() -> Report:
    """`graphlink neo4j queries`: every named query, its purpose and parameters."""
    rows = [{"name": q.name, "purpose": q.summary,
             "parameters": ", ".join(f"{p} (e.g. {q.examples.get(p, '?')})" for p in q.params)}
            for q in list_queries()]
    payload = {"schema": "graphlink.neo4j-queries/1", "folder": str(queries_dir()),
               "queries": [{"name": q.name, "purpose": q.purpose, "returns": q.returns,
                            "parameters": [{"name": p, "description": d,
                                            "example": q.examples.get(p)}
                                           for p, d in q.params.items()]}
                           for q in list_queries()]}
    return Report("Named Neo4j queries", payload, rows, ["name", "purpose", "parameters"])


# ------------------------------------------------------ Browser style, guide ---


def grass_json(text: str | None = None) -> str:
    """The Browser style file ``queries/graphlink.grass`` as one line of JSON.

    Neo4j Browser's ``:style`` command takes this inline (no download, so no
    allowlist), which is what ``browser.post_connect_cmd`` uses.

    >>> grass_json("node { color: #fff; }\\nnode.Shop { caption: '{name}'; }")
    '{"node":{"color":"#fff"},"node.Shop":{"caption":"{name}"}}'
    """
    import json

    if text is None:
        text = (queries_dir() / "graphlink.grass").read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selector, block in re.findall(r"([^{}]+?)\s*\{((?:[^{}'\"]|'[^']*'|\"[^\"]*\")*)\}", text):
        props = rules.setdefault(selector.strip(), {})
        for decl in re.findall(r"((?:[^;'\"]|'[^']*'|\"[^\"]*\")+)", block):
            key, sep, value = decl.partition(":")
            if sep and key.strip():
                props[key.strip()] = value.strip().strip("'\"")
    return json.dumps(rules, ensure_ascii=False, separators=(",", ":"))


def _code(text: str) -> str:
    """Markdown-style `code` spans (in already escaped text) as <code>.

    >>> _code("run `graphlink neo4j push`")
    'run <code>graphlink neo4j push</code>'
    """
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render_guide() -> str:
    """The Neo4j Browser guide ``queries/guide.html``, built from the query headers.

    Slides follow the queries' ``Guide:`` order; each has the story, the
    ``:param`` lines and the query as one runnable block.
    """
    import html as _html

    order = ["graph_summary", "top_risky_signups", "banned_reappearing", "evidence_path",
             "shortest_path_to_banned", "shared_with_banned", "operators", "operator_footprint",
             "hub_identifiers", "factories", "factory_footprint"]
    queries = {q.name: q for q in list_queries()}
    names = [n for n in order if n in queries] + sorted(set(queries) - set(order))
    esc = _html.escape
    slides = [
        "<slide class=\"row-fluid\">\n<div class=\"col-sm-12\">\n<h3>Finding banned vendors "
        "who come back</h3>\n<p>This guide walks through graphlink's named queries on the "
        "graph that <code>graphlink neo4j push DATASET</code> loaded. Click a grey block to "
        "put it in the editor, then run it: the <code>:param</code> lines set the query's "
        "parameters (change them to your case), the last statement is the query.</p>\n"
        "<p>The graph: <code>(:Account)-[:OPERATES]-&gt;(:Shop)</code>; accounts and shops "
        "<code>-[:USES]-&gt;</code> identifiers (<code>:Device</code>, <code>:IP</code>, "
        "<code>:Phone</code>, <code>:Email</code>, <code>:IdNumber</code>, "
        "<code>:HolderName</code>, <code>:Address</code>, <code>:Payment</code>, all also "
        "<code>:Identifier</code>); similar identifiers are <code>-[:SIMILAR]-</code>; "
        "<code>(:Shop)-[:LINKED {p, kinds, evidence}]-(:Shop)</code> is the combined evidence "
        "that two shops have one operator; <code>(:Shop)-[:MATCHES {score, path, evidence}]"
        "-&gt;(:Shop)</code> ties a shop to the banned shops its sign-up risk comes from. "
        "Banned shops have <code>status = 'banned'</code> and the label <code>:Banned</code>."
        "</p>\n<p>Each query is also a file in graphlink's <code>queries/</code> folder and runs "
        "from the command line: <code>graphlink neo4j query NAME --param key=value</code>.</p>"
        "\n</div>\n</slide>"]
    for name in names:
        q = queries[name]
        params = "".join(f":param {p} => {q.examples[p]};\n" for p in q.params if p in q.examples)
        story = "".join(f"<p>{_code(esc(' '.join(par.split())))}</p>\n"
                        for par in re.split(r"\n\s*\n", q.guide or q.purpose) if par.strip())
        described = "".join(f"<li><code>${esc(p)}</code>: {_code(esc(d))}</li>\n"
                            for p, d in q.params.items())
        slides.append(
            f"<slide class=\"row-fluid\">\n<div class=\"col-sm-12\">\n<h3>{esc(name)}</h3>\n"
            f"{story}"
            + (f"<ul>\n{described}</ul>\n" if described else "")
            + f"<pre class=\"code runnable\">{esc(params + q.body)}</pre>\n"
            + (f"<p>Returns: {_code(esc(q.returns))}</p>\n" if q.returns else "")
            + "</div>\n</slide>")
    return ("<!DOCTYPE html>\n<!-- Generated by graphlink.neo4j.render_guide() from the headers "
            "of queries/*.cypher: edit those, then run\n     python -m graphlink.neo4j guide > "
            "queries/guide.html -->\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>graphlink: banned vendors, operators and factories</title>\n</head>\n<body>\n"
            "<article class=\"guide\">\n<carousel class=\"deck container-fluid\">\n"
            + "\n".join(slides) + "\n</carousel>\n</article>\n</body>\n</html>\n")
