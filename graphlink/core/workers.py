"""Worker processes for the pure, CPU-bound per-item work: normalising values,
comparing candidate pairs, scoring and explaining sign-ups.

Both are pure Python (regexes, libphonenumber, pinyin, rapidfuzz rules) and
hold the GIL, so threads do not help; a pool of processes spread over the
machine's cores does. Each long list gets a pool forked for it (a spawned
worker would re-import the caller's main module, which a notebook or
``python -`` does not have, and pay a second of imports) and shut down after
it: workers fill normaliser caches of their own, and at a million shops two
long-lived workers held 4.7 GB each. Forked workers inherit the list and what
the work needs (a pair graph, an evidence index): only answers are pickled.
Short lists stay in-process. If the
pool cannot start or a worker dies (killed for memory, say), the work is
redone in-process: slower, same answer.

Workers die with their parent. Each sets a parent-death signal (Linux
``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a thread that watches the
parent's pid), so SIGKILL of the parent, the OOM killer included, leaves no
worker behind. Workers ignore SIGINT (Ctrl-C reaches the whole process group:
the parent handles it) and take SIGTERM's default action. When the parent
is interrupted while it waits (:class:`graphlink.core.errors.Stopped`,
KeyboardInterrupt, any exception), it kills its workers at once and re-raises:
a stop is never mistaken for a broken pool, and the job is never run again
in-process. (When systemd or ``timeout`` signal the whole process group, the
workers die of SIGTERM and the parent's handler raises Stopped before any
work could be redone.)

``GRAPHLINK_WORKERS`` sets the number of processes (default: the cores this
process may use; ``1`` keeps everything in-process).

>>> map_chunks(_lengths, ["a", "bb"])
[1, 2]
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

__all__ = ["MIN_ITEMS", "map_chunks", "workers"]

MIN_ITEMS = 20_000  # below: shipping the list costs more than the work
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
LAST_POOL_SIZE = 0  # workers of the last list done in a pool (0: none yet)


def workers() -> int:
    """How many processes to use (``GRAPHLINK_WORKERS`` or the usable cores)."""
    configured = os.environ.get("GRAPHLINK_WORKERS", "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def map_chunks(fn: Callable[..., list], items: list, *args, min_items: int | None = None
               ) -> list:
    """``fn(items, *args)``, computed chunk by chunk in worker processes when
    ``items`` has ``min_items`` (default :data:`MIN_ITEMS`) or more; ``fn`` maps a
    list to a list of the same length.

    Workers are forked after ``fn``, ``items`` and ``args`` are set aside, so they
    inherit them (nothing is pickled on the way in: ``args`` may be a graph or an
    index of gigabytes, ``fn`` a closure); only each chunk's answer travels back.
    """
    size = workers()
    if size <= 1 or len(items) < (MIN_ITEMS if min_items is None else min_items):
        return fn(items, *args)
    step = -(-len(items) // (size * 4))  # a few chunks per worker evens out slow ones
    bounds = [(i, min(i + step, len(items))) for i in range(0, len(items), step)]
    global LAST_POOL_SIZE, _JOB
    saved, _JOB = _JOB, (fn, items, args)
    try:
        parts = _in_pool(size, bounds)
    except (BrokenProcessPool, OSError):
        return fn(items, *args)
    finally:
        _JOB = saved
    LAST_POOL_SIZE = size
    return [x for part in parts for x in part]


def _in_pool(size: int, bounds: list[tuple[int, int]]) -> list[list]:
    """Each chunk of ``_JOB`` mapped in a pool of ``size`` forked workers; the pool
    is gone when this returns or raises."""
    pool = ProcessPoolExecutor(size, mp_context=get_context("fork"), initializer=_worker_start,
                               initargs=(os.getpid(),))
    try:
        # submit + result, not map: map cancels the waiting futures when a stop
        # unwinds it, and on Python 3.11 the pool's manager thread then fails them
        # as broken and prints InvalidStateError to stderr.
        futures = [pool.submit(_run_chunk, chunk) for chunk in bounds]
        parts = [future.result() for future in futures]
    except BrokenProcessPool:
        # a worker died on its own (the OOM killer, say): the caller redoes the work.
        # When a stop signal reached the whole group, the parent's handler raises
        # Stopped at its next instruction, before any work is redone.
        pool.shutdown(wait=True)
        raise
    except BaseException:  # Stopped, KeyboardInterrupt, an error in a chunk
        _kill(pool)
        raise
    pool.shutdown(wait=True)
    return parts


def _processes(pool: ProcessPoolExecutor) -> list:
    # the pool keeps its workers in a private dict; no public way to reach them
    return list((getattr(pool, "_processes", None) or {}).values())


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of ``pool`` now and let the pool wind down (no waiting for
    the chunks in progress)."""
    procs = _processes(pool)
    for proc in procs:
        try:
            proc.kill()
        except (OSError, ValueError):  # already gone
            pass
    pool.shutdown(wait=False)  # no cancel_futures: see _in_pool
    for proc in procs:
        proc.join(timeout=2)


def _worker_start(parent: int) -> None:
    """Set up a worker: signals as the module says, and death with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _death_signal() or os.getppid() != parent:  # the parent may already be gone
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies (False: not available)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, every: float = 0.5) -> None:
    """End this worker once its parent is gone (it is re-parented: the pid changes)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


_JOB: tuple | None = None  # (fn, items, args) of the list being mapped: workers inherit it


def _run_chunk(bounds: tuple[int, int]) -> list:
    fn, items, args = _JOB
    return fn(items[bounds[0]:bounds[1]], *args)


def _lengths(items: list[str]) -> list[int]:
    return [len(s) for s in items]
