"""Pairwise similarity rules, one per identifier kind.

The linkage stage blocks identifier values (see :mod:`graphlink.linkage.link`) and
applies these rules to the pairs inside a block. Each rule returns a
:class:`Similarity`: a score in [0, 1] and the name of the rule that fired,
which the evidence text shows to the analyst (``'same-building-neighbour-room'``
says more than ``0.9``).

Score scale
-----------
=============  =================================================================
score          meaning
=============  =================================================================
1.0            identical canonical values (``hanzi-exact``, ``same-address``)
0.95 - 0.99    the same value written differently: reordered names
               (``latin-token-sort``), nicknames, the same room of one building
0.85 - 0.95    ``MATCH``: the same real-world value with a typo or a small change
               (``Jon Smyth`` / ``Jonathan Smith``, a room next door)
0.70 - 0.85    ``POSSIBLE``: weak evidence that needs corroboration: a pinyin-only
               name match (pinyin is many-to-one), a masked card matching on BIN
               and last four, the same street number in another building
below 0.70     not the same: 张伟 / 张玮, John / Joan Smith, 12 / 14 Harbour Rd
=============  =================================================================

Why these numbers: the score only sorts pairs into comparison levels (the
match model, :mod:`graphlink.linkage.model`, learns what each level is worth from
the data); below ``POSSIBLE`` a pair is no link at all. Rules are deliberately
conservative where honest people collide: one different Hanzi in a
two-character name is usually another person (张伟 / 张玮 are both common
names), and thousands of cards share a BIN and last four digits. Rules are
generous where cheaters vary their writing: traditional / simplified
characters, full-width digits, 五幢 / 5号楼, a dropped province, reordered
Latin names, diacritics, plus-tags in emails.

Rules accept raw or already-normalised values; normalisation is idempotent
and memoised, so passing canonical values costs little.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from graphlink import normalise as norm
from graphlink.normalise import Address, Payment, has_hanzi

__all__ = [
    "MATCH",
    "POSSIBLE",
    "PINYIN_CAP",
    "Similarity",
    "address_anchors",
    "address_similarity",
    "company_similarity",
    "email_parts",
    "email_similarity",
    "name_similarity",
    "payment_similarity",
    "shop_name_similarity",
]

MATCH = 0.85
"""At or above: the two values are judged the same."""
POSSIBLE = 0.70
"""At or above (and below MATCH): a weak link, evidence only with corroboration."""
PINYIN_CAP = 0.80
"""Highest score of a Hanzi name matched to a Latin name through pinyin."""
TOKEN_OK = 0.80
"""Every aligned token of two Latin names must reach this for a match."""


@dataclass(frozen=True, order=True)
class Similarity:
    """The score of one comparison and the rule that produced it.

    >>> s = Similarity(0.9, "same-building")
    >>> s.is_match, s.is_possible
    (True, True)
    """

    score: float
    method: str

    @property
    def is_match(self) -> bool:
        """True when ``score >= MATCH``."""
        return self.score >= MATCH

    @property
    def is_possible(self) -> bool:
        """True when ``score >= POSSIBLE`` (weak links included)."""
        return self.score >= POSSIBLE


_MISSING = Similarity(0.0, "missing")


@lru_cache(maxsize=1 << 12)
def _sim(score: float, method: str) -> Similarity:
    return Similarity(round(min(1.0, max(0.0, score)), 3), method)


# --------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------

_NICKNAME_GROUPS = (
    "robert bob bobby rob robbie bert", "william bill billy will willie liam",
    "john jon johnny jack jonny", "jonathan jon jonny nathan", "michael mike mikey mick mickey",
    "elizabeth elisabeth liz lizzie beth betty eliza liza betsy bess",
    "margaret maggie meg peggy marge margie greta",
    "katherine catherine kathryn katharine kate katie kathy cathy kat",
    "james jim jimmy jamie", "richard rick ricky dick rich richie", "thomas tom tommy",
    "charles charlie chuck chas", "christopher chris kit", "christina christine chris tina",
    "joseph joe joey", "daniel dan danny", "david dave davy", "edward ed eddie ted ned",
    "anthony tony", "andrew andy drew", "alexander alex sandy xander",
    "alexandra alex sandra sandy lexi", "benjamin ben benny", "samuel sam sammy",
    "samantha sam sammy", "nicholas nick nicky", "nicole nikki", "matthew matt",
    "patrick pat paddy", "patricia pat patty trish tricia", "steven stephen steve",
    "timothy tim timmy", "jennifer jen jenny", "jessica jess jessie", "rebecca becky becca",
    "susan sue suzy", "deborah debbie deb", "victoria vicky tori", "gregory greg",
    "jeffrey geoffrey jeff", "kenneth ken kenny", "ronald ron ronnie", "donald don donnie",
    "lawrence laurence larry", "henry harry hank", "frederick fred freddie", "francis frank",
    "frances fran", "abigail abby", "albert al bert", "amanda mandy", "barbara barb",
    "dorothy dot dottie", "eleanor ellie nora", "gabriel gabe", "isabel isabella bella izzy",
    "jacob jake", "joshua josh", "leonard leo len lenny", "louis lou", "mary molly polly",
    "pamela pam", "peter pete", "philip phillip phil", "raymond ray", "sarah sara sally",
    "theodore ted teddy theo", "vincent vince vinny", "zachary zach zack",
    "alejandro alex", "jose pepe", "manuel manny", "francisco paco pancho",
)
_NICKNAMES: dict[str, frozenset[int]] = {}
for _group_id, _group in enumerate(_NICKNAME_GROUPS):
    for _name in _group.split():
        _NICKNAMES[_name] = _NICKNAMES.get(_name, frozenset()) | {_group_id}

# distinct given names that differ by a letter or two: never typos of each other
_GIVEN_NAMES = frozenset(_NICKNAMES) | frozenset(
    "joan jane jean joanna johanna hanna hannah maria mario marie marta martha marco marcos "
    "mark marc anna anne ann ana annie paul paula pauline carl carla karl karen carol carole "
    "caroline daniela danielle eric erica erik ivan ivana julia julie julian juliana juan "
    "juana lucas lucia luke luis luisa louise laura lauren mia max leon leona emma ella ellen "
    "helen helena diana diane dean dana sean sian ian ivy amy eva eve adam aaron oscar olga "
    "oliver olivia sofia sophia sophie simon simone victor antonio antonia francesco "
    "francesca roberto roberta alberto alberta andrea andreas andre andres pedro pablo jorge "
    "josefa josephine carlos carlo nina lina tina gina rosa rose ross rosie linda lisa lily "
    "lucy luca lena lana alan allan ellen ellie elena elaine irene iris ida ada ava kim tom "
    "tim jim".split()
)


@lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    from pypinyin.pinyin_dict import pinyin_dict

    readings = ",".join(pinyin_dict.values())
    return frozenset(
        s for s in (norm.person_name(r) or "" for r in set(readings.split(",")))
        if s.isascii() and s.isalpha() and any(v in s for v in "aeiou")
    )


@lru_cache(maxsize=1 << 14)
def _is_pinyin_word(token: str) -> bool:
    """True when ``token`` splits into valid pinyin syllables (``xiaoming``)."""
    if len(token) < 2 or not token.isascii() or not token.isalpha():
        return False
    syllables = _pinyin_syllables()
    ok = [True] + [False] * len(token)
    for end in range(1, len(token) + 1):
        ok[end] = any(ok[s] and token[s:end] in syllables for s in range(max(0, end - 6), end))
    return ok[-1]


def _token_similarity(x: str, y: str) -> tuple[float, str]:
    """Similarity of two name tokens and the kind of match."""
    if x == y:
        return 1.0, "exact"
    if _NICKNAMES.get(x, frozenset()) & _NICKNAMES.get(y, frozenset()):
        return 0.95, "nickname"
    if len(x) == 1 or len(y) == 1:
        return (0.8, "initial") if x[0] == y[0] else (0.0, "different")
    distinct = (x in _GIVEN_NAMES and y in _GIVEN_NAMES) or (
        _is_pinyin_word(x) and _is_pinyin_word(y))
    if min(len(x), len(y)) <= 3 or distinct:
        return 0.3, "different"
    return JaroWinkler.similarity(x, y), "typo"


def _align(a: list[str], b: list[str]) -> list[tuple[int, int, float, str]]:
    """Best one-to-one alignment of two token lists (brute force when small)."""
    if len(a) > len(b):
        return [(i, j, s, k) for j, i, s, k in _align(b, a)]
    table = [[_token_similarity(x, y) for y in b] for x in a]
    if len(b) <= 6:
        orders = itertools.permutations(range(len(b)), len(a))
        best = max(orders, key=lambda js: sum(table[i][j][0] for i, j in enumerate(js)))
    else:  # hostile input: greedy, still linear in pairs
        best, used = [], set()
        for row in table:
            j = max((j for j in range(len(b)) if j not in used), key=lambda j: row[j][0])
            best.append(j)
            used.add(j)
    return [(i, j, *table[i][j]) for i, j in enumerate(best)]


def _merges(tokens: list[str]) -> list[list[str]]:
    """The tokens, and every way of gluing two neighbours (Mary Ann = Maryann)."""
    glued = [tokens[:k] + [tokens[k] + tokens[k + 1]] + tokens[k + 2:]
             for k in range(min(len(tokens) - 1, 6))]
    return [tokens, *glued]


def _latin_score(a: list[str], b: list[str]) -> Similarity:
    pairs = _align(a, b)
    sims = [s for _, _, s, _ in pairs]
    kinds = {k for _, _, _, k in pairs}
    reordered = [j for _, j, _, _ in sorted(pairs)] != sorted(j for _, j, _, _ in pairs)
    extra = abs(len(a) - len(b))
    score = sum(sims) / len(sims) - 0.05 * extra - 0.05 * reordered
    if min(sims) < TOKEN_OK:
        return _sim(min(score, 0.6), "latin-different")
    if len(pairs) < 2 and max(len(a), len(b)) >= 2:
        return _sim(min(score, POSSIBLE), "latin-partial")
    method = next((m for k, m in (("initial", "latin-initials"), ("typo", "latin-fuzzy"),
                                  ("nickname", "latin-nickname")) if k in kinds),
                  "latin-token-sort" if reordered else "latin-subset" if extra else "latin-exact")
    return _sim(score, method)


def _latin_names(a: str, b: str) -> Similarity:
    ta, tb = a.split()[:12], b.split()[:12]
    if "".join(sorted(ta)) == "".join(sorted(tb)) or "".join(ta) == "".join(tb):
        return _sim(0.95, "latin-token-sort")
    best = _latin_score(ta, tb)
    if best.is_match or len(ta) == len(tb):
        return best
    longer, shorter = (ta, tb) if len(ta) > len(tb) else (tb, ta)
    for glued in _merges(longer)[1:]:  # 'Mary Ann Lee' / 'Maryann Lee'
        s = _latin_score(glued, shorter)
        if s.is_match and s.score - 0.03 > best.score:
            best = _sim(s.score - 0.03, s.method)
    return best


def _hanzi_names(a: str, b: str) -> Similarity:
    same_sound = _sound(a) == _sound(b)
    if len(a) == len(b) and Levenshtein.distance(a, b) == 1:
        score = (0.7 if len(a) >= 3 else 0.55) + 0.05 * same_sound
        return _sim(score, "hanzi-homophone" if same_sound else "hanzi-edit")
    if same_sound:
        return _sim(0.6, "pinyin")
    return _sim(0.6 * fuzz.ratio(a, b) / 100, "hanzi-edit")


@lru_cache(maxsize=1 << 21)
def _sound(han: str) -> str:
    """A Hanzi name read as a name: its surname's reading, then the given name's
    (单 in 单雄信 is shan); the parts are those linkage's name keys romanised already."""
    return "".join(norm.hanzi_name_parts(han))


def _cross_script_names(han: str, latin: str) -> Similarity:
    surname, given = norm.hanzi_name_parts(han)
    forms = {surname + given, given + surname}
    tokens = latin.split()[:12]
    if "".join(tokens) in forms:
        return _sim(PINYIN_CAP, "pinyin")
    if len(tokens) >= 3 and any("".join(tokens[:k] + tokens[k + 1:]) in forms
                                for k in range(len(tokens))):
        return _sim(PINYIN_CAP - 0.1, "pinyin-partial")  # an added English name
    ratio = max(fuzz.ratio("".join(tokens), f) for f in forms) / 100
    score = PINYIN_CAP * ratio - 0.05 if ratio >= 0.9 else 0.5 * ratio
    return _sim(score, "pinyin-fuzzy")


_ORG_HINTS = re.compile(r"公司|集团|商行|经营部|工作室|厂|店|(?<![a-z])(?:co|ltd|limited|llc|inc|"
                        r"corp|corporation|company|gmbh|plc|trading|store|shop)(?![a-z])")


def _is_org(s: str) -> bool:
    return _ORG_HINTS.search(s) is not None or len(s) > 6 and has_hanzi(s)


@lru_cache(maxsize=1 << 16)
def _name_similarity(a: str, b: str) -> Similarity:
    if _is_org(a) or _is_org(b):
        return company_similarity(a, b)
    if a == b:
        return _sim(1.0, "hanzi-exact" if has_hanzi(a) else "latin-exact")
    ha, hb = has_hanzi(a), has_hanzi(b)
    if ha and hb:
        return _hanzi_names(a, b)
    if ha or hb:
        return _cross_script_names(a, b) if ha else _cross_script_names(b, a)
    return _latin_names(a, b)


def name_similarity(a_raw: object, b_raw: object) -> Similarity:
    """Similarity of two person (or holder) names, in any script.

    Hanzi vs Hanzi: exact after traditional -> simplified is 1.0; one
    different character is ``hanzi-edit`` at 0.55 (two-character names) or
    0.7 (longer), +0.05 when it sounds the same. Hanzi vs Latin goes through
    pinyin and is capped at ``PINYIN_CAP``. Latin vs Latin aligns tokens in
    any order, with nicknames, initials and typos (Jaro-Winkler) on tokens of
    4+ letters; two different known given names (John / Joan) or pinyin
    syllables (Wei / Wen) never count as typos. Names that look like
    companies are compared with :func:`company_similarity`.

    Examples
    --------
    >>> name_similarity("张伟", "張偉")
    Similarity(score=1.0, method='hanzi-exact')
    >>> name_similarity("张伟", "Zhang Wei")
    Similarity(score=0.8, method='pinyin')
    >>> name_similarity("张伟", "张玮")
    Similarity(score=0.6, method='hanzi-homophone')
    >>> name_similarity("Jonathan Smith", "Jon Smyth").method
    'latin-fuzzy'
    >>> name_similarity("John Smith", "Joan Smith").is_match
    False
    >>> name_similarity("Li Na", "Na Li")
    Similarity(score=0.95, method='latin-token-sort')
    """
    a, b = norm.person_name(a_raw), norm.person_name(b_raw)
    if a is None or b is None:
        return _MISSING
    return _name_similarity(a, b) if a <= b else _name_similarity(b, a)


def names_may_match(a_raw: object, b_raw: object) -> bool:
    """False when ``name_similarity(a, b).score < POSSIBLE`` is certain without it.

    Two person names in Hanzi (not companies) reach POSSIBLE only as one
    substituted character in names of 3+ characters (see :func:`_hanzi_names`);
    ruling the rest out here spares linkage two pinyin lookups per candidate.

    >>> names_may_match("张伟", "张玮"), names_may_match("张小伟", "张晓伟")
    (False, True)
    >>> names_may_match("张伟", "Zhang Wei")
    True
    """
    a, b = _hanzi_person(a_raw), _hanzi_person(b_raw)
    if a is None or b is None or a == b:
        return True
    return len(a) == len(b) >= 3 and Levenshtein.distance(a, b) == 1


@lru_cache(maxsize=1 << 21)
def _hanzi_person(raw: object) -> str | None:
    """The person name when it is a Hanzi name of a person (not a company), else None:
    once per value, as linkage asks about each value against ten neighbours.

    >>> _hanzi_person("張偉"), _hanzi_person("Zhang Wei"), _hanzi_person("杭州某某贸易有限公司")
    ('张伟', None, None)
    """
    name = norm.person_name(raw)
    return name if name is not None and has_hanzi(name) and not _is_org(name) else None


# --------------------------------------------------------------------------
# company and shop names
# --------------------------------------------------------------------------


def _org_similarity(a: str, b: str, prefix: str, same_text: bool) -> Similarity:
    if a == b:
        return _sim(1.0 if same_text else 0.97, f"{prefix}-exact")
    ha, hb = has_hanzi(a), has_hanzi(b)
    if ha != hb:
        han, latin = (a, b) if ha else (b, a)
        same = norm.pinyin(han) and norm.pinyin(han) == latin.replace(" ", "")
        if not same and len(latin) >= 3 and latin in han:  # 新Puma / Puma: a word added
            return _sim(0.8, f"{prefix}-contains")
        return _sim(PINYIN_CAP if same else 0.0, f"{prefix}-pinyin")
    if ha:
        ratio, contains = fuzz.ratio(a, b), fuzz.partial_ratio(a, b)
        long_enough = min(len(a), len(b)) >= 3
    else:
        ratio, contains = fuzz.token_sort_ratio(a, b), fuzz.token_set_ratio(a, b)
        long_enough = min(len(a.split()), len(b.split())) >= 2 or min(len(a), len(b)) >= 8
    if long_enough and contains == 100 and ratio < 100:
        return _sim(0.8, f"{prefix}-contains")
    return _sim(0.9 * ratio / 100, f"{prefix}-fuzzy")


def company_similarity(a_raw: object, b_raw: object) -> Similarity:
    """Similarity of two company names, legal suffixes and branch cities ignored.

    One name inside the other (``杭州星辰贸易`` / ``星辰贸易``) is a weak 0.8.

    >>> company_similarity("星辰贸易（杭州）有限公司", "星辰貿易有限公司")
    Similarity(score=1.0, method='company-exact')
    >>> company_similarity("星辰贸易有限公司", "星辰贸易有限责任公司")
    Similarity(score=0.97, method='company-exact')
    >>> company_similarity("杭州星辰贸易有限公司", "星辰贸易有限公司")
    Similarity(score=0.8, method='company-contains')
    """
    a, b = norm.company_name(a_raw), norm.company_name(b_raw)
    if a is None or b is None:
        return _MISSING
    same = a == b and norm.person_name(a_raw) == norm.person_name(b_raw)
    return _org_similarity(a, b, "company", same)


def shop_name_similarity(a_raw: object, b_raw: object) -> Similarity:
    """Similarity of two shop names, store suffixes ignored.

    Shop names are cheap to change and brand words are shared by honest
    shops, so containment is only weak evidence.

    >>> shop_name_similarity("耐克官方旗舰店", "耐克专卖店")
    Similarity(score=0.97, method='shop-exact')
    >>> shop_name_similarity("Sneaker World Store", "Sneaker Wrld").is_match
    True
    >>> shop_name_similarity("新Puma官方店", "Puma官方店")
    Similarity(score=0.8, method='shop-contains')
    """
    a, b = norm.shop_name(a_raw), norm.shop_name(b_raw)
    if a is None or b is None:
        return _MISSING
    same = a == b and norm.plain_text(a_raw) == norm.plain_text(b_raw)
    return _org_similarity(a, b, "shop", same)


# --------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------

_ROOM_PARTS = re.compile(r"(?:(.*)-)?([a-z]?)(\d+)([a-z]?)")


def _as_address(value: Address | object) -> Address | None:
    return value if isinstance(value, Address) else norm.address(value)


def _room_position(room: str) -> tuple[str, str, int] | None:
    """(unit, floor, index on the floor) of a room like '2-302' or '5b'."""
    m = _ROOM_PARTS.fullmatch(room)
    if m is None:
        return None
    unit, letter, digits, tail = m.group(1) or "", m.group(2), m.group(3), m.group(4)
    if len(digits) >= 3:
        return unit + letter, digits[:-2], int(digits[-2:])
    return unit + letter, digits, ord(tail) - ord("a") if tail else 0


def _neighbours(r1: str, r2: str) -> bool:
    p1, p2 = _room_position(r1), _room_position(r2)
    return bool(p1 and p2 and p1[:2] == p2[:2] and abs(p1[2] - p2[2]) <= 5)


def _within_place(a: Address, b: Address) -> Similarity:
    """Compare building and room of two addresses at the same place."""
    if a.building != b.building and a.building and b.building:
        return _sim(0.75, "same-place")
    if a.building != b.building:  # only one of them names the building
        same_room = a.room is not None and a.room == b.room
        return _sim(0.85 if same_room else 0.8, "same-building" if same_room else "same-place")
    if a.room == b.room:
        return _sim(0.97, "same-room" if a.room else "same-address")
    if a.room and b.room and _neighbours(a.room, b.room):
        return _sim(0.9, "same-building-neighbour-room")
    return _sim(0.85, "same-building")


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _localities_agree(a: str, b: str) -> bool:
    """One locality is missing or written inside the other ('杭州余杭区' / '余杭区')."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    return a in b or b in a


def _place_factor(a: Address, b: Address) -> float | None:
    """1.0 same place, <1 the same place written differently, None otherwise."""
    if a.place == b.place:
        return 1.0
    if a.street == b.street and _numbers(a.street) and _localities_agree(a.locality, b.locality):
        return 0.99
    if not _numbers(a.place) or _numbers(a.place) != _numbers(b.place):
        return None
    scorer = fuzz.ratio if a.script == "zh" else fuzz.token_set_ratio
    return 0.95 if scorer(a.place, b.place) >= 90 else None


def street_key(a: Address | None) -> str | None:
    """A Latin address's street name and locality without its house number (``None``
    without both): neighbours on one street of one postcode share it.

    >>> from graphlink.normalise import address
    >>> street_key(address("277 King Close, Manchester M1 3LX"))
    'king cl|manchester m1 3lx'
    """
    if a is None or a.script != "latin" or not a.locality or not _numbers(a.street):
        return None
    name = " ".join(t for t in a.street.split() if not any(c.isdigit() for c in t))
    return f"{name}|{a.locality}" if name else None


def same_street(a: Address, b: Address) -> bool:
    """Two Latin addresses on one street of one locality, at different numbers."""
    key = street_key(a)
    return key is not None and key == street_key(b) and _numbers(a.street) != _numbers(b.street)


def address_anchors(a: Address | None) -> tuple[object, ...]:
    """What two addresses must share for :func:`address_similarity` to reach
    ``POSSIBLE``: position by position, the place, the street when numbered, the
    place's numbers, the street key (``None`` where there is none).

    Two addresses agreeing at no position score below ``POSSIBLE``, so a
    neighbourhood scan can leave the full comparison to those that do.

    >>> address_anchors(norm.address("12 Harbour Rd, Flat 5B"))[1:3]
    ('12 harbour rd', ('12',))
    >>> address_anchors(None)
    (None, None, None, None)
    """
    if a is None:
        return (None, None, None, None)
    numbers = tuple(_numbers(a.place))
    return (a.place, a.street if _numbers(a.street) else None, numbers or None, street_key(a))


def address_similarity(a: Address | object, b: Address | object) -> Similarity:
    """Similarity of two dispatch addresses (Address objects or raw text).

    Same canonical form: 1.0 ``same-address``. Same place (street and house
    number; a missing city or province, or a typo, costs a few points):
    same room 0.97 ``same-room``, a room next door 0.9
    ``same-building-neighbour-room``, another room 0.85 ``same-building``,
    another building 0.75 ``same-place``. Latin addresses at other numbers of one
    street and locality: 0.7 ``same-street`` (the neighbours' house). Otherwise a
    text ratio scaled to at most 0.6 (``address-fuzzy``), at most 0.4 when the
    numbers differ.

    Examples
    --------
    >>> address_similarity("杭州市余杭区文一西路998号5号楼302室",
    ...                    "浙江省杭州市余杭区文一西路998号五幢303室")
    Similarity(score=0.9, method='same-building-neighbour-room')
    >>> address_similarity("12 Harbour Road, Flat 5B", "12 Harbour Rd., Unit 5B")
    Similarity(score=1.0, method='same-address')
    >>> address_similarity("12 Harbour Rd", "14 Harbour Rd").is_possible
    False
    """
    a, b = _as_address(a), _as_address(b)
    if a is None or b is None:
        return _MISSING
    if a.canonical == b.canonical:
        return _sim(1.0, "same-address")
    if a.script != b.script:
        return _sim(0.0, "different-script")
    factor = _place_factor(a, b)
    if factor is not None:
        within = _within_place(a, b)
        return _sim(within.score * factor, within.method)
    if same_street(a, b):
        return _sim(POSSIBLE, "same-street")
    scorer = fuzz.ratio if a.script == "zh" else fuzz.token_sort_ratio
    score = 0.6 * scorer(a.canonical, b.canonical) / 100
    if _numbers(a.place) != _numbers(b.place):
        score = min(score, 0.4)
    return _sim(score, "address-fuzzy")


# --------------------------------------------------------------------------
# emails
# --------------------------------------------------------------------------


_ROLE_LOCALS = frozenset("info sales admin support service contact kefu shop office hello mail "
                         "webmaster noreply postmaster service order orders business".split())


def email_similarity(a_raw: object, b_raw: object) -> Similarity:
    """Similarity of two emails.

    Same canonical email 1.0; the same local part at another provider 0.85
    (``email-same-local``); the same skeleton (letters of the local part)
    0.85 when it has 6+ letters, else 0.75 (``email-skeleton``) -- but local parts
    with a number of their own (2+ digits, 6+ characters) one edit apart (a letter
    or digit mistyped) are 0.7 (``email-fuzzy``) first; otherwise a ratio of the
    local parts scaled to at most 0.65 (``email-fuzzy``: never a link on its own).
    Numeric local parts (QQ numbers) have no skeleton: the same number at another
    provider is ``email-same-local``, one digit added, dropped, changed or swapped
    0.7 ``email-fuzzy``; role addresses
    (``sales@``, ``kefu@``) barely count (``email-role``).

    >>> email_similarity("Zhang.Wei+shop@qq.com", "zhang.wei@QQ.com")
    Similarity(score=1.0, method='same-email')
    >>> email_similarity("zhang.wei88@qq.com", "zhangwei@163.com")
    Similarity(score=0.85, method='email-skeleton')
    >>> email_similarity("12345678@qq.com", "12345678@163.com")
    Similarity(score=0.85, method='email-same-local')
    >>> email_similarity("12345678@qq.com", "123456789@qq.com")
    Similarity(score=0.7, method='email-fuzzy')
    >>> email_similarity("12345678@qq.com", "12399999@qq.com").score
    0.0
    >>> email_similarity("zhangw972@163.com", "zhaangw972@163.com")
    Similarity(score=0.7, method='email-fuzzy')
    >>> email_similarity("liujingsi5931@gmail.com", "liujingsi5951@gmail.com").method
    'email-fuzzy'
    >>> email_similarity("liujingsi5931@gmail.com", "liu.jingsi88@qq.com").method
    'email-skeleton'
    """
    pa, pb = email_parts(a_raw), email_parts(b_raw)
    if pa is None or pb is None:
        return _MISSING
    (a, la, sa, na), (b, lb, sb, nb) = pa, pb
    if a == b:
        return _sim(1.0, "same-email")
    if sa is None or sb is None:
        return _numeric_locals(la, lb)
    if sa in _ROLE_LOCALS or sb in _ROLE_LOCALS:  # sales@, kefu@: shared by design
        return _sim(0.3 if sa == sb else 0.0, "email-role")
    if la == lb:
        return _sim(0.85 if len(la) >= 6 else 0.75, "email-same-local")
    # one character of a local part with a number of its own (its digits too): the same
    # mailbox mistyped, not just the same person's name (the skeleton); without digits,
    # zhangwei and zhangwen are two people
    if na and nb and OSA.distance(la, lb) <= 1:
        return _sim(0.7, "email-fuzzy")
    if sa == sb:
        return _sim(0.85 if len(sa) >= 6 else 0.75, "email-skeleton")
    return _sim(0.65 * fuzz.ratio(la, lb) / 100, "email-fuzzy")


@lru_cache(maxsize=1 << 21)
def email_parts(raw: object) -> tuple[str, str, str | None, bool] | None:
    """(canonical email, local part, skeleton, numbered?), once per value: linkage
    keys emails by skeleton and compares each with ten neighbours.

    >>> email_parts("Zhang.Wei88@QQ.com")
    ('zhang.wei88@qq.com', 'zhang.wei88', 'zhangwei', True)
    """
    email = norm.email(raw)
    if email is None:
        return None
    local = email.rpartition("@")[0]
    return email, local, norm.email_skeleton(email), _numbered(local)


def _numbered(local: str) -> bool:
    return len(local) >= 6 and sum(map(str.isdigit, local)) >= 2


def _numeric_locals(la: str, lb: str) -> Similarity:
    """Local parts without a skeleton (QQ numbers): the same, or one edit apart."""
    if la == lb and len(la) >= 6:
        return _sim(0.85, "email-same-local")
    if min(len(la), len(lb)) >= 6 and OSA.distance(la, lb) <= 1:
        return _sim(0.7, "email-fuzzy")
    return _sim(0.0, "email-different")


# --------------------------------------------------------------------------
# payments
# --------------------------------------------------------------------------


def _as_payment(value: Payment | object) -> Payment | None:
    return value if isinstance(value, Payment) else norm.payment(value)


def _visible(masked: Payment, other: Payment) -> tuple[int, int] | None:
    """Lengths of agreeing visible prefix and suffix, or None if they conflict."""
    mp, ms = masked.prefix or "", masked.suffix or ""
    if not other.masked:
        full = other.value
        ok = len(full) >= len(mp) + len(ms) and full.startswith(mp) and full.endswith(ms)
        return (len(mp), len(ms)) if ok else None
    op, os_ = other.prefix or "", other.suffix or ""
    ok = (mp.startswith(op) or op.startswith(mp)) and (ms.endswith(os_) or os_.endswith(ms))
    return (min(len(mp), len(op)), min(len(ms), len(os_))) if ok else None


def payment_similarity(a: Payment | object, b: Payment | object) -> Similarity:
    """Similarity of two payment endpoints (Payment objects or raw text).

    Full values and hashes match exactly (1.0 ``same-payment``) or not at all.
    A masked value agreeing with another value on 4+ visible leading and 4+
    trailing characters scores 0.8 ``masked-prefix-suffix``: weak, because
    many cards share a BIN and last four; even two equal masks score 0.8.
    Fewer visible characters give 0.5 ``masked-partial``.

    >>> payment_similarity("6222****1234", "6222021234567891234")
    Similarity(score=0.8, method='masked-prefix-suffix')
    >>> payment_similarity("6222****1234", "6222****4321").score
    0.0
    """
    a, b = _as_payment(a), _as_payment(b)
    if a is None or b is None:
        return _MISSING
    if not a.masked and not b.masked:
        return _sim(1.0, "same-payment") if a.value == b.value else _sim(0.0, "different-payment")
    if a.hashed or b.hashed:
        return _sim(0.0, "different-payment")
    masked, other = (a, b) if a.masked else (b, a)
    visible = _visible(masked, other)
    if visible is None:
        return _sim(0.0, "different-payment")
    if min(visible) >= 4:
        return _sim(0.8, "masked-prefix-suffix")
    return _sim(0.5 if max(visible) >= 4 else 0.3, "masked-partial")
