"""How the process hands freed memory back to the system: large blocks are mapped on
their own, so freeing one returns it at once.

glibc's ``malloc`` serves a block of 128 KiB or more with its own ``mmap`` at
first, but each such block freed raises that threshold to the block's size (up
to 32 MiB). After the first few large frees of an analysis, numpy, pandas and
Arrow buffers of up to 32 MiB come from the heap instead, and a heap holds on
to freed space below any block still in use: the process's resident memory
stays at its high-water mark while the next stage allocates afresh. Fixing the
threshold at :data:`MMAP_THRESHOLD` (which also stops it moving) keeps every
buffer of 1 MiB or more mapped on its own. Measured with
``benchmarks/memory.py`` (the whole ``graphlink analyse --state``): at 30,000
shops peak 910-928 -> 774-792 MB (128 KiB: 752-765 MB; 4 MiB: 849-861 MB); at
100,000 shops 2,508 -> 2,154 MB, and 2,849 -> 2,251 MB with the linking
workers. The price is system time (each such buffer is mapped and zeroed
afresh): +1-2 s of 35 s CPU at 30,000 shops, +12 s of 132 s at 100,000.

Only glibc on Linux has ``mallopt``; elsewhere this does nothing. A
``MALLOC_MMAP_THRESHOLD_`` in the environment (glibc's own setting, in bytes)
is left to rule: set it to 33554432 for glibc's largest threshold (less system
time, more memory).

>>> fix_mmap_threshold() in (True, False)
True
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD", "fix_mmap_threshold"]

MMAP_THRESHOLD = 1 << 20  # bytes
_M_MMAP_THRESHOLD = -3  # malloc.h
_done = False


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Make glibc map every block of ``threshold`` bytes or more on its own, for the
    rest of the process (and the workers it forks). True when set, by this call or
    an earlier one."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return _done
