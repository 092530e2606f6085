"""The named queries of ``queries/``: their headers parsed, run read-only, their
results as plain data and reports.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import neo4j.exceptions as _nx
import pandas as pd
from neo4j.graph import Node, Relationship
from neo4j.graph import Path as GraphPath
from neo4j.spatial import WGS84Point

from graphlink.core.errors import ConfigError, Neo4jError
from graphlink.neo4j.connection import _DRIVER_ERRORS, _connect, _error, _Settings, _settings
from graphlink.neo4j.model import ACCOUNT, IDENTIFIER, KIND_LABELS, META, NODE_LABELS, SHOP
from graphlink.reports.report import Report


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
    header, body = _header_and_body(text)
    name = header[0].strip() if header else ""
    if name != path.stem:
        raise ConfigError(f"{path}: the first header line must be the query name {path.stem!r}")
    sections = _sections(header[1:])
    examples = {}
    for line in sections["Example"]:
        match = _PARAM_LINE.match(line.strip())
        if match:
            examples[match.group(1)] = match.group(2)

    def prose(key: str) -> str:
        return " ".join(s.strip() for s in sections[key] if s.strip())

    return Query(name, path, prose("Purpose"), _params(sections["Parameters"]), examples,
                 prose("Returns"), "\n".join(sections["Guide"]).strip(), text,
                 "\n".join(body).strip())


def _header_and_body(text: str) -> tuple[list[str], list[str]]:
    """A query file's leading ``//`` comment lines (without ``//``) and the lines after.

    >>> _header_and_body("\\n// q\\n// Purpose: x\\nMATCH (n)\\n// not header")
    (['q', 'Purpose: x'], ['MATCH (n)', '// not header'])
    """
    header, body, in_header = [], [], True
    for line in text.splitlines():
        if in_header and line.startswith("//"):
            header.append(line[2:].removeprefix(" "))
        elif in_header and not line.strip() and not header:
            continue
        else:
            in_header = False
            body.append(line)
    return header, body


def _sections(header: list[str]) -> dict[str, list[str]]:
    """The header's sections (``Purpose:``, ``Parameters:``, ...): name -> lines."""
    sections: dict[str, list[str]] = defaultdict(list)
    current = None
    for line in header:
        match = _SECTION.match(line)
        if match:
            current = match.group(1)
            if match.group(2):
                sections[current].append(match.group(2))
        elif current:
            sections[current].append(line)
    return sections


def _params(lines: list[str]) -> dict[str, str]:
    """The ``Parameters:`` lines as name -> description.

    >>> _params(["  $limit  how many", "      at most", "  since  from when"])
    {'limit': 'how many at most', 'since': 'from when'}
    """
    params: dict[str, str] = {}
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            continue
        if indent < 4 or not params:  # "  name  description"; deeper lines continue it
            pname, _, description = line.strip().partition(" ")
            params[pname.lstrip("$")] = description.strip()
        else:
            last = next(reversed(params))
            params[last] = f"{params[last]} {line.strip()}"
    return params


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
