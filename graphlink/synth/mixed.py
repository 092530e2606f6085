"""What a mixed world (:class:`~graphlink.synth.plan.WorldMix`) adds to the plan:
its tiers, the weak signals a comeback carries, room turnover and card
collisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate

from graphlink.synth.people import (
    _KEEP,
    _ZH_MAIL,
    _card_twin,
    _email_edit,
    _email_provider,
    _ip_block,
    _mask_options,
    _masks,
    _mix_name_variant,
    _phone_edit,
    _render_card,
    _render_phone,
)
from graphlink.synth.places import _COMPOUNDS, _ZH_CITIES, _drop_town, _moved, _other_room, _render
from graphlink.synth.plan import _TIER_FIELDS, _shop_name_variant
from graphlink.synth.world import (
    _COUNTRIES,
    _END,
    _SLOTS,
    SIGNALS,
    Row,
    _int,
    _Op,
    _Person,
    _pick,
    _Place,
    _poisson,
    _Profile,
    _Shop,
    _weighted,
)


class _MixedPlanner:
    """What a mixed world adds to the plan: its tiers, the weak signals
    a comeback carries, and its two extra traps (a mixin of :class:`_World`)."""

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
