"""The offline first load: :func:`write_import` writes the graph a push would make
as files for ``neo4j-admin database import full``; :func:`finish_import` completes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
from graphlink.neo4j.plan import _Columns, _Step, _steps, arrow_pool, paused_gc

#: between array elements and labels in the import files (never in graphlink's values)
IMPORT_ARRAY_DELIMITER = "\x1f"
_NO_ITEMS = "\x1e"  # stands for an empty list: neo4j-admin reads an empty array as no value
_IMPORT_TYPES = {str: "string", int: "long", float: "double", bool: "boolean"}


_ARROW_KINDS = {pa.string(): "string", pa.large_string(): "string", pa.int64(): "long",
                pa.float64(): "double", pa.bool_(): "boolean"}


def _import_type(name: str, values: list | pa.Array) -> str:
    """The neo4j-admin type of a property column (ConfigError when one type cannot
    carry it exactly: then push over Bolt).

    >>> _import_type("p", [0.5, None]), _import_type("k", pa.array([["a"], []]))
    ('double', 'string[]')
    """
    if isinstance(values, pa.Array):
        kind = values.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            kind = kind.value_type
            return _ARROW_KINDS[kind] + "[]" if kind in _ARROW_KINDS else _import_type(
                name, values.to_pylist())
        return _ARROW_KINDS[kind] if kind in _ARROW_KINDS else _import_type(
            name, values.to_pylist())
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

    The files are written one step at a time (a step's rows are built, written
    with pyarrow's CSV writer and dropped), nodes are numbered (``--id-type
    integer``: relationships name their ends by number, the key is a property),
    and only files holding a line break are read as multi-line.
    """
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    push_id = uuid.uuid4().hex
    files, empties, nodes, rels = [], [], defaultdict(int), defaultdict(int)
    numbers = _Numbers()
    with paused_gc(), arrow_pool():
        for number, step in enumerate(_steps(analysis), 1):
            files.append(_write_step(folder, number, step, numbers, push_id, empties))
            (nodes if step.kind == "node" else rels)[step.name] += len(step.table)
    manifest = {"schema": "graphlink.neo4j-import/2", "push_id": push_id,
                "dataset": str(analysis.dataset.source or ""), "graphlink_version": __version__,
                "nodes": dict(nodes), "relationships": dict(rels), "files": files,
                "empty_lists": empties}
    (folder / "import.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (folder / "neo4j-admin.args").write_text("\n".join(_admin_args(folder, files)) + "\n",
                                             encoding="utf-8")
    return manifest


def _write_step(folder: Path, number: int, step: _Step, numbers: _Numbers, push_id: str,
                empties: list) -> dict:
    """Write one step's import file (the ``number``-th); adds its properties that hold
    empty lists to ``empties``; returns its entry in the manifest's ``files``."""
    table = step.table
    names, kinds = _import_kinds(table)
    columns = [n for n in kinds if n not in table.times] + list(table.times)
    empties += [(step.kind, step.name, n) for n in names if kinds[n].endswith("[]")
                and _has_empty(table.props[n])]
    lead = _import_lead(step, numbers)
    head = [h for h, _ in lead] + [f"{n}:{kinds[n]}" for n in columns] + ["push_id:string"]
    arrays = [a for _, a in lead] + [
        _import_array(n, table.times[n] if n in table.times else table.props[n], kinds[n])
        for n in columns] + [pa.repeat(pa.scalar(push_id), len(table))]
    name = f"{number:02d}-{step.kind}-{step.label.replace(' ', '-').replace('>', '')}.csv"
    multiline = _write_import_file(folder / name, head, arrays)
    return {"kind": step.kind, "file": name, "multiline": multiline}


def _has_empty(values: list | pa.Array) -> bool:
    """Whether a list column holds an empty list.

    >>> _has_empty(pa.array([["a"], None])), _has_empty([["a"], []])
    (False, True)
    """
    if isinstance(values, pa.Array):
        return bool(pc.any(pc.equal(pc.list_value_length(values), 0)).as_py())
    return any(v == [] for v in values)


def _admin_args(folder: Path, files: list[dict]) -> list[str]:
    """The importer's arguments for ``files`` (multi-line parsing only where needed).

    >>> _admin_args(Path("/x"), [{"kind": "node", "file": "a.csv", "multiline": True}])[-2:]
    ['--multiline-fields=/x/a.csv', '--nodes=/x/a.csv']
    """
    where = [str(folder.resolve() / f["file"]) for f in files if f["multiline"]]
    return ["--overwrite-destination=true", "--array-delimiter=U+001F", "--id-type=integer",
            *(["--multiline-fields-format=v2", "--multiline-fields=" + ",".join(where)]
              if where else []),
            *(f"--{'nodes' if f['kind'] == 'node' else 'relationships'}="
              f"{folder.resolve() / f['file']}" for f in files)]


class _Numbers:
    """The import's node numbers: by id space (Shop, Account, Identifier), each node
    key's position among the keys written so far in that space."""

    def __init__(self) -> None:
        self.keys: dict[str, list[list[str]]] = defaultdict(list)
        self.index: dict[str, pd.Index] = {}
        self.arrow: dict[str, pa.Array] = {}

    def add(self, space: str, keys: list[str]) -> pa.Array:
        """Number ``keys`` (new nodes of ``space``) after those added before."""
        first = sum(len(k) for k in self.keys[space])
        self.keys[space].append(keys)
        self.index.pop(space, None)
        return pa.array(np.arange(first, first + len(keys), dtype=np.int64))

    def of(self, space: str, keys: list[str] | pa.Array, what: str) -> pa.Array:
        """The numbers of ``keys`` in ``space`` (Neo4jError for a key never added)."""
        if space not in self.index:
            index = pd.Index([k for part in self.keys[space] for k in part], dtype=object)
            if not index.is_unique:
                raise Neo4jError(f"two {space} nodes share a key")
            self.index[space] = index
            self.arrow[space] = pa.array(index.to_numpy(), pa.string())
        if isinstance(keys, pa.Array):  # hashed in arrow
            at = pc.index_in(keys, value_set=self.arrow[space])
            if at.null_count:
                raise Neo4jError(f"{what}: {at.null_count} rows name no {space} node")
            return at.cast(pa.int64())
        found = self.index[space].get_indexer(pd.Index(keys, dtype=object))
        if (found < 0).any():
            raise Neo4jError(f"{what}: {int((found < 0).sum())} rows name no {space} node")
        return pa.array(found.astype(np.int64))


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


_ARROW_TYPES = {"string": pa.string(), "localdatetime": pa.string(), "long": pa.int64(),
                "double": pa.float64(), "boolean": pa.bool_()}


def _import_array(name: str, values: list | pa.Array, kind: str) -> pa.Array:
    r"""A property column as the arrow array whose CSV text the importer reads as
    ``kind`` (arrays: items joined by U+001F, an empty list as U+001E).

    >>> _import_array("k", [["a", "b"], [], None], "string[]").to_pylist()
    ['a\x1fb', '\x1e', None]
    """
    try:
        if isinstance(values, pa.Array):
            lists = values
            if not kind.endswith("[]"):
                return values
        elif not kind.endswith("[]"):
            return pa.array(values, _ARROW_TYPES[kind])
        else:
            lists = pa.array(values, pa.list_(_ARROW_TYPES[kind[:-2]]))
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise ConfigError(f"property {name!r}: {exc}; use `graphlink neo4j push`") from None
    large = pa.types.is_large_list(lists.type)
    items = lists.values.cast(pa.large_string() if large else pa.string())
    if len(items) and (pc.any(pc.match_substring(items, IMPORT_ARRAY_DELIMITER)).as_py()
                       or pc.any(pc.equal(items, _NO_ITEMS)).as_py()):
        raise ConfigError("a list value holds the import files' delimiter U+001F; use "
                          "`graphlink neo4j push`")
    texts = (pa.LargeListArray if large else pa.ListArray).from_arrays(
        lists.offsets, items, mask=lists.is_null())
    joined = pc.binary_join(texts, pa.scalar(IMPORT_ARRAY_DELIMITER, items.type))
    return pc.if_else(pc.equal(pc.list_value_length(lists), 0),
                      pa.scalar(_NO_ITEMS, items.type), joined)


def _write_import_file(path: Path, head: list[str], arrays: list[pa.Array]) -> bool:
    """One import file: the header ``head``, then the columns ``arrays`` (strings
    quoted, an unset value as an empty field). True when a value holds a line break."""
    multiline = any(pa.types.is_string(a.type) and len(a)
                    and pc.any(pc.match_substring_regex(a, "[\r\n]")).as_py() for a in arrays)
    with open(path, "wb") as out:
        out.write((",".join(_quoted(h) for h in head) + "\n").encode("utf-8"))
        pacsv.write_csv(pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]), out,
                        pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return bool(multiline)


def _import_lead(step: _Step, numbers: _Numbers) -> list[tuple[str, pa.Array]]:
    """The first columns of a step's import file (header and values): a node's
    number, labels, key (and an address's point); a relationship's start and end
    numbers and type."""
    table = step.table
    if step.kind != "node":
        src, dst = step.ends
        return [(f":START_ID({src})", numbers.of(src, table.ends["src"], step.label)),
                (f":END_ID({dst})", numbers.of(dst, table.ends["dst"], step.label)),
                (":TYPE", pa.repeat(pa.scalar(step.name), len(table)))]
    labels = step.name + (IMPORT_ARRAY_DELIMITER + KIND_LABELS[step.kind_of]
                          if step.kind_of else "")
    if step.name == SHOP:
        status = pa.array(table.props.get("status", [None] * len(table)), pa.string())
        shown = pc.if_else(pc.fill_null(pc.equal(status, "banned"), False),
                           labels + IMPORT_ARRAY_DELIMITER + BANNED, labels)
    else:
        shown = pa.repeat(pa.scalar(labels), len(table))
    lead = [(f":ID({step.name})", numbers.add(step.name, table.ends["key"])),
            (":LABEL", shown), (f"{MERGE_KEY}:string", pa.array(table.ends["key"], pa.string()))]
    if step.kind_of == "address":
        lat, lon = (table.props.get(c, [None] * len(table)) for c in ("lat", "lon"))
        lead.append(("location:point{crs:WGS-84}", pa.array(
            [None if a is None or o is None else f"{{latitude: {a!r}, longitude: {o!r}}}"
             for a, o in zip(lat, lon, strict=True)], pa.string())))
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
            # the import replaced the database: the count store counts this push only
            nodes, rels = _counts(session)
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
