"""Renderers: table, CSV, JSON and HTML, and the JSON schemas of every output.

Every report is a :class:`Report`: a JSON-ready ``payload`` (one object with
a ``schema`` key, as CONTRACT.md section 2 says) plus the flat ``rows`` that
the table, CSV and HTML forms show. Hostile text is neutralised per format:
HTML is escaped, CSV cells that a spreadsheet would run as a formula are
prefixed with ``'``, terminal control characters are removed from tables.

>>> r = Report("demo", {"schema": "graphlink.demo/1", "rows": []}, [{"a": 1, "b": "=x"}])
>>> print(render(r, "csv"), end="")
a,b
1,'=x
>>> print(render(r, "table"), end="")
a  b
-  --
1  =x
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

# the text-safety helpers live in graphlink.core.safetext; re-exported here for the modules
# and notebooks that import them from graphlink.reports.report
from graphlink.core.safetext import (
    BIDI_CONTROLS,
    clip,
    display_width,
    safe_spreadsheet,
    safe_terminal,
    strip_bidi,
    wrap,
)
from graphlink.reports.outputs import Rows

if TYPE_CHECKING:
    from graphlink.reports.pagedata import Page

__all__ = ["Report", "Rows", "render", "write", "FORMATS", "schema_path", "load_schema",
           "display_width", "clip", "wrap", "safe_terminal", "strip_bidi", "BIDI_CONTROLS"]

FORMATS = ("table", "csv", "json", "html")


@dataclass
class Report:
    """One report: its title, the JSON payload and the rows for flat formats."""

    title: str
    payload: dict
    rows: list[dict]
    columns: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    # what the HTML page draws beyond the payload (shop names, evidence graphs, maps),
    # computed by the report's builder (graphlink.reports.pagedata.Page); never part of the
    # payload, and renderers never reach back into the analysis for it
    page: Page | None = field(default=None, repr=False, compare=False)

    def header(self) -> list[str]:
        if self.columns:
            return self.columns
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)


def render(report: Report, fmt: str) -> str:
    """The report as text in ``fmt`` (one of :data:`FORMATS`)."""
    return {"table": _table, "csv": _csv, "json": _json, "html": _html}[fmt](report)


def write(report: Report, fmt: str, output: str | Path | None) -> None:
    """Render and write to ``output`` (a path) or standard output.

    A file appears whole or not at all (:func:`graphlink.reports.outputs.atomic_file`).
    """
    from graphlink.reports.outputs import atomic_file

    if fmt == "json" and output is not None and str(output) != "-":
        # streamed: a million sign-ups make a JSON text of gigabytes
        with atomic_file(output) as out:
            for chunk in _json_chunks(report):
                out.write(chunk)
        return
    if fmt == "html" and output is not None and str(output) != "-":
        with atomic_file(output) as out:  # part by part: no copy of the whole page
            for chunk in _html_chunks(report):
                out.write(chunk)
        return
    text = render(report, fmt)
    if output is None or str(output) == "-":
        import click

        click.echo(text, nl=False)
    else:
        with atomic_file(output) as out:
            out.write(text.encode("utf-8"))


def _cell(value: object, digits: int = 6) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v, digits) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _fit(widths: list[int], total: int, gap: int = 2) -> list[int]:
    """Shrink the widest columns until the row fits ``total`` characters.

    >>> _fit([5, 40, 30], 50)
    [5, 20, 21]
    """
    widths = list(widths)
    while sum(widths) + gap * (len(widths) - 1) > total:
        i = max(range(len(widths)), key=lambda k: widths[k])
        if widths[i] <= 5:
            break
        widths[i] -= 1
    return widths


def _table(report: Report, width: int | None = None) -> str:
    header = report.header()
    rows = [[safe_terminal(_cell(r.get(c), 3)).replace("\n", " ") for c in header]
            for r in report.rows]
    natural = [max([display_width(h)] + [display_width(r[i]) for r in rows])
               for i, h in enumerate(header)]
    widths = _fit(natural, width or shutil.get_terminal_size((120, 24)).columns)

    def line(cells: list[str]) -> str:
        return "  ".join(clip(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    total = width or shutil.get_terminal_size((120, 24)).columns
    lines += [w for n in report.notes for w in wrap(safe_terminal(n), total)]
    return "\n".join(lines) + "\n"


def _csv(report: Report) -> str:
    header = report.header()
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(header)
    for row in report.rows:
        out.writerow([safe_spreadsheet(_cell(row.get(c))) for c in header])
    return buffer.getvalue()


def _json(report: Report) -> str:
    return b"".join(_json_chunks(report)).decode("utf-8")


def _json_chunks(report: Report):
    """The payload as indented JSON (``json.dumps(indent=2)``'s layout), in chunks of bytes.

    orjson encodes; a long list at the top level is encoded item by item so that
    a million sign-ups never make one text of gigabytes. NaN becomes null.
    """
    payload = report.payload
    yield b"{"
    for i, (key, value) in enumerate(payload.items()):
        yield (b",\n  " if i else b"\n  ") + _orjson(str(key)) + b": "
        if isinstance(value, Rows) and not value:
            yield b"[]"
        elif isinstance(value, Rows) or isinstance(value, list) and len(value) > _STREAM_ITEMS:
            yield from _list_chunks(value)
        else:
            yield _orjson(value, 1)
    yield b"\n}\n" if payload else b"}\n"


_STREAM_ITEMS = 1000


def _list_chunks(items: list):
    """A long list at the top level of the payload, in batches of items.

    >>> b"".join(_list_chunks([{"a": [1]}, 2])).decode()
    '[\\n    {\\n      "a": [\\n        1\\n      ]\\n    },\\n    2\\n  ]'
    """
    for start in range(0, len(items), _STREAM_ITEMS):
        # a batch as the value of a key: orjson indents its items as the payload's level
        # (no re-indenting of each line); '{\n  "k": [\n    a,\n    b\n  ]\n}' -> its items
        text = _orjson({"k": items[start:start + _STREAM_ITEMS]})
        yield (b",\n" if start else b"[\n") + text[11:-6]
    yield b"\n  ]"


def _orjson(value: object, level: int = 0) -> bytes:
    # datetimes and dataclasses go to _json_default too: str(), as json.dumps(default=str)
    text = orjson.dumps(value, default=_json_default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
                        | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)
    return text.replace(b"\n", b"\n" + b"  " * level) if level else text


def _json_default(value: object) -> object:
    """What orjson leaves to us: float subclasses (NumPy), anything else as ``str``."""
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return str(value)


def _html(report: Report) -> str:
    from graphlink.reports.html import render_html

    return render_html(report)


def _html_chunks(report: Report):
    """The HTML page in chunks of UTF-8 bytes (:func:`graphlink.reports.html.html_parts`
    encoded one by one): a 300,000-shop clusters page is 18 MB, which joining and encoding
    it whole would copy twice more."""
    from graphlink.reports.html import html_parts

    for part in html_parts(report):
        yield part.encode("utf-8")


def schema_path(name: str) -> Path:
    """Path of the shipped JSON Schema for output ``name`` (e.g. ``signups``)."""
    return Path(str(resources.files("graphlink.reports") / "schemas" / f"{name}.schema.json"))


def load_schema(name: str) -> dict:
    """The shipped JSON Schema for output ``name``."""
    return json.loads(schema_path(name).read_text(encoding="utf-8"))
