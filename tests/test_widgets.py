"""The first window: tiles and table agree with the store, language switch, live bridge
coalescing, and a closed window leaves no subscriptions, connections or running timers."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from commandcenter import hall_time
from commandcenter.domain import SlaLevel
from commandcenter.sla import HOUR, MINUTE
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds.protocol import CaseData, Event
from widgets import i18n
from widgets.live import LiveBridge
from widgets.mainwindow import MainWindow
from widgets.overview import NewestCasesModel
from widgets.theme import THEME_DIR, THEMES, apply_theme, render_qss

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["占道经营", "井盖缺失", "路灯不亮", "垃圾满溢", "燃气泄漏"]
TOWNSHIPS = ["冠山镇", "冶西镇", "锁簧镇", "娘子关镇"]


def make_case(i: int, now: float, age: float, **kw: object) -> CaseData:
    fields: dict[str, object] = {
        "id": f"PD{i:06d}",
        "version": 1,
        "category": CATEGORIES[i % len(CATEGORIES)],
        "source": ["hotline", "grid_worker", "inspector", "video", "sensor"][i % 5],
        "urgency": "urgent" if i % 7 == 0 else "normal",
        "state": ["reported", "signed", "assigned", "handling", "closed"][i % 5],
        "township": TOWNSHIPS[i % len(TOWNSHIPS)],
        "grid": f"G{i % 30:02d}",
        "lon": 113.6,
        "lat": 37.8,
        "created_ts": now - age,
        "state_ts": now - age / 2,
    }
    fields.update(kw)
    if fields["state"] in ("assigned", "handling", "closed"):
        fields.setdefault("assignee", "县城市管理局")
    return CaseData(**fields)  # type: ignore[arg-type]


def created(seq: int, case: CaseData, now: float) -> Event:
    return Event(seq=seq, kind="case.created", ts=now, data=case)


@pytest.fixture
def app(qapp: QApplication) -> QApplication:
    apply_theme(qapp)
    yield qapp
    i18n.set_language(qapp, i18n.CHINESE)


@pytest.fixture
def now() -> float:
    return time.time()


@pytest.fixture
def store(now: float) -> Store:
    s = Store()
    s.set_clock(now)
    # A spread of ages: fresh, half-used, nearly used and overdue limits, urgent and normal.
    ages = [30, 3 * MINUTE, 10 * MINUTE, 2 * HOUR, 13 * HOUR, 20 * HOUR, 30 * HOUR, 4 * 24 * HOUR]
    s.apply(created(i + 1, make_case(i, now, ages[i % len(ages)] + i), now) for i in range(260))
    return s


@pytest.fixture
def status() -> FeedStatus:
    st = FeedStatus()
    st.received = 260
    st.last_data_at = time.time()
    st.set_state(LinkState.LIVE)
    return st


@pytest.fixture
def window(app, qtbot, store: Store, status: FeedStatus):
    win = MainWindow(store, status, language="zh_CN")
    win.resize(1920, 1080)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if not win.bridge.is_closed:
        win.close()


@pytest.fixture
def table_window(app, qtbot, sla_table_store: Store, status: FeedStatus):
    """The window over the SLA case table (tests/test_sla_oracle.py), clock stopped."""
    win = MainWindow(sla_table_store, status, language="zh_CN")
    win.resize(1920, 1080)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if not win.bridge.is_closed:
        win.close()


def test_tiles_show_the_counts_of_the_case_table(table_window: MainWindow) -> None:
    tiles = table_window.overview.tiles
    # counted by hand from the SLA case table: 8 blue, 11 yellow, 20 red, 6 overdue, 39 open
    assert tiles.blue.value() == 8
    assert tiles.yellow.value() == 11
    assert tiles.red.value() == 20
    assert tiles.overdue.value() == 6
    assert tiles.open.value() == 39
    for tile in tiles.tiles():
        assert tile.toolTip(), "every tile says how its number is computed"


def test_table_colours_and_countdowns_follow_the_case_table(table_window: MainWindow) -> None:
    from tests.test_sla_oracle import CASES, TABLE

    model = table_window.overview.model
    expected = {c.id: exp for c, (_, exp) in zip(CASES, TABLE, strict=True)}
    assert model.rowCount() == len(CASES)
    for row in range(model.rowCount()):
        case_id = model.index(row, NewestCasesModel.ID).data()
        _, level, left = expected[case_id]
        shown = model.index(row, NewestCasesModel.SLA).data(NewestCasesModel.LevelRole)
        assert shown == (level.value if level else ""), case_id
        text = model.index(row, NewestCasesModel.SLA).data() or ""
        if level is not None and left < 0:
            assert text.startswith("超时"), (case_id, text)  # overdue says so
        elif level is not None:
            assert not text.startswith("超时"), (case_id, text)
        if level is not None and left in (60, -1):
            assert text.endswith(f"{abs(left) // 60}:{abs(left) % 60:02d}"), (case_id, text)


def test_tiles_show_the_store_counts(window: MainWindow, store: Store) -> None:
    """The live window over a generated county: tiles read the store's one definition."""
    tiles = window.overview.tiles
    counts = store.sla_counts()
    assert all(counts[lvl] > 0 for lvl in SlaLevel), "fixture should exercise every colour"
    assert (tiles.red.value(), tiles.yellow.value(), tiles.blue.value()) == (
        counts[SlaLevel.RED],
        counts[SlaLevel.YELLOW],
        counts[SlaLevel.BLUE],
    )


def test_tiles_follow_new_events(window: MainWindow, store: Store, now: float) -> None:
    before = store.open_count()
    store.apply([created(store.seq + 1, make_case(900, now, 5, state="reported"), now)])
    window.bridge.flush()
    assert window.overview.tiles.open.value() == before + 1 == store.open_count()


def test_table_lists_the_newest_cases(window: MainWindow, store: Store, now: float) -> None:
    model = window.overview.model
    newest = store.newest_cases(200)
    assert model.rowCount() == 200
    assert model.case_ids() == [c.id for c in newest]
    assert model.index(0, NewestCasesModel.ID).data() == newest[0].id
    # A newly filed case appears on top after the next frame.
    store.apply([created(store.seq + 1, make_case(901, now, 1, state="reported"), now)])
    window.bridge.flush()
    assert model.index(0, NewestCasesModel.ID).data() == "PD000901"
    assert model.case_ids() == [c.id for c in store.newest_cases(200)]


def test_table_cells_show_labels_levels_and_countdowns(window: MainWindow, store: Store) -> None:
    model = window.overview.model
    for row in range(model.rowCount()):
        case = model.case_at(row)
        if case.urgency == "urgent":
            assert model.index(row, NewestCasesModel.URGENT).data() == "急"
    # Chinese labels from the domain when the UI is Chinese.
    texts = {model.index(r, NewestCasesModel.STATE).data() for r in range(model.rowCount())}
    assert {"待签收", "已签收", "已派遣", "处置中", "已结案"} <= texts
    sources = {model.index(r, NewestCasesModel.SOURCE).data() for r in range(model.rowCount())}
    assert "12345热线" in sources
    countdowns = [model.index(r, NewestCasesModel.SLA).data() for r in range(model.rowCount())]
    assert any(t.startswith("超时") for t in countdowns)


def test_tick_announces_only_the_countdown_column(window: MainWindow) -> None:
    model = window.overview.model
    spans: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: spans.append((a.column(), b.column())))
    model.tick()
    assert spans, "the tick must announce the countdowns"
    sla = NewestCasesModel.SLA
    # Whole rows only for rows whose level changed, which cannot happen within a test second
    # for more than a handful of rows.
    assert spans[0] == (sla, sla)
    assert sum(1 for s in spans if s != (sla, sla)) <= 2


def test_language_switch_changes_visible_texts(window: MainWindow, app: QApplication) -> None:
    ov = window.overview

    def texts() -> tuple[str, ...]:
        return (
            window.windowTitle(),
            ov.tiles.red.title.text(),
            ov.section_title.text(),
            str(ov.model.headerData(NewestCasesModel.ID, _horizontal())),
            ov.strip.badge.text(),
            ov.strip.age.text(),
            window.view_menu.title(),
        )

    zh = texts()
    assert zh[0] == "指挥中心 · 平定县"
    assert zh[1:4] == ("红色预警", "最新案件", "案件编号")
    assert zh[4] == "实时"
    assert zh[5].startswith("数据") and "秒前" in zh[5]

    assert window.toggle_language() == "en"
    en = texts()
    assert en[0] == "Command Center"
    assert en[1:5] == ("Red warning", "Newest cases", "Case ID", "Live")
    assert en[5].startswith("data ") and en[5].endswith(" s old")
    assert en[6] == "&View"
    states = {ov.model.index(r, NewestCasesModel.STATE).data() for r in range(20)}
    assert states & {"To sign", "Signed", "Dispatched", "Handling", "Closed"}
    assert not any("\u4e00" <= ch <= "\u9fff" for s in en for ch in s)
    assert window.lang_button.text() == "中文"

    window.set_language("zh_CN")
    assert texts() == zh
    assert window.lang_actions["zh_CN"].isChecked()


def test_link_badge_follows_the_status(window: MainWindow, status: FeedStatus) -> None:
    badge = window.overview.strip.badge
    status.set_state(LinkState.RECONNECTING, "connect: refused")
    window.bridge.flush()
    assert badge.text() == "重连中"
    assert badge.property("state") == "reconnecting"
    # the cause in the UI's words; the library's detail in the tooltip
    assert window.overview.strip.last_error.text() == "无法连接"
    assert "refused" in window.overview.strip.last_error.toolTip()


def test_quarantined_counts_show_in_the_strip(window: MainWindow, status: FeedStatus) -> None:
    for _ in range(3):
        status.quarantine("malformed_json", "{oops")
    status.quarantine("invalid_data", "case.created: missing id")
    status.unknown_kinds["weather.update"] += 2
    status.notify()
    window.bridge.flush()
    strip = window.overview.strip
    assert strip.quarantined.text() == "隔离 4"
    assert strip.quarantined.property("alert") is True
    tip = strip.quarantined.toolTip()
    assert "malformed_json: 3" in tip
    assert "invalid_data: 1" in tip
    assert "weather.update: 2" in tip


def test_data_age_and_clock(window: MainWindow, status: FeedStatus, store: Store) -> None:
    status.last_data_at = time.time() - 3.2
    before = hall_time.local(store.clock.now()).strftime("%H:%M:%S")
    window.bridge.tick.emit()
    after = hall_time.local(store.clock.now()).strftime("%H:%M:%S")
    strip = window.overview.strip
    assert strip.age.text() == "数据 3 秒前"
    # In the hall's zone (Asia/Shanghai), not the machine's (CI runs on UTC); the tick may
    # fall either side of a second's edge, never outside the two readings around it.
    assert strip.clock.text() in {before, after}
    status.last_data_at = 0.0
    window.bridge.tick.emit()
    assert strip.age.text() == "尚无数据"
    assert strip.age.property("stale") is True


def test_bridge_coalesces_change_sets_per_frame(app, qtbot, store: Store, now: float) -> None:
    status = FeedStatus()
    bridge = LiveBridge(store, status, frame_hz=10)
    got: list[object] = []
    bridge.changed.connect(got.append)
    n = 50
    for i in range(n):
        store.apply([created(store.seq + 1, make_case(1000 + i, now, 1), now)])
    assert got == [], "nothing is emitted inside the applying call stack"
    qtbot.waitUntil(lambda: len(got) == 1, timeout=1000)
    qtbot.wait(250)
    assert len(got) == 1, "N change sets in one frame make one signal"
    cs = got[0]
    assert len(cs.cases_created) == n
    assert cs.applied == n
    # Under a steady stream the bridge paces itself: at most one signal per frame.
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.6:
        store.apply([created(store.seq + 1, make_case(2000 + store.seq, now, 1), now)])
        qtbot.wait(5)
    qtbot.wait(150)
    elapsed = time.monotonic() - t0
    assert 2 <= len(got) - 1 <= elapsed * 10 + 2
    bridge.close()
    assert store.subscriber_count == 0


def test_bridge_status_and_tick(app, qtbot, store: Store) -> None:
    status = FeedStatus()
    bridge = LiveBridge(store, status, tick_ms=50)
    with qtbot.waitSignal(bridge.statusChanged, timeout=1000) as blocker:
        status.set_state(LinkState.LIVE)
    assert blocker.args == [status]
    with qtbot.waitSignal(bridge.tick, timeout=1000):
        pass
    bridge.close()
    bridge.close()  # idempotent
    assert status.subscriber_count == 0
    assert not any(t.isActive() for t in bridge.timers())


def test_bridge_callbacks_from_another_thread(app, qtbot, store: Store, now: float) -> None:
    """Store callbacks normally come on the GUI thread; be safe when they do not."""
    import threading

    bridge = LiveBridge(store, FeedStatus())
    got: list[object] = []
    bridge.changed.connect(got.append)
    th = threading.Thread(
        target=lambda: store.apply([created(store.seq + 1, make_case(3000, now, 1), now)])
    )
    th.start()
    th.join()
    qtbot.waitUntil(lambda: len(got) == 1, timeout=1000)
    assert got[0].cases_created == ["PD003000"]
    bridge.close()


def test_closing_the_window_leaves_nothing_behind(
    app, qtbot, store: Store, status: FeedStatus
) -> None:
    win = MainWindow(store, status, language="zh_CN")
    win.show()
    qtbot.waitExposed(win)
    assert store.subscriber_count == 2  # the bridge and the window's catalogue engine
    assert status.subscriber_count == 1
    assert any(t.isActive() for t in win.findChildren(QTimer))
    bridge_ref = weakref.ref(win.bridge)
    win_ref = weakref.ref(win)
    win.close()
    assert store.subscriber_count == 0
    assert status.subscriber_count == 0
    assert [t.objectName() for t in win.findChildren(QTimer) if t.isActive()] == []
    # Nothing keeps the closed window alive: no callback, lambda or connection holds it.
    del win
    QCoreApplication.sendPostedEvents()
    gc.collect()
    assert win_ref() is None
    assert bridge_ref() is None
    # Events after the close reach nobody and raise nothing.
    store.apply([])
    status.notify()


def test_destroyed_bridge_unsubscribes_even_without_close(app, store: Store) -> None:
    status = FeedStatus()
    parent = QTimer()  # any QObject owner
    LiveBridge(store, status, parent=parent)
    assert store.subscriber_count == 1
    parent.deleteLater()
    del parent
    QCoreApplication.sendPostedEvents(None, 52)  # QEvent.DeferredDelete
    gc.collect()
    assert store.subscriber_count == 0
    assert status.subscriber_count == 0


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800)])
def test_layout_fits_console_and_wall(window: MainWindow, qtbot, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.wait(50)
    ov = window.overview
    assert bool(ov.property("compact")) == (size[0] < 1600)
    table = ov.table
    header = table.horizontalHeader()
    fixed = sum(
        header.sectionSize(c)
        for c in range(ov.model.columnCount())
        if c not in (NewestCasesModel.CATEGORY, NewestCasesModel.ASSIGNEE)
    )
    assert fixed < table.viewport().width() * 0.8, "stretching columns keep some room"
    for tile in ov.tiles.tiles():
        for label in (tile.title, tile.number):
            assert label.width() >= label.sizeHint().width(), f"{label.text()} clipped"
            assert label.height() >= label.fontMetrics().height() * 0.9
    big = ov.tiles.red.number.font().pointSizeF()
    assert big >= (40 if size[0] < 1600 else 48), "numbers legible from 3 m"


def test_theme_sheet_resolves_and_scales(app: QApplication) -> None:
    template = (THEME_DIR / "dark.qss").read_text(encoding="utf-8")
    for theme in THEMES.values():
        qss = render_qss(template, theme.colors, 1.5)
        assert "@" not in qss
        assert "90.0pt" in qss  # tileNumber 60pt x 1.5
    apply_theme(app, "dark", 1.5)
    try:
        assert app.font().pointSizeF() == pytest.approx(18.0)
        assert app.font().families()[0] == "Noto Sans CJK SC"
    finally:
        apply_theme(app)


def test_widgets_never_import_feeds_and_preview_runs() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    code = (
        "import sys, widgets.mainwindow, widgets.preview, widgets.overview, widgets.live;"
        "bad = [m for m in sys.modules if m == 'feeds' or m.startswith('feeds.')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    res = subprocess.run(
        [sys.executable, "-m", "widgets.preview", "--cases", "80", "--quit-after", "1.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr[-2000:]


def _horizontal():
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def test_shortcuts_toggle_language_and_full_screen(window: MainWindow, qtbot) -> None:
    from PySide6.QtCore import Qt

    window.activateWindow()
    qtbot.waitActive(window)
    assert window.toggle_lang_action.shortcut().toString() == "Ctrl+L"
    assert "F11" in [s.toString() for s in window.fullscreen_action.shortcuts()]
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert i18n.current_language() == "en"
    assert window.windowTitle() == "Command Center"
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert i18n.current_language() == "zh_CN"
    window.fullscreen_action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    window.fullscreen_action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)


def test_strip_rereads_counters_on_tick_without_notify(
    window: MainWindow, status: FeedStatus
) -> None:
    status.quarantine("truncated", "{")  # quarantine() does not notify
    status.received = 1234
    window.bridge.tick.emit()
    strip = window.overview.strip
    assert strip.quarantined.text() == "隔离 1"
    assert strip.received.text() == "接收 1,234"
