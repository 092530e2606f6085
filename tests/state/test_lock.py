"""One writer per state folder (graphlink/state/lock.py): a second writer waits or fails
clearly, no run is lost, a killed writer leaves no stale lock, and a reader keeps
the run it opened whole while writers move on."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import pandas as pd
import pytest
from processes import ROOT, graphlink, tagged_env, wait_for

from graphlink import api
from graphlink.state.lock import EXIT_BUSY, LOCK_FILE, StateBusy, holds, writer_lock
from graphlink.state.store import State, StateError, save

# a writer that holds the lock for 3 s before its analysis: two writers surely overlap
SLOW_WRITER = ("import sys, time; import graphlink.workflow.with_state as w; "
               "slow = w._analyse_into_state; "
               "w._analyse_into_state = lambda *a, **k: (time.sleep(3), slow(*a, **k))[1]; "
               "from graphlink.cli import main; sys.argv[0] = 'graphlink'; main()")


@pytest.fixture(scope="module")
def versions(world, tmp_path_factory):
    """Three versions of one marketplace, each a day's export: base < middle < whole."""
    from test_state import split_world

    root = tmp_path_factory.mktemp("lock")
    base, _, _, _ = split_world(world, root / "a", 60)
    middle, _, _, _ = split_world(world, root / "b", 30)
    return {"base": base, "middle": middle, "whole": world, "root": root}


@pytest.fixture
def state(versions, tmp_path):
    folder = tmp_path / "state"
    api.analyse_into_state(versions["base"], folder)
    return folder


def _holder(folder) -> dict:
    try:
        return json.loads((folder / LOCK_FILE).read_text())
    except (OSError, ValueError):  # no lock file yet, or no holder
        return {}


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path):
    with writer_lock(tmp_path) as first:
        assert holds(tmp_path) and _holder(tmp_path)["pid"] == os.getpid()
        started = time.monotonic()
        with pytest.raises(StateBusy) as busy, writer_lock(tmp_path):
            pass
        assert time.monotonic() - started < 1
    assert str(busy.value).startswith(f"{tmp_path}/ is being written by pid {os.getpid()} "
                                      f"since {first.since}")
    assert busy.value.exit_code == EXIT_BUSY == 75
    assert not holds(tmp_path) and (tmp_path / LOCK_FILE).read_bytes() == b""


def test_a_second_writer_waits_up_to_its_timeout(tmp_path):
    release = threading.Event()

    def first() -> None:
        with writer_lock(tmp_path):
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    wait_for(lambda: _holder(tmp_path), 5, "the first writer")
    started = time.monotonic()
    with pytest.raises(StateBusy, match=r"waited 0\.3 s"), writer_lock(tmp_path, timeout=0.3):
        pass
    assert 0.3 <= time.monotonic() - started < 1.5
    threading.Timer(0.3, release.set).start()
    with writer_lock(tmp_path, timeout=5) as second:  # gets it once the first is done
        assert second.pid == os.getpid()
    thread.join()


def test_the_kernel_releases_the_lock_of_a_killed_writer(tmp_path):
    code = ("import sys, time; from graphlink.state.lock import writer_lock\n"
            "with writer_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)")
    env, _ = tagged_env()
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    with pytest.raises(StateBusy, match=f"pid {child.pid} "), writer_lock(tmp_path):
        pass
    child.send_signal(signal.SIGKILL)
    child.wait()
    with writer_lock(tmp_path):  # no stale lock: the record says who held it, not the file
        assert _holder(tmp_path)["pid"] == os.getpid()


def test_saving_a_run_needs_the_lock(state, analysis):
    with pytest.raises(StateError, match="writer lock"):
        save(analysis, state, {}, pd.DataFrame(), State.open(state))


def test_a_run_that_read_an_older_state_is_refused(state, versions, tmp_path):
    """What the lock guarantees, checked once more at the save: a run computed from
    R0001 cannot be saved over R0002 (its run id and change log would be wrong)."""
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(state, copy)
    old = State.open(copy)
    api.analyse_into_state(versions["whole"], copy)
    with writer_lock(copy), pytest.raises(StateError, match="moved on to run R0002"):
        save(api.analyse(versions["whole"]), copy, {}, pd.DataFrame(), old)


def test_cli_second_writer_exits_75_with_one_line(state, versions):
    env, _ = tagged_env()
    first = graphlink_slow("report", "changes", versions["whole"], "--state", state, env=env)
    wait_for(lambda: _holder(state).get("pid") == first.pid, 20, "the first writer's lock")
    second = graphlink("report", "changes", versions["middle"], "--state", state, "--quiet",
                       env=env)
    out, err = second.communicate(timeout=60)
    assert second.returncode == EXIT_BUSY, err
    since = _holder(state)["since"]
    assert err.decode() == (f"error: {state}/ is being written by pid {first.pid} since "
                            f"{since} (--lock-timeout SECONDS waits for it)\n")
    assert out == b""
    assert first.wait(60) == 0
    assert [r["run"] for r in State.open(state).manifest["runs"]] == ["R0001", "R0002"]


def test_two_writers_at_once_lose_no_run(state, versions):
    """The issue's scenario: two `report changes` on two versions of the data, one
    second apart. One waits for the other; both runs are in the state, each with
    the change log its own report showed."""
    env, _ = tagged_env()
    args = ("--state", state, "--format", "json", "--lock-timeout", "120", "--quiet")
    first = graphlink_slow("report", "changes", versions["middle"], *args, env=env)
    wait_for(lambda: _holder(state).get("pid") == first.pid, 20, "the first writer's lock")
    second = graphlink("report", "changes", versions["whole"], *args, env=env)
    reports = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    assert [r["runs"] for r in reports] == [["R0002"], ["R0003"]]
    saved = State.open(state)
    assert [r["run"] for r in saved.manifest["runs"]] == ["R0001", "R0002", "R0003"]
    for report in reports:
        run = report["runs"][0]
        log = saved.changes(run)
        assert len(log) == len(report["changes"]) and len(log)
        assert log["text"].tolist() == [c["text"] for c in report["changes"]]
    assert saved.fresh_for(_fingerprint(versions["whole"]))
    assert len(saved.table("shops")) == len(pd.read_csv(versions["whole"] / "shops.csv"))


def test_a_reader_keeps_its_run_while_writers_move_on(state, versions):
    """A reader opened at R0001 reads R0001's tables to the end, even after two
    more runs; the tables of a run nobody reads are deleted."""
    reader = State.open(state)
    before = reader.table("shops")
    api.analyse_into_state(versions["middle"], state)
    api.analyse_into_state(versions["whole"], state)
    assert reader.run == "R0001" and reader.table("shops").equals(before)
    assert State.open(state).run == "R0003"
    del reader
    api.analyse_into_state(versions["base"], state)
    assert sorted(p.name for p in (state / "tables").iterdir()) == ["R0004"]


def _fingerprint(folder):
    from graphlink.state.store import fingerprint

    return fingerprint(folder, {"pseudonymise": False})


def graphlink_slow(*args, env: dict):
    import subprocess

    return subprocess.Popen([sys.executable, "-c", SLOW_WRITER, *map(str, args)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_readers_never_wait_and_a_stale_signups_is_a_writer(state, versions):
    """While a writer holds the lock, the sign-ups of a fresh state and of a delta
    are served at once; sign-ups that would save a run wait, then fail clearly."""
    from test_state import split_world

    _, delta, _, _ = split_world(versions["whole"], versions["root"] / "reader", 60)
    with writer_lock(state):
        started = time.monotonic()
        fresh = api.signups_with_state(versions["base"], state, "2000-01-01")
        scored = api.signups_with_state(delta, state, "2000-01-01")
        assert time.monotonic() - started < 30
        assert fresh.payload["signups"] and scored.payload["signups"]
        with pytest.raises(StateBusy, match=f"pid {os.getpid()} "):
            api.signups_with_state(versions["whole"], state, "2000-01-01", lock_timeout=0.2)
    assert [r["run"] for r in State.open(state).manifest["runs"]] == ["R0001"]


def test_a_state_saved_before_run_folders_is_read_and_moved_on(state, versions):
    """A state of an earlier version keeps its tables in current/ and its manifest
    names no folder: it is read as it is, and its next run replaces current/."""
    manifest = json.loads((state / "manifest.json").read_text(encoding="utf-8"))
    (state / manifest.pop("tables")).rename(state / "current")
    (state / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    legacy = State.open(state)
    assert legacy.tables == state / "current" and len(legacy.table("shops"))
    del legacy
    api.analyse_into_state(versions["whole"], state)
    assert not (state / "current").exists()
    assert State.open(state).tables == state / "tables" / "R0002"
