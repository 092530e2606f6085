"""Text made safe to show: terminal, spreadsheet and HTML neutralising, widths, clipping.

Every renderer (table, CSV, HTML, figures) and every piece of evidence text
goes through here, so that a shop name written by the people under
investigation cannot colour a terminal, run as a spreadsheet formula or
reorder a line with bidi controls. Standard library only: any module may
import it.

>>> safe_terminal("ok\\x1b[31mred"), safe_spreadsheet("=1+1"), clip("文一西路998号", 8) + "|"
('okred', "'=1+1", '文一西… |')
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["BIDI_CONTROLS", "safe_terminal", "strip_bidi", "safe_spreadsheet", "display_width",
           "clip", "wrap", "short"]

#: Unicode bidirectional controls: marks (LRM, RLM, ALM), embeddings and overrides
#: (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI). In a value they
#: can reorder the text after them on the line ("Trojan source"); every text
#: renderer (table, HTML, figures) removes them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI sequences (colours, cursor moves)
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC sequences (titles, hyperlinks)
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # other control characters, ESC included
    f"|{_BIDI.pattern}"  # bidi controls: would reorder the line
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_terminal(text: str) -> str:
    """Remove terminal control sequences, control characters and bidi controls.

    >>> safe_terminal("ok\\x1b[31mred\\x07")
    'okred'
    """
    return _CONTROL.sub("", text)


def strip_bidi(text: str) -> str:
    """Remove the bidi controls of :data:`BIDI_CONTROLS` (for HTML, where the
    other control characters are harmless).

    >>> strip_bidi("rtl\\u202eevil \\u2067x\\u2069")
    'rtlevil x'
    """
    return _BIDI.sub("", text)


def safe_spreadsheet(text: str) -> str:
    """Neutralise a cell a spreadsheet would evaluate as a formula.

    >>> safe_spreadsheet("=HYPERLINK(1)"), safe_spreadsheet("-3"), safe_spreadsheet("S1")
    ("'=HYPERLINK(1)", "'-3", 'S1')
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters take two.

    >>> display_width("S1"), display_width("张伟"), display_width("ｶ")
    (2, 4, 1)
    """
    if text.isascii():  # no ASCII character is wide: a flag, no look-up per character
        return len(text)
    return len(text) + sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (with ``…``) and padded to it.

    >>> clip("文一西路998号", 8) + "|"
    '文一西… |'
    """
    if display_width(text) > width:
        out, used = "", 1
        for ch in text:
            used += display_width(ch)
            if used > width:
                break
            out += ch
        text = out + "…"
    return text + " " * (width - display_width(text))


def _cut_at(text: str, width: int) -> int:
    """The longest prefix of ``text`` that fits ``width`` columns (at least one character).

    >>> _cut_at("abcdef", 4), _cut_at("大道460号", 5)
    (4, 3)
    """
    total = 0
    for i, char in enumerate(text):
        total += display_width(char)
        if total > width:
            return max(i, 1)
    return len(text)


def wrap(text: str, width: int, indent: str = "  ") -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` terminal columns.

    >>> wrap("shared by 20 shops: address 浙江省温州市瓯海区车站大道460号", 24)
    ['shared by 20 shops:', '  address', '  浙江省温州市瓯海区车站', '  大道460号']
    """
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else (indent if lines else "") + word
        if display_width(candidate) <= width or not line.strip():
            line = candidate
        else:
            lines.append(line)
            line = indent + word
        while display_width(line) > width > len(indent) + 1:  # a word wider than a line
            cut = _cut_at(line, width)
            lines.append(line[:cut])
            line = indent + line[cut:]
    lines.append(line)
    return lines


def short(text: object, width: int, tail: bool = False) -> str:
    """``text`` within ``width`` terminal columns, cut with ``…`` (at the start if ``tail``),
    without control characters and bidi controls (they would reorder a label)."""
    text = " ".join(safe_terminal(str(text)).split())
    if display_width(text) <= width:
        return text
    chars = list(reversed(text)) if tail else list(text)
    out, used = [], 1
    for ch in chars:
        used += display_width(ch)
        if used > width:
            break
        out.append(ch)
    return "…" + "".join(reversed(out)) if tail else "".join(out) + "…"
