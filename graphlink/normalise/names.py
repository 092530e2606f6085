"""Person names: Hanzi or folded Latin tokens, and Hanzi names romanised the
passport way (pinyin).
"""

from __future__ import annotations

from functools import lru_cache

from graphlink.normalise.text import (
    _CACHE_MAX_LEN,
    _CACHE_SIZE,
    _NOT_HANZI_RE,
    _cache,
    _call,
    _drop_brackets,
    _fold,
    _latin_tokens,
    _simplify,
    _text,
    has_hanzi,
)

_TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir madam mme mlle herr frau sra srta".split()
)
_ZH_HONORIFICS = ("先生", "女士", "小姐")


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
