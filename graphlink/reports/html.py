"""Self-contained HTML reports: one file to open in a browser or send to a colleague.

:func:`render_html` turns any :class:`graphlink.reports.report.Report` into one HTML
page: a summary, the report's rows as a sortable, filterable table, and,
for the sign-up and factory reports, a section per flagged shop or factory
with its evidence and figures. When the report carries its page data
(``report.page``, a :class:`graphlink.reports.pagedata.Page` computed by the
``*_report`` builders of :mod:`graphlink.reports.payloads`), figures are drawn from it as
inline SVG (:mod:`graphlink.reports.svg`: text stays text, milliseconds a figure, no
matplotlib); at most ``MAX_FIGURES`` detailed figures per report. This module
renders data: it never calls the analysis.

Some figures need only the report's data: a flagged sign-up whose best match
carries a ``waterfall`` (the match weight step by step) shows it as a chart
and a small table, and a report whose payload has ``levels`` with ``m`` and
``u`` (``graphlink model show``) gets the model chart (matplotlib, as a PNG
``data:`` URI: one chart per page). These are drawn with or without the page
data.

Everything is inline (CSS, a few lines of JavaScript, SVG figures, images):
the page loads nothing from anywhere, and its Content-Security-Policy says so
(``default-src 'none'``, the script and style allowed by their hashes, images
only from ``data:``; the SVG figures use presentation attributes, no inline
style). Every value is HTML-escaped: shop names are written by the people
under investigation, and bidi controls are removed from it.

>>> from graphlink.reports.report import Report
>>> page = render_html(Report("t", {"schema": "x/1"}, [{"name": "<script>alert(1)</script>"}]))
>>> "<script>alert(1)" in page, "&lt;script&gt;alert(1)&lt;/script&gt;" in page
(False, True)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import operator
import re
from collections import Counter

from graphlink import __version__
from graphlink.core.safetext import BIDI_CONTROLS
from graphlink.reports import svg
from graphlink.reports.outputs import Rows
from graphlink.reports.pagedata import MAX_FIGURES, figured_signups, mapped_factories

__all__ = ["render_html", "MAX_FIGURES"]

_CSS = """
:root{--ink:#1d2630;--muted:#5d6d7e;--line:#d5dbe1;--bg:#f6f8fa;--high:#c0392b;
--medium:#e67e22;--low:#d4ac0d;--none:#95a5a6;--banned:#c0392b}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC",
"Microsoft YaHei",sans-serif}
header{background:#1f4e79;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:12px}
main{padding:8px 28px 40px;max-width:1500px}
h2{margin:28px 0 10px;font-size:18px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin:0 0 6px;font-size:15px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 14px;
min-width:120px}
.card b{display:block;font-size:20px}
.card span{color:var(--muted);font-size:12px}
.notes p{margin:2px 0;color:var(--muted)}
.flag{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;
font-weight:600}
.flag-high{background:var(--high)}.flag-medium{background:var(--medium)}
.flag-low{background:var(--low)}.flag-none{background:var(--none)}
.banned{color:var(--banned);font-weight:600}
.item{border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:12px 0}
.item ul{margin:4px 0 8px;padding-left:20px}
.item li{margin:2px 0}
.muted{color:var(--muted)}
figure{margin:10px 0}
figure img,figure svg{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;
display:block;margin:4px 0}
figure svg text{font-family:inherit}
figcaption{color:var(--muted);font-size:12px}
.steps{display:table;border-collapse:collapse;font-size:12px;margin:6px 0 10px}
.steps>div{display:table-row}
.steps>div>span{display:table-cell;border:1px solid var(--line);padding:2px 8px}
.steps>div:first-child>span{background:var(--bg);font-weight:600}
.steps>div:last-child>span{font-weight:600}
.steps span.num{text-align:right;font-variant-numeric:tabular-nums}
.steps .up{color:#1e8449}.steps .down{color:#c0392b}
.tools{margin:8px 0}
.tools input{padding:4px 8px;width:280px;border:1px solid var(--line);border-radius:4px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
td{max-width:48em;overflow-wrap:anywhere}
th{background:var(--bg);position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fbfcfd}
"""

# Sortable tables (click a header; numbers sort as numbers), a row filter, and a
# mark on every image saying whether it loaded (img.dataset.loaded) and on every SVG
# figure whether the browser drew it (svg.dataset.drawn).
_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('aria-sort')!=='ascending';
      t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      var key=function(r){var c=r.cells[i];return c?c.getAttribute('data-v')||c.textContent:''};
      var num=rows.every(function(r){var k=key(r);return k===''||!isNaN(Number(k))});
      rows.sort(function(a,b){var x=key(a),y=key(b);
        var d=num?(Number(x)||0)-(Number(y)||0):x.localeCompare(y);return asc?d:-d});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
document.querySelectorAll('input[data-filter]').forEach(function(inp){
  var t=document.getElementById(inp.getAttribute('data-filter'));
  inp.addEventListener('input',function(){var q=inp.value.toLowerCase();
    Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
      r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':''})});
});
window.addEventListener('load',function(){
  document.querySelectorAll('img').forEach(function(img){
    img.dataset.loaded=img.complete&&img.naturalWidth>0?'yes':'no'});
  document.querySelectorAll('svg').forEach(function(svg){var b=svg.getBBox();
    svg.dataset.drawn=b.width>0&&b.height>0?'yes':'no'});
  document.body.dataset.ready='yes';
});
"""


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def esc(value: object) -> str:
    """Text for HTML content or a quoted attribute, without bidi controls.

    Every text of the page goes through here. Bidi controls
    (:data:`graphlink.core.safetext.BIDI_CONTROLS`) are removed: a shop name with a
    right-to-left override would otherwise show the rest of its line reversed.

    >>> esc('"><img src=x onerror=alert(1)>')
    '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
    >>> esc("rtl\u202eevil")
    'rtlevil'
    """
    text = value if type(value) is str else _text(value)
    # rare: a search is cheaper than a substitution; none in ASCII text (a flag, no scan)
    if not text.isascii() and _BIDI.search(text):
        text = _BIDI.sub("", text)
    # html.escape(text, quote=True), without its call
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;").replace("'", "&#x27;")


_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _number_text(value: float) -> str:
    """A float as the page writes it: four decimals at most, none of them trailing zeros.

    >>> _number_text(0.5), _number_text(0.12345), _number_text(3.0), _number_text(math.nan)
    ('0.5', '0.1235', '3', '')
    """
    if not math.isfinite(value):
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _png(fig) -> str:
    """A matplotlib figure as a data: URI (palette PNG, base64)."""
    from graphlink.reports.plot import to_png

    return "data:image/png;base64," + base64.b64encode(to_png(fig, colours=128)).decode("ascii")


def _figure(fig, caption: str, alt: str) -> str:
    """An embedded matplotlib figure (the model chart)."""
    return (f'<figure><img src="{_png(fig)}" alt="{esc(alt)}" loading="eager">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _svg_figure(figures: list[str], caption: str) -> str:
    """Inline SVG figures (:mod:`graphlink.reports.svg`) one below the other, with a caption."""
    return f"<figure>{''.join(figures)}<figcaption>{esc(caption)}</figcaption></figure>"


def _flag(flag: str) -> str:
    name = flag if flag in ("high", "medium", "low", "none") else "none"
    return f'<span class="flag flag-{name}">{esc(flag)}</span>'


def _cards(items: list[tuple[str, object]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items
    ) + "</div>"


def _table(report, table_id: str = "rows") -> str:
    """The rows table of a page (:func:`_table_parts` joined)."""
    return "".join(_table_parts(report, table_id))


def _table_parts(report, table_id: str = "rows") -> list[str]:
    """The rows table of a page in parts: the tools and head, the body (a clusters
    report's is one text of 18 MB, kept apart: the page is written part by part, never
    copied whole), the end.

    >>> from graphlink.reports.report import Report
    >>> _table_parts(Report("t", {}, [{"a": "x"}]))[1:]
    ['<tr><td>x</td></tr>', '</tbody></table></div>']
    """
    header = report.header()
    if not report.rows:
        body = [""]
    elif not header:
        body = ["<tr></tr>" * len(report.rows)]
    elif "flag" not in header and (text := _text_body(report.rows, header)) is not None:
        body = text  # every cell text (a clusters report): escaped and placed at once
    else:  # one join for the whole body: a report's table has 100,000s of cells
        values = [[row.get(c) for row in report.rows] for c in header]
        columns = [_column(v, c == "flag") for c, v in zip(header, values, strict=True)]
        body = ["<tr>" + "</tr><tr>".join(map("".join, zip(*columns, strict=True))) + "</tr>"]
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in header)
    return [f'<div class="tools"><input type="search" placeholder="Filter rows…" '
            f'aria-label="Filter rows" data-filter="{table_id}"> '
            f'<span class="muted">{len(report.rows)} row(s); click a column to sort</span></div>'
            f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}'
            f'</tr></thead><tbody>', *body, "</tbody></table></div>"]


def _text_body(rows: list[dict], header: list[str]) -> list[str] | None:
    """The rows of a table whose every cell is text (a clusters report: 300,000 rows of
    three ids) as parts of 4,096 rows: each joined straight from the rows with markers
    between cells and rows, escaped at once, then the markers put in place; the same
    text as :func:`_column`'s cells joined. None when a cell is missing or not text
    (``str.join`` refuses it), or holds a marker. Parts, not one text: the page is
    written part by part, and parts of a few hundred kB reuse the memory the previous
    one freed (one 18 MB text and its copies were 20,000 page faults).

    >>> "".join(_text_body([{"a": "S1", "b": "O1"}, {"a": "S<2>", "b": "O2"}], ["a", "b"]))
    '<tr><td>S1</td><td>O1</td></tr><tr><td>S&lt;2&gt;</td><td>O2</td></tr>'
    >>> _text_body([{"a": "S1", "b": 0.5}], ["a", "b"]) is None
    True
    """
    cells = operator.itemgetter(*header)
    # rows made from columns (outputs.Rows): the cells read from the columns, no dicts made
    columns = [rows.columns[c] for c in header] if isinstance(rows, Rows) and all(
        c in rows.columns for c in header) else None
    parts = []
    for start in range(0, len(rows), _BODY_ROWS):
        stop = min(start + _BODY_ROWS, len(rows))
        # a row's cells: a tuple of the columns' values, or its dict's values by the header
        batch = zip(*(c[start:stop] for c in columns), strict=True) if columns is not None \
            else map(cells, rows[start:stop])
        try:  # one pass over the rows, no column lists
            if len(header) == 1:
                joined = "\x01".join(v for (v,) in batch) if columns is not None else \
                    "\x01".join(batch)
            else:
                joined = "\x01".join(map("\x00".join, batch))
        except (KeyError, TypeError, ValueError):
            return None
        if joined.count("\x00") != (stop - start) * (len(header) - 1) or \
                joined.count("\x01") != stop - start - 1:
            return None
        parts.append("<tr><td>" + esc(joined).replace("\x00", "</td><td>").replace(
            "\x01", "</td></tr><tr><td>") + "</td></tr>")
    return parts


_BODY_ROWS = 4096


def _column(values: list, flag: bool) -> list[str]:
    """The cells of one column of the rows table: numbers sort as numbers, a flag as its
    badge, everything escaped as :func:`esc` does (the column's texts are escaped as one
    string: a report's table has 100,000s of cells).

    >>> _column([0.5, "<b>", None, True], False)
    ['<td class="num" data-v="0.5">0.5</td>', '<td>&lt;b&gt;</td>', '<td></td>', '<td>True</td>']
    >>> _column(["high"], True)
    ['<td data-v="high"><span class="flag flag-high">high</span></td>']
    """
    types = set(map(type, values))
    if types == {float}:  # a score column: each distinct number formatted once
        memo = {v: _number_text(v) for v in set(values)}
        zero = {True: _number_text(-0.0), False: _number_text(0.0)}  # 0.0 and -0.0 apart
        texts = [memo[v] if v else zero[math.copysign(1.0, v) < 0] for v in values]
    else:
        texts = [v if type(v) is str else _text(v) for v in values]
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1:  # no value holds the separator
        escaped = esc(joined).split("\x00") if texts else []
    else:
        escaped = [esc(t) for t in texts]
    if types <= {str} and not flag:  # the common columns, without a test per cell
        return [f"<td>{text}</td>" for text in escaped]
    if types <= {int, float}:
        return [f'<td class="num" data-v="{text}">{text}</td>' for text in escaped]
    if types <= {str}:  # a flag column
        return [f'<td data-v="{text}"><span class="flag flag-'
                f'{value if value in _FLAGS else "none"}">{text}</span></td>'
                for value, text in zip(values, escaped, strict=True)]
    cells = []
    for value, text in zip(values, escaped, strict=True):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            cells.append(f'<td class="num" data-v="{text}">{text}</td>')
        elif flag and isinstance(value, str):
            name = value if value in _FLAGS else "none"
            cells.append(f'<td data-v="{text}"><span class="flag flag-{name}">{text}</span></td>')
        else:
            cells.append(f"<td>{text}</td>")
    return cells


_FLAGS = frozenset(("high", "medium", "low", "none"))


def _summary(report, lists: bool = True) -> list[tuple[str, object]]:
    """Top-level scalar values of the payload, and the lengths of its lists."""
    skip = {"schema", "dataset"}
    items = [(k.replace("_", " "), v) for k, v in report.payload.items()
             if k not in skip and isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    if lists:
        items += [(k.replace("_", " "), len(v)) for k, v in report.payload.items()
                  if isinstance(v, (list, Rows))]
    return items


# --- richer sections -----------------------------------------------------------


def _shop(shop_id: str, names: dict) -> str:
    name, status = names.get(shop_id, ("", ""))
    css = ' class="banned"' if status == "banned" else ""
    tag = " (banned)" if status == "banned" else ""
    return f"<span{css}>{esc(shop_id)}</span> {esc(name)}{esc(tag)}"


def _waterfall_steps(steps: list[dict]) -> str:
    """A match's waterfall as a small table (div rows: the page's one table is the data).

    >>> html = _waterfall_steps([{"comparison": "prior", "level": "reuse", "log2_bf": -9.0,
    ...                           "bayes_factor": 0.002, "tf_adjustment": 1.0},
    ...                          {"comparison": "device", "level": "exact", "log2_bf": 12.5,
    ...                           "bayes_factor": 5800.0, "tf_adjustment": 1.0}])
    >>> "match weight" in html and "+3.50" in html and "0.919" in html
    True
    """
    from graphlink.reports.svg import probability_text

    rows = [_STEPS_HEAD]
    weight = 0.0
    for step in steps:
        log2 = _float(step.get("log2_bf"))
        weight += log2
        cells = (step.get("comparison"), step.get("level"), step.get("bayes_factor"),
                 step.get("tf_adjustment"))
        try:  # a match's steps recur across a page's waterfalls: each row's cells once
            head = _step_cells(*cells)
        except TypeError:  # an unhashable value
            head = _step_cells.__wrapped__(*cells)
        # log2 outside the cache: -0.0 and 0.0 are one key there but print apart
        sign = "up" if log2 >= 0 else "down"
        rows.append(f'{head}<span role="cell" class="num {sign}">{log2:+.2f}</span>'
                    f'<span role="cell" class="num">{weight:+.2f}</span></div>')
    rows.append('<div role="row"><span role="cell">match weight</span>'
                f'<span role="cell">probability {esc(probability_text(weight))}</span>'
                '<span role="cell"></span><span role="cell"></span><span role="cell"></span>'
                f'<span role="cell" class="num">{weight:+.2f}</span></div>')
    return f'<div class="steps" role="table" aria-label="match weight steps">{"".join(rows)}</div>'


@functools.lru_cache(maxsize=4096, typed=True)
def _step_cells(comparison: object, level: object, bayes_factor: object,
                tf_adjustment: object) -> str:
    """A waterfall step's row up to its log2 (:func:`_waterfall_steps`)."""
    tf = _float(tf_adjustment, 1.0)
    tf_text = "" if tf == 1.0 else f"× {_factor(tf)}"
    return ('<div role="row">'
            f'<span role="cell">{_word(comparison)}</span>'
            f'<span role="cell">{_word(level)}</span>'
            f'<span role="cell" class="num">{_word(_factor(bayes_factor))}'
            f'</span><span role="cell" class="num">{_word(tf_text)}</span>')


_STEPS_HEAD = '<div role="row">' + "".join(
    f'<span role="columnheader">{esc(h)}</span>' for h in (
        "step", "level", "Bayes factor", "frequency adjustment", "log2", "weight so far")
) + "</div>"
#: esc of the words a page repeats (comparison and level names, factors): escaped once
_escaped = functools.lru_cache(maxsize=4096, typed=True)(esc)


def _word(value: object) -> str:
    """:func:`esc` of a value that recurs on a page (remembered).

    >>> _word("a<b"), _word(["x", 1.5])
    ('a&lt;b', 'x; 1.5')
    """
    try:
        return _escaped(value)
    except TypeError:  # unhashable (a list or a dict)
        return esc(value)


def _float(value: object, default: float = 0.0) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return x if math.isfinite(x) else default


def _factor(value: object) -> str:
    """A Bayes factor or adjustment: three significant digits, big ones in full.

    >>> [_factor(x) for x in (40120.0, 52.9, 0.003344, 1e-7, None)]
    ['40,120', '52.9', '0.00334', '1e-07', '']
    """
    x = _float(value, math.nan)
    if math.isnan(x):
        return ""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _signups_sections(report) -> tuple[list, str]:
    signups = report.payload.get("signups", [])
    page = report.page
    counted = Counter(s["flag"] for s in signups)
    flags = {f: counted[f] for f in ("high", "medium", "low", "none")}
    cards = [("sign-ups", len(signups))] + [(f"{f} risk", n) for f, n in flags.items()]
    out = []
    if page is not None:
        out.append(_risk_figure(signups))
    names = page.names if page is not None else {}
    flagged = [s for s in signups if s["flag"] in ("high", "medium")]
    out.append(f"<h2>Flagged sign-ups ({len(flagged)} high or medium)</h2>")
    if not flagged:
        out.append('<p class="muted">No sign-up is tied to a banned shop strongly enough to '
                   "flag.</p>")
    figured = figured_signups(signups, evidence=page is not None)
    figures = _signup_figures([s for s in flagged if s["shop_id"] in set(figured)], page)
    with_figures = sum(_has_figure(s, page) for s in flagged)
    for s in flagged:
        out.append(_signup_section(s, names, figures.get(s["shop_id"], "")))
    if with_figures > len(figured):
        out.append(f'<p class="muted">Figures are drawn for the first {len(figured)} of '
                   f"{with_figures} flagged sign-ups that have one.</p>")
    out.append(_dismissed_section([s for s in signups if s["flag"] not in ("high", "medium")]))
    return cards, "".join(out)


def _risk_figure(signups: list[dict]) -> str:
    """The risk histogram of the report's sign-ups (from the payload)."""
    since = min((str(s["created_at"]) for s in signups if s.get("created_at")), default="")
    chart = svg.risk_histogram([float(s["risk"]) for s in signups],
                               [s["flag"] for s in signups], since[:10])
    return _svg_figure([chart], "Risk of every sign-up in this report; dashed lines are the "
                       "flag thresholds.")


def _has_figure(signup: dict, page) -> bool:
    best = signup["matches"][0] if signup["matches"] else None
    return bool((page is not None and signup["flag"] == "high")
                or (best and best.get("waterfall")))


def _signup_figures(signups: list[dict], page) -> dict[str, str]:
    """The figure markup of each of ``signups`` (shop id -> ``<figure>``)."""
    drawn = {}
    for s in signups:
        best = s["matches"][0] if s["matches"] else None
        steps = best.get("waterfall") if best else None
        graph = page.evidence.get(s["shop_id"]) if page is not None else None
        drawn[s["shop_id"]] = _signup_figure(graph, s, best if steps else None)
    return drawn


def _signup_section(s: dict, names: dict, figure: str) -> str:
    """One flagged sign-up: its matches with evidence and verdicts, its best match's
    waterfall, and its ``figure`` (markup; empty when it has none)."""
    who = _shop(s["shop_id"], names) if names else esc(s["shop_id"])
    out = [f'<section class="item" id="shop-{esc(s["shop_id"])}"><h3>{who} '
           f'{_flag(s["flag"])} risk {esc(s["risk"])}</h3>'
           f'<p class="muted">created {esc(s["created_at"])}, operator '
           f'{esc(s["operator_id"])}, community {esc(s["community_id"])}</p>']
    for m in s["matches"]:
        banned = _shop(m["banned_shop_id"], names) if names else esc(m["banned_shop_id"])
        via = "directly" if m["hops"] == 1 else "through " + " → ".join(
            esc(p) for p in m["path"])
        out.append(f"<p>Tied to banned shop {banned}: score {esc(m['score'])}, {via}</p>"
                   + _verdict_line(m) +
                   "<ul>" + _items([e["detail"] for e in m["evidence"]]) + "</ul>")
    out.extend(_dismissed_line(d) for d in s.get("dismissed", []))
    best = s["matches"][0] if s["matches"] else None
    steps = best.get("waterfall") if best else None
    if steps:
        out.append(f"<p>Match weight of the best match ({esc(best['banned_shop_id'])}), "
                   "step by step:</p>" + _waterfall_steps(steps))
    out.append(figure)
    out.append("</section>")
    return "".join(out)


def _items(texts: list) -> str:
    """``<li>`` items of ``texts``, escaped (as one string when no text holds a NUL).

    >>> _items(["a <b>", "c"]), _items([])
    ('<li>a &lt;b&gt;</li><li>c</li>', '')
    """
    if not texts:
        return ""
    joined = "\x00".join(t if type(t) is str else _text(t) for t in texts)
    if joined.count("\x00") != len(texts) - 1:
        return "".join(f"<li>{esc(t)}</li>" for t in texts)
    return "<li>" + esc(joined).replace("\x00", "</li><li>") + "</li>"


def _verdict_line(match: dict) -> str:
    """An analyst's verdict on a match (issue 20), with what is new since a dismissal."""
    v = match.get("verdict")
    if not v:
        return ""
    who = f"{esc(v['verdict'])} by {esc(v['by'])} on {esc(v['at'])} (run {esc(v['run'])})"
    note = f": {esc(v['note'])}" if v.get("note") else ""
    new = match.get("new_evidence")
    if new:
        return (f'<p class="verdict">{who}{note}; <strong>flagged again</strong>, new evidence '
                "since: " + "; ".join(esc(e["detail"]) for e in new) + "</p>")
    return f'<p class="verdict">Analyst verdict: {who}{note}</p>'


def _dismissed_line(d: dict) -> str:
    v = d["verdict"]
    return (f'<p class="verdict muted">Match with banned shop {esc(d["banned_shop_id"])} '
            f"(score {esc(d['score'])}) dismissed by {esc(v['by'])} on {esc(v['at'])}"
            + (f": {esc(v['note'])}" if v.get("note") else "") + "; not counted</p>")


def _dismissed_section(signups: list[dict]) -> str:
    """Sign-ups quiet because an analyst dismissed their matches (none: nothing)."""
    quiet = [s for s in signups if s.get("dismissed")]
    if not quiet:
        return ""
    out = [f"<h2>Dismissed by analysts ({len(quiet)} sign-ups)</h2>"]
    for s in quiet:
        out.append(f"<p><strong>{esc(s['shop_id'])}</strong> {_flag(s['flag'])}</p>")
        out.extend(_dismissed_line(d) for d in s["dismissed"])
    return "".join(out)


def _signup_figure(graph, signup: dict, best: dict | None) -> str:
    """One figure for a flagged sign-up: its evidence graph (from the page data, high
    flags), then its best match's waterfall (from the record alone)."""
    shop = signup["shop_id"]
    figs, captions = [], []
    if graph is not None:
        figs.append(svg.evidence(graph))
        captions.append(f"Evidence around {shop}: its identifiers and the shops they tie it to.")
    if best is not None:
        banned = best["banned_shop_id"]
        figs.append(svg.waterfall(best["waterfall"], title=f"{shop} and banned shop {banned}"))
        captions.append(f"{'Below' if graph is not None else 'The chart'}: how the match "
                        f"weight of {shop} and banned shop {banned} adds up, step by step "
                        "(hatched: lowered because the value is common).")
    return _svg_figure(figs, " ".join(captions))


def _factories_sections(report) -> tuple[list, str]:
    found = report.payload.get("factories", [])
    context = report.payload.get("context", [])
    page = report.page
    names = page.names if page is not None else {}
    places = page.places if page is not None else {}
    mapped = set(mapped_factories(found))
    cards = [("factory leads", len(found)),
             ("shops in them", sum(len(f["shops"]) for f in found)),
             ("banned shops in them", sum(f["banned_shops"] for f in found)),
             ("crowded places kept as context", len(context))]
    out = [f"<h2>Factory leads ({len(found)})</h2>"]
    for f in found:
        shops = ", ".join(_shop(s, names) if names else esc(s) for s in f["shops"])
        radius = f"{f['radius_m']:.0f} m" if isinstance(f.get("radius_m"), (int, float)) else "?"
        out.append(f'<section class="item" id="factory-{esc(f["factory_id"])}">'
                   f'<h3>{esc(f["factory_id"])}: score {esc(f["score"])}</h3>'
                   f'<p>Anchor {esc(f["anchor_address"])} (radius {esc(radius)}); '
                   f'{len(f["shops"])} shops of {esc(f["operators"])} independent operators, '
                   f'{esc(f["banned_shops"])} banned.</p><p class="muted">{shops}</p>')
        out.append(_lead_evidence(f))
        if f["factory_id"] in mapped and f["factory_id"] in places:
            out.append(_svg_figure([svg.factory_map(places[f["factory_id"]])],
                                   f"Dispatch addresses of {f['factory_id']} around its "
                                   "anchor."))
        out.append("</section>")
    out.append(_context_section(context))
    return cards, "".join(out)


def _mini_table(head: tuple[str, ...], rows: list[tuple]) -> str:
    """A small static table (evidence inside one item)."""
    th = "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{esc(v)}</td>' if isinstance(v, (int, float)) and not isinstance(
            v, bool) else f"<td>{esc('' if v is None else v)}</td>" for v in row) + "</tr>"
        for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def _lead_evidence(f: dict) -> str:
    """A lead's reasons, its operators' record and its addresses as written."""
    out = ["<ul>" + "".join(f"<li>{esc(r)}</li>" for r in f.get("reasons", [])) + "</ul>"]
    evidence = f.get("evidence") or {}
    ops = evidence.get("operators", [])
    if ops:
        out.append(_mini_table(
            ("operator", "shops", "signal", "banned", "fake test buys", "genuine test buys",
             "counterfeit disputes", "first seen", "banned on"),
            [(o["operator_id"], " ".join(o["shops"]), o["signal"], o.get("banned_shops"),
              o.get("fake_test_buys"), o.get("genuine_test_buys"),
              o.get("counterfeit_disputes"), o.get("first_seen"), o.get("banned_at"))
             for o in ops]))
    addresses = evidence.get("addresses", [])
    if addresses:
        out.append(_mini_table(("shop", "address as written", "lat", "lon", "metres from centre"),
                               [(a["shop_id"], a["address"], a.get("lat"), a.get("lon"),
                                 a.get("distance_m")) for a in addresses]))
    if f.get("successors"):
        out.append(f'<p class="muted">Registered here after a ban, without any signal (shown, '
                   f'not counted): {esc(", ".join(f["successors"]))}</p>')
    return "".join(out)


def _context_section(context: list[dict]) -> str:
    """Crowded places with flagged tenants among mostly honest ones: never a lead."""
    if not context:
        return ""
    rows = [(c["place_id"], c.get("anchor_address"), c["tenants"], c.get("flagged_operators"),
             c["honest_share"], c["reason"]) for c in context]
    return (f"<h2>Crowded places kept as context ({len(context)})</h2>"
            "<p>Parks, warehouses and towers: several flagged operators among mostly honest "
            "tenants. Not factory leads; their flagged tenants stand on their own record.</p>"
            + _mini_table(("place", "anchor", "tenants", "flagged operators", "honest share",
                           "reason"), rows))


def _clusters_sections(report) -> tuple[list, str]:
    cards = [("shops", len(report.payload.get("shops", [])))]
    if report.page is None or report.page.clusters is None:
        return cards, ""
    return cards, _svg_figure([svg.cluster_sizes(report.page.clusters)],
                              "Operators and communities by size.")


def _levels_figure(report) -> str:
    """The model chart when the payload has ``levels`` with numeric ``m`` and ``u``."""
    levels = report.payload.get("levels")
    if not isinstance(levels, list) or not levels:
        return ""

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0

    if not all(isinstance(r, dict) and number(r.get("m")) and number(r.get("u"))
               for r in levels):
        return ""
    from graphlink.reports import plot

    return ("<h2>Comparison levels</h2>"
            + _figure(plot.model_chart(levels), "m (how often matching pairs agree at the "
                      "level) and u (how often pairs agree by chance) of every comparison level, "
                      "per match mode; the number on the right is log2(m/u), what the level "
                      "adds to a pair's match weight.", "match model chart: m and u per level"))


#: figures drawn from the payload alone, for any report whose data has what they need
_PAYLOAD_FIGURES = (_levels_figure,)

_SECTIONS = {"graphlink.signups/1": _signups_sections,
             "graphlink.factories/1": _factories_sections,
             "graphlink.clusters/1": _clusters_sections}


def render_html(report) -> str:
    """The report as one self-contained HTML page (see the module doc)."""
    return "".join(html_parts(report))


def html_parts(report) -> list[str]:
    """The page of :func:`render_html` in parts, which joined are the page: a file is
    written part by part (the page of a 300,000-shop clusters report is 18 MB of text,
    which the page's assembly and its encoding would otherwise copy three times more).

    >>> from graphlink.reports.report import Report
    >>> parts = html_parts(Report("t", {"schema": "x/1"}, [{"a": "x"}]))
    >>> "".join(parts) == render_html(Report("t", {"schema": "x/1"}, [{"a": "x"}]))
    True
    """
    schema = str(report.payload.get("schema", ""))
    dataset = report.payload.get("dataset")
    meta = " · ".join(x for x in (f"dataset {_text(dataset)}" if dataset else "",
                                  schema, f"graphlink {__version__}") if x)
    notes = "".join(f"<p>{esc(n)}</p>" for n in report.notes if n)
    sections = _SECTIONS.get(schema)
    cards, rich = sections(report) if sections else ([], "")
    rich += "".join(draw(report) for draw in _PAYLOAD_FIGURES)
    cards = _summary(report, lists=not sections) + cards
    csp = (f"default-src 'none'; img-src data:; style-src '{_hash(_CSS)}'; "
           f"script-src '{_hash(_JS)}'; base-uri 'none'; form-action 'none'")
    return ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(report.title)}</title><style>{_CSS}</style></head>"
            f"<body><header><h1>{esc(report.title)}</h1><p>{esc(meta)}</p></header><main>"
            f"<h2>Summary</h2>{_cards(cards)}<div class=\"notes\">{notes}</div>"
            f"{rich}<h2>All rows</h2>", *_table_parts(report),
            f"</main><script>{_JS}</script></body></html>\n"]
