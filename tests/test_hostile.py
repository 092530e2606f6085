"""Hostile text in every output, end to end.

A generated world whose shop names, dispatch addresses, holder names and a
third of its emails are replaced by hostile strings (script tags, attribute
breakouts, spreadsheet formulas, terminal escapes and BEL, a right-to-left
override, 10,000-character strings, Cypher) is analysed and every report is
written in every format, as `graphlink ... --output FILE` does. (A NUL byte is
not hostile text but the sign of a binary or mis-encoded file: the loaders
refuse it with its place, see tests/loaders/test_bad_input.py and
:func:`test_a_nul_byte_in_the_hostile_world_is_reported_not_loaded`.)

- HTML: every value escaped: only graphlink's own tags, no event handlers,
  images only from ``data:``, one script (its own); hostile text shows as text;
- CSV: no cell a spreadsheet would run as a formula;
- table: no terminal control character;
- JSON: valid, matches its shipped schema, hostile values round-trip exactly;
- Neo4j: hostile values round-trip as data and run nothing (and, pushed with
  ``pseudonymise``, no phone, email, ID number or card number in clear).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import tempfile
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BASE, write_dataset

import graphlink as gl
from graphlink.api import (
    check,
    clusters_report,
    factories_report,
    signups_report,
    spotcheck_report,
)
from graphlink.cli import cli
from graphlink.reports.report import load_schema, write

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1",
    "\x1b[31mred",
    "\x1b]0;title\x07",
    "bel\x07byte",
    "rtl\u202eevil",
    "A" * 10_000,
    "'}) MATCH (n) DETACH DELETE n //",
]
KEY = "hostile-test-key-0123456789"
# figures draw the names; matplotlib warns about glyphs for control characters
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font:UserWarning")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def make_hostile_world(out: Path, shops: int = 300, seed: int = 5, longest: int = 10_000) -> Path:
    """A generated world with hostile names, addresses, holder names and emails
    (the long string cut to ``longest`` characters)."""
    from graphlink.synth.generate import generate_world

    def hostile(i: int) -> str:
        return HOSTILE[i % len(HOSTILE)][:longest]

    generate_world(out, shops=shops, seed=seed)

    def rewrite(table: str, column: str, values) -> None:
        frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)
        frame[column] = values(frame)
        frame.to_csv(out / f"{table}.csv", index=False)

    rewrite("shops", "name", lambda f: [hostile(i) for i in range(len(f))])
    rewrite("shops", "category", lambda f: [hostile(i + 1) for i in range(len(f))])
    rewrite("addresses", "address", lambda f: [f"{hostile(i)} {i}号" for i in range(len(f))])
    rewrite("accounts", "holder_name", lambda f: [hostile(i + 3) for i in range(len(f))])
    rewrite("payments", "holder_name", lambda f: [hostile(i + 7) for i in range(len(f))])
    rewrite("accounts", "email", lambda f: [
        f"{hostile(i)[:40]}@{hostile(i + 5)[:30]}.com" if i % 3 == 0 else e
        for i, e in enumerate(f["email"])])
    return out


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory) -> Path:
    return make_hostile_world(tmp_path_factory.mktemp("hostile") / "world")


@pytest.fixture(scope="module")
def hostile_analysis(hostile_world):
    return gl.analyse(hostile_world)


@pytest.fixture(scope="module")
def outputs(hostile_analysis, tmp_path_factory) -> dict[tuple[str, str], str]:
    """Every report in every format, written to files as the CLI writes them."""
    a = hostile_analysis
    since = str((a.dataset.shops["created_at"].max() - pd.Timedelta(days=200)).date())
    reports = {"check": check(a.dataset), "clusters": clusters_report(a),
               "signups": signups_report(a, since), "factories": factories_report(a),
               "spotcheck": spotcheck_report(a, 40)}
    folder = tmp_path_factory.mktemp("outputs")
    found = {}
    for name, report in reports.items():
        for fmt in ("table", "csv", "json", "html"):
            if (name, fmt) == ("check", "table"):
                continue  # see test_check_table_wraps_long_values_quickly
            path = folder / f"{name}.{fmt}"
            write(report, fmt, path)
            found[name, fmt] = path.read_text(encoding="utf-8")
    return found


def test_the_world_is_hostile(hostile_analysis):
    names = set(hostile_analysis.dataset.shops["name"])
    assert {h.strip() for h in HOSTILE} <= names
    signups = hostile_analysis.signups("2000-01-01")
    assert (signups["flag"] == "high").sum() >= 3  # linkage still works around the noise


def test_a_nul_byte_in_the_hostile_world_is_reported_not_loaded(hostile_world, tmp_path):
    """A NUL inside a field is never data: `check` names its place and exits 1; with
    --lenient the row is skipped and counted (and the rows that depended on it)."""
    import shutil

    folder = tmp_path / "world"
    shutil.copytree(hostile_world, folder)
    with open(folder / "shops.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert not any("\n" in c or "\r" in c for row in rows[:8] for c in row)  # line 8 = row 8
    rows[7][rows[0].index("category")] = "nul\x00byte"
    with open(folder / "shops.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "error: shops.csv line 8, column category: NUL byte at character 4 of 'nul\\x00byte': "
        "the sign of a binary or mis-encoded export"]
    lenient = gl.load(folder, lenient=True)
    assert lenient.skipped["nul byte"] == 1
    assert "nul\x00byte" not in set(lenient.shops["category"].dropna())


# --- HTML -------------------------------------------------------------------------------

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "main", "h1", "h2",
                "h3", "p", "div", "span", "b", "section", "ul", "li", "figure", "img",
                "figcaption", "table", "thead", "tbody", "tr", "th", "td", "input", "script",
                # the inline SVG figures (graphlink.reports.svg)
                "svg", "g", "rect", "line", "circle", "polygon", "text", "tspan"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("report", ["check", "clusters", "signups", "factories", "spotcheck"])
def test_html_escapes_every_value(outputs, report):
    text = outputs[report, "html"]
    page = _Page()
    page.feed(text)
    tags = [t for t, _ in page.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert tags.count("script") == 1 and tags.count("html") == 1
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert all("javascript:" not in (v or "").lower() for v in attrs.values())
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
    csp = next(a["content"] for t, a in page.tags if t == "meta" and "content" in a
               and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    assert "<script>alert" not in text and "<img src=x" not in text


def test_hostile_text_is_shown_as_text_in_html(outputs):
    page = _Page()
    page.feed(outputs["check", "html"] + outputs["factories", "html"])
    shown = "".join(page.text)
    for h in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'):
        assert h in shown  # escaped, displayed, not dropped


def make_bidi_world(out: Path, shops: int = 200, seed: int = 7) -> Path:
    """A generated world whose shop names, categories, dispatch addresses and holder
    names carry every bidi control (a different one per row)."""
    from graphlink.reports.report import BIDI_CONTROLS
    from graphlink.synth.generate import generate_world

    generate_world(out, shops=shops, seed=seed)

    def rewrite(table: str, column: str, make) -> None:
        frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)
        frame[column] = [make(i, v) for i, v in enumerate(frame[column])]
        frame.to_csv(out / f"{table}.csv", index=False)

    def bidi(i: int) -> str:
        return BIDI_CONTROLS[i % len(BIDI_CONTROLS)]

    rewrite("shops", "name", lambda i, v: f"rtl{bidi(i)}evil {v}")
    rewrite("shops", "category", lambda i, v: f"{bidi(i + 1)}{v}")
    rewrite("addresses", "address", lambda i, v: f"{v}{bidi(i)}5号楼")
    rewrite("accounts", "holder_name", lambda i, v: f"{bidi(i + 3)}{v}\u2069" if v else v)
    rewrite("payments", "holder_name", lambda i, v: f"{v}{bidi(i + 5)}" if v else v)
    return out


def test_html_reports_have_no_bidi_controls(tmp_path):
    """Shop names, categories, addresses and holder names with bidi controls (U+202E
    would show the rest of a line reversed): no HTML report, in text, attributes,
    titles or figure labels, carries one, and the text around them is still shown.
    (Addresses and holder names lose them in normalisation; names are kept raw.)"""
    from matplotlib.text import Text

    from graphlink.reports import plot
    from graphlink.reports.report import BIDI_CONTROLS

    analysis = gl.analyse(make_bidi_world(tmp_path / "world"))
    names = "".join(analysis.dataset.shops["name"])
    assert set(BIDI_CONTROLS) <= set(names)
    reports = {"check": check(analysis.dataset), "clusters": clusters_report(analysis),
               "signups": signups_report(analysis, "2000-01-01"),
               "factories": factories_report(analysis), "spotcheck": spotcheck_report(analysis, 40)}
    assert reports["signups"].payload["signups"] and reports["factories"].payload["factories"]
    for name, report in reports.items():
        path = tmp_path / f"{name}.html"
        write(report, "html", path)
        text = path.read_text(encoding="utf-8")
        assert not set(text) & set(BIDI_CONTROLS), name
        for ch in BIDI_CONTROLS:  # not as character references either
            assert f"&#{ord(ch)};" not in text and f"&#x{ord(ch):x};" not in text.lower()
    page = _Page()
    page.feed((tmp_path / "signups.html").read_text(encoding="utf-8"))
    assert "rtlevil " in "".join(page.text)  # the name is shown, without the control
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="figure evidence"' in (
        tmp_path / "signups.html").read_text(encoding="utf-8")  # figures drawn, no control

    flagged = next(s["shop_id"] for s in reports["signups"].payload["signups"]
                   if s["flag"] == "high")
    factory = reports["factories"].payload["factories"][0]["factory_id"]
    for fig in (plot.evidence_subgraph(analysis, flagged), plot.factory_map(analysis, factory)):
        labels = "\n".join(t.get_text() for t in fig.findobj(Text))
        assert "rtlevil" in labels or factory in labels
        assert not set(labels) & set(BIDI_CONTROLS)
    assert "rtlevil" in "".join(t.get_text() for t in
                                plot.evidence_subgraph(analysis, flagged).findobj(Text))


# --- CSV, table, JSON ---------------------------------------------------------------------


@pytest.mark.parametrize("report", ["check", "clusters", "signups", "factories", "spotcheck"])
def test_csv_cells_never_start_a_formula(outputs, report):
    rows = list(csv.reader(io.StringIO(outputs[report, "csv"], newline="")))
    assert len(rows) > 1
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA)]


def test_every_hostile_string_survives_the_csv_renderer_neutralised():
    from graphlink.reports.report import Report, render

    rows = [{"shop_id": f"S{i}", "name": h, "list": [h, "x"]} for i, h in enumerate(HOSTILE)]
    text = render(Report("t", {"schema": "t/1"}, rows), "csv")
    parsed = list(csv.reader(io.StringIO(text, newline="")))[1:]
    for h, (_, name, listed) in zip(HOSTILE, parsed, strict=True):
        assert not name.startswith(FORMULA) and not listed.startswith(FORMULA)
        assert name == ("'" + h if h.startswith(FORMULA) else h)  # otherwise intact


def _controls(text: str) -> set[str]:
    return {c for c in text if c != "\n" and unicodedata.category(c) == "Cc"}


@pytest.mark.parametrize("report", ["clusters", "signups", "factories", "spotcheck"])
def test_tables_have_no_terminal_controls(outputs, report):
    assert not _controls(outputs[report, "table"])


_CHECK_TABLE = """
import json, sys
from graphlink.api import check
from graphlink.reports.report import render
text = render(check(sys.argv[1]), "table")
print(json.dumps(text))
"""


@pytest.fixture(scope="module")
def check_table(hostile_world) -> str:
    """The check summary as a table, or a failure if it takes minutes (a denial of service)."""
    import subprocess
    import sys

    try:
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", _CHECK_TABLE,
                               str(hostile_world)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("`graphlink check` needs more than 120 s to print a table holding a "
                    "10,000-character value")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_check_table_wraps_long_values_quickly(check_table):
    assert not _controls(check_table)


def test_tables_have_no_bidi_overrides():
    from graphlink.reports.report import Report, render

    rows = [{"shop_id": "S1", "name": "rtl\u202eevil"}]
    assert "\u202e" not in render(Report("t", {"schema": "t/1"}, rows), "table")


@pytest.mark.parametrize("report", ["check", "clusters", "signups", "factories", "spotcheck"])
def test_json_is_valid_and_matches_its_schema(outputs, report):
    payload = json.loads(outputs[report, "json"])
    jsonschema.validate(payload, load_schema(report))


def test_json_round_trips_hostile_values(outputs, hostile_analysis):
    payload = json.loads(outputs["check", "json"])
    holders = {h["value"] for h in payload["hubs"] if h["kind"] == "holder_name"}
    assert {"bel\x07byte", "rtl\u202eevil", "<script>alert(1)</script>"} & holders


# --- the command line and its errors -----------------------------------------------------------


def test_the_cli_writes_safe_output(hostile_world, tmp_path):
    html = tmp_path / "factories.html"
    result = CliRunner().invoke(cli, ["report", "factories", str(hostile_world), "--format",
                                      "html", "--output", str(html), "-q"])
    assert result.exit_code == 0, result.output
    assert "<script>alert(1)" not in html.read_text(encoding="utf-8")
    table = CliRunner().invoke(cli, ["clusters", str(hostile_world), "-q"])
    assert table.exit_code == 0 and not _controls(table.output)


def test_error_messages_quote_hostile_values_safely(tmp_path):
    files = dict(BASE, **{"shops.csv": BASE["shops.csv"] + "S4,x,2025-01-01,\x1b]0;pwn\x07,,,,\n"})
    folder = write_dataset(tmp_path / "ds", files)
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == 1
    assert not _controls(result.stderr.replace("\n", ""))
    assert "\\x1b]0;pwn\\x07" in result.stderr  # shown, escaped


# --- Neo4j ------------------------------------------------------------------------------------


@pytest.fixture
def neo4j_lock():
    with open(Path(tempfile.gettempdir()) / "graphlink-neo4j-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _push_and_read(analysis, settings, driver):
    from graphlink import neo4j as gn

    conn = {"uri": settings.uri, "user": settings.user, "password": settings.password}
    gn.clear(**conn)
    summary = gn.push(analysis, **conn)
    with driver.session() as session:
        names = {r["shop_id"]: r["name"] for r in session.run(
            "MATCH (s:Shop) RETURN s.shop_id AS shop_id, s.name AS name")}
        total = session.run("MATCH (n) WHERE n:Shop OR n:Account OR n:Identifier "
                            "RETURN count(n) AS n").single()["n"]
        texts = [json.dumps(r["p"], ensure_ascii=False, default=str) for r in session.run(
            "MATCH (n) RETURN properties(n) AS p UNION ALL MATCH ()-[r]->() "
            "RETURN properties(r) AS p")]
    return summary, names, total, "\n".join(texts)


def test_neo4j_round_trip(neo4j_driver, neo4j_settings, neo4j_lock, tmp_path):
    """Hostile values (the long one cut to 1,000 characters, see the next test) are stored
    as data, run nothing, and pushed pseudonymised leave no PII in clear."""
    from test_pii import _clear_values, _leaks

    world = make_hostile_world(tmp_path / "world", longest=1000)
    analysis = gl.analyse(world, pseudonymise=KEY)
    summary, names, total, texts = _push_and_read(analysis, neo4j_settings, neo4j_driver)
    expected = dict(zip(analysis.dataset.shops["shop_id"], analysis.dataset.shops["name"],
                        strict=True))
    assert names == expected  # every hostile name stored as data, exactly
    assert total == sum(summary.nodes[k] for k in ("Shop", "Account", "Identifier"))
    assert not _leaks(texts, _clear_values(world))


def test_neo4j_push_survives_a_10000_character_value(neo4j_driver, neo4j_settings, neo4j_lock,
                                                     hostile_analysis):
    """A 10,000-character address and holder name (over Neo4j's ~8 KB index key limit)
    are pushed: identifiers are keyed by a bounded key, the full value kept unindexed."""
    summary, names, total, _ = _push_and_read(hostile_analysis, neo4j_settings, neo4j_driver)
    assert "A" * 10_000 in names.values()
    assert total == sum(summary.nodes[k] for k in ("Shop", "Account", "Identifier"))
    with neo4j_driver.session() as session:
        long = session.run("MATCH (i:Identifier) WHERE size(i.value) >= 10000 "
                           "RETURN i.kind AS kind, i.key AS key, i.value AS value").data()
    assert {r["kind"] for r in long} >= {"address", "holder_name"}
    for r in long:
        assert r["key"] == f"{r['kind']}:sha256:" + hashlib.sha256(
            r["value"].encode("utf-8")).hexdigest()


LONG_ID = "S" + "9" * 9_999  # shop, account and device ids and a phone over the index limit


def _long_id_world(folder: Path) -> Path:
    """Two shops with 10,000-character ids (so their operator and community ids are as
    long) sharing a 10,000-character device id and a card; one is banned."""
    other = "S" + "8" * 9_999
    files = {
        "shops.csv": ("shop_id,name,created_at,status,banned_at\n"
                      f"{LONG_ID},banned shop,2025-01-02,banned,2025-06-01\n"
                      f"{other},new shop,2025-07-01,active,\n"
                      "S3,short id,2025-07-02,active,\n"),
        "accounts.csv": ("account_id,shop_id,holder_name,phone,email\n"
                         f"A{LONG_ID},{LONG_ID},张伟,{'1' * 10_000},zw@qq.com\n"
                         f"A{other},{other},张伟,13900139000,\n"
                         "A3,S3,王芳,,\n"),
        "devices.csv": ("account_id,device_id,seen_at\n"
                        f"A{LONG_ID},D{'7' * 9_999},2025-03-01\n"
                        f"A{other},D{'7' * 9_999},2025-07-02\n"),
        "payments.csv": ("shop_id,endpoint,first_seen\n"
                         f"{LONG_ID},6222021234567891234,2025-01-02\n"
                         f"{other},6222021234567891234,2025-07-01\n"),
    }
    return write_dataset(folder, files)


def test_neo4j_push_survives_10000_character_ids(neo4j_driver, neo4j_settings, neo4j_lock,
                                                 tmp_path):
    """Shop, account and device ids are written by whoever shapes the export: a
    10,000-character id pushes, round-trips, and the named queries find it."""
    from graphlink import neo4j as gn

    analysis = gl.analyse(_long_id_world(tmp_path / "ds"))
    other = "S" + "8" * 9_999
    assert analysis.clusters().set_index("shop_id").loc[other, "operator_id"] == "OP-" + other
    summary, names, total, _ = _push_and_read(analysis, neo4j_settings, neo4j_driver)
    assert set(names) == {LONG_ID, other, "S3"}
    assert summary.nodes["Shop"] == 3 and summary.nodes["Account"] == 3
    assert total == sum(summary.nodes[k] for k in ("Shop", "Account", "Identifier"))
    conn = {"uri": neo4j_settings.uri, "user": neo4j_settings.user,
            "password": neo4j_settings.password}
    shared = gn.run_query("shared_with_banned", {"kinds": ["device", "payment"]}, **conn)
    assert set(shared["shop_id"]) == {other} and set(shared["banned_shop_id"]) == {LONG_ID}
    assert set(shared["kind"]) == {"device", "payment"}
    footprint = gn.run_query("operator_footprint", {"operator": other, "limit": 50}, **conn)
    assert set(footprint["shop_id"]) == {LONG_ID, other}
    path = gn.run_query("evidence_path", {"shop_a": LONG_ID, "shop_b": other}, **conn)
    assert len(path) and path["direct_p"].notna().all()
    reappearing = gn.run_query("banned_reappearing", {"since": "2025-01-01"}, **conn)
    assert list(reappearing["banned_shop_id"]) == [LONG_ID]
