"""The public Python API: the functions the CLI and the notebooks share.

>>> import graphlink as gl
>>> callable(gl.load) and callable(gl.check)
True
"""

from __future__ import annotations

from pathlib import Path

import loaders
from graphlink.dataset import Dataset
from graphlink.report import Report
from graphlink.summary import check_report

__all__ = ["load", "check"]


def load(
    path: str | Path,
    *,
    encoding: str | None = None,
    mapping: str | Path | None = None,
    lenient: bool = False,
    adapter: str | None = None,
) -> Dataset:
    """Load and validate a dataset (see :func:`loaders.load`)."""
    return loaders.load(path, encoding=encoding, mapping=mapping, lenient=lenient, adapter=adapter)


def check(path: str | Path | Dataset, **load_options) -> Report:
    """Validate a dataset and summarise it (what `graphlink check` prints)."""
    dataset = path if isinstance(path, Dataset) else load(path, **load_options)
    return check_report(dataset)
