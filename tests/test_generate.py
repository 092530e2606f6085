"""The synthetic world generator: determinism, contract layout, and a truth that holds."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from graphlink.generate import MIN_SHOPS, ROLES, TABLES, TIERS, generate_world

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
    t = world["tables"]
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
