"""Company and shop names: folded, their legal and shop suffixes dropped.
"""

from __future__ import annotations

from graphlink.normalise.text import (
    _HANZI_RE,
    _cache,
    _call,
    _drop_brackets,
    _fold,
    _latin_tokens,
    _simplify,
    has_hanzi,
)

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
