"""Canonical forms for every identifier kind: one pure function per kind.

Every normaliser here is

* **total**: it accepts any ``str`` (hostile text, NUL bytes, lone
  surrogates, megabyte strings), ``None``, ``bytes``, ints and floats (pandas
  turns phone columns into floats) and never raises; it returns ``None`` when
  nothing usable is left;
* **idempotent**: ``f(f(x)) == f(x)`` for the string-returning ones, and
  ``f(f(x).canonical) == f(x)`` (``.value`` for IDs and payments) for the
  ones returning a record;
* **fast**: converters are built once, lazily; the expensive ones are memoised
  with :func:`functools.lru_cache` for short inputs, which repeat a lot.

Design (DESIGN.md idea 3, "fuzzy where people cheat, exact where machines
speak"): machine identifiers (devices, IPs, IDs, card numbers) keep their
exact identity and are only cleaned of formatting; human-typed values
(names, addresses, emails, shop names) are folded to forms that survive the
tricks people use: full-width characters, traditional characters,
diacritics, reordered names, Chinese numerals, dropped provinces.

Decisions worth knowing
-----------------------
* :func:`phone` returns E.164 when ``phonenumbers`` finds a valid or
  possible number; otherwise the cleaned digits (a leading ``+`` kept) when
  5-20 digits remain, so two identical odd values still match exactly; a
  pre-hashed value (32-64 hex characters) is returned lower-cased.
* :func:`person_name` keeps only the Hanzi of a name that has any (so
  ``张伟 (Zhang Wei)`` is ``张伟``).
* :func:`name_pinyin` romanises a Hanzi name the passport way, surname then
  the given name joined (``张小明`` -> ``xiaoming zhang``), then sorts tokens.
  ``Zhang Xiao Ming`` therefore gives a different key; the comparator joins
  tokens and copes, the blocking key does not.
* :func:`address` treats ``N号院`` as the house number ``N号`` (Beijing
  compounds) and ``N号楼/栋/幢/座/#`` as the building; a unit (单元) is kept
  in the room as ``unit-room``; a floor is kept only when no room is given,
  as ``<n>f``, or with a lettered flat (``15楼A室`` -> ``15a``). An address whose
  canonical form would not parse back to itself (only hostile text does
  that) is re-parsed until it does (at most three times).
* Traditional -> simplified conversion (OpenCC ``t2s``) only runs on text
  holding one of OpenCC's traditional characters: it is the slowest step, and
  skipping it also keeps names like 沈默 from becoming 沉默.
* :func:`payment` collapses a masked run to one ``*`` (``6222*1234``): the
  number of mask characters differs between systems and carries no identity.
* 15-character (old) ID numbers are kind ``'other'``: they are ambiguous with
  the old 15-digit business licence numbers.
* Inputs over 512 characters are not memoised. Every step is linear in the
  input: a hostile 100 kB string takes at most about a second.
"""

from __future__ import annotations

import ipaddress
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import phonenumbers

from graphlink.core.privacy import is_hashed

__all__ = [
    "Address",
    "IdNumber",
    "Payment",
    "address",
    "birth_date",
    "remember_addresses",
    "company_name",
    "device",
    "email",
    "email_skeleton",
    "hanzi_name_parts",
    "has_hanzi",
    "id_number",
    "ip",
    "ip_block",
    "name_pinyin",
    "payment",
    "payment_key",
    "person_name",
    "plain_text",
    "phone",
    "pinyin",
    "resident_id_check",
    "shop_name",
    "uscc_check",
]

_CACHE_SIZE = 1 << 21  # per normaliser; above 65,536 a 100k-shop world thrashed the cache
_CACHE_MAX_LEN = 512  # longer inputs are not memoised (memory)

# --------------------------------------------------------------------------
# shared text helpers
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# phone
# --------------------------------------------------------------------------

_CN_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_PHONE_EXT = re.compile(r"(?:ext|x|转|分机|#)", re.IGNORECASE)
_PHONE_SPLIT = re.compile(r"[/,;、|]|\s{3,}")


def _phone_clean(s: str) -> str:
    """First number in the cell, without extension: digits with a leading '+'."""
    s = unicodedata.normalize("NFKC", _strip_controls(s))
    part = next((p for p in _PHONE_SPLIT.split(s) if any(c.isdigit() for c in p)), "")
    part = _PHONE_EXT.split(part, maxsplit=1)[0]
    part = re.sub(r"\.0+\s*$", "", part)  # 13800138000.0 from a float column
    digits = "".join(c for c in part if c.isascii() and c.isdigit())
    return ("+" if part.lstrip(" ([").startswith("+") else "") + digits


def _e164(text: str, region: str) -> tuple[str | None, bool]:
    """E.164 form of a valid (or possible, 7+ digit) number, and whether it is plain.

    Plain: valid and without leading zeros, so it formats back to itself.
    """
    try:
        num = phonenumbers.parse(text, region)
        valid = phonenumbers.is_valid_number(num)
        ok = valid or (
            phonenumbers.is_possible_number(num) and len(str(num.national_number)) >= 7
        )
        if not ok:
            return None, False
        plain = valid and not num.italian_leading_zero
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), plain
    except Exception:  # phonenumbers raises on anything odd
        return None, False


def _phone(s: str, region: str) -> str | None:
    compact = re.sub(r"[\s\-]", "", s).lower()
    if is_hashed(compact):
        return compact
    cleaned = _phone_clean(s)
    if not 5 <= len(cleaned.lstrip("+")) <= 20:
        return None
    if region == "CN" and _CN_MOBILE.fullmatch(cleaned) and _cn_mobile_pattern().fullmatch(
            cleaned[-11:]):
        # most cells are Chinese mobiles: libphonenumber's own mobile pattern says the
        # number is valid, so its E.164 form is +86 and the digits (~100 us saved)
        return "+86" + cleaned[-11:]
    return _phone_slow(cleaned, region)


@lru_cache(maxsize=1)
def _cn_mobile_pattern() -> re.Pattern:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return re.compile(metadata.mobile.national_number_pattern)


def _phone_slow(cleaned: str, region: str) -> str | None:
    e164, plain = _e164(cleaned, region)
    if e164 is None:
        return cleaned
    # odd numbers (leading zeros) can format to another number: keep the digits then
    return e164 if plain or _e164(e164, region)[0] == e164 else cleaned


_phone_cached = lru_cache(maxsize=_CACHE_SIZE)(_phone)


def phone(raw: object, region: str = "CN") -> str | None:
    """Canonical phone number: E.164, or cleaned digits when not a known number.

    Parameters
    ----------
    raw : str or None
        Any common format: spaces, dashes, brackets, full-width digits,
        ``0086``/``86``/``(+86)`` prefixes, an extension (dropped), several
        numbers in one cell (the first is used).
    region : str
        ISO region assumed for numbers written without a country code.

    Returns
    -------
    str or None
        ``'+8613800138000'`` style E.164 when ``phonenumbers`` accepts it as
        valid or possible; else the cleaned digits (a leading ``+`` kept) when
        5-20 digits remain; a 32-64 character hex hash lower-cased; else None.

    Examples
    --------
    >>> phone("+86 138-0013-8000"), phone("(+86)13800138000"), phone("0086 13800138000")
    ('+8613800138000', '+8613800138000', '+8613800138000')
    >>> phone("１３８ ００１３ ８０００")
    '+8613800138000'
    >>> phone("+44 20 7946 0958"), phone("+1 (415) 555-2671")
    ('+442079460958', '+14155552671')
    >>> phone("12345"), phone("call me"), phone(None)
    ('12345', None, None)
    >>> phone("5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8")[:8]
    '5e884898'
    """
    s = _text(raw)
    if s is None or len(s) > 10_000:
        return None
    reg = region.upper() if isinstance(region, str) else "CN"
    return _phone_cached(s, reg) if len(s) <= _CACHE_MAX_LEN else _phone(s, reg)


# --------------------------------------------------------------------------
# email
# --------------------------------------------------------------------------

_AT = re.compile(r"[\[(]\s*at\s*[\])]")  # blanks around are dropped later
_DOT = re.compile(r"[\[(]\s*dot\s*[\])]")
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def _email(s: str) -> str | None:
    s = _fixpoint(lambda x: unicodedata.normalize("NFKC", x).lower(), _strip_controls(s))
    s = _DOT.sub(".", _AT.sub("@", s))
    s = _fixpoint(lambda x: unicodedata.normalize("NFKC", "".join(x.split())), s)
    s = s.strip("<>\"'")
    if s.startswith("mailto:"):
        s = s[len("mailto:"):]
    local, sep, domain = s.rpartition("@")
    domain = domain.strip(".")
    local = local.split("+", 1)[0]
    if not sep or not local or not domain:
        return None
    if domain in _GMAIL:
        domain, local = "gmail.com", local.replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


_email_cached = _cache(_email)


def email(raw: object) -> str | None:
    """Canonical email: lower-case, plus-tag removed, Gmail dots removed.

    Parameters
    ----------
    raw : str or None
        An address; ``mailto:``, angle brackets, blanks, full-width ``＠`` and
        ``[at]``/``(dot)`` obfuscation are tolerated.

    Returns
    -------
    str or None
        ``local@domain``, or None without a usable ``@``.

    Examples
    --------
    >>> email(" Zhang.Wei88+shop@QQ.com ")
    'zhang.wei88@qq.com'
    >>> email("J.O.H.N+spam@googlemail.com")
    'john@gmail.com'
    >>> email("zhangwei [at] 163 [dot] com")
    'zhangwei@163.com'
    >>> email("not an email"), email(None)
    (None, None)
    """
    return _call(_email_cached, _email, raw)


def _email_skeleton(s: str) -> str | None:
    canon = _email(s)
    if canon is not None:
        local = canon.rpartition("@")[0]
    elif "@" in unicodedata.normalize("NFKC", s):
        return None
    else:
        local = _fold(s).split("+", 1)[0]
    skeleton = "".join(ch for ch in _fold(local) if ch.isalpha())
    return skeleton or None


_email_skeleton_cached = _cache(_email_skeleton)


def email_skeleton(raw: object) -> str | None:
    """Local part reduced for fuzzy use: letters only, no digits, dots or plus tag.

    Accepts an email or a bare local part (so it is idempotent). Numeric
    local parts (QQ numbers) have no skeleton: they match exactly or not at all.

    Examples
    --------
    >>> email_skeleton("Zhang.Wei88+shop@qq.com")
    'zhangwei'
    >>> email_skeleton("zhang_wei-2024@163.com"), email_skeleton("zhangwei")
    ('zhangwei', 'zhangwei')
    >>> email_skeleton("12345678@qq.com") is None
    True
    """
    return _call(_email_skeleton_cached, _email_skeleton, raw)


# --------------------------------------------------------------------------
# person names
# --------------------------------------------------------------------------

_TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir madam mme mlle herr frau sra srta".split()
)
_ZH_HONORIFICS = ("先生", "女士", "小姐")


def _latin_tokens(s: str) -> list[str]:
    """Word tokens of folded text; apostrophes join (O'Brien -> obrien)."""
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", s)).split()


def _person_name(s: str) -> str | None:
    s = _drop_brackets(_simplify(_fold(s)))
    if has_hanzi(s):
        han = _NOT_HANZI_RE.sub("", s)
        for title in _ZH_HONORIFICS:
            if han.endswith(title) and len(han) > len(title):
                han = han[: -len(title)]
        return han
    tokens = _latin_tokens(s)
    first = 0
    while first < len(tokens) - 1 and tokens[first] in _TITLES:
        first += 1
    return " ".join(tokens[first:]) or None


_person_name_cached = _cache(_person_name)
_plain_text_cached = _cache(_plain_text)


def person_name(raw: object) -> str | None:
    """Canonical person name.

    Bracketed parts are dropped (a gloss, a branch city). Hanzi names: NFKC,
    traditional -> simplified, only the Hanzi kept (spaces, punctuation, the
    middle dot and a trailing 先生/女士/小姐 dropped). Other
    names: case-folded, diacritics stripped, punctuation to spaces, a leading
    title (Mr, Dr, ...) dropped, tokens kept in order.

    Examples
    --------
    >>> person_name("張 偉"), person_name("张伟（Zhang Wei）"), person_name("买买提·艾力")
    ('张伟', '张伟', '买买提艾力')
    >>> person_name("  María  GARCÍA-López "), person_name("Mr. Seán O'Brien")
    ('maria garcia lopez', 'sean obrien')
    >>> person_name("...") is None
    True
    """
    return _call(_person_name_cached, _person_name, raw)


_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 独孤 "
    "南宫 西门 万俟 闻人 端木 澹台 公冶 宗政 濮阳 太叔 申屠 赫连 拓跋 呼延 司空 第五 单于".split()
)
# surnames whose reading differs from the most common reading of the character
_SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha",
    "区": "ou", "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "秘": "bi", "褚": "chu",
    "缪": "miao", "员": "yun", "折": "she", "种": "chong", "黑": "he", "繁": "po",
    "沈": "shen", "长孙": "zhangsun", "尉迟": "yuchi", "万俟": "moqi", "单于": "chanyu",
}


@lru_cache(maxsize=_CACHE_SIZE)
def _pinyin(han: str) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(_NOT_HANZI_RE.sub("", han), errors="ignore", v_to_u=True)
    return "".join(ch for ch in _fold("".join(syllables)) if ch.isascii() and ch.isalpha())


def pinyin(han: object) -> str:
    """Toneless ASCII pinyin of the Hanzi in ``han``, syllables joined ('' if none).

    >>> pinyin("张伟"), pinyin("吕"), pinyin("Abc"), pinyin(None)
    ('zhangwei', 'lu', '', '')
    """
    s = _text(han)
    if not s or not has_hanzi(s):
        return ""
    return _pinyin(s) if len(s) <= _CACHE_MAX_LEN else _pinyin.__wrapped__(s)


_MAX_NAME_HANZI = 64  # no name is longer; romanising megabytes would take seconds


def hanzi_name_parts(han: object) -> tuple[str, str]:
    """Split a Hanzi name into (surname, given name), both in pinyin.

    Only the first 64 characters are romanised.

    >>> hanzi_name_parts("张小明"), hanzi_name_parts("欧阳娜娜"), hanzi_name_parts("单雄信")
    (('zhang', 'xiaoming'), ('ouyang', 'nana'), ('shan', 'xiongxin'))
    >>> hanzi_name_parts(None)
    ('', '')
    """
    han = _NOT_HANZI_RE.sub("", _text(han) or "")
    cut = 2 if han[:2] in _COMPOUND_SURNAMES and len(han) > 2 else 1
    surname = _SURNAME_READINGS.get(han[:cut]) or pinyin(han[:cut])
    return surname, pinyin(han[cut:_MAX_NAME_HANZI])


def _name_pinyin(s: str) -> str | None:
    name = _person_name_cached(s) if len(s) <= _CACHE_MAX_LEN else _person_name(s)
    if name is None:
        return None
    if has_hanzi(name):
        tokens = [t for t in hanzi_name_parts(name) if t]
    else:  # titles anywhere: sorting must not bring one to the front
        tokens = [t for t in name.split() if t not in _TITLES] or name.split()
    return " ".join(sorted(tokens)) or None


_name_pinyin_cached = _cache(_name_pinyin)


def name_pinyin(raw: object) -> str | None:
    """Script-neutral name key: pinyin surname and given name, tokens sorted.

    Pinyin is many-to-one (张伟, 章伟 and 张玮 are all ``wei zhang``): use it
    for blocking and as weak evidence, never as proof.

    Examples
    --------
    >>> name_pinyin("张伟"), name_pinyin("Zhang Wei"), name_pinyin("WEI ZHANG")
    ('wei zhang', 'wei zhang', 'wei zhang')
    >>> name_pinyin("張小明"), name_pinyin("Xiaoming Zhang"), name_pinyin("吕方")
    ('xiaoming zhang', 'xiaoming zhang', 'fang lu')
    """
    return _call(_name_pinyin_cached, _name_pinyin, raw)


# --------------------------------------------------------------------------
# company and shop names
# --------------------------------------------------------------------------

_ZH_COMPANY = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "总公司", "公司", "集团",
               "商行", "经营部", "工作室")
_ZH_SHOP = _ZH_COMPANY + ("官方旗舰店", "旗舰店", "专卖店", "专营店", "直营店", "官方店",
                          "网店", "小店", "分店", "总店", "店铺", "商城", "商店", "店", "官方")
_LATIN_COMPANY = ("co", "company", "corp", "corporation", "ltd", "limited", "llc", "inc",
                  "incorporated", "plc", "gmbh", "pte", "pty", "sdn", "bhd", "llp")
_LATIN_SHOP = _LATIN_COMPANY + ("store", "shop", "official", "flagship", "online")
# longest first, so that 有限公司 wins over 公司
_ZH_COMPANY = tuple(sorted(_ZH_COMPANY, key=len, reverse=True))
_ZH_SHOP = tuple(sorted(_ZH_SHOP, key=len, reverse=True))
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|\{[^{}]*\}")


def _drop_brackets(s: str) -> str:
    """Remove bracketed parts, unless nothing would be left."""
    t = _fixpoint(lambda x: _BRACKETS.sub(" ", x), s, rounds=8)
    return t if _NON_WORD.sub("", t) else s


def _latin_tail_start(s: str, end: int, latin: tuple[str, ...]) -> int:
    """Where Latin suffix words glued after Hanzi begin ('耐克officialstore' -> 2)."""
    seen, frontier, best = {end}, [end], end
    floor = max(1, end - 200)  # a longer chain of suffix words is not a name
    while frontier:
        stop = frontier.pop()
        for word in latin:
            start = stop - len(word)
            if start >= floor and start not in seen and s.startswith(word, start, stop):
                seen.add(start)
                frontier.append(start)
                if _HANZI_RE.match(s, start - 1):
                    best = min(best, start)
    return best


def _strip_zh_suffixes(s: str, zh: tuple[str, ...], latin: tuple[str, ...]) -> str:
    """Strip legal/store suffixes from a space-free (Hanzi or mixed) name."""
    end = len(s)
    while True:
        cut = _latin_tail_start(s, end, latin)
        hit = next((x for x in zh if s.endswith(x, 0, cut)), "")
        cut = cut - len(hit) if hit and cut > len(hit) else cut
        if cut == end:
            return s[:end]
        end = cut


def _org_name(s: str, zh: tuple[str, ...], latin: tuple[str, ...]) -> str | None:
    s = _drop_brackets(_simplify(_fold(s)))
    tokens = _latin_tokens(s)
    if any(has_hanzi(t) for t in tokens):
        return _strip_zh_suffixes("".join(tokens), zh, latin)
    while len(tokens) > 1 and tokens[-1] in latin:
        tokens.pop()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    return " ".join(tokens) or None


def _company_name(s: str) -> str | None:
    return _org_name(s, _ZH_COMPANY, _LATIN_COMPANY)


def _shop_name(s: str) -> str | None:
    return _org_name(s, _ZH_SHOP, _LATIN_SHOP)


_company_name_cached = _cache(_company_name)
_shop_name_cached = _cache(_shop_name)


def company_name(raw: object) -> str | None:
    """Canonical company name: like :func:`person_name`, legal suffixes stripped.

    Bracketed parts (a branch city such as （杭州）) are removed; Hanzi names
    lose their spaces; mixed names keep their Latin letters. A name that is
    only a suffix (``公司``) is kept as is.

    Examples
    --------
    >>> company_name("杭州 星辰 贸易有限公司"), company_name("星辰貿易（杭州）有限公司")
    ('杭州星辰贸易', '星辰贸易')
    >>> company_name("Acme Trading Co., Ltd."), company_name("The ACME Company, Inc")
    ('acme trading', 'acme')
    >>> company_name("公司")
    '公司'
    """
    return _call(_company_name_cached, _company_name, raw)


def shop_name(raw: object) -> str | None:
    """Canonical shop name: like :func:`company_name` plus store suffixes.

    Examples
    --------
    >>> shop_name("耐克官方旗舰店"), shop_name("【正品】耐克 专卖店")
    ('耐克', '耐克')
    >>> shop_name("耐克 Official Store")
    '耐克'
    >>> shop_name("Nike Official Store"), shop_name("Sneaker-World Shop")
    ('nike', 'sneaker world')
    """
    return _call(_shop_name_cached, _shop_name, raw)


# --------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A normalised dispatch address.

    Attributes
    ----------
    canonical : str
        The full normalised address; ``address(a.canonical) == a``.
    place : str
        Locality, street and house number, without building, unit or room:
        the part that stays the same when a den moves one room down.
    building : str or None
        Canonical building number or letter (``'5'``, ``'a'``).
    room : str or None
        Canonical room: ``'302'``, ``'2-302'`` (unit 2, room 302), ``'3f'``
        (only a floor given), ``'5b'`` (flat 5B).
    script : str
        ``'zh'`` when the address holds Hanzi, else ``'latin'``.
    locality : str
        The area part of ``place``. Chinese: the administrative prefix (city,
        district, town; the province dropped). Latin: what follows the street
        type (``wan chai hong kong``). ``''`` when none was written.
    street : str
        ``place`` without ``locality``: ``文一西路998号``, ``12 harbour rd``.
    """

    canonical: str
    place: str
    building: str | None = None
    room: str | None = None
    script: str = "latin"
    locality: str = ""
    street: str = ""


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMERAL = re.compile(  # the lookbehind makes only a run's start a match start
    "(?<![零〇一二两三四五六七八九十百千])([零〇一二两三四五六七八九十百千]+)"
    "(?=号|栋|幢|座|单元|室|层|楼|房|弄|巷|期|户)")
_CN_TRAILING_NUMERAL = re.compile("(?<=[栋幢座楼元层#])([零〇一二两三四五六七八九十百千]+)$")


def _cn_int(text: str) -> str:
    """Chinese numeral to digits: 五 -> 5, 十二 -> 12, 三〇二 -> 302.

    >>> _cn_int("十二"), _cn_int("三〇二"), _cn_int("一百零五"), _cn_int("二十")
    ('12', '302', '105', '20')
    """
    if not any(ch in _CN_UNITS for ch in text):
        return "".join(str(_CN_DIGITS[ch]) for ch in text)
    total = current = 0
    for ch in text:
        if ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return str(total + current)


_PROVINCES = ("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 "
              "湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 "
              "香港 澳门").split()
_ZH_COUNTRY = re.compile(r"^(?:中华人民共和国|中国)?(?:\d{6}(?!\d))?")
_ZH_PROVINCE = re.compile(
    "^(?:(" + "|".join(_PROVINCES) + ")"
    "(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?"
    "|[\u4e00-\u9fff]{2,3}省)"
)
_ZH_ROADISH = re.compile(r"[东南西北中]?(?:大道|大街|路|街|道|巷|弄|里|\d)")
_ZH_UNIT_RE = re.compile(r"\D{1,12}?(?:自治州|自治县|地区|街道|新区|市|区|县|旗|镇|乡|盟)")
_ZH_MARKER_ID = r"\.?\s*#?\s*(\d+[a-z]?|[a-z]\d*)(?![0-9a-z])"
_ZH_LATIN_MARKERS = (
    (re.compile(r"(?<![0-9a-z])(?:room|rm|unit|apt|flat|suite|ste)" + _ZH_MARKER_ID), r"\1室"),
    (re.compile(r"(?<![0-9a-z])(?:building|bldg|block|blk|tower)" + _ZH_MARKER_ID), r"\1栋"),
    (re.compile(r"(?<![0-9a-z])(?:floor|fl)" + _ZH_MARKER_ID), r"\1层"),
)
_ZH_SLASH_FLOOR = re.compile(r"(?<![0-9a-z])(\d+|g)\s*/\s*f(?![0-9a-z])")
_ID = r"(?<![0-9a-z\-])([0-9a-z]+(?:-[0-9a-z]+)*)"
_ZH_HYPHEN = re.compile(r"(?<=号)(\d+[a-z]?)-(\d+)(?:-(\d+))?(?:室|房)?$")
_ZH_ROOM = re.compile(_ID + "(?:号房|室|房|户)$")
_ZH_BARE_ROOM = re.compile(r"(?<=[栋幢座#楼元层])([0-9a-z]+)$")
_ZH_FLOOR = re.compile(r"(?<![0-9a-z])(\d+)(?:层|楼)$")
_ZH_UNIT = re.compile(r"(?<![0-9a-z])([0-9a-z]+)单元$")
_ZH_BUILDING = re.compile(r"(?<![0-9a-z])([0-9a-z]+)(?:号楼|号馆|栋|幢|座|#)$")
_ZH_HOUSE = re.compile(r"(?<![0-9a-z])\d+[a-z]?号(?:院)?")


def _zh_compact(s: str) -> str:
    """Folded Chinese address -> one space-free string with digits."""
    s = _ZH_SLASH_FLOOR.sub(r"\1层", re.sub(r"[^\w\-#/]|_", " ", s)).replace("/", " ")
    for pattern, repl in _ZH_LATIN_MARKERS:
        s = pattern.sub(repl, s)
    s = re.sub(r"-{2,}", "-", "".join(s.split())).strip("-")
    s = _CN_NUMERAL.sub(lambda m: _cn_int(m.group(1)), s)
    s = _CN_TRAILING_NUMERAL.sub(lambda m: _cn_int(m.group(1)), s)
    for pattern, repl in _ZH_LATIN_MARKERS:  # again: numerals may have made new ids
        s = pattern.sub(repl, s)
    return s


def _drop_province(s: str) -> str:
    s = s[_ZH_COUNTRY.match(s).end():]
    m = _ZH_PROVINCE.match(s)
    if m and (m.group(2) or not m.group(1) or (
            m.end() < len(s) and not _ZH_ROADISH.match(s, m.end()))):
        s = s[m.end():]
    return s


def _zh_locality(s: str) -> tuple[str, str]:
    """Split off the administrative prefix; the province is dropped."""
    s = _fixpoint(_drop_province, s)
    units, pos = [], 0
    while (m := _ZH_UNIT_RE.match(s, pos)) is not None:
        units.append(m.group())
        pos = m.end()
    s = s[pos:]
    locality = "".join(u[:-1] if u.endswith("市") and k < len(units) - 1 else u
                       for k, u in enumerate(units))
    return locality, s


def _zh_tail(rest: str) -> tuple[str, str | None, str | None]:
    """Peel building, unit, floor and room off the end of ``rest``."""
    if m := _ZH_HYPHEN.search(rest):
        room = f"{m.group(2)}-{m.group(3)}" if m.group(3) else m.group(2)
        return rest[: m.start()], m.group(1), room
    room = unit = floor = building = None
    for name, pattern in (("room", _ZH_ROOM), ("room", _ZH_BARE_ROOM), ("floor", _ZH_FLOOR),
                          ("unit", _ZH_UNIT), ("building", _ZH_BUILDING)):
        if name == "room" and room is not None:
            continue
        if m := pattern.search(rest):
            rest = rest[: m.start()]
            room = m.group(1) if name == "room" else room
            floor = m.group(1) if name == "floor" else floor
            unit = m.group(1) if name == "unit" else unit
            building = m.group(1) if name == "building" else building
    return rest, building, _room(room, floor, unit)


def _room(room: str | None, floor: str | None, unit: str | None = None) -> str | None:
    """One room key: 'unit-room', a lettered flat with its floor ('15a'), or '<floor>f'."""
    if room is not None and floor is not None and not any(c.isdigit() for c in room):
        room = floor + room  # 15楼A室 / Flat A, 15/F
    elif room is None and floor is not None:
        room = f"{floor}f"
    if unit is not None:
        room = f"{unit}-{room}" if room else f"{unit}-"
    return room


def _zh_address(s: str) -> Address | None:
    locality, rest = _zh_locality(_zh_compact(s))
    rest, building, room = _zh_tail(rest)
    if m := _ZH_HOUSE.search(rest):
        number = m.group().removesuffix("院")
        street, extra = rest[: m.start()] + number, rest[m.end():]
    else:
        street, extra = rest, ""
    place = locality + street
    if not place:
        return None
    canonical = place + extra + _zh_render_tail(building, room)
    return Address(canonical, place, building, room, "zh", locality, street)


def _zh_render_tail(building: str | None, room: str | None) -> str:
    tail = f"{building}栋" if building else ""
    if room:
        unit, dash, number = room.partition("-")
        if dash:
            tail += f"{unit}单元" + (f"{number}室" if number else "")
        else:
            tail += f"{room}室"
    return tail


_LATIN_ABBREVIATIONS = {
    "street": "st", "str": "st", "road": "rd", "avenue": "ave", "av": "ave",
    "boulevard": "blvd", "drive": "dr", "lane": "ln", "court": "ct", "place": "pl",
    "square": "sq", "highway": "hwy", "parkway": "pkwy", "terrace": "ter", "crescent": "cres",
    "centre": "ctr", "center": "ctr", "north": "n", "south": "s", "east": "e", "west": "w",
    "industrial": "ind", "estate": "est", "mount": "mt", "jalan": "jln", "lorong": "lrg",
    "close": "cl", "gardens": "gdns", "grove": "gr",
    "building": "bldg", "apartment": "apt", "suite": "ste", "floor": "fl", "flr": "fl",
}
_LATIN_ROOM = frozenset({"apt", "unit", "flat", "ste", "room", "rm", "#"})
_LATIN_BUILDING = frozenset({"bldg", "block", "blk", "tower", "twr"})
_LATIN_NUMBER = frozenset({"no", "nr", "number", "num"})
_LATIN_SLASH_FLOOR = re.compile(r"(?<![a-z0-9])(\d+|g)\s*/\s*f(?![a-z])")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")


def _latin_parts(tokens: list[str]) -> tuple[list[str], str | None, str | None]:
    """Walk the tokens: markers take the next token as room/building/floor."""
    place: list[str] = []
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = ("room" if tok in _LATIN_ROOM else "building" if tok in _LATIN_BUILDING
                else "floor" if tok == "fl" else None)
        if kind is None:
            if tok not in _LATIN_NUMBER or i + 1 == len(tokens):
                place.append(tok)
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and tokens[j] in _LATIN_ROOM:
            j += 1
        before = place[-1] if place else ""
        after = tokens[j] if j < len(tokens) else ""
        if kind == "floor" and (_ORDINAL.fullmatch(before) or (
                before.isdigit() and not after[:1].isdigit())):
            found.setdefault("floor", _ORDINAL.sub(r"\1", place.pop()))
            i += 1
        elif j < len(tokens):
            found.setdefault(kind, tokens[j].removesuffix("f") if kind == "floor" else tokens[j])
            i = j + 1
        else:
            i = j
    return place, found.get("building"), _room(found.get("room"), found.get("floor"))


def _latin_address(s: str) -> Address | None:
    s = _LATIN_SLASH_FLOOR.sub(r" fl \1 ", s).replace("#", " # ")
    tokens = [_LATIN_ABBREVIATIONS.get(t, t) for t in _latin_tokens(s.replace("#", " room "))]
    place, building, room = _latin_parts(tokens)
    if not place:
        return None
    text = " ".join(place)
    canonical = text + (f" bldg {building}" if building else "") + (f" room {room}" if room else "")
    street, locality = _latin_street(place)
    return Address(canonical, text, building, room, "latin", locality, street)


_STREET_TYPES = frozenset(
    "st rd ave blvd dr ln ct pl sq hwy pkwy ter cres way jln lrg cl gdns gr mews".split())


def _latin_street(place: list[str]) -> tuple[str, str]:
    """Split a Latin place after its first street type preceded by a number."""
    for k, tok in enumerate(place):
        if k and tok in _STREET_TYPES and any(c.isdigit() for t in place[:k] for c in t):
            return " ".join(place[: k + 1]), " ".join(place[k + 1:])
    return " ".join(place), ""


def _parse_address(s: str) -> Address | None:
    return _zh_address(s) if has_hanzi(s) else _latin_address(s)


def _address(s: str) -> Address | None:
    if s in _BY_CANONICAL:
        return _BY_CANONICAL[s]
    result = _parse_address(_simplify(_fold(s)))
    for _ in range(3):  # guard: the canonical form must parse to itself
        again = _parse_address(result.canonical) if result else None
        if again == result:
            break
        result = again
    if result is not None and len(_BY_CANONICAL) < _CACHE_SIZE:
        # address(canonical) == address(raw) (tested): linkage parses canonical forms
        # of every address again, so remember them without a third parse
        _BY_CANONICAL[result.canonical] = result
    return result


_BY_CANONICAL: dict[str, Address] = {}


def remember_addresses(addresses: Iterable[Address]) -> None:
    """Remember addresses normalised elsewhere (in worker processes) by their
    canonical forms, so that :func:`address` of a canonical form is a lookup."""
    for a in addresses:
        if len(_BY_CANONICAL) >= _CACHE_SIZE:
            break
        _BY_CANONICAL.setdefault(a.canonical, a)


_address_cached = _cache(_address)


def address(raw: object) -> Address | None:
    """Normalise a free-text dispatch address (Chinese or Latin script).

    Chinese: NFKC, traditional -> simplified, spaces and punctuation
    dropped, Chinese numerals -> digits before 号/栋/室/..., the country and
    province dropped and a city's 市 dropped before a district, 号楼/栋/幢/座/#
    -> building, 单元 + 室/房 -> room ``unit-room``, 号院 -> 号.
    Latin: case-folded, diacritics and punctuation dropped, street words
    abbreviated (road -> rd), apt/unit/flat/suite/room/# -> room,
    bldg/block/tower -> building, 5/F or floor 5 -> ``5f`` when no room.

    Returns
    -------
    Address or None
        None when no place (street or locality) is left.

    Examples
    --------
    >>> a = address("浙江省杭州市余杭区文一西路998号5号楼302室")
    >>> a.place, a.building, a.room, a.canonical
    ('杭州余杭区文一西路998号', '5', '302', '杭州余杭区文一西路998号5栋302室')
    >>> b = address("杭州余杭区文一西路九九八号 五幢 三〇三")
    >>> b.place == a.place, b.building, b.room
    (True, '5', '303')
    >>> address("北京市朝阳区建国路88号院3号楼2单元1001").canonical
    '朝阳区建国路88号3栋2单元1001室'
    >>> c = address("Flat 5B, 12 Harbour Road, Wan Chai")
    >>> c.place, c.room, c.canonical
    ('12 harbour rd wan chai', '5b', '12 harbour rd wan chai room 5b')
    >>> address("12 Harbour Rd., Unit #5B, Wan Chai") == c
    True
    >>> address("Room 5") is None
    True
    """
    return _call(_address_cached, _address, raw)


# --------------------------------------------------------------------------
# ID numbers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IdNumber:
    """A normalised ID number.

    Attributes
    ----------
    value : str
        Canonical value: upper-case alphanumerics, or a lower-case hex hash.
    kind : str
        ``'resident_id'`` (18-character PRC resident ID), ``'uscc'`` (Unified
        Social Credit Code), ``'hashed'`` or ``'other'``.
    checksum_ok : bool or None
        The check character verdict; None when the kind has none. A failed
        checksum is a warning (a typo or a fake), not a rejection.
    """

    value: str
    kind: str
    checksum_ok: bool | None = None


_RESIDENT_RE = re.compile(r"\d{17}[\dX]")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_RE = re.compile(f"[{_USCC_ALPHABET}]{{2}}\\d{{6}}[{_USCC_ALPHABET}]{{10}}")


def resident_id_check(first17: str) -> str | None:
    """ISO 7064 MOD 11-2 check character of a resident ID's first 17 digits.

    None unless ``first17`` is 17 ASCII digits.

    >>> resident_id_check("11010519491231002"), resident_id_check("1101")
    ('X', None)
    """
    if not (isinstance(first17, str) and len(first17) == 17 and first17.isascii()
            and first17.isdigit()):
        return None
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def uscc_check(first17: str) -> str | None:
    """GB 32100-2015 check character of a USCC's first 17 characters.

    None unless ``first17`` is 17 characters of the USCC alphabet (no I O S V Z).

    >>> uscc_check("91350100M000100Y4"), uscc_check("91350100M000100Z4")
    ('3', None)
    """
    if not (isinstance(first17, str) and len(first17) == 17
            and all(c in _USCC_ALPHABET for c in first17)):
        return None
    total = sum(_USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _plausible_birth(value: str) -> bool:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def _id_number(s: str) -> IdNumber | None:
    s = unicodedata.normalize("NFKC", _strip_controls(s))
    value = "".join(c for c in s.upper() if c.isascii() and c.isalnum())
    if not value:
        return None
    if is_hashed(value.lower()):
        return IdNumber(value.lower(), "hashed")
    resident = _RESIDENT_RE.fullmatch(value) is not None
    uscc = _USCC_RE.fullmatch(value) is not None
    if resident and resident_id_check(value[:17]) == value[17]:
        return IdNumber(value, "resident_id", True)
    if uscc and uscc_check(value[:17]) == value[17]:
        return IdNumber(value, "uscc", True)
    if resident and _plausible_birth(value):
        return IdNumber(value, "resident_id", False)
    if uscc:
        return IdNumber(value, "uscc", False)
    return IdNumber(value, "other")


_id_number_cached = _cache(_id_number)


def id_number(raw: object) -> IdNumber | None:
    """Normalise a national ID or business licence number.

    Examples
    --------
    >>> id_number("11010519491231002x")
    IdNumber(value='11010519491231002X', kind='resident_id', checksum_ok=True)
    >>> id_number("110105194912310021")
    IdNumber(value='110105194912310021', kind='resident_id', checksum_ok=False)
    >>> id_number("91350100-M000100Y43").kind
    'uscc'
    >>> id_number("E1234 5678").value, id_number("   ") is None
    ('E12345678', True)
    >>> id_number("5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8").kind
    'hashed'
    """
    return _call(_id_number_cached, _id_number, raw)


_BIRTH = re.compile(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[T ].*)?")


def birth_date(raw: object) -> str | None:
    """A date of birth as ``YYYY-MM-DD``; a year-month-day that is no calendar date
    (a typing error) keeps its digits, so near dates can still be compared.

    Examples
    --------
    >>> birth_date("1990-03-07"), birth_date("19900307"), birth_date("1990年3月7日")
    ('1990-03-07', '1990-03-07', '1990-03-07')
    >>> birth_date("19901307"), birth_date("07/03/1990"), birth_date(" ")
    ('19901307', None, None)
    """
    s = _text(raw)
    if s is None or len(s) > 40:
        return None
    m = _BIRTH.fullmatch(s.replace(" ", "") if "T" not in s else s)
    if m is None:
        return None
    year, month, day = m.group(1), m.group(2).zfill(2), m.group(3).zfill(2)
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return year + month + day
    return f"{year}-{month}-{day}"


# --------------------------------------------------------------------------
# devices and IPs
# --------------------------------------------------------------------------

_DEVICE_NULLS = frozenset({"", "null", "none", "nil", "nan", "unknown", "undefined", "n/a", "na",
                           "-", "0", "default"})


def device(raw: object) -> str | None:
    """Device id: stripped, lower-cased, surrounding braces/quotes dropped.

    Placeholder values (``unknown``, ``null``, an all-zero GUID) are None:
    they would join every shop that logged one.

    Examples
    --------
    >>> device(" {3F2504E0-4F89-11D3-9A0C-0305E82C3301} ")
    '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
    >>> device("00000000-0000-0000-0000-000000000000"), device("Unknown"), device(None)
    (None, None, None)
    """
    s = _text(raw)
    if s is None:
        return None
    s = "".join(ch for ch in _strip_controls(s) if ch.isprintable()).lower()
    s = s.strip(" {}[]()<>\"'")
    if s in _DEVICE_NULLS or not s.strip("0-:{}. "):
        return None
    return s


def _ip_address(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    s = "".join(unicodedata.normalize("NFKC", _strip_controls(s)).split()).lower()
    if s.startswith("[") and "]" in s:
        s = s[1: s.index("]")]
    elif s.count(":") == 1:
        s = s.split(":", 1)[0]  # IPv4 with a port
    s = s.split("%", 1)[0]
    if s.count(".") == 3 and ":" not in s:
        s = ".".join(p.lstrip("0") or "0" if p.isdigit() else p for p in s.split("."))
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return None if addr.is_unspecified else addr


def ip(raw: object) -> str | None:
    """Canonical IP address (IPv4 or IPv6), or None if not an address.

    Ports, brackets, zone ids and leading zeros are tolerated; IPv4-mapped
    IPv6 becomes IPv4; ``0.0.0.0`` and ``::`` are None (placeholders).

    Examples
    --------
    >>> ip(" 192.168.001.010:8080 "), ip("2001:DB8:0:0::1"), ip("::ffff:1.2.3.4")
    ('192.168.1.10', '2001:db8::1', '1.2.3.4')
    >>> ip("999.1.1.1"), ip("0.0.0.0"), ip(None)
    (None, None, None)
    """
    s = _text(raw)
    if s is None or len(s) > 200:
        return None
    addr = _ip_address(s)
    return str(addr) if addr is not None else None


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET})\.{_OCTET}\Z")


def ip_block(raw: object) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, as a string.

    Accepts an address or a block (so it is idempotent).

    Examples
    --------
    >>> ip_block("1.2.3.4"), ip_block("2001:db8:1:2::5"), ip_block("1.2.3.0/24")
    ('1.2.3.0/24', '2001:db8:1::/48', '1.2.3.0/24')
    >>> ip_block("nonsense") is None
    True
    """
    s = _text(raw)
    if s is None or len(s) > 200:
        return None
    canonical = _CANONICAL_IPV4.match(s)
    if canonical and s != "0.0.0.0":  # what :func:`ip` writes: no parsing needed
        return f"{canonical[1]}.0/24"
    s, slash, length = s.strip().partition("/")
    addr = _ip_address(s)
    if addr is None:
        return None
    prefix = 24 if addr.version == 4 else 48
    if slash and (not length.strip().isdigit() or int(length) < prefix):
        return None
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


# --------------------------------------------------------------------------
# payment endpoints
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """A normalised payment endpoint.

    Attributes
    ----------
    value : str
        Digits only for card/bank numbers (``'6222*1234'`` when masked: one
        ``*`` for the hidden run), lower-case for Alipay ids, emails, hashes.
    masked : bool
        Part of the value is hidden; only ``prefix`` and ``suffix`` are known.
    prefix, suffix : str or None
        Visible leading / trailing characters of a masked value; for a full
        number of 8+ digits the first 6 and last 4 digits, so masked and full
        forms of one card share :func:`payment_key`.
    hashed : bool
        A pre-hashed value (32-64 hex characters): exact matches only.
    """

    value: str
    masked: bool = False
    prefix: str | None = None
    suffix: str | None = None
    hashed: bool = False


_MASK_CHARS = "*•●·xX#…"
_MASKED_DIGITS = re.compile(r"(\d*)[*•●·x#.…]+(?:\d+[*•●·x#.…]+)*(\d*)")
_MASKED_TEXT = re.compile(r"([^*]*)\*+(?:[^*]*\*+)*([^*]*)")


def _compact_lower(s: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", s).lower())


def _payment(s: str) -> Payment | None:
    compact = _fixpoint(_compact_lower, _strip_controls(s))
    if not compact:
        return None
    if is_hashed(compact):
        return Payment(compact, hashed=True)
    if compact.isdigit():
        long = len(compact) >= 8
        return Payment(compact, False, compact[:6] if long else None,
                       compact[-4:] if long else None)
    starred = re.sub("[•●]", "*", compact)
    m = _MASKED_TEXT.fullmatch(starred) if "*" in starred else _MASKED_DIGITS.fullmatch(compact)
    if m is None:
        return Payment(compact)
    prefix, suffix = m.group(1), m.group(2)
    if not prefix and not suffix:
        return None
    return Payment(f"{prefix}*{suffix}", True, prefix or None, suffix or None)


_payment_cached = _cache(_payment)


def payment(raw: object) -> Payment | None:
    """Normalise a payment endpoint: card, bank account, Alipay id, hash.

    Examples
    --------
    >>> payment("6222 0212 3456 7891 234")
    Payment(value='6222021234567891234', masked=False, prefix='622202', suffix='1234', hashed=False)
    >>> payment("6222****1234") == payment("6222 **** **** 1234")
    True
    >>> p = payment("622202******1234")
    >>> p.value, p.masked, p.prefix, p.suffix
    ('622202*1234', True, '622202', '1234')
    >>> payment("ZhangWei@Alipay.COM").value, payment("zha***@qq.com").prefix
    ('zhangwei@alipay.com', 'zha')
    >>> payment("****") is None, payment("") is None
    (True, True)
    """
    return _call(_payment_cached, _payment, raw)


def payment_key(p: Payment | None) -> str | None:
    """Blocking key shared by masked and full forms: first 4 and last 4 visible.

    None for hashes and for values showing fewer than 4 leading or trailing
    characters (a bare ``****1234`` would block with every card ending 1234).

    >>> payment_key(payment("6222****1234")), payment_key(payment("6222021234567891234"))
    ('6222|1234', '6222|1234')
    >>> payment_key(payment("****1234")) is None
    True
    """
    if p is None or p.hashed or not p.prefix or not p.suffix:
        return None
    if len(p.prefix) < 4 or len(p.suffix) < 4:
        return None
    return f"{p.prefix[:4]}|{p.suffix[-4:]}"
