"""People and their identifiers in a generated world: Chinese and Latin names,
ID numbers, phones, emails, devices, IPs and payment cards, how they are
written, and the variants (typos, aliases, edits) a comeback leaves.
"""

from __future__ import annotations

import hashlib
import operator
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from graphlink.synth.world import (
    _COUNTRIES,
    _FULLWIDTH,
    _LATIN_CODES,
    _LATIN_CUM,
    _TRADITIONAL,
    _Country,
    _int,
    _Person,
    _pick,
    _w,
    _weighted,
)

# ---- reference data: Chinese names


def _table(text: str) -> list[tuple[str, str]]:
    """``'张zhang 伟wei'`` -> ``[('张', 'zhang'), ('伟', 'wei')]``."""
    out = []
    for token in text.split():
        cut = next(i for i, ch in enumerate(token) if ch.isascii())
        out.append((token[:cut], token[cut:]))
    return out


_SURNAMES = _table(
    "王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma 朱zhu "
    "胡hu 郭guo 何he 林lin 罗luo 高gao 郑zheng 梁liang 谢xie 宋song 唐tang 许xu 韩han 冯feng "
    "邓deng 曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 潘pan 袁yuan 蔡cai 蒋jiang 余yu 于yu 杜du "
    "叶ye 程cheng 魏wei 苏su 丁ding 沈shen 任ren 姚yao 卢lu 傅fu 钟zhong 姜jiang 崔cui 谭tan "
    "陆lu 范fan 汪wang 廖liao 石shi 金jin 韦wei 贾jia 夏xia 方fang 邹zou 熊xiong 白bai 孟meng "
    "秦qin 邱qiu 侯hou 江jiang 尹yin 薛xue 段duan 雷lei 龙long 黎li 史shi 陶tao 贺he 毛mao "
    "郝hao 顾gu 龚gong 邵shao 万wan 武wu 钱qian 戴dai 严yan 章zhang 欧阳ouyang 上官shangguan")
_SUR_CUM = list(np.cumsum([1.0 / (i + 4) for i in range(len(_SURNAMES))]))
_GIVEN = _table(
    "伟wei 玮wei 维wei 炜wei 芳fang 方fang 娜na 敏min 民min 静jing 晶jing 婧jing 丽li 莉li "
    "立li 强qiang 磊lei 蕾lei 军jun 俊jun 君jun 洋yang 阳yang 勇yong 艳yan 燕yan 杰jie 洁jie "
    "娟juan 涛tao 明ming 鸣ming 超chao 秀xiu 霞xia 平ping 萍ping 刚gang 桂gui 英ying 莹ying "
    "华hua 红hong 宏hong 建jian 健jian 国guo 文wen 雯wen 辉hui 慧hui 玲ling 琳ling 鹏peng "
    "飞fei 菲fei 宇yu 雨yu 瑜yu 浩hao 昊hao 然ran 欣xin 鑫xin 新xin 佳jia 嘉jia 子zi 梓zi "
    "涵han 晗han 思si 晨chen 辰chen 博bo 海hai 斌bin 彬bin 峰feng 锋feng 亮liang 婷ting "
    "庭ting 雪xue 梅mei 琴qin 云yun 芸yun 凯kai 帆fan 志zhi 小xiao 晓xiao 春chun 东dong 一yi")
_PINYIN = dict(_SURNAMES + _GIVEN)
_HOMOPHONES: dict[str, list[str]] = {}
for _group in (_SURNAMES, _GIVEN):
    _by_sound: dict[str, list[str]] = {}
    for _han, _py in _group:
        _by_sound.setdefault(_py, []).append(_han)
    for _han, _py in _group:
        _HOMOPHONES[_han] = [h for h in _by_sound[_py] if h != _han]

_REGIONS = ("330106 330110 330108 330782 350302 350304 350582 350503 440106 440111 440304 "
            "440306 441900 310115 310112 110105 110108 510107 420106 320505 320106 350203 "
            "330302 410105 371302 430102 360102 340104 450102 130102").split()
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_BIRTH0 = date(1962, 1, 1)
_BIRTHS = [f"{_BIRTH0 + timedelta(days=d):%Y%m%d}"
           for d in range((date(2004, 12, 31) - _BIRTH0).days)]
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_FAMILY_FIRST = frozenset("Tan Lim Lee Wong Ng Ong Chong Teo".split())
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "á": "a",
                        "í": "i", "ó": "o", "ñ": "n", "ç": "c"})
_NICKS = {
    "Jonathan": "Jon", "John": "Jon", "William": "Bill", "Robert": "Bob", "Michael": "Mike",
    "Christopher": "Chris", "Elizabeth": "Liz", "Katherine": "Kate", "Daniel": "Dan",
    "Matthew": "Matt", "Thomas": "Tom", "James": "Jim", "Richard": "Rick", "Joseph": "Joe",
    "Anthony": "Tony", "Andrew": "Andy", "Jennifer": "Jenny", "Patricia": "Pat",
    "Mohammed": "Muhammad", "Muhammad": "Mohd", "Maria": "María", "Jose": "José",
    "Maximilian": "Max", "Katharina": "Kathi", "Stefan": "Stephan", "Sarah": "Sara",
    "Oliver": "Ollie", "Charles": "Charlie", "Barbara": "Barb", "Susan": "Sue",
}
_ACCENTED = {"Jose": "José", "Maria": "María", "Garcia": "García", "Lopez": "López",
             "Martinez": "Martínez", "Gonzalez": "González", "Hernandez": "Hernández",
             "Rodriguez": "Rodríguez", "Muller": "Müller", "Mueller": "Müller",
             "Zoe": "Zoë", "Chloe": "Chloë", "Rene": "René", "Andre": "André"}
_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "á": "a",
                        "í": "i", "ó": "o", "ñ": "n", "ç": "c", "ë": "e"})
_KEEP = {"geo_near": "geo", "email_provider": "email", "email_edit": "email",
         "card_holder": "holder"}  # a signal -> the cell that must not be left blank
_FIXED_DIGITS = {"CN": 3, "US": 4, "GB": 2, "MY": 2, "DE": 3}  # a mobile's fixed leading part
_SUR_VARIANTS = {
    "Smith": "Smyth", "Clarke": "Clark", "Thompson": "Thomson", "Johnson": "Jonson",
    "Müller": "Mueller", "Meyer": "Meier", "Schmidt": "Schmitt", "Garcia": "García",
    "Lopez": "López", "Hernandez": "Hernández", "Rodriguez": "Rodríguez",
    "Martinez": "Martínez", "Gonzalez": "González", "Davies": "Davis", "Brown": "Browne",
    "Ali": "Aly", "Khan": "Kahn", "Lee": "Li", "Tan": "Tang",
}

_CN_MOBILE = tuple(str(p) for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157,
                                    158, 159, 166, *range(170, 179), *range(180, 190), 191,
                                    198, 199))
_US_AREAS = _w("212,646,917,213,310,323,713,832,312,773,415,628")
_DE_MOBILE = _w("151,152,157,160,170,171,176,179")
_PHONE_FORMS = {
    "CN": ("{n}", "{n}", "{n}", "{n}", "+86 {a}-{b}-{c}", "{a} {b} {c}", "(+86){n}", "+86{n}",
           "{a}-{b}-{c}", "86-{n}"),
    "GB": ("+44 {a} {b}", "0{a} {b}", "+44{n}", "0{n}"),
    "US": ("+1 ({a}) {b}-{c}", "({a}) {b}-{c}", "{a}-{b}-{c}", "+1{n}", "{a}.{b}.{c}"),
    "MY": ("+60 {a}-{b} {c}", "0{a}-{b} {c}", "+60{n}", "0{n}"),
    "DE": ("+49 {a} {b}", "0{a} {b}", "+49{n}", "0{a}/{b}"),
}
_PHONE_CUTS = {"CN": (3, 7), "GB": (4, 10), "US": (3, 6), "MY": (2, 5), "DE": (3, 11)}
_ZH_MAIL = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com",
            "hotmail.com", "foxmail.com", "139.com")
_ZH_MAIL_CUM = (0.0, 0.45, 0.6, 0.68, 0.78, 0.86, 0.92, 0.98, 1.0)
_TAGS = _w("shop,store,2,new,biz,tb")
_CN_BANKS = _w("622202,622848,621700,622588,621483,622609,622260,621226,623668,621799")
_GB_BANKS = _w("NWBK,BARC,LOYD,HBUK,MIDL")
_ZH_OCTETS = (27, 36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 113, 114, 115, 116,
              118, 119, 120, 121, 122, 123, 124, 125, 180, 182, 183, 218, 219, 220, 221, 222)
_LATIN_OCTETS = (2, 5, 24, 31, 37, 46, 50, 62, 66, 67, 68, 69, 70, 71, 73, 74, 75, 76, 77,
                 78, 79, 80, 81, 82, 84, 86, 90, 94, 95, 98, 99, 175, 202, 203, 210)
_NAT_PREFIXES = ("223.104", "112.97", "117.136", "120.204")
_NAT_LATIN = ("92.40", "172.56")


def _luhn(body: str) -> str:
    """Append the Luhn check digit.

    >>> _luhn("7992739871")
    '79927398713'
    """
    digits = list(map(int, body))
    total = sum(digits[-2::-2]) + sum(_DOUBLED[d] for d in digits[-1::-2])
    return body + str(-total % 10)


def _cn_id_check(body17: str) -> str:
    """Check character of an 18-character resident ID (GB 11643).

    >>> _cn_id_check("11010519491231002")
    'X'
    """
    return "10X98765432"[sum(map(operator.mul, map(int, body17), _ID_WEIGHTS)) % 11]


def _iban(country: str, bban: str) -> str:
    """IBAN with correct check digits.

    >>> _iban("GB", "WEST12345698765432")
    'GB82WEST12345698765432'
    """
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _sha(value: str) -> str:
    """How pre-hashed values arrive: sha256 hex of the canonical value."""
    return hashlib.sha256(value.encode()).hexdigest()


def _masks(value: str) -> list[str]:
    """The masked forms a platform shows for one card or account number.

    >>> _masks("6222021234567891234")
    ['6222****1234', '622202*********1234', '6222 **** **** 1234']
    """
    return [f"{value[:4]}****{value[-4:]}", f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}",
            f"{value[:4]} **** **** {value[-4:]}"]


def _mask_key(text: str) -> tuple[str, str] | None:
    """(visible prefix, last 4) of a masked endpoint, None when not masked."""
    if "*" not in text:
        return None
    compact = text.replace(" ", "")
    return compact.split("*", 1)[0], compact[-4:]


def _mask_options(card: str, endpoints: Sequence[str]) -> list[str]:
    """Masked forms of ``card`` whose (prefix, last 4) none of ``endpoints`` shows."""
    used = [k for k in map(_mask_key, endpoints) if k]
    return [m for m in _masks(card) if _mask_key(m) not in used]


def _render_card(value: str, r: random.Random) -> str:
    """A card or account number as one shop's payments table shows it."""
    u = r.random()
    if u < 0.78:
        return value
    if u < 0.86:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    if u < 0.96:
        return _pick(r, _masks(value)[:2])
    return _sha(value)


def _render_phone(country: str, n: str, r: random.Random) -> str:
    """A national number in one of the formats people type.

    >>> [_render_phone("CN", "13800138000", random.Random(s)) for s in (0, 5, 6)]
    ['138-0013-8000', '(+86)13800138000', '+8613800138000']
    """
    i, j = _PHONE_CUTS[country]
    text = _pick(r, _PHONE_FORMS[country]).format(n=n, a=n[:i], b=n[i:j], c=n[j:])
    if country == "CN" and r.random() < 0.04:
        text = text.translate(_FULLWIDTH)
    return text


def _zh_name_variant(surname: str, given: str, r: random.Random) -> str:
    """Pinyin, reordered, homophone-typo or spaced form of a Hanzi name.

    >>> sorted({_zh_name_variant("张", "伟", random.Random(s)) for s in range(40)})[:4]
    ['WEI ZHANG', 'Wei Zhang', 'ZHANG WEI', 'Zhang Wei']
    """
    sp, gp = _PINYIN[surname], "".join(_PINYIN[c] for c in given)
    u = r.random()
    if u < 0.3:
        return f"{sp.title()} {gp.title()}"
    if u < 0.45:
        return f"{gp.title()} {sp.title()}"
    if u < 0.55:
        return _pick(r, (f"{sp} {gp}".upper(), f"{gp} {sp}".upper(), f"{sp}{gp}"))
    if u < 0.65:
        return f"{surname} {given}"
    chars = list(surname + given) if len(surname) == 1 else [surname, *given]
    spots = [i for i, ch in enumerate(chars) if _HOMOPHONES.get(ch)]
    if not spots:
        return f"{sp.title()} {gp.title()}"
    i = _pick(r, spots)
    chars[i] = _pick(r, _HOMOPHONES[chars[i]])
    return "".join(chars)


def _typo(word: str, r: random.Random) -> str:
    """A known spelling variant, else two neighbouring letters swapped.

    >>> _typo("Smith", random.Random(0))
    'Smyth'
    """
    if word in _SUR_VARIANTS:
        return _SUR_VARIANTS[word]
    spots = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1] and word[i + 1] != " "]
    if not spots:
        return word + word[-1]
    i = _pick(r, spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _latin_name_variant(first: str, last: str, r: random.Random) -> str:
    """Nickname, spelling variant, initials, reordering or capitals.

    >>> [_latin_name_variant("Jonathan", "Smith", random.Random(s)) for s in (1, 3, 5, 6)]
    ['Jon Smith', 'Jonathan Smyth', 'Smith, Jonathan', 'J. Smith']
    """
    nick = _NICKS.get(first, first)
    u = r.random()
    if u < 0.2:
        return f"{nick} {last}"
    if u < 0.4:
        return f"{first} {_typo(last, r)}"
    if u < 0.55:
        return f"{nick} {_typo(last, r)}"
    if u < 0.7:
        return f"{last}, {first}"
    if u < 0.8:
        return f"{first[0]}. {last}"
    if u < 0.9:
        return f"{first} {last}".upper()
    return f"{first} {chr(65 + _int(r, 26))}. {last}"


def _email_variant(email: str, r: random.Random) -> str:
    """Dots moved, a plus tag, other digits or another provider.

    >>> for s in (3, 5, 6, 7):
    ...     print(_email_variant("zhangwei88@163.com", random.Random(s)))
    zhan.gwei88@163.com
    zhangwei7418@163.com
    zhangwei88@gmail.com
    zhangwei88+shop@163.com
    """
    local, _, domain = email.partition("@")
    stem = local.rstrip("0123456789")
    u = r.random()
    if u < 0.25 and not local.isdigit():
        if "." in local:
            return f"{local.replace('.', '')}@{domain}"
        i = _int(r, 1, max(2, len(stem)))
        return f"{local[:i]}.{local[i:]}@{domain}"
    if u < 0.45:
        return f"{local}+{_pick(r, _TAGS)}@{domain}"
    if u < 0.75 and stem:
        return f"{stem}{_int(r, 1, 10000)}@{domain}"
    other = _pick(r, [d for d in (*_ZH_MAIL, "gmail.com", "outlook.com") if d != domain])
    return f"{local}@{other}"


def _name_variant(p: _Person, r: random.Random) -> str:
    """A variant of the person's registered name that differs from it."""
    for _ in range(8):
        name = (_zh_name_variant(p.surname, p.given, r) if p.zh
                else _latin_name_variant(p.given, p.surname, r))
        if name != p.name:
            return name
    return p.name.upper() if not p.zh else f"{p.surname} {p.given}"


# ---- pure helpers of mixed worlds: the weak signals a comeback leaves


def _phone_edit(n: str, country: str, r: random.Random) -> str:
    """One digit changed, or two neighbouring digits swapped, past the fixed prefix.

    >>> [_phone_edit("13800138000", "CN", random.Random(s)) for s in (0, 1, 3)]
    ['13800138040', '13800130800', '13800183000']
    """
    start = _FIXED_DIGITS[country]
    spots = [i for i in range(start, len(n) - 1) if n[i] != n[i + 1]]
    if spots and r.random() < 0.35:
        i = _pick(r, spots)
        return n[:i] + n[i + 1] + n[i] + n[i + 2:]
    i = _int(r, start, len(n))
    return n[:i] + str((int(n[i]) + _int(r, 1, 10)) % 10) + n[i + 1:]


def _email_provider(email: str, providers: Sequence[str], r: random.Random) -> str:
    """The same mailbox name at another provider.

    >>> _email_provider("12345678@qq.com", ("qq.com", "163.com"), random.Random(0))
    '12345678@163.com'
    """
    local, _, domain = email.partition("@")
    return f"{local}@{_pick(r, [d for d in providers if d != domain])}"


def _email_edit(email: str, r: random.Random) -> str:
    """The same provider, the mailbox name with one small edit: a digit changed or
    added, a dot, a letter doubled or a plus tag.

    >>> for s in (1, 2, 5, 6, 7):
    ...     print(_email_edit("zhangwei88@163.com", random.Random(s)))
    zhangwei85@163.com
    zhangwei88+tb@163.com
    zhangw.ei88@163.com
    zhangweei88@163.com
    zhangwei881@163.com
    """
    local, _, domain = email.partition("@")
    digits = [i for i, ch in enumerate(local) if ch.isdigit() and (i or not local.isdigit())]
    u = r.random()
    if u < 0.3 and digits:
        i = _pick(r, digits)
        local = local[:i] + str((int(local[i]) + _int(r, 1, 10)) % 10) + local[i + 1:]
    elif u < 0.45 or (u < 0.8 and local.isdigit()):
        local += str(_int(r, 10))
    elif u < 0.65 and "." in local:
        local = local.replace(".", "", 1)
    elif u < 0.65:
        i = _int(r, 1, max(2, len(local.rstrip("0123456789"))))
        local = f"{local[:i]}.{local[i:]}"
    elif u < 0.8:
        i = _pick(r, [k for k, ch in enumerate(local) if ch.isalpha()] or [0])
        local = local[:i] + local[i] + local[i:]
    else:
        local = f"{local}+{_pick(r, _TAGS)}"
    return f"{local}@{domain}"


def _script_variant(name: str) -> str:
    """Traditional characters of a Hanzi name; diacritics dropped from, or added to, a
    Latin one; the name itself when there is no such form.

    >>> _script_variant("张伟"), _script_variant("Jose Garcia"), _script_variant("Lukas Müller")
    ('張偉', 'José García', 'Lukas Muller')
    """
    if any("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name.translate(_TRADITIONAL)
    if not name.isascii():
        return name.translate(_PLAIN)
    return " ".join(_ACCENTED.get(word, word) for word in name.split(" "))


def _mix_name_variant(p: _Person, r: random.Random) -> str:
    """A variant of the registered name: pinyin, homophone typo, reordered, traditional
    form (Hanzi); nickname, initial, swapped, spelling or diacritics (Latin)."""
    alt = _script_variant(p.name)
    if alt != p.name and r.random() < 0.3:
        return alt
    return _name_variant(p, r)


def _ip_block(ip: str, r: random.Random) -> str:
    """Another address of the same IPv4 /24 block.

    >>> _ip_block("58.23.140.7", random.Random(1))
    '58.23.140.35'
    """
    head, _, last = ip.rpartition(".")
    return f"{head}.{_pick(r, [k for k in range(1, 255) if str(k) != last])}"


def _card_twin(card: str, r: random.Random) -> str:
    """Another card number with the same first six and last four digits (and a valid
    Luhn check when ``card`` has one): the same masked form, a different card.

    >>> card = _luhn("622202123456789123")
    >>> twin = _card_twin(card, random.Random(0))
    >>> twin != card, _masks(twin) == _masks(card), _luhn(twin[:-1]) == twin
    (True, True, True)
    """
    luhn = _luhn(card[:-1]) == card
    for _ in range(1000):
        middle = "".join(str(_int(r, 10)) for _ in range(len(card) - 10))
        twin = card[:6] + middle + card[-4:]
        if twin != card and (not luhn or _luhn(twin[:-1]) == twin):
            return twin
    raise RuntimeError(f"no twin for card {card}")  # a bug, not bad luck


# ---- the world: identifiers and people


class _People:
    """The world's identifiers and people: devices, IPs, cards, accounts,
    persons with their ids, phones and emails, relatives and aliases (a mixin of
    :class:`_World`, whose random state and registry of used values it shares)."""

    # ---- identifiers -----------------------------------------------------

    def _unique(self, make: Callable[[], str]) -> str:
        """A value from ``make`` that no one in this world has used yet."""
        for _ in range(10_000):
            value = make()
            if value not in self.taken:
                self.taken.add(value)
                return value
        raise RuntimeError("generator ran out of unique values")  # a bug, not bad luck

    def _device(self) -> str:
        x, u = self.r.getrandbits(128), self.r.random()
        if u < 0.45:
            return f"{x:032x}"
        if u < 0.8:
            h = f"{x:032X}"
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return f"{x >> 64:016x}"

    def _ip(self, zh: bool) -> str:
        r = self.r

        def make() -> str:
            if r.random() < 0.05:
                groups = ":".join(f"{r.getrandbits(16):x}" for _ in range(5))
                return f"{'240e' if zh else '2a02'}:{r.getrandbits(12):x}:{groups}"
            first = _pick(r, _ZH_OCTETS if zh else _LATIN_OCTETS)
            return f"{first}.{_int(r, 256)}.{_int(r, 256)}.{_int(r, 1, 255)}"

        return self._unique(make)

    def _card(self, zh: bool, bank: bool) -> str:
        r = self.r

        def make() -> str:
            if zh and bank:
                return _luhn(_pick(r, _CN_BANKS) + f"{_int(r, 10 ** 12):012d}")
            if zh:
                return _luhn("6225" + f"{_int(r, 10 ** 11):011d}")
            if not bank:
                prefix = _pick(r, ("4", "4", "51", "53", "55"))
                return _luhn(prefix + f"{_int(r, 10 ** 14):014d}"[len(prefix) - 1:])
            return self._latin_account()

        return self._unique(make)

    def _latin_account(self) -> str:
        r, u = self.r, self.r.random()
        if u < 0.4:
            bban = f"{_pick(r, _GB_BANKS)}{_int(r, 10 ** 14):014d}"
            return _iban("GB", bban)
        if u < 0.6:
            return _iban("DE", f"{_int(r, 10 ** 9):09d}{_int(r, 10 ** 9):09d}")
        return f"{_int(r, 10 ** 11, 10 ** 12)}"

    # ---- people ----------------------------------------------------------

    def _person(self, zh: bool, **fixed: str) -> _Person:
        return self._zh_person(**fixed) if zh else self._latin_person(**fixed)

    def _zh_person(self, surname: str = "", given: str = "", region: str = "",
                   country: str = "") -> _Person:
        r = self.r
        sur = surname or _weighted(r, _SURNAMES, _SUR_CUM)[0]
        giv = given or "".join(_pick(r, _GIVEN)[0] for _ in range(1 + (r.random() < 0.65)))
        region = region or _pick(r, _REGIONS)
        raw = self._unique(lambda: self._cn_id_raw(region))
        n = self._unique(lambda: _pick(r, _CN_MOBILE) + f"{_int(r, 10 ** 8):08d}")
        return _Person(True, "CN", sur, giv, sur + giv, self._render_id(raw), raw, n,
                       _render_phone("CN", n, r), self._zh_email(sur, giv), region)

    def _cn_id_raw(self, region: str) -> str:
        r = self.r
        body = f"{region}{_pick(r, _BIRTHS)}{_int(r, 1000):03d}"
        return body + _cn_id_check(body)

    def _render_id(self, raw: str) -> str:
        """Most IDs as issued; a few typed wrong (bad check) or pre-hashed."""
        u = self.r.random()
        if u < 0.03 and raw[-1].isdigit():
            return raw[:-1] + str((int(raw[-1]) + 1 + _int(self.r, 8)) % 10)
        if u < 0.07:
            return _sha(raw.upper())
        if u < 0.09:
            return raw.lower()
        return raw

    def _zh_email(self, sur: str, giv: str) -> str:
        r = self.r

        def make() -> str:
            domain = _weighted(r, _ZH_MAIL, _ZH_MAIL_CUM)
            if domain == "qq.com" or r.random() < 0.1:
                return f"{_int(r, 10 ** 5, 10 ** 10)}@{domain}"
            sp, gp = _PINYIN[sur], "".join(_PINYIN[c] for c in giv)
            local = _pick(r, (sp + gp, f"{sp}.{gp}", f"{gp}.{sp}", sp[0] + gp, sp + gp[0]))
            return f"{local}{_int(r, 10, 10000)}@{domain}"

        return self._unique(make)

    def _latin_person(self, surname: str = "", given: str = "", region: str = "",
                      country: str = "") -> _Person:
        r = self.r
        code = country or _weighted(r, _LATIN_CODES, _LATIN_CUM)
        c = _COUNTRIES[code]
        male_names, female_names, lasts = _pick(r, c.groups)
        male = r.random() < 0.5
        first = given or _pick(r, male_names if male else female_names)
        last = surname or _pick(r, lasts)
        if not male and last.startswith("bin "):
            last = "binti " + last[4:]
        name = f"{last} {first}" if last in _FAMILY_FIRST else f"{first} {last}"
        raw = self._unique(lambda: self._passport(code))
        n = self._unique(lambda: self._latin_msisdn(code))
        return _Person(False, code, last, first, name, self._render_id(raw), raw, n,
                       _render_phone(code, n, r), self._latin_email(first, last, c), region)

    def _passport(self, code: str) -> str:
        r = self.r
        if code == "MY":
            return f"{_pick(r, _BIRTHS)[2:]}-{_int(r, 1, 17):02d}-{_int(r, 10 ** 4):04d}"
        if code == "DE":
            return _pick(r, "CFGHJKLMNPRTVWXYZ") + "".join(
                _pick(r, "CFGHJKLMNPRTVWXYZ0123456789") for _ in range(8))
        if code == "US" and r.random() < 0.4:
            return _pick(r, "ACDEFGHJ") + f"{_int(r, 10 ** 8):08d}"
        return f"{_int(r, 1, 6)}{_int(r, 10 ** 8):08d}"

    def _latin_msisdn(self, code: str) -> str:
        r = self.r
        if code == "GB":
            return f"7{_int(r, 1, 10)}{_int(r, 10 ** 8):08d}"
        if code == "US":
            return f"{_pick(r, _US_AREAS)}{_int(r, 2, 10)}{_int(r, 10 ** 6):06d}"
        if code == "MY":
            return f"1{_pick(r, '2367')}{_int(r, 10 ** 7):07d}"
        return f"{_pick(r, _DE_MOBILE)}{_int(r, 10 ** 8):08d}"

    def _latin_email(self, first: str, last: str, c: _Country) -> str:
        r = self.r
        f = first.lower().translate(_ASCII).replace(" ", "")
        last = last.lower().translate(_ASCII).replace(" ", "")

        def make() -> str:
            local = _pick(r, (f"{f}.{last}", f + last, f[0] + last, f"{f}_{last}",
                              f"{last}.{f}", f + last[0]))
            return f"{local}{_int(r, 1, 10000)}@{_pick(r, c.mails)}"

        return self._unique(make)

    def _relative(self, p: _Person) -> _Person:
        """Same surname and home region, everything else the relative's own."""
        return self._person(p.zh, surname=p.surname, region=p.region, country=p.country)

    def _alias(self, p: _Person) -> _Person:
        """The same person registering again: name variant, typo'd ID, new phone."""
        r = self.r
        fresh = self._person(p.zh, surname=p.surname, given=p.given, region=p.region,
                             country=p.country)
        raw = self._unique(lambda: self._id_typo(p.id_raw))
        email = self._unique(lambda: _email_variant(p.email, r))
        return replace(fresh, name=_name_variant(p, r), id_number=raw, id_raw=raw, email=email)

    def _id_typo(self, raw: str) -> str:
        """One digit mistyped or two swapped (check character kept or recomputed)."""
        r = self.r
        i = _pick(r, [k for k in range(len(raw) - 1) if raw[k].isdigit()] or [0])
        if raw[i + 1].isdigit() and raw[i] != raw[i + 1] and r.random() < 0.5:
            typo = raw[:i] + raw[i + 1] + raw[i] + raw[i + 2:]
        elif raw[i].isdigit():
            typo = raw[:i] + str((int(raw[i]) + _int(r, 1, 10)) % 10) + raw[i + 1:]
        else:
            typo = raw[:i] + chr((ord(raw[i]) - 65 + _int(r, 1, 26)) % 26 + 65) + raw[i + 1:]
        if len(raw) == 18 and r.random() < 0.5:
            typo = typo[:17] + _cn_id_check(typo[:17])
        return typo
