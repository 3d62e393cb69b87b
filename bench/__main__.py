"""python -m bench [NAME ...]: run the benchmarks and print one table.

Each row names what was measured, the number, the target from the performance budget
(docs/architecture.md) and, where one exists, the ratio against a baseline measured in
the same process, so that a slow machine shows as slow everywhere, not as a regression.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench.table import Row, print_table

# modules of bench/, each with run(quick) -> rows
SUITES = (
    "ingest",
    "latency",
    "startup",
    "ingest_transports",
    "map",
    "ranking",
    "queue",
    "sources",
    "outbox",
    "core",
    "video",
    "metrics",
    "journal_masking",
    "history",
    "soak",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("suites", nargs="*", choices=[*SUITES, []], help="default: all")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = ap.parse_args(argv)
    rows: list[Row] = []
    t0 = time.monotonic()
    for name in args.suites or list(SUITES):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(f"bench.{name}").run(quick=args.quick))
    print_table(rows)
    print(f"\n({time.monotonic() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
