"""Loading on Spark: the standard layout read, cleaned and validated as Spark DataFrames.

Each table is ``<table>.csv`` (UTF-8 unless ``encoding``; records may span
lines) or ``<table>.parquet`` under the dataset's path, any path Spark reads.
Every cell is read as text and cleaned as the embedded loaders clean it
(stripped; blank is missing), in a vectorised pandas function.

Validation runs the embedded loaders' own row checks (required values,
choices, dates, coordinates, NUL bytes) on each batch of rows
(``mapInPandas``), and the duplicate ids and dangling references as Spark
aggregations and joins. Spark reads a file in splits and knows no line
numbers, so a problem names its file, its column and the row by its id (or
its key column's value) or the bad value itself, never a line.

:func:`to_dataset` is the hand-over: the validated tables are collected to the
driver in read order and become the canonical
:class:`~graphlink.core.dataset.Dataset` (a row's ``_line`` is its number in
the file's read order, unit "row"); tables it is told to leave on Spark are
collected only when read (:class:`SparkTables`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import reduce

import numpy as np
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.errors import ConfigError, DatasetError, Problem
from graphlink.core.schema import TABLES, Table
from loaders.raw import RawTable
from loaders.validate import (
    _blank_checks,
    _canonical,
    _choice_checks,
    _date_checks,
    _float_checks,
    _nul_checks,
    _q,
)

__all__ = ["read_tables", "check_tables", "to_dataset", "SparkTables", "SparkDatasetError",
           "NO_LINES"]

ROW = "_row"  # the read order: increasing within and across a file's splits
CORRUPT = "_corrupt_record"
LIMIT = 1000  # row problems collected, at most
NO_LINES = ("Spark reads files in splits and knows no line numbers: each problem names "
            "its file, column and row id or value")
_PROBLEMS = "column string, message string, reason string, key string, _row long"


class SparkDatasetError(DatasetError):
    """Problems found by the Spark loader (placed by id or value, not by line)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.args = (f"{self.args[0]}\n({NO_LINES}.)",)


def _location(path: str, name: str) -> str:
    return f"{str(path).rstrip('/')}/{name}"


def _missing(exc: Exception) -> bool:
    return "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc)


def _read_csv(spark, location: str, encoding: str | None):
    from pyspark.sql.types import StringType, StructField, StructType

    options = {"header": "true", "multiLine": "true", "encoding": encoding or "UTF-8",
               "mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    header = spark.read.options(**options).csv(location).columns
    schema = StructType([StructField(c, StringType()) for c in [*header, CORRUPT]])
    frame = spark.read.options(**options).schema(schema).csv(location)
    return frame.toDF(*[c.strip() for c in header], CORRUPT)


def _read_parquet(spark, location: str):
    from pyspark.sql import functions as F

    frame = spark.read.parquet(location)
    return frame.select([F.col(f"`{c}`").cast("string").alias(c.strip()) for c in frame.columns])


def _read_one(spark, path: str, table: str, encoding: str | None):
    """``(frame, file name)`` of one table, or None when neither file exists."""
    from pyspark.errors import AnalysisException, IllegalArgumentException

    for name, read in ((f"{table}.csv", lambda loc: _read_csv(spark, loc, encoding)),
                       (f"{table}.parquet", lambda loc: _read_parquet(spark, loc))):
        try:
            return read(_location(path, name)), name
        except IllegalArgumentException as exc:
            raise ConfigError(f"{name}: {str(exc).splitlines()[0][:300]}") from None
        except AnalysisException as exc:
            if not _missing(exc):
                problem = Problem(name, None, None, f"cannot read: {str(exc)[:300]}",
                                  "unreadable file")
                raise SparkDatasetError([problem]) from None
    return None


def _cleaned(frame):
    """Every text cell stripped, blank -> missing (as :func:`loaders.raw.clean_cell`)."""
    from pyspark.sql import functions as F

    columns = [c for c in frame.columns if c != CORRUPT]

    def clean(batches):
        for batch in batches:
            for column in columns:
                values = batch[column].astype(object)
                text = values.where(values.isna(), values.astype(str).str.strip())
                batch[column] = text.where(text.notna() & (text != ""), None)
            yield batch

    ordered = frame.withColumn(ROW, F.monotonically_increasing_id())
    return ordered.mapInPandas(clean, ordered.schema)


def read_tables(spark, path: str, encoding: str | None = None) -> tuple[dict, dict[str, str]]:
    """The dataset's tables as cleaned Spark DataFrames (cached), and their file names."""
    tables, files = {}, {}
    for table in TABLES.values():
        found = _read_one(spark, str(path), table.name, encoding)
        if found is None:
            continue
        frame, files[table.name] = found
        tables[table.name] = _cleaned(frame).persist()
    return tables, files


def _key_column(table: Table, columns: list[str]) -> str | None:
    """The column naming a row in messages: the id, else the first reference."""
    keys = [table.id_column, *table.references] if table.id_column else [*table.references]
    return next((c for c in keys if c and c in columns), None)


def _undecodable(rows: pd.DataFrame):
    """Cells holding U+FFFD: bytes the CSV reader could not decode (Spark replaces them
    silently), in the loaders' check shape."""
    for col in rows.columns:
        values = rows[col]
        bad = values.notna() & values.astype(str).str.contains("\ufffd", regex=False)
        if bad.any():
            message = lambda i, v=values: (  # noqa: E731
                f"undecodable bytes in {_q(v.iat[i], 40)}: not the file's encoding "
                "(UTF-8 unless --encoding; e.g. --encoding gb18030)")
            yield bad, col, message, "encoding"


def _row_checks(table: Table, frame, key: str | None, text: bool):
    """The embedded loaders' row checks (and Spark's malformed records, and with ``text``
    (a CSV file) undecodable bytes), run batch by batch: one row per problem."""
    data = [c for c in frame.columns if c not in (ROW, CORRUPT)]

    def problems(batches):
        for batch in batches:
            rows = batch[data].reset_index(drop=True)
            checks = [*_blank_checks(table, rows), *_choice_checks(table, rows),
                      *_date_checks(table, rows), *_float_checks(table, rows),
                      *_nul_checks(rows), *(_undecodable(rows) if text else ())]
            found = [(column, message(i), reason, None if key is None else rows[key].iat[i],
                      int(batch[ROW].iat[i]))
                     for mask, column, message, reason in checks
                     for i in np.flatnonzero(np.asarray(mask, dtype=bool))]
            if CORRUPT in batch:
                found += [(None, f"malformed record {_q(text)}", "malformed record", None, row)
                          for text, row in zip(batch[CORRUPT], batch[ROW], strict=True)
                          if text is not None]
            yield pd.DataFrame(found, columns=["column", "message", "reason", "key", ROW])

    return frame.mapInPandas(problems, _PROBLEMS)


def _worded(rows, column: str, reason: str, words):
    """Problem rows of ``rows`` (``value``, ``key``, ``_row``): ``words(value)`` each."""
    def word(batches):
        for batch in batches:
            yield pd.DataFrame({"column": column, "message": [words(v) for v in batch["value"]],
                                "reason": reason, "key": batch["key"], ROW: batch[ROW]})

    return rows.mapInPandas(word, _PROBLEMS)


def _duplicates(table: Table, frame):
    """Ids on more than one row (an aggregation), named with how many rows."""
    from pyspark.sql import functions as F

    col = table.id_column
    dups = (frame.where(F.col(col).isNotNull()).groupBy(col)
            .agg(F.count("*").alias("n"), F.min(ROW).alias(ROW)).where("n > 1")
            .select(F.concat_ws("\0", F.col(col), F.col("n").cast("string")).alias("value"),
                    F.lit(None).cast("string").alias("key"), ROW))

    def words(value: str) -> str:
        value, n = value.rsplit("\0", 1)
        return f"duplicate {col} {_q(value)} ({n} rows)"

    return _worded(dups, col, "duplicate id", words)


def _dangling(table: Table, frame, tables: dict) -> list:
    """References to ids the target table lacks (a left anti join), each with its row."""
    from pyspark.sql import functions as F

    key = _key_column(table, frame.columns)
    found = []
    for col, target in table.references.items():
        if col not in frame.columns or TABLES[target].id_column not in getattr(
                tables.get(target), "columns", ()):
            continue  # a missing file or id column is a problem of its own
        known = tables[target].select(F.col(TABLES[target].id_column).alias(col))
        named = F.col(key) if key not in (None, col) else F.lit(None).cast("string")
        bad = (frame.where(frame[col].isNotNull()).join(known, on=col, how="left_anti")
               .select(F.col(col).alias("value"), named.alias("key"), ROW))
        found.append(_worded(bad, col, "dangling reference",
                             lambda v, c=col, t=target: f"unknown {c} {_q(v)} (not in the {t} "
                             "table)"))
    return found


def _table_checks(table: Table, frame, tables: dict, text: bool) -> list:
    """Every check of one table, as problem rows (lazy DataFrames)."""
    key = _key_column(table, frame.columns)
    checks = [_row_checks(table, frame, key, text), *_dangling(table, frame, tables)]
    return checks + ([_duplicates(table, frame)] if table.id_column else [])


def _placed(file: str, key: str | None, rows) -> list[Problem]:
    """Problems of collected check rows, each naming its row by ``key``'s value."""
    found = []
    for r in rows:
        where = f" (row with {key} {_q(r['key'])})" if key and r["key"] is not None else ""
        found.append(Problem(file, None, r["column"], f"{r['message']}{where}", r["reason"]))
    return found


def _row_problems(tables: dict, files: dict, skip: set[str]) -> list[Problem]:
    """The row problems of every table but ``skip``'s, found in one Spark job, in table
    then read order."""
    from pyspark.sql import functions as F

    checks = [check.withColumn("_table", F.lit(rank))
              for rank, table in enumerate(TABLES.values())
              if table.name in tables and table.name not in skip
              for check in _table_checks(table, tables[table.name], tables,
                                         files[table.name].endswith(".csv"))]
    if not checks:
        return []
    names = list(TABLES)
    rows = union_all(checks).orderBy("_table", ROW).limit(LIMIT).collect()
    found = []
    for r in rows:
        table = TABLES[names[r["_table"]]]
        found.extend(_placed(files[table.name],
                             _key_column(table, tables[table.name].columns), [r]))
    return found


def _missing_columns(tables: dict, files: dict) -> list[Problem]:
    return [Problem(files[t.name], None, c, "missing required column", "missing column")
            for t in TABLES.values() if t.name in tables
            for c in t.required_columns if c not in tables[t.name].columns]


def check_tables(tables: dict, files: dict) -> None:
    """Raise :class:`SparkDatasetError` listing every problem found, table by table."""
    problems = [Problem(f"{t.name}.csv", None, None, f"missing required file (neither "
                        f"{t.name}.csv nor {t.name}.parquet)", "missing file")
                for t in TABLES.values() if t.required and t.name not in tables]
    missing = _missing_columns(tables, files)
    # a table without a required column is not checked further (as the loaders do)
    skip = {name for name, file in files.items() if any(p.file == file for p in missing)}
    problems += missing + _row_problems(tables, files, skip)
    if problems:
        raise SparkDatasetError(problems)


def to_dataset(tables: dict, files: dict, source: str, on_spark: tuple[str, ...] = ()
               ) -> Dataset:
    """The hand-over: the tables, validated on Spark (:func:`check_tables`), collected in
    read order one at a time and made canonical on the driver by the loaders' own
    ``_canonical`` (``_line``: row number), each table's raw copy let go before the next
    is collected (the driver holds one raw table at a time: at 100,000 shops the raw
    tables together took more than the canonical ones).

    The tables named in ``on_spark`` are not collected: the dataset's
    :class:`SparkTables` collect one (in the same way) each time it is read, and keep
    no copy."""
    dataset = Dataset.empty()
    dataset.source = str(source)
    for name in TABLES:
        if name in tables and name not in on_spark:
            dataset.tables[name] = _later(name, tables[name], files[name])()
            dataset.files[name] = files[name]
    later = {name: _later(name, tables[name], files[name]) for name in on_spark
             if name in tables}
    if later:
        dataset.files = {name: files[name] for name in TABLES if name in files}
        dataset.tables = SparkTables(dataset.tables, later)
    return dataset


def _raw_table(name: str, frame, file: str) -> RawTable:
    """A validated Spark table collected in read order, as the loaders' raw table."""
    data = [c for c in frame.columns if c not in (ROW, CORRUPT)]
    local = frame.orderBy(ROW).select(*data).toPandas().astype(object)
    local = local.where(local.notna(), None)
    lines = np.arange(1, len(local) + 1, dtype=np.int64)
    return RawTable(name, file, local, lines, unit="row", header_line=None, nul_free=True)


def _later(name: str, frame, file: str):
    """A function collecting the canonical table ``name`` (validated on Spark already)."""
    def collect() -> pd.DataFrame:
        rt = _raw_table(name, frame, file)
        return _canonical(TABLES[name], rt, np.ones(len(rt.frame), dtype=bool))
    return collect


class SparkTables(MutableMapping):
    """A dataset's tables: pandas DataFrames, and tables left on Spark, each collected
    afresh when read and not kept (only a saved state or pseudonyms read the devices and
    payments; the analysis reads their identifiers on Spark). Iterates in the tables'
    order.

    >>> tables = SparkTables({"shops": pd.DataFrame(), "devices": None},
    ...                      {"devices": lambda: pd.DataFrame({"a": [1]})})
    >>> list(tables), tables["devices"]["a"].tolist()
    (['shops', 'devices'], [1])
    """

    def __init__(self, local: dict, later: dict):
        self._local, self._later = dict(local), dict(later)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self._later:
            return self._later[name]()
        return self._local[name]

    def __setitem__(self, name: str, frame: pd.DataFrame) -> None:
        self._later.pop(name, None)
        self._local[name] = frame

    def __delitem__(self, name: str) -> None:
        self._later.pop(name, None)
        del self._local[name]

    def __iter__(self):
        return iter(self._local)

    def __len__(self) -> int:
        return len(self._local)

    def __repr__(self) -> str:
        return f"SparkTables({list(self._local)}, on Spark: {list(self._later)})"


def union_all(frames: list):
    """One DataFrame of ``frames`` (same columns)."""
    return reduce(lambda a, b: a.unionByName(b), frames)
