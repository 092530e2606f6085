"""graphlink.core.allocator: freed large buffers go back to the system."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# Frees 150 buffers of 3 MB that lie between small blocks still in use, after one 8 MB
# buffer freed first (which, by default, lifts glibc's mmap threshold above 3 MB), and
# prints how much of the 450 MB the process still holds.
_PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    from graphlink.core.allocator import fix_mmap_threshold
    if sys.argv[1] == "fixed":
        assert fix_mmap_threshold()
    def rss():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024
    freed = np.ones(1 << 20)  # 8 MB allocated and freed
    del freed
    before = rss()
    big, small = [], []
    for _ in range(150):
        big.append(np.ones(3 << 17))  # 3 MB, written
        small.append(np.ones(64))  # a small block after it, kept
    del big
    print(rss() - before)
""")


def _held_mb(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                         check=True,
                         env={k: v for k, v in os.environ.items()
                              if k != "MALLOC_MMAP_THRESHOLD_"})
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_buffers_freed_between_live_blocks_leave_the_process():
    assert _held_mb("fixed") < 50
    # the setting is what returns them: glibc's moving threshold keeps them on the heap
    assert _held_mb("default") > 300
