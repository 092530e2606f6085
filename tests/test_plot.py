"""Figures: produced for the demo world, saved as PNG, readable (no overlapping labels, no tofu)."""

from __future__ import annotations

import io
import itertools
import os
import warnings

import matplotlib
import pytest
from conftest import BASE, write_dataset
from matplotlib.figure import Figure
from PIL import Image

import graphlink as gl
from graphlink import plot

SINCE = "2024-01-01"
CHINESE = "悦己手表工作室 成都成华区建设路566号金色家园6栋1504室 假货"


def _require_cjk_font() -> None:
    if plot.CJK_FONT is None:
        message = "no CJK font installed (apt-get install fonts-wqy-microhei)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " [CI=true: .ci/run must install it]", pytrace=False)
        pytest.skip(message)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _glyph_warnings(fig: Figure) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _png(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture(scope="module")
def high_shops(analysis) -> list[str]:
    signups = analysis.signups(SINCE)
    shops = signups.loc[signups["flag"] == "high", "shop_id"].tolist()
    assert shops, "the test world should have high flags"
    return shops


def test_chinese_renders_without_missing_glyphs():
    _require_cjk_font()
    fig = Figure()
    ax = fig.add_subplot()
    ax.set_title(CHINESE)
    ax.set_xlabel("经度")
    ax.bar(["张伟", "王芳"], [1, 2])
    assert _glyph_warnings(fig) == []


def test_the_glyph_check_would_catch_tofu():
    # the negative control: without the fallback font, the same text warns
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        fig.add_subplot().set_title(CHINESE)
    assert _glyph_warnings(fig)


def test_evidence_figures_have_chinese_and_no_missing_glyphs(analysis, high_shops):
    _require_cjk_font()
    fig = plot.evidence_subgraph(analysis, high_shops[0])
    assert any(ord(ch) > 0x4E00 for t in fig.axes[0].texts for ch in t.get_text())
    assert _glyph_warnings(fig) == []


def test_figures_for_the_demo_world_saved_as_png(analysis, high_shops, tmp_path):
    figures = {
        "evidence": plot.evidence_subgraph(analysis, high_shops[0]),
        "risk": plot.risk_histogram(analysis.signups(SINCE)),
        "sizes": plot.cluster_sizes(analysis),
    }
    for factory in analysis.factories()["factory_id"]:
        figures[f"map-{factory}"] = plot.factory_map(analysis, factory)
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        image = Image.open(path)
        assert image.format == "PNG" and image.width >= 600 and image.height >= 300
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20, f"{name} looks blank"
        assert all(ax.get_title(loc="left") or ax.get_title() for ax in fig.axes), name


def test_axes_are_labelled(analysis):
    hist = plot.risk_histogram(analysis.signups(SINCE))
    ax = hist.axes[0]
    assert ax.get_xlabel().startswith("risk") and ax.get_ylabel() == "sign-ups"
    assert "Sign-up risk" in ax.get_title(loc="left")
    sizes = plot.cluster_sizes(analysis)
    assert [a.get_xlabel() for a in sizes.axes] == ["shops in the group"] * 2
    for factory in analysis.factories()["factory_id"]:
        ax = plot.factory_map(analysis, factory).axes[0]
        assert ax.get_xlabel().startswith("longitude") and ax.get_ylabel().startswith("latitude")
        assert factory in ax.get_title(loc="left")


def _overlaps(fig: Figure) -> list[tuple[str, str]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts if t.get_visible() and t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    bad = []
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if w > 1 and h > 1:
            bad.append((a, b))
    return bad


def test_evidence_labels_do_not_overlap(analysis):
    signups = analysis.signups(SINCE)
    flagged = signups.loc[signups["flag"] != "none", "shop_id"].tolist()
    assert flagged
    for shop in flagged:
        assert _overlaps(plot.evidence_subgraph(analysis, shop)) == [], shop


def test_factory_map_labels_do_not_overlap(analysis):
    for factory in analysis.factories()["factory_id"]:
        assert _overlaps(plot.factory_map(analysis, factory)) == [], factory


def test_evidence_graph_shows_the_banned_shops_and_the_legend(analysis, high_shops):
    for shop in high_shops[:3]:
        dossier = analysis.explain(shop)
        fig = plot.evidence_subgraph(analysis, shop)
        texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
        for tie in dossier.banned_ties:
            assert tie["banned_shop_id"] in texts
        assert "banned" in texts
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "banned shop" in legend and "shop" in legend and "account" in legend
        assert shop in fig.axes[0].get_title(loc="left")


def test_hostile_names_are_drawn_as_text(tmp_path):
    files = dict(BASE)
    files["shops.csv"] = files["shops.csv"].replace(
        "Nike潮牌店", "$\\alpha^$ <script>alert(1)</script>").replace(
        "Lucky Goods Store", "$x_{$ 假货 <img src=x onerror=alert(1)>")
    analysis = gl.analyse(write_dataset(tmp_path / "ds", files))
    fig = plot.evidence_subgraph(analysis, "S3")
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert "$\\alpha^$ <script>" in texts and "<img src=x" in texts
    _png(fig)  # mathtext would fail on an unbalanced $...$ if names were parsed as math
    assert all(not t.get_parse_math() for t in fig.axes[0].texts if "$" in t.get_text())


def test_unknown_factory_is_a_user_error(analysis):
    with pytest.raises(gl.ConfigError, match="no factory cluster"):
        plot.factory_map(analysis, "F-nope")
