"""Places in a generated world: Chinese and Latin-script addresses, factory towns,
parks and warehouses, their written forms, and nearby or re-written variants.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import replace

from graphlink.synth.world import (
    _COUNTRIES,
    _FULLWIDTH,
    _LATIN_CODES,
    _LATIN_CUM,
    Row,
    _Factory,
    _int,
    _pick,
    _Place,
    _w,
    _weighted,
)

# ---- reference data: Chinese places

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
_HANZI_DIGITS = "零一二三四五六七八九"
_ABBREV = {"Street": "St.", "Road": "Rd", "Avenue": "Ave", "Lane": "Ln", "Boulevard": "Blvd",
           "Drive": "Dr.", "Close": "Cl.", "Way": "Wy"}
_ESTATES = _w("Riverside,Kingsway,Parkside,Northgate,Eastfield,Westpoint,Meadow,Canal,Harbour")
_LATIN_STORES = _w("Prologis Park,Fulfilment Centre,Logistics Hub,Distribution Centre")


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


def _moved(lat: float, lon: float, dist: float, angle: float) -> tuple[float, float]:
    """The point ``dist`` metres from (lat, lon) in direction ``angle`` (radians from north).

    >>> [round(x, 5) for x in _moved(30.0, 120.0, 111.32, 0.0)]
    [30.001, 120.0]
    """
    return (lat + dist * math.cos(angle) / 111_320,
            lon + dist * math.sin(angle) / (111_320 * math.cos(math.radians(lat))))


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


class _Places:
    """The world's places: homes, postcodes, factory and dealer sites, parks,
    warehouses, and their written forms (a mixin of :class:`_World`)."""

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
