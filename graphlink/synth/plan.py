"""The plan of a generated world: the mix (:class:`WorldMix`), how many shops of
each role, and the planning of operators, re-registrations, dealers and traps.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from graphlink.synth.people import (
    _NAT_LATIN,
    _NAT_PREFIXES,
    _email_variant,
    _mask_options,
    _name_variant,
    _render_card,
    _render_phone,
)
from graphlink.synth.places import _ZH_CITIES, _family_home, _neighbour, _render
from graphlink.synth.world import (
    _END,
    _SLOTS,
    MIN_SHOPS,
    SIGNALS,
    _Factory,
    _int,
    _Op,
    _Person,
    _pick,
    _Place,
    _Profile,
    _Shop,
    _weighted,
    _window,
)

# ---- reference data: shops, phones, payments, events

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
_BAN_REASONS = ("counterfeit", "counterfeit", "counterfeit: brand complaint",
                "counterfeit: test buy failed", "counterfeit (repeat complaints)")
_COMMON = ("张伟", "John Smith", "王伟", "Maria Garcia", "王芳", "Mohammed Ali", "李娜", "刘洋")
_COMMON_COUNTRY = {"John Smith": "GB", "Maria Garcia": "US", "Mohammed Ali": "GB"}


def _shop_name_variant(name: str, zh: bool, r: random.Random) -> str:
    if zh:
        return _pick(r, (f"{name}2店", f"{name}二店", f"新{name}", f"{name}分店"))
    return _pick(r, (f"{name} II", f"The {name}", f"{name} 2", f"{name} Official"))


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


class _Planner:
    """The plan of the special shops: profiles, operators and their
    re-registrations by tier, dealers and the honest traps (a mixin of
    :class:`_World`)."""

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
