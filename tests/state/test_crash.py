"""The daily cycle survives kills: SIGKILL and SIGTERM of the parent at random
points leave no process behind and a usable state, and once each step is run
to completion, the state, its change log and the reports equal those of an
uninterrupted cycle.

The cycle, as cron runs it on a small generated world split into yesterday's
export (``base``), today's new shops (``delta``) and today's export (``whole``):

1. ``report changes BASE --state S``: analyse into the state (run R0001);
2. ``report signups DELTA --state S``: score the day's new shops against it;
3. ``report changes WHOLE --state S``: the next run (R0002) and its changes;
4. ``report signups WHOLE --state S``: the sign-up report from the fresh state.

Every step runs in a process of its own with two workers that get the longer
lists (so kills land while pools run). ``GRAPHLINK_CRASH_SEED`` picks other kill
points (default 18); ``GRAPHLINK_CRASH_LOG=FILE`` appends the kills' exit statuses.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import ROOT, alive, gone_within, tagged_env

from graphlink.state.store import State

KILLS = (2, 1, 2, 1)  # per step: the writers twice, the readers once
# the CLI with every list of 300 items or more mapped in the worker pool: about 20
# pools per analysis of this world
CLI = ("import sys; from graphlink.core import workers; workers.MIN_ITEMS = 300; "
       "from graphlink.cli import main; sys.argv[0] = 'graphlink'; main()")


def _cycle(split: dict, state: Path, out: Path) -> list[list[str]]:
    json_to = ["--format", "json", "--quiet", "--output"]
    return [
        ["report", "changes", split["base"], "--state", state, *json_to, out / "changes1.json"],
        ["report", "signups", split["delta"], "--since", "2000-01-01", "--state", state,
         *json_to, out / "delta.json"],
        ["report", "changes", split["whole"], "--state", state, *json_to, out / "changes2.json"],
        ["report", "signups", split["whole"], "--since", "2000-01-01", "--state", state,
         *json_to, out / "signups.json"],
    ]


def _start(args: list, env: dict, pools: bool = True) -> subprocess.Popen:
    command = ["-c", CLI] if pools else ["-m", "graphlink.cli"]
    return subprocess.Popen([sys.executable, *command, *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _complete(args: list, pools: bool = True) -> float:
    env, tag = tagged_env(GRAPHLINK_WORKERS="2")
    started = time.monotonic()
    proc = _start(args, env, pools)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert gone_within(tag, 3) == []
    return time.monotonic() - started


def _killed(args: list, after: float, signum: int) -> tuple[int, str]:
    """Run a step, send ``signum`` ``after`` seconds in; its exit status and stderr,
    once no process of it is left (or the test fails)."""
    env, tag = tagged_env(GRAPHLINK_WORKERS="2")
    proc = _start(args, env)
    time.sleep(after)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    left = gone_within(tag, 3)
    assert left == [], f"processes left after {signal.Signals(signum).name}: {left}"
    return proc.returncode, err


@pytest.fixture(scope="module")
def split(world, tmp_path_factory):
    from test_state import split_world

    base, delta, _, _ = split_world(world, tmp_path_factory.mktemp("crash"), 60)
    return {"base": base, "delta": delta, "whole": world}


@pytest.fixture(scope="module")
def reference(split, tmp_path_factory):
    """The uninterrupted cycle, in-process (no worker pools: pools must give the
    same answer): its folder, outputs and each step's duration."""
    root = tmp_path_factory.mktemp("reference")
    steps = _cycle(split, root / "state", root)
    return {"root": root, "seconds": [_complete(step, pools=False) for step in steps]}


def test_a_killed_daily_cycle_ends_as_an_uninterrupted_one(split, reference, tmp_path):
    rng = random.Random(int(os.environ.get("GRAPHLINK_CRASH_SEED", "18")))
    state = tmp_path / "state"
    steps = _cycle(split, state, tmp_path)
    statuses = []
    for step, seconds, kills in zip(steps, reference["seconds"], KILLS, strict=True):
        for _ in range(kills):
            signum = (signal.SIGKILL, signal.SIGTERM)[len(statuses) % 2]
            # pools make a step slower than the reference's: kill up to its end
            status, err = _killed(step, rng.uniform(0.05, 1.5 * seconds), signum)
            statuses.append(status)
            _check_stop(signum, status, err)
            _check_consistent(state, reference["root"] / "state")
        _complete(step)
    assert any(s in (-signal.SIGKILL, 143, -signal.SIGTERM) for s in statuses), statuses
    if os.environ.get("GRAPHLINK_CRASH_LOG"):  # exit statuses of the kills, for the record
        with open(os.environ["GRAPHLINK_CRASH_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(statuses) + "\n")
    _check_same_state(state, reference["root"] / "state")
    for name in ("changes1.json", "delta.json", "changes2.json", "signups.json"):
        assert _payload(tmp_path / name, state) == _payload(reference["root"] / name,
                                                            reference["root"] / "state"), name
    assert _truncated_outputs(tmp_path) == []


def _check_stop(signum: int, status: int, err: str) -> None:
    """SIGKILL: killed (or already done); SIGTERM: 143 with one line, killed before
    the handler was set up, or already done."""
    if signum == signal.SIGKILL:
        assert status in (-signal.SIGKILL, 0), (status, err)
    elif status == 143:
        assert err == "graphlink: stopped by SIGTERM\n", err
    else:
        assert status in (-signal.SIGTERM, 0), (status, err)


def _check_consistent(state: Path, reference: Path) -> None:
    """After any kill: no state yet, or one whose runs are the reference's first
    runs, each with its tables and change log."""
    opened = State.open(state)
    if opened is None:
        return
    runs = [r["run"] for r in opened.manifest["runs"]]
    assert runs == [r["run"] for r in State.open(reference).manifest["runs"]][:len(runs)]
    assert len(opened.table("shops")) == opened.manifest["runs"][-1]["shops"]
    for run in runs:
        assert len(opened.changes(run)) == opened.manifest["runs"][runs.index(run)]["changes"]


def _check_same_state(state: Path, reference: Path) -> None:
    mine, theirs = State.open(state), State.open(reference)
    assert _runs(mine) == _runs(theirs)
    assert mine.fresh_for(theirs.manifest["fingerprint"])
    for table in sorted(p.stem for p in theirs.tables.glob("*.parquet")):
        assert mine.table(table).equals(theirs.table(table)), table
    assert (mine.tables / "model.json").read_bytes() == (theirs.tables / "model.json").read_bytes()
    for run in _runs(theirs):
        assert mine.changes(run[0]).equals(theirs.changes(run[0])), run
    # the killed runs' debris is gone once a run completes
    assert sorted(p.name for p in (state / "tables").iterdir()) == [mine.run]


def _runs(state: State) -> list[tuple]:
    return [(r["run"], r["shops"], r["operators"], r["changes"]) for r in state.manifest["runs"]]


def _payload(path: Path, state: Path) -> dict:
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("state") == str(state):
        payload["state"] = "STATE"
    return payload


def _truncated_outputs(folder: Path) -> list[str]:
    """Half-written output files: temporary files beside the outputs are allowed
    only from SIGKILL (nothing can clean up after it), never a truncated report."""
    return [p.name for p in folder.glob("*.json") if not _whole_json(p)]


def _whole_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
        return True
    except ValueError:
        return False


def test_no_process_is_left_by_any_step(reference):
    """Sanity of the helper the crash test relies on: this test process is found
    by its tag, a finished step is not."""
    env, tag = tagged_env()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
    try:
        assert alive(tag) == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert gone_within(tag, 3) == []
    assert all(s > 0 for s in reference["seconds"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_writer_stopped_mid_run_keeps_the_previous_run(split, reference, tmp_path, signum):
    """A writer holding the lock is stopped: 143/130 with one line, the lock is
    free again, the state still at its previous run, no process left."""
    import shutil

    from test_lock import _holder, graphlink_slow

    from graphlink.state.lock import writer_lock

    state = tmp_path / "state"
    shutil.copytree(reference["root"] / "state", state)
    before = (state / "manifest.json").read_bytes()
    env, tag = tagged_env()
    proc = graphlink_slow("report", "changes", split["base"], "--state", state, "--quiet",
                          env=env)
    deadline = time.monotonic() + 20
    while _holder(state).get("pid") != proc.pid and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signum
    assert err.decode() == f"graphlink: stopped by {signal.Signals(signum).name}\n"
    assert gone_within(tag, 3) == []
    assert (state / "manifest.json").read_bytes() == before
    with writer_lock(state):
        pass
