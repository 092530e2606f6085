"""The canonical dataset: validated tables, as every later stage receives them.

A :class:`Dataset` holds one pandas DataFrame per table of CONTRACT.md
section 1 (absent optional tables are empty frames with their columns), with
dates parsed to ``datetime64`` (UTC, naive), coordinates as floats, text as
``str``/``None``, unknown extra columns kept, and a ``_line`` column giving each
row's place in its source file (used in evidence and messages).

>>> import pandas as pd
>>> ds = Dataset.empty()
>>> sorted(ds.tables)[:3]
['accounts', 'addresses', 'devices']
>>> len(ds.shops)
0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from graphlink.core.errors import Problem
from graphlink.core.schema import TABLES

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Validated canonical tables plus what was skipped on the way in."""

    tables: dict[str, pd.DataFrame]
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls) -> Dataset:
        """A dataset with every table present and no rows."""
        tables = {
            name: pd.DataFrame({c: pd.Series(dtype=object) for c in (*t.columns, "_line")})
            for name, t in TABLES.items()
        }
        return cls(tables)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def skipped_rows(self) -> int:
        """Rows dropped by ``--lenient``, all reasons together."""
        return sum(self.skipped.values())

    def banned_shop_ids(self) -> list[str]:
        """Ids of shops whose status is ``banned``, in file order."""
        shops = self.tables["shops"]
        return shops.loc[shops["status"] == "banned", "shop_id"].tolist()
