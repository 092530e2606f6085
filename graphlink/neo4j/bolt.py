"""The graphlink graph over Bolt: :func:`push` (batched MERGEs, then stale data
removed), :func:`clear`, and :func:`fingerprint` (counts and a content checksum).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from graphlink import __version__
from graphlink.core.errors import ConfigError, Neo4jError
from graphlink.neo4j.connection import _DRIVER_ERRORS, _connect, _error, _settings
from graphlink.neo4j.model import (
    _OWNED,
    ACCOUNT,
    BANNED,
    IDENTIFIER,
    KIND_LABELS,
    META,
    REL_TYPES,
    SCHEMA_STATEMENTS,
    SHOP,
    _drop_old_schema,
)
from graphlink.neo4j.plan import _plan, _Step, paused_gc
from graphlink.reports.report import Report


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
    tally = _Tally(sum(len(s.table) for s in steps))
    dataset = str(analysis.dataset.source or "")
    with _connect(settings, max_retry_time) as driver:
        try:
            with driver.session(database=settings.database) as session, paused_gc():
                nodes, rels, removed_nodes, removed_rels = _push_steps(
                    session, steps, push_id, dataset, batch_size, progress, tally)
        except _DRIVER_ERRORS as exc:
            error = str(_error(settings, exc, tally.doing))
            if tally.done or tally.doing == "removing stale data":
                error += (f" The push stopped part-way ({tally.done} of {tally.total} rows)."
                          f"{_PARTIAL}")
            raise Neo4jError(error) from None
    if progress:
        progress("done", tally.total, tally.total)
    return PushSummary(dataset, settings.where, nodes, rels, tally.total, tally.batches,
                       removed_nodes, removed_rels, time.monotonic() - started, push_id)


@dataclass
class _Tally:
    """How far a push is: rows of ``total`` done, batches run, what it is doing (for
    its error messages)."""

    total: int
    done: int = 0
    batches: int = 0
    doing: str = "creating constraints and indexes"


def _push_steps(session, steps: list[_Step], push_id: str, dataset: str, batch_size: int,
                progress: Progress | None, tally: _Tally
                ) -> tuple[dict[str, int], dict[str, int], int, int]:
    """A push in one session: the schema, the meta node (incomplete), every step batch
    by batch, stale data removed, the counts checked, the meta node complete. Returns
    the counts of this push's nodes and relationships, and the stale nodes and
    relationships removed."""
    _drop_old_schema(session)
    for statement in SCHEMA_STATEMENTS:
        session.run(statement).consume()
    tally.doing = "recording the push"
    session.execute_write(_run, f"MERGE (m:{META} {{key: 'graph'}}) "
                          "SET m.push_id = $push_id, m.complete = false, "
                          "m.dataset = $dataset, m.started_at = localdatetime(), "
                          "m.graphlink_version = $version",
                          push_id=push_id, dataset=dataset, version=__version__)
    for step in steps:
        _load_step(session, step, push_id, batch_size, progress, tally)
    tally.doing = "removing stale data"
    removed_rels = _delete_stale(
        session, "MATCH ()-[r:" + "|".join(REL_TYPES) + "]->() "
        "WHERE r.push_id <> $push_id WITH r LIMIT $limit DELETE r "
        "RETURN count(*) AS n", push_id)
    removed_nodes = _delete_stale(
        session, f"MATCH (n) WHERE ({_OWNED}) AND n.push_id <> $push_id "
        "WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS n", push_id)
    tally.doing = "counting the result"
    nodes, rels = _counts(session, push_id)
    _check_counts(steps, {**nodes, **rels})
    session.execute_write(_run, f"MATCH (m:{META} {{key: 'graph'}}) "
                          "WHERE m.push_id = $push_id SET m.complete = true, "
                          "m.finished_at = localdatetime(), m.nodes = $nodes, "
                          "m.relationships = $rels RETURN count(m) AS n",
                          push_id=push_id, nodes=_node_total(nodes),
                          rels=sum(rels.values()))
    return nodes, rels, removed_nodes, removed_rels


def _load_step(session, step: _Step, push_id: str, batch_size: int,
               progress: Progress | None, tally: _Tally) -> None:
    """MERGE one step's rows, ``batch_size`` at a time, one transaction each."""
    for start in range(0, len(step.table), batch_size):
        batch = step.table.records(start, start + batch_size)
        tally.doing = (f"loading {step.label} (batch {tally.batches + 1}, "
                       f"{tally.done} of {tally.total} rows)")
        written = session.execute_write(_run, step.statement, rows=batch, push_id=push_id)
        if written != len(batch):
            raise Neo4jError(
                f"{step.label}: {len(batch) - written} of {len(batch)} rows found "
                "no endpoint node (was another push running at the same time?)"
                f"{_PARTIAL}")
        tally.done += len(batch)
        tally.batches += 1
        if progress:
            progress(step.label, tally.done, tally.total)


def _check_counts(steps: list[_Step], found: Mapping[str, int]) -> None:
    """Neo4jError unless Neo4j holds as many nodes per label and relationships per type
    of this push (``found``) as its steps have rows."""
    expected_nodes: dict[str, int] = defaultdict(int)
    expected_rels: dict[str, int] = defaultdict(int)
    for step in steps:
        (expected_nodes if step.kind == "node" else expected_rels)[step.name] += len(step.table)
    for name, count in {**expected_nodes, **expected_rels}.items():
        if found.get(name, 0) != count:
            raise Neo4jError(
                f"after the push Neo4j holds {found.get(name, 0)} {name} of this "
                f"push, expected {count} (was another push running at the same "
                f"time?){_PARTIAL}")


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
