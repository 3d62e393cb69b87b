"""Giving the C heap's free pages back to the system after a large transient allocation.

Why: glibc keeps freed memory in the process for reuse, and after its heap has once held a
big block (a journal checkpoint is the whole store encoded: megabytes, freed a moment later)
it raises its own trim threshold, so several megabytes stay resident unused and the
console's RSS steps up with the checkpoints. Over a shift that reads as growth (bench/soak.py:
the second-half slope about halved with this, docs/reliability.md). ``malloc_trim(0)``
returns the free pages at once: 0.2-0.8 ms on average on the soak's heap (8 ms at worst on a
loaded machine), once per checkpoint.

Elsewhere than glibc (macOS, Windows, musl) there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable


def _load_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _load_trim()


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system; False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
