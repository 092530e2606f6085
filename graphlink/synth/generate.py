"""Synthetic marketplaces with known answers.

:func:`generate_world` writes a dataset in the standard layout (CONTRACT.md
section 1) and, beside it (never inside it), the ground truth: which shops one
real-world operator runs, which new shops are banned counterfeiters coming
back under a new identity (and how hard each is to catch), which shops deal
for one counterfeiting factory, and which honest shops sit in the benign traps
that fool naive linkage (e-commerce parks, fulfilment warehouses, carrier NAT
IPs, very common names, families).

Everything random is drawn from ``random.Random(seed)`` and
``numpy.random.default_rng(seed)``: one seed gives byte-identical files. Rows
are streamed to disk shop by shop, so memory grows only with the special
(non-singleton) shops and the registry of used identifiers.

``mix`` makes a world harder and different from the default one: a
:class:`WorldMix` (or ``"random"`` for ``WorldMix.draw(seed)``) sets the share
of each re-registration tier (adding ``single``, one weak signal, and
``none``, a fresh identity), which weak signals link a comeback to its banned
parent (recorded per shop in the truth column ``signals``), and the size of
every honest trap, including two more: ``room_turnover`` and
``card_collision``. Without ``mix`` the files are exactly those of earlier
versions.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = generate_world(Path(tmp) / "world", shops=200, seed=1)
...     summary.rows["shops"], summary.truth.name
(200, 'world.truth')
"""

from __future__ import annotations

import argparse
import bisect
import csv
import hashlib
import json
import math
import operator
import random
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = ["WorldMix", "WorldSummary", "generate_world", "MIN_SHOPS", "ROLES", "TIERS",
           "MIX_ROLES", "MIX_TIERS", "SIGNALS", "DEMO_MIX"]

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

# --------------------------------------------------------------------------
# time: floats are days since 2024-01-01; the world ends 2026-10-31
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# reference data: Chinese names
# --------------------------------------------------------------------------


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

# --------------------------------------------------------------------------
# reference data: Chinese places
# --------------------------------------------------------------------------

_ZH_CITIES = (
    ("浙江省", "杭州市", 30.274, 120.155, "西湖区 余杭区 滨江区 拱墅区 萧山区",
     "文一西路 文三路 天目山路 江南大道 莫干山路 古墩路 教工路"),
    ("浙江省", "义乌市", 29.306, 120.075, "稠城街道 北苑街道 江东街道 福田街道",
     "工人北路 稠州北路 城中中路 宗泽路 丹溪北路"),
    ("浙江省", "温州市", 28.000, 120.672, "鹿城区 瓯海区 龙湾区",
     "人民路 车站大道 温州大道 学院路"),
    ("广东省", "广州市", 23.129, 113.264, "白云区 天河区 越秀区 海珠区 番禺区",
     "广州大道 中山大道 黄埔大道 解放北路 机场路 增槎路"),
    ("广东省", "深圳市", 22.543, 114.058, "福田区 南山区 龙岗区 宝安区 罗湖区",
     "深南大道 华强北路 科技园路 沙河西路 布吉路 宝安大道"),
    ("广东省", "东莞市", 23.021, 113.752, "长安镇 虎门镇 厚街镇 南城街道 塘厦镇",
     "长安大道 虎门大道 莞太路 东莞大道 振安路"),
    ("福建省", "莆田市", 25.454, 119.008, "荔城区 城厢区 涵江区 秀屿区",
     "荔园路 文献路 东园路 学园路 梅园路"),
    ("福建省", "泉州市", 24.874, 118.676, "晋江市 丰泽区 鲤城区 石狮市",
     "泉秀路 丰泽街 刺桐路 温陵路 世纪大道"),
    ("福建省", "厦门市", 24.480, 118.089, "思明区 湖里区 集美区",
     "厦禾路 湖滨南路 嘉禾路 集美大道"),
    ("", "上海市", 31.230, 121.474, "浦东新区 闵行区 徐汇区 静安区 松江区",
     "张杨路 沪闵路 漕溪北路 南京西路 九亭大街"),
    ("", "北京市", 39.904, 116.407, "朝阳区 海淀区 丰台区 大兴区 通州区",
     "建国路 中关村大街 丰台路 兴华大街 新华大街"),
    ("四川省", "成都市", 30.573, 104.066, "武侯区 锦江区 青羊区 成华区 金牛区",
     "人民南路 春熙路 蜀都大道 建设路 一环路"),
    ("湖北省", "武汉市", 30.593, 114.305, "江汉区 武昌区 洪山区 汉阳区",
     "解放大道 中山路 珞喻路 汉阳大道"),
    ("江苏省", "苏州市", 31.299, 120.585, "姑苏区 工业园区 吴中区 相城区",
     "人民路 干将路 星湖街 东环路"),
    ("江苏省", "南京市", 32.060, 118.797, "鼓楼区 玄武区 秦淮区 江宁区",
     "中山北路 中山东路 汉中路 双龙大道"),
    ("河南省", "郑州市", 34.747, 113.625, "金水区 二七区 中原区",
     "花园路 农业路 大学路"),
    ("山东省", "临沂市", 35.105, 118.356, "兰山区 罗庄区 河东区",
     "沂蒙路 通达路 解放路"),
)
_ZH_CITIES = tuple((p, c, la, lo, tuple(d.split()), tuple(ro.split()))
                   for p, c, la, lo, d, ro in _ZH_CITIES)
_FACTORY_CITIES = (5, 3, 6, 7, 1, 2, 4)  # Dongguan, Guangzhou, Putian, Quanzhou, Yiwu, ...
_ZONE_STEMS = ("沙头 宝龙 龙华 黄石 陈埭 北苑 娄桥 福永 石湖 大岭 横沥 新塘 永和 金山 鹤山 "
               "西丽 松岗 官田 上沙 洋湖 港口 安平 池店 华林 民乐 东城 西城 前进 红星 振兴").split()
_ROAD_STEMS = "一 二 三 工业 兴业 创业 振兴 发展 科技 富民 长青 金龙 迎宾".split()
_COMPOUNDS = ("阳光花园 金色家园 翠苑小区 幸福里 锦绣城 碧桂园 万科城 绿城花园 东方名都 华府 雅苑 "
              "新村 御景湾 世纪城 和平里").split()
_PARKS = ("海创园 电子商务产业园 跨境电商产业园 网商创业园 数字经济产业园 智慧谷电商园 创意产业园 "
          "互联网产业园").split()
_STORES = "菜鸟智能仓 京东物流仓 顺丰云仓 中通云仓 国际物流园 电商云仓 跨境保税仓".split()
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_HANZI_DIGITS = "零一二三四五六七八九"
_TRADITIONAL = str.maketrans(
    "张刘陈杨黄赵吴孙马罗郑谢许韩冯邓蒋叶苏卢钟谭陆贾邹龙贺顾龚万钱严阳伟玮维炜静丽强军艳杰洁涛鸣刚莹华红国"
    "辉鹏飞锋晓东云凯欧韦",
    "張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蔣葉蘇盧鍾譚陸賈鄒龍賀顧龔萬錢嚴陽偉瑋維煒靜麗強軍豔傑潔濤鳴剛瑩華紅國"
    "輝鵬飛鋒曉東雲凱歐韋")

# --------------------------------------------------------------------------
# reference data: Latin-script countries
# --------------------------------------------------------------------------


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
_FAMILY_FIRST = frozenset("Tan Lim Lee Wong Ng Ong Chong Teo".split())
_ABBREV = {"Street": "St.", "Road": "Rd", "Avenue": "Ave", "Lane": "Ln", "Boulevard": "Blvd",
           "Drive": "Dr.", "Close": "Cl.", "Way": "Wy"}
_ESTATES = _w("Riverside,Kingsway,Parkside,Northgate,Eastfield,Westpoint,Meadow,Canal,Harbour")
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

# --------------------------------------------------------------------------
# reference data: shops, phones, payments, events
# --------------------------------------------------------------------------

_ZH_PREFIX = ("小美 潮流 优品 时尚 韩版 原创 精品 良品 悦己 木子 星辰 森系 极简 都市 乐享 鑫鑫 "
              "诚信 好运 百搭 初见 南风 青柠 暖阳 简约").split()
_CORES = (("服饰", "apparel"), ("女装", "apparel"), ("男装", "apparel"), ("鞋业", "shoes"),
          ("潮鞋", "shoes"), ("箱包", "bags"), ("美妆", "cosmetics"), ("手表", "watches"),
          ("饰品", "jewellery"), ("数码", "electronics"), ("童装", "kids"), ("家居", "home"),
          ("母婴", "baby"), ("运动", "sports"), ("零食", "food"), ("茶叶", "food"),
          ("宠物", "pets"), ("户外", "outdoor"), ("玩具", "toys"))
_RISKY_ZH = 10  # the first cores are what counterfeiters sell
_ZH_SUFFIX = "旗舰店 专营店 专卖店 小店 工作室 的店 优选 铺子 馆 屋 生活馆 精品店".split()
_BRANDS = ("Nike Adidas Gucci LV Dior Rolex Coach Apple Puma Zara MK YSL Chanel Prada "
           "Balenciaga NewBalance Supreme").split()
_BRAND_SUFFIX = "潮牌店 代购 正品店 折扣店 官方店 专柜 outlet".split()
_LATIN_ADJ = ("Urban Bella Golden Happy Blue Little Prime Royal Green Lucky Sunny Modern "
              "Vintage Smart Cosy Bright").split()
_NOUNS = (("Threads", "apparel"), ("Style", "apparel"), ("Kicks", "shoes"),
          ("Sneakers", "shoes"), ("Bags", "bags"), ("Beauty", "cosmetics"),
          ("Watch", "watches"), ("Jewels", "jewellery"), ("Gadget", "electronics"),
          ("Kids", "kids"), ("Home", "home"), ("Baby", "baby"), ("Sports", "sports"),
          ("Tea", "food"), ("Pet", "pets"), ("Outdoor", "outdoor"), ("Toys", "toys"))
_LATIN_SUFFIX = "Store,Shop,Boutique,Hub,Co.,Emporium,Outlet,Direct,Mart,Corner".split(",")
_BRAND_LATIN = "Outlet,Factory Store,Deals,Discount,Official,Wholesale".split(",")
_RISKY_LATIN = 9
_FIRMS = "鑫源 恒达 华盛 锦程 百川 万家 宏图 佳美".split()
_TRADES = "贸易 电子商务 服饰 科技 商贸".split()
_COMPANY = {"GB": "Ltd", "US": "LLC", "MY": "Sdn Bhd", "DE": "GmbH"}
_LATIN_STORES = _w("Prologis Park,Fulfilment Centre,Logistics Hub,Distribution Centre")

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
_REASONS = ("not_received", "not_received", "not_as_described", "not_as_described",
            "damaged", "late_delivery", "wrong_item", "refund")
_BAN_REASONS = ("counterfeit", "counterfeit", "counterfeit: brand complaint",
                "counterfeit: test buy failed", "counterfeit (repeat complaints)")
# level -> (mean disputes, share counterfeit, mean test buys, share fake)
_LEVELS = {"base": (0.3, 0.04, 0.12, 0.02), "cf": (3.5, 0.65, 1.2, 0.8),
           "dealer": (2.5, 0.5, 1.2, 0.55), "rereg": (0.8, 0.4, 0.3, 0.4)}
_COMMON = ("张伟", "John Smith", "王伟", "Maria Garcia", "王芳", "Mohammed Ali", "李娜", "刘洋")
_COMMON_COUNTRY = {"John Smith": "GB", "Maria Garcia": "US", "Mohammed Ali": "GB"}

TABLES = {
    "shops": ("shop_id", "name", "created_at", "status", "banned_at", "ban_reason", "category"),
    "accounts": ("account_id", "shop_id", "holder_name", "id_number", "phone", "email",
                 "created_at"),
    "devices": ("account_id", "device_id", "ip", "seen_at"),
    "addresses": ("shop_id", "address", "lat", "lon", "first_seen"),
    "payments": ("shop_id", "method", "endpoint", "holder_name", "first_seen"),
    "disputes": ("shop_id", "opened_at", "reason"),
    "test_buys": ("shop_id", "bought_at", "verdict"),
}
TRUTH_COLUMNS = ("shop_id", "operator_id", "community_id", "role", "tier", "parent_shop_ids",
                 "trap_group", "factory_id")

# --------------------------------------------------------------------------
# pure helpers: check digits, renderings, variants
# --------------------------------------------------------------------------


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


def _hanzi_number(k: int) -> str:
    """Chinese numeral for 0-99 (digits beyond).

    >>> _hanzi_number(5), _hanzi_number(12), _hanzi_number(25)
    ('五', '十二', '二十五')
    """
    if k < 10:
        return _HANZI_DIGITS[k]
    if k >= 100:
        return str(k)
    tens, ones = divmod(k, 10)
    return ("" if tens == 1 else _HANZI_DIGITS[tens]) + "十" + (_HANZI_DIGITS[ones] if ones else "")


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


def _poisson(r: random.Random, lam: float) -> int:
    """Knuth's Poisson draw, fine for the small means used here."""
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


def _building(b: int, r: random.Random) -> str:
    u = r.random()
    if u < 0.35:
        return f"{b}号楼"
    if u < 0.7:
        return f"{b}栋"
    if u < 0.85:
        return f"{b}幢"
    if u < 0.93:
        return f"{_hanzi_number(b)}幢"
    return f"{b}座"


def _room(room: int, r: random.Random) -> str:
    u = r.random()
    if u < 0.6:
        return f"{room}室"
    if u < 0.85:
        return str(room)
    return f"{room // 100}楼{room}室"


def _render(p: _Place, r: random.Random, plain: bool = False) -> str:
    """One way of writing a place; ``plain`` gives the full, tidy form.

    >>> home = _Place(True, "CN", "浙江省", "杭州市", "余杭区", "文一西路", "", 998, "海创园",
    ...               5, 302, "", 30.27, 120.02)
    >>> _render(home, random.Random(0), plain=True)
    '浙江省杭州市余杭区文一西路998号海创园5号楼302室'
    >>> for s in (0, 4, 7, 11):
    ...     print(_render(home, random.Random(s)))
    杭州市余杭区文一西路998号海创园5幢302室
    浙江省杭州市余杭区文一西路９９８号海创园５号楼３０２室
    浙江省 杭州市 余杭区 文一西路 998号 海创园 5号楼 302
    浙江省杭州市余杭区文一西路998号海创园5栋3楼302室
    """
    return _render_zh(p, r, plain) if p.zh else _render_latin(p, r, plain)


def _render_zh(p: _Place, r: random.Random, plain: bool) -> str:
    keep = plain or r.random() < 0.7
    parts = [p.province if keep else "", p.city, p.district, p.road, f"{p.number}号", p.compound]
    if p.building:
        parts.append(f"{p.building}号楼" if plain else _building(p.building, r))
    if p.room:
        parts.append(f"{p.room}室" if plain else _room(p.room, r))
    if plain:
        return "".join(x for x in parts if x)
    text = (" " if r.random() < 0.08 else "").join(x for x in parts if x)
    return text.translate(_FULLWIDTH) if r.random() < 0.07 else text


def _latin_street(p: _Place, r: random.Random, plain: bool) -> list[str]:
    """The street part: '12 Baker St.', 'No. 27, Jln Ampang', 'Hauptstr. 5'."""
    short = not plain and r.random() < 0.35
    if p.country == "MY":
        return [f"No. {p.number}", f"{'Jln' if short else 'Jalan'} {p.road}"]
    if p.country == "DE":
        road = p.road.replace("straße", "str.").replace("Straße", "Str.") if short else p.road
        return [f"{road} {p.number}"]
    kind = _ABBREV.get(p.kind, p.kind) if short else p.kind
    return [f"{p.number} {p.road} {kind}"]


def _render_latin(p: _Place, r: random.Random, plain: bool) -> str:
    c = _COUNTRIES[p.country]
    word = c.units[0] if plain else _pick(r, c.units)
    unit = "" if not p.room else f"#{p.room}" if word == "#" else f"{word} {p.room}"
    country = c.names[0] if plain or r.random() < 0.65 else ""
    street = _latin_street(p, r, plain)
    if p.country == "US":
        parts = [*street, unit, p.compound, p.city, f"{p.province} {p.postcode}", country]
    elif p.country == "MY":
        parts = [unit, p.compound, *street, f"{p.postcode} {p.city}", p.province, country]
    elif p.country == "DE":
        parts = [*street, unit, p.compound, f"{p.postcode} {p.city}", country]
    else:
        parts = [unit, p.compound, *street, f"{p.city} {p.postcode}", country]
    text = ", ".join(x for x in parts if x)
    return text.upper() if not plain and r.random() < 0.04 else text


def _neighbour(p: _Place, r: random.Random) -> _Place:
    """The room next door, or the house two numbers along."""
    if p.room:
        step = 1 if p.room % 100 <= 1 or r.random() < 0.5 else -1
        return replace(p, room=p.room + step)
    return replace(p, number=p.number + (2 if p.number <= 2 or r.random() < 0.5 else -2),
                   lat=p.lat + r.uniform(-2e-4, 2e-4), lon=p.lon + r.uniform(-2e-4, 2e-4))


def _family_home(p: _Place, r: random.Random) -> _Place:
    """Same building; the same flat or another one in it."""
    if r.random() < 0.4 or not p.room:
        return p
    room = _int(r, 1, 31) * 100 + _int(r, 1, 7) if p.zh else _int(r, 1, 41)
    return replace(p, room=room if room != p.room else room + 1)


def _shop_name_variant(name: str, zh: bool, r: random.Random) -> str:
    if zh:
        return _pick(r, (f"{name}2店", f"{name}二店", f"新{name}", f"{name}分店"))
    return _pick(r, (f"{name} II", f"The {name}", f"{name} 2", f"{name} Official"))


def _name_variant(p: _Person, r: random.Random) -> str:
    """A variant of the person's registered name that differs from it."""
    for _ in range(8):
        name = (_zh_name_variant(p.surname, p.given, r) if p.zh
                else _latin_name_variant(p.given, p.surname, r))
        if name != p.name:
            return name
    return p.name.upper() if not p.zh else f"{p.surname} {p.given}"


def _moved(lat: float, lon: float, dist: float, angle: float) -> tuple[float, float]:
    """The point ``dist`` metres from (lat, lon) in direction ``angle`` (radians from north).

    >>> [round(x, 5) for x in _moved(30.0, 120.0, 111.32, 0.0)]
    [30.001, 120.0]
    """
    return (lat + dist * math.cos(angle) / 111_320,
            lon + dist * math.sin(angle) / (111_320 * math.cos(math.radians(lat))))


# --------------------------------------------------------------------------
# pure helpers of mixed worlds: the weak signals a comeback leaves
# --------------------------------------------------------------------------


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


def _other_room(p: _Place, r: random.Random) -> _Place:
    """Another flat of the same building (the door along or another floor); the house
    two numbers along where there are no flats."""
    if not p.room or r.random() < 0.5:
        return _neighbour(p, r)
    room = _int(r, 1, 31) * 100 + _int(r, 1, 7) if p.zh else _int(r, 1, 41)
    return replace(p, room=room if room != p.room else room + 1)


def _drop_town(text: str, p: _Place, r: random.Random) -> str:
    """A Chinese address with its province or its city left out.

    >>> home = _Place(True, "CN", "浙江省", "杭州市", "余杭区", "文一西路", "", 998, "", 5,
    ...               302, "", 30.27, 120.02)
    >>> [_drop_town("浙江省杭州市余杭区文一西路998号5栋302室", home, random.Random(s))
    ...  for s in (0, 1)]
    ['浙江省余杭区文一西路998号5栋302室', '杭州市余杭区文一西路998号5栋302室']
    """
    part = p.province if p.province and p.province in text and r.random() < 0.5 else p.city
    return text.replace(f"{part} ", "", 1) if f"{part} " in text else text.replace(part, "", 1)


# --------------------------------------------------------------------------
# entities
# --------------------------------------------------------------------------


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


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`generate_world` wrote.

    Attributes
    ----------
    out, truth : Path
        The dataset folder and the ground-truth folder beside it.
    files : dict
        Table name -> CSV path (dataset tables, then ``truth_shops``,
        ``truth_factories``, ``truth_readme``).
    rows : dict
        Table name -> data rows written (headers not counted).
    roles : dict
        Ground-truth role -> number of shops (every role listed).
    tiers : dict
        Re-registration tier -> number of shops.
    factories : int
        Number of counterfeiting factories.
    mix : WorldMix or None
        The mix of a mixed world (then ``files`` has ``truth_mix``, ``roles``
        and ``tiers`` list ``MIX_ROLES`` and ``MIX_TIERS`` too).
    """

    out: Path
    truth: Path
    files: dict[str, Path]
    rows: dict[str, int]
    roles: dict[str, int]
    tiers: dict[str, int]
    factories: int
    mix: WorldMix | None = None


_TIER_FIELDS = ("exact", "fuzzy", "single", "none", "indirect")
_SHARE_FIELDS = ("counterfeit_share", "park_share", "warehouse_share", "nat_share",
                 "common_name_share", "family_share")
_RATE_FIELDS = ("fuzzy_extra", "room_turnover", "card_collision")
_SIZE_FIELDS = {"park_size": 1, "warehouse_size": 2, "nat_size": 2, "family_max": 2}
_MAX_RECENT = 365  # the originals of a recent comeback need ~16 months before the window


@dataclass(frozen=True)
class WorldMix:
    """How hard, and how varied, one generated world is.

    Attributes
    ----------
    exact, fuzzy, single, none, indirect : float
        Relative weights of the re-registration tiers: ``exact`` shares a device
        or full card number with a banned parent; ``fuzzy`` at least two weak
        signals and nothing exact; ``single`` exactly one weak signal; ``none``
        a fresh identity with no signal at all; ``indirect`` only a device or
        card of an ``exact`` sibling.
    signal_weights : tuple of (str, float)
        Relative weight of each weak signal of ``SIGNALS``, drawn per comeback.
    fuzzy_extra : float
        Chance of each further signal (up to five) on a fuzzy comeback past two.
    exact_cues : float
        Mean number of weak signals an exact comeback carries besides its
        shared device or card.
    counterfeit_share : float
        Share of shops run by counterfeit operators (originals and comebacks).
    park_share, park_size : float, int
        Share of shops in e-commerce parks (one street address, many buildings
        and rooms) and the typical shops per park.
    warehouse_share, warehouse_size : float, int
        The same for fulfilment warehouses (one address used verbatim).
    nat_share, nat_size : float, int
        The same for carrier NAT IPs.
    common_name_share : float
        Share of shops held by people with one of the very common names.
    family_share, family_max : float, int
        Share of shops run by honest relatives of one home building; largest family.
    room_turnover : float
        Chance that an honest new tenant registers at the very dispatch address a
        banned shop used, after the ban.
    card_collision : float
        Chance that an honest shop shows a masked card with the visible digits of
        a banned shop's card (a different card).
    recent : int
        Days at the end of the world (it ends 2026-10-31) that show comebacks: when
        positive, the first operator of each tier and about half of the others are
        banned before that window and come back inside it, and the last dealer of
        each factory joins inside it; ``0`` (default) keeps the usual timeline, where
        comebacks end months before the world does. ``graphlink demo`` uses 90
        (:data:`DEMO_MIX`).

    >>> WorldMix.draw(7) == WorldMix.draw(7) != WorldMix.draw(8)
    True
    >>> WorldMix(none=-1)
    Traceback (most recent call last):
    ...
    ValueError: WorldMix.none must be >= 0, got -1
    """

    exact: float = 0.35
    fuzzy: float = 0.3
    single: float = 0.15
    none: float = 0.08
    indirect: float = 0.12
    signal_weights: tuple[tuple[str, float], ...] = tuple((s, 1.0) for s in SIGNALS)
    fuzzy_extra: float = 0.3
    exact_cues: float = 0.7
    counterfeit_share: float = 0.04
    park_share: float = 0.04
    park_size: int = 120
    warehouse_share: float = 0.02
    warehouse_size: int = 100
    nat_share: float = 0.015
    nat_size: int = 150
    common_name_share: float = 0.008
    family_share: float = 0.015
    family_max: int = 4
    room_turnover: float = 0.3
    card_collision: float = 0.2
    recent: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.recent, bool) or not isinstance(self.recent, int) \
                or not 0 <= self.recent <= _MAX_RECENT:
            raise ValueError(f"WorldMix.recent must be an integer from 0 to {_MAX_RECENT}, "
                             f"got {self.recent!r}")
        for name in (*_TIER_FIELDS, "exact_cues", *_SHARE_FIELDS, *_RATE_FIELDS):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"WorldMix.{name} must be >= 0, got {value!r}")
        for name in (*_SHARE_FIELDS, *_RATE_FIELDS):
            if getattr(self, name) > 1:
                raise ValueError(f"WorldMix.{name} must be <= 1, got {getattr(self, name)!r}")
        for name, least in _SIZE_FIELDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"WorldMix.{name} must be an integer >= {least}, got {value!r}")
        if sum(getattr(self, t) for t in _TIER_FIELDS[:4]) <= 0:
            raise ValueError("WorldMix needs a positive weight for exact, fuzzy, single or none")
        self._check_signals()

    def _check_signals(self) -> None:
        weights = dict(self.signal_weights)
        unknown = set(weights) - set(SIGNALS)
        if unknown or len(weights) != len(self.signal_weights):
            raise ValueError(f"WorldMix.signal_weights: unknown or repeated {sorted(unknown)}")
        if any(not isinstance(w, int | float) or not w >= 0 for w in weights.values()):
            raise ValueError("WorldMix.signal_weights must be >= 0")
        if len({_SLOTS.get(s, s) for s, w in weights.items() if w > 0}) < 3:
            raise ValueError("WorldMix.signal_weights: weak signals of at least 3 kinds needed")

    @classmethod
    def draw(cls, seed: int) -> WorldMix:
        """A random mix for world ``seed``: fuzzy 20-50%, single 5-25%, none 0-15%,
        the rest exact (65-90%) or indirect; every signal weight, trap share and
        size drawn too (see docs/demo-world.md)."""
        r = random.Random(f"graphlink.WorldMix:{seed}")
        fuzzy, single, none = r.uniform(0.2, 0.5), r.uniform(0.05, 0.25), r.uniform(0, 0.15)
        rest = 1 - fuzzy - single - none
        indirect = rest * r.uniform(0.1, 0.35)
        tiers = {"fuzzy": fuzzy, "single": single, "none": none, "indirect": indirect,
                 "exact": rest - indirect}
        return cls(
            **{k: round(v, 4) for k, v in tiers.items()},
            signal_weights=tuple((s, round(r.uniform(0.2, 1.5), 3)) for s in SIGNALS),
            fuzzy_extra=round(r.uniform(0.1, 0.5), 3), exact_cues=round(r.uniform(0, 1.5), 3),
            counterfeit_share=round(r.uniform(0.025, 0.06), 4),
            park_share=round(r.uniform(0.01, 0.08), 4), park_size=_int(r, 20, 401),
            warehouse_share=round(r.uniform(0.005, 0.04), 4), warehouse_size=_int(r, 20, 301),
            nat_share=round(r.uniform(0.005, 0.04), 4), nat_size=_int(r, 10, 401),
            common_name_share=round(r.uniform(0.002, 0.015), 4),
            family_share=round(r.uniform(0.005, 0.04), 4), family_max=_int(r, 2, 7),
            room_turnover=round(r.uniform(0.1, 0.6), 3),
            card_collision=round(r.uniform(0.05, 0.4), 3))

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (``signal_weights`` as a dict), as in ``mix.json``."""
        return {**asdict(self), "signal_weights": dict(self.signal_weights)}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> WorldMix:
        """The mix of :meth:`as_dict` (e.g. a truth folder's ``mix.json``).

        >>> WorldMix.from_dict(WorldMix.draw(3).as_dict()) == WorldMix.draw(3)
        True
        """
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown WorldMix fields: {sorted(unknown)}")
        weights = values.get("signal_weights", dict(cls.signal_weights))
        return cls(**{**values, "signal_weights": tuple(dict(weights).items())})

    def weight(self, tier: str) -> float:
        """The weight of one tier (0 for ``indirect`` when there is no ``exact``)."""
        return 0.0 if tier == "indirect" and not self.exact else getattr(self, tier)


#: The world ``graphlink demo`` draws (``generate_world(..., mix="demo")``): the default
#: mix, with comebacks of every tier (exact, fuzzy, single, none, indirect), honest
#: look-alikes and a new factory dealer inside the last 90 days.
DEMO_MIX = WorldMix(recent=90)


def _mix_sizes(n: int, m: WorldMix) -> dict[str, int]:
    """Group counts and sizes of a mixed world of ``n`` shops."""
    size = _sizes(n)
    parks, houses, nat = (max(2, round(share * n)) for share in
                          (m.park_share, m.warehouse_share, m.nat_share))
    per_house, per_nat = min(m.warehouse_size, houses), min(m.nat_size, nat)
    names = max(2, round(m.common_name_share * n))
    count = min(len(_COMMON), max(2, names // 3))
    return {**size, "cf_ops": max(4 if n >= 200 else 2, round(m.counterfeit_share * n / 3.3)),
            "parks": max(1, round(parks / m.park_size)), "park_shops": parks,
            "warehouses": max(1, round(houses / per_house)),
            "wh_lo": max(2, per_house // 2), "wh_hi": max(2, per_house * 3 // 2),
            "nat": max(1, round(nat / per_nat)), "nat_size": per_nat,
            "names": count, "name_size": max(1, names // count),
            "families": max(1, round(m.family_share * n * 2 / (2 + m.family_max))),
            "family_max": m.family_max}


def _sizes(n: int) -> dict[str, int]:
    """Group counts and sizes for a world of ``n`` shops (minima shrink below 200 shops)."""
    f = min(1.0, n / 200) ** 1.5
    return {
        "factories": max(2, round(n / 600)),
        "dealers_lo": 4 if n >= 200 else 2, "dealers_hi": int(np.clip(n // 25, 4, 12)),
        "cf_ops": max(3 if n >= 200 else 2, round(0.04 * n / 3.3)),
        "parks": max(1, round(n / 3000)), "park_shops": max(round(30 * f), round(0.03 * n)),
        "warehouses": max(2, round(n / 4000)), "wh_lo": max(2, round(20 * f)),
        "wh_hi": max(2, int(np.clip(round(0.004 * n), 20 * f, 300))),
        "nat": max(3, round(n / 10000)),
        "nat_size": max(2, int(np.clip(round(0.01 * n), 12 * f, 400))),
        "names": max(2, min(len(_COMMON), n // 25)), "name_size": max(2, round(0.0015 * n)),
        "families": max(2, round(n / 400)),
    }


# --------------------------------------------------------------------------
# the world: identifiers and people
# --------------------------------------------------------------------------


class _World:
    """Plans the special shops, then streams every shop's rows to disk."""

    def __init__(self, shops: int, seed: int, mix: WorldMix | None = None) -> None:
        self.n = shops
        self.mix = mix
        self.r = random.Random(seed)
        self.nrng = np.random.default_rng(seed)
        self.taken: set[str] = set()
        self.shops: list[_Shop] = []
        self.factories: list[_Factory] = []
        self.op_factory: dict[int, int] = {}
        self.zones: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
        self.ops = 0

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

    # ---- places ----------------------------------------------------------

    def _home(self, zh: bool, country: str = "") -> _Place:
        r = self.r
        if not zh:
            return self._latin_home(country)
        prov, city, lat, lon, districts, roads = _pick(r, _ZH_CITIES)
        compound = _pick(r, _COMPOUNDS) if r.random() < 0.8 else ""
        room = _int(r, 1, 31) * 100 + _int(r, 1, 7)
        return _Place(True, "CN", prov, city, _pick(r, districts), _pick(r, roads), "",
                      _int(r, 1, 999), compound, _int(r, 1, 31), room, "",
                      lat + r.gauss(0, 0.04), lon + r.gauss(0, 0.04))

    def _latin_home(self, country: str = "") -> _Place:
        r = self.r
        code = country or _weighted(r, _LATIN_CODES, _LATIN_CUM)
        c = _COUNTRIES[code]
        city, region, stems, lat, lon = _pick(r, c.cities)
        room = _int(r, 1, 41) if r.random() < 0.45 else 0
        return _Place(False, code, region, city, "", _pick(r, c.roads), _pick(r, c.kinds),
                      _int(r, 1, 300), "", 0, room, self._postcode(code, stems),
                      lat + r.gauss(0, 0.04), lon + r.gauss(0, 0.04))

    def _postcode(self, code: str, stems: Sequence[str]) -> str:
        r, stem = self.r, _pick(self.r, stems)
        if code == "GB":
            letters = "ABDEFGHJLNPQRSTUWXYZ"
            return f"{stem} {_int(r, 1, 10)}{_pick(r, letters)}{_pick(r, letters)}"
        if code == "DE":
            return f"{stem}{_int(r, 1000):03d}"
        return f"{stem}{_int(r, 100):02d}"

    def _site(self, make: Callable[[], _Place], zone: bool = False) -> _Place:
        """A factory, park or warehouse site on a road (or in a zone) no other site uses,
        while unused ones are easy to find."""
        for _ in range(30):
            place = make()
            road = "" if zone else place.road
            key = f"site|{place.city}|{place.district}|{road}|{place.compound}"
            if key not in self.taken:
                break
        self.taken.add(key)
        return place

    def _factory_place(self, zh: bool) -> _Place:
        r = self.r

        def make() -> _Place:
            if not zh:
                home = self._latin_home(_pick(r, ("GB", "US", "MY")))
                estate = f"{_pick(r, _ESTATES)} Industrial Estate"
                return replace(home, compound=estate, room=0, number=_int(r, 1, 200))
            prov, city, lat, lon, districts, _ = _ZH_CITIES[_pick(r, _FACTORY_CITIES)]
            stem = _pick(r, _ZONE_STEMS)
            road = f"{_pick(r, _ZONE_STEMS)}{_pick(r, _ROAD_STEMS)}路"
            return _Place(True, "CN", prov, city, f"{_pick(r, districts)}{stem}工业区", road, "",
                          _int(r, 10, 600), "", 0, 0, "", lat + r.uniform(-0.12, 0.12),
                          lon + r.uniform(-0.12, 0.12))

        place = self._site(make, zone=True)
        anchors = self.zones.setdefault((place.city, place.district, place.compound), [])
        centre = anchors[0] if anchors else (place.lat, place.lon)
        for _ in range(20):  # keep factories of one zone ~1 km apart
            lat, lon = centre[0] + r.uniform(-0.02, 0.02), centre[1] + r.uniform(-0.02, 0.02)
            if all(abs(lat - a) + abs(lon - b) > 0.012 for a, b in anchors):
                break
        anchors.append((lat, lon))
        return replace(place, lat=lat, lon=lon)

    def _dealer_place(self, f: _Factory) -> _Place:
        """Same street and zone as the factory, another number or unit, < 300 m away."""
        r, a = self.r, f.place
        lat, lon = _moved(a.lat, a.lon, r.uniform(15, 280), r.uniform(0, 2 * math.pi))
        number = max(1, a.number + _pick(r, (-8, -6, -4, -2, 0, 0, 2, 4, 6, 8, 10, 12)))
        if not a.zh:
            return replace(a, number=number, room=_int(r, 1, 40), lat=lat, lon=lon)
        building = _int(r, 1, 8) if r.random() < 0.7 else 0
        room = _int(r, 1, 6) * 100 + _int(r, 1, 20) if r.random() < 0.5 else 0
        return replace(a, number=number, building=building, room=room, lat=lat, lon=lon)

    def _park(self) -> _Place:
        r = self.r

        def make() -> _Place:
            prov, city, lat, lon, districts, roads = _ZH_CITIES[_pick(r, (0, 0, 1, 3, 4, 9, 13))]
            return _Place(True, "CN", prov, city, _pick(r, districts), _pick(r, roads), "",
                          _int(r, 100, 2000), _pick(r, _PARKS), 0, 0, "",
                          lat + r.uniform(-0.08, 0.08), lon + r.uniform(-0.08, 0.08))

        return self._site(make)

    def _warehouse(self, zh: bool) -> tuple[Row, str]:
        """One fulfilment warehouse address, written once, used verbatim by all."""
        r = self.r

        def make() -> _Place:
            if not zh:
                home = self._latin_home(_pick(r, ("GB", "US", "DE")))
                return replace(home, compound=_pick(r, _LATIN_STORES), room=_int(r, 1, 20))
            home = self._home(True)
            store = f"{_pick(r, _STORES)}{_int(r, 1, 10)}号库"
            return replace(home, compound=store, building=0, room=0)

        place = self._site(make)
        return (_render(place, r), place.lat, place.lon), place.country

    @staticmethod
    def _row(place: _Place, r: random.Random) -> Row:
        return _render(place, r), place.lat, place.lon

    def _distinct_row(self, place: _Place, taken: list[str]) -> Row:
        """A writing of ``place`` that matches none of ``taken`` verbatim."""
        for _ in range(30):
            text = _render(place, self.r)
            if text not in taken:
                return text, place.lat, place.lon
        return self._distinct_row(_neighbour(place, self.r), taken)

    # ---- profiles --------------------------------------------------------

    def _shop_name(self, zh: bool, risky: bool) -> tuple[str, str]:
        r = self.r
        brand = r.random() < (0.45 if risky else 0.05)
        if zh:
            core, category = _pick(r, _CORES[:_RISKY_ZH] if risky else _CORES)
            if brand and r.random() < 0.5:
                return f"{_pick(r, _BRANDS)}{_pick(r, _BRAND_SUFFIX)}", category
            head = _pick(r, _BRANDS) if brand else _pick(r, _ZH_PREFIX)
            return f"{head}{core}{_pick(r, _ZH_SUFFIX)}", category
        noun, category = _pick(r, _NOUNS[:_RISKY_LATIN] if risky else _NOUNS)
        if brand:
            return f"{_pick(r, _BRANDS)} {noun} {_pick(r, _BRAND_LATIN)}", category
        return f"{_pick(r, _LATIN_ADJ)} {noun} {_pick(r, _LATIN_SUFFIX)}", category

    def _holder(self, p: _Person) -> str:
        r = self.r
        if r.random() > 0.1:
            return p.name
        if p.zh:
            town = _pick(r, _ZH_CITIES)[1][:-1]
            return f"{town}{_pick(r, _FIRMS)}{_pick(r, _TRADES)}有限公司"
        trade = _pick(r, ("Trading", "Retail", "Goods", "Imports"))
        return f"{p.surname.title()} {trade} {_COMPANY[p.country]}"

    def _payment(self, p: _Person) -> tuple[str, str, str]:
        r, u = self.r, self.r.random()
        if p.zh and 0.45 <= u < 0.9:
            endpoint = p.msisdn if r.random() < 0.6 else p.email
            if endpoint.isdigit() and r.random() < 0.1:
                endpoint = f"{endpoint[:3]}****{endpoint[-4:]}"
            return "alipay", endpoint, p.name
        bank = u < (0.45 if p.zh else 0.4)
        card = _render_card(self._card(p.zh, bank), r)
        return ("bank" if bank else "card"), card, self._holder(p)

    def _fresh_profile(self, zh: bool, person: _Person | None = None,
                       place: _Place | None = None, risky: bool = False) -> _Profile:
        """A shop with its own person, place, devices, IPs and payment endpoints."""
        r = self.r
        person = person or self._person(zh)
        place = place or self._home(zh, person.country)
        name, category = self._shop_name(zh, risky)
        accounts = [person]
        if r.random() < 0.1:
            accounts.append(self._person(zh, country=person.country))
        devices = [self._device() for _ in range(1 + (r.random() < 0.3))]
        ips = [self._ip(zh) for _ in range(1 + (r.random() < 0.5) + (r.random() < 0.15))]
        addresses = [self._row(place, r)]
        if r.random() < 0.4:
            other = self._row(place if r.random() < 0.3 else self._home(zh, person.country), r)
            if other[0] != addresses[0][0]:
                addresses.append(other)
        payments = [self._payment(person)]
        if r.random() < 0.35:
            second = self._payment(person)
            if second[1] != payments[0][1]:
                payments.append(second)
        return _Profile(zh, name, category, accounts, devices, ips, addresses, payments)

    # ---- plan: the special shops ------------------------------------------

    def _add(self, shop: _Shop) -> int:
        self.shops.append(shop)
        return len(self.shops) - 1

    def _new_op(self) -> int:
        self.ops += 1
        return self.ops - 1

    def _trap(self, prof: _Profile, role: str, group: str) -> None:
        self._add(_Shop(self.r.uniform(0, _END), role, self._new_op(), prof, group=group))

    def _join(self, f: _Factory, shop: _Shop, index: int) -> None:
        shop.factory = f.index
        f.members.append(index)
        self.op_factory[shop.op] = f.index

    def plan(self) -> None:
        """Decide every shop that is not a lone honest one."""
        size = _sizes(self.n) if self.mix is None else _mix_sizes(self.n, self.mix)
        self._plan_factories(size)
        self._plan_counterfeit(size["cf_ops"])
        for f in self.factories:
            for _ in range(f.size - len(f.members)):
                self._add_dealer(f)
        self._plan_parks(size["parks"], size["park_shops"])
        self._plan_warehouses(size["warehouses"], size["wh_lo"], size["wh_hi"])
        self._plan_nat(size["nat"], size["nat_size"])
        self._plan_names(size["names"], size["name_size"])
        self._plan_families(size["families"], size.get("family_max", 3))
        if self.mix is not None:
            self._plan_turnover(self.mix.room_turnover)
            self._plan_collisions(self.mix.card_collision)
        left = self.n - len(self.shops)
        if left < 1:
            raise ValueError(f"{self.n} shops are too few for every phenomenon; "
                             f"use at least {MIN_SHOPS}")
        self._plan_multi(left)

    def _plan_factories(self, size: dict[str, int]) -> None:
        for k in range(size["factories"]):
            place = self._factory_place(zh=k % 5 != 4)
            count = _int(self.r, size["dealers_lo"], size["dealers_hi"] + 1)
            self.factories.append(_Factory(k, place, _render(place, self.r, plain=True), count))

    def _plan_counterfeit(self, count: int) -> None:
        hosts = [f for f in self.factories if f.index == 0 or self.r.random() < 0.4]
        for i in range(count):
            self._plan_op(self._tiers(i), hosts[i] if i < len(hosts) else None,
                          self._recent(i))

    def _recent(self, i: int) -> float | None:
        """Start of the window operator ``i`` comes back in (a mix's ``recent``), or None."""
        if self.mix is None or not self.mix.recent:
            return None
        window = _window(self.mix.recent)
        return window if i < len(self._forced()) or self.r.random() < 0.5 else None

    def _tiers(self, i: int) -> list[str]:
        """Re-registration tiers of operator ``i``, in order (indirect follows an exact)."""
        if self.mix is not None:
            return self._mix_tiers(i)
        if i < 2:
            return [["exact", "indirect"], ["fuzzy"]][i]
        r, tiers = self.r, []
        for _ in range(_weighted(r, (1, 2, 3), (0.45, 0.8, 1.0))):
            u = r.random()
            if "exact" in tiers:
                tiers.append("indirect" if u < 0.5 else "exact" if u < 0.64 else "fuzzy")
            else:
                tiers.append("exact" if u < 0.65 else "fuzzy")
        return tiers

    def _plan_op(self, tiers: list[str], factory: _Factory | None,
                 window: float | None = None) -> None:
        """One counterfeit operator: its banned originals, then its comebacks (all of
        them inside the last days of the world from ``window`` on, when given)."""
        r = self.r
        zh = factory.place.zh if factory else r.random() < 0.75
        boss = self._person(zh, country=factory.place.country if factory else "")
        op = _Op(self._new_op(), boss, self._home(zh, boss.country), self._device(),
                 self._card(zh, bank=zh), "bank" if zh else "card", self._ip(zh))
        start = r.uniform(0, 480)
        last_ban = 760.0
        if window is not None:  # banned in the year before the window
            start, last_ban = window - r.uniform(280, 400), window - 2
        for j in range(_weighted(r, (1, 2, 3), (0.6, 0.9, 1.0))):
            self._add_original(op, start + (r.uniform(5, 90) if j else 0.0),
                               factory if j == 0 else None, last_ban)
        created = op.last_ban
        returns = sorted(r.uniform(window, _END) for _ in tiers) if window is not None else []
        for k, tier in enumerate(tiers):
            created = returns[k] if returns else min(created + r.uniform(2, 120), _END)
            self._add_rereg(op, tier, created)

    def _add_original(self, op: _Op, created: float, factory: _Factory | None,
                      last_ban: float = 760.0) -> None:
        """A counterfeit shop that gets banned; the operator's laptop, card and IP on it."""
        r, first = self.r, not op.originals
        holder = op.boss if first else self._relative(op.boss)
        place = op.home if first or r.random() < 0.5 else _neighbour(op.home, r)
        prof = self._fresh_profile(op.boss.zh, holder, place, risky=True)
        prof.devices = [op.laptop, *prof.devices[:1]]
        prof.ips = [op.ip, *prof.ips[1:]]
        endpoint = op.card if first else _render_card(op.card, r)
        prof.payments = [(op.method, endpoint, op.boss.name), *prof.payments[1:]]
        if factory:
            prof.addresses = [self._row(self._dealer_place(factory), r), *prof.addresses[:1]]
        banned = min(created + r.uniform(25, 200), last_ban)
        shop = _Shop(created, "dealer" if factory else "counterfeit_banned", op.key, prof,
                     level="cf", status="banned", banned=banned, reason=_pick(r, _BAN_REASONS))
        index = self._add(shop)
        if factory:
            self._join(factory, shop, index)
        op.originals.append(index)
        op.last_ban = max(op.last_ban, banned)
        op.texts += [a[0] for a in prof.addresses]
        op.endpoints += [p[1] for p in prof.payments]
        op.names.append(prof.name)

    def _add_rereg(self, op: _Op, tier: str, created: float) -> None:
        if self.mix is not None:
            return self._add_mix_rereg(op, tier, created)
        r = self.r
        build = {"exact": self._exact, "fuzzy": self._fuzzy, "indirect": self._indirect}[tier]
        prof = build(op)
        if tier != "indirect" and r.random() < 0.3:
            prof.name = _shop_name_variant(_pick(r, op.names), prof.zh, r)
        self._add(_Shop(created, "reregistration", op.key, prof, level="rereg", tier=tier,
                        parents=list(op.originals)))

    def _exact(self, op: _Op) -> _Profile:
        """Relative's name, new phone; the same laptop and/or the same full card number."""
        r, boss = self.r, op.boss
        holder = (self._relative(boss) if r.random() < 0.75
                  else self._person(boss.zh, country=boss.country))
        if r.random() < 0.4:
            holder = replace(holder, email=self._unique(lambda: _email_variant(boss.email, r)))
        place = _neighbour(op.home, r) if r.random() < 0.5 else op.home
        prof = self._fresh_profile(boss.zh, holder, place, risky=True)
        laptop, new_device = r.random() < 0.8, prof.devices[0]
        prof.devices = [op.laptop, new_device] if laptop else [new_device]
        if not laptop or r.random() < 0.4:
            prof.payments = [(op.method, op.card, boss.name), *prof.payments[:1]]
        if r.random() < 0.5:
            prof.ips.insert(0, op.ip)
        op.links.append(("device", "", new_device))
        op.links += [("payment", m, e) for m, e, _ in prof.payments
                     if m != "alipay" and e != op.card and e.isalnum() and len(e) < 40]
        return prof

    def _fuzzy(self, op: _Op) -> _Profile:
        """Nothing exact; at least two weak links back to the operator."""
        r, boss = self.r, op.boss
        cues = self._fuzzy_cues()
        if "name" not in cues:
            holder = self._person(boss.zh, country=boss.country)
        else:
            holder = self._relative(boss) if r.random() < 0.45 else self._alias(boss)
        if "email" in cues and holder.given != boss.given:
            holder = replace(holder, email=self._unique(lambda: _email_variant(boss.email, r)))
        elif "email" not in cues and holder.given == boss.given:
            holder = replace(holder, email=self._person(boss.zh, country=boss.country).email)
        if "address" in cues:
            place = _neighbour(op.home, r) if r.random() < 0.5 else op.home
        else:
            place = self._home(boss.zh, boss.country)
        prof = self._fresh_profile(boss.zh, holder, place, risky=True)
        prof.addresses = [self._distinct_row(place, op.texts)]
        masked = self._distinct_mask(op.card, op.endpoints) if "card" in cues else None
        if masked:
            name = boss.name if r.random() < 0.4 else _name_variant(boss, r)
            prof.payments = [(op.method, masked, name), *prof.payments[:1]]
        return prof

    def _fuzzy_cues(self) -> list[str]:
        """At least two of: relative or name variant, home address, masked card, email."""
        while True:
            cues = [cue for cue, p in (("name", 0.75), ("address", 0.7), ("card", 0.6),
                                       ("email", 0.45)) if self.r.random() < p]
            if len(cues) >= 2:
                return cues

    def _distinct_mask(self, card: str, endpoints: list[str]) -> str | None:
        """A masked form of ``card`` whose (prefix, suffix) no parent row shows."""
        options = _mask_options(card, endpoints)
        return _pick(self.r, options) if options else None

    def _indirect(self, op: _Op) -> _Profile:
        """A stranger's identity that shares only a device or card with an exact sibling."""
        return self._indirect_link(op)[0]

    def _indirect_link(self, op: _Op) -> tuple[_Profile, str]:
        """:meth:`_indirect` and the kind (``device``, ``payment``) of its link."""
        r = self.r
        prof = self._fresh_profile(op.boss.zh, risky=True)
        kind, method, value = _pick(r, op.links)
        if kind == "device":
            prof.devices.insert(0, value)
        else:
            prof.payments = [(method, value, prof.accounts[0].name), *prof.payments[:1]]
        return prof, kind

    def _add_dealer(self, f: _Factory) -> None:
        r = self.r
        person = self._person(f.place.zh, country=f.place.country)
        prof = self._fresh_profile(f.place.zh, person, self._dealer_place(f), risky=True)
        created = r.uniform(0, 900)
        recent = self.mix is not None and self.mix.recent > 0 and len(f.members) == f.size - 1
        if recent:  # the factory's newest dealer joins inside the recent window
            created = r.uniform(_window(self.mix.recent), _END)
        shop = _Shop(created, "dealer", self._new_op(), prof, level="dealer")
        if r.random() < 0.35 and not recent:
            shop.status, shop.reason = "banned", _pick(r, _BAN_REASONS)
            shop.banned = min(created + r.uniform(30, 300), _END)
        self._join(f, shop, self._add(shop))

    def _plan_parks(self, parks: int, total: int) -> None:
        r = self.r
        weights = [r.uniform(0.5, 1.5) for _ in range(parks)]
        sizes = [max(1, int(total * w / sum(weights))) for w in weights]
        sizes[0] += max(0, total - sum(sizes))
        for k, size in enumerate(sizes, 1):
            park = self._park()
            for _ in range(size):
                place = replace(park, building=_int(r, 1, 13),
                                room=_int(r, 1, 10) * 100 + _int(r, 1, 31),
                                lat=park.lat + r.gauss(0, 3e-4), lon=park.lon + r.gauss(0, 3e-4))
                self._trap(self._fresh_profile(True, place=place), "park", f"park-{k}")

    def _plan_warehouses(self, count: int, lo: int, hi: int) -> None:
        r = self.r
        for k in range(1, count + 1):
            row, country = self._warehouse(zh=k % 4 != 2)
            zh = country == "CN"
            for _ in range(_int(r, lo, max(lo, hi) + 1)):
                prof = self._fresh_profile(zh, self._person(zh, country=country))
                prof.addresses = [row, *prof.addresses[:1]] if r.random() < 0.3 else [row]
                self._trap(prof, "warehouse", f"warehouse-{k}")

    def _plan_nat(self, hubs: int, size: int) -> None:
        r = self.r
        for k in range(1, hubs + 1):
            zh = k % 3 != 0
            prefixes = _NAT_PREFIXES if zh else _NAT_LATIN
            ip = self._unique(lambda p=prefixes: f"{_pick(r, p)}.{_int(r, 256)}."
                                                 f"{_int(r, 1, 255)}")
            for _ in range(size):
                prof = self._fresh_profile(zh)
                prof.ips.append(ip)
                self._trap(prof, "nat", f"nat-{k}")

    def _plan_names(self, count: int, size: int) -> None:
        for name in _COMMON[:count]:
            zh = not name.isascii()
            for _ in range(size):
                if zh:
                    person = self._person(True, surname=name[0], given=name[1:])
                else:
                    first, last = name.split()
                    person = self._person(False, given=first, surname=last,
                                          country=_COMMON_COUNTRY[name])
                self._trap(self._fresh_profile(zh, person), "common_name", f"name-{name}")

    def _plan_families(self, count: int, most: int = 3) -> None:
        r = self.r
        for k in range(1, count + 1):
            zh = r.random() < 0.75
            head = self._person(zh)
            home = self._home(zh, head.country)
            for j in range(_int(r, 2, most + 1)):
                person = self._relative(head) if j else head
                place = _family_home(home, r) if j else home
                self._trap(self._fresh_profile(zh, person, place), "family", f"family-{k}")

    def _plan_multi(self, left: int) -> None:
        """Honest operators with 2-3 shops that share holder, phone, laptop and card."""
        r = self.r
        count = min(max(1, round(0.05 * left / 1.075)), (left - 1) // 3)
        for _ in range(count):
            zh = r.random() < 0.75
            person = self._person(zh)
            home = self._home(zh, person.country)
            base = self._fresh_profile(zh, person, home)
            key, start = self._new_op(), r.uniform(0, _END - 60)
            for j in range(_int(r, 2, 4)):
                prof = base if j == 0 else self._sibling(base, person, home)
                status = "closed" if r.random() < 0.03 else "active"
                created = min(start + j * r.uniform(5, 200), _END)
                self._add(_Shop(created, "honest", key, prof, status=status))

    def _sibling(self, base: _Profile, person: _Person, home: _Place) -> _Profile:
        r = self.r
        same = replace(person, phone=_render_phone(person.country, person.msisdn, r))
        prof = self._fresh_profile(base.zh, same, home)
        prof.devices[0] = base.devices[0]
        if r.random() < 0.5:
            prof.ips[0] = base.ips[0]
        prof.payments[0] = base.payments[0]
        return prof

    # ---- mixed worlds: tiers, weak signals, the new traps ----------------------

    def _mix_tiers(self, i: int) -> list[str]:
        """Tiers of operator ``i`` of a mixed world, exact ones first (an indirect one
        brings an exact sibling along): the first operators take one tier each, so
        every tier with a weight appears; the rest draw theirs."""
        m, r = self.mix, self.r
        forced = self._forced()
        if i < len(forced):
            return forced[i]
        cum = list(accumulate(m.weight(t) for t in _TIER_FIELDS))
        count = _weighted(r, (1, 2, 3), (0.45, 0.8, 1.0))
        tiers = sorted((_weighted(r, _TIER_FIELDS, cum) for _ in range(count)),
                       key=lambda t: t != "exact")
        return tiers if "exact" in tiers or "indirect" not in tiers else ["exact", *tiers]

    def _forced(self) -> list[list[str]]:
        """The tiers of a mixed world's first operators, one tier each (with a weight)."""
        m = self.mix
        forced = [["exact", "indirect"] if m.weight("indirect") else ["exact"],
                  ["fuzzy"], ["single"], ["none"]]
        return [f for f in forced if m.weight(f[0])]

    def _add_mix_rereg(self, op: _Op, tier: str, created: float) -> None:
        build = {"exact": self._mix_exact, "fuzzy": self._mix_fuzzy, "single": self._mix_single,
                 "none": self._mix_none, "indirect": self._mix_indirect}[tier]
        prof, signals = build(op)
        keep = frozenset(_KEEP[s] for s in signals if s in _KEEP)
        self._add(_Shop(created, "reregistration", op.key, prof, level="rereg", tier=tier,
                        parents=list(op.originals), signals=signals, keep=keep))
        parent = self.shops[op.originals[0]]  # the boss's own shop shows what is followed
        parent.keep = parent.keep | (keep & {"geo", "email"})

    def _mix_fuzzy(self, op: _Op) -> tuple[_Profile, tuple[str, ...]]:
        count = 2
        while count < 5 and self.r.random() < self.mix.fuzzy_extra:
            count += 1
        return self._signalled(op, self._draw_signals(op, count))

    def _mix_single(self, op: _Op) -> tuple[_Profile, tuple[str, ...]]:
        return self._signalled(op, self._draw_signals(op, 1))

    def _mix_none(self, op: _Op) -> tuple[_Profile, tuple[str, ...]]:
        return self._signalled(op, [])

    def _mix_indirect(self, op: _Op) -> tuple[_Profile, tuple[str, ...]]:
        prof, kind = self._indirect_link(op)
        return prof, ("sibling_device" if kind == "device" else "sibling_card",)

    def _mix_exact(self, op: _Op) -> tuple[_Profile, tuple[str, ...]]:
        """The laptop and/or the full card number (maybe the IP too), plus a few weak
        signals; its new device and cards become links for indirect siblings."""
        r = self.r
        laptop = r.random() < 0.7
        strong = ["device"] if laptop else []
        strong += ["card"] if not laptop or r.random() < 0.4 else []
        strong += ["ip"] if r.random() < 0.4 else []
        exclude = {"card" if "card" in strong else "", "ip_block" if "ip" in strong else ""}
        count = min(3, _poisson(r, self.mix.exact_cues))
        prof, signals = self._signalled(op, self._draw_signals(op, count, exclude))
        new_device = prof.devices[0]
        prof.devices = [op.laptop, new_device] if laptop else [new_device]
        if "card" in strong:
            prof.payments = [(op.method, op.card, op.boss.name), *prof.payments[:1]]
        if "ip" in strong:
            prof.ips.insert(0, op.ip)
        op.links.append(("device", "", new_device))
        op.links += [("payment", m, e) for m, e, _ in prof.payments
                     if m != "alipay" and e != op.card and e.isalnum() and len(e) < 40]
        return prof, (*strong, *signals)

    def _draw_signals(self, op: _Op, count: int, exclude: set[str] | None = None) -> list[str]:
        """Up to ``count`` weak signals the operator offers, by weight, one per slot."""
        pool = [(s, w) for s, w in self.mix.signal_weights
                if w > 0 and _SLOTS.get(s, s) not in (exclude or ()) and self._offers(op, s)]
        chosen: list[str] = []
        while pool and len(chosen) < count:
            pick = _weighted(self.r, [s for s, _ in pool], list(accumulate(w for _, w in pool)))
            chosen.append(pick)
            pool = [(s, w) for s, w in pool if _SLOTS.get(s, s) != _SLOTS.get(pick, pick)]
        return chosen

    @staticmethod
    def _offers(op: _Op, signal: str) -> bool:
        """Whether the operator's banned shops show what ``signal`` needs."""
        if signal == "ip_block":
            return ":" not in op.ip
        if signal == "card_masked":
            return bool(_mask_options(op.card, op.endpoints))
        return True

    def _signalled(self, op: _Op, signals: Sequence[str]) -> tuple[_Profile, tuple[str, ...]]:
        """A comeback that carries exactly ``signals`` back to the operator's banned
        shops (in ``SIGNALS`` order) and otherwise a fresh identity."""
        r, on = self.r, set(signals)
        place = self._signal_place(op, on)
        prof = self._fresh_profile(op.boss.zh, self._signal_person(op.boss, on), place,
                                   risky=True)
        row = (self._reformatted_row(place, op.texts) if "address_format" in on
               else self._distinct_row(place, op.texts))
        prof.addresses = [row]
        if "ip_block" in on:
            prof.ips[0] = self._unique(lambda: _ip_block(op.ip, r))
        prof.payments = self._signal_payments(op, prof, on)
        prof.name = self._signal_shop_name(op, prof, on)
        return prof, tuple(s for s in SIGNALS if s in on)

    def _signal_person(self, boss: _Person, on: set[str]) -> _Person:
        """A new holder; the boss's name variant, a phone one digit off the boss's, the
        boss's mailbox at another provider or with a small edit, as ``on`` asks."""
        r = self.r
        if "name_variant" in on:
            holder = self._person(boss.zh, surname=boss.surname, given=boss.given,
                                  country=boss.country)
            holder = replace(holder, name=_mix_name_variant(boss, r),
                             email=self._person(boss.zh, country=boss.country).email)
        else:
            holder = self._person(boss.zh, country=boss.country)
        if "phone_edit" in on:
            n = self._unique(lambda: _phone_edit(boss.msisdn, boss.country, r))
            holder = replace(holder, msisdn=n, phone=_render_phone(boss.country, n, r))
        if "email_provider" in on:
            mails = _ZH_MAIL if boss.zh else _COUNTRIES[boss.country].mails
            email = self._unique(lambda: _email_provider(boss.email, mails, r))
            holder = replace(holder, email=email)
        elif "email_edit" in on:
            holder = replace(holder, email=self._unique(lambda: _email_edit(boss.email, r)))
        return holder

    def _signal_place(self, op: _Op, on: set[str]) -> _Place:
        if "address_room" in on:
            return _other_room(op.home, self.r)
        if "address_format" in on:
            return op.home
        if "geo_near" in on:
            return self._near_place(op.home)
        return self._far_home(op.home)

    def _signal_payments(self, op: _Op, prof: _Profile,
                         on: set[str]) -> list[tuple[str, str, str]]:
        r = self.r
        if "card_holder" in on:
            card = _render_card(self._card(op.boss.zh, op.method == "bank"), r)
            return [(op.method, card, op.boss.name), *prof.payments[:1]]
        if "card_masked" in on:
            masked = _pick(r, _mask_options(op.card, op.endpoints))
            return [(op.method, masked, prof.accounts[0].name), *prof.payments[:1]]
        return prof.payments

    def _signal_shop_name(self, op: _Op, prof: _Profile, on: set[str]) -> str:
        if "shop_name" in on:
            return _shop_name_variant(_pick(self.r, op.names), prof.zh, self.r)
        name = prof.name
        for _ in range(8):
            if name not in op.names:
                break
            name = self._shop_name(prof.zh, risky=True)[0]
        return name

    def _near_place(self, home: _Place) -> _Place:
        """Another street of the same district, 30-280 m from ``home``: the
        coordinates are close, the text shares no street."""
        r = self.r
        lat, lon = _moved(home.lat, home.lon, r.uniform(30, 280), r.uniform(0, 2 * math.pi))
        if home.zh:
            roads = next(c[5] for c in _ZH_CITIES if c[1] == home.city)
            compound = _pick(r, _COMPOUNDS) if r.random() < 0.8 else ""
            building, room = _int(r, 1, 31), _int(r, 1, 31) * 100 + _int(r, 1, 7)
        else:
            roads = _COUNTRIES[home.country].roads
            compound, building, room = "", 0, _int(r, 1, 41) if r.random() < 0.45 else 0
        road = _pick(r, [x for x in roads if x != home.road])
        return replace(home, road=road, number=_int(r, 1, 300), compound=compound,
                       building=building, room=room, lat=lat, lon=lon)

    def _far_home(self, home: _Place) -> _Place:
        """A home of the same script and country, not within ~3 km of ``home``."""
        for _ in range(20):
            place = self._home(home.zh, home.country)
            if abs(place.lat - home.lat) + abs(place.lon - home.lon) > 0.03:
                break
        return place

    def _reformatted_row(self, place: _Place, taken: list[str]) -> Row:
        """``place`` written unlike any of ``taken``: 栋 for 号楼, numerals, full-width
        digits, the province or the city left out, Street as St., ..."""
        r = self.r
        for _ in range(30):
            text = _render(place, r)
            if place.zh and r.random() < 0.3:
                text = _drop_town(text, place, r)
            if text not in taken:
                return text, place.lat, place.lon
        return self._distinct_row(place, taken)

    def _plan_turnover(self, rate: float) -> None:
        """Honest tenants registering, after the ban, at the very dispatch address of a
        banned shop (the first banned shop always gets one)."""
        r = self.r
        banned = [s for s in self.shops if s.banned is not None and s.banned + 10 < _END]
        for k, shop in enumerate(banned, 1):
            if k > 1 and r.random() >= rate:
                continue
            zh, country = shop.profile.zh, shop.profile.accounts[0].country
            for _ in range(1 + (r.random() < 0.25)):
                prof = self._fresh_profile(zh, self._person(zh, country=country))
                row = shop.profile.addresses[0]
                prof.addresses = [row, *prof.addresses[:1]] if r.random() < 0.3 else [row]
                created = r.uniform(shop.banned + 7, _END)
                self._add(_Shop(created, "room_turnover", self._new_op(), prof,
                                group=f"turnover-{k}"))

    def _plan_collisions(self, rate: float) -> None:
        """Honest shops paid into another card with the same visible digits as a banned
        shop's card (the first banned card always gets one)."""
        r, k = self.r, 0
        for shop in [s for s in self.shops if s.banned is not None]:
            cards = [(m, e.replace(" ", "")) for m, e, _ in shop.profile.payments
                     if m != "alipay"]
            cards = [(m, c) for m, c in cards if c.isdigit() and len(c) >= 12]
            if not cards or (k and r.random() >= rate):
                continue
            k += 1
            method, card = cards[0]
            twin = self._unique(lambda c=card: _card_twin(c, r))
            zh, country = shop.profile.zh, shop.profile.accounts[0].country
            prof = self._fresh_profile(zh, self._person(zh, country=country))
            masked = _pick(r, _masks(twin))
            prof.payments = [(method, masked, prof.accounts[0].name), *prof.payments[:1]]
            self._add(_Shop(r.uniform(0, _END), "card_collision", self._new_op(), prof,
                            group=f"card-{k}"))

    # ---- write: every shop, in order of creation ---------------------------

    def write(self, out: Path, truth: Path) -> WorldSummary:
        """Stream the dataset and the ground truth to disk."""
        created = np.empty(self.n)
        created[: len(self.shops)] = [s.created for s in self.shops]
        created[len(self.shops):] = self.nrng.random(self.n - len(self.shops)) ** 0.8 * _END
        order = np.argsort(created, kind="stable")
        self.rank = np.empty(self.n, dtype=np.int64)
        self.rank[order] = np.arange(self.n)
        self.width, self.accounts, self.operators = max(6, len(str(self.n))), 0, {}
        mixed = self.mix is not None
        roles = dict.fromkeys((*ROLES, *MIX_ROLES) if mixed else ROLES, 0)
        tiers = dict.fromkeys((*TIERS, *MIX_TIERS) if mixed else TIERS, 0)
        columns = (*TRUTH_COLUMNS, "signals") if mixed else TRUTH_COLUMNS
        with ExitStack() as stack:
            data = _Sink(stack, out, TABLES)
            answers = _Sink(stack, truth, {"shops": columns})
            for pos, index in enumerate(order.tolist()):
                if pos % 8192 == 0:
                    data.flush()
                shop = self.shops[index] if index < len(self.shops) else self._single(
                    float(created[index]))
                sid = self._sid(index)
                self._emit(data, sid, shop, shop.profile or self._fresh_profile(
                    self.r.random() < 0.75))
                answers.put("shops", self._truth_row(sid, shop))
                roles[shop.role] += 1
                if shop.tier:
                    tiers[shop.tier] += 1
        files = {**data.paths, "truth_shops": answers.paths["shops"],
                 "truth_factories": self._write_factories(truth),
                 "truth_readme": self._write_readme(truth)}
        if mixed:
            files["truth_mix"] = truth / "mix.json"
            text = json.dumps(self.mix.as_dict(), indent=2, ensure_ascii=False)
            files["truth_mix"].write_text(text + "\n", encoding="utf-8")
        return WorldSummary(out, truth, files, data.rows, roles, tiers, len(self.factories),
                            self.mix)

    def _single(self, created: float) -> _Shop:
        status = "closed" if self.r.random() < 0.03 else "active"
        return _Shop(created, "honest", self._new_op(), status=status)

    def _sid(self, index: int) -> str:
        return f"S{self.rank[index] + 1:0{self.width}d}"

    def _fid(self, index: int) -> str:
        return f"F{index + 1:03d}"

    def _truth_row(self, sid: str, shop: _Shop) -> tuple[str, ...]:
        if shop.op not in self.operators:
            self.operators[shop.op] = f"OP{len(self.operators) + 1:0{self.width}d}"
        operator = self.operators[shop.op]
        factory = self.op_factory.get(shop.op)
        community = self._fid(factory) if factory is not None else operator
        parents = ";".join(sorted(self._sid(i) for i in shop.parents))
        own = self._fid(shop.factory) if shop.factory >= 0 else ""
        row = sid, operator, community, shop.role, shop.tier, parents, shop.group, own
        return row if self.mix is None else (*row, ";".join(shop.signals))

    def _emit(self, sink: _Sink, sid: str, shop: _Shop, prof: _Profile) -> None:
        r = self.r
        stop = _END if shop.banned is None else shop.banned
        banned = "" if shop.banned is None else _stamp(shop.banned)
        sink.put("shops", (sid, prof.name, _stamp(shop.created), shop.status, banned,
                           shop.reason, prof.category))
        for k, person in enumerate(prof.accounts):
            self._emit_account(sink, sid, shop, prof, person, k, stop)
        for k, (text, lat, lon) in enumerate(prof.addresses):
            seen = shop.created if k == 0 else r.uniform(shop.created, stop)
            geo = r.random() < 0.6 or "geo" in shop.keep
            sink.put("addresses", (sid, text, f"{lat:.6f}" if geo else "",
                                   f"{lon:.6f}" if geo else "", _day(seen)))
        for k, (method, endpoint, holder) in enumerate(prof.payments):
            seen = shop.created if k == 0 else r.uniform(shop.created, stop)
            holder = holder if r.random() < 0.97 or "holder" in shop.keep else ""
            sink.put("payments", (sid, method, endpoint, holder, _day(seen)))
        self._emit_events(sink, sid, shop, stop)

    def _emit_account(self, sink: _Sink, sid: str, shop: _Shop, prof: _Profile,
                      person: _Person, k: int, stop: float) -> None:
        r = self.r
        self.accounts += 1
        aid = f"A{self.accounts:0{self.width + 1}d}"
        opened = shop.created - r.uniform(0, 1.5) if k == 0 else r.uniform(shop.created, stop)
        email = person.email if r.random() < 0.96 or "email" in shop.keep else ""
        id_number = person.id_number if r.random() < 0.98 else ""
        sink.put("accounts", (aid, sid, person.name, id_number, person.phone, email,
                              _stamp(opened)))
        devices = prof.devices if k == 0 else prof.devices[-1:]
        ips = prof.ips if k == 0 else prof.ips[:1]
        self._emit_sightings(sink, aid, opened, stop, devices, ips)

    def _emit_sightings(self, sink: _Sink, aid: str, start: float, stop: float,
                        devices: list[str], ips: list[str]) -> None:
        """Every device and every IP seen at least once, plus a few repeat visits."""
        r = self.r
        rows = [(d, _pick(r, ips) if r.random() < 0.7 else "") for d in devices]
        seen = [ip for _, ip in rows]
        rows += [(_pick(r, devices) if r.random() < 0.5 else "", ip) for ip in ips
                 if ip not in seen]
        for _ in range(_int(r, 4)):
            device = _pick(r, devices) if r.random() < 0.85 else ""
            rows.append((device, _pick(r, ips) if not device or r.random() < 0.8 else ""))
        times = sorted(r.uniform(start, stop) for _ in rows)
        r.shuffle(rows)
        for (device, ip), t in zip(rows, times, strict=True):
            sink.put("devices", (aid, device, ip, _stamp(t)))

    def _emit_events(self, sink: _Sink, sid: str, shop: _Shop, stop: float) -> None:
        r = self.r
        mean_disputes, p_counterfeit, mean_buys, p_fake = _LEVELS[shop.level]
        for _ in range(_poisson(r, mean_disputes) + (shop.level == "cf")):
            reason = "counterfeit" if r.random() < p_counterfeit else _pick(r, _REASONS)
            sink.put("disputes", (sid, _stamp(r.uniform(shop.created, stop)), reason))
        buys = [(r.uniform(shop.created, stop), "fake" if r.random() < p_fake else "genuine")
                for _ in range(_poisson(r, mean_buys))]
        if shop.level == "cf":
            buys.append((max(shop.created, stop - r.uniform(1, 20)), "fake"))
        for t, verdict in buys:
            sink.put("test_buys", (sid, _day(t), verdict))

    def _write_factories(self, truth: Path) -> Path:
        path = truth / "factories.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("factory_id", "anchor_address", "lat", "lon", "shop_ids"))
            for f in self.factories:
                shops = ";".join(sorted(self._sid(i) for i in f.members))
                writer.writerow((self._fid(f.index), f.address, f"{f.place.lat:.6f}",
                                 f"{f.place.lon:.6f}", shops))
        return path

    def _write_readme(self, truth: Path) -> Path:
        path = truth / "README.md"
        text = _README.format(shops=self.n)
        path.write_text(text if self.mix is None else text + _MIX_README, encoding="utf-8")
        return path


class _Sink:
    """One CSV writer per table; rows are buffered and written in batches."""

    def __init__(self, stack: ExitStack, folder: Path, tables: dict[str, tuple[str, ...]]):
        folder.mkdir(parents=True, exist_ok=True)
        self.rows = dict.fromkeys(tables, 0)
        self.paths = {name: folder / f"{name}.csv" for name in tables}
        self._buffers: dict[str, list[Sequence[str]]] = {name: [] for name in tables}
        self._writers = {}
        for name, header in tables.items():
            handle = stack.enter_context(self.paths[name].open("w", encoding="utf-8", newline=""))
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            self._writers[name] = writer.writerows
        stack.callback(self.flush)

    def put(self, table: str, row: Sequence[str]) -> None:
        self._buffers[table].append(row)

    def flush(self) -> None:
        for name, rows in self._buffers.items():
            self._writers[name](rows)
            self.rows[name] += len(rows)
            rows.clear()


_README = """# Ground truth of a generated marketplace

Written by `graphlink.generate.generate_world` ({shops} shops). The dataset
beside this folder never contains these answers.

`shops.csv`, one row per shop of the dataset:

- `operator_id`: the real-world actor running the shop (`OP...`).
- `community_id`: the factory id for every shop of an operator that deals for
  a factory; otherwise the operator id.
- `role`: `honest`, `counterfeit_banned` (banned original of a counterfeit
  operator), `reregistration` (its new shop after the ban), `dealer` (sells
  for a factory; a counterfeit operator's dealer shop is `dealer` too), or the
  benign trap the honest shop sits in: `park`, `warehouse`, `nat`,
  `common_name`, `family`.
- `tier` (re-registrations only): `exact` shares a device id or a full card
  number verbatim with a banned parent; `fuzzy` shares no device, card,
  phone, ID number or email verbatim, only name variants, a neighbouring room,
  a reformatted address, an email variant or a masked card; `indirect`
  shares nothing with the parents but a device or card with an `exact`
  sibling.
- `parent_shop_ids`: `;`-joined banned shops of the same operator it comes
  back from.
- `trap_group`: `park-N`, `warehouse-N`, `nat-N`, `name-<name>`, `family-N`.
- `factory_id`: the factory a dealer shop sells for.

`factories.csv`: `factory_id`, `anchor_address`, `lat`, `lon`, `shop_ids`
(`;`-joined dealer shops, one per operator).

Pre-hashed cells are sha256 hex of the canonical value (digits of a card or
account number, the upper-case ID number).
"""


_MIX_README = """
## This world was generated with a mix

`mix.json` holds the `WorldMix` it was generated with (tier weights, signal
weights, trap shares and sizes). In such a world:

- `tier` may also be `single` (exactly one weak signal to a banned parent,
  nothing exact) or `none` (a fresh identity: nothing at all links it back);
  `fuzzy` carries two or more weak signals and nothing exact.
- `role` may also be `room_turnover` (an honest tenant registered after the
  ban at the very dispatch address of a banned shop; `trap_group`
  `turnover-N`) or `card_collision` (an honest shop whose masked card shows
  the visible digits of a banned shop's card, a different card; `card-N`).
- `signals` (re-registrations only): `;`-joined signals linking the shop to
  its parents. Weak: `phone_edit`, `email_provider`, `email_edit`,
  `name_variant`, `ip_block`, `card_holder`, `card_masked`, `shop_name`,
  `address_room`, `address_format`, `geo_near`; exact: `device`, `card`,
  `ip`; through an exact sibling: `sibling_device`, `sibling_card`. Blank for
  `none`.
"""


def generate_world(out: str | Path, shops: int = 3000, seed: int = 0,
                   truth: str | Path | None = None,
                   mix: WorldMix | str | None = None) -> WorldSummary:
    """Write a synthetic marketplace with known answers.

    Parameters
    ----------
    out : str or Path
        Dataset folder (created; its seven CSV tables are overwritten).
    shops : int
        Number of shops, at least ``MIN_SHOPS``; every phenomenon is present
        from 200 shops on.
    seed : int
        Random seed (non-negative); one seed gives byte-identical files.
    truth : str or Path, optional
        Ground-truth folder; default ``<out>.truth`` beside the dataset. It may
        not lie inside ``out``.
    mix : WorldMix, "random" or "demo", optional
        A harder, varied world: tier shares (with ``single`` and ``none``), weak
        signals and trap sizes of the mix, ``"random"`` for
        ``WorldMix.draw(seed)``, ``"demo"`` for :data:`DEMO_MIX` (comebacks of
        every kind in the last 90 days). The truth then gains a ``signals`` column, the
        roles ``room_turnover`` and ``card_collision``, and ``mix.json``.
        ``None`` (default) writes exactly the files of earlier versions.

    Returns
    -------
    WorldSummary
        Paths, rows per table, shops per role and tier.
    """
    if isinstance(shops, bool) or not isinstance(shops, int | np.integer) or shops < MIN_SHOPS:
        raise ValueError(f"shops must be an integer >= {MIN_SHOPS}, got {shops!r}")
    out = Path(out)
    truth = Path(str(out) + ".truth") if truth is None else Path(truth)
    inside = out.resolve() == truth.resolve() or out.resolve() in truth.resolve().parents
    if inside:
        raise ValueError(f"the ground truth {truth} must not lie inside the dataset {out}")
    world = _World(int(shops), int(seed), _resolve_mix(mix, int(seed)))
    world.plan()
    return world.write(out, truth)


def _resolve_mix(mix: WorldMix | str | None, seed: int) -> WorldMix | None:
    """``None``, a :class:`WorldMix`, ``"random"`` -> ``WorldMix.draw(seed)``, or
    ``"demo"`` -> :data:`DEMO_MIX`."""
    if mix is None or isinstance(mix, WorldMix):
        return mix
    if mix == "random":
        return WorldMix.draw(seed)
    if mix == "demo":
        return DEMO_MIX
    raise ValueError(f"mix must be a WorldMix, 'random', 'demo' or None, got {mix!r}")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic marketplace with truth.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--shops", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mix", choices=["random", "demo"], default=None,
                        help="random: a harder world drawn from the seed; demo: the world of "
                        "`graphlink demo` (default: the standard world)")
    args = parser.parse_args(argv)
    summary = generate_world(args.out, shops=args.shops, seed=args.seed, mix=args.mix)
    print(f"{summary.out}: {summary.rows}")
    print(f"{summary.truth}: roles {summary.roles}, tiers {summary.tiers}")


if __name__ == "__main__":
    _main()
