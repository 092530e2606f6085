"""The vocabulary of a generated world: roles, tiers and weak signals, time (days
since 2024-01-01), random draws, the Latin-script countries, and the entities
(people, places, profiles, shops, operators, factories).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

T = TypeVar("T")

MIN_SHOPS = 50
ROLES = ("honest", "counterfeit_banned", "reregistration", "dealer", "park", "warehouse",
         "nat", "common_name", "family")
TIERS = ("exact", "fuzzy", "indirect")
MIX_ROLES = ("room_turnover", "card_collision")  # honest traps only a mixed world has
MIX_TIERS = ("single", "none")  # tiers only a mixed world has
# the weak signals a mixed world's comebacks carry, each one a careful human can follow
SIGNALS = ("phone_edit", "email_provider", "email_edit", "name_variant", "ip_block",
           "card_holder", "card_masked", "shop_name", "address_room", "address_format",
           "geo_near")
_SLOTS = {"email_provider": "email", "email_edit": "email", "card_holder": "card",
          "card_masked": "card", "address_room": "address", "address_format": "address",
          "geo_near": "address"}  # signals of one slot exclude each other

# ---- time: floats are days since 2024-01-01; the world ends 2026-10-31

_START = date(2024, 1, 1)
_SPAN = (date(2026, 10, 31) - _START).days + 1
_END = _SPAN - 1e-4
_PAD = 400
_DAYS = [(_START + timedelta(days=d - _PAD)).isoformat() for d in range(_SPAN + 2 * _PAD)]


def _window(days: int) -> float:
    """Start of the window that ``--since {days}d`` selects on the world's data (the
    newest shops are created on its last day).

    >>> _day(_window(90))
    '2026-08-02'
    """
    return float(math.floor(_END) - days)


def _day(t: float) -> str:
    """ISO date of day offset ``t``.

    >>> _day(0.5), _day(_END)
    ('2024-01-01', '2026-10-31')
    """
    return _DAYS[math.floor(t) + _PAD]


def _stamp(t: float) -> str:
    """ISO datetime (seconds) of day offset ``t``.

    >>> _stamp(1.75)
    '2024-01-02T18:00:00'
    """
    d = math.floor(t)
    s = int((t - d) * 86400)
    return f"{_DAYS[d + _PAD]}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_TRADITIONAL = str.maketrans(
    "张刘陈杨黄赵吴孙马罗郑谢许韩冯邓蒋叶苏卢钟谭陆贾邹龙贺顾龚万钱严阳伟玮维炜静丽强军艳杰洁涛鸣刚莹华红国"
    "辉鹏飞锋晓东云凯欧韦",
    "張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蔣葉蘇盧鍾譚陸賈鄒龍賀顧龔萬錢嚴陽偉瑋維煒靜麗強軍豔傑潔濤鳴剛瑩華紅國"
    "輝鵬飛鋒曉東雲凱歐韋")

# ---- reference data: Latin-script countries


@dataclass(frozen=True)
class _Country:
    code: str
    groups: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
    cities: tuple[tuple[str, str, tuple[str, ...], float, float], ...]
    roads: tuple[str, ...]
    kinds: tuple[str, ...]
    mails: tuple[str, ...]
    names: tuple[str, ...]
    units: tuple[str, ...]


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


_COUNTRIES = {
    "GB": _Country(
        "GB",
        ((_w("James,John,Robert,Michael,William,David,Richard,Thomas,Daniel,Matthew,Jonathan,"
             "Christopher,Andrew,Oliver,Harry,George,Mohammed,Jack"),
          _w("Mary,Elizabeth,Sarah,Emily,Emma,Olivia,Sophie,Laura,Hannah,Rachel,Katherine,"
             "Charlotte,Amelia,Grace"),
          _w("Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson,Roberts,"
             "Robinson,Thompson,Wright,Walker,White,Hughes,Green,Hall,Clarke,Patel,Khan,Ali,"
             "Wood,Lewis")),),
        (("London", "", _w("E1,E14,N1,NW1,SE1,SW11,W2"), 51.507, -0.128),
         ("Manchester", "", _w("M1,M4,M14"), 53.481, -2.243),
         ("Birmingham", "", _w("B1,B5,B15"), 52.486, -1.890),
         ("Leeds", "", _w("LS1,LS6"), 53.800, -1.549)),
        _w("Baker,High,Station,Church,Park,Victoria,Green,Queen,King,Mill,Albert,Manor,Oxford"),
        _w("Street,Road,Lane,Avenue,Close,Way"),
        _w("gmail.com,outlook.com,hotmail.co.uk,yahoo.co.uk,icloud.com,btinternet.com"),
        _w("United Kingdom,UK,U.K."), _w("Flat,Flat,Apartment,Unit")),
    "US": _Country(
        "US",
        ((_w("James,John,Robert,Michael,William,David,Richard,Joseph,Thomas,Charles,Daniel,"
             "Matthew,Anthony,Mark,Jose,Carlos,Luis,Kevin"),
          _w("Mary,Patricia,Jennifer,Linda,Elizabeth,Barbara,Susan,Jessica,Sarah,Karen,Maria,"
             "Ana,Ashley,Emily"),
          _w("Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,"
             "Hernandez,Lopez,Gonzalez,Wilson,Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,"
             "Nguyen,Kim")),),
        (("New York", "NY", _w("100,101,112"), 40.713, -74.006),
         ("Los Angeles", "CA", _w("900,913"), 34.052, -118.244),
         ("Houston", "TX", _w("770"), 29.760, -95.370),
         ("Chicago", "IL", _w("606"), 41.878, -87.630),
         ("San Francisco", "CA", _w("941"), 37.775, -122.419)),
        _w("Main,Oak,Maple,Market,Elm,Pine,Cedar,Washington,Lake,Hill,Park,Sunset"),
        _w("Street,Avenue,Boulevard,Road,Drive,Lane"),
        _w("gmail.com,yahoo.com,outlook.com,hotmail.com,icloud.com,aol.com"),
        _w("USA,United States"), _w("Apt,Apt.,Suite,Unit,#")),
    "MY": _Country(
        "MY",
        ((_w("Ahmad,Muhammad,Mohd Faiz,Hafiz,Amir,Farid"), _w("Siti Aisyah,Nur Aina,Farah,Aisyah"),
          _w("bin Abdullah,bin Ismail,bin Hassan,bin Yusof,bin Ahmad")),
         (_w("Wei Ming,Chee Keong,Kar Fai,Jun Hao"), _w("Mei Ling,Hui Min,Xin Yi,Li Ying"),
          _w("Tan,Lim,Lee,Wong,Ng,Ong,Chong,Teo")),
         (_w("Rajesh,Arjun,Suresh,Vijay"), _w("Priya,Kavitha,Devi,Anita"),
          _w("Kumar,Raman,Subramaniam,Pillai"))),
        (("Kuala Lumpur", "Wilayah Persekutuan", _w("504,552,561"), 3.139, 101.687),
         ("Petaling Jaya", "Selangor", _w("462,474"), 3.107, 101.607),
         ("George Town", "Pulau Pinang", _w("102,104"), 5.414, 100.329),
         ("Johor Bahru", "Johor", _w("800,812"), 1.493, 103.741)),
        _w("Ampang,Bukit Bintang,Tun Razak,SS2/24,Penang,Sultan Ismail,Klang Lama,Ipoh"),
        ("",), _w("gmail.com,yahoo.com,hotmail.com,outlook.com"), _w("Malaysia,MALAYSIA"),
        _w("Unit,Lot,No.")),
    "DE": _Country(
        "DE",
        ((_w("Lukas,Leon,Finn,Jonas,Maximilian,Felix,Paul,Thomas,Michael,Stefan"),
          _w("Anna,Lena,Sophie,Marie,Laura,Julia,Katharina,Sabine"),
          _w("Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,"
             "Koch,Richter")),),
        (("Berlin", "", _w("10,12,13"), 52.520, 13.405),
         ("Hamburg", "", _w("20,22"), 53.551, 9.994),
         ("München", "", _w("80,81"), 48.135, 11.582),
         ("Frankfurt am Main", "", _w("60"), 50.110, 8.682)),
        _w("Hauptstraße,Bahnhofstraße,Gartenstraße,Schulstraße,Berliner Straße,Lindenstraße,"
           "Kirchweg,Am Markt"),
        ("",), _w("gmail.com,gmx.de,web.de,t-online.de,outlook.de"), _w("Germany,Deutschland"),
        _w("Wohnung,WE,App.")),
}
_LATIN_CODES = ("GB", "US", "MY", "DE")
_LATIN_CUM = (0.3, 0.6, 0.85, 1.0)

# ---- pure helpers: check digits, renderings, variants


def _pick(r: random.Random, items: Sequence[T]) -> T:
    """``r.choice``, several times faster (one float per draw)."""
    return items[int(r.random() * len(items))]


def _int(r: random.Random, a: int, b: int | None = None) -> int:
    """``r.randrange(a, b)`` (or ``randrange(a)``) from one float; fine below 2**50."""
    if b is None:
        a, b = 0, a
    return a + int(r.random() * (b - a))


def _weighted(r: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """One item drawn with cumulative weights ``cum``."""
    return items[bisect.bisect(cum, r.random() * cum[-1])]


def _poisson(r: random.Random, lam: float) -> int:
    """Knuth's Poisson draw, fine for the small means used here."""
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


# ---- entities


@dataclass(slots=True)
class _Person:
    zh: bool
    country: str
    surname: str
    given: str
    name: str
    id_number: str
    id_raw: str
    msisdn: str
    phone: str
    email: str
    region: str = ""


@dataclass(slots=True)
class _Place:
    zh: bool
    country: str
    province: str
    city: str
    district: str
    road: str
    kind: str
    number: int
    compound: str
    building: int
    room: int
    postcode: str
    lat: float
    lon: float


Row = tuple[str, float, float]


@dataclass(slots=True)
class _Profile:
    """What one shop's rows will say about it."""

    zh: bool
    name: str
    category: str
    accounts: list[_Person]
    devices: list[str]
    ips: list[str]
    addresses: list[Row]
    payments: list[tuple[str, str, str]]


@dataclass(slots=True)
class _Shop:
    created: float
    role: str
    op: int
    profile: _Profile | None = None
    level: str = "base"
    status: str = "active"
    banned: float | None = None
    reason: str = ""
    tier: str = ""
    parents: list[int] = field(default_factory=list)
    group: str = ""
    factory: int = -1
    signals: tuple[str, ...] = ()  # mixed worlds: what links a comeback to its parents
    keep: frozenset[str] = frozenset()  # cells never left blank: "geo", "email", "holder"


@dataclass(slots=True)
class _Op:
    """A counterfeit operator and what it carries from shop to shop."""

    key: int
    boss: _Person
    home: _Place
    laptop: str
    card: str
    method: str
    ip: str
    originals: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    last_ban: float = 0.0


@dataclass(slots=True)
class _Factory:
    index: int
    place: _Place
    address: str
    size: int
    members: list[int] = field(default_factory=list)
