"""The analysed state (graphlink/state/store.py), incremental sign-up scoring of a delta
(graphlink/state/incremental.py), stable operator ids across runs (graphlink/state/runs.py)
and the CLI on top (`report signups --state`, `report changes`).

One generated world is split into ``base`` (every shop but the newest ones,
with all their rows) and ``delta`` (the newest shops and their rows): scoring
the delta against a state saved from the base must flag what a full analysis
of the whole world flags.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink import api
from graphlink.cli import cli
from graphlink.core.errors import GraphlinkError
from graphlink.core.privacy import KEY_VARIABLE
from graphlink.linkage.pseudonymise import KINDS as PSEUDONYMISED
from graphlink.reports.report import load_schema
from graphlink.state import runs
from graphlink.state.store import State

SHOPS, SEED = 2500, 7
NEW = 800  # the newest shops, the delta: enough of them to hold banned operators' returns
KEY = "state-test-key-0123456789-abcdef"


def split_world(world: Path, out: Path, newest: int) -> tuple[Path, Path, list[str], str]:
    """Split a dataset folder into ``out/base`` (all but the ``newest`` shops by
    created_at) and ``out/delta`` (those shops); tables with ``shop_id`` split by
    shop, ``devices.csv`` by account via ``accounts.csv``. Returns base, delta,
    the delta's shop ids and the day the first of them was created."""
    base, delta = out / "base", out / "delta"
    base.mkdir(parents=True)
    delta.mkdir(parents=True)
    shops = _read(world / "shops.csv").sort_values(["created_at", "shop_id"])
    new = set(shops["shop_id"].iloc[-newest:])
    accounts = _read(world / "accounts.csv")
    new_accounts = set(accounts.loc[accounts["shop_id"].isin(new), "account_id"])
    for path in sorted(world.glob("*.csv")):
        frame = _read(path)
        if "shop_id" in frame:
            mine = frame["shop_id"].isin(new)
        elif "account_id" in frame:
            mine = frame["account_id"].isin(new_accounts)
        else:
            raise AssertionError(f"{path.name}: neither shop_id nor account_id")
        frame[~mine].to_csv(base / path.name, index=False)
        frame[mine].to_csv(delta / path.name, index=False)
    first = pd.Timestamp(shops["created_at"].iloc[-newest])
    return base, delta, sorted(new), str(first.date())


def merge_folders(parts: list[Path], out: Path) -> Path:
    """One dataset folder holding the rows of every folder of ``parts``."""
    out.mkdir(parents=True)
    for name in sorted({p.name for part in parts for p in part.glob("*.csv")}):
        frames = [_read(part / name) for part in parts if (part / name).exists()]
        pd.concat(frames, ignore_index=True).to_csv(out / name, index=False)
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _best(record: dict) -> tuple[str, str | None]:
    return record["flag"], record["matches"][0]["banned_shop_id"] if record["matches"] else None


def _by_shop(payload: dict) -> dict[str, dict]:
    return {r["shop_id"]: r for r in payload["signups"]}


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    from graphlink.synth.generate import generate_world

    root = tmp_path_factory.mktemp("state")
    world = root / "world"
    generate_world(world, shops=SHOPS, seed=SEED)
    base, delta, new, since = split_world(world, root / "split", NEW)
    return {"root": root, "world": world, "base": base, "delta": delta, "new": new,
            "since": since}


@pytest.fixture(scope="module")
def full(split):
    return gl.analyse(split["world"])


@pytest.fixture(scope="module")
def state_dir(split):
    """A state saved from the base (one run); tests that change it copy it first."""
    folder = split["root"] / "state"
    api.analyse_into_state(split["base"], folder)
    return folder


@pytest.fixture
def own_state(state_dir, tmp_path):
    folder = tmp_path / "state"
    shutil.copytree(state_dir, folder)
    return folder


@pytest.fixture(scope="module")
def incremental(split, state_dir):
    return api.signups_with_state(split["delta"], state_dir, split["since"]).payload


# --- the split helper ------------------------------------------------------------------

def test_split_is_lossless(split):
    base, delta, world = split["base"], split["delta"], split["world"]
    for path in world.glob("*.csv"):
        whole = _read(path)
        assert len(_read(base / path.name)) + len(_read(delta / path.name)) == len(whole)
    assert sorted(_read(delta / "shops.csv")["shop_id"]) == split["new"]
    assert not set(_read(base / "shops.csv")["shop_id"]) & set(split["new"])


# --- a. incremental == full ------------------------------------------------------------

def test_incremental_matches_full_analysis(split, full, incremental):
    new = split["new"]
    ours = [r["shop_id"] for r in incremental["signups"]]
    assert sorted(ours) == new  # every delta shop exactly once, nothing else
    reference = _by_shop(api.signups_report(full, split["since"]).payload)
    mine = _by_shop(incremental)
    # the state scores with the model it learned from the base; a fresh analysis of
    # base + delta learns its own: faint leads (none / low) may cross the low line
    faint = {"none", "low"}
    differ = {s: (_best(reference[s]), _best(mine[s])) for s in new
              if _best(reference[s]) != _best(mine[s])
              and not {reference[s]["flag"], mine[s]["flag"]} <= faint}
    assert not differ
    flags = pd.Series([mine[s]["flag"] for s in new]).value_counts()
    assert flags.get("high", 0) >= 1  # the delta holds returning banned operators


def test_incremental_payload_validates_and_explains(incremental):
    jsonschema.validate(incremental, load_schema("signups"))
    flagged = [r for r in incremental["signups"] if r["flag"] != "none"]
    assert flagged
    for r in flagged:
        best = r["matches"][0]
        assert best["evidence"], r["shop_id"]
        assert best["path"][0] == r["shop_id"] and best["path"][-1] == best["banned_shop_id"]


def test_incremental_operators_of_flagged_shops(full, incremental, state_dir):
    """A delta shop merged with world shops takes their (stable) operator id."""
    world = State.open(state_dir).table("shops", ["shop_id", "operator_id"])
    known = set(world["operator_id"])
    full_ops = full.shops.set_index("shop_id")["operator_id"]
    for r in incremental["signups"]:
        if r["flag"] == "high" and full_ops[r["shop_id"]] in set(
                full_ops[full_ops.index.isin(world["shop_id"])]):
            assert r["operator_id"] in known, r["shop_id"]


# --- b. fresh state --------------------------------------------------------------------

def test_fresh_state_gives_full_report(split, state_dir):
    base_analysis = gl.analyse(split["base"])
    since = str((base_analysis.dataset.shops["created_at"].max()
                 - pd.Timedelta(days=150)).date())
    runs_before = len(State.open(state_dir).manifest["runs"])
    heard = []
    fresh = api.signups_with_state(split["base"], state_dir, since, notice=heard.append)
    assert fresh.payload["signups"]
    assert fresh.payload == api.signups_report(base_analysis, since).payload
    assert heard == [f"read from state {state_dir} run R0001"]
    assert len(State.open(state_dir).manifest["runs"]) == runs_before


# --- c. stale state -> new run; operator ids stable; changes log --------------------------

def test_stale_state_makes_new_run(split, tmp_path):
    folder = tmp_path / "state"
    first = api.changes_with_state(split["base"], folder)
    assert first.payload["runs"] == ["R0001"]
    # the first run: every operator of two or more shops is new
    assert {r["change"] for r in first.payload["changes"]} == {"new_operator"}
    before = State.open(folder).table("shops", ["shop_id", "operator_id"])
    merged = merge_folders([split["base"], split["delta"]], tmp_path / "merged")
    report = api.changes_with_state(merged, folder)
    state = State.open(folder)
    assert [r["run"] for r in state.manifest["runs"]] == ["R0001", "R0002"]
    assert report.payload["runs"] == ["R0002"]
    jsonschema.validate(report.payload, load_schema("changes"))
    after = state.table("shops", ["shop_id", "operator_id"])
    assert len(after) == SHOPS
    both = before.merge(after, on="shop_id", suffixes=("_before", "_after"))
    assert len(both) == SHOPS - NEW
    moved = set(both.loc[both["operator_id_before"] != both["operator_id_after"], "shop_id"])
    kinds = {"moved", "merged", "split"}
    logged = [r for r in report.payload["changes"] if r["change"] in kinds]
    logged_shops = [s for r in logged for s in r["shops"]]
    assert sorted(logged_shops) == sorted(moved)  # each moved shop in exactly one row
    for r in logged:
        for s in r["shops"]:
            row = both[both["shop_id"] == s].iloc[0]
            assert (row["operator_id_before"], row["operator_id_after"]) == (
                r["other_operator_id"], r["operator_id"])
    # most base shops keep their ids
    assert len(moved) < 0.05 * len(both)
    # every new shop in a logged arrival is a delta shop; every joined row names a base operator
    new = set(split["new"])
    for r in report.payload["changes"]:
        assert r["change"] in runs.KINDS
        if r["change"] in ("joined", "new_operator"):
            assert set(r["shops"]) <= new
        if r["change"] == "joined":
            assert r["operator_id"] in set(after.loc[~after["shop_id"].isin(new),
                                                     "operator_id"])
    assert not [r for r in report.payload["changes"] if r["change"] == "gone"]
    # the saved change log is the same as the report's
    saved = state.changes("R0002")
    assert len(saved) == len(report.payload["changes"])

    since = api.changes_report(folder, "R0001").payload
    assert since["since_run"] == "R0001" and since["runs"] == ["R0002"]
    assert since["changes"] == report.payload["changes"]
    jsonschema.validate(since, load_schema("changes"))
    assert api.changes_report(folder, "R0002").payload["changes"] == []

    with pytest.raises(GraphlinkError, match="R0009"):
        api.changes_report(folder, "R0009")
    result = CliRunner().invoke(cli, ["report", "changes", str(merged), "--state", str(folder),
                                      "--since-run", "R0009"])
    assert result.exit_code == 1
    assert "R0009" in result.stderr and "Traceback" not in result.stderr
    assert "R0001, R0002" in result.stderr
    result = CliRunner().invoke(cli, ["report", "changes", str(merged), "--state", str(folder),
                                      "--since-run", "R0001", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["changes"] == report.payload["changes"]


def test_community_and_operator_ids_survive_a_smaller_shop_joining(split, tmp_path):
    """A new shop whose id sorts first joins an operator: both ids stay as they were
    (fresh ids would be OP-S0 and C-S0, named after the smallest shop)."""
    folder, one, two = tmp_path / "state", tmp_path / "one", tmp_path / "two"
    shutil.copytree(split["base"], one)
    api.analyse_into_state(one, folder)
    before = State.open(folder).table("shops").set_index("shop_id")
    sizes = before["operator_id"].value_counts()
    accounts, devices = _read(one / "accounts.csv"), _read(one / "devices.csv")
    shared = devices.merge(accounts[["account_id", "shop_id"]], on="account_id")
    per_device = shared.groupby("device_id")["shop_id"].nunique()
    shared = shared[shared["device_id"].map(per_device) == 1]  # a device of one shop only
    shared = shared[shared["shop_id"].map(before["operator_id"]).map(sizes) >= 2]
    member, device = shared[["shop_id", "device_id"]].iloc[0]
    shutil.copytree(one, two)
    with open(two / "shops.csv", "a", encoding="utf-8") as out:
        out.write("S0,新店,2030-01-01T00:00:00,active,,,apparel\n")
    with open(two / "accounts.csv", "a", encoding="utf-8") as out:
        out.write("A0,S0,,,,,2030-01-01T00:00:00\n")
    with open(two / "devices.csv", "a", encoding="utf-8") as out:
        out.write(f"A0,{device},,2030-01-02T00:00:00\n")
    api.analyse_into_state(two, folder)
    after = State.open(folder).table("shops").set_index("shop_id")
    for column in ("operator_id", "community_id"):
        assert after.at["S0", column] == after.at[member, column] == before.at[member, column]
    kept = (after.loc[before.index, "community_id"] == before["community_id"]).mean()
    assert kept > 0.95


def test_changes_report_without_state(tmp_path):
    with pytest.raises(GraphlinkError, match="no graphlink state"):
        api.changes_report(tmp_path / "nothing")


# --- d. CLI end to end -----------------------------------------------------------------

def test_cli_signups_with_state(split, own_state, incremental):
    result = CliRunner().invoke(cli, ["report", "signups", str(split["delta"]), "--since",
                                      split["since"], "--state", str(own_state),
                                      "--format", "json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, load_schema("signups"))
    assert [_best(r) for r in payload["signups"]] == [_best(r) for r in incremental["signups"]]
    # scoring a delta does not change the state
    assert [r["run"] for r in State.open(own_state).manifest["runs"]] == ["R0001"]


def test_cli_changes_twice_adds_no_run(split, own_state):
    runner = CliRunner()
    args = ["report", "changes", str(split["base"]), "--state", str(own_state),
            "--format", "json"]
    for _ in range(2):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        jsonschema.validate(json.loads(result.stdout), load_schema("changes"))
        assert len(State.open(own_state).manifest["runs"]) == 1
    # a touched file makes the state stale: the next call is a new run, with no changes
    shops = split["base"] / "shops.csv"
    copy = own_state.parent / "base"
    shutil.copytree(split["base"], copy)
    (copy / shops.name).write_text(shops.read_text(encoding="utf-8"), encoding="utf-8")
    for _ in range(2):
        result = runner.invoke(cli, [*args[:2], str(copy), *args[3:]])
        assert result.exit_code == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["runs"] == ["R0002"] and payload["changes"] == []
        assert len(State.open(own_state).manifest["runs"]) == 2


# --- e. a "delta" that overlaps the state ------------------------------------------------

def test_overlapping_delta_is_refused(split, own_state):
    """A delta folder that also holds a few shops of the state is neither a delta
    nor the whole dataset: analysing it alone as the state's next run would drop
    every other shop (and every banned shop) from the state and score the new
    shops against nothing. It is refused, and the state is left as it was."""
    overlap = merge_folders([split["delta"]], own_state.parent / "overlap")
    base_shops = _read(split["base"] / "shops.csv").tail(3)
    shops = pd.concat([_read(overlap / "shops.csv"), base_shops], ignore_index=True)
    shops.to_csv(overlap / "shops.csv", index=False)
    manifest = (own_state / "manifest.json").read_text(encoding="utf-8")
    with pytest.raises(GraphlinkError, match="already in the analysed state"):
        api.signups_with_state(overlap, own_state, split["since"])
    assert (own_state / "manifest.json").read_text(encoding="utf-8") == manifest
    result = CliRunner().invoke(cli, ["report", "signups", str(overlap), "--since",
                                      split["since"], "--state", str(own_state)])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert base_shops["shop_id"].iloc[0] in result.stderr


def test_whole_updated_dataset_is_a_new_run(split, full, own_state, tmp_path):
    """The whole dataset again, with new shops (overlaps the state almost entirely):
    a full analysis saved as the next run, reporting what a full analysis reports."""
    merged = merge_folders([split["base"], split["delta"]], tmp_path / "merged")
    report = api.signups_with_state(merged, own_state, split["since"]).payload
    reference = api.signups_report(full, split["since"]).payload
    assert {s: _best(r) for s, r in _by_shop(report).items()} == {
        s: _best(r) for s, r in _by_shop(reference).items()}
    assert [r["run"] for r in State.open(own_state).manifest["runs"]] == ["R0001", "R0002"]


# --- f. safety -------------------------------------------------------------------------

def test_state_holds_only_parquet_and_json(state_dir):
    files = [p for p in state_dir.rglob("*") if p.is_file()]
    assert files
    # and the writer lock, empty once its run is over (JSON while held: graphlink/state/lock.py)
    assert {p.suffix for p in files} <= {".parquet", ".json", ".lock"}
    assert [p.name for p in files if p.suffix == ".lock"] == ["writer.lock"]
    assert (state_dir / "writer.lock").read_bytes() == b""
    for p in files:
        assert not p.read_bytes().startswith(b"\x80"), p  # no pickle protocol header
    manifest = json.loads((state_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == "graphlink.state/1"
    # one run's tables, named in the manifest; nothing half-written beside them
    assert manifest["tables"] == "tables/R0001"
    assert [p.name for p in (state_dir / "tables").iterdir()] == ["R0001"]
    assert not (state_dir / "manifest.json.new").exists()


@pytest.mark.parametrize("damage", ["{not json", '{"schema": "graphlink.state/99", "runs": []}',
                                    '["a list"]'])
def test_damaged_manifest_is_a_clear_error(split, own_state, damage):
    (own_state / "manifest.json").write_text(damage, encoding="utf-8")
    with pytest.raises(GraphlinkError, match="manifest"):
        api.signups_with_state(split["delta"], own_state, split["since"])
    for args in (["report", "signups", str(split["delta"]), "--since", split["since"]],
                 ["report", "changes", str(split["delta"])]):
        result = CliRunner().invoke(cli, [*args, "--state", str(own_state)])
        assert result.exit_code == 1, result.output
        assert "manifest.json" in result.stderr and "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_damaged_table_is_a_clear_error(split, own_state):
    (State.open(own_state).tables / "shops.parquet").write_bytes(b"not parquet")
    result = CliRunner().invoke(cli, ["report", "signups", str(split["delta"]), "--since",
                                      split["since"], "--state", str(own_state)])
    assert result.exit_code == 1
    assert "shops.parquet" in result.stderr and "Traceback" not in result.stderr


# --- g. pseudonymised state and delta ---------------------------------------------------

def test_pseudonymised_state_and_delta(split, incremental, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    folder = tmp_path / "state"
    api.analyse_into_state(split["base"], folder, pseudonymise=True)
    assert State.open(folder).manifest["pseudonymised"] is True
    hidden = api.signups_with_state(split["delta"], folder, split["since"], pseudonymise=True)
    clear = _by_shop(incremental)
    mine = _by_shop(hidden.payload)
    assert sorted(mine) == split["new"]
    compared = 0
    for shop, record in clear.items():
        best = record["matches"][0]["evidence"] if record["matches"] else []
        fuzzy = [e for e in best if e.get("method") not in (None, "exact")]
        if record["flag"] != "none" and not fuzzy:
            compared += 1
            assert _best(mine[shop]) == _best(record), shop
        elif _best(mine[shop]) != _best(record):
            # the state keeps tokens only: a new clear value cannot be compared for
            # similarity with a world value of a pseudonymised kind (a full run can)
            assert {e["kind"] for e in fuzzy} & set(PSEUDONYMISED), shop
    assert compared
    text = json.dumps(hidden.payload, ensure_ascii=False)
    accounts = _read(split["delta"] / "accounts.csv")
    payments = _read(split["delta"] / "payments.csv")
    for value in [*accounts["phone"], *accounts["email"], *accounts["id_number"],
                  *payments.loc[~payments["endpoint"].str.contains(r"\*"), "endpoint"]]:
        if value:
            assert value not in text
    # the state holds no clear phone or email of the base either
    uses = State.open(folder).table("uses")
    base_accounts = _read(split["base"] / "accounts.csv")
    assert not set(uses["value"]) & set(base_accounts["phone"]) - {""}


def test_pseudonymised_state_refuses_clear_delta(split, tmp_path, monkeypatch):
    """Clear values never equal keyed tokens: mixing would silently find nothing."""
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    folder = tmp_path / "state"
    api.analyse_into_state(split["base"], folder, pseudonymise=True)
    with pytest.raises(GraphlinkError, match="pseudonymis"):
        api.signups_with_state(split["delta"], folder, split["since"])
