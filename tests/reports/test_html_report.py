"""Self-contained HTML reports: escaped, no external resources, and they load in a real browser."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

import graphlink as gl
from graphlink.api import clusters_report, factories_report, signups_report, spotcheck_report
from graphlink.cli import cli
from graphlink.reports import html as glhtml
from graphlink.reports.report import Report, render

SINCE = "2024-01-01"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</td></tr></table><iframe src=//evil.example>",
    "&lt;already&gt; &amp; escaped",
    "javascript:alert(1) 假货旗舰店",
]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3",
                "p", "main", "div", "b", "span", "section", "ul", "li", "figure", "img",
                "figcaption", "input", "table", "thead", "tbody", "tr", "th", "td", "script"}
#: the elements of the inline SVG figures (graphlink.reports.svg)
SVG_TAGS = {"svg", "g", "rect", "line", "circle", "polygon", "text", "tspan"}
_SVG = "{http://www.w3.org/2000/svg}"


class _Page(HTMLParser):
    """Every tag with its attributes, the text, and the scripts' text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)

    def of(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def _svgs(text: str) -> list[ET.Element]:
    """Every inline SVG figure of a page, parsed as XML (each must be well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", text, flags=re.S)]


def _label(svg: ET.Element) -> str:
    return svg.get("aria-label", "")


def _assert_safe(page: _Page) -> None:
    assert {t for t, _ in page.tags} <= ALLOWED_TAGS | SVG_TAGS
    for tag, attrs in page.tags:  # figures: presentation attributes only (CSP: no style)
        assert tag not in SVG_TAGS or not {"style", "href", "xlink:href"} & set(attrs), attrs
    assert page.scripts == [glhtml._JS]  # only our own script
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("src", "href", "action", "srcset"):
            value = attrs.get(name)
            assert value is None or value.startswith("data:image/png;base64,"), (tag, name)
    csp = [a["content"] for a in page.of("meta") if a.get("http-equiv") ==
           "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory) -> Path:
    """A small generated world whose shop names are all hostile strings."""
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("hostile") / "world"
    generate_world(out, shops=400, seed=3)
    path = out / "shops.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        row["name"] = HOSTILE[i % len(HOSTILE)] + f" #{i}"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


@pytest.fixture(scope="module")
def hostile_analysis(hostile_world):
    return gl.analyse(hostile_world)


@pytest.fixture(scope="module")
def signups_page(hostile_analysis, tmp_path_factory) -> tuple[Path, Report]:
    report = signups_report(hostile_analysis, SINCE)
    path = tmp_path_factory.mktemp("html") / "signups.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    return path, report


def test_signups_page_is_escaped_and_self_contained(signups_page, hostile_analysis):
    path, report = signups_page
    page = _Page(path.read_text(encoding="utf-8"))
    _assert_safe(page)
    text = "".join(page.text)
    flagged = [s for s in report.payload["signups"] if s["flag"] in ("high", "medium")]
    assert flagged
    names = hostile_analysis.dataset.shops.set_index("shop_id")["name"]
    shown = {names[s["shop_id"]] for s in flagged}
    assert {h for h in HOSTILE if any(n.startswith(h) for n in shown)}  # hostile names flagged
    for s in flagged:
        assert names[s["shop_id"]] in text  # shown as text, byte for byte
        assert s["shop_id"] in text
        for m in s["matches"]:
            assert m["evidence"][0]["detail"] in text
    high = sum(s["flag"] == "high" for s in flagged)
    assert not page.of("img")  # every figure is inline SVG
    svgs = _svgs(path.read_text(encoding="utf-8"))
    kinds = [svg.get("class") for svg in svgs]
    assert kinds.count("figure risk-histogram") == 1
    assert kinds.count("figure evidence") == min(high, glhtml.MAX_FIGURES)  # one per high flag
    assert all(_label(svg) for svg in svgs)
    assert len(page.of("table")) == 1 and len(page.of("tr")) == len(report.rows) + 1


def test_every_evidence_edge_and_node_is_drawn_with_its_label(signups_page):
    """Each figured sign-up's SVG has every node and edge of its page data, edges joining
    the right nodes, and every label as text (hostile names included, escaped)."""
    path, report = signups_page
    text = path.read_text(encoding="utf-8")
    figures = {_label(svg).removeprefix("evidence graph of "): svg for svg in _svgs(text)
               if svg.get("class") == "figure evidence"}
    assert figures and set(figures) == set(report.page.evidence)
    for shop, graph in report.page.evidence.items():
        svg = figures[shop]
        keys = list(graph.nodes)
        edges = [(e.get("data-a"), e.get("data-b"), e.get("class")) for e in svg.iter(f"{_SVG}line")
                 if "edge" in (e.get("class") or "").split()]
        assert edges == [(str(keys.index(a)), str(keys.index(b)), f"edge edge-{style}")
                         for a, b, style, _ in graph.edges]
        markers = sorted(int(e.get("data-node")) for e in svg.iter()
                         if "node" in (e.get("class") or "").split())
        assert markers == list(range(len(keys)))
        labels = {g.get("data-node"): "\n".join(t.text or "" for t in g.iter(f"{_SVG}tspan"))
                  for g in svg.iter(f"{_SVG}g") if g.get("data-node") is not None}
        assert labels == {str(i): graph.nodes[k].text for i, k in enumerate(keys)}
        edge_labels = {g.get("data-edge"): "\n".join(t.text or "" for t in g.iter(f"{_SVG}tspan"))
                       for g in svg.iter(f"{_SVG}g") if g.get("data-edge") is not None}
        assert edge_labels == {str(i): e[3] for i, e in enumerate(graph.edges) if e[3]}
        title = "".join(svg.find(f".//{_SVG}text[@class='title']").itertext())
        assert title.startswith(f"Evidence around {shop} ")


def test_escaping_is_html_escape_without_bidi_controls():
    import html

    from graphlink.core.safetext import BIDI_CONTROLS, strip_bidi

    texts = [*HOSTILE, "rtl\u202eevil \u2067x\u2069", "a&b<c>d\"e'f", "", "假货" + BIDI_CONTROLS]
    for text in texts:
        assert glhtml.esc(text) == html.escape(strip_bidi(text), quote=True), text
    assert glhtml.esc(1.5) == "1.5" and glhtml.esc(None) == "" and glhtml.esc(["<a>", 2]) == \
        "&lt;a&gt;; 2"


def test_rows_table_escapes_each_cell_as_esc_does():
    """The table escapes a column as one string; a value holding the separator (NUL)
    or a bidi control comes out as esc() of that value alone."""
    rows = [{"a": HOSTILE[i % len(HOSTILE)] + ("\x00x" if i == 3 else "") + "\u202e",
             "n": i / 3, "flag": ["high", "<b>", None][i % 3]} for i in range(7)]
    for table in (rows, rows[:3]):  # with and without the NUL
        page = glhtml._table(Report("t", {"schema": "x/1"}, table))
        cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
        assert len(cells) == 3 * len(table)
        for row, (a, n, flag) in zip(table, zip(*[iter(cells)] * 3, strict=True), strict=True):
            assert a == glhtml.esc(row["a"]) and n == glhtml.esc(row["n"])
            assert glhtml.esc(row["flag"]) in flag


def test_generic_report_escapes_everything():
    hostile = HOSTILE[1]
    report = Report(hostile, {"schema": hostile, "dataset": hostile, "count": hostile},
                    [{hostile: hostile, "n": 1.5}], None, [hostile])
    page = _Page(render(report, "html"))
    _assert_safe(page)
    assert "".join(page.text).count(hostile) >= 5


@pytest.mark.parametrize("command", [["check"], ["clusters"], ["report", "factories"],
                                     ["report", "spotcheck"],
                                     ["report", "signups", "--since", SINCE]])
def test_every_report_renders_as_html(hostile_world, command, tmp_path):
    out = tmp_path / "report.html"
    args = [*command[:2], str(hostile_world), *command[2:]] if command[0] == "report" else \
        [command[0], str(hostile_world)]
    result = CliRunner().invoke(cli, [*args, "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output + str(result.exception)
    page = _Page(out.read_text(encoding="utf-8"))
    _assert_safe(page)
    assert page.of("table") and page.of("h1")


def test_factories_page_has_maps(hostile_analysis):
    report = factories_report(hostile_analysis)
    page = _Page(render(report, "html"))
    _assert_safe(page)
    found = report.payload["factories"]
    with_coordinates = [f for f in found if f["lat"] is not None]
    maps = [svg for svg in _svgs(render(report, "html"))
            if svg.get("class") == "figure factory-map"]
    mapped = [f for f in found[:glhtml.MAX_FIGURES] if f["lat"] is not None]
    assert len(mapped) == min(len(with_coordinates), glhtml.MAX_FIGURES) > 0
    assert [_label(m) for m in maps] == [f"map of factory lead {f['factory_id']}" for f in mapped]
    for svg, lead in zip(maps, mapped, strict=True):  # every placed shop of the lead is a dot
        place = report.page.places[lead["factory_id"]]
        dots = [e.get("data-shop") for e in svg.iter(f"{_SVG}circle")
                if "shop" in (e.get("class") or "").split()]
        assert sorted(dots) == sorted([*place.inside["shop_id"], *place.later["shop_id"]])
    text = "".join(page.text)
    assert all(f["factory_id"] in text and f["anchor_address"] in text for f in found)


def test_reports_without_analysis_still_render(hostile_analysis):
    for report in (clusters_report(hostile_analysis), spotcheck_report(hostile_analysis, 10)):
        bare = Report(report.title, report.payload, report.rows, report.columns, report.notes)
        page = _Page(render(bare, "html"))
        _assert_safe(page)
        assert not page.of("img") and not page.of("svg")


# --- in a real browser ---------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " [CI=true: .ci/run must install it]", pytrace=False)
        pytest.skip(message)
    return found


def _browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args,
               page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_browser_loads_the_page_and_every_image(signups_page, hostile_analysis, tmp_path):
    path, report = signups_page
    dom = _Page(_browse(path, tmp_path / "profile", "--dump-dom").stdout)
    body = dom.of("body")[0]
    assert body.get("data-ready") == "yes"  # the page's script ran after load
    figures = dom.of("svg")  # every inline SVG figure drawn with a size
    assert figures and [f.get("data-drawn") for f in figures] == ["yes"] * len(figures)
    text = "".join(dom.text)
    for s in report.payload["signups"]:
        if s["flag"] != "none":
            assert s["shop_id"] in text
    names = hostile_analysis.dataset.shops.set_index("shop_id")["name"]
    flagged = [s["shop_id"] for s in report.payload["signups"] if s["flag"] in ("high", "medium")]
    assert names[flagged[0]] in text  # a hostile name, still text after the browser parsed it
    assert len(dom.of("script")) == 1


def test_browser_screenshot_is_not_blank(signups_page, tmp_path):
    path, _ = signups_page
    shot = tmp_path / "page.png"
    _browse(path, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # text, figures, header: not blank
    # the header band is drawn (dark blue) and the figures show red flags
    assert image.getpixel((10, 10)) == (0x1F, 0x4E, 0x79)


# --- match weight waterfalls and the model chart -------------------------------------


@pytest.fixture(scope="module")
def waterfall_analysis(tmp_path_factory):
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("waterfall") / "world"
    generate_world(out, shops=300, seed=1)
    return gl.analyse(out)


def _sections(text: str) -> dict[str, str]:
    """The markup of each flagged sign-up's section, by shop id."""
    parts = text.split('<section class="item" id="shop-')[1:]
    return {p.split('"', 1)[0]: p.split("</section>", 1)[0] for p in parts}


def _waterfall_shops(report) -> dict[str, dict]:
    """Flagged sign-ups whose best match has a waterfall, with that match."""
    return {s["shop_id"]: s["matches"][0] for s in report.payload["signups"]
            if s["flag"] in ("high", "medium") and s["matches"]
            and s["matches"][0].get("waterfall")}


def test_flagged_signups_show_their_best_match_waterfall(waterfall_analysis):
    report = signups_report(waterfall_analysis, SINCE)
    wanted = _waterfall_shops(report)
    assert wanted, "the seed-1 world should have a flagged sign-up with a waterfall"
    text = render(report, "html")
    page = _Page(text)
    _assert_safe(page)
    assert len(page.of("table")) == 1  # the steps are div rows: the one table is the data
    sections = _sections(text)
    for shop, match in list(wanted.items())[:glhtml.MAX_FIGURES]:
        section = _Page(sections[shop])
        assert len(section.of("figure")) == 1  # evidence graph and waterfall, one figure
        svgs = _svgs(sections[shop])
        chart = svgs[-1]  # below the evidence graph (high flags)
        assert chart.get("class") == "figure waterfall" and len(svgs) <= 2
        assert _label(chart).endswith(f"{shop} and banned shop {match['banned_shop_id']}")
        bars = [e for e in chart.iter(f"{_SVG}rect") if e.get("class") == "step"]
        assert len(bars) == len(match["waterfall"])
        steps = section.of("div")
        assert [a.get("role") for a in steps].count("row") == len(match["waterfall"]) + 2
        shown = "".join(section.text)
        weight = sum(s["log2_bf"] for s in match["waterfall"])
        for step in match["waterfall"]:
            assert step["comparison"] in shown and f"{step['log2_bf']:+.2f}" in shown
        from graphlink.reports.svg import probability_text

        assert f"{weight:+.2f}" in shown and probability_text(weight) in shown


def test_waterfalls_need_only_the_report_data(waterfall_analysis):
    report = signups_report(waterfall_analysis, SINCE)
    bare = Report(report.title, report.payload, report.rows, report.columns, report.notes)
    page = _Page(render(bare, "html"))
    _assert_safe(page)
    wanted = _waterfall_shops(report)
    labels = [_label(svg) for svg in _svgs(render(bare, "html"))]
    assert len(labels) == min(len(wanted), glhtml.MAX_FIGURES)  # no histogram, no graphs
    assert all(a.startswith("match weight waterfall: ") for a in labels)
    # a signup without waterfalls (an older report) renders as before
    for s in bare.payload["signups"]:
        for m in s["matches"]:
            m.pop("waterfall", None)
    page = _Page(render(bare, "html"))
    assert not page.of("svg") and "match weight steps" not in render(bare, "html")


def test_model_page_has_the_model_chart(waterfall_analysis, tmp_path):
    from graphlink.api import model_report

    model_file = waterfall_analysis.model.save(tmp_path / "model.json")
    out = tmp_path / "model.html"
    result = CliRunner().invoke(cli, ["model", "show", str(model_file), "--format", "html",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output + str(result.exception)
    page = _Page(out.read_text(encoding="utf-8"))
    _assert_safe(page)
    images = page.of("img")
    assert len(images) == 1 and "model chart" in images[0]["alt"]
    assert "Comparison levels" in "".join(page.text)
    assert len(page.of("tr")) == len(model_report(model_file).rows) + 1
    # data-driven: levels without numeric m and u draw nothing
    plain = Report("t", {"schema": "x/1", "levels": [{"m": "n/a", "u": 1}]}, [{"a": 1}])
    assert not _Page(render(plain, "html")).of("img")


# --- reports are data: the page is built once, renderers never call the analysis --------


def test_html_renders_from_the_report_alone(hostile_analysis, monkeypatch):
    from graphlink.api import Analysis

    signups = signups_report(hostile_analysis, SINCE)
    factories = factories_report(hostile_analysis)
    clusters = clusters_report(hostile_analysis)
    before = [render(r, "html") for r in (signups, factories, clusters)]

    def refuse(*args, **kwargs):
        raise AssertionError("a renderer called the analysis")

    for name in ("signup_records", "signups", "explain", "factories", "address_points",
                 "clusters", "factory_context"):
        monkeypatch.setattr(Analysis, name, refuse)
    after = [render(r, "html") for r in (signups, factories, clusters)]
    assert after == before
    high = sum(s["flag"] == "high" for s in signups.payload["signups"])
    assert len(_Page(after[0]).of("figure")) == 1 + min(high, glhtml.MAX_FIGURES)
    assert [_label(s) for s in _svgs(after[2])] == ["operator and community sizes"]


def test_page_data_only_when_asked_and_never_in_the_payload(hostile_analysis):
    with_page = signups_report(hostile_analysis, SINCE)
    without = signups_report(hostile_analysis, SINCE, page=False)
    assert with_page.page is not None and without.page is None
    assert render(with_page, "json") == render(without, "json")
    assert render(with_page, "csv") == render(without, "csv")
    high = [s["shop_id"] for s in with_page.payload["signups"] if s["flag"] == "high"]
    assert list(with_page.page.evidence) == high[:glhtml.MAX_FIGURES]
    for fmt_page in (factories_report(hostile_analysis, page=False),
                     clusters_report(hostile_analysis, page=False)):
        assert fmt_page.page is None


def test_streamed_clusters_rows_write_the_same_files(hostile_analysis, tmp_path):
    """`report all`'s clusters rows, made a batch at a time (report.Rows), give the
    same bytes in every format as the list of dicts; so does a table of 2,500 rows with
    None, hostile text and a marker character, across the batches."""
    from graphlink.reports.report import Rows, write

    listed = clusters_report(hostile_analysis)
    streamed = clusters_report(hostile_analysis, streamed=True)
    assert isinstance(streamed.payload["shops"], Rows) and streamed.rows == listed.rows
    cells = [*HOSTILE, None, "a\x00b", "c\x01d", "S"]
    rows = [{"shop_id": f"S{i}", "operator_id": cells[i % len(cells)],
             "community_id": cells[(i * 7) % len(cells)] if i % 3 else f"C{i}"}
            for i in range(2500)]
    lazy = Rows(len(rows), lambda a, b: [dict(r) for r in rows[a:b]])
    columns = ["shop_id", "operator_id", "community_id"]
    pairs = [(listed, streamed),
             (Report("t", {"schema": "graphlink.clusters/1", "shops": rows}, rows, columns),
              Report("t", {"schema": "graphlink.clusters/1", "shops": lazy}, lazy, columns)),
             (Report("t", {"schema": "x/1", "shops": []}, [], columns),
              Report("t", {"schema": "x/1", "shops": Rows(0, list)}, Rows(0, list), columns))]
    for one, other in pairs:
        for fmt in ("json", "html"):
            write(one, fmt, tmp_path / f"a.{fmt}")
            write(other, fmt, tmp_path / f"b.{fmt}")
            assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
        for fmt in ("json", "csv", "table", "html"):
            assert render(one, fmt) == render(other, fmt), fmt


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_cli_builds_no_page_for_other_formats(hostile_world, monkeypatch, tmp_path, fmt):
    from graphlink.reports import payloads

    def refuse(*args, **kwargs):
        raise AssertionError("page data built for a format that does not draw it")

    monkeypatch.setattr(payloads, "signups_page", refuse)
    out = tmp_path / f"signups.{fmt}"
    result = CliRunner().invoke(cli, ["report", "signups", str(hostile_world), "--since", SINCE,
                                      "--format", fmt, "--output", str(out)])
    assert result.exit_code == 0, result.output + str(result.exception)
    assert out.stat().st_size > 0
    result = CliRunner().invoke(cli, ["report", "signups", str(hostile_world), "--since", SINCE,
                                      "--format", "html", "--output", str(tmp_path / "x.html")])
    assert result.exit_code != 0 and "page data built" in str(result.exception)


def test_a_waterfall_step_prints_its_own_sign_of_zero():
    """Step rows are cached by their cells; -0.0 and 0.0 are one key there but print
    apart, as the uncached rows did."""
    from graphlink.reports.html import _waterfall_steps

    step = {"comparison": "phone", "level": "exact", "bayes_factor": 1.0,
            "tf_adjustment": 1.0}
    assert "+0.00</span>" in _waterfall_steps([{**step, "log2_bf": 0.0}])
    assert "-0.00</span>" in _waterfall_steps([{**step, "log2_bf": -0.0}])
