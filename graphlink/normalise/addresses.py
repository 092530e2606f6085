"""Addresses: Chinese and Latin-script addresses parsed into :class:`Address`
(locality, street, house, building, room) and written canonically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from graphlink.normalise.text import (
    _CACHE_SIZE,
    _cache,
    _call,
    _fixpoint,
    _fold,
    _latin_tokens,
    _simplify,
    has_hanzi,
)


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
