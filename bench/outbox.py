"""Outbox benchmark: how long an officer's click waits for the action to be on disk
(``Outbox.enqueue``, committed with synchronous=FULL), against a bare SQLite insert with
the same durability in the same process.

Run: ``python -m bench outbox`` (``--quick`` for a smoke run). Moved here from the tests:
a time limit asserted under a loaded machine proves nothing and fails at random.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.table import Row, print_table


def run(quick: bool = False) -> list[Row]:
    from commandcenter.actions import Outbox

    n = 20 if quick else 200
    with tempfile.TemporaryDirectory() as d:
        box = Outbox(Path(d) / "outbox.sqlite3")
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            box.enqueue(f"PD{i}", "escalate", "值班员", {"reason": "催办"})
            times.append(time.perf_counter() - t0)
        box.close()
        raw = sqlite3.connect(Path(d) / "raw.sqlite3", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE t (k TEXT, v TEXT)")
        base = []
        for i in range(n):
            t0 = time.perf_counter()
            raw.execute("INSERT INTO t VALUES (?, ?)", (f"PD{i}", "escalate"))
            base.append(time.perf_counter() - t0)
        raw.close()
    med, worst, bmed = statistics.median(times), max(times), statistics.median(base)
    return [
        Row("outbox enqueue incl. commit, median", med * 1e3, "ms", "< 50 ms", bmed * 1e3),
        Row("outbox enqueue incl. commit, worst", worst * 1e3, "ms", "", max(base) * 1e3),
    ]


if __name__ == "__main__":
    print_table(run())
