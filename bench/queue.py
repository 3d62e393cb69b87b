"""Case queue benchmark: sort and filter 100k cases (several filters, several sort keys)
against pandas ``sort_values`` on the same data, and the longest frame gap of the queue's
table (offscreen, repainted with ``grab``) while 1,000 case changes/s are applied.

Run: ``python -m bench queue`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import gc
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


def _store(n: int, now: float, *, freeze: bool = True):
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
    if freeze:  # as main.py does after the first snapshot: see ``freeze_heap``
        freeze_heap()
    return store


def freeze_heap() -> None:
    """Move the loaded snapshot's objects out of the collector's reach (``gc.freeze``).

    Why: 100k case structs (and their strings) sit in the oldest generation; the first full
    collection after loading walks all of them (~200 ms measured with ``gc.callbacks``), and
    it is triggered by whatever small allocation happens next: a live batch of 100 events,
    i.e. a frame. Frozen objects are never traversed; they are immutable records replaced
    (not mutated) by updates, so no cycle through them is lost that a collection could free.
    """
    gc.collect()
    gc.freeze()


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


def _frames(store, now: float, seconds: float, *, detail: bool = False) -> Row:
    """Apply 1,000 case updates/s (100 per 100 ms frame, as the bridge merges them) to the
    live queue panel and measure the gaps between rendered frames.

    Why this shape (one paint per frame): the panel is shown with ``WA_DontShowOnScreen``,
    so the event loop never paints it into an offscreen backing store; ``grab`` renders it
    once per frame, the way a screen's repaint would. Frames are scheduled on an absolute
    100 ms grid (no drift); each frame applies its batch, runs the event loop (the bridge's
    frame timer emits ``changed``, the 1 Hz ``tick`` and the panel's own timers fire), then
    renders. The gap is the time between two rendered frames: 100 ms when the frame's work
    fits, longer when it does not. The store is fed on the GUI thread, as the real client
    is (qasync), so its apply cost is in the frame too.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from commandcenter.alarms import AlarmEngine
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
    # As main.py wires it: one shared alarm engine evaluated on the bridge's tick.
    alarms = AlarmEngine(store)
    bridge.tick.connect(alarms.evaluate)
    panel = CaseQueuePanel(PanelContext(store, status, bridge, alarms=alarms))
    panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    panel.resize(1920, 1000)
    panel.show()
    app.processEvents()
    panel.grab()
    rng = np.random.default_rng(9)
    n = len(store)
    gaps: list[float] = []
    work: list[float] = []
    paint: list[float] = []
    gc_ms: list[float] = []  # collector pauses per frame (gc.callbacks), gen 2 marked
    gc_pauses: list[tuple[int, float]] = []
    gc_t = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_t[0] = time.perf_counter()
        else:
            gc_pauses.append((info["generation"], (time.perf_counter() - gc_t[0]) * 1000))

    gc.callbacks.append(on_gc)
    frame_s = 0.1
    seq = store.seq
    load = _loadavg()
    start = time.perf_counter()
    last = start
    k = 0
    while last - start < seconds:
        k += 1
        time.sleep(max(0.0, start + k * frame_s - time.perf_counter()))
        t0 = time.perf_counter()
        gc_pauses.clear()
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
        t1 = time.perf_counter()
        panel.grab()
        t = time.perf_counter()
        gaps.append((t - last) * 1000)
        work.append((t - t0) * 1000)
        paint.append((t - t1) * 1000)
        gc_ms.append(sum(ms for _, ms in gc_pauses))
        if detail and (work[-1] > 60 or any(g == 2 for g, _ in gc_pauses)):
            print(
                f"frame {k}: {work[-1]:.0f} ms, gc "
                + ", ".join(f"gen{g} {ms:.1f} ms" for g, ms in gc_pauses)
            )
        last = t
    gc.callbacks.remove(on_gc)
    bridge.tick.disconnect(alarms.evaluate)
    panel.teardown()
    panel.close()
    bridge.close()
    # Every frame counts, the first one too (it once held a ~200 ms full collection).
    w = np.asarray(work or [0.0])
    g = np.asarray(gaps or [0.0])
    updates = len(gaps) * 100 / seconds
    note = (
        f"frame time = apply + events + paint of one 100 ms frame; p99"
        f" {np.percentile(w, 99):.0f}, p50 {np.median(w):.0f} ms; {updates:,.0f} changes/s over"
        f" {seconds:.0f} s; gap between painted frames (100 ms grid + jitter, not the"
        f" target) max {g.max():.0f}, p50 {np.median(g):.0f} ms; paint p50"
        f" {np.median(paint):.0f} ms; gc max {max(gc_ms or [0.0]):.0f} ms; load {load}"
    )
    return Row(
        "queue 100k: max frame time at 1,000 changes/s",
        float(w.max()),
        "ms",
        "<= 100 ms",
        note=note,
    )


def _loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def frames_only(seconds: float = 10.0, *, freeze: bool = True) -> Row:
    """Only the frame-time row (the sort rows take a while): ``python -m bench.queue frames``
    (``frames 10 nofreeze``: without ``gc.freeze``, to see the full collection it avoids)."""
    now = time.time()
    return _frames(_store(N, now, freeze=freeze), now, seconds, detail=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["frames"]:
        secs = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
        print_table([frames_only(secs, freeze="nofreeze" not in sys.argv[3:])])
    else:
        print_table(run())
