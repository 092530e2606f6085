"""Figures: produced for the demo world, saved as PNG, readable (no overlapping labels, no tofu).

Chinese renders after a plain ``pip install .``: the font comes from the
``noto-cjk-sans-otc`` package graphlink depends on, never from the system
(CI installs a system CJK font for Chromium: the figures must not lean on
it), and any missing-glyph warning fails the figure tests.
"""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import warnings
from importlib import resources

import matplotlib
import pytest
from conftest import BASE, write_dataset
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

import graphlink as gl
from graphlink.reports import plot

SINCE = "2024-01-01"
CHINESE = "悦己手表工作室 成都成华区建设路566号金色家园6栋1504室 假货"


def _require_cjk_font() -> None:
    # not a skip: the font is a dependency, there after any `pip install .`
    assert plot.CJK_FONT is not None, "no CJK font: is noto-cjk-sans-otc installed?"


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


def _packaged_file() -> str:
    return str(resources.files("noto_cjk_sans_otc") / "NotoSansCJK-Regular.ttc")


def _font_drawing(text: Text, char: str) -> font_manager.FontPath:
    """The font file (and face) matplotlib draws ``char`` of ``text`` with: the first
    font of the text's fallback list that has the glyph."""
    from matplotlib.ft2font import FT2Font

    for path in font_manager.fontManager._find_fonts_by_props(text.get_fontproperties()):
        if FT2Font(path, face_index=getattr(path, "face_index", 0)).get_char_index(ord(char)):
            return path
    raise AssertionError(f"no font draws {char!r}")


def _chinese_texts(fig: Figure) -> list[Text]:
    fig.canvas.draw()
    texts = [t for t in fig.findobj(Text) if t.get_visible()]
    return [t for t in texts if any("\u4e00" <= ch <= "\u9fff" for ch in t.get_text())]


@pytest.mark.skipif(bool(os.environ.get("GRAPHLINK_CJK_FONT")), reason="font overridden")
def test_the_figures_font_comes_from_the_installed_package_not_the_system(analysis,
                                                                          high_shops):
    assert plot.CJK_FONT == plot.PACKAGED_FAMILY and plot.CJK_FONT_FILE == _packaged_file()
    found = font_manager.findfont(font_manager.FontProperties(family=plot.CJK_FONT),
                                  fallback_to_default=False)
    assert found.path == _packaged_file() and found.face_index == 2  # Noto Sans CJK SC
    assert not found.startswith(("/usr/share/fonts", "/usr/local/share/fonts"))
    fig = plot.evidence_subgraph(analysis, high_shops[0])
    texts = _chinese_texts(fig)
    assert texts, "the evidence graph should draw Chinese names or addresses"
    for text in texts:
        char = next(ch for ch in text.get_text() if "\u4e00" <= ch <= "\u9fff")
        assert _font_drawing(text, char).path == _packaged_file(), text.get_text()


def test_a_system_font_of_the_same_name_cannot_stand_in(monkeypatch):
    manager = font_manager.fontManager
    dejavu = font_manager.findfont("DejaVu Sans")
    impostor = font_manager.FontEntry(fname=dejavu, name="Noto Sans CJK SC")
    monkeypatch.setattr(manager, "ttflist", [impostor, *manager.ttflist])
    manager._findfont_cached.cache_clear()
    try:
        found = font_manager.findfont(font_manager.FontProperties(family=plot.CJK_FONT))
        assert found.path == plot.CJK_FONT_FILE != dejavu
    finally:
        manager._findfont_cached.cache_clear()


def test_importing_the_figures_gives_no_font_warning():
    probe = ("import warnings; warnings.simplefilter('error'); from graphlink.reports import plot; "
             "print(plot.CJK_FONT)")
    env = {k: v for k, v in os.environ.items() if k != "GRAPHLINK_CJK_FONT"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == plot.PACKAGED_FAMILY and "Warning" not in result.stderr


def test_every_figure_and_the_html_report_draw_without_a_missing_glyph(analysis, high_shops,
                                                                      caplog):
    from graphlink.api import factories_report, signups_report
    from graphlink.reports.html import render_html

    caplog.set_level("WARNING", logger="matplotlib.font_manager")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font.*")
        figures = [plot.evidence_subgraph(analysis, shop) for shop in high_shops[:5]]
        figures += [plot.risk_histogram(analysis.signups(SINCE)), plot.cluster_sizes(analysis),
                    plot.model_chart(analysis.model.bayes_factors())]
        figures += [plot.factory_map(analysis, f) for f in analysis.factories()["factory_id"]]
        for fig in figures:
            _png(fig)
        assert any(_chinese_texts(fig) for fig in figures)
        render_html(signups_report(analysis, SINCE))
        render_html(factories_report(analysis))
    assert not [r.getMessage() for r in caplog.records if "findfont" in r.getMessage()]


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


# --- match weight waterfall and model chart ------------------------------------------

STEPS = [
    {"comparison": "prior", "level": "evasion, after-ban", "bayes_factor": 0.00390625,
     "tf_adjustment": 1.0, "log2_bf": -8.0},
    {"comparison": "device", "level": "other", "bayes_factor": 0.5, "tf_adjustment": 1.0,
     "log2_bf": -1.0},
    {"comparison": "name", "level": "typo", "bayes_factor": 4096.0, "tf_adjustment": 1.0,
     "log2_bf": 12.0},
    {"comparison": "address", "level": "same-place", "bayes_factor": 8.0,
     "tf_adjustment": 0.25, "log2_bf": 3.0},  # 5 bits from the level, -2 for a common street
    {"comparison": "other modes", "level": "reuse,trace", "bayes_factor": 1.0,
     "tf_adjustment": 1.0, "log2_bf": 0.0},
]


def _by_gid(fig: Figure, gid: str) -> list:
    return [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]


def test_waterfall_chart_bars_levels_and_probability():
    fig = plot.waterfall_chart(STEPS, title="S9 and banned shop S1")
    assert isinstance(fig, Figure)
    steps, tf, final = (_by_gid(fig, g) for g in ("step", "tf-adjustment", "final"))
    assert len(steps) == len(STEPS) and len(tf) == 1 and len(final) == 1
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["prior: evasion, after-ban", "device: other", "name: typo",
                      "address: same-place", "other modes: reuse,trace", "match weight"]
    # the address bar: +5 from the level, then the hatched frequency adjustment takes 2 off
    address = steps[3]
    assert address.get_height() == pytest.approx(5.0) and address.get_y() == pytest.approx(3.0)
    assert tf[0].get_height() == pytest.approx(-2.0) and tf[0].get_y() == pytest.approx(8.0)
    assert tf[0].get_hatch() and not address.get_hatch()
    # coloured by sign: the prior lowers the weight, the name raises it
    assert steps[0].get_facecolor() != steps[2].get_facecolor()
    assert final[0].get_height() == pytest.approx(6.0)
    p = plot.probability_text(6.0)
    assert p == "0.985" and p in ax.get_title(loc="left")
    assert any(f"p = {p}" in t.get_text() for t in ax.texts)
    assert "S9 and banned shop S1" in ax.get_title(loc="left")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("frequency" in t for t in legend)
    png = Image.open(io.BytesIO(_png(fig)))
    assert png.width >= 600 and png.height >= 300


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_waterfall_ends_at_the_match_weight(seed):
    import random

    rng = random.Random(seed)
    steps = [{"comparison": f"c{i}", "level": "exact", "log2_bf": rng.uniform(-6, 14),
              "tf_adjustment": rng.choice([1.0, 1.0, 0.5, 0.01])} for i in range(7)]
    weight = sum(s["log2_bf"] for s in steps)
    fig = plot.waterfall_chart(steps)
    bars = _by_gid(fig, "step")
    adjustments = iter(_by_gid(fig, "tf-adjustment"))
    cumulative = 0.0
    for step, bar in zip(steps, bars, strict=True):  # each bar starts where the last ended
        assert bar.get_y() == pytest.approx(cumulative)
        end = bar.get_y() + bar.get_height()
        if step["tf_adjustment"] != 1.0:
            tf = next(adjustments)
            assert tf.get_y() == pytest.approx(end)
            end += tf.get_height()
        cumulative += step["log2_bf"]
        assert end == pytest.approx(cumulative)
    final = _by_gid(fig, "final")[0]
    assert final.get_y() == 0 and final.get_height() == pytest.approx(weight)
    low, high = fig.axes[0].get_ylim()
    assert low < min(0.0, weight) and high > max(0.0, weight)


def test_waterfall_draws_into_a_given_axes_and_tolerates_missing_fields():
    fig = Figure()
    ax = fig.add_subplot()
    steps = [{"comparison": "prior", "bayes_factor": 0.25}, {"comparison": "device",
                                                             "level": "exact", "log2_bf": 10}]
    assert plot.waterfall_chart(steps, ax=ax) is fig
    assert _by_gid(fig, "final")[0].get_height() == pytest.approx(8.0)
    assert not _by_gid(fig, "tf-adjustment")


def test_waterfall_of_a_real_signup_sums_to_its_weight(analysis):
    records = analysis.signup_records(SINCE)
    match = next(m for r in records for m in r["matches"] if m.get("waterfall"))
    steps = match["waterfall"]
    assert steps[0]["comparison"] == "prior" and steps[-1]["comparison"] == "other modes"
    fig = plot.waterfall_chart(steps)
    weight = sum(s["log2_bf"] for s in steps)
    assert _by_gid(fig, "final")[0].get_height() == pytest.approx(weight)
    assert len(_by_gid(fig, "step")) == len(steps)
    assert _glyph_warnings(fig) == []


def test_probability_text_reads_both_ends():
    assert plot.probability_text(0) == "0.5"
    assert plot.probability_text(40) == "1 − 9.1e-13"
    assert plot.probability_text(-40) == "9.1e-13"
    assert plot.probability_text(1e6) == "1 − 9.3e-302"  # no overflow


LEVELS = [{"mode": mode, "comparison": c, "level": lv, "m": m, "u": u}
          for mode, scale in (("reuse", 1.0), ("evasion", 0.5))
          for c, lv, m, u in (("device", "exact", 0.6 * scale, 1e-6),
                              ("device", "other", 0.4, 0.999),
                              ("name", "typo", 0.1 * scale, 1e-4),
                              ("name", "other", 0.5, 0.98))]


def test_model_chart_has_a_panel_per_mode_and_a_bar_per_m_and_u():
    fig = plot.model_chart(LEVELS)
    assert isinstance(fig, Figure)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["reuse", "evasion"]
    for ax in fig.axes:
        assert len([p for p in ax.patches if p.get_gid() == "m"]) == 4
        assert len([p for p in ax.patches if p.get_gid() == "u"]) == 4
        assert ax.get_xscale() == "log"
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["device: exact", "device: other", "name: typo", "name: other"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+19.2" in texts  # log2(0.6 / 1e-6)
    widths = sorted(p.get_width() for p in _by_gid(fig, "m"))
    assert widths[0] == pytest.approx(0.05) and widths[-1] == pytest.approx(0.6)


def test_model_chart_of_a_trained_model(analysis):
    frame = analysis.model.bayes_factors()
    fig = plot.model_chart(frame)
    assert len(fig.axes) == frame["mode"].nunique()
    assert len(_by_gid(fig, "m")) == len(_by_gid(fig, "u")) == len(frame)
    fig.savefig(io.BytesIO(), format="png")
    # the report rows hold m and u as text: the chart reads them too
    from graphlink.api import model_report

    rows = model_report(analysis.model).rows
    assert len(_by_gid(plot.model_chart(rows), "m")) == len(frame)


def test_waterfall_and_model_charts_render_chinese():
    _require_cjk_font()
    steps = [dict(s) for s in STEPS]
    steps[2]["level"] = "同音字"
    fig = plot.waterfall_chart(steps, title="悦己手表工作室 与 假货旗舰店")
    assert _glyph_warnings(fig) == []
    assert _glyph_warnings(plot.model_chart([{**r, "level": "同一栋楼"} for r in LEVELS])) == []
