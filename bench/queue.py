"""Case queue benchmark: sort and filter 100k cases (several filters, several sort keys)
against pandas ``sort_values`` on the same data, and the longest frame gap of the queue's
table (offscreen, repainted with ``grab``) while 1,000 case changes/s are applied.

Run: ``python -m bench queue`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import msgspec
import numpy as np

from bench.table import Row, print_table

N = 100_000
CATS = ["占道经营", "井盖缺失", "路灯不亮", "垃圾满溢", "燃气泄漏", "违章搭建", "噪音扰民"]
STATES = ["reported", "signed", "assigned", "handling", "completed", "closed"]
SOURCES = ["hotline", "grid_worker", "inspector", "video", "sensor"]


def _store(n: int, now: float):
    from commandcenter.store import Store
    from feeds import protocol as P

    rng = np.random.default_rng(5)
    store = Store()
    store.set_clock(now)
    ages = rng.exponential(8 * 3600, n)
    states = rng.integers(0, len(STATES), n)
    events = [
        P.Event(
            i + 1,
            P.CASE_CREATED,
            now,
            P.CaseData(
                id=f"PD{i:08d}",
                version=1,
                category=CATS[i % 7],
                source=SOURCES[i % 5],
                urgency="urgent" if i % 9 == 0 else "normal",
                state=STATES[int(states[i])],
                township=f"T{i % 12:02d}",
                grid=f"G{i % 452:03d}",
                lon=113.6,
                lat=37.8,
                created_ts=now - float(ages[i]),
                state_ts=now,
                title=f"{CATS[i % 7]}{i}",
                assignee=["", "县城市管理局", "冠山镇"][i % 3],
            ),
        )
        for i in range(n)
    ]
    store.apply(events)
    return store


def _best(fn, reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out) * 1000


def run(quick: bool = False) -> list[Row]:
    from commandcenter.queue import QueueFilter, QueueIndex, SortKey

    now = time.time()
    store = _store(N, now)
    q = QueueIndex(store)
    q.query(QueueFilter(text="x"))  # the search text, built once per change
    reps = 3 if quick else 7
    cases = [
        ("all, by time left", QueueFilter(), [SortKey("remaining")]),
        (
            "open red/yellow, by level then age",
            QueueFilter(open_only=True, levels=("red", "yellow")),
            [SortKey("level"), SortKey("age", True)],
        ),
        (
            "category + 2 townships, by area",
            QueueFilter(categories=("井盖缺失",), townships=("T01", "T02")),
            [SortKey("area")],
        ),
        ("text 井盖, by id desc", QueueFilter(text="井盖"), [SortKey("id", True)]),
        (
            "source + state, by assignee then time left",
            QueueFilter(sources=("hotline",), states=("reported", "signed")),
            [SortKey("assignee"), SortKey("remaining")],
        ),
    ]
    rows: list[Row] = []
    df = store.to_frame()
    _, remaining, _ = store.sla_arrays(now)
    df["remaining"] = remaining
    base = _best(lambda: df.sort_values(["remaining", "created_ts"]), reps)
    worst = 0.0
    for what, flt, sort in cases:
        ms = _best(lambda f=flt, s=sort: q.query(f, s, now=now), reps)
        worst = max(worst, ms)
        rows.append(
            Row(
                f"queue 100k: {what}",
                ms,
                "ms",
                "<= 50 ms",
                baseline=base if what.startswith("all") else None,
                note="incl. SLA evaluation"
                + ("; baseline pandas sort_values" if what.startswith("all") else ""),
            )
        )
    rows.append(Row("queue 100k: worst filter+sort", worst, "ms", "<= 50 ms"))
    rows.append(_frames(store, now, 2.0 if quick else 5.0))
    return rows


def _frames(store, now: float, seconds: float) -> Row:
    """Apply 1,000 case updates/s (in 10 batches a second, as the bridge merges them) to
    the live queue panel and measure the gaps between rendered frames."""
    from PySide6.QtWidgets import QApplication

    from commandcenter.status import FeedStatus, LinkState
    from feeds import protocol as P
    from widgets import i18n, theme
    from widgets.base import PanelContext
    from widgets.cases import common
    from widgets.cases.queue import CaseQueuePanel
    from widgets.live import LiveBridge

    app = QApplication.instance() or QApplication([])
    theme.apply_theme(app)
    i18n.set_language(app, i18n.CHINESE)
    common.sounds().muted = True
    status = FeedStatus()
    status.last_data_at = time.time()
    status.set_state(LinkState.LIVE)
    bridge = LiveBridge(store, status)
    panel = CaseQueuePanel(PanelContext(store, status, bridge))
    panel.resize(1920, 1000)
    panel.show()
    app.processEvents()
    rng = np.random.default_rng(9)
    n = len(store)
    gaps: list[float] = []
    last = time.perf_counter()
    end = last + seconds
    seq = store.seq
    while time.perf_counter() < end:
        batch = []
        for r in rng.integers(0, n, 100).tolist():
            c = store.record_at(r)
            seq += 1
            state = STATES[(STATES.index(c.state) + 1) % len(STATES)]
            batch.append(
                P.Event(
                    seq,
                    P.CASE_UPDATED,
                    now,
                    msgspec.structs.replace(c, version=c.version + 1, state=state),
                )
            )
        store.apply(batch)
        app.processEvents()
        panel.grab()
        t = time.perf_counter()
        gaps.append((t - last) * 1000)
        last = t
        time.sleep(max(0.0, 0.1 - gaps[-1] / 1000))
    panel.teardown()
    panel.close()
    bridge.close()
    updates = len(gaps) * 100 / seconds
    return Row(
        "queue 100k: max frame gap at 1,000 changes/s",
        max(gaps[1:]) if len(gaps) > 1 else 0.0,
        "ms",
        "<= 100 ms",
        note=f"{updates:,.0f} changes/s over {seconds:.0f} s, p50 {np.median(gaps):.0f} ms",
    )


if __name__ == "__main__":
    print_table(run())
