"""Identifier extraction: canonical tables -> who uses which identifier, when.

DESIGN.md's identifier model: every identifying value becomes an identifier
keyed by ``(kind, canonical value)``. This stage applies the normalisers of
:mod:`graphlink.normalise` to every identifying column and returns

- ``uses``: one row per (shop, kind, value): the account that carried it,
  first and last time seen, how many rows, the raw form and the source row;
- ``values``: one row per (kind, value): how many shops use it, a masked
  display form, and the keys the linkage stage blocks on.

>>> from graphlink.core.dataset import Dataset
>>> ids = extract(Dataset.empty())
>>> list(ids.uses.columns)[:4]
['shop_id', 'kind', 'value', 'account_id']
>>> mask("phone", "+8613800138000")
'+86138****8000'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphlink import normalise as norm
from graphlink.core.dataset import Dataset
from graphlink.core.privacy import SENSITIVE, hashed, mask
from graphlink.core.workers import map_chunks

__all__ = ["Identifiers", "extract", "canonical", "SOURCES"]

# (table, column, kind): where each identifier kind comes from.
SOURCES = (
    ("accounts", "phone", "phone"),
    ("accounts", "email", "email"),
    ("accounts", "id_number", "id_number"),
    ("accounts", "date_of_birth", "birth_date"),
    ("accounts", "holder_name", "holder_name"),
    ("devices", "device_id", "device"),
    ("devices", "ip", "ip"),
    ("addresses", "address", "address"),
    ("payments", "endpoint", "payment"),
    ("payments", "holder_name", "holder_name"),
    ("shops", "name", "shop_name"),
)

# the column of each table that carries its rows' time
_TIME = {"shops": "created_at", "accounts": "created_at", "devices": "seen_at",
         "addresses": "first_seen", "payments": "first_seen"}

_USES_COLUMNS = ["shop_id", "kind", "value", "account_id", "first_seen", "last_seen", "rows",
                 "raw", "source", "line"]


@dataclass
class Identifiers:
    """Identifier uses and identifier values of one dataset."""

    uses: pd.DataFrame
    values: pd.DataFrame
    # (uses table, codes, n): value_codes of that table, remembered
    _codes: tuple | None = field(default=None, repr=False, compare=False)

    def codes(self) -> tuple[np.ndarray, int]:
        """:func:`value_codes` of ``uses``, computed once per uses table."""
        if self._codes is None or self._codes[0] is not self.uses:
            self._codes = (self.uses, *value_codes(self.uses))
        return self._codes[1], self._codes[2]

    def shops_of(self, kind: str, value: str) -> list[str]:
        """Shops that use identifier ``(kind, value)``."""
        u = self.uses
        return sorted(u.loc[(u["kind"] == kind) & (u["value"] == value), "shop_id"].unique())


def _canonical(kind: str) -> Callable[[str], str | None]:
    def payment(raw: str) -> str | None:
        p = norm.payment(raw)
        return p.value if p else None

    def id_number(raw: str) -> str | None:
        i = norm.id_number(raw)
        return i.value if i else None

    def address(raw: str) -> str | None:
        a = norm.address(raw)
        return a.canonical if a else None

    def email(raw: str) -> str | None:
        token = hashed(raw)  # pre-hashed (or pseudonymised) emails link exactly
        return token if token is not None else norm.email(raw)

    return {
        "phone": norm.phone, "email": email, "id_number": id_number,
        "holder_name": norm.person_name, "device": norm.device, "ip": norm.ip,
        "address": address, "payment": payment, "birth_date": norm.birth_date,
        "shop_name": norm.shop_name,
    }[kind]


def canonical(kind: str) -> Callable[[str], str | None]:
    """The function giving a raw value of identifier ``kind`` its canonical form.

    >>> canonical("phone")("+86 138-0013-8000"), canonical("payment")("6222 **** 1234")
    ('+8613800138000', '6222*1234')
    """
    return _canonical(kind)


def _canonical_chunk(raws: list[str], kind: str) -> list:
    """Canonical forms of ``raws`` (run in worker processes); addresses as records."""
    if kind == "address":
        return [norm.address(r) for r in raws]
    fn = _canonical(kind)
    return [fn(r) for r in raws]


def _map_unique(values: pd.Series, kind: str, memo: dict[str, dict]) -> pd.Series:
    """Canonical form of each value, computed once per distinct value (identifiers
    repeat a lot) and remembered in ``memo[kind]`` for the rest of the extraction."""
    known = memo.setdefault(kind, {})
    codes, distinct = pd.factorize(values)
    distinct = distinct.tolist()
    todo = [v for v in distinct if v not in known]
    found = map_chunks(_canonical_chunk, todo, kind)
    if kind == "address":  # linkage parses canonical addresses again: remember them here
        norm.remember_addresses(a for a in found if a is not None)
        found = [a.canonical if a else None for a in found]
    known.update(zip(todo, found, strict=True))
    canonical = np.array([known[v] for v in distinct] + [None], dtype=object)
    return pd.Series(canonical[codes], index=values.index)  # code -1: blank


def _rows_of(dataset: Dataset, table: str, column: str, kind: str, memo: dict) -> pd.DataFrame:
    frame = dataset.tables[table]
    if table == "devices":
        frame = frame.merge(dataset.accounts[["account_id", "shop_id"]], on="account_id")
    account = frame["account_id"] if "account_id" in frame else pd.Series(None, index=frame.index)
    out = pd.DataFrame({
        "shop_id": frame["shop_id"],
        "kind": kind,
        "raw": frame[column],
        "account_id": account.astype(object),
        "seen": frame[_TIME[table]],
        "source": table,
        "line": frame["_line"],
    })
    out = out[out["raw"].notna()]
    out["value"] = _map_unique(out["raw"], kind, memo)
    return out[out["value"].notna()]


def extract(dataset: Dataset, canonical_forms: dict[str, dict] | None = None) -> Identifiers:
    """Normalise every identifying column of ``dataset`` into identifier uses.

    ``canonical_forms`` (``{kind: {raw: canonical}}``, e.g. computed on Spark by
    :mod:`graphlink.spark.identifiers`): forms already known; the others are computed here.
    """
    memo: dict[str, dict] = {kind: dict(forms) for kind, forms in (canonical_forms or {}).items()}
    rows = [_rows_of(dataset, t, c, k, memo) for t, c, k in SOURCES]
    rows = [r for r in rows if len(r)]
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _USES_COLUMNS})
        return Identifiers(empty, _values(empty, dataset, memo))
    allrows = pd.concat(rows, ignore_index=True)
    allrows["seen"] = pd.to_datetime(allrows["seen"])
    uses, kinds, values = _one_row_per_use(allrows)
    codes, n = _pair_codes(kinds, values)
    return Identifiers(uses, _values(uses, dataset, memo, codes, n), (uses, codes, n))


def _one_row_per_use(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One row per (shop, kind, value), sorted by them: the first source row (earliest
    ``seen``, then ``line``; no date last) and the first/last dates and row count.

    Sorted and grouped on integer codes: string sorts of millions of rows are slow.
    """
    codes = [pd.factorize(rows[c], sort=True)[0] for c in ("shop_id", "kind", "value")]
    dates = rows["seen"].to_numpy()
    seen = dates.view(np.int64)
    undated = seen == _NAT
    order = np.lexsort((rows["line"].to_numpy(), np.where(undated, _LAST, seen),
                        *reversed(codes)))
    starts = np.flatnonzero(run_starts(*(code[order] for code in codes)))
    uses = rows.iloc[order[starts]].reset_index(drop=True)
    first = seen[order[starts]]
    last = np.maximum.reduceat(np.where(undated, _NAT, seen)[order], starts) if len(starts) \
        else first
    uses["first_seen"] = first.view(dates.dtype)
    uses["last_seen"] = last.view(dates.dtype)
    uses["rows"] = np.diff(np.append(starts, len(order))).astype(np.int64)
    return uses[_USES_COLUMNS], codes[1][order[starts]], codes[2][order[starts]]


def run_starts(*columns: np.ndarray) -> np.ndarray:
    """Where a run of equal rows begins in sorted ``columns`` (True at row 0).

    >>> run_starts(np.array([1, 1, 2, 2]), np.array([5, 6, 6, 6])).tolist()
    [True, True, True, False]
    """
    starts = np.zeros(len(columns[0]), dtype=bool)
    starts[:1] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    return starts


_NAT = np.datetime64("NaT").astype(np.int64)  # NaT's integer: the smallest int64
_LAST = np.iinfo(np.int64).max


def value_codes(uses: pd.DataFrame) -> tuple[np.ndarray, int]:
    """The code of each use's (kind, value), numbered in sorted order, and how many.

    >>> uses = pd.DataFrame({"kind": ["phone", "email", "phone"], "value": ["2", "x", "1"]})
    >>> value_codes(uses)
    (array([2, 0, 1]), 3)
    """
    return _pair_codes(pd.factorize(uses["kind"], sort=True)[0],
                       pd.factorize(uses["value"], sort=True)[0])


def _pair_codes(kinds: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes of (kind, value) pairs from codes of each (both numbered in sorted order)."""
    width = int(values.max(initial=0)) + 1
    codes, distinct = pd.factorize(kinds.astype(np.int64) * width + values, sort=True)
    return codes, len(distinct)


def value_rows(ids: Identifiers, frame: pd.DataFrame | None = None, column: str = "value"
               ) -> np.ndarray:
    """The row of ``ids.values`` holding each row's (kind, ``column``), -1 where none.

    ``frame`` defaults to ``ids.uses``. When it is the uses and the values are
    their own (one row per pair, sorted, as :func:`extract` makes them) this is
    integer work; otherwise a hash join.
    """
    values = ids.values
    if frame is None or frame is ids.uses:
        codes, n = ids.codes()
        if len(values) == n and n and _aligned(ids.uses, codes, values):
            return codes
        frame = ids.uses
    return _lookup(values, frame["kind"], frame[column])


def _lookup(values: pd.DataFrame, kinds: pd.Series, texts: pd.Series) -> np.ndarray:
    """Rows of ``values`` with each (kind, text), -1 where none: a hash set per kind
    (Arrow's ``index_in``), not an index over every (kind, value) of the world."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(column: pd.Series) -> pa.Array:
        if hasattr(column.array, "__arrow_array__"):  # Arrow-backed already: no copy
            return pa.chunked_array(column.array.__arrow_array__()).combine_chunks()
        return pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)

    out = np.full(len(texts), -1, dtype=np.int64)
    world, asked = arrow(values["value"]), arrow(texts)
    for kind in pd.unique(kinds.dropna()):
        rows = np.flatnonzero((values["kind"] == kind).to_numpy())
        mine = np.flatnonzero((kinds == kind).to_numpy())
        if not len(rows) or not len(mine):
            continue
        found = pc.index_in(asked.take(pa.array(mine)), value_set=world.take(pa.array(rows)))
        at = found.to_numpy(zero_copy_only=False)
        hit = ~np.isnan(at)
        out[mine[hit]] = rows[at[hit].astype(np.int64)]
    return out


def _aligned(uses: pd.DataFrame, codes: np.ndarray, values: pd.DataFrame) -> bool:
    """Whether values row ``c`` is the (kind, value) of code ``c``, on a sample of rows."""
    n = len(values)
    sample = np.unique(np.linspace(0, n - 1, min(n, 1000)).astype(np.int64))
    first = np.empty(n, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # a use of each code
    pairs = uses[["kind", "value"]].iloc[first[sample]].reset_index(drop=True)
    return values[["kind", "value"]].iloc[sample].reset_index(drop=True).equals(pairs)


def _values(uses: pd.DataFrame, dataset: Dataset, memo: dict, codes: np.ndarray | None = None,
            n: int = 0) -> pd.DataFrame:
    """One row per (kind, value), sorted: shops using it, the first spelling, a display."""
    if codes is None:
        codes, n = value_codes(uses)
    values = value_table(uses, codes, n)
    display = values["value"].to_numpy(dtype=object, copy=True)
    sensitive = np.flatnonzero(values["kind"].isin(SENSITIVE).to_numpy())
    display[sensitive] = [mask(k, v) for k, v in zip(values["kind"].to_numpy()[sensitive],
                                                     display[sensitive], strict=True)]
    values["display"] = display
    return _with_geo(values, dataset, memo)


def value_table(uses: pd.DataFrame, codes: np.ndarray, n: int) -> pd.DataFrame:
    """``kind``, ``value``, ``shops``, ``raw`` of each of the ``n`` (kind, value) pairs of
    ``uses`` (``codes``: :func:`value_codes`), in code order: the raw form of its first
    use, the same string objects as ``uses`` holds.

    >>> uses = pd.DataFrame({"kind": ["phone", "phone"], "value": ["1", "1"],
    ...                      "raw": ["01", "1"]})
    >>> value_table(uses, *value_codes(uses)).values.tolist()
    [['phone', '1', 2, '01']]
    """
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n))
    first = order[starts]  # uses has one row per (shop, kind, value): shops = rows
    values = uses.iloc[first][["kind", "value", "raw"]].reset_index(drop=True)
    values.insert(2, "shops", np.bincount(codes, minlength=n).astype(np.int64))
    return values


def _with_geo(values: pd.DataFrame, dataset: Dataset, memo: dict) -> pd.DataFrame:
    """Mean lat/lon of each address value, where the data gives coordinates."""
    addresses = dataset.addresses.dropna(subset=["lat", "lon"])
    if not len(addresses):
        values["lat"] = values["lon"] = float("nan")
        return values
    canon = _map_unique(addresses["address"], "address", memo)
    geo = (
        pd.DataFrame({"value": canon, "lat": addresses["lat"], "lon": addresses["lon"]})
        .dropna(subset=["value"]).groupby("value")[["lat", "lon"]].mean()
    )
    at = np.flatnonzero((values["kind"] == "address").to_numpy())
    where = geo.index.get_indexer(values["value"].iloc[at])
    for column in ("lat", "lon"):
        coordinate = np.full(len(values), np.nan)
        coordinate[at] = np.where(where >= 0, geo[column].to_numpy(dtype=float)[where], np.nan)
        values[column] = coordinate
    return values
