"""The writer lock of a state folder: one writing run at a time, per folder.

A run that saves into a state folder (``report changes``, ``report signups``
on a stale state, later ``analyse`` and ``review``) holds an exclusive
advisory lock (``flock``) on ``<state>/writer.lock`` from before it reads the
state until after its new run is swapped in. The kernel releases the lock when
the process ends, however it ends (SIGKILL and the OOM killer included), so a
crashed run never leaves a stale lock behind. While held, the file records the
holder's pid, host and start time (JSON), which is what a second writer
reports::

    state/ is being written by pid 4242 since 2026-12-06T06:00:01+00:00

A second writer waits up to ``timeout`` seconds (0: not at all) and then
raises :class:`StateBusy`. Readers take no lock: a run becomes visible in one
atomic rename of ``manifest.json`` (:mod:`graphlink.state.store`).

``flock`` locks are per open file: two writers in one process exclude each
other too. On NFS, Linux emulates ``flock`` with POSIX byte-range locks, so the
lock holds across machines sharing the folder (pid and host say where).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     with writer_lock(folder) as me:
...         holds(folder), me.pid == os.getpid()
(True, True)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from graphlink.core.errors import GraphlinkError

__all__ = ["LOCK_FILE", "EXIT_BUSY", "Holder", "StateBusy", "holds", "writer_lock"]

LOCK_FILE = "writer.lock"
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: try again later
_POLL = 0.1  # seconds between two attempts while waiting
_GRACE = 2.0  # seconds a holder may take to record itself
_HELD: set[Path] = set()  # state folders whose writer lock this process holds


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a writer lock: pid, host and start time (ISO 8601, UTC)."""

    pid: int
    host: str
    since: str


class StateBusy(GraphlinkError):
    """Another run is writing the state folder (and did not finish in time)."""

    exit_code = EXIT_BUSY


def holds(folder: str | Path) -> bool:
    """Whether this process holds the writer lock of ``folder``."""
    return Path(folder).resolve() in _HELD


@contextmanager
def writer_lock(folder: str | Path, timeout: float = 0) -> Iterator[Holder]:
    """Hold the writer lock of the state ``folder`` (created if missing) inside the block.

    Waits up to ``timeout`` seconds for another writer to finish, then raises
    :class:`StateBusy` naming it. Not re-entrant: take it once per run.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, folder, timeout)
        me = Holder(os.getpid(), socket.gethostname(),
                    datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _record(fd, json.dumps(me.__dict__).encode())
        _HELD.add(folder.resolve())
        try:
            yield me
        finally:
            _HELD.discard(folder.resolve())
            _record(fd, b"")  # still locked: nobody reads a finished run as the holder
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, folder: Path, timeout: float) -> None:
    deadline = time.monotonic() + max(timeout, 0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _holder(fd)
            left = deadline - time.monotonic()
            # no record yet: its holder is just starting (or ending); give it a moment
            if left <= 0 and (holder is not None or left < -_GRACE):
                raise StateBusy(_busy(folder, holder, timeout)) from None
            time.sleep(min(_POLL, max(left, 0.01)))


def _record(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _holder(fd: int) -> Holder | None:
    """The holder recorded in the lock file (None while it is being written)."""
    try:
        record = json.loads(os.pread(fd, 4096, 0))
        return Holder(int(record["pid"]), str(record["host"]), str(record["since"]))
    except (ValueError, KeyError, TypeError):
        return None


def _busy(folder: Path, holder: Holder | None, timeout: float) -> str:
    holder = holder or Holder(0, socket.gethostname(), "an unknown time")
    pid = holder.pid or "?"
    where = "" if holder.host == socket.gethostname() else f" on {holder.host}"
    waited = f"waited {timeout:g} s" if timeout > 0 else "--lock-timeout SECONDS waits for it"
    return (f"{folder}/ is being written by pid {pid}{where} since {holder.since} "
            f"({waited})")
