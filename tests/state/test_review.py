"""Analyst review (issue 20): verdicts kept in the state as an append-only log, their
effect on reports (dismissed matches stay quiet until new evidence, confirmed ones
merge operators), the same bytes from a state as from a fresh analysis with the
same model and verdicts, learning from them, and the review queue.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink import api
from graphlink.cli import cli
from graphlink.core.errors import GraphlinkError
from graphlink.linkage.learn import refine
from graphlink.reports.report import load_schema, render
from graphlink.state.lock import writer_lock
from graphlink.state.review import apply_verdicts, labelled, queue
from graphlink.state.store import State
from graphlink.state.verdicts import COLUMNS, FOLDER, append, read_log

SINCE = "2024-01-01"


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("review") / "world"
    gl.generate_world(folder, shops=400, seed=11)
    return folder


def _state(world: Path, tmp: Path) -> Path:
    """A fresh state of a copy of ``world`` (tests change the data)."""
    data = tmp / "data"
    shutil.copytree(world, data)
    run("analyse", data, "--state", tmp / "state", "-q")
    return data


def _direct(state: Path) -> tuple[str, str]:
    """A flagged sign-up and the banned shop of its best direct match."""
    report = api.signups_report(gl.open_state(state), SINCE)
    for s in report.payload["signups"]:
        for m in s["matches"]:
            if m["hops"] == 1 and s["flag"] != "none":
                return s["shop_id"], m["banned_shop_id"]
    raise AssertionError("no direct match in the world")


def _signup(state: Path, shop: str) -> dict:
    report = api.signups_report(gl.open_state(state), SINCE)
    return next(s for s in report.payload["signups"] if s["shop_id"] == shop)


def test_verdicts_are_logged_with_their_evidence(world, tmp_path):
    _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    out = run("review", "dismiss", shop, "--match", banned, "--state", state, "--by", "ana",
              "--note", "park tenant", "--format", "json")
    payload = json.loads(out.stdout)
    jsonschema.validate(payload, load_schema("review"))
    (row,) = payload["verdicts"]
    assert (row["verdict_id"], row["verdict"], row["by"], row["note"], row["run"]) == (
        "V000001", "dismissed", "ana", "park tenant", "R0001")
    assert row["evidence"] and row["levels"] and row["p"] is not None
    run("review", "confirm", shop, "--match", banned, "--state", state, "--by", "bo")
    log = read_log(state)
    assert log.columns.tolist() == COLUMNS
    assert log["verdict"].tolist() == ["dismissed", "confirmed"]
    listed = json.loads(run("review", "list", "--state", state, "--format", "json").stdout)
    jsonschema.validate(listed, load_schema("review"))
    assert [v["in_force"] for v in listed["verdicts"]] == [False, True]
    assert "2 verdict(s), 1 in force" in run("review", "list", "--state", state).stdout


def test_bad_verdicts_are_refused(world, tmp_path):
    _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    out = run("review", "confirm", shop, "--match", "NOPE", "--state", state, ok=False)
    assert out.exit_code == 1 and "'NOPE' is not in the analysed state" in out.output
    out = run("review", "confirm", banned, "--match", shop, "--state", state, ok=False)
    assert "is not a banned shop" in out.output
    out = run("review", "confirm", shop, "--match", banned, "--state", tmp_path / "none",
              ok=False)
    assert "no graphlink state here yet" in out.output
    with pytest.raises(GraphlinkError, match="writer lock"):
        append(state, [])
    with writer_lock(state):  # another writer: the verdict waits, then says who
        out = run("review", "dismiss", shop, "--match", banned, "--state", state, ok=False)
    assert out.exit_code == 75 and "is being written by pid" in out.output
    assert not len(read_log(state))


def test_dismissed_stays_quiet_until_new_evidence(world, tmp_path):
    data = _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    gl.dismiss(state, shop, match=banned, by="ana")
    quiet = _signup(state, shop)
    assert banned not in [m["banned_shop_id"] for m in quiet["matches"]]
    (gone,) = [d for d in quiet["dismissed"] if d["banned_shop_id"] == banned]
    assert gone["verdict"]["by"] == "ana" and gone["verdict"]["at"]
    jsonschema.validate(api.signups_report(gl.open_state(state), SINCE).payload,
                        load_schema("signups"))
    # a later run on grown data, nothing new between the two: still dismissed
    shops = pd.read_csv(data / "shops.csv")
    extra = shops.iloc[[0]].assign(shop_id="S999999", name="Brand-new honest shop",
                                   status="active", banned_at=None, ban_reason=None)
    pd.concat([shops, extra]).to_csv(data / "shops.csv", index=False)
    accounts = pd.read_csv(data / "accounts.csv")
    pd.concat([accounts, pd.DataFrame([{"account_id": "A999999", "shop_id": "S999999"}])]
              ).to_csv(data / "accounts.csv", index=False)
    run("analyse", data, "--state", state, "-q")
    assert State.open(state).run == "R0002"
    later = _signup(state, shop)
    assert banned in [d["banned_shop_id"] for d in later.get("dismissed", [])]
    # new evidence: the shop's account on a device only the banned shop used
    devices = pd.read_csv(data / "devices.csv")
    accounts = pd.read_csv(data / "accounts.csv")
    theirs = devices.merge(accounts[["account_id", "shop_id"]], on="account_id")
    counts = theirs.groupby("device_id")["shop_id"].nunique()
    only = theirs[(theirs["shop_id"] == banned) & theirs["device_id"].map(counts).eq(1)]
    mine = accounts.loc[accounts["shop_id"] == shop, "account_id"].iloc[0]
    new = {"account_id": mine, "device_id": only["device_id"].iloc[0],
           "seen_at": "2026-10-30"}
    pd.concat([devices, pd.DataFrame([new])]).to_csv(data / "devices.csv", index=False)
    run("analyse", data, "--state", state, "-q")
    back = _signup(state, shop)
    (match,) = [m for m in back["matches"] if m["banned_shop_id"] == banned]
    assert match["verdict"]["verdict"] == "dismissed"
    assert any(e["kind"] == "device" for e in match["new_evidence"])
    assert back["flag"] != "none"
    assert len(read_log(state)) == 1  # three runs later, the verdict is still there


def test_confirmed_merges_operators_and_is_certain(world, tmp_path):
    _state(world, tmp_path)
    state = tmp_path / "state"
    report = api.signups_report(gl.open_state(state), SINCE).payload["signups"]
    weak = next(s for s in report if s["matches"] and s["risk"] < 1
                and s["operator_id"] != _operator(state, s["matches"][0]["banned_shop_id"]))
    banned = weak["matches"][0]["banned_shop_id"]
    gl.confirm(state, weak["shop_id"], match=banned, by="bo")
    after = _signup(state, weak["shop_id"])
    assert after["risk"] == 1.0 and after["flag"] == "high"
    assert after["matches"][0]["verdict"]["verdict"] == "confirmed"
    assert after["operator_id"] == _operator(state, banned)
    clusters = api.clusters_report(gl.open_state(state)).payload["shops"]
    owner = {r["shop_id"]: r["operator_id"] for r in clusters}
    assert owner[weak["shop_id"]] == owner[banned]
    changes = json.loads(run("report", "changes", state.parent / "data", "--state", state,
                             "--format", "json", "-q").stdout)
    jsonschema.validate(changes, load_schema("changes"))
    assert [v["verdict"] for v in changes["verdicts"]] == ["confirmed"]


def _operator(state: Path, shop: str) -> str:
    shops = gl.open_state(state).shops
    return shops.loc[shops["shop_id"] == shop, "operator_id"].iloc[0]


@pytest.mark.parametrize("fmt", ["json", "table", "csv", "html"])
def test_state_and_fresh_analysis_agree_with_verdicts(world, tmp_path, fmt):
    data = _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    gl.dismiss(state, shop, match=banned)
    report = api.signups_report(gl.open_state(state), SINCE)
    second = next(s for s in report.payload["signups"] if s["matches"])
    gl.confirm(state, second["shop_id"], match=second["matches"][0]["banned_shop_id"])
    saved = State.open(state)
    fresh = apply_verdicts(gl.analyse(data, model=saved.model()), state)
    for build in (lambda a: api.signups_report(a, SINCE), api.clusters_report,
                  api.factories_report, lambda a: api.spotcheck_report(a, 15)):
        assert render(build(gl.open_state(state, data)), fmt) == render(build(fresh), fmt)
    cli = run("report", "signups", data, "--since", SINCE, "--state", state, "--format", fmt,
              "-q").stdout
    assert cli == render(api.signups_report(fresh, SINCE), fmt)


def test_analyse_learns_from_new_verdicts(world, tmp_path):
    data = _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    before = State.open(state).model()
    gl.dismiss(state, shop, match=banned)
    out = json.loads(run("analyse", data, "--state", state, "--format", "json", "-q").stdout)
    assert out["saved"] and out["run"] == "R0002"  # verdicts since R0001: learned from
    after = State.open(state).model()
    assert after.to_dict() != before.to_dict()
    again = json.loads(run("analyse", data, "--state", state, "--format", "json", "-q").stdout)
    assert not again["saved"]
    # the same verdicts give the same model on a fresh analysis
    assert gl.analyse(data, verdicts=read_log(state)).model.to_dict() == after.to_dict()


def test_refine_moves_levels_towards_the_labels():
    from graphlink.linkage.learn import fit
    from graphlink.linkage.model import COMPARISONS, MODES, NAMES, MatchModel, score_vectors
    from graphlink.linkage.resolve import _vectors

    model = MatchModel(
        {mode: {c: [0.4 / len(COMPARISONS[c][1])] * len(COMPARISONS[c][1]) + [0.6]
                for c in NAMES} for mode in MODES},
        {c: [1e-3] * len(COMPARISONS[c][1]) + [1 - 1e-3 * len(COMPARISONS[c][1])]
         for c in NAMES}, {mode: [1e-4, 1e-3] for mode in MODES}, shops=1000)
    missing = {c: len(COMPARISONS[c][1]) + 1 for c in NAMES}
    rows = pd.DataFrame([{"shop_a": f"A{i}", "shop_b": f"B{i}", "context": 1,
                          **{f"level_{c}": missing[c] for c in NAMES}, "level_address": 1,
                          "level_shop_name": 1,
                          **{f"users_{c}": 1.0 for c in NAMES}} for i in range(8)])
    pairs = score_vectors(model, _vectors(rows), 1000)
    yes, no = refine(model, pairs, np.ones(8)), refine(model, pairs, np.zeros(8))
    for mode in MODES:  # the level's Bayes factor moves towards the labels, in every mode
        assert yes.m[mode]["address"][1] > model.m[mode]["address"][1] > no.m[mode]["address"][1]
    up, down = (score_vectors(m, _vectors(rows), 1000)["p"].iloc[0] for m in (yes, no))
    assert up > pairs["p"].iloc[0] > down
    lone = _vectors(rows.assign(level_shop_name=missing["shop_name"]))  # one agreement
    assert (score_vectors(yes, lone, 1000)["p"].iloc[0]
            == score_vectors(model, lone, 1000)["p"].iloc[0])  # keeps the EM fit
    assert refine(model, pairs.iloc[:0], np.zeros(0)) == model  # no label, no change
    assert yes.u == model.u and yes.m["reuse"]["device"] == model.m["reuse"]["device"]
    # the fit is the posterior mode: the same labels in another order give the same model
    order = np.random.default_rng(0).permutation(8)
    mixed = np.r_[np.ones(5), np.zeros(3)]
    a, b = fit(pairs, mixed), fit(pairs.iloc[order], mixed[order])
    assert np.allclose(a.theta, b.theta) and a.sigma == b.sigma


def test_queue_picks_uncertain_common_patterns(world, tmp_path):
    data = _state(world, tmp_path)
    state = tmp_path / "state"
    out = json.loads(run("review", "queue", data, "--state", state, "--budget", "5",
                         "--format", "json", "-q").stdout)
    jsonschema.validate(out, load_schema("review-queue"))
    rows = out["queue"]
    assert 0 < len(rows) <= 5 and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["teach"] for r in rows] == sorted((r["teach"] for r in rows), reverse=True)
    assert all(0 < r["p"] < 1 and r["evidence"] for r in rows)
    analysis = gl.open_state(state)
    first = rows[0]
    gl.dismiss(state, first["shop_id"], match=first["banned_shop_id"])
    again = queue(gl.open_state(state), 5)
    assert (first["shop_id"], first["banned_shop_id"]) not in set(
        zip(again["shop_id"], again["banned_shop_id"], strict=True))
    pairs, labels = labelled(analysis.resolution.pairs, read_log(state))
    assert len(pairs) == 1 and labels.tolist() == [0]
    assert "needs --state" in run("review", "queue", data, ok=False).output


def test_verdicts_live_outside_the_runs(world, tmp_path):
    _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    gl.dismiss(state, shop, match=banned)
    files = sorted(p.name for p in (state / FOLDER).iterdir())
    assert files == ["000001.parquet"]
    assert not any((state / "tables").glob(f"*/{FOLDER}"))


def test_html_shows_verdicts_with_each_match(world, tmp_path):
    _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    before = render(api.signups_report(gl.open_state(state), SINCE), "html")
    assert "Analyst verdict" not in before and "Dismissed by analysts" not in before
    gl.dismiss(state, shop, match=banned, by="ana", note="park tenant")
    report = api.signups_report(gl.open_state(state), SINCE)
    other = next(s for s in report.payload["signups"] if s["matches"] and s["shop_id"] != shop)
    gl.confirm(state, other["shop_id"], match=other["matches"][0]["banned_shop_id"], by="bo")
    page = render(api.signups_report(gl.open_state(state), SINCE), "html")
    assert "Analyst verdict: confirmed by bo" in page
    assert f"Match with banned shop {banned}" in page and "park tenant" in page


def test_verdicts_survive_a_run_killed_midway(world, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    data = _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    gl.dismiss(state, shop, match=banned, by="ana")
    before = read_log(state)
    # the verdict makes the state due for a new run: kill it while it analyses
    proc = subprocess.Popen([sys.executable, "-c", "from graphlink.cli import main; main()",
                             "analyse", str(data), "--state", str(state), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    pd.testing.assert_frame_equal(read_log(state), before)
    run("analyse", data, "--state", state, "-q")  # the next run learns from it all the same
    assert State.open(state).run == "R0002"
    pd.testing.assert_frame_equal(read_log(state), before)
    assert banned in [d["banned_shop_id"] for d in _signup(state, shop).get("dismissed", [])]


def test_verdicts_of_a_pseudonymised_state_hold_no_clear_values(world, tmp_path, monkeypatch):
    import re

    monkeypatch.setenv("GRAPHLINK_PSEUDONYM_KEY", "a-test-key-of-enough-length")
    data = tmp_path / "data"
    shutil.copytree(world, data)
    state = tmp_path / "state"
    run("analyse", data, "--state", state, "--pseudonymise", "-q")
    report = api.signups_report(gl.open_state(state), SINCE).payload["signups"]
    tied = [s for s in report if s["matches"]]
    for s in tied[:5]:
        gl.dismiss(state, s["shop_id"], match=s["matches"][0]["banned_shop_id"])
    log = read_log(state)
    assert log["pseudonymised"].all() and len(log) == min(5, len(tied))
    text = json.dumps(log[["evidence", "keys", "levels"]].to_dict("records"), ensure_ascii=False)
    accounts = pd.read_csv(data / "accounts.csv", dtype=str)
    phones = {re.sub(r"\D", "", p)[-11:] for p in accounts["phone"].dropna()}
    emails = {e.strip().lower() for e in accounts["email"].dropna()}
    digits = set(re.findall(r"\d{11}", text))
    assert not digits & phones
    assert not [e for e in emails if e in text.lower()]


def test_case_file_lists_the_verdicts(world, tmp_path):
    data = _state(world, tmp_path)
    state = tmp_path / "state"
    shop, banned = _direct(state)
    out = json.loads(run("explain", data, shop, "--state", state, "--format", "json",
                         "-q").stdout)
    assert "verdicts" not in out
    gl.dismiss(state, shop, match=banned, by="ana", note="park tenant")
    out = run("explain", data, shop, "--state", state, "--format", "json", "-q").stdout
    payload = json.loads(out)
    jsonschema.validate(payload, load_schema("explain"))
    assert [(v["banned_shop_id"], v["verdict"], v["by"]) for v in payload["verdicts"]] == [
        (banned, "dismissed", "ana")]
    assert "Verdict V000001" in run("explain", data, shop, "--state", state, "-q").stdout


# the CLI with each verdict file's write held open for a while: a kill lands between the
# temporary file and its rename, the one moment a verdict is half on disk
_SLOW_WRITE = ("import sys, time; import pyarrow.parquet as pq; write = pq.write_table\n"
               "def slow(*a, **k):\n    write(*a, **k); time.sleep(30)\n"
               "pq.write_table = slow\n"
               "from graphlink.cli import main; sys.argv[0] = 'graphlink'; main()")


def test_review_confirm_killed_mid_write_leaves_the_log_whole(world, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from processes import gone_within, tagged_env

    from graphlink.state.verdicts import VERDICTS

    _state(world, tmp_path)
    state = tmp_path / "state"
    report = api.signups_report(gl.open_state(state), SINCE).payload["signups"]
    pairs = [(s["shop_id"], m["banned_shop_id"]) for s in report for m in s["matches"]][:4]
    assert len(pairs) == 4
    gl.confirm(state, *pairs[0], by="ana")  # one verdict whole before the kills
    before = read_log(state)
    for shop, banned in pairs[1:3]:  # killed mid-write: the temporary file is written
        env, tag = tagged_env()
        proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITE, "review", "confirm", shop,
                                 "--match", banned, "--state", str(state)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list((state / FOLDER).glob(".*.new")):
            assert proc.poll() is None and time.monotonic() < deadline, "no write began"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert gone_within(tag, 3) == []
        pd.testing.assert_frame_equal(read_log(state), before)  # nothing half-written counts
    # the lock died with its holder, the next verdict takes the next number, all whole
    gl.dismiss(state, *pairs[3], by="bo")
    log = read_log(state)
    assert log["verdict_id"].tolist() == ["V000001", "V000002"]
    assert log["verdict"].isin(VERDICTS).all() and log["evidence"].map(bool).all()
    assert [tuple(r) for r in log[["shop_id", "banned_shop_id"]].to_numpy()] == [pairs[0],
                                                                               pairs[3]]
    assert "2 verdict(s), 2 in force" in run("review", "list", "--state", state).output
