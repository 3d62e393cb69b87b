"""Giving the C heap's free pages back (commandcenter.native_memory)."""

from __future__ import annotations

import platform

from commandcenter.native_memory import release_free_heap


def test_free_heap_is_released_where_the_c_library_can() -> None:
    # glibc has malloc_trim; elsewhere the call is a no-op that says so
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    blocks = [bytearray(4096) for _ in range(2000)]  # something to give back
    del blocks
    assert release_free_heap() is glibc
