"""Work spread over worker processes gives exactly the in-process answer; workers
die with their parent, and a stop (SIGTERM, Ctrl-C) is never redone in-process."""

import os

import pytest

import graphlink as gl
from graphlink.core import workers
from graphlink.linkage import link
from graphlink.linkage.identifiers import extract
from graphlink.linkage.link import count_entities, find_links


def _links(folder):
    ids = count_entities(extract(gl.load(folder)))
    return ids, find_links(ids)


def test_workers_give_the_in_process_answer(world, monkeypatch):
    monkeypatch.setenv("GRAPHLINK_WORKERS", "1")
    monkeypatch.setattr(workers, "LAST_POOL_SIZE", 0)
    ids_1, links_1 = _links(world)
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(workers, "MIN_ITEMS", 10)  # every list goes to the workers
    monkeypatch.setattr(link, "PARALLEL_VALUES", 0)  # and the blocking passes too
    ids_2, links_2 = _links(world)
    assert workers.LAST_POOL_SIZE == 2  # the pool really ran
    assert ids_2.uses.equals(ids_1.uses) and ids_2.values.equals(ids_1.values)
    assert links_2.similar.equals(links_1.similar) and len(links_1.similar)
    assert links_2.keys.equals(links_1.keys)


def test_map_chunks_keeps_order_and_length(monkeypatch):
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(workers, "MIN_ITEMS", 1)
    items = [f"v{i}" * (i % 7) for i in range(1000)]
    assert workers.map_chunks(workers._lengths, items) == [len(s) for s in items]


def test_signups_scored_and_explained_in_workers_are_the_in_process_ones(world, monkeypatch):
    from graphlink import api
    from graphlink.reports import report
    from graphlink.scoring import score

    analysis = gl.analyse(world)
    monkeypatch.setenv("GRAPHLINK_WORKERS", "1")
    alone = report.render(api.signups_report(analysis, "2000-01-01"), "json")
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(score, "SHARE_ABOVE", 10)
    monkeypatch.setattr(workers, "LAST_POOL_SIZE", 0)
    shared = report.render(api.signups_report(analysis, "2000-01-01"), "json")
    assert workers.LAST_POOL_SIZE == 2
    assert shared == alone and '"evidence": [\n' in alone


# --- workers die with their parent; a stop is never retried in-process ----------------

POOL = """
import os, sys, time
from graphlink.core import workers
from graphlink.cli import stop_on_signals
from graphlink.core.errors import Stopped

def slow(items):
    with open(sys.argv[1], "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(60)
    return items

if sys.argv[2] == "handled":
    stop_on_signals()
try:
    workers.map_chunks(slow, list(range(100)), min_items=1)
except Stopped as stop:
    print(f"graphlink: {stop}", file=sys.stderr)
    sys.exit(stop.exit_status)
"""


def _pool(tmp_path, mode: str):
    """A process mapping a slow job over 2 workers, once both workers run it."""
    import subprocess
    import sys

    from processes import tagged_env, wait_for

    log = tmp_path / "pids"
    env, tag = tagged_env(GRAPHLINK_WORKERS="2")
    proc = subprocess.Popen([sys.executable, "-c", POOL, str(log), mode], env=env,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(lambda: log.exists() and len(log.read_text().split()) == 2, 30, "two workers")
    return proc, tag, log


def test_sigkill_of_the_parent_leaves_no_worker(tmp_path):
    import signal

    from processes import alive, gone_within

    proc, tag, log = _pool(tmp_path, "plain")
    assert set(alive(tag)) == {proc.pid, *map(int, log.read_text().split())}
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone_within(tag, 3) == []


@pytest.mark.parametrize(("how", "status"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_stop_ends_promptly_and_never_reruns_in_process(tmp_path, how, status):
    """SIGTERM to the parent alone (what `kill` and cron wrappers send), SIGINT to
    the whole process group (Ctrl-C): out within a second, one line, no worker
    left, and the job was never started in the parent."""
    import os
    import signal
    import time

    from processes import gone_within

    proc, tag, log = _pool(tmp_path, "handled")
    started = time.monotonic()
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - started < 1.5
    assert proc.returncode == status
    assert err == f"graphlink: stopped by {how}\n"
    assert gone_within(tag, 3) == []
    assert str(proc.pid) not in log.read_text().split()


def test_a_worker_killed_alone_is_redone_in_process(monkeypatch):
    """The OOM killer takes a worker: the work is redone in-process, same answer."""
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    items = [f"v{i}" for i in range(50)]
    assert workers.map_chunks(_dies_in_a_worker, items, os.getpid(), min_items=1) == [
        len(s) for s in items]


def _dies_in_a_worker(items: list[str], parent: int) -> list[int]:
    import signal

    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return [len(s) for s in items]
