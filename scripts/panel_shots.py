"""Screenshots of every registered panel over a realistic county, for looking at them.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/panel_shots.py [--out /tmp/panels]

Fills a Store with feed-protocol events (feeds.protocol structs: cases, KPIs, alerts, as
the demo county sends them), a FeedStatus with quarantined and bad events, and grabs:
each panel alone at 960x540 in Chinese and English; a 1920x1080 console screen of four
panels; the leader-briefing scale (1.6) and the high-contrast theme; a stale link.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSplitter, QWidget

from commandcenter.domain import Case
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as P
from widgets import i18n, registry
from widgets.base import PanelContext, hall_context
from widgets.live import LiveBridge
from widgets.preview import TOWNSHIPS, synthetic_case
from widgets.theme import apply_theme

KPIS = [
    ("closure_rate", 96.13, 95.0, "%", "结案率"),
    ("on_time_rate", 93.4, 95.0, "%", "按期办结率"),
    ("open_urgent", 4, 0.0, "件", "紧急在办"),
    ("overdue_now", 17, 0.0, "件", "当前超期"),
    ("open_cases", 128, 0.0, "件", "在办案件"),
    ("satisfaction", 91.2, 90.0, "%", "满意率"),
    ("online_completion", 95.66, 95.0, "%", "网上办结率"),
    ("cases_today", 212, 0.0, "件", "今日受理"),
    ("closed_today", 187, 0.0, "件", "今日结案"),
    ("units_on_duty", 64, 0.0, "人", "在岗力量"),
    ("camera_online_rate", 97.1, 98.0, "%", "视频在线率"),
]


def wire_case(c: Case) -> P.CaseData:
    return P.CaseData(
        id=c.id,
        version=c.version,
        category=c.category,
        source=str(c.source),
        urgency=str(c.urgency),
        state=str(c.state),
        township=c.township,
        grid=c.grid,
        lon=c.lon,
        lat=c.lat,
        created_ts=c.created_ts,
        state_ts=c.state_ts,
        title=c.title,
        address=c.address,
        assignee=c.assignee,
        assignee_kind=c.assignee_kind,
        assigned_ts=c.assigned_ts,
        on_site_ts=c.on_site_ts,
        completed_ts=c.completed_ts,
        closed_ts=c.closed_ts,
        supervised=c.supervised,
        extension_s=c.extension_s,
    )


def county(n_cases: int = 400, seed: int = 7) -> tuple[Store, FeedStatus]:
    rng = random.Random(seed)
    now = time.time()
    store = Store()
    store.set_clock(now)
    store.set_geography(
        {"townships": [{"code": f"T{i:02d}", "name": t} for i, t in enumerate(TOWNSHIPS)]}
    )
    times = sorted(now - rng.expovariate(1 / (14 * 3600)) for _ in range(n_cases))
    events: list[P.Event] = []
    seq = 0
    for created in times:
        seq += 1
        c = synthetic_case(seq, min(created, now - 5), now, rng)
        events.append(P.Event(seq, P.CASE_CREATED, now, wire_case(c)))
    for name, value, target, unit, label in KPIS:
        seq += 1
        events.append(P.Event(seq, P.KPI_UPDATE, now, P.Kpi(name, value, target, unit, label)))
    open_cases = [e.data for e in events if e.kind == P.CASE_CREATED and e.data.state != "closed"]
    for i in range(40):
        seq += 1
        c = rng.choice(open_cases)
        kind, level, msg = rng.choice(
            [
                ("sla.breach", "red", f"紧急案件{c.id}【{c.category}】签收派遣超时"),
                ("sla.breach", "red", f"一般案件{c.id}【{c.category}】处置反馈超时"),
                ("cluster", "yellow", f"{c.township}一小时内3起{c.category}，疑似集中问题"),
                ("sensor", "red", f"物联感知告警：{c.address}{c.category}"),
                ("sensor", "blue", f"井盖倾斜传感器电量低：{c.address}"),
            ]
        )
        alert = P.Alert(
            id=f"AL{i:07d}",
            level=level,
            kind=kind,
            message=msg,
            case_id=c.id if kind != "cluster" else "",
            grid=c.grid,
            ts=now - (40 - i) * 170,
        )
        events.append(P.Event(seq, P.ALERT_RAISED, now, alert))
    store.apply(events)
    status = FeedStatus()
    status.received = status.applied = seq
    status.duplicates = 12
    status.reconnects = 1
    status.last_data_at = time.time()
    for reason, detail in [
        ("malformed_json", "JSON is malformed: invalid character (byte 212)"),
        ("invalid_data", "case.updated: Expected `float`, got `str` - at `$.lon`"),
        ("truncated", "Input data was truncated"),
        ("malformed_json", "JSON is malformed: trailing comma (byte 88)"),
    ]:
        status.quarantine(reason, detail)
    status.unknown_kinds["weather.update"] = 2
    status.errors["timeout"] = 1
    status.set_state(LinkState.LIVE)
    return store, status


def shoot(
    app: QApplication,
    ctx: PanelContext,
    names: list[str],
    size: tuple[int, int],
    path: Path,
    settings: dict[str, dict] | None = None,
) -> None:
    """One panel fills the frame; several share it in a 2x2 (or 1xN) split."""
    settings = settings or {}
    if ctx.status.state is LinkState.LIVE:
        ctx.status.last_data_at = time.time()  # a live feed: a heartbeat just arrived
    frame = QWidget()
    frame.setObjectName("shotFrame")
    frame.resize(*size)
    panels = [registry.create(n, ctx, settings.get(n)) for n in names]
    if len(panels) == 1:
        panels[0].setParent(frame)
        panels[0].setGeometry(0, 0, *size)
    else:
        outer = QSplitter(Qt.Orientation.Vertical, frame)
        outer.setGeometry(0, 0, *size)
        half = (len(panels) + 1) // 2
        for chunk in (panels[:half], panels[half:]):
            row = QSplitter(Qt.Orientation.Horizontal, outer)
            for p in chunk:
                row.addWidget(p)
            # the first panel of a row gets three fifths, as the presets arrange them
            row.setSizes([3 * size[0] // 5, 2 * size[0] // 5][: len(chunk)])
    frame.show()
    for _ in range(5):
        app.processEvents()
    ctx.bridge.tick.emit()
    app.processEvents()
    frame.grab().save(str(path))
    for p in panels:
        p.teardown()
    frame.close()
    frame.deleteLater()
    app.processEvents()
    print(path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/panels"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    store, status = county()
    bridge = LiveBridge(store, status)
    ctx = hall_context(store, status, bridge)
    names = [*registry.names(), "river_gauges"]  # no such panel: the placeholder
    for lang in ("zh_CN", "en"):
        i18n.set_language(app, lang)
        apply_theme(app, "dark")
        for name in names:
            shoot(app, ctx, [name], (960, 540), args.out / f"{name}-960x540-{lang}.png")
        shoot(
            app,
            ctx,
            ["sla_tiles", "alerts", "newest_cases", "kpis"],
            (1920, 1080),
            args.out / f"console-1920x1080-{lang}.png",
        )
        shoot(app, ctx, ["overview"], (1920, 1080), args.out / f"overview-1920x1080-{lang}.png")
        shoot(
            app, ctx, ["feed_status"], (1920, 1080), args.out / f"feed_status-1920x1080-{lang}.png"
        )
    i18n.set_language(app, "zh_CN")
    apply_theme(app, "dark", 1.6)
    shoot(
        app,
        ctx,
        ["sla_tiles", "kpis", "alerts"],
        (1920, 1080),
        args.out / "leader-briefing-1.6-zh_CN.png",
        {"alerts": {"min_level": "yellow"}},
    )
    # The video wall: 6656x1792 at the scale its size gives (widgets.theme.scale_for_screen).
    from widgets.theme import scale_for_screen

    apply_theme(app, "dark", scale_for_screen(6656, 1792))
    shoot(
        app,
        ctx,
        ["sla_tiles", "kpis", "alerts", "feed_status"],
        (6656, 1792),
        args.out / "video-wall-6656x1792-zh_CN.png",
    )
    apply_theme(app, "high_contrast", 1.0)
    shoot(
        app,
        ctx,
        ["sla_tiles", "alerts", "newest_cases", "kpis"],
        (1920, 1080),
        args.out / "console-high-contrast-zh_CN.png",
    )
    apply_theme(app, "dark")
    status.last_data_at = time.time() - 47
    status.error("connect", "ConnectError: [Errno 111] Connection refused")
    status.set_state(LinkState.RECONNECTING)
    shoot(app, ctx, ["feed_status"], (960, 540), args.out / "feed_status-down-zh_CN.png")
    shoot(app, ctx, ["kpis"], (960, 540), args.out / "kpis-down-zh_CN.png")
    bridge.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
