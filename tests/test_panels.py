"""Panels: the registry and its placeholder, each panel against the store it shows,
settings, language, freshness badge, compact docks, and the leak test the issue asks for:
opening and closing every panel type 100 times leaves no QObjects, connections,
subscriptions or running timers behind (and a deliberately leaky panel is caught)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import SIGNAL, QEvent, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTableView, QVBoxLayout, QWidget

from commandcenter.domain import Role
from commandcenter.selection import Selection
from commandcenter.sla import HOUR, MINUTE
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as P
from widgets import i18n, registry, theme
from widgets.base import (
    Panel,
    PanelContext,
    Setting,
    SettingsDialog,
    active_timers,
    count_live_objects,
    freshness,
    hall_context,
)
from widgets.live import LiveBridge
from widgets.overview import NewestCasesModel
from widgets.panels.alerts import AlertsModel, AlertsPanel
from widgets.panels.feed_status import FeedStatusPanel
from widgets.panels.kpis import KpisPanel, meets_target
from widgets.panels.newest_cases import NewestCasesPanel
from widgets.panels.sla_tiles import SlaTilesPanel

BUILTIN = {"overview", "sla_tiles", "newest_cases", "feed_status", "alerts", "kpis"}
# The registered panels that ship (other tests register throwaway panels of their own).
REAL_PANELS = sorted(
    BUILTIN
    | {
        n
        for n in registry.names()
        if (cls := registry.panel_class(n)) and cls.__module__.startswith("widgets.")
    }
)
CATEGORIES = ["占道经营", "井盖缺失", "路灯不亮", "垃圾满溢", "燃气泄漏"]
TOWNSHIPS = ["冠山镇", "冶西镇", "锁簧镇", "娘子关镇"]
KPIS = [
    ("closure_rate", 96.13, 95.0, "%", "结案率"),
    ("on_time_rate", 93.4, 95.0, "%", "按期办结率"),
    ("overdue_now", 17, 0.0, "件", "当前超期"),
    ("cases_today", 212, 0.0, "件", "今日受理"),
]


# ---- a realistic county in a store ---------------------------------------------------


def wire_case(i: int, now: float, age: float, **kw: Any) -> P.CaseData:
    fields: dict[str, Any] = {
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
        "title": f"{TOWNSHIPS[i % len(TOWNSHIPS)]}{CATEGORIES[i % len(CATEGORIES)]}",
    }
    fields.update(kw)
    if fields["state"] in ("assigned", "handling", "closed"):
        fields.setdefault("assignee", "县城市管理局")
    return P.CaseData(**fields)


def alert(i: int, level: str, case_id: str, now: float) -> P.Alert:
    kind = {"red": "sla.breach", "yellow": "cluster", "blue": "sensor"}[level]
    return P.Alert(
        id=f"AL{i:07d}",
        level=level,
        kind=kind,
        message=f"案件{case_id}告警{i}",
        case_id=case_id if level != "yellow" else "",
        grid="G01",
        ts=now - 600 + i,
    )


def fill(store: Store, now: float, n: int = 240) -> None:
    ages = [30, 3 * MINUTE, 10 * MINUTE, 2 * HOUR, 13 * HOUR, 20 * HOUR, 30 * HOUR, 96 * HOUR]
    events: list[P.Event] = []
    seq = 0
    for i in range(n):
        seq += 1
        case = wire_case(i, now, ages[i % len(ages)] + i)
        events.append(P.Event(seq, P.CASE_CREATED, now, case))
    for name, value, target, unit, label in KPIS:
        seq += 1
        events.append(P.Event(seq, P.KPI_UPDATE, now, P.Kpi(name, value, target, unit, label)))
    for i, level in enumerate(["blue", "red", "yellow", "red", "blue", "red"]):
        seq += 1
        events.append(P.Event(seq, P.ALERT_RAISED, now, alert(i, level, f"PD{i:06d}", now)))
    store.apply(events)


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    yield qapp
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)


@pytest.fixture
def now() -> float:
    return time.time()


@pytest.fixture
def store(now: float) -> Store:
    s = Store()
    s.set_clock(now)
    fill(s, now)
    return s


@pytest.fixture
def status() -> FeedStatus:
    st = FeedStatus()
    st.received = st.applied = 250
    st.duplicates = 3
    st.last_data_at = time.time()
    st.quarantine("malformed_json", "JSON is malformed: invalid character (byte 12)")
    st.quarantine("invalid_data", "case.updated: Expected `float`, got `str`")
    st.quarantine("malformed_json", "JSON is malformed: trailing comma")
    st.unknown_kinds["weather.update"] = 2
    st.set_state(LinkState.LIVE)
    return st


@pytest.fixture
def ctx(app: QApplication, store: Store, status: FeedStatus) -> Iterator[PanelContext]:
    bridge = LiveBridge(store, status)
    yield hall_context(store, status, bridge, Selection(), Role.DUTY_OFFICER)
    bridge.close()
    bridge.deleteLater()


def show(panel: Panel, qtbot: Any, size: tuple[int, int] = (960, 540)) -> Panel:
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


# ---- registry ----------------------------------------------------------------------


def test_registry_declares_every_builtin_panel(app: QApplication) -> None:
    assert set(registry.names()) >= BUILTIN
    for info in (i for i in registry.infos() if i.name in REAL_PANELS):
        cls = registry.panel_class(info.name)
        assert cls is not None and cls.name == info.name
        assert info.title_zh and info.title_en and info.icon
        assert info.description_zh and info.description_en, f"{info.name}: which question?"
        for key, spec in info.settings.items():
            assert spec.coerce(spec.default) == spec.default, (info.name, key)


def test_unknown_panel_restores_as_a_placeholder_that_keeps_its_settings(
    ctx: PanelContext, qtbot: Any
) -> None:
    p = show(registry.create("river_gauges", ctx, {"zoom": 12}), qtbot)
    assert isinstance(p, registry.PlaceholderPanel)
    assert "river_gauges" in p.message.text() and "保留" in p.message.text()
    assert registry.panel_widget_name(p) == "river_gauges"
    assert p.kept_settings == {"zoom": 12}
    assert not p.badge.isVisibleTo(p), "a placeholder shows no data, so no freshness"


def test_a_panel_that_fails_to_build_becomes_a_placeholder(
    ctx: PanelContext, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(Panel):
        name = "broken"

        def __init__(self, ctx: PanelContext, settings: Any = None) -> None:
            raise RuntimeError("no camera server configured")

    monkeypatch.setitem(registry._REGISTRY, "broken", Broken)
    p = show(registry.create("broken", ctx), qtbot)
    assert isinstance(p, registry.PlaceholderPanel)
    assert "no camera server configured" in p.message.text()


# ---- each panel shows the store ----------------------------------------------------


def test_sla_tiles_show_the_counts_of_the_case_table(
    app: QApplication, sla_table_store: Store, status: FeedStatus, qtbot: Any
) -> None:
    bridge = LiveBridge(sla_table_store, status)
    try:
        table_ctx = hall_context(sla_table_store, status, bridge, Selection(), Role.DUTY_OFFICER)
        p = show(registry.create("sla_tiles", table_ctx), qtbot)
        assert isinstance(p, SlaTilesPanel)
        # counted by hand from the SLA case table (tests/test_sla_oracle.py)
        assert (p.tiles.blue.value(), p.tiles.yellow.value(), p.tiles.red.value()) == (8, 11, 20)
        assert p.tiles.overdue.value() == 6
    finally:
        bridge.close()
        bridge.deleteLater()


def test_sla_tiles_follow_the_store(ctx: PanelContext, store: Store, qtbot: Any) -> None:
    p = show(registry.create("sla_tiles", ctx), qtbot)
    assert isinstance(p, SlaTilesPanel)
    before = store.open_count()
    store.apply([P.Event(store.seq + 1, P.CASE_CREATED, 0, wire_case(900, time.time(), 5))])
    ctx.bridge.flush()
    assert p.tiles.open.value() == before + 1
    p.update_settings({"captions": False})
    assert not p.tiles.red.caption.isVisibleTo(p)


def test_newest_cases_select_and_follow_the_shared_selection(
    ctx: PanelContext, store: Store, qtbot: Any
) -> None:
    p = show(registry.create("newest_cases", ctx, {"limit": 50}), qtbot, (1400, 700))
    assert isinstance(p, NewestCasesPanel)
    assert p.model.case_ids() == [c.id for c in store.newest_cases(50)]
    assert "50" in p.note.text() and "240" in p.note.text()
    # a click selects the case for every panel
    rect = p.table.visualRect(p.model.index(2, NewestCasesModel.ID))
    qtbot.mouseClick(p.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.selection.case_ids == (p.model.case_ids()[2],)
    assert ctx.selection.origin == p.selection_origin
    # a selection made elsewhere is shown here
    other = p.model.case_ids()[7]
    ctx.selection.select([other], origin="map")
    assert p.table.selectionModel().selectedRows()[0].row() == 7
    # a new case on top keeps the selected case selected
    store.apply([P.Event(store.seq + 1, P.CASE_CREATED, 0, wire_case(901, time.time(), 1))])
    ctx.bridge.flush()
    assert p.model.case_ids()[0] == "PD000901"
    assert p.table.case_id_at(p.table.selectionModel().selectedRows()[0].row()) == other
    p.update_settings({"limit": 20})
    assert p.model.rowCount() == 20
    p.update_settings({"limit": 5})  # below the minimum: coerced
    assert p.model.rowCount() == 10


def test_newest_cases_drop_optional_columns_when_the_dock_is_narrow(
    ctx: PanelContext, qtbot: Any, app: QApplication
) -> None:
    i18n.set_language(app, i18n.ENGLISH)  # the longer labels
    p = show(registry.create("newest_cases", ctx), qtbot, (1600, 600))
    assert not p.table.isColumnHidden(NewestCasesModel.SOURCE)
    p.resize(720, 600)
    qtbot.waitUntil(lambda: p.table.isColumnHidden(NewestCasesModel.SOURCE), timeout=2000)
    assert p.compact
    header = p.table.horizontalHeader()
    assert header.sectionSize(NewestCasesModel.CATEGORY) >= p.table.fontMetrics().height() * 4
    p.resize(1600, 600)
    qtbot.waitUntil(lambda: not p.table.isColumnHidden(NewestCasesModel.SOURCE), timeout=2000)


def test_alerts_newest_first_filtered_coloured_and_selecting(
    ctx: PanelContext, store: Store, qtbot: Any, now: float
) -> None:
    p = show(registry.create("alerts", ctx), qtbot)
    assert isinstance(p, AlertsPanel)
    m = p.model
    ids = [m.alert_at(r).id for r in range(m.rowCount())]
    assert ids == [a.id for a in reversed(store.alerts)]
    for r in range(m.rowCount()):
        level = m.index(r, 0).data(AlertsModel.LevelRole)
        assert m.index(r, AlertsModel.LEVEL).data(Qt.ItemDataRole.BackgroundRole) == (
            theme.level_color(level)
        )
        assert m.index(r, AlertsModel.MESSAGE).data(Qt.ItemDataRole.ToolTipRole)
    p.update_settings({"min_level": "red"})
    assert {m.index(r, 0).data(AlertsModel.LevelRole) for r in range(m.rowCount())} == {"red"}
    assert m.rowCount() == 3
    # a new alert arrives on top
    store.apply([P.Event(store.seq + 1, P.ALERT_RAISED, now, alert(50, "red", "PD000011", now))])
    ctx.bridge.flush()
    assert m.alert_at(0).id == "AL0000050"
    rect = p.table.visualRect(m.index(0, AlertsModel.MESSAGE))
    qtbot.mouseClick(p.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.selection.case_ids == ("PD000011",)


def test_kpi_tiles_show_the_catalogue_beside_the_platform(
    ctx: PanelContext, store: Store, qtbot: Any, now: float
) -> None:
    p = show(registry.create("kpis", ctx), qtbot)
    assert isinstance(p, KpisPanel)
    # the catalogue's tiles first, then what only the platform reports
    names = list(p.tiles)
    assert names[:2] == ["closure_rate", "on_time_rate"] and "cases_today" in names
    # overdue now: the big number is the store's own count, the platform's 17 beneath it
    # and flagged when it differs
    clock = store.clock.now()
    ours = sum(
        1 for r in range(len(store)) if store.policy.evaluate(store.record_at(r), clock).overdue
    )
    tile = p.tiles["overdue_now"]
    shown = int(tile.value.text().replace(",", ""))
    assert shown == ours
    assert "17" in tile.platform.text()
    assert tile.platform.property("differs") is (shown != 17)
    assert "n = " in tile.toolTip() and "17" in tile.toolTip()
    assert p.tiles["cases_today"].property("meets") == "none"
    assert p.tiles["closure_rate"].label.text() == "结案率"
    assert meets_target(95.0, 95.0) is True and meets_target(3, 0) is None
    # a click selects exactly the cases behind the number
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    assert len(ctx.selection.case_ids) == shown
    # a KPI only the platform knows is shown as the platform's
    store.apply(
        [P.Event(store.seq + 1, P.KPI_UPDATE, now, P.Kpi("online_completion", 95.5, 95.0, "%"))]
    )
    ctx.bridge.flush()
    assert "online_completion" in p.tiles
    assert p.tiles["online_completion"].value.text() == "95.5%"
    assert p.tiles["online_completion"].property("meets") == "ok"
    p.update_settings({"names": "online_completion, closure_rate", "columns": 2})
    assert list(p.tiles) == ["online_completion", "closure_rate"]
    pos = p.grid.getItemPosition(p.grid.indexOf(p.tiles["closure_rate"]))
    assert pos[:2] == (0, 1)


def test_feed_status_lists_counters_reasons_and_bad_events(
    ctx: PanelContext, status: FeedStatus, qtbot: Any
) -> None:
    p = show(registry.create("feed_status", ctx), qtbot)
    assert isinstance(p, FeedStatusPanel)
    assert p.counters["received"][1].text() == "250"
    assert p.counters["quarantined"][1].text() == "3"
    assert p.counters["quarantined"][1].property("alert") is True
    reasons = [p.problems.item(r, 2).text() for r in range(p.problems.rowCount())]
    assert reasons[:2] == ["malformed_json", "invalid_data"] and "weather.update" in reasons
    assert p.problems.item(0, 0).text() == "2"
    assert p.bad.item(0, 2).text() == "JSON is malformed: trailing comma", "newest first"
    status.error("connect", "ConnectError: refused")
    status.set_state(LinkState.RECONNECTING)
    ctx.bridge.flush()
    assert p.state.property("state") == "reconnecting"
    assert "refused" in p.last_error.text()
    assert "connect" in [p.problems.item(r, 2).text() for r in range(p.problems.rowCount())]


def test_freshness_badge_levels(ctx: PanelContext, status: FeedStatus, qtbot: Any) -> None:
    p = show(registry.create("kpis", ctx), qtbot)
    t = time.time()
    status.last_data_at = t - 1
    assert freshness(status, t)[1] == "live"
    status.last_data_at = t - 5
    assert freshness(status, t) == ("5 秒前", "aging")
    status.last_data_at = t - 30
    assert freshness(status, t)[1] == "stale"
    status.set_state(LinkState.RECONNECTING)
    ctx.bridge.flush()
    assert p.badge.property("level") == "down" and p.badge.text() == "已断开"
    assert p.badge.toolTip()


def test_language_switch_retitles_every_panel(
    ctx: PanelContext, qtbot: Any, app: QApplication
) -> None:
    panels = {n: show(registry.create(n, ctx), qtbot) for n in registry.names()}
    assert panels["alerts"].title_label.text() == "平台告警"
    i18n.set_language(app, i18n.ENGLISH)
    app.processEvents()
    for name, p in panels.items():
        assert p.title_label.text() == registry.panel_class(name).title_en
    alerts = panels["alerts"]
    assert alerts.model.headerData(0, Qt.Orientation.Horizontal) == "Time"
    assert panels["feed_status"].counters["received"][0].text() == "received"
    i18n.set_language(app, i18n.CHINESE)
    app.processEvents()
    assert alerts.model.headerData(0, Qt.Orientation.Horizontal) == "时间"
    assert panels["feed_status"].counters["received"][0].text() == "接收"


def test_settings_dialog_edits_choices_by_value_not_label(ctx: PanelContext, qtbot: Any) -> None:
    p = show(registry.create("alerts", ctx), qtbot)
    dlg = SettingsDialog(p)
    qtbot.addWidget(dlg)
    combo = dlg.findChild(QWidget, "setting-min_level")
    assert combo.currentText() == "蓝色及以上"
    combo.setCurrentIndex(2)
    assert dlg.values() == {"min_level": "red", "limit": 200}
    p.update_settings(dlg.values())
    assert p.settings["min_level"] == "red"
    assert Setting("choice", "a", "甲", "A", choices=("a", "b")).coerce("zzz") == "a"


# ---- leaks -------------------------------------------------------------------------


def settle() -> None:
    """Let Qt delete what it was told to delete.

    Besides ``deleteLater``, Qt's gesture manager keeps the QPanGesture objects of every
    destroyed scroll area (each table viewport grabs the pan gesture) until it filters its
    next event, then deletes them all; without one event through it, 100 closed tables
    would look like ~300 leaked QObjects. A probe view receives one mouse move for that.
    """
    app = QApplication.instance()

    def deferred_deletes() -> None:
        for _ in range(3):
            gc.collect()
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            app.processEvents()

    deferred_deletes()  # the closed hosts go first, marking their gestures for deletion
    probe = QTableView()
    probe.setObjectName("gestureProbe")
    probe.show()
    app.processEvents()
    QTest.mouseMove(probe.viewport(), QPoint(3, 3))
    app.processEvents()
    probe.close()
    probe.deleteLater()
    deferred_deletes()


def measure(ctx: PanelContext) -> dict[str, int]:
    """Everything a closed panel could leave behind, after Qt deleted what it was told to."""
    settle()
    b = ctx.bridge
    return {
        "qobjects": count_live_objects(),
        "bridge.changed receivers": b.receivers(SIGNAL("changed(PyObject)")),
        "bridge.statusChanged receivers": b.receivers(SIGNAL("statusChanged(PyObject)")),
        "bridge.tick receivers": b.receivers(SIGNAL("tick()")),
        "store subscribers": ctx.store.subscriber_count,
        "selection subscribers": ctx.selection.subscriber_count,
        "active timers": len(active_timers()),
    }


def cycle(factory: Callable[[], Panel], ctx: PanelContext, n: int) -> None:
    """Open a panel in a window, let it live through a frame of events, close it."""
    store = ctx.store
    for i in range(n):
        host = QWidget()
        host.setObjectName("leakHost")
        host.resize(900, 500)
        panel = factory()
        layout = QVBoxLayout(host)
        layout.addWidget(panel)
        host.show()
        QApplication.processEvents()
        now = time.time()
        seq = store.seq
        store.apply(
            [
                P.Event(seq + 1, P.CASE_CREATED, now, wire_case(10_000 + seq, now, 2)),
                P.Event(seq + 2, P.KPI_UPDATE, now, P.Kpi("closure_rate", 95 + i % 3, 95.0, "%")),
                P.Event(seq + 3, P.ALERT_RAISED, now, alert(seq, "red", "PD000001", now)),
            ]
        )
        ctx.bridge.flush()
        ctx.bridge.tick.emit()
        ctx.selection.select([f"PD{i % 9:06d}"], origin="leak-test")
        QApplication.processEvents()
        panel.close()  # closeEvent tears down; teardown again must be harmless
        panel.teardown()
        host.close()
        host.deleteLater()
        del panel, host, layout


def growth(factory: Callable[[], Panel], ctx: PanelContext, n: int = 100) -> dict[str, int]:
    cycle(factory, ctx, 1)  # warm-up: lazily created styles, fonts, caches
    before = measure(ctx)
    cycle(factory, ctx, n)
    after = measure(ctx)
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


# Every registered panel type (panels added later are leak-tested too) and the placeholder.
@pytest.mark.parametrize("name", [*REAL_PANELS, "no_such_panel"])
def test_opening_and_closing_a_panel_100_times_leaks_nothing(ctx: PanelContext, name: str) -> None:
    settings = {"min_level": "yellow"} if name == "alerts" else None
    assert growth(lambda: registry.create(name, ctx, settings), ctx) == {}


class LeakyConnection(Panel):
    """Connects to the bridge without ``listen``: a lambda nobody disconnects."""

    name = "leaky_connection"

    def __init__(self, ctx: PanelContext, settings: Any = None) -> None:
        super().__init__(ctx, settings)
        ctx.bridge.changed.connect(lambda cs: None)


class LeakySubscription(Panel):
    """Subscribes to the store without ``hold``."""

    name = "leaky_subscription"

    def __init__(self, ctx: PanelContext, settings: Any = None) -> None:
        super().__init__(ctx, settings)
        ctx.store.subscribe(lambda cs: None)
        ctx.selection.subscribe(lambda sel: None)


class LeakyTimer(Panel):
    """Starts a timer owned by the application instead of by ``self.timer``."""

    name = "leaky_timer"

    def __init__(self, ctx: PanelContext, settings: Any = None) -> None:
        super().__init__(ctx, settings)
        t = QTimer(QApplication.instance())
        t.timeout.connect(lambda: None)
        t.start(60_000)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (LeakyConnection, {"bridge.changed receivers"}),
        (LeakySubscription, {"store subscribers", "selection subscribers"}),
        (LeakyTimer, {"qobjects", "active timers"}),
    ],
)
def test_the_leak_detector_catches_a_leaky_panel(
    ctx: PanelContext, cls: type[Panel], expected: set[str]
) -> None:
    grown = growth(lambda: cls(ctx), ctx, n=10)
    assert set(grown) == expected
    assert all(v == 10 for v in grown.values()), grown
    for t in QApplication.instance().findChildren(QTimer):  # clean up after the proof
        if t.interval() == 60_000:
            t.stop()
            t.deleteLater()


def test_timers_made_by_a_panel_stop_at_teardown(ctx: PanelContext, qtbot: Any) -> None:
    p = show(registry.create("kpis", ctx), qtbot)
    fired: list[int] = []
    t = p.timer(10, lambda: fired.append(1))
    assert t.isActive()
    p.teardown()
    assert not t.isActive()
    p.teardown()  # idempotent

