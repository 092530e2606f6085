"""Shared text helpers of the normalisers: coercion of any input to text, control
characters, folding (case, width, diacritics), traditional -> simplified Chinese,
the memo of short inputs, and :func:`plain_text` / :func:`has_hanzi`.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

_CACHE_SIZE = 1 << 21  # per normaliser; above 65,536 a 100k-shop world thrashed the cache
_CACHE_MAX_LEN = 512  # longer inputs are not memoised (memory)

_HANZI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANZI_RE = re.compile(f"[{_HANZI}]")
_NOT_HANZI_RE = re.compile(f"[^{_HANZI}]+")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
# letters that NFKD does not decompose into base letter + mark
_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i",
     "ħ": "h", "ŧ": "t", "ŋ": "n", "ſ": "s"}
)


def _text(raw: object) -> str | None:
    """Coerce a cell value to text, or None for missing/unsupported values."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, numbers.Integral):  # int, numpy.int64
        return str(int(raw))
    if isinstance(raw, numbers.Real) and math.isfinite(raw) and float(raw).is_integer():
        return str(int(raw))  # 13800138000.0 from a float column
    return None


def _strip_controls(s: str) -> str:
    """Drop control, format, surrogate and unassigned characters; whitespace -> space."""
    if s.isprintable():
        return s
    return "".join(
        " " if ch.isspace() else ch
        for ch in s
        if ch.isspace() or unicodedata.category(ch) not in _DROP_CATEGORIES
    )


def _fixpoint(fn: Callable[[str], str], s: str, rounds: int = 4) -> str:
    """Apply ``fn`` until the value stops changing (Unicode steps compose badly)."""
    for _ in range(rounds):
        t = fn(s)
        if t == s:
            return t
        s = t
    return s


def _fold_once(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).translate(_LETTERS)
    return _strip_controls(unicodedata.normalize("NFKC", s))


# text made only of these is already folded
_FOLDED = re.compile("[\x20-\x40\x5b-\x7e\u4e00-\u9fff]*")


def _fold(s: str) -> str:
    """NFKC, case-fold, strip diacritics and invisible characters."""
    s = _strip_controls(s)
    if s.isascii():
        return s.lower()
    if _FOLDED.fullmatch(s):
        return s
    return _fixpoint(_fold_once, s)


_OPENCC = None


def _t2s_once(s: str) -> str:
    global _OPENCC
    if _OPENCC is None:
        import opencc

        _OPENCC = opencc.OpenCC("t2s")
    return _fold(_OPENCC.convert(s))


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str] | None:
    """Characters OpenCC's t2s converts (None: unknown, always convert)."""
    try:
        import opencc

        path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
        return frozenset(line.split("\t", 1)[0] for line in path.read_text("utf-8").splitlines())
    except Exception:  # a differently packaged OpenCC: convert every Hanzi string
        return None


def _simplify(s: str) -> str:
    """Traditional to simplified Chinese; skipped for text without traditional characters."""
    if not _HANZI_RE.search(s):
        return s
    traditional = _traditional_chars()
    if traditional is not None and traditional.isdisjoint(s):
        return s
    return _fixpoint(_t2s_once, s)


def _call(cached: Callable[[str], object], fn: Callable[[str], object], raw: object):
    """Coerce ``raw`` to text and run ``fn``, memoised for short inputs."""
    s = _text(raw)
    if s is None:
        return None
    return cached(s) if len(s) <= _CACHE_MAX_LEN else fn(s)


def _cache(fn: Callable[[str], object]) -> Callable[[str], object]:
    return lru_cache(maxsize=_CACHE_SIZE)(fn)


def _plain_text(s: str) -> str | None:
    return " ".join(_latin_tokens(_simplify(_fold(s)))) or None


def plain_text(raw: object) -> str | None:
    """Generic folded text: case, width, diacritics, script variant and punctuation gone.

    >>> plain_text("  Nike 耐克 (官方) 旗艦店! "), plain_text("Café-Bar"), plain_text("...")
    ('nike 耐克 官方 旗舰店', 'cafe bar', None)
    """
    return _call(_plain_text_cached, _plain_text, raw)


def has_hanzi(s: str | None) -> bool:
    """True when ``s`` holds at least one Chinese character.

    >>> has_hanzi("Nike 耐克"), has_hanzi("Nike"), has_hanzi(None)
    (True, False, False)
    """
    return bool(s) and _HANZI_RE.search(s) is not None


def _latin_tokens(s: str) -> list[str]:
    """Word tokens of folded text; apostrophes join (O'Brien -> obrien)."""
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", s)).split()
_plain_text_cached = _cache(_plain_text)
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|\{[^{}]*\}")


def _drop_brackets(s: str) -> str:
    """Remove bracketed parts, unless nothing would be left."""
    t = _fixpoint(lambda x: _BRACKETS.sub(" ", x), s, rounds=8)
    return t if _NON_WORD.sub("", t) else s
