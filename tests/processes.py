"""Helpers for tests that start graphlink processes and kill them: a tag in the
environment finds every process descended from one start (forked workers
inherit it, whoever their parent is after a kill)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAG = "GRAPHLINK_TEST_TAG"


def tagged_env(**extra: str) -> tuple[dict, str]:
    """An environment for a child process carrying a fresh tag, and the tag."""
    tag = uuid.uuid4().hex
    env = {**os.environ, TAG: tag, "PYTHONPATH": str(ROOT), **extra}
    return env, tag


def alive(tag: str) -> list[int]:
    """Pids of the live (not zombie) processes whose environment holds ``tag``."""
    found = []
    needle = f"{TAG}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def gone_within(tag: str, seconds: float) -> list[int]:
    """Wait up to ``seconds`` for every process of ``tag`` to end; those still alive."""
    deadline = time.monotonic() + seconds
    while (left := alive(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def graphlink(*args: str, env: dict, **popen) -> subprocess.Popen:
    """Start ``graphlink ARGS`` (this checkout's) as a child process."""
    return subprocess.Popen([sys.executable, "-m", "graphlink.cli", *map(str, args)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **popen)


def wait_for(condition, seconds: float, what: str) -> None:
    """Poll ``condition()`` until true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)
