"""The HTML reports' SVG figures (graphlink.reports.svg): well-formed, complete, escaped,
deterministic.

Each figure is parsed as XML and checked against the data it was drawn from:
every node and edge of an evidence graph with its label, every placed shop
of a factory map, every step of a waterfall, every sign-up of the histogram.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import BASE, write_dataset

import graphlink as gl
from graphlink.api import signups_report
from graphlink.reports import pagedata, svg

SINCE = "2024-01-01"
NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "假货\u202e旗舰店 '><script>alert(1)</script> & <svg onload=x>"


def _parse(text: str) -> ET.Element:
    assert text.startswith("<svg ") and text.endswith("</svg>")
    return ET.fromstring(text)


def _lines(group: ET.Element) -> str:
    return "\n".join(t.text or "" for t in group.iter(f"{NS}tspan"))


def _graphs(analysis) -> dict[str, pagedata.EvidenceGraph]:
    report = signups_report(analysis, SINCE)
    assert report.page.evidence, "the test world should have figured high flags"
    return report.page.evidence


def _classes(element: ET.Element) -> list[str]:
    return (element.get("class") or "").split()


def test_evidence_draws_every_node_edge_and_label(analysis):
    for shop, graph in _graphs(analysis).items():
        root = _parse(svg.evidence(graph))
        keys = list(graph.nodes)
        edges = [(int(e.get("data-a")), int(e.get("data-b")), _classes(e)[1])
                 for e in root.iter(f"{NS}line") if "edge" in _classes(e)]
        assert edges == [(keys.index(a), keys.index(b), f"edge-{style}")
                         for a, b, style, _ in graph.edges], shop
        kinds = {int(e.get("data-node")): _classes(e)[1] for e in root.iter()
                 if "node" in _classes(e)}
        assert kinds == {i: f"node-{graph.nodes[k].kind}" for i, k in enumerate(keys)}
        labels = {g.get("data-node"): _lines(g) for g in root.iter(f"{NS}g")
                  if g.get("data-node")}
        assert labels == {str(i): graph.nodes[k].text for i, k in enumerate(keys)}
        edge_labels = {g.get("data-edge"): _lines(g) for g in root.iter(f"{NS}g")
                       if g.get("data-edge")}
        assert edge_labels == {str(i): e[3] for i, e in enumerate(graph.edges) if e[3]}
        legend = " ".join(root.itertext())
        assert "banned shop" in legend and "account" in legend


def _boxes(root: ET.Element) -> list[tuple[float, float, float, float]]:
    boxes = []
    for g in root.iter(f"{NS}g"):
        if "label" in _classes(g):
            r = g.find(f"{NS}rect")
            x, y = float(r.get("x")), float(r.get("y"))
            boxes.append((x, y, x + float(r.get("width")), y + float(r.get("height"))))
    return boxes


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 1 and h > 1 else 0.0


def test_evidence_labels_stay_apart_and_inside(analysis):
    """Labels are placed where they overlap no other (estimated text widths), within the
    figure; the layout is computed on a copy, so the page data is not changed."""
    for shop, graph in _graphs(analysis).items():
        before = [(n.key, n.y) for n in graph.nodes.values()]
        root = _parse(svg.evidence(graph))
        assert [(n.key, n.y) for n in graph.nodes.values()] == before
        boxes = _boxes(root)
        assert len(boxes) == len(graph.nodes) + sum(bool(e[3]) for e in graph.edges)
        crowded = [(a, b) for a, b in itertools.combinations(boxes, 2) if _overlap(a, b)]
        assert len(crowded) <= len(boxes) // 10, shop  # nearly all labels stand free
        width, height = float(root.get("width")), float(root.get("height"))
        assert all(b[0] >= -20 and b[2] <= width + 20 and b[3] <= height for b in boxes), shop


def test_hostile_and_chinese_text_is_escaped_text(tmp_path):
    files = dict(BASE)
    files["shops.csv"] = files["shops.csv"].replace("Nike潮牌店", HOSTILE)
    analysis = gl.analyse(write_dataset(tmp_path / "ds", files))
    graph = pagedata.evidence_graph(analysis, "S3")
    text = svg.evidence(graph)
    assert "<script>" not in text and "<svg onload" not in text and "\u202e" not in text
    root = _parse(text)
    words = "\n".join(root.itertext())
    assert "假货旗舰店 '><script>" in words  # shown as text, not markup, bidi control gone
    for element in root.iter():  # presentation attributes only: the page's CSP forbids style
        assert not {"style", "href", "onload", "onclick"} & set(element.attrib), element.attrib


def test_same_data_same_bytes(analysis, world):
    graphs = _graphs(analysis)
    assert [svg.evidence(g) for g in graphs.values()] == [svg.evidence(g)
                                                          for g in graphs.values()]
    code = ("import graphlink as gl, sys; from graphlink.api import signups_report;"
            "from graphlink.reports import svg; a = gl.analyse(sys.argv[1]);"
            f"r = signups_report(a, {SINCE!r});"
            "print(''.join(svg.evidence(g) for g in r.page.evidence.values()))")
    runs = {subprocess.run([sys.executable, "-c", code, str(world)], capture_output=True,
                           text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1 and len(runs.pop()) > 1000


STEPS = [{"comparison": "prior", "level": "reuse", "log2_bf": -9.0, "bayes_factor": 0.002},
         {"comparison": "device", "level": "exact", "log2_bf": 12.5, "bayes_factor": 5800.0},
         {"comparison": "name", "level": "fuzzy", "log2_bf": 2.0, "bayes_factor": 8.0,
          "tf_adjustment": 0.5},
         {"comparison": "ip", "level": "other", "log2_bf": -1.5}]


def test_waterfall_has_a_bar_per_step_and_ends_at_the_weight():
    root = _parse(svg.waterfall(STEPS, title="S9 and banned shop S1"))
    bars = [e for e in root.iter(f"{NS}rect") if e.get("class") == "step"]
    assert [b.get("data-step") for b in bars] == ["0", "1", "2", "3"]
    assert [e.get("class") for e in root.iter(f"{NS}rect")].count("tf-adjustment") == 1
    (final,) = [e for e in root.iter(f"{NS}rect") if e.get("class") == "final"]
    scale = float(bars[1].get("height")) / 12.5 * 1.0  # device's step, its whole log2 (no tf)
    assert math.isclose(float(final.get("height")), 4.0 * scale, abs_tol=0.2)
    words = " ".join(root.itertext())
    assert "w = 4.00" in words and svg.probability_text(4.0) in words
    assert "device: exact" in words and "+12.50" in words and "(freq. -1.00)" in words
    assert svg.waterfall([{}, {"comparison": None, "log2_bf": "x"}])  # tolerates gaps


def test_risk_histogram_counts_every_tied_signup(analysis):
    signups = analysis.signups(SINCE)
    root = _parse(svg.risk_histogram(signups["risk"].tolist(), signups["flag"].tolist(),
                                     "2024-01-01"))
    drawn: dict[str, int] = {}
    for bar in root.iter(f"{NS}rect"):
        if "bar" in _classes(bar):
            flag = _classes(bar)[1].removeprefix("bar-")
            drawn[flag] = drawn.get(flag, 0) + int(bar.get("data-n"))
    tied = signups[signups["risk"] > 0]
    assert drawn == tied["flag"].value_counts().to_dict()
    assert f"{int((signups['risk'] == 0).sum())} with no tie" in " ".join(root.itertext())


def test_cluster_sizes_count_every_group(analysis):
    table = pagedata.cluster_table(analysis)
    root = _parse(svg.cluster_sizes(table))
    bars = [b for b in root.iter(f"{NS}rect") if "bar" in _classes(b)]
    shops = sum(int(b.get("data-size")) * int(b.get("data-n")) for b in bars)
    assert shops == 2 * len(table)  # each shop once among operators, once among communities
    banned = {b.get("data-size") for b in bars if "bar-banned" in _classes(b)}
    assert banned and "Operators" in " ".join(root.itertext())


def test_factory_maps_place_every_shop_inside_the_frame(analysis):
    found = analysis.factories()
    if found.empty:
        pytest.skip("no factory lead in the test world")
    page = pagedata.factories_page(analysis, found.to_dict("records"))
    assert page.places
    for factory_id, place in page.places.items():
        root = _parse(svg.factory_map(place))
        dots = [e for e in root.iter(f"{NS}circle") if "shop" in _classes(e)]
        assert sorted(d.get("data-shop") for d in dots) == sorted(
            [*place.inside["shop_id"], *place.later["shop_id"]])
        (frame,) = [e for e in root.iter(f"{NS}rect") if e.get("class") == "frame"]
        x0, y0 = float(frame.get("x")), float(frame.get("y"))
        for dot in dots:  # every dot inside the map frame
            x, y = float(dot.get("cx")), float(dot.get("cy"))
            assert x0 <= x <= x0 + float(frame.get("width"))
            assert y0 <= y <= y0 + float(frame.get("height"))
        assert factory_id in " ".join(root.itertext())


def test_the_html_path_never_imports_matplotlib():
    code = ("import sys, graphlink.reports.html, graphlink.reports.svg, graphlink.reports.pagedata;"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
