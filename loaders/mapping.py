"""Column-mapping files: load an export whose names differ from ours.

A mapping is a TOML file. For each table it may name the file, map our
column names to the export's, and map the export's values to ours::

    encoding = "gb18030"          # optional, like --encoding

    [tables.shops]
    file = "stores_2026.csv"      # optional; default shops.csv / shops.parquet
    [tables.shops.columns]        # our name = the export's name
    shop_id = "Store ID"
    name = "Store Name"
    [tables.shops.values.status]  # the export's value = ours
    "封禁" = "banned"

>>> m = Mapping.from_dict({"tables": {"shops": {"columns": {"shop_id": "Store ID"}}}})
>>> m.rename("shops", ["Store ID", "name"])
['shop_id', 'name']
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from graphlink.core.errors import ConfigError
from graphlink.core.schema import TABLES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Mapping"]


@dataclass
class Mapping:
    """A parsed column-mapping file."""

    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    encoding: str | None = None

    @classmethod
    def read(cls, path: str | Path) -> Mapping:
        """Parse a mapping file; errors name the file and the bad key."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: mapping file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not a valid TOML mapping file: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict, origin: str = "mapping") -> Mapping:
        """Build from the parsed TOML, checking table and column names."""
        mapping = cls(encoding=data.get("encoding"))
        for table, spec in data.get("tables", {}).items():
            if table not in TABLES:
                known = ", ".join(TABLES)
                raise ConfigError(f"{origin}: unknown table '{table}' (known: {known})")
            if not isinstance(spec, dict):
                raise ConfigError(f"{origin}: [tables.{table}] must be a table")
            if "file" in spec:
                mapping.files[table] = str(spec["file"])
            mapping.columns[table] = {str(k): str(v) for k, v in spec.get("columns", {}).items()}
            mapping.values[table] = {
                str(col): {str(k): str(v) for k, v in vmap.items()}
                for col, vmap in spec.get("values", {}).items()
            }
        return mapping

    def file_for(self, table: str, default: str) -> str:
        """The export's file name for ``table``."""
        return self.files.get(table, default)

    def rename(self, table: str, header: list[str]) -> list[str]:
        """Translate the export's column names into ours."""
        theirs_to_ours = {v: k for k, v in self.columns.get(table, {}).items()}
        return [theirs_to_ours.get(col, col) for col in header]

    def recode(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Replace the export's values by ours where a value map says so."""
        for column, vmap in self.values.get(table, {}).items():
            if column in frame.columns:
                frame[column] = frame[column].map(lambda v, m=vmap: m.get(v, v) if v else v)
        return frame
