"""Figures an analyst reads at a glance; each function returns a matplotlib Figure.

- :func:`evidence_subgraph`: the shop, its accounts and identifiers, the
  shops those identifiers tie it to (banned ones in red) and the path on to
  banned shops, with the evidence written on the edges.
- :func:`risk_histogram`: how the sign-ups' risk is distributed, by flag.
- :func:`factory_map`: a factory cluster's dispatch addresses around its
  anchor, with the cluster radius.
- :func:`cluster_sizes`: shops per operator and per community.
- :func:`waterfall_chart`: how one pair's match weight adds up, step by step
  (Splink's waterfall), with the match probability it comes to.
- :func:`model_chart`: the match model's m and u of every comparison level.

Figures are plain :class:`matplotlib.figure.Figure` objects on the Agg
canvas: they never touch pyplot's global state (no window, no leak when a
report draws dozens), ``fig.savefig(...)`` writes them, and Jupyter shows a
figure that ends a cell.

Chinese text: importing this module registers a CJK font with matplotlib's
font manager and adds it as a fallback family, so shop names, holders and
addresses render instead of boxes. The font comes with the install: Noto Sans
CJK SC from the package ``noto-cjk-sans-otc`` (a dependency; SIL Open Font
License 1.1; the same ``NotoSansCJK-Regular.ttc`` as Debian's
``fonts-noto-cjk``), registered under its own family name :data:`CJK_FONT` so
that no system font of the same name can stand in for it. ``GRAPHLINK_CJK_FONT``
(a font file) overrides it; without the package, a system CJK font is looked
for (Noto Sans CJK, WenQuanYi Micro Hei, Source Han Sans, ...), and without any
the module warns once and draws Latin text only.

>>> _short("成都成华区建设路566号金色家园6栋1504室", 16, tail=True)
'…色家园6栋1504室'
"""

from __future__ import annotations

import copy
import dataclasses
import glob
import math
import os
import shutil
import subprocess
import warnings
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from graphlink.core.period import day
from graphlink.core.safetext import safe_terminal
from graphlink.core.safetext import short as _short
from graphlink.reports.svg import (
    FLAG_COLOURS,
    NODE_STYLE,
    WEIGHT_COLOURS,
    evidence_notes,
    map_notes,
    probability_text,
    waterfall_rows,
)
from graphlink.reports.svg import arrange as _arrange
from graphlink.reports.svg import column_x as _column_x
from graphlink.reports.svg import edge_name as _edge_name
from graphlink.reports.svg import kind_name as _kind_name
from graphlink.scoring.score import FLAGS

if TYPE_CHECKING:
    from graphlink.reports.pagedata import EvidenceGraph, FactoryPlace

__all__ = ["evidence_subgraph", "risk_histogram", "factory_map", "cluster_sizes",
           "draw_evidence", "draw_factory_map", "draw_cluster_sizes", "waterfall_chart",
           "model_chart", "probability_text", "CJK_FONT", "CJK_FONT_FILE",
           "find_cjk_font", "packaged_cjk_font", "NODE_STYLE", "to_png"]

# --- fonts -----------------------------------------------------------------

_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
    "Arial Unicode MS", "AR PL UMing CN", "AR PL UKai CN",
)
_CJK_GLOBS = ("/usr/share/fonts/**/*[Nn]oto*CJK*", "/usr/share/fonts/**/wqy*",
              "/usr/share/fonts/**/*[Dd]roid*[Ff]allback*", "/usr/share/fonts/**/*[Ss]ource[Hh]an*",
              "/Library/Fonts/*", "/System/Library/Fonts/*", "C:/Windows/Fonts/msyh*",
              "C:/Windows/Fonts/simhei*")


def _fc_list_zh() -> list[str]:
    """Font files fontconfig knows for Chinese (empty without fc-list)."""
    if not shutil.which("fc-list"):
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())


def _add_font(path: str) -> str | None:
    """Register a font file with matplotlib; its family name, or None if unusable."""
    try:
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    except (OSError, RuntimeError, ValueError):
        return None


#: the package that ships graphlink's CJK font, the font file in it, and the face used
_PACKAGE, _PACKAGE_FILE, _FACE = "noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"
#: the family name graphlink registers the packaged face under (its own: a system font
#: called "Noto Sans CJK SC" cannot be picked instead)
PACKAGED_FAMILY = "graphlink Noto Sans CJK SC"


def packaged_cjk_font() -> str | None:
    """Path of the Noto Sans CJK collection the ``noto-cjk-sans-otc`` package ships,
    or None when it is not installed."""
    from importlib import resources

    try:
        path = resources.files(_PACKAGE) / _PACKAGE_FILE
    except ModuleNotFoundError:
        return None
    return str(path) if path.is_file() else None


def _add_packaged_font() -> tuple[str, str] | None:
    """Register the packaged collection; ``(family, file)`` of its Simplified Chinese
    face under :data:`PACKAGED_FAMILY`, or None."""
    path = packaged_cjk_font()
    if path is None:
        return None
    manager = font_manager.fontManager
    try:
        manager.addfont(path)
    except (OSError, RuntimeError, ValueError):
        return None
    faces = [f for f in manager.ttflist if os.path.samefile(f.fname, path)] \
        if os.path.exists(path) else []
    # matplotlib >= 3.11 registers every face of a collection; before, only the first
    # (Noto Sans CJK JP), which has every Chinese glyph too
    face = next((f for f in faces if f.name == _FACE), faces[0] if faces else None)
    if face is None:
        return None
    # one regular face stands in for every weight: bold Latin text keeps its bold font
    # and draws its Chinese in this face, without matplotlib's "failed to find weight"
    manager.ttflist.extend(dataclasses.replace(face, name=PACKAGED_FAMILY, weight=weight)
                           for weight in range(100, 1000, 100))
    manager._findfont_cached.cache_clear()
    return PACKAGED_FAMILY, path


def find_cjk_font() -> str | None:
    """Find a font that has Chinese glyphs, register it, return its family name.

    Order: the file in ``GRAPHLINK_CJK_FONT``; the Noto Sans CJK SC face of the
    ``noto-cjk-sans-otc`` package (a dependency: there after ``pip install``);
    a known CJK family matplotlib already knows; the files fontconfig lists for
    ``:lang=zh``; well-known font folders.
    """
    return _find_cjk_font()[0]


def _find_cjk_font() -> tuple[str | None, str | None]:
    """``(family, file)`` of :func:`find_cjk_font` (file None for a system family)."""
    named = os.environ.get("GRAPHLINK_CJK_FONT")
    if named and os.path.exists(named) and (family := _add_font(named)):
        return family, named
    packaged = _add_packaged_font()
    if packaged is not None:
        return packaged
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family, None
    fonts = (".ttf", ".otf", ".ttc")
    for path in _fc_list_zh():  # fontconfig vouches for their Chinese glyphs
        if path.lower().endswith(fonts) and (family := _add_font(path)):
            return family, path
    for path in sorted({p for g in _CJK_GLOBS for p in glob.glob(g, recursive=True)}):
        if path.lower().endswith(fonts) and (family := _add_font(path)):
            if family in _CJK_FAMILIES or "CJK" in family:
                return family, path
    return None, None


def _install_cjk_font() -> tuple[str | None, str | None]:
    family, path = _find_cjk_font()
    if family is None:
        warnings.warn("graphlink.reports.plot: no font with Chinese glyphs found; Chinese text "
                      "will "
                      "show as boxes (pip install noto-cjk-sans-otc, which graphlink depends "
                      "on, or set GRAPHLINK_CJK_FONT to a font file)", stacklevel=3)
        return None, None
    families = list(matplotlib.rcParams["font.family"])
    if family not in families:
        matplotlib.rcParams["font.family"] = [*families, family]
    return family, path


#: The CJK fallback family registered at import (None when none was found), and its
#: font file (None for a family found among the system's fonts by name).
CJK_FONT, CJK_FONT_FILE = _install_cjk_font()

# --- styles ----------------------------------------------------------------

_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


class _Figure(Figure):
    """A Figure that Jupyter shows as a PNG, even when pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        return to_png(self)


def _figure(width: float, height: float) -> Figure:
    fig = _Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = 100, colours: int | None = None) -> bytes:
    """The figure as PNG bytes; ``colours`` (e.g. 128) writes a palette PNG, several
    times smaller and indistinguishable for these flat-coloured figures."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    if colours is None:
        return buffer.getvalue()
    from PIL import Image

    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    small = io.BytesIO()
    image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE).save(small, format="png",
                                                                          optimize=True)
    return small.getvalue()


# --- label placement without overlaps ---------------------------------------


class _Labels:
    """Places texts one by one, each at the first candidate spot that overlaps none before."""

    def __init__(self, fig: Figure, ax):
        self.ax, self.renderer, self.boxes = ax, fig.canvas.get_renderer(), []

    def _box(self, text):
        return text.get_window_extent(self.renderer).padded(4)

    def block(self, x: float, y: float, half: float) -> None:
        """Keep labels off a marker at data point (x, y), ``half`` pixels each way."""
        from matplotlib.transforms import Bbox

        px, py = self.ax.transData.transform((x, y))
        self.boxes.append(Bbox([[px - half, py - half], [px + half, py + half]]))

    def add(self, candidates: list[tuple[float, float]], text: str, **style):
        """Put ``text`` at the first of ``candidates`` (data points) that is free."""
        text = safe_terminal(text)  # no control or bidi characters, line breaks kept
        best, best_overlap = None, math.inf
        for x, y in candidates:
            artist = self.ax.text(x, y, text, zorder=5, bbox=_BOX, parse_math=False, **style)
            box = self._box(artist)
            overlap = sum(_area(box, other) for other in self.boxes)
            if overlap == 0:
                self.boxes.append(box)
                if best is not None:
                    best.remove()
                return artist
            if overlap < best_overlap:
                if best is not None:
                    best.remove()
                best, best_overlap = artist, overlap
            else:
                artist.remove()
        self.boxes.append(self._box(best))
        return best


def _area(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


# --- evidence subgraph ------------------------------------------------------


def evidence_subgraph(analysis, shop_id: str, *, max_identifiers: int = 14,
                      max_shops: int = 8) -> Figure:
    """The evidence around ``shop_id`` as a graph (a notebook convenience: the data
    from :func:`graphlink.reports.pagedata.evidence_graph`, drawn by :func:`draw_evidence`).

    Left to right: the shop, its accounts, the identifiers they use (with how
    many shops use each), the shops those identifiers tie it to (banned ones
    red, with the ban date), and the path on to banned shops reached through
    other shops. Edges carry the evidence: ``same`` (first seen on the other
    shop), ``87% ~ value`` for a fuzzy match, ``p 0.99: device, payment`` for
    a hop between shops. At most ``max_identifiers`` identifiers and
    ``max_shops`` linked shops are drawn (evidence first); the caption says
    how many were left out.
    """
    from graphlink.reports.pagedata import evidence_graph

    return draw_evidence(evidence_graph(analysis, shop_id, max_identifiers=max_identifiers,
                                        max_shops=max_shops))


def draw_evidence(graph: EvidenceGraph) -> Figure:
    """Draw an :class:`graphlink.reports.pagedata.EvidenceGraph` (see :func:`evidence_subgraph`)."""
    shop_id = graph.shop_id
    layout = dataclasses.replace(graph, nodes=copy.deepcopy(graph.nodes))  # y set on a copy
    _arrange(layout)
    columns = max(n.column for n in layout.nodes.values()) + 1
    rows = max(sum(n.column == c for n in layout.nodes.values()) for c in range(columns))
    xs = [_column_x(c) for c in range(columns)]
    fig = _figure(max(9.0, 2.45 * xs[-1] + 3.6), max(4.5, 0.62 * rows + 1.6))
    ax = fig.add_subplot()
    ax.set_xlim(-0.75, xs[-1] + 0.75)
    ax.set_ylim(-rows + 0.4, 0.75)
    ax.axis("off")
    pos = {k: (_column_x(n.column), n.y) for k, n in layout.nodes.items()}

    edge_style = {"operates": ("#7f8c8d", "-", 1.2), "uses": ("#b0b0b0", "-", 0.9),
                  "exact": ("#34495e", "-", 1.6), "fuzzy": ("#34495e", "--", 1.3),
                  "path": ("#c0392b", ":", 2.2)}
    _draw_graph(ax, layout, pos, shop_id, edge_style)
    _label_graph(fig, ax, layout, pos, shop_id, edge_style)

    name = _short(graph.name, 30)
    ax.set_title(safe_terminal(f"Evidence around {shop_id} {name}: risk {graph.risk:.2f} "
                               f"({graph.flag})"),
                 fontsize=12, loc="left", parse_math=False)
    notes = evidence_notes(graph)
    if notes:
        fig.text(0.01, 0.005, "; ".join(notes), fontsize=7, color="#555555")
    kinds_present = {n.kind for n in layout.nodes.values()}
    handles = [Line2D([], [], color=NODE_STYLE[k][0], marker=NODE_STYLE[k][1], linestyle="",
                      markersize=8, label=_kind_name(k)) for k in NODE_STYLE if k in kinds_present]
    styles_present = {s for _, _, s, _ in layout.edges}
    handles += [Line2D([], [], color=c, linestyle=ls, linewidth=w, label=_edge_name(s))
                for s, (c, ls, w) in edge_style.items() if s in styles_present]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return fig


def _draw_graph(ax, layout: EvidenceGraph, pos: dict, shop_id: str, edge_style: dict) -> None:
    """The edges and nodes of :func:`draw_evidence`."""
    for a, b, style, _ in layout.edges:
        colour, line, width = edge_style[style]
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.plot([x0, x1], [y0, y1], color=colour, linestyle=line, linewidth=width, zorder=1)
    for node in layout.nodes.values():
        colour, marker = NODE_STYLE[node.kind]
        size = 260 if node.key == f"shop:{shop_id}" else 130
        ax.scatter([pos[node.key][0]], [node.y], s=size, c=colour, marker=marker, zorder=3,
                   edgecolors="black" if node.kind in ("shop", "banned") else "white",
                   linewidths=1.2 if node.kind == "banned" else 0.6)


def _label_graph(fig, ax, layout: EvidenceGraph, pos: dict, shop_id: str,
                 edge_style: dict) -> None:
    """The node and edge labels of :func:`draw_evidence`, placed where they do not
    overlap."""
    labels = _Labels(fig, ax)
    for node in layout.nodes.values():
        labels.block(*pos[node.key], 9 if node.key == f"shop:{shop_id}" else 6)
    for node in sorted(layout.nodes.values(), key=lambda n: (n.column, n.y)):
        x, y = pos[node.key]
        size = 10 if node.key == f"shop:{shop_id}" else 8
        colour = NODE_STYLE["banned"][0] if node.kind == "banned" else "#222222"
        labels.add([(x, y + 0.2), (x, y - 0.2), (x + 0.08, y + 0.3)], node.text, ha="center",
                   va="bottom", fontsize=size, color=colour, linespacing=1.0)
    for a, b, style, text in layout.edges:
        if not text:
            continue
        (x0, y0), (x1, y1) = pos[a], pos[b]
        side = 0.45 if x0 == x1 else 0.0  # a link within one column: label beside it
        spots = [(x0 + side + t * (x1 - x0), y0 + t * (y1 - y0) + dy)
                 for dy in (0.0, 0.28, -0.28)
                 for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85)]
        labels.add(spots, text, ha="center", va="center", fontsize=7,
                   color=edge_style[style][0], style="italic" if style == "fuzzy" else "normal")


# --- risk histogram -----------------------------------------------------------


def risk_histogram(signups: pd.DataFrame, *, bins: int = 20) -> Figure:
    """Distribution of sign-up risk (from :meth:`graphlink.Analysis.signups`), by flag.

    Shops with no tie to a banned shop (risk 0) are counted in the title,
    not drawn, so the flagged few stay visible. Dashed lines mark the flag
    thresholds.
    """
    fig = _figure(9, 4.2)
    ax = fig.add_subplot()
    risk = signups["risk"].astype(float) if len(signups) else pd.Series(dtype=float)
    tied = risk[risk > 0]
    edges = np.linspace(0, 1, bins + 1)
    flags = signups["flag"] if len(signups) else pd.Series(dtype=object)
    for flag in ("high", "medium", "low", "none"):
        values = tied[flags[risk > 0] == flag]
        n = int((flags == flag).sum())
        ax.hist(values, bins=edges, color=FLAG_COLOURS[flag], edgecolor="white",
                label=f"{flag}: {n}" + (" (not drawn)" if flag == "none" else ""))
    for name, threshold in FLAGS.items():
        ax.axvline(threshold, color="#555555", linestyle="--", linewidth=0.8)
        ax.text(threshold, 1.0, f" {name} ≥ {threshold}", transform=ax.get_xaxis_transform(),
                fontsize=8, va="top", ha="left", color="#555555")
    ax.set_xlim(0, 1)
    ax.set_xlabel("risk (best path score to a banned shop)")
    ax.set_ylabel("sign-ups")
    ax.yaxis.get_major_locator().set_params(integer=True)
    since = (day(signups["created_at"].min()) or "") if len(signups) else ""
    ax.set_title(f"Sign-up risk: {len(signups)} sign-ups" + (f" since {since}" if since else "")
                 + f", {int((risk == 0).sum())} with no tie to a banned shop (not drawn)",
                 fontsize=11, loc="left")
    fig.legend(title="flag: sign-ups", fontsize=8, title_fontsize=8, loc="outside right upper",
               frameon=False)
    return fig


# --- factory map ---------------------------------------------------------------

_M_PER_DEGREE = 111_320.0


def factory_map(analysis, factory_id: str, *, context: float = 1.8) -> Figure:
    """A factory lead's dispatch addresses around its anchor, on lat/lon axes (a
    notebook convenience: the data from :func:`graphlink.reports.pagedata.factory_place`,
    drawn by :func:`draw_factory_map`).

    The lead's shops are coloured by status (banned red), the anchor is a
    star, the dashed circle is the lead's radius; shops registered at one of
    its buildings after a ban there, without any signal (successors: shown,
    not counted) are hollow; other shops' addresses within ``context`` radii
    are drawn faint grey for context. Axes keep true proportions (a circle is
    a circle); a scale bar gives metres.
    """
    from graphlink.reports.pagedata import factory_place

    found = analysis.factories().set_index("factory_id")
    if factory_id not in found.index:
        from graphlink.core.errors import ConfigError

        raise ConfigError(f"no factory cluster {factory_id!r} (see analysis.factories())")
    points = analysis.address_points().dropna(subset=["lat", "lon"])
    status = analysis.dataset.shops.set_index("shop_id")["status"]
    return draw_factory_map(factory_place(found.loc[factory_id], factory_id, points, status,
                                          context))


def draw_factory_map(place: FactoryPlace) -> Figure:
    """Draw a :class:`graphlink.reports.pagedata.FactoryPlace` (see :func:`factory_map`)."""
    lat0, lon0, radius, span = place.lat, place.lon, place.radius, place.span
    inside, later, outside = place.inside, place.later, place.outside
    fig = _figure(8.5, 7.2)
    ax = fig.add_subplot()
    if len(outside):
        ax.scatter(outside["lon"], outside["lat"], s=14, c="#c8c8c8", zorder=1,
                   label=f"other shops' addresses ({len(outside)})")
    for state, colour in (("active", NODE_STYLE["shop"][0]), ("closed", "#7f8c8d"),
                          ("banned", NODE_STYLE["banned"][0])):
        sel = inside[inside["status"] == state]
        if len(sel):
            ax.scatter(sel["lon"], sel["lat"], s=46, c=colour, edgecolors="white", zorder=3,
                       label=f"lead's shop, {state} ({sel['shop_id'].nunique()})")
    if len(later):
        ax.scatter(later["lon"], later["lat"], s=46, facecolors="none",
                   edgecolors=NODE_STYLE["shop"][0], zorder=3,
                   label=f"after a ban, no signal ({later['shop_id'].nunique()})")
    ax.scatter([lon0], [lat0], s=320, marker="*", c="#f1c40f", edgecolors="black", zorder=4,
               label="anchor")
    dlat = radius / _M_PER_DEGREE
    dlon = dlat / math.cos(math.radians(lat0))
    ax.add_patch(Ellipse((lon0, lat0), 2 * dlon, 2 * dlat, fill=False, linestyle="--",
                         edgecolor="#555555", zorder=2))
    ax.set_aspect(1 / math.cos(math.radians(lat0)))
    pad_lat = span / _M_PER_DEGREE
    pad_lon = pad_lat / math.cos(math.radians(lat0))
    ax.set_xlim(lon0 - pad_lon, lon0 + pad_lon)
    ax.set_ylim(lat0 - pad_lat, lat0 + pad_lat)
    ax.ticklabel_format(useOffset=False)
    ax.tick_params(labelsize=8)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    _scale_bar(ax, span, lat0)
    labels = _Labels(fig, ax)
    labels.block(lon0, lat0, 11)
    for lon, lat in zip(inside["lon"], inside["lat"], strict=True):
        labels.block(lon, lat, 4)
    at_place = inside.groupby(["lat", "lon"])["shop_id"].agg(lambda s: sorted(set(s)))
    for (lat, lon), shops in at_place.items():
        text = ", ".join(shops[:3]) + (f" +{len(shops) - 3}" if len(shops) > 3 else "")
        off_lon, off_lat = pad_lon / 40, pad_lat / 40
        spots = [(lon + off_lon * sx, lat + off_lat * sy) for sy in (1, -1, 2.5, -2.5, 4, -4)
                 for sx in (1, -1)]
        labels.add(spots, text, fontsize=7, ha="left", va="center")
    ax.set_title(safe_terminal(
                 f"Factory lead {place.factory_id}: {place.shops} shops of {place.operators} "
                 "independent operators, "
                 f"{place.banned_shops} banned (score {place.score:.2f})\n"
                 f"anchor {_short(place.anchor_address, 56)}, radius {radius:.0f} m"),
                 fontsize=10, loc="left", parse_math=False)
    ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    notes = map_notes(place)
    if notes:
        ax.text(0.01, 0.01, "\n".join(notes), transform=ax.transAxes, fontsize=7,
                color="#555555", va="bottom")
    return fig


def _scale_bar(ax, span: float, lat0: float) -> None:
    metres = next(m for m in (1000, 500, 200, 100, 50, 20, 10) if m <= span / 2)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = metres / (_M_PER_DEGREE * math.cos(math.radians(lat0)))
    x, y = x1 - (x1 - x0) * 0.05 - length, y0 + (y1 - y0) * 0.05
    ax.plot([x, x + length], [y, y], color="black", linewidth=2.5, zorder=5)
    ax.text(x + length / 2, y + (y1 - y0) * 0.015, f"{metres} m", ha="center", va="bottom",
            fontsize=8, zorder=5)


# --- cluster sizes ---------------------------------------------------------------


def cluster_sizes(analysis) -> Figure:
    """How many operators and communities there are of each size (shops), log scale
    (a notebook convenience: :func:`draw_cluster_sizes` of
    :func:`graphlink.reports.pagedata.cluster_table`).

    Bars are split by whether the group holds a banned shop; single-shop
    operators and communities (most honest shops) are the leftmost bar.
    """
    from graphlink.reports.pagedata import cluster_table

    return draw_cluster_sizes(cluster_table(analysis))


def draw_cluster_sizes(shops: pd.DataFrame) -> Figure:
    """Draw the sizes chart of :func:`cluster_sizes` from one row per shop: shop_id,
    operator_id, community_id, banned (bool)."""
    fig = _figure(10, 4.2)
    for i, (column, what) in enumerate((("operator_id", "operators"),
                                         ("community_id", "communities"))):
        ax = fig.add_subplot(1, 2, i + 1)
        groups = shops.groupby(column).agg(size=("shop_id", "size"), banned=("banned", "any"))
        table = groups.groupby(["size", "banned"]).size().unstack(fill_value=0)
        table = table.reindex(columns=[False, True], fill_value=0)
        x = np.arange(len(table))
        ax.bar(x, table[False], color=NODE_STYLE["shop"][0], label="no banned shop")
        ax.bar(x, table[True], bottom=table[False], color=NODE_STYLE["banned"][0],
               label="with a banned shop")
        ax.set_xticks(x, [str(s) for s in table.index], fontsize=8)
        ax.set_yscale("log")
        ax.set_xlabel("shops in the group")
        ax.set_ylabel(f"{what} (log scale)")
        ax.set_title(f"{len(groups)} {what}; largest {int(groups['size'].max())} shops",
                     fontsize=10, loc="left")
        ax.legend(fontsize=8)
    fig.suptitle("Operators (same real-world actor) and communities (wider networks)",
                 fontsize=11)
    return fig


# --- match weight waterfall -------------------------------------------------------

_MODE_COLOURS = ("#1f4e79", "#8e44ad", "#d35400", "#16a085", "#b7950b")


def waterfall_chart(steps: list[dict], title: str = "", ax=None) -> Figure:
    """One pair's match weight, step by step, as Splink draws it.

    ``steps`` is a match's ``waterfall`` (the sign-up report's JSON,
    :meth:`graphlink.Analysis.signup_records`): dicts with ``comparison``,
    ``level``, ``bayes_factor``, ``tf_adjustment`` and ``log2_bf``. Each bar
    starts where the previous one ended and adds the step's log2 Bayes factor
    (green raises the weight, red lowers it); when a value's frequency lowered
    the level's Bayes factor, the part it took away (the log2 of
    ``tf_adjustment``) is hatched. The last bar is the total, the pair's match
    weight, labelled with its probability; the right axis reads any weight as
    a probability. Draws into ``ax`` when given. Data only: no analysis needed.
    """
    rows = waterfall_rows(steps)
    if ax is None:
        fig = _figure(max(7.5, 0.66 * (len(rows) + 1) + 3.0), 5.0)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    width = 0.7
    cum, ends, tf_drawn = _waterfall_steps(ax, rows, width)
    n = len(rows)
    colour = WEIGHT_COLOURS["final"]
    ax.bar(n, cum, bottom=0.0, width=width, color=colour, edgecolor=colour, gid="final", zorder=2)
    ax.annotate(f"w = {cum:.2f}\np = {probability_text(cum)}", (n, max(cum, 0.0)),
                xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                fontsize=8, fontweight="bold", color=colour, annotation_clip=False)
    _waterfall_axes(ax, rows, cum, ends, title)
    _waterfall_legend(ax, tf_drawn)
    return fig


def _waterfall_steps(ax, rows: list[tuple], width: float) -> tuple[float, list[float], bool]:
    """The step bars of :func:`waterfall_chart`: where the weight ends, the ends of
    every bar and whether a frequency adjustment was drawn."""
    cum, ends = 0.0, [0.0]
    tf_drawn = False
    for i, (_, total, tf) in enumerate(rows):
        base = total - tf
        colour = WEIGHT_COLOURS["up" if base >= 0 else "down"]
        ax.bar(i, base, bottom=cum, width=width, color=colour, edgecolor=colour, gid="step",
               zorder=2)
        if tf:
            tf_colour = WEIGHT_COLOURS["up" if tf > 0 else "down"]
            ax.bar(i, tf, bottom=cum + base, width=width, color="white", edgecolor=tf_colour,
                   hatch="////", linewidth=0.8, gid="tf-adjustment", zorder=3)
            tf_drawn = True
        top, bottom = max(cum, cum + base, cum + total), min(cum, cum + base, cum + total)
        text = f"{total:+.2f}" + (f"\n(freq. {tf:+.2f})" if tf else "")
        ax.annotate(text, (i, top if total >= 0 else bottom),
                    xytext=(0, 3 if total >= 0 else -3), textcoords="offset points",
                    ha="center", va="bottom" if total >= 0 else "top", fontsize=7,
                    color="#333333", annotation_clip=False)
        ax.plot([i + width / 2, i + 1 - width / 2], [cum + total] * 2, color="#888888",
                linewidth=0.8, zorder=1)
        cum += total
        ends += [cum, cum - tf]  # the end and the top of the solid part
    return cum, ends, tf_drawn


def _waterfall_axes(ax, rows: list[tuple], cum: float, ends: list[float], title: str) -> None:
    """Limits, tick labels, the probability axis and the title of :func:`waterfall_chart`."""
    n = len(rows)
    low, high = min(ends + [cum]), max(ends + [cum])
    span = max(high - low, 1.0)
    ax.set_ylim(low - 0.14 * span, high + 0.2 * span)
    ax.set_xlim(-0.6, n + 0.9)  # room for the final bar's label
    ax.axhline(0.0, color="#555555", linewidth=0.8, zorder=1)
    labels = [safe_terminal(text) for text, _, _ in rows] + ["match weight"]
    ax.set_xticks(range(n + 1), labels, rotation=35, ha="right", rotation_mode="anchor",
                  fontsize=8)
    ax.set_ylabel("match weight (log2 odds)")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    right = ax.secondary_yaxis("right")
    right.set_yticks(ticks, [probability_text(t) for t in ticks], fontsize=8)
    right.set_ylabel("match probability")
    heading = safe_terminal(title) if title else "Match weight, step by step"
    ax.set_title(f"{heading}\nmatch weight {cum:.2f}, probability {probability_text(cum)}",
                 fontsize=10, loc="left", parse_math=False)


def _waterfall_legend(ax, tf_drawn: bool) -> None:
    """The legend of :func:`waterfall_chart`."""
    from matplotlib.patches import Patch

    handles = [Patch(color=WEIGHT_COLOURS["up"], label="raises the weight"),
               Patch(color=WEIGHT_COLOURS["down"], label="lowers the weight")]
    if tf_drawn:
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="////",
                             label="frequency adjustment (a common value)"))
    handles.append(Patch(color=WEIGHT_COLOURS["final"], label="match weight (sum)"))
    ax.legend(handles=handles, fontsize=7, loc="best", framealpha=0.9)


# --- match model ---------------------------------------------------------------


def model_chart(levels: list[dict] | pd.DataFrame) -> Figure:
    """The match model's m and u of every comparison level, one panel per match mode.

    ``levels``: one record per (mode, comparison, level) with ``m`` and ``u``
    (the ``levels`` of ``graphlink model show --format json``, or
    :meth:`graphlink.linkage.model.MatchModel.bayes_factors`). Bars on a log scale:
    ``m`` (how often matching pairs of that mode agree at the level, in the
    mode's colour) over ``u`` (how often pairs agree by chance, grey); the gap
    between them is the level's Bayes factor, written on the right as its log2.
    """
    frame = pd.DataFrame(levels).copy()
    for column in ("comparison", "level"):
        if column not in frame:
            frame[column] = ""
    if "mode" not in frame:
        frame["mode"] = "model"
    frame["m"] = pd.to_numeric(frame.get("m"), errors="coerce")
    frame["u"] = pd.to_numeric(frame.get("u"), errors="coerce")
    frame = frame[(frame["m"] > 0) & (frame["u"] > 0)]
    rows = list(dict.fromkeys(zip(frame["comparison"].astype(str), frame["level"].astype(str),
                                  strict=True)))
    modes = list(dict.fromkeys(frame["mode"].astype(str))) or ["model"]
    fig = _figure(2.4 + 3.7 * len(modes), 1.9 + 0.27 * max(len(rows), 1))
    axes = fig.subplots(1, len(modes), sharey=True, squeeze=False)[0]
    where = {r: i for i, r in enumerate(rows)}
    low = float(min(frame["m"].min(), frame["u"].min())) / 3 if len(frame) else 1e-6
    for k, (ax, mode) in enumerate(zip(axes, modes, strict=True)):
        sel = frame[frame["mode"].astype(str) == mode]
        y = np.array([where[(str(c), str(lv))] for c, lv in
                      zip(sel["comparison"], sel["level"], strict=True)], dtype=float)
        colour = _MODE_COLOURS[k % len(_MODE_COLOURS)]
        for comparison in list(dict.fromkeys(c for c, _ in rows))[1::2]:  # every other one
            span = [j for j, (c, _) in enumerate(rows) if c == comparison]
            ax.axhspan(min(span) - 0.5, max(span) + 0.5, color="#f2f4f6", zorder=0)
        ax.barh(y - 0.2, sel["m"], height=0.38, color=colour, gid="m", zorder=2,
                label="m: agreement among matches")
        ax.barh(y + 0.2, sel["u"], height=0.38, color="#a6acaf", gid="u", zorder=2,
                label="u: agreement by chance")
        ax.set_xscale("log")
        ax.set_xlim(low, 40.0)
        log2 = np.log2(sel["m"].to_numpy(dtype=float) / sel["u"].to_numpy(dtype=float))
        for yy, value in zip(y, log2, strict=True):
            ax.text(1.6, yy, f"{value:+.1f}", fontsize=7, va="center", ha="left",
                    color=WEIGHT_COLOURS["up" if value >= 0 else "down"])
        ax.set_title(safe_terminal(mode), fontsize=10, loc="left", parse_math=False)
        ax.set_xlabel("probability (log scale)")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
    axes[0].set_yticks(range(len(rows)),
                       [safe_terminal(_short(f"{c}: {lv}", 30)) for c, lv in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)  # first level on top
    fig.suptitle("Match model: m and u of every comparison level, per match mode "
                 "(right: log2 Bayes factor m/u)", fontsize=11)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig
