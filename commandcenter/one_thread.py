"""A thread of its own for work that lets go of the GIL (hashing a file, SQLite writing
a blob), one per process.

Why per process: a process forked after the pool's thread started inherits the pool but
not its thread, so work submitted there would wait for ever (a test runner's forked
child hung so). The pool is made again in whichever process first submits to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class OneThread:
    """``submit`` runs work on this process's one thread named ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pid = 0
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if self._pool is None or self._pid != os.getpid():
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
            self._pid = os.getpid()
        return self._pool.submit(fn, *args)
