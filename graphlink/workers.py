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

``GRAPHLINK_WORKERS`` sets the number of processes (default: the cores this
process may use; ``1`` keeps everything in-process).

>>> map_chunks(_lengths, ["a", "bb"])
[1, 2]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

__all__ = ["MIN_ITEMS", "map_chunks", "workers"]

MIN_ITEMS = 20_000  # below: shipping the list costs more than the work
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
        with ProcessPoolExecutor(size, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_run_chunk, bounds))
    except (BrokenProcessPool, OSError):
        return fn(items, *args)
    finally:
        _JOB = saved
    LAST_POOL_SIZE = size
    return [x for part in parts for x in part]


_JOB: tuple | None = None  # (fn, items, args) of the list being mapped: workers inherit it


def _run_chunk(bounds: tuple[int, int]) -> list:
    fn, items, args = _JOB
    return fn(items[bounds[0]:bounds[1]], *args)


def _lengths(items: list[str]) -> list[int]:
    return [len(s) for s in items]
