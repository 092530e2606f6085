"""Loaders: raw files -> canonical tables, one adapter per source layout.

An adapter is a small class with a ``name``, ``detect(path) -> bool`` and
``read(path, encoding, mapping) -> RawDataset``; :func:`register` adds one.
:func:`load` picks the first adapter that recognises the path (or the one
named), then validates what it read against the contract.

>>> [a.name for a in ADAPTERS]
['standard', 'jsonl']
"""

from __future__ import annotations

from pathlib import Path

from graphlink.core.dataset import Dataset
from graphlink.core.errors import DatasetError, Problem
from loaders.jsonl import JsonLinesAdapter
from loaders.mapping import Mapping
from loaders.standard import StandardAdapter
from loaders.validate import validate

__all__ = ["ADAPTERS", "register", "load", "Mapping"]

ADAPTERS: list = [StandardAdapter(), JsonLinesAdapter()]


def register(adapter: object) -> None:
    """Add an adapter; later registrations are tried after earlier ones."""
    ADAPTERS.append(adapter)


def load(
    path: str | Path,
    *,
    encoding: str | None = None,
    mapping: str | Path | Mapping | None = None,
    lenient: bool = False,
    adapter: str | None = None,
) -> Dataset:
    """Read and validate a dataset.

    Parameters
    ----------
    path : the dataset folder (or a JSON-lines export file).
    encoding : text encoding of CSV/JSON-lines files; detected when None.
    mapping : a TOML column-mapping file (or a parsed :class:`Mapping`).
    lenient : skip bad rows and count them, instead of failing.
    adapter : force an adapter by name.

    Raises :class:`DatasetError` listing every problem with its place
    (:class:`~graphlink.core.errors.ConfigError` for an unknown encoding). Files
    are streamed: see :mod:`loaders.text` for encodings and line numbers.
    """
    path = Path(path)
    if not isinstance(mapping, Mapping):
        mapping = Mapping.read(mapping) if mapping else Mapping()
    chosen = _choose(path, adapter)
    raw = chosen.read(path, encoding, mapping)
    return validate(raw, lenient=lenient)


def _choose(path: Path, name: str | None):
    if not path.exists():
        raise DatasetError([Problem(str(path), None, None, "dataset not found")])
    if name is not None:
        for candidate in ADAPTERS:
            if candidate.name == name:
                return candidate
        known = ", ".join(a.name for a in ADAPTERS)
        raise DatasetError([Problem(str(path), None, None, f"unknown adapter '{name}' ({known})")])
    for candidate in ADAPTERS:
        if candidate.detect(path):
            return candidate
    if path.is_dir():
        return ADAPTERS[0]  # reports the missing required files precisely
    message = "not a dataset folder or a JSON-lines export (.jsonl)"
    raise DatasetError([Problem(str(path), None, None, message, "missing file")])
