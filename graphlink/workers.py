"""Worker processes for the pure, CPU-bound per-item work: normalising values
and comparing candidate pairs.

Both are pure Python (regexes, libphonenumber, pinyin, rapidfuzz rules) and
hold the GIL, so threads do not help; a pool of processes spread over the
machine's cores does. One pool lives for the whole process, forked at its
first use (a spawned worker would re-import the caller's main module, which
a notebook or ``python -`` does not have, and pay a second of imports), is
used only for lists long enough to pay for shipping them, and is shut down
at exit. If a worker dies (killed for memory, say), the work is redone
in-process: slower, same answer.

``GRAPHLINK_WORKERS`` sets the number of processes (default: the cores this
process may use; ``1`` keeps everything in-process).

>>> map_chunks(_lengths, ["a", "bb"])
[1, 2]
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

__all__ = ["MIN_ITEMS", "map_chunks", "workers"]

MIN_ITEMS = 20_000  # below: shipping the list costs more than the work
_POOL: ProcessPoolExecutor | None = None


def workers() -> int:
    """How many processes to use (``GRAPHLINK_WORKERS`` or the usable cores)."""
    configured = os.environ.get("GRAPHLINK_WORKERS", "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _pool(size: int) -> ProcessPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(size, mp_context=get_context("fork"))
        atexit.register(_POOL.shutdown, cancel_futures=True)
    return _POOL


def map_chunks(fn: Callable[..., list], items: list, *args) -> list:
    """``fn(items, *args)``, computed chunk by chunk in worker processes when
    ``items`` is long; ``fn`` maps a list to a list of the same length and must
    be a module-level function (workers import it by name)."""
    size = workers()
    if size <= 1 or len(items) < MIN_ITEMS:
        return fn(items, *args)
    step = -(-len(items) // (size * 4))  # a few chunks per worker evens out slow ones
    chunks = [items[i:i + step] for i in range(0, len(items), step)]
    try:
        parts = list(_pool(size).map(fn, chunks, *([a] * len(chunks) for a in args)))
    except BrokenProcessPool:
        _reset()
        return fn(items, *args)
    return [x for part in parts for x in part]


def _reset() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
    _POOL = None


def _lengths(items: list[str]) -> list[int]:
    return [len(s) for s in items]
