"""The offline first load: :func:`write_import` writes the graph a push would make
as files for ``neo4j-admin database import full``; :func:`finish_import` completes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

from graphlink import __version__
from graphlink.core.errors import ConfigError, Neo4jError
from graphlink.neo4j.bolt import _counts, _node_total, _run
from graphlink.neo4j.connection import _DRIVER_ERRORS, _connect, _error, _settings
from graphlink.neo4j.model import (
    ACCOUNT,
    BANNED,
    IDENTIFIER,
    KIND_LABELS,
    MERGE_KEY,
    META,
    REL_TYPES,
    SCHEMA_STATEMENTS,
    SHOP,
)
from graphlink.neo4j.plan import _Columns, _plan, _Step

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
        names, kinds = _import_kinds(table)
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
        _write_import_file(folder / name, step, head, kinds, columns, push_id)
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


def _import_kinds(table: _Columns) -> tuple[list[str], dict[str, str]]:
    """A step's property names (but the key) and the neo4j-admin type of every
    property column; ConfigError for what the import files cannot carry."""
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
    return names, kinds


def _write_import_file(path: Path, step: _Step, head: list[str], kinds: dict[str, str],
                       columns: list[str], push_id: str) -> None:
    """One import file: the header ``head``, then a step's rows, a slice at a time."""
    table = step.table
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(_quoted(h) for h in head) + "\n")
        tail = "," + _quoted(push_id) + "\n"
        for start in range(0, len(table), IMPORT_ROWS):
            rows = slice(start, start + IMPORT_ROWS)  # the fields of a slice at a time
            values = [[_quoted(_import_text(v, kinds[n])) for v in
                       (table.times[n] if n in table.times else table.props[n])[rows]]
                      for n in columns]
            for fields in zip(*_import_lead(step, rows), *values, strict=True):
                out.write(",".join(f or "" for f in fields) + tail)


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
