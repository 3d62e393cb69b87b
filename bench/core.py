"""Core speed, moved here from the tests (a time limit asserted on a loaded machine proves
nothing): the demo world's ten-hour fast-forward, and the alarm engine's first and repeat
evaluation over 100k cases, each against a plain pass over the same data in the same
process (a Python loop over the events; ``Store.sla_arrays`` alone for the alarms).

Run: ``python -m bench core`` (``--quick``: two hours, 20k cases).
"""

from __future__ import annotations

import time

from bench.table import Row, print_table

START = 1_795_399_200.0  # 2026-11-23 10:00 in Pingding (UTC+8)


def _fast_forward(hours: float) -> list[Row]:
    from feeds.serve.simulator.county import County
    from feeds.serve.simulator.world import World

    w = World(County.build(1), seed=1, start_ts=START)
    w.warm_up(8)
    t0 = time.perf_counter()
    events = w.advance(w.now + hours * 3600)
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    sum(1 for e in events if e.ts)  # touching every event once: the floor
    floor = time.perf_counter() - t0
    return [
        Row(
            f"simulator fast-forward {hours:g} h",
            took,
            "s",
            "< 15 s",
            floor,
            f"{len(events)} events",
        )
    ]


def _alarms(n: int) -> list[Row]:
    from commandcenter.alarms import AlarmEngine
    from commandcenter.sla import MINUTE
    from commandcenter.store import Store
    from feeds import protocol as P

    now = START
    cases = [
        P.CaseData(
            id=f"X{i:06d}",
            version=1,
            category="路灯不亮",
            source="hotline",
            urgency="normal",
            state="signed",
            township="T1",
            grid=f"G{i % 452}",
            lon=113.6,
            lat=37.8,
            created_ts=now - (i % 100) * 20 * MINUTE,
            state_ts=now,
        )
        for i in range(n)
    ]
    store = Store()
    store.set_clock(now, rate=0.0)
    store.apply([P.Event(i + 1, P.CASE_CREATED, now, c) for i, c in enumerate(cases)])
    eng = AlarmEngine(store)
    t0 = time.perf_counter()
    eng.evaluate()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    eng.evaluate()
    again = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.sla_arrays()
    base = time.perf_counter() - t0
    return [
        Row(f"alarms first evaluation, {n:,} cases", first * 1e3, "ms", "< 1000 ms", base * 1e3),
        Row(f"alarms repeat evaluation, {n:,} cases", again * 1e3, "ms", "< 500 ms", base * 1e3),
    ]


def run(quick: bool = False) -> list[Row]:
    return _fast_forward(2 if quick else 10) + _alarms(20_000 if quick else 100_000)


if __name__ == "__main__":
    print_table(run())
