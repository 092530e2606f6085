"""The HTML reports' figures as inline SVG, written from the page data by our own code.

Each function takes the data a page already carries (:mod:`graphlink.reports.pagedata`,
or the report's payload) and returns one ``<svg>`` element as text: no
matplotlib, no image encoding, a few milliseconds per figure. Text stays text
(searchable, selectable, crisp at any zoom) and takes the page's fonts, CJK
included. Every text goes through :func:`esc` (control and bidi characters
removed, HTML/XML escaped): shop names are written by the people under
investigation. Colours and sizes are SVG presentation attributes, so the
page's Content-Security-Policy (no inline ``style``) allows them. Numbers are
written with fixed precision: the same data gives the same bytes.

- :func:`evidence`: a flagged sign-up's evidence graph (shop, accounts,
  identifiers, linked shops, paths on to banned shops, evidence on the edges);
- :func:`waterfall`: one pair's match weight, step by step;
- :func:`factory_map`: a factory lead's addresses around its anchor;
- :func:`risk_histogram`: the sign-ups' risk by flag;
- :func:`cluster_sizes`: operators and communities by size.

Elements carry what a test or a script needs to check them (``data-node``,
``data-a``/``data-b`` of an edge: the node's position in the graph's
``nodes``), never an identifier value that the labels mask.

>>> svg = waterfall([{"comparison": "device", "level": "exact", "log2_bf": 3.0}], "S1 <x>")
>>> svg.startswith("<svg") and "S1 &lt;x&gt;" in svg and "<x>" not in svg
True
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from graphlink.core.safetext import display_width, safe_terminal, short

if TYPE_CHECKING:
    import pandas as pd

    from graphlink.reports.pagedata import EvidenceGraph, FactoryPlace, GraphNode

__all__ = ["evidence", "waterfall", "factory_map", "risk_histogram", "cluster_sizes", "esc",
           "arrange", "NODE_STYLE", "FLAG_COLOURS", "WEIGHT_COLOURS", "EDGE_STYLE",
           "probability_text", "waterfall_rows", "map_notes", "evidence_notes"]

#: colour and marker (matplotlib's marker letters) of each node kind of an evidence graph
NODE_STYLE = {
    "shop": ("#1f4e79", "s"),
    "banned": ("#c0392b", "s"),
    "account": ("#7f8c8d", "^"),
    "device": ("#8e44ad", "D"),
    "ip": ("#16a085", "h"),
    "phone": ("#d35400", "p"),
    "email": ("#2471a3", "v"),
    "id_number": ("#27ae60", "P"),
    "birth_date": ("#5d6d7e", "X"),
    "shop_name": ("#117a65", "d"),
    "holder_name": ("#b7950b", "o"),
    "address": ("#6e2c00", "H"),
    "payment": ("#c2185b", "*"),
}
#: colour, dash pattern (matplotlib's line style) and width of each evidence edge style
EDGE_STYLE = {"operates": ("#7f8c8d", "-", 1.2), "uses": ("#b0b0b0", "-", 0.9),
              "exact": ("#34495e", "-", 1.6), "fuzzy": ("#34495e", "--", 1.3),
              "path": ("#c0392b", ":", 2.2)}
FLAG_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#f1c40f", "none": "#95a5a6"}
#: colours of the waterfall: a step that raises the weight, one that lowers it, the total
WEIGHT_COLOURS = {"up": "#1e8449", "down": "#c0392b", "final": "#1f4e79"}
_DASH = {"-": "", "--": "6 4", ":": "2 3"}
_INK, _MUTED = "#222222", "#555555"


def esc(value: object) -> str:
    """Text for SVG content or a quoted attribute: control and bidi characters removed,
    ``& < > " '`` escaped.

    >>> esc('<script>"x"</script>\\u202e\\x1b[31m')
    '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
    """
    text = safe_terminal(str(value)).replace("\n", " ").replace("\t", " ")
    return html.escape(text.replace("\ufffe", "").replace("\uffff", ""), quote=True)


@functools.lru_cache(maxsize=1 << 16)  # the same coordinates recur within and across figures
def _n(x: float) -> str:
    """A coordinate with one decimal, no ``-0``.

    >>> _n(1.04), _n(-0.01), _n(3.0)
    ('1', '0', '3')
    """
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of one line at font ``size`` (wide CJK = two columns)."""
    return display_width(text) * 0.56 * size


# --- a canvas with label placement -------------------------------------------------------


class _Canvas:
    """SVG elements in drawing order, and label boxes placed without overlaps."""

    def __init__(self, width: float, height: float, label: str):
        self.width, self.height, self.label = width, height, label
        self.shapes: list[str] = []
        self.labels: list[str] = []
        self.boxes: list[tuple[float, float, float, float]] = []

    def add(self, element: str) -> None:
        self.shapes.append(element)

    def line(self, x0: float, y0: float, x1: float, y1: float, colour: str, width: float = 1.0,
             dash: str = "", extra: str = "") -> None:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x1)}" y2="{_n(y1)}" '
                 f'stroke="{colour}" stroke-width="{width}"{dashes}{extra}/>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str = "none",
             extra: str = "") -> None:
        x, w = (x, w) if w >= 0 else (x + w, -w)
        y, h = (y, h) if h >= 0 else (y + h, -h)
        self.add(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
                 f'fill="{fill}" stroke="{stroke}"{extra}/>')

    def text(self, x: float, y: float, text: str, size: float = 11, anchor: str = "start",
             colour: str = _INK, extra: str = "", into: list[str] | None = None) -> None:
        """Lines of ``text`` (split at ``\\n``) from baseline ``y`` down."""
        lines = str(text).split("\n")
        spans = "".join(f'<tspan x="{_n(x)}" dy="{_n(0 if i == 0 else size * 1.2)}">'
                        f"{esc(line)}</tspan>" for i, line in enumerate(lines))
        (self.shapes if into is None else into).append(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{colour}" '
            f'text-anchor="{anchor}"{extra}>{spans}</text>')

    def block(self, x: float, y: float, half: float) -> None:
        """Keep labels off a marker at (x, y), ``half`` pixels each way."""
        self.boxes.append((x - half, y - half, x + half, y + half))

    def place(self, spots: Sequence[tuple[float, float]], text: str, size: float = 9,
              colour: str = _INK, extra: str = "", italic: bool = False) -> None:
        """A label centred at the first of ``spots`` where it overlaps nothing placed
        before (else where it overlaps least), on a white box."""
        lines = str(text).split("\n")
        w = max(text_width(line, size) for line in lines) + 6
        h = len(lines) * size * 1.2 + 4
        best, best_overlap = spots[0], math.inf
        for x, y in spots:
            overlap = _overlap((x - w / 2, y - h / 2, x + w / 2, y + h / 2), self.boxes,
                               best_overlap)
            if overlap < best_overlap:
                best, best_overlap = (x, y), overlap
            if overlap == 0:
                break
        x, y = best
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        self.boxes.append(box)
        group: list[str] = []
        self.rect_into(group, box)
        style = ' font-style="italic"' if italic else ""
        self.text(x, box[1] + 2 + size, text, size, "middle", colour, style, into=group)
        self.labels.append(f'<g class="label"{extra}>{"".join(group)}</g>')

    @staticmethod
    def rect_into(group: list[str], box: tuple[float, float, float, float]) -> None:
        group.append(f'<rect x="{_n(box[0])}" y="{_n(box[1])}" width="{_n(box[2] - box[0])}" '
                     f'height="{_n(box[3] - box[1])}" fill="#ffffff" fill-opacity="0.85"/>')

    def svg(self, kind: str) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="figure {kind}" role="img" '
                f'aria-label="{esc(self.label)}" width="{_n(self.width)}" '
                f'height="{_n(self.height)}" viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
                'font-family="inherit">'
                f'<rect width="100%" height="100%" fill="#ffffff"/>'
                f'{"".join(self.shapes)}{"".join(self.labels)}</svg>')


def _overlap(box: tuple[float, float, float, float], boxes: list, enough: float) -> float:
    """Area of ``box`` covered by ``boxes`` (summed), or a value >= ``enough`` as soon as
    the sum reaches it (the spot is no better than one already seen).

    >>> _overlap((0, 0, 2, 2), [(1, 1, 3, 3), (5, 5, 6, 6)], math.inf)
    1
    """
    x0, y0, x1, y1 = box
    total = 0
    for a0, b0, a1, b1 in boxes:
        if a0 < x1 and x0 < a1 and b0 < y1 and y0 < b1:
            total += (min(x1, a1) - max(x0, a0)) * (min(y1, b1) - max(y0, b0))
            if total >= enough:
                return total
    return total


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _regular(n: int, x: float, y: float, r: float, turn: float = 0.0,
             inner: float | None = None) -> list[tuple[float, float]]:
    """Corners of a regular polygon (a star with ``inner`` radius), first corner up."""
    corners = []
    steps = 2 * n if inner else n
    for i in range(steps):
        angle = math.pi * 2 * i / steps + turn
        rad = inner if inner and i % 2 else r
        corners.append((x + rad * math.sin(angle), y - rad * math.cos(angle)))
    return corners


def _cross(x: float, y: float, r: float, turn: float) -> list[tuple[float, float]]:
    t = r / 3
    arm = [(-t, -r), (t, -r), (t, -t), (r, -t), (r, t), (t, t), (t, r), (-t, r), (-t, t),
           (-r, t), (-r, -t), (-t, -t)]
    c, s = math.cos(turn), math.sin(turn)
    return [(x + a * c - b * s, y + a * s + b * c) for a, b in arm]


@functools.lru_cache(maxsize=1 << 12)  # the legends' markers recur in every figure
def marker(shape: str, x: float, y: float, r: float, fill: str, stroke: str = "#ffffff",
           width: float = 0.6, extra: str = "") -> str:
    """One marker (matplotlib's letters: ``s o ^ v D d h H p * P X``) centred at (x, y).

    >>> marker("o", 1, 2, 3, "#000000")
    '<circle cx="1" cy="2" r="3" fill="#000000" stroke="#ffffff" stroke-width="0.6"/>'
    """
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{extra}'
    if shape == "o":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" {paint}/>'
    if shape == "s":
        return (f'<rect x="{_n(x - r)}" y="{_n(y - r)}" width="{_n(2 * r)}" '
                f'height="{_n(2 * r)}" {paint}/>')
    corners = {
        "^": lambda: _regular(3, x, y, r * 1.2),
        "v": lambda: _regular(3, x, y, r * 1.2, math.pi),
        "D": lambda: _regular(4, x, y, r * 1.15),
        "d": lambda: [(x, y - r * 1.2), (x + r * 0.7, y), (x, y + r * 1.2), (x - r * 0.7, y)],
        "h": lambda: _regular(6, x, y, r * 1.1),
        "H": lambda: _regular(6, x, y, r * 1.1, math.pi / 6),
        "p": lambda: _regular(5, x, y, r * 1.1),
        "*": lambda: _regular(5, x, y, r * 1.45, inner=r * 0.6),
        "P": lambda: _cross(x, y, r * 1.1, 0.0),
        "X": lambda: _cross(x, y, r * 1.1, math.pi / 4),
    }.get(shape, lambda: _regular(4, x, y, r))()
    return f'<polygon points="{_points(corners)}" {paint}/>'


def _legend(canvas: _Canvas, x: float, y: float, items: list[tuple[str, str]]) -> None:
    """Legend rows from (x, y) down: (symbol markup at (0, 0), text)."""
    for i, (symbol, text) in enumerate(items):
        yy = y + 18 * i
        canvas.add(f'<g transform="translate({_n(x + 8)},{_n(yy)})">{symbol}</g>')
        canvas.text(x + 22, yy + 4, text, 10)


def _line_symbol(colour: str, dash: str, width: float) -> str:
    dashes = f' stroke-dasharray="{_DASH[dash]}"' if _DASH[dash] else ""
    return (f'<line x1="-8" y1="0" x2="8" y2="0" stroke="{colour}" stroke-width="{width}"'
            f"{dashes}/>")


# --- evidence graph --------------------------------------------------------------------


def arrange(layout: EvidenceGraph) -> None:
    """y of every node (rows go down from 0): few crossings, neighbours level.

    Identifiers are grouped by the strongest linked shop they tie to; linked
    shops and later hops sit at the mean height of their neighbours on the
    left, pushed apart to keep a minimum gap.
    """
    columns: dict[int, list[GraphNode]] = {}
    for node in layout.nodes.values():
        columns.setdefault(node.column, []).append(node)
    height = max(len(c) for c in columns.values())
    neighbours: dict[str, list[GraphNode]] = {}
    for a, b, _, _ in layout.edges:
        neighbours.setdefault(a, []).append(layout.nodes[b])
        neighbours.setdefault(b, []).append(layout.nodes[a])

    def owner(node: GraphNode) -> float:
        return min([n.order for n in neighbours.get(node.key, []) if n.column == 1] or [-1])

    for node in columns.get(2, []):
        targets = [n.order for n in neighbours.get(node.key, []) if n.column == 3]
        node.order = min(targets) if targets else math.inf
    identifiers = sorted(columns.get(2, []), key=lambda n: (n.order, owner(n), n.kind, n.key))
    step = (height - 1) / max(len(identifiers) - 1, 1)
    for i, n in enumerate(identifiers):
        n.y = -i * step if len(identifiers) > 1 else -(height - 1) / 2
    for col in (1, 0, *sorted(c for c in columns if c >= 3)):
        nodes = columns.get(col, [])
        for n in nodes:  # level with the neighbours already placed
            ys = [m.y for m in neighbours.get(n.key, []) if m.column == 2 or
                  (col >= 3 and m.column < col) or (col == 0 and m.column == 1)]
            n.y = sum(ys) / len(ys) if ys else -(height - 1) / 2
        nodes.sort(key=lambda n: (-n.y, n.order, n.key))
        for n, y in zip(nodes, spread([n.y for n in nodes], 2.0, -(height - 1), 0.0),
                        strict=True):
            n.y = y


def column_x(column: int) -> float:
    """x of a column: a wider gap between identifiers and linked shops, for the evidence."""
    return float(column) if column < 3 else 3.7 + 1.1 * (column - 3)


def spread(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """Heights as close to ``wanted`` (descending) as a minimum ``gap`` within [low, high].

    >>> spread([0.0, -0.5, -4.0], 1.5, -6.0, 0.0)
    [0.0, -1.5, -4.0]
    """
    if len(wanted) > 1 and (high - low) / (len(wanted) - 1) < gap:
        step = (high - low) / (len(wanted) - 1)
        return [high - i * step for i in range(len(wanted))]
    ys = [min(wanted[0], high)]
    for y in wanted[1:]:
        ys.append(min(y, ys[-1] - gap))
    if ys[-1] < low:
        ys[-1] = low
        for i in range(len(ys) - 2, -1, -1):
            ys[i] = max(ys[i], ys[i + 1] + gap)
    return ys


_COLUMN_PX, _ROW_PX, _LEFT, _TOP = 215.0, 56.0, 100.0, 64.0


def evidence(graph: EvidenceGraph) -> str:
    """A flagged sign-up's evidence graph as SVG (the layout of
    :func:`graphlink.reports.plot.draw_evidence`): left to right the shop, its accounts,
    its identifiers (how many shops use each), the linked shops (banned red) and
    the path on to banned shops; every edge drawn, evidence written on it."""
    # a copy of each node (fields of plain values) for the layout to move
    layout = dataclasses.replace(graph, nodes={k: dataclasses.replace(n) for k, n in
                                               graph.nodes.items()})
    arrange(layout)
    nodes = list(layout.nodes.values())
    index = {n.key: i for i, n in enumerate(nodes)}
    last = max(n.column for n in nodes)
    rows = max(sum(n.column == c for n in nodes) for c in range(last + 1))
    plot_w = _LEFT + column_x(last) * _COLUMN_PX + 110
    width, height = plot_w + 200, _TOP + (rows - 1) * _ROW_PX + 60
    pos = {n.key: (_LEFT + column_x(n.column) * _COLUMN_PX, _TOP - n.y * _ROW_PX)
           for n in nodes}
    c = _Canvas(width, height, f"evidence graph of {graph.shop_id}")
    for i, (a, b, style, _) in enumerate(layout.edges):
        colour, dash, stroke = EDGE_STYLE[style]
        (x0, y0), (x1, y1) = pos[a], pos[b]
        c.line(x0, y0, x1, y1, colour, stroke, _DASH[dash],
               f' class="edge edge-{style}" data-edge="{i}" data-a="{index[a]}" '
               f'data-b="{index[b]}"')
    me = f"shop:{graph.shop_id}"
    for node in nodes:
        colour, shape = NODE_STYLE[node.kind]
        x, y = pos[node.key]
        banned = node.kind == "banned"
        c.add(marker(shape, x, y, 9 if node.key == me else 6.5, colour,
                     "#000000" if node.kind in ("shop", "banned") else "#ffffff",
                     1.2 if banned else 0.6,
                     f' class="node node-{node.kind}" data-node="{index[node.key]}"'))
        c.block(x, y, 10 if node.key == me else 7)
    _evidence_labels(c, layout, nodes, index, pos, me)
    title = f"Evidence around {graph.shop_id} {short(graph.name, 30)}: risk {graph.risk:.2f} " \
            f"({graph.flag})"
    c.text(10, 22, title, 14, extra=' font-weight="600" class="title"')
    notes = evidence_notes(graph)
    if notes:
        c.text(10, height - 8, "; ".join(notes), 10, colour=_MUTED)
    kinds = {n.kind for n in nodes}
    styles = {s for _, _, s, _ in layout.edges}
    items = [(marker(NODE_STYLE[k][1], 0, 0, 5.5, NODE_STYLE[k][0], "#000000" if k in (
        "shop", "banned") else "#ffffff"), kind_name(k)) for k in NODE_STYLE if k in kinds]
    items += [(_line_symbol(*EDGE_STYLE[s]), edge_name(s)) for s in EDGE_STYLE if s in styles]
    _legend(c, plot_w + 10, _TOP - 10, items)
    return c.svg("evidence")


def evidence_notes(graph: EvidenceGraph) -> list[str]:
    """What an evidence figure leaves out: identifiers without evidence, weaker shops.

    >>> from types import SimpleNamespace
    >>> evidence_notes(SimpleNamespace(omitted_identifiers=0, omitted_shops=3))
    ['3 weaker linked shop(s) not drawn']
    """
    notes = []
    if graph.omitted_identifiers:
        notes.append(f"{graph.omitted_identifiers} more identifier(s) without evidence not drawn")
    if graph.omitted_shops:
        notes.append(f"{graph.omitted_shops} weaker linked shop(s) not drawn")
    return notes


def _evidence_labels(c: _Canvas, layout: EvidenceGraph, nodes: list[GraphNode],
                     index: dict[str, int], pos: dict, me: str) -> None:
    """Node labels above their nodes, then edge labels along their edges."""
    for node in sorted(nodes, key=lambda n: (n.column, -n.y)):
        x, y = pos[node.key]
        size = 11 if node.key == me else 9
        lines = node.text.count("\n") + 1
        lift = lines * size * 0.6 + 12
        colour = NODE_STYLE["banned"][0] if node.kind == "banned" else _INK
        c.place([(x, y - lift), (x, y + lift), (x + 30, y - lift - 8)], node.text, size, colour,
                f' data-node="{index[node.key]}"')
    for i, (a, b, style, text) in enumerate(layout.edges):
        if not text:
            continue
        (x0, y0), (x1, y1) = pos[a], pos[b]
        side = 0.45 * _COLUMN_PX if x0 == x1 else 0.0  # a link within one column: beside it
        spots = [(x0 + side + t * (x1 - x0), y0 + t * (y1 - y0) + dy)
                 for dy in (0.0, -16.0, 16.0)
                 for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85)]
        c.place(spots, text, 8, EDGE_STYLE[style][0], f' data-edge="{i}"',
                italic=style == "fuzzy")


def kind_name(kind: str) -> str:
    """A node kind as the legend says it."""
    from graphlink.scoring.score import label

    return {"shop": "shop", "banned": "banned shop", "account": "account"}.get(kind, label(kind))


def edge_name(style: str) -> str:
    """An edge style as the legend says it."""
    return {"operates": "operates", "uses": "uses",
            "exact": "same value · first seen there",
            "fuzzy": "similar value", "path": "shop-to-shop link"}[style]


# --- axes ---------------------------------------------------------------------------------


def ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high], about ``count`` of them.

    >>> ticks(0, 17), ticks(-3.2, 11.5)
    ([0.0, 5.0, 10.0, 15.0], [0.0, 5.0, 10.0])
    """
    span = max(high - low, 1e-9)
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    count = int((high - first) / step + 1e-9) + 1
    return [float(round(first + i * step, 10)) + 0.0 for i in range(count)]  # + 0.0: no -0.0


def _number_text(value: float) -> str:
    return f"{value:g}"


# --- waterfall ------------------------------------------------------------------------


def probability_text(weight: float) -> str:
    """The match probability ``1 / (1 + 2 ** -weight)`` of a log2 weight, readable at
    both ends (``1 − 9.3e-10`` rather than ``1``).

    >>> [probability_text(w) for w in (0.0, 3.0, -3.0, 30.0, -20.0)]
    ['0.5', '0.889', '0.111', '1 − 9.3e-10', '9.5e-07']
    """
    w = min(max(float(weight), -1000.0), 1000.0)
    p, q = 1.0 / (1.0 + 2.0 ** -w), 1.0 / (1.0 + 2.0 ** w)
    if q < 0.001:
        return f"1 − {q:.2g}"
    if p < 0.001:
        return f"{p:.2g}"
    return f"{p:.3g}"


def _number(value: object, default: float) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return x if math.isfinite(x) else default


def waterfall_rows(steps: list[dict]) -> list[tuple[str, float, float]]:
    """(tick label, log2 Bayes factor, log2 of its frequency adjustment) per step.

    >>> waterfall_rows([{"comparison": "device", "level": "exact", "bayes_factor": 8.0}])
    [('device: exact', 3.0, 0.0)]
    """
    rows = []
    for step in steps:
        name = str(step.get("comparison", "") or "")
        level = step.get("level")
        text = f"{name}: {level}" if level not in (None, "") else name
        bf = _number(step.get("bayes_factor"), 1.0)
        total = _number(step.get("log2_bf"), math.log2(bf) if bf > 0 else 0.0)
        tf = _number(step.get("tf_adjustment"), 1.0)
        tf_log2 = math.log2(tf) if tf > 0 else 0.0
        rows.append((short(text, 30), total, tf_log2 if abs(tf_log2) > 1e-9 else 0.0))
    return rows


def _hatch(c: _Canvas, x: float, y: float, w: float, h: float, colour: str) -> None:
    """Diagonal hatching inside a rectangle (the part a frequency adjustment took)."""
    x, w = (x, w) if w >= 0 else (x + w, -w)
    y, h = (y, h) if h >= 0 else (y + h, -h)
    c.rect(x, y, w, h, "#ffffff", colour, ' class="tf-adjustment"')
    k = x + y + 6
    while k < x + w + y + h:
        xa, xb = max(x, k - (y + h)), min(x + w, k - y)
        if xb > xa:
            c.line(xa, k - xa, xb, k - xb, colour, 0.8)
        k += 6


def waterfall(steps: list[dict], title: str = "") -> str:
    """One pair's match weight as SVG (as :func:`graphlink.reports.plot.waterfall_chart`):
    each step's log2 Bayes factor as a bar from where the previous ended (green
    raises, red lowers, hatched: the part a common value's frequency took away),
    the total last with its probability; the right axis reads weights as
    probabilities."""
    rows = waterfall_rows(steps)
    n = len(rows)
    bar, left, top = 64.0, 70.0, 58.0
    plot_h = 250.0
    width = max(left + bar * (n + 1.6) + 90, 600.0)
    height = top + plot_h + 170
    cum, ends, bars = 0.0, [0.0], []
    for _, total, tf in rows:
        bars.append((cum, total, tf))
        cum += total
        ends += [cum, cum - tf]
    low, high = min(ends + [cum, 0.0]), max(ends + [cum, 0.0])
    span = max(high - low, 1.0)
    low, high = low - 0.14 * span, high + 0.2 * span

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    heading = title or "Match weight, step by step"
    c = _Canvas(width, height, f"match weight waterfall: {heading}")
    right = left + bar * (n + 1.4)
    for t in ticks(low, high):
        c.line(left, y(t), right, y(t), "#e5e5e5", 0.6)
        c.text(left - 6, y(t) + 4, _number_text(t), 10, "end")
        c.text(right + 6, y(t) + 4, probability_text(t), 10)
    c.line(left, y(0), right, y(0), _MUTED, 0.8)
    _waterfall_bars(c, bars, left, bar, y)
    xf = left + bar * (n + 0.5)
    c.rect(xf, y(0), bar * 0.7, y(cum) - y(0), WEIGHT_COLOURS["final"],
           extra=' class="final"')
    c.text(xf + bar * 0.35, y(max(cum, 0.0)) - 18, f"w = {cum:.2f}\np = {probability_text(cum)}",
           10, "middle", WEIGHT_COLOURS["final"], ' font-weight="600"')
    _waterfall_labels(c, rows, (left, bar, top, plot_h), heading, cum)
    _waterfall_legend(c, height)
    return c.svg("waterfall")


def _waterfall_bars(c: _Canvas, bars: list[tuple[float, float, float]], left: float,
                    bar: float, y) -> None:
    """The step bars of :func:`waterfall` (``bars``: start, log2 Bayes factor and its
    frequency part), their links and labels; ``y`` maps a weight to a pixel row."""
    n = len(bars)
    for i, (start, total, tf) in enumerate(bars):
        x = left + bar * (i + 0.5)
        base = total - tf
        colour = WEIGHT_COLOURS["up" if base >= 0 else "down"]
        c.rect(x, y(start), bar * 0.7, y(start + base) - y(start), colour,
               extra=f' class="step" data-step="{i}"')
        if tf:
            _hatch(c, x, y(start + base), bar * 0.7, y(start + total) - y(start + base),
                   WEIGHT_COLOURS["up" if tf > 0 else "down"])
        if i + 1 < n:
            c.line(x + bar * 0.7, y(start + total), x + bar, y(start + total), "#888888", 0.8)
        label = f"{total:+.2f}" + (f"\n(freq. {tf:+.2f})" if tf else "")
        edge = max(start, start + total) if total >= 0 else min(start, start + total)
        ty = y(edge) - 5 - (12 if tf else 0) if total >= 0 else y(edge) + 12
        c.text(x + bar * 0.35, ty, label, 9, "middle", "#333333")


def _waterfall_labels(c: _Canvas, rows: list[tuple], frame: tuple[float, float, float, float],
                      heading: str, cum: float) -> None:
    """Tick labels, axis title and headings of :func:`waterfall` (``frame``: left,
    bar width, top and plot height)."""
    left, bar, top, plot_h = frame
    for i, (text, _, _) in enumerate([*rows, ("match weight", 0, 0)]):
        x, yy = left + bar * (i + 0.85), top + plot_h + 12
        c.text(x, yy, text, 10, "end", extra=f' transform="rotate(-35 {_n(x)} {_n(yy)})"')
    c.text(14, top + plot_h / 2, "match weight (log2 odds)", 10, "middle",
           extra=f' transform="rotate(-90 14 {_n(top + plot_h / 2)})"')
    c.text(10, 20, heading, 13, extra=' font-weight="600" class="title"')
    c.text(10, 38, f"match weight {cum:.2f}, probability {probability_text(cum)}", 11)


def _waterfall_legend(c: _Canvas, height: float) -> None:
    """The legend of :func:`waterfall`."""
    items = [(f'<rect x="-7" y="-5" width="14" height="10" fill="{WEIGHT_COLOURS[k]}"/>', t)
             for k, t in (("up", "raises the weight"), ("down", "lowers the weight"),
                          ("final", "match weight (sum)"))]
    items.append(('<rect x="-7" y="-5" width="14" height="10" fill="#ffffff" stroke="#555555"/>'
                  '<line x1="-3" y1="5" x2="7" y2="-5" stroke="#555555"/>',
                  "frequency adjustment (a common value)"))
    _legend(c, 20, height - 40, items[:2])
    _legend(c, 250, height - 40, items[2:])


# --- factory map ------------------------------------------------------------------------

_M_PER_DEGREE = 111_320.0
_STATUS_COLOURS = (("active", NODE_STYLE["shop"][0]), ("closed", "#7f8c8d"),
                   ("banned", NODE_STYLE["banned"][0]))


def factory_map(place: FactoryPlace) -> str:
    """A factory lead's dispatch addresses around its anchor as SVG (as
    :func:`graphlink.reports.plot.draw_factory_map`): the lead's shops by status (banned
    red), successors hollow, other shops' addresses faint grey, the anchor a
    star, the lead's radius dashed; true proportions and a scale bar in metres."""
    side, left, top = 520.0, 70.0, 62.0
    lat0, lon0, span = place.lat, place.lon, place.span
    scale = side / (2 * span)  # pixels per metre
    cos0 = math.cos(math.radians(lat0))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (left + side / 2 + (lon - lon0) * _M_PER_DEGREE * cos0 * scale,
                top + side / 2 - (lat - lat0) * _M_PER_DEGREE * scale)

    c = _Canvas(left + side + 270, top + side + 70, f"map of factory lead {place.factory_id}")
    c.rect(left, top, side, side, "#ffffff", "#888888", ' class="frame"')
    cx, cy = xy(lat0, lon0)
    r = place.radius * scale
    c.add(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="none" stroke="#555555" '
          'stroke-dasharray="6 4"/>')
    items = _map_points(c, place, xy)
    c.add(marker("*", cx, cy, 8, "#f1c40f", "#000000", 0.8, ' class="anchor"'))
    items.append((marker("*", 0, 0, 6, "#f1c40f", "#000000", 0.8), "anchor"))
    _map_labels(c, place.inside, xy, (cx, cy))
    _scale_bar(c, left + side, top + side, span, scale)
    c.text(left, top + side + 18, f"{lat0 - span / _M_PER_DEGREE:.5f}°N, "
           f"{lon0 - span / _M_PER_DEGREE / cos0:.5f}°E", 9, colour=_MUTED)
    c.text(left + side, top - 6, f"{lat0 + span / _M_PER_DEGREE:.5f}°N, "
           f"{lon0 + span / _M_PER_DEGREE / cos0:.5f}°E", 9, "end", _MUTED)
    c.text(10, 20, f"Factory lead {place.factory_id}: {place.shops} shops of {place.operators} "
           f"independent operators, {place.banned_shops} banned (score {place.score:.2f})", 13,
           extra=' font-weight="600" class="title"')
    c.text(10, 38, f"anchor {short(place.anchor_address, 56)}, radius {place.radius:.0f} m", 11)
    _legend(c, left + side + 14, top + 8, items)
    notes = map_notes(place)
    for i, note in enumerate(notes):
        c.text(left, top + side + 36 + 15 * i, note, 10, colour=_MUTED)
    return c.svg("factory-map")


def map_notes(place: FactoryPlace) -> list[str]:
    """What a factory map cannot show: addresses outside it, shops without coordinates.

    >>> from types import SimpleNamespace
    >>> map_notes(SimpleNamespace(elsewhere=2, unplaced=["S1"]))
    ['2 other address(es) of these shops lie outside the map', '1 shop(s) without coordinates: S1']
    """
    notes = []
    if place.elsewhere > 0:
        notes.append(f"{place.elsewhere} other address(es) of these shops lie outside the map")
    if place.unplaced:
        unplaced = place.unplaced
        notes.append(f"{len(unplaced)} shop(s) without coordinates: {', '.join(unplaced[:6])}"
                     + (" ..." if len(unplaced) > 6 else ""))
    return notes


def _map_points(c: _Canvas, place: FactoryPlace, xy) -> list[tuple[str, str]]:
    """Other shops' addresses, the lead's shops by status, the successors; legend items."""
    for lat, lon in zip(place.outside["lat"], place.outside["lon"], strict=True):
        c.add(marker("o", *xy(lat, lon), 3.5, "#c8c8c8", "none", 0, ' class="other"'))
    items = []
    if len(place.outside):
        items.append((marker("o", 0, 0, 3.5, "#c8c8c8", "none", 0),
                      f"other shops' addresses ({len(place.outside)})"))
    inside = place.inside
    for state, colour in _STATUS_COLOURS:
        sel = inside[inside["status"] == state]
        for lat, lon, shop in zip(sel["lat"], sel["lon"], sel["shop_id"], strict=True):
            c.add(marker("o", *xy(lat, lon), 5, colour, "#ffffff", 1,
                         f' class="shop shop-{state}" data-shop="{esc(shop)}"'))
        if len(sel):
            items.append((marker("o", 0, 0, 5, colour), f"lead's shop, {state} "
                          f"({sel['shop_id'].nunique()})"))
    later = place.later
    for lat, lon, shop in zip(later["lat"], later["lon"], later["shop_id"], strict=True):
        c.add(marker("o", *xy(lat, lon), 5, "none", NODE_STYLE["shop"][0], 1.2,
                     f' class="shop successor" data-shop="{esc(shop)}"'))
    if len(later):
        items.append((marker("o", 0, 0, 5, "none", NODE_STYLE["shop"][0], 1.2),
                      f"after a ban, no signal ({later['shop_id'].nunique()})"))
    return items


def _map_labels(c: _Canvas, inside: pd.DataFrame, xy, anchor: tuple[float, float]) -> None:
    """The shop ids at each place of the lead (three, then how many more)."""
    c.block(*anchor, 11)
    for lat, lon in zip(inside["lat"], inside["lon"], strict=True):
        c.block(*xy(lat, lon), 5)
    at_place = inside.groupby(["lat", "lon"])["shop_id"].agg(lambda s: sorted(set(s)))
    for (lat, lon), shops in at_place.items():
        text = ", ".join(shops[:3]) + (f" +{len(shops) - 3}" if len(shops) > 3 else "")
        x, y = xy(lat, lon)
        w = text_width(text, 8) / 2 + 10
        spots = [(x + sx * w, y + sy) for sy in (-10, 10, -24, 24, -38, 38) for sx in (1, -1)]
        c.place(spots, text, 8)


def _scale_bar(c: _Canvas, right: float, bottom: float, span: float, scale: float) -> None:
    metres = next(m for m in (1000, 500, 200, 100, 50, 20, 10) if m <= span / 2)
    length = metres * scale
    x, y = right - 20 - length, bottom - 20
    c.line(x, y, x + length, y, "#000000", 2.5, extra=' class="scale-bar"')
    c.text(x + length / 2, y - 6, f"{metres} m", 10, "middle")


# --- risk histogram -----------------------------------------------------------------------


def risk_histogram(risks: Sequence[float], flags: Sequence[str], since: str = "",
                   thresholds: dict[str, float] | None = None, bins: int = 20) -> str:
    """The sign-ups' risk by flag as SVG (as :func:`graphlink.reports.plot.risk_histogram`):
    stacked bars over [0, 1], dashed lines at the flag ``thresholds``; shops with
    risk 0 (no tie to a banned shop) counted in the title, not drawn."""
    if thresholds is None:
        from graphlink.scoring.score import FLAGS as thresholds
    order = ("high", "medium", "low", "none")
    if len(risks) != len(flags):
        raise ValueError("one flag per risk")
    risk = np.asarray(risks, dtype=float)
    flag_of = np.asarray(flags, dtype=object)
    drawn = risk > 0
    # the bin of each drawn risk: min(int(risk * bins), bins - 1), for all at once
    at = np.minimum((risk * bins).astype(np.int64), bins - 1)
    counts = {f: np.bincount(at[drawn & (flag_of == f)], minlength=bins).tolist()
              for f in order}
    left, top, plot_w, plot_h = 60.0, 56.0, 640.0, 240.0
    tallest = max([sum(counts[f][b] for f in order) for b in range(bins)] + [1])
    ys = [t for t in ticks(0, tallest) if t == int(t)]
    high = max(ys[-1], tallest)
    c = _Canvas(left + plot_w + 170, top + plot_h + 50, "sign-up risk histogram")

    def y(v: float) -> float:
        return top + plot_h - v / high * plot_h

    for t in ys:
        c.line(left, y(t), left + plot_w, y(t), "#e5e5e5", 0.6)
        c.text(left - 6, y(t) + 4, _number_text(t), 10, "end")
    width = plot_w / bins
    for b in range(bins):
        _stack(c, left + b * width, width - 1, y, [(f, counts[f][b]) for f in order])
    for name, threshold in thresholds.items():
        x = left + threshold * plot_w
        c.line(x, top, x, top + plot_h, _MUTED, 0.8, "4 3")
        c.text(x + 3, top + 10, f"{name} ≥ {threshold}", 9, colour=_MUTED)
    c.line(left, top + plot_h, left + plot_w, top + plot_h, _INK, 0.8)
    for t in ticks(0, 1):
        c.text(left + t * plot_w, top + plot_h + 14, _number_text(t), 10, "middle")
    c.text(left + plot_w / 2, top + plot_h + 32, "risk (best path score to a banned shop)", 10,
           "middle")
    c.text(14, top + plot_h / 2, "sign-ups", 10, "middle",
           extra=f' transform="rotate(-90 14 {_n(top + plot_h / 2)})"')
    zero = int((risk == 0).sum())
    c.text(10, 22, f"Sign-up risk: {len(risks)} sign-ups" + (f" since {since}" if since else "")
           + f", {zero} with no tie to a banned shop (not drawn)", 13,
           extra=' font-weight="600" class="title"')
    n_flag = {f: int((flag_of == f).sum()) for f in order}
    items = [(f'<rect x="-7" y="-5" width="14" height="10" fill="{FLAG_COLOURS[f]}"/>',
              f"{f}: {n_flag[f]}" + (" (not drawn)" if f == "none" else "")) for f in order]
    c.text(left + plot_w + 14, top, "flag: sign-ups", 10)
    _legend(c, left + plot_w + 14, top + 16, items)
    return c.svg("risk-histogram")


def _stack(c: _Canvas, x: float, width: float, y, parts: list[tuple[str, int]]) -> None:
    """One stacked bar: (flag, count) from the bottom up."""
    base = 0
    for flag, n in parts:
        if n:
            c.rect(x, y(base + n), width, y(base) - y(base + n), FLAG_COLOURS[flag],
                   extra=f' class="bar bar-{flag}" data-n="{n}"')
            base += n


# --- cluster sizes -------------------------------------------------------------------------


def cluster_sizes(shops: pd.DataFrame) -> str:
    """Operators and communities by size (shops) as SVG, log scale, split by whether
    the group holds a banned shop (as :func:`graphlink.reports.plot.draw_cluster_sizes`);
    ``shops`` has one row per shop: shop_id, operator_id, community_id, banned."""
    panel_w, panel_h, left, top = 380.0, 220.0, 60.0, 60.0
    c = _Canvas(2 * (panel_w + left) + 30, top + panel_h + 90, "operator and community sizes")
    c.text(10, 22, "Operators (same real-world actor) and communities (wider networks)", 13,
           extra=' font-weight="600" class="title"')
    for i, (column, what) in enumerate((("operator_id", "operators"),
                                         ("community_id", "communities"))):
        bars, groups, largest = _size_bars(shops[column], shops["banned"])
        x0 = left + i * (panel_w + left + 10)
        _size_panel(c, x0, top, panel_w, panel_h, bars)
        c.text(x0, top - 10, f"{groups} {what}; largest {largest} shops", 11)
        c.text(x0 - 44, top + panel_h / 2, f"{what} (log scale)", 10, "middle",
               extra=f' transform="rotate(-90 {_n(x0 - 44)} {_n(top + panel_h / 2)})"')
    items = [(f'<rect x="-7" y="-5" width="14" height="10" fill="{NODE_STYLE["shop"][0]}"/>',
              "no banned shop"),
             (f'<rect x="-7" y="-5" width="14" height="10" fill="{NODE_STYLE["banned"][0]}"/>',
              "with a banned shop")]
    _legend(c, left, top + panel_h + 56, items[:1])
    _legend(c, left + 200, top + panel_h + 56, items[1:])
    return c.svg("cluster-sizes")


def _size_bars(group: pd.Series, banned: pd.Series) -> tuple[list[tuple[int, int, int]],
                                                              int, int]:
    """Groups by size: ``(size, groups without a banned shop, with one)`` by size, the
    number of groups and the largest size (a shop without a group counts in none; one
    pass of numpy over the shops).

    >>> import pandas as pd
    >>> _size_bars(pd.Series(["O1", "O1", "O2", None]), pd.Series([False, True, False, True]))
    ([(1, 1, 0), (2, 0, 1)], 2, 2)
    """
    codes, _ = group.factorize()
    kept = codes >= 0
    codes = codes[kept]
    size = np.bincount(codes)
    has_banned = np.bincount(codes, weights=np.asarray(banned, dtype=bool)[kept]) > 0
    counts = np.bincount(size * 2 + has_banned, minlength=2)
    bars = [(int(s), int(counts[2 * s]), int(counts[2 * s + 1]) if 2 * s + 1 < len(counts)
             else 0) for s in np.unique(size)]
    return bars, len(size), int(size.max()) if len(size) else 0


def _size_panel(c: _Canvas, x0: float, top: float, w: float, h: float,
                bars: list[tuple[int, int, int]]) -> None:
    """Stacked bars (size, groups without a banned shop, with one) on a log scale."""
    most = max([a + b for _, a, b in bars] + [1])
    high = 10 ** math.ceil(math.log10(most * 1.5))

    def y(v: float) -> float:
        return top + h - math.log10(max(v, 0.8) / 0.8) / math.log10(high / 0.8) * h

    power = 1
    while power <= high:
        c.line(x0, y(power), x0 + w, y(power), "#e5e5e5", 0.6)
        c.text(x0 - 6, y(power) + 4, f"{power:,}", 9, "end")
        power *= 10
    width = w / max(len(bars), 1)
    for k, (size, clean, banned) in enumerate(bars):
        x = x0 + k * width + width * 0.1
        for low, count, colour, kind in ((0, clean, NODE_STYLE["shop"][0], "clean"),
                                         (clean, banned, NODE_STYLE["banned"][0], "banned")):
            if count:
                c.rect(x, y(low + count), width * 0.8, y(low) - y(low + count), colour,
                       extra=f' class="bar bar-{kind}" data-size="{size}" data-n="{count}"')
        label_y = top + h + 12
        c.text(x + width * 0.4, label_y, str(size), 8, "middle" if len(bars) < 25 else "end",
               extra="" if len(bars) < 25 else
               f' transform="rotate(-60 {_n(x + width * 0.4)} {_n(label_y)})"')
    c.line(x0, top + h, x0 + w, top + h, _INK, 0.8)
    c.text(x0 + w / 2, top + h + 34, "shops in the group", 10, "middle")
