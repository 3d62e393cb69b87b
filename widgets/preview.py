"""Designer preview: the main window over a synthetic county, no feed, no server.

    python -m widgets.preview [--language en] [--cases 400] [--quit-after 5]
                              [--screenshot out.png] [--size 1920x1080] [--scale 1.0]

Why it exists: designers and reviewers need to look at the panels with realistic data
without starting the demo server. It fills a Store with plain ``commandcenter.domain.Case``
records wrapped in a tiny event dataclass (widgets never import ``feeds``), then keeps it
moving: a new case every couple of seconds and an open case advanced through its life cycle.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from commandcenter import lifecycle
from commandcenter.domain import Case, CaseState, Role, Source, Urgency
from commandcenter.sla import HOUR, MINUTE
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store

# Pingding county: its real towns and townships.
TOWNSHIPS = [
    "冠山镇",
    "冶西镇",
    "锁簧镇",
    "张庄镇",
    "东回镇",
    "柏井镇",
    "娘子关镇",
    "巨城镇",
    "石门口乡",
    "岔口乡",
]
# category -> (typical sources, share of urgent cases)
CATEGORIES: dict[str, tuple[tuple[Source, ...], float]] = {
    "占道经营": ((Source.INSPECTOR, Source.VIDEO, Source.GRID_WORKER), 0.0),
    "井盖缺失": ((Source.SENSOR, Source.INSPECTOR, Source.HOTLINE), 0.35),
    "路灯不亮": ((Source.HOTLINE, Source.INSPECTOR), 0.0),
    "垃圾满溢": ((Source.GRID_WORKER, Source.VIDEO, Source.HOTLINE), 0.0),
    "违章停车": ((Source.VIDEO, Source.INSPECTOR), 0.0),
    "乱堆物料": ((Source.GRID_WORKER, Source.INSPECTOR), 0.0),
    "噪声扰民": ((Source.HOTLINE,), 0.05),
    "道路破损": ((Source.INSPECTOR, Source.HOTLINE), 0.1),
    "私搭乱建": ((Source.GRID_WORKER, Source.INSPECTOR), 0.0),
    "燃气泄漏": ((Source.HOTLINE, Source.SENSOR), 1.0),
    "渣土撒漏": ((Source.SENSOR, Source.VIDEO), 0.2),
    "小广告": ((Source.INSPECTOR, Source.GRID_WORKER), 0.0),
    "下水道堵塞": ((Source.HOTLINE, Source.GRID_WORKER), 0.15),
    "供暖不热": ((Source.HOTLINE, Source.OPINION), 0.0),
    "树木倒伏": ((Source.GRID_WORKER, Source.HOTLINE), 0.5),
}
DEPARTMENTS = [
    "县城市管理局",
    "县住建局",
    "县交警大队",
    "县市场监管局",
    "县水务局",
    "县供热公司",
    "县燃气公司",
    "县生态环境局",
]
STREETS = ["建设路", "新华街", "文化路", "迎宾大道", "滨河路", "府前街", "车站路", "工业路"]
LON0, LAT0 = 113.63, 37.79  # Pingding town centre


@dataclass(slots=True)
class PreviewEvent:
    """The shape Store.apply reads (seq, kind, ts, data); stands in for feeds.protocol.Event."""

    seq: int
    kind: str
    ts: float
    data: Any
    extra: dict[str, Any] | None = None


def _advance(case: Case, now: float, rng: random.Random) -> Case | None:
    """One plausible next step of a case's life, or None when it is finished."""
    state = case.state
    if state is CaseState.DISCOVERED:
        return lifecycle.apply(case, "report", "system", Role.SYSTEM, now)
    if state is CaseState.REPORTED:
        return lifecycle.apply(case, "sign", "值班员", Role.DUTY_OFFICER, now)
    if state in (CaseState.SIGNED, CaseState.RETURNED):
        who = rng.choice([*DEPARTMENTS, *(t + "政府" for t in TOWNSHIPS)])
        return lifecycle.apply(case, "assign", "值班员", Role.DUTY_OFFICER, now, {"assignee": who})
    if state is CaseState.ASSIGNED:
        return lifecycle.apply(case, "arrive", case.assignee, Role.FIELD, now)
    if state is CaseState.HANDLING:
        return lifecycle.apply(case, "complete", case.assignee, Role.FIELD, now)
    if state is CaseState.COMPLETED:
        return lifecycle.apply(case, "verify", "值班员", Role.DUTY_OFFICER, now)
    return None


def synthetic_case(seq: int, created: float, now: float, rng: random.Random) -> Case:
    """A case filed at ``created`` and moved along by ``now`` as a busy hall would have."""
    category = rng.choice(list(CATEGORIES))
    sources, urgent_share = CATEGORIES[category]
    urgency = Urgency.URGENT if rng.random() < urgent_share else Urgency.NORMAL
    township = rng.choices(TOWNSHIPS, weights=[6, 2, 2, 2, 1, 1, 2, 1, 1, 1])[0]
    street = rng.choice(STREETS)
    case = Case(
        id=f"PD{time.strftime('%y%m%d', time.localtime(created))}{seq:05d}",
        version=1,
        category=category,
        source=rng.choice(sources),
        urgency=urgency,
        state=CaseState.REPORTED,
        township=township,
        grid=f"{township[:2]}-{rng.randint(1, 40):02d}",
        lon=LON0 + rng.uniform(-0.15, 0.15),
        lat=LAT0 + rng.uniform(-0.1, 0.1),
        created_ts=created,
        state_ts=created,
        title=f"{township}{street}{category}",
        address=f"平定县{township}{street}{rng.randint(1, 300)}号",
    )
    # How far along: urgent cases move in minutes, normal ones in hours.
    step = (4 * MINUTE if urgency is Urgency.URGENT else 1.5 * HOUR) * rng.uniform(0.3, 2.5)
    t = created + step
    while t < now and rng.random() > 0.1:  # now and then a case gets stuck: it will go red
        nxt = _advance(case, t, rng)
        if nxt is None:
            break
        case = nxt
        t += step * rng.uniform(0.5, 2.0)
    return case


def fill_store(store: Store, n: int = 400, *, now: float | None = None, seed: int = 7) -> int:
    """Apply ``n`` synthetic case.created events, filed over the last three days."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    store.set_clock(now)
    times = sorted(now - rng.expovariate(1 / (14 * HOUR)) for _ in range(n))
    seq = store.seq
    events = []
    for created in times:
        seq += 1
        case = synthetic_case(seq, min(created, now - 5), now, rng)
        events.append(PreviewEvent(seq, "case.created", now, case))
    store.apply(events)
    return seq


class LiveSimulation:
    """Keeps the preview moving: new cases, progress on open ones, heartbeats."""

    def __init__(self, store: Store, status: FeedStatus, seed: int = 11) -> None:
        self.store = store
        self.status = status
        self.rng = random.Random(seed)
        self.timer = QTimer()
        self.timer.setInterval(1500)
        self.timer.timeout.connect(self.step)

    def start(self) -> None:
        self.status.set_state(LinkState.LIVE)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def step(self) -> None:
        store, rng = self.store, self.rng
        now = store.clock.now()
        events: list[PreviewEvent] = []
        seq = store.seq
        if rng.random() < 0.6:
            seq += 1
            events.append(
                PreviewEvent(seq, "case.created", now, synthetic_case(seq, now, now, rng))
            )
        open_cases = [c for c in store.newest_cases(300) if c.is_open]
        for case in rng.sample(open_cases, min(2, len(open_cases))):
            nxt = _advance(case, now, rng)
            if nxt is not None:
                seq += 1
                events.append(PreviewEvent(seq, "case.updated", now, nxt))
        cs = store.apply(events)
        st = self.status
        st.received += len(events) + 1
        st.applied += cs.applied
        st.last_data_at = time.time()
        st.notify()


def main(argv: list[str] | None = None) -> int:
    from widgets.mainwindow import MainWindow
    from widgets.theme import THEMES, apply_theme

    ap = argparse.ArgumentParser(
        prog="python -m widgets.preview", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--language", default="zh_CN", choices=["zh_CN", "en"])
    ap.add_argument("--theme", default="dark", choices=sorted(THEMES))
    ap.add_argument("--scale", type=float, default=1.0, help="type scale for a wall (e.g. 1.5)")
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--size", default="1920x1080", help="window size WxH")
    ap.add_argument("--fullscreen", action="store_true")
    ap.add_argument("--quit-after", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--screenshot", type=Path, help="save a grab of the window, then quit")
    ap.add_argument("--no-live", action="store_true", help="a still county: no new events")
    ap.add_argument("--quarantined", type=int, default=3, help="fake bad events in the strip")
    ap.add_argument(
        "--link",
        default="live",
        choices=[s.value for s in LinkState],
        help="link state to show (not live: the county stands still and data ages)",
    )
    args = ap.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, args.theme, args.scale)  # type: ignore[arg-type]
    store = Store()
    status = FeedStatus()
    fill_store(store, args.cases)
    status.received = status.applied = args.cases
    status.last_data_at = time.time()
    if args.quarantined:
        status.quarantined["malformed_json"] = args.quarantined
        status.quarantined["invalid_data"] = max(0, args.quarantined - 2)
        status.unknown_kinds["weather.update"] = 1
    link = LinkState(args.link)
    if link is not LinkState.LIVE:
        status.last_data_at = time.time() - 47
        status.error("connect", "ConnectError: [Errno 111] Connection refused")
        status.reconnects = 3
    status.set_state(link)

    win = MainWindow(store, status, language=args.language)
    w, _, h = args.size.partition("x")
    win.resize(int(w), int(h))
    if args.fullscreen:
        win.showFullScreen()
    else:
        win.show()
    sim = LiveSimulation(store, status)
    if not args.no_live and link is LinkState.LIVE:
        sim.start()

    if args.screenshot is not None:

        def shoot() -> None:
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            win.grab().save(str(args.screenshot))
            print(f"preview: wrote {args.screenshot}")
            app.quit()

        QTimer.singleShot(max(300, int(args.quit_after * 1000) or 1200), shoot)
    elif args.quit_after > 0:
        QTimer.singleShot(int(args.quit_after * 1000), app.quit)
    code = app.exec()
    sim.stop()
    win.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
