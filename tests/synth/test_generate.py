"""The synthetic world generator: determinism, contract layout, and a truth that holds."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from graphlink.synth.generate import (
    DEMO_MIX,
    MIN_SHOPS,
    MIX_ROLES,
    MIX_TIERS,
    ROLES,
    SIGNALS,
    TABLES,
    TIERS,
    WorldMix,
    _main,
    generate_world,
)

REQUIRED = {
    "shops": ("shop_id", "name", "created_at", "status"),
    "accounts": ("account_id", "shop_id"),
    "devices": ("account_id",),
    "addresses": ("shop_id", "address"),
    "payments": ("shop_id", "endpoint"),
    "disputes": ("shop_id",),
    "test_buys": ("shop_id",),
}
TRAPS = ("park", "warehouse", "nat", "common_name", "family")
STRONG = ("device", "payment", "phone", "id_number", "email")


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("gen") / "market"
    summary = generate_world(out, shops=300, seed=0)
    tables = {name: read(out / f"{name}.csv") for name in TABLES}
    truth = read(summary.truth / "shops.csv")
    factories = read(summary.truth / "factories.csv")
    return {"summary": summary, "tables": tables, "truth": truth, "factories": factories}


@pytest.fixture(scope="module")
def values(world: dict) -> dict[str, dict[str, set[str]]]:
    """Strong identifier kind -> shop_id -> the exact values its rows show."""
    return strong_values(world["tables"])


def strong_values(t: dict[str, pd.DataFrame]) -> dict[str, dict[str, set[str]]]:
    """Strong identifier kind -> shop_id -> the exact values its rows show."""
    devices = t["devices"].merge(t["accounts"][["account_id", "shop_id"]], on="account_id")
    frames = {
        "device": devices[["shop_id", "device_id"]].set_axis(["shop_id", "value"], axis=1),
        "payment": t["payments"][["shop_id", "endpoint"]].set_axis(["shop_id", "value"], axis=1),
    }
    for kind in ("phone", "id_number", "email"):
        frames[kind] = t["accounts"][["shop_id", kind]].set_axis(["shop_id", "value"], axis=1)
    return {kind: frame[frame["value"] != ""].groupby("shop_id")["value"].agg(set).to_dict()
            for kind, frame in frames.items()}


def shared(values: dict, kinds: tuple[str, ...], a: str, b: str) -> set[str]:
    return {k for k in kinds if values[k].get(a, set()) & values[k].get(b, set())}


def files_of(summary) -> list[Path]:
    return sorted([*summary.out.iterdir(), *summary.truth.iterdir()])


# ---- determinism and layout ---------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_world(tmp_path / "a", shops=250, seed=7)
    again = generate_world(tmp_path / "b", shops=250, seed=7)
    other = generate_world(tmp_path / "c", shops=250, seed=8)
    names = [p.name for p in files_of(first)]
    assert names == [p.name for p in files_of(again)]
    for p, q in zip(files_of(first), files_of(again), strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert (first.out / "shops.csv").read_bytes() != (other.out / "shops.csv").read_bytes()


def test_truth_lies_beside_the_dataset_and_never_inside(world: dict, tmp_path: Path) -> None:
    summary = world["summary"]
    assert summary.truth == Path(str(summary.out) + ".truth")
    assert sorted(p.name for p in summary.out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert sorted(p.name for p in summary.truth.iterdir()) == [
        "README.md", "factories.csv", "shops.csv"]
    for frame in world["tables"].values():
        assert not {"operator_id", "role", "tier", "community_id"} & set(frame.columns)
    with pytest.raises(ValueError, match="inside"):
        generate_world(tmp_path / "x", shops=MIN_SHOPS, truth=tmp_path / "x" / "truth")


def test_summary_counts_match_the_files(world: dict) -> None:
    summary = world["summary"]
    for name, frame in world["tables"].items():
        assert summary.rows[name] == len(frame), name
    assert sum(summary.roles.values()) == 300 == len(world["truth"])
    assert summary.roles == world["truth"]["role"].value_counts().reindex(
        ROLES, fill_value=0).to_dict()
    assert summary.factories == len(world["factories"])


def test_contract_columns_present_and_required_cells_filled(world: dict) -> None:
    for name, frame in world["tables"].items():
        assert set(TABLES[name]) <= set(frame.columns), name
        for column in REQUIRED[name]:
            assert (frame[column].str.strip() != "").all(), (name, column)
    shops, devices = world["tables"]["shops"], world["tables"]["devices"]
    assert shops["shop_id"].is_unique and world["tables"]["accounts"]["account_id"].is_unique
    assert set(shops["status"]) <= {"active", "banned", "closed"}
    assert (shops.loc[shops["status"] == "banned", "banned_at"] != "").all()
    assert (shops.loc[shops["status"] != "banned", "banned_at"] == "").all()
    assert ((devices["device_id"] != "") | (devices["ip"] != "")).all()
    assert set(world["tables"]["test_buys"]["verdict"]) == {"fake", "genuine"}
    assert shops["shop_id"].str.fullmatch(r"S\d{6}").all()


def test_dates_are_iso_and_inside_the_span(world: dict) -> None:
    columns = {"shops": ("created_at", "banned_at"), "accounts": ("created_at",),
               "devices": ("seen_at",), "addresses": ("first_seen",),
               "payments": ("first_seen",), "disputes": ("opened_at",),
               "test_buys": ("bought_at",)}
    for name, cols in columns.items():
        for col in cols:
            cells = world["tables"][name][col]
            cells = cells[cells != ""]
            assert cells.str.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d)?").all(), (name, col)
            stamps = pd.to_datetime(cells, format="ISO8601")
            assert stamps.min() >= pd.Timestamp("2023-12-30"), (name, col)
            assert stamps.max() < pd.Timestamp("2026-11-01"), (name, col)
    created = pd.to_datetime(world["tables"]["shops"]["created_at"], format="ISO8601")
    assert created.min() >= pd.Timestamp("2024-01-01")


def test_foreign_keys_hold(world: dict) -> None:
    t = world["tables"]
    shops, accounts = set(t["shops"]["shop_id"]), set(t["accounts"]["account_id"])
    for name in ("accounts", "addresses", "payments", "disputes", "test_buys"):
        assert set(t[name]["shop_id"]) <= shops, name
    assert set(t["devices"]["account_id"]) <= accounts
    assert shops <= set(t["accounts"]["shop_id"])


# ---- ground truth -----------------------------------------------------------------------------


def test_every_shop_is_in_the_truth_exactly_once(world: dict) -> None:
    truth = world["truth"]
    assert truth["shop_id"].is_unique
    assert set(truth["shop_id"]) == set(world["tables"]["shops"]["shop_id"])
    assert set(truth["role"]) <= set(ROLES)
    assert set(truth["tier"]) <= {"", *TIERS}
    assert ((truth["tier"] != "") == (truth["role"] == "reregistration")).all()
    assert ((truth["parent_shop_ids"] != "") == (truth["role"] == "reregistration")).all()


def test_an_operator_lies_inside_one_community(world: dict) -> None:
    per_operator = world["truth"].groupby("operator_id")["community_id"].nunique()
    assert (per_operator == 1).all()


def test_reregistrations_come_after_banned_parents_of_the_same_operator(world: dict) -> None:
    truth = world["truth"].set_index("shop_id")
    shops = world["tables"]["shops"].set_index("shop_id")
    for sid, row in truth[truth["role"] == "reregistration"].iterrows():
        created = pd.Timestamp(shops.at[sid, "created_at"])
        for parent in row["parent_shop_ids"].split(";"):
            assert shops.at[parent, "status"] == "banned"
            assert truth.at[parent, "operator_id"] == row["operator_id"]
            assert created > pd.Timestamp(shops.at[parent, "banned_at"])
        assert shops.at[sid, "status"] == "active"


def test_tiers_share_what_they_claim(world: dict, values: dict) -> None:
    truth = world["truth"]
    reregs = truth[truth["role"] == "reregistration"]
    for _, row in reregs.iterrows():
        parents = row["parent_shop_ids"].split(";")
        with_parents = set().union(*(shared(values, STRONG, row["shop_id"], p) for p in parents))
        if row["tier"] == "exact":
            assert with_parents & {"device", "payment"}, row["shop_id"]
        else:
            assert not with_parents, (row["shop_id"], row["tier"], with_parents)
        if row["tier"] == "indirect":
            exact = reregs[(reregs["operator_id"] == row["operator_id"])
                           & (reregs["tier"] == "exact")]["shop_id"]
            assert any(shared(values, ("device", "payment"), row["shop_id"], s) for s in exact)


def test_factories_are_dealers_of_distinct_operators_near_the_anchor(world: dict) -> None:
    truth, factories = world["truth"], world["factories"]
    addresses = world["tables"]["addresses"]
    assert len(factories) >= 2
    placed = []
    for _, f in factories.iterrows():
        members = f["shop_ids"].split(";")
        assert 4 <= len(members) <= 12
        dealers = truth[truth["factory_id"] == f["factory_id"]]
        assert sorted(dealers["shop_id"]) == sorted(members)
        assert (dealers["role"] == "dealer").all() and dealers["operator_id"].is_unique
        assert (dealers["community_id"] == f["factory_id"]).all()
        zone = re.search(r"\w{2}工业区|\w+ Industrial Estate", f["anchor_address"]).group()
        rows = addresses[addresses["shop_id"].isin(members)
                         & addresses["address"].str.casefold().str.contains(zone.casefold())]
        assert set(rows["shop_id"]) == set(members)  # every dealer ships from the zone
        rows = rows[rows["lat"] != ""]
        placed += [distance_m(float(f["lat"]), float(f["lon"]), float(a), float(b))
                   for a, b in zip(rows["lat"], rows["lon"], strict=True)]
    assert placed and max(placed) < 300


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000 * math.hypot(dx, math.radians(lat2 - lat1))


def test_trap_shops_are_honest_and_never_banned(world: dict) -> None:
    truth, shops = world["truth"], world["tables"]["shops"].set_index("shop_id")
    traps = truth[truth["trap_group"] != ""]
    assert set(traps["role"]) == set(TRAPS)
    assert (shops.loc[traps["shop_id"], "status"] != "banned").all()
    assert (shops.loc[truth.loc[truth["role"] == "honest", "shop_id"], "status"] != "banned").all()
    buys = world["tables"]["test_buys"]
    trap_buys = buys[buys["shop_id"].isin(traps["shop_id"])]
    assert (trap_buys["verdict"] == "fake").sum() <= max(2, 0.1 * len(trap_buys))
    for group, part in traps.groupby("trap_group"):
        assert part["operator_id"].is_unique, group


# ---- every phenomenon, even in a small world -----------------------------------------------------


def test_a_small_world_holds_every_phenomenon(world: dict) -> None:
    truth = world["truth"]
    assert set(truth["role"]) == set(ROLES)
    assert set(truth["tier"]) == {"", *TIERS}
    kinds = set(truth["trap_group"].str.split("-").str[0]) - {""}
    assert kinds == {"park", "warehouse", "nat", "name", "family"}
    assert {"name-张伟", "name-John Smith"} <= set(truth["trap_group"])
    honest = truth[truth["role"] == "honest"]
    assert (honest.groupby("operator_id").size() >= 2).any()
    assert (truth[truth["role"] == "park"].shape[0]) >= 30


def test_trap_groups_share_what_they_are_named_for(world: dict) -> None:
    truth, t = world["truth"], world["tables"]
    devices = t["devices"].merge(t["accounts"][["account_id", "shop_id"]], on="account_id")
    for group, part in truth[truth["trap_group"] != ""].groupby("trap_group"):
        members = set(part["shop_id"])
        if group.startswith("warehouse"):
            rows = t["addresses"][t["addresses"]["shop_id"].isin(members)]
            assert (rows.groupby("address")["shop_id"].nunique() == len(members)).any(), group
        elif group.startswith("nat"):
            rows = devices[devices["shop_id"].isin(members)]
            assert (rows.groupby("ip")["shop_id"].nunique() == len(members)).any(), group
        elif group.startswith("name"):
            holders = t["accounts"][t["accounts"]["shop_id"].isin(members)]["holder_name"]
            assert (holders == group[len("name-"):]).sum() >= len(members), group


def test_scripts_formats_and_masks_are_mixed(world: dict) -> None:
    t = world["tables"]
    holders = t["accounts"]["holder_name"]
    hanzi = holders.str.contains(r"[\u4e00-\u9fff]").mean()
    assert 0.6 < hanzi < 0.9
    endpoints = t["payments"]["endpoint"]
    assert endpoints.str.contains(r"\*{4}").any()
    assert endpoints.str.fullmatch(r"[0-9a-f]{64}").any()
    assert t["addresses"]["address"].str.contains("[０-９]").any()
    assert t["accounts"]["phone"].str.startswith("+86 ").any()
    assert (t["addresses"]["lat"] != "").mean() == pytest.approx(0.6, abs=0.1)


def test_most_resident_ids_carry_a_correct_check_character(world: dict) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    ids = world["tables"]["accounts"]["id_number"]
    ids = ids[ids.str.fullmatch(r"\d{17}[\dXx]")]

    def valid(value: str) -> bool:
        body = value[:17]
        return "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11] \
            == value[17].upper()

    share = ids.map(valid).mean()
    assert 0.9 < share < 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_smallest_worlds_work(tmp_path: Path, seed: int) -> None:
    summary = generate_world(tmp_path / "tiny", shops=MIN_SHOPS, seed=seed)
    assert summary.rows["shops"] == MIN_SHOPS
    assert all(summary.roles[r] for r in ROLES)
    small = generate_world(tmp_path / "small", shops=200, seed=seed)
    assert all(small.roles[r] for r in ROLES) and all(small.tiers[t] for t in TIERS)


@pytest.mark.parametrize("shops", [MIN_SHOPS - 1, 0, 2.5, True])
def test_bad_sizes_are_refused(tmp_path: Path, shops: object) -> None:
    with pytest.raises(ValueError, match="shops"):
        generate_world(tmp_path / "x", shops=shops)  # type: ignore[arg-type]


def test_shop_ids_follow_creation_order(world: dict) -> None:
    shops = world["tables"]["shops"]
    created = pd.to_datetime(shops["created_at"], format="ISO8601")
    assert created.is_monotonic_increasing
    assert re.fullmatch(r"S0+1", shops["shop_id"].iloc[0])


# ---- the default world is pinned; mixed worlds ---------------------------------------------

# sha256 over (file name, bytes) of every dataset and truth file of a 300-shop world, seed 3,
# computed before mixes existed: the default world must never change.
DEFAULT_WORLD_SHA = "bb94748bdab7b0e02ab92e4e6fadfc28e26f2106505563fe7133d67e03eb14f2"
MIXED_SHOPS, MIXED_SEED = 1500, 1
FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def world_sha(summary) -> str:
    digest = hashlib.sha256()
    for path in files_of(summary):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("mixed") / "market"
    summary = generate_world(out, shops=MIXED_SHOPS, seed=MIXED_SEED, mix="random")
    tables = {name: read(out / f"{name}.csv") for name in TABLES}
    truth = read(summary.truth / "shops.csv")
    reregs = truth[truth["role"] == "reregistration"].copy()
    reregs["signal_list"] = reregs["signals"].str.split(";").map(lambda xs: [x for x in xs if x])
    return {"summary": summary, "tables": tables, "truth": truth, "reregs": reregs}


def with_signal(mixed: dict, signal: str) -> pd.DataFrame:
    reregs = mixed["reregs"]
    return reregs[reregs["signal_list"].map(lambda xs: signal in xs)]


def national(phone: str) -> str:
    """The national digits of a phone as the generator writes it."""
    text = phone.translate(FULLWIDTH).strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith(("+", "(+")):
        code = next(c for c in ("86", "44", "60", "49", "1") if digits.startswith(c))
        return digits[len(code):]
    if text.startswith("86-"):
        return digits[2:]
    return digits[1:] if text.startswith("0") else digits


def one_digit_apart(a: str, b: str) -> bool:
    """One digit changed, or two neighbouring digits swapped."""
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    if len(a) != len(b) or not diff:
        return False
    return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                              and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])


def test_the_default_world_is_byte_identical_to_before_mixes(tmp_path: Path) -> None:
    default = generate_world(tmp_path / "a", shops=300, seed=3)
    explicit = generate_world(tmp_path / "b", shops=300, seed=3, mix=None)
    assert world_sha(default) == world_sha(explicit) == DEFAULT_WORLD_SHA
    assert default.mix is None and "truth_mix" not in default.files
    assert "signals" not in read(default.truth / "shops.csv").columns


def test_worldmix_draw_is_deterministic_varies_and_stays_in_range() -> None:
    assert WorldMix.draw(5) == WorldMix.draw(5)
    mixes = [WorldMix.draw(seed) for seed in range(200)]
    assert len(set(mixes)) == 200
    for m in mixes:
        assert 0.2 <= m.fuzzy <= 0.5 and 0.05 <= m.single <= 0.25 and 0 <= m.none <= 0.15
        assert m.exact + m.fuzzy + m.single + m.none + m.indirect == pytest.approx(1, abs=1e-3)
        assert m.exact > m.indirect > 0
        assert 20 <= m.park_size <= 400 and 2 <= m.family_max <= 6
        assert [s for s, _ in m.signal_weights] == list(SIGNALS)
        assert WorldMix.from_dict(json.loads(json.dumps(m.as_dict()))) == m
    assert sum(m.none > 0.1 for m in mixes) > 20
    assert len({m.park_size for m in mixes}) > 50


@pytest.mark.parametrize("bad", [{"none": -0.1}, {"park_share": 2.0}, {"park_size": 0},
                                 {"signal_weights": (("telepathy", 1.0),)},
                                 {"recent": -1}, {"recent": 400}, {"recent": 9.5},
                                 {"exact": 0, "fuzzy": 0, "single": 0, "none": 0}])
def test_worldmix_refuses_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError, match="WorldMix"):
        WorldMix(**bad)


def test_mix_argument_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mix"):
        generate_world(tmp_path / "x", shops=MIN_SHOPS, mix="harder")


def test_a_mixed_world_is_deterministic_and_records_its_mix(tmp_path: Path) -> None:
    first = generate_world(tmp_path / "a", shops=400, seed=4, mix="random")
    again = generate_world(tmp_path / "b", shops=400, seed=4, mix=WorldMix.draw(4))
    other = generate_world(tmp_path / "c", shops=400, seed=4, mix=WorldMix())
    assert world_sha(first) == world_sha(again) != world_sha(other)
    assert first.mix == WorldMix.draw(4)
    stored = json.loads(first.files["truth_mix"].read_text(encoding="utf-8"))
    assert WorldMix.from_dict(stored) == first.mix
    assert sorted(p.name for p in first.truth.iterdir()) == [
        "README.md", "factories.csv", "mix.json", "shops.csv"]
    assert "`single`" in (first.truth / "README.md").read_text(encoding="utf-8")


def test_a_mixed_world_holds_every_tier_and_every_trap(mixed: dict) -> None:
    truth, summary = mixed["truth"], mixed["summary"]
    assert truth.columns[-1] == "signals"
    assert set(truth["tier"]) == {"", *TIERS, *MIX_TIERS}
    assert set(truth["role"]) == {*ROLES, *MIX_ROLES}
    assert summary.tiers == mixed["reregs"]["tier"].value_counts().to_dict()
    assert summary.roles == truth["role"].value_counts().reindex(
        (*ROLES, *MIX_ROLES), fill_value=0).to_dict()
    groups = truth.loc[truth["role"].isin(MIX_ROLES), ["role", "trap_group"]]
    prefix = {"room_turnover": "turnover-", "card_collision": "card-"}
    assert all(g.startswith(prefix[r]) for r, g in groups.itertuples(index=False))
    shops = mixed["tables"]["shops"].set_index("shop_id")
    traps = truth.loc[truth["trap_group"] != "", "shop_id"]
    assert (shops.loc[traps, "status"] != "banned").all()


def test_signals_fit_each_tier(mixed: dict) -> None:
    truth = mixed["truth"]
    assert (truth.loc[truth["role"] != "reregistration", "signals"] == "").all()
    for row in mixed["reregs"].itertuples():
        signals = row.signal_list
        weak = [s for s in signals if s in SIGNALS]
        assert len(set(signals)) == len(signals), row.shop_id
        if row.tier == "single":
            assert weak == signals and len(signals) == 1, row.shop_id
        elif row.tier == "fuzzy":
            assert weak == signals and len(signals) >= 2, row.shop_id
        elif row.tier == "none":
            assert signals == [], row.shop_id
        elif row.tier == "exact":
            assert {"device", "card"} & set(signals), row.shop_id
        else:
            assert signals in (["sibling_device"], ["sibling_card"]), row.shop_id
    used = set(mixed["reregs"]["signal_list"].explode().dropna())
    assert len(used & set(SIGNALS)) >= 8


def test_weak_tiers_share_no_exact_identifier(mixed: dict) -> None:
    values = strong_values(mixed["tables"])
    reregs = mixed["reregs"]
    for row in reregs[reregs["tier"].isin(["fuzzy", "single", "none"])].itertuples():
        for parent in row.parent_shop_ids.split(";"):
            assert not shared(values, STRONG, row.shop_id, parent), (row.shop_id, row.tier)
    for row in reregs[reregs["tier"] == "exact"].itertuples():
        parents = row.parent_shop_ids.split(";")
        assert any(shared(values, ("device", "payment"), row.shop_id, p) for p in parents)


def test_mixed_comebacks_come_after_the_ban(mixed: dict) -> None:
    shops = mixed["tables"]["shops"].set_index("shop_id")
    for row in mixed["reregs"].itertuples():
        created = pd.Timestamp(shops.at[row.shop_id, "created_at"])
        for parent in row.parent_shop_ids.split(";"):
            assert created > pd.Timestamp(shops.at[parent, "banned_at"])


def test_phone_edit_is_one_digit_off_a_parent_phone(mixed: dict) -> None:
    accounts = mixed["tables"]["accounts"]
    phones = accounts.groupby("shop_id")["phone"].agg(lambda xs: {national(x) for x in xs})
    rows = with_signal(mixed, "phone_edit")
    assert len(rows)
    for row in rows.itertuples():
        parents = set().union(*(phones[p] for p in row.parent_shop_ids.split(";")))
        assert any(one_digit_apart(a, b) for a in phones[row.shop_id] for b in parents)
        assert not phones[row.shop_id] & parents


def test_email_signals_keep_the_mailbox_name_or_the_provider(mixed: dict) -> None:
    accounts = mixed["tables"]["accounts"]
    emails = accounts[accounts["email"] != ""].groupby("shop_id")["email"].agg(set)
    for signal in ("email_provider", "email_edit"):
        for row in with_signal(mixed, signal).itertuples():
            parents = set().union(*(emails.get(p, set()) for p in row.parent_shop_ids.split(";")))
            pairs = [(a.split("@"), b.split("@")) for a in emails[row.shop_id] for b in parents]
            if signal == "email_provider":
                assert any(a[0] == b[0] and a[1] != b[1] for a, b in pairs), row.shop_id
            else:
                assert any(a[1] == b[1] and a[0] != b[0] for a, b in pairs), row.shop_id


def test_geo_near_is_close_without_the_same_text(mixed: dict) -> None:
    addresses = mixed["tables"]["addresses"]
    placed = addresses[addresses["lat"] != ""]
    rows = with_signal(mixed, "geo_near")
    for row in rows.itertuples():
        own = placed[placed["shop_id"] == row.shop_id]
        parents = placed[placed["shop_id"].isin(row.parent_shop_ids.split(";"))]
        assert len(own) and len(parents)
        near = min(distance_m(float(a), float(b), float(c), float(d))
                   for a, b in zip(own["lat"], own["lon"], strict=True)
                   for c, d in zip(parents["lat"], parents["lon"], strict=True))
        assert near < 300, row.shop_id
        assert not set(own["address"]) & set(parents["address"])


def test_room_turnover_takes_a_banned_address_after_the_ban(mixed: dict) -> None:
    t, truth = mixed["tables"], mixed["truth"]
    shops = t["shops"].set_index("shop_id")
    banned = shops[shops["status"] == "banned"]
    rows = t["addresses"].merge(banned[["banned_at"]], left_on="shop_id", right_index=True)
    tenants = truth[truth["role"] == "room_turnover"]
    assert len(tenants)
    for sid in tenants["shop_id"]:
        created = pd.Timestamp(shops.at[sid, "created_at"])
        own = set(t["addresses"].loc[t["addresses"]["shop_id"] == sid, "address"])
        before = rows[rows["address"].isin(own)]
        assert (pd.to_datetime(before["banned_at"]) < created).any(), sid


def test_card_collisions_show_a_banned_card_s_visible_digits(mixed: dict) -> None:
    t, truth = mixed["tables"], mixed["truth"]
    shops = t["shops"].set_index("shop_id")
    banned = set(shops.index[shops["status"] == "banned"])
    payments = t["payments"].assign(card=t["payments"]["endpoint"].str.replace(" ", ""))
    cards = set(payments.loc[payments["shop_id"].isin(banned), "card"])
    cards = {c for c in cards if c.isdigit()}
    twins = truth[truth["role"] == "card_collision"]
    assert len(twins)
    for sid in twins["shop_id"]:
        masked = payments.loc[(payments["shop_id"] == sid) & payments["card"].str.contains(r"\*"),
                              "card"]
        keys = [(m.split("*")[0], m[-4:]) for m in masked]
        assert any(c.startswith(p) and c.endswith(s) for p, s in keys for c in cards), sid
        assert not set(payments.loc[payments["shop_id"] == sid, "card"]) & cards


def test_main_writes_a_random_mix(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _main([str(tmp_path / "w"), "--shops", "200", "--seed", "2", "--mix", "random"])
    assert "single" in capsys.readouterr().out
    stored = json.loads((tmp_path / "w.truth" / "mix.json").read_text(encoding="utf-8"))
    assert WorldMix.from_dict(stored) == WorldMix.draw(2)


def test_name_and_card_holder_signals_point_at_the_boss(mixed: dict) -> None:
    t = mixed["tables"]
    holders = t["accounts"].groupby("shop_id")["holder_name"].agg(set)
    paid = t["payments"].groupby("shop_id")[["endpoint", "holder_name"]].agg(set)
    for row in with_signal(mixed, "name_variant").itertuples():
        parents = set().union(*(holders[p] for p in row.parent_shop_ids.split(";")))
        assert not holders[row.shop_id] & parents, row.shop_id
    for row in with_signal(mixed, "card_holder").itertuples():
        parents = row.parent_shop_ids.split(";")
        names = set().union(*(holders[p] for p in parents))
        assert paid.at[row.shop_id, "holder_name"] & names, row.shop_id
        assert not paid.at[row.shop_id, "endpoint"] & set().union(
            *(paid.at[p, "endpoint"] for p in parents))


# ---- the demo world: comebacks of every kind in its last 90 days ----------------------------


def test_the_demo_world_brings_comebacks_of_every_kind_into_its_last_90_days(tmp_path):
    summary = generate_world(tmp_path / "demo", shops=1000, seed=2, mix="demo")
    assert summary.mix == DEMO_MIX and DEMO_MIX.recent == 90 and WorldMix.draw(2).recent == 0
    assert WorldMix.from_dict(json.loads(summary.files["truth_mix"].read_text())) == DEMO_MIX
    shops = read(summary.out / "shops.csv").set_index("shop_id")
    truth = read(summary.truth / "shops.csv").set_index("shop_id")
    created = pd.to_datetime(shops["created_at"])
    since = created.max().normalize() - pd.Timedelta(days=90)
    assert str(since.date()) == "2026-08-02"
    window = truth[created >= since]
    comebacks = window[window["role"] == "reregistration"]
    assert {"exact", "fuzzy", "single", "none", "indirect"} <= set(comebacks["tier"])
    banned_at = pd.to_datetime(shops["banned_at"].replace("", None))
    for shop, row in comebacks.iterrows():  # banned before the window, back inside it
        parents = row["parent_shop_ids"].split(";")
        assert (banned_at[parents] < since).all() and created[shop] >= since
    assert (window["role"] == "dealer").sum() >= 2  # each factory's newest dealer
    assert len(window[window["role"].isin([*TRAPS, *MIX_ROLES])]) >= 5
    # other counterfeit operators keep the usual timeline
    assert (truth.loc[created < since, "role"] == "reregistration").any()


def test_the_demo_world_is_deterministic(tmp_path):
    first = generate_world(tmp_path / "a", shops=300, seed=1, mix="demo")
    again = generate_world(tmp_path / "b", shops=300, seed=1, mix=DEMO_MIX)
    assert world_sha(first) == world_sha(again)
