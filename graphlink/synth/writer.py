"""Writing a generated world: the tables (CONTRACT.md section 1), the ground
truth beside them, its README, and the summary.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphlink.synth.plan import WorldMix
from graphlink.synth.world import (
    _END,
    MIX_ROLES,
    MIX_TIERS,
    ROLES,
    TIERS,
    _day,
    _int,
    _Person,
    _pick,
    _poisson,
    _Profile,
    _Shop,
    _stamp,
)

_REASONS = ("not_received", "not_received", "not_as_described", "not_as_described",
            "damaged", "late_delivery", "wrong_item", "refund")
# level -> (mean disputes, share counterfeit, mean test buys, share fake)
_LEVELS = {"base": (0.3, 0.04, 0.12, 0.02), "cf": (3.5, 0.65, 1.2, 0.8),
           "dealer": (2.5, 0.5, 1.2, 0.55), "rereg": (0.8, 0.4, 0.3, 0.4)}

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


class _Writer:
    """Streams every shop's rows and the ground truth to disk, in order of
    creation (a mixin of :class:`_World`)."""

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
