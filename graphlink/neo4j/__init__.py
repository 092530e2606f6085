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

The modules, one responsibility each: :mod:`~graphlink.neo4j.model` (labels,
keys, schema, statements, property values), :mod:`~graphlink.neo4j.plan` (the
rows of a push, from the analysis), :mod:`~graphlink.neo4j.connection` (settings,
driver, errors), :mod:`~graphlink.neo4j.bolt` (push, clear, fingerprint),
:mod:`~graphlink.neo4j.offline` (the neo4j-admin import files),
:mod:`~graphlink.neo4j.queries` (the named queries) and
:mod:`~graphlink.neo4j.browser` (the Browser guide and style). This package
re-exports their public names.

>>> sorted(KIND_LABELS.values())[:3]
['Address', 'BirthDate', 'Device']
>>> [q.name for q in list_queries()][:2]
['banned_reappearing', 'evidence_path']
"""

from graphlink.neo4j.bolt import PushSummary, clear, fingerprint, push
from graphlink.neo4j.browser import grass_json, render_guide
from graphlink.neo4j.connection import DEFAULT_URI, DEFAULT_USER
from graphlink.neo4j.model import (
    KEY_LIMIT,
    KIND_LABELS,
    MERGE_KEY,
    NODE_LABELS,
    REL_TYPES,
    bounded_key,
)
from graphlink.neo4j.offline import finish_import, write_import
from graphlink.neo4j.queries import (
    Query,
    get_query,
    list_queries,
    queries_dir,
    queries_report,
    query_report,
    run_query,
)

__all__ = [
    "KIND_LABELS", "NODE_LABELS", "REL_TYPES", "DEFAULT_URI", "DEFAULT_USER",
    "PushSummary", "Query", "push", "run_query", "list_queries", "get_query",
    "query_report", "queries_report", "fingerprint", "clear", "queries_dir",
    "grass_json", "render_guide", "bounded_key", "KEY_LIMIT", "MERGE_KEY",
    "write_import", "finish_import",
]
