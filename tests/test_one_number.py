"""One definition per number: on the seeded demo county, at several instants of its day,
every reader of the time limits shows the same figures — the warning tiles, the KPI
tiles, the map's legend, the catalogue (and the cases a click on its number selects),
the alarm engine and the queue's tabs — and those figures are the ones counted case by case from each
record by the SLA rules (``SlaPolicy.evaluate``, one record at a time: not the
vectorised code every reader shares).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from commandcenter.alarms import AlarmKind
from commandcenter.domain import Role
from commandcenter.queue import QueueFilter, QueueIndex, columns
from commandcenter.selection import Selection
from commandcenter.sla import HOUR, Milestone, SlaLevel
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from widgets import i18n, registry, theme
from widgets.base import PanelContext, hall_context
from widgets.live import LiveBridge

INSTANTS_H = (0.0, 1.5, 4.0, 9.0)  # hours after the simulated day's end


def by_hand(store: Store, now: float) -> dict[str, int]:
    """Open cases, overdue ones and each warning colour, record by record."""
    out = {"open": 0, "overdue": 0, "red": 0, "yellow": 0, "blue": 0}
    for row in range(len(store)):
        status = store.policy.evaluate(store.record_at(row), now)
        if status.milestone is Milestone.NONE:
            continue
        out["open"] += 1
        out["overdue"] += status.overdue
        out[{SlaLevel.RED: "red", SlaLevel.YELLOW: "yellow", SlaLevel.BLUE: "blue"}[status.level]] += 1
    return out


@pytest.fixture
def county(qapp: QApplication, demo_county_store: Store) -> Iterator[tuple[PanelContext, Store]]:
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    store = demo_county_store
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    ctx = hall_context(store, status, bridge, Selection(), Role.DUTY_OFFICER)
    yield ctx, store
    bridge.close()
    bridge.deleteLater()


def _show(panel: Any, qtbot: Any) -> Any:
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_every_reader_of_the_time_limits_shows_the_hand_counted_figures(
    county: tuple[PanelContext, Store], qtbot: Any
) -> None:
    ctx, store = county
    assert ctx.metrics is not None and ctx.alarms is not None
    tiles = _show(registry.create("sla_tiles", ctx), qtbot)
    kpis = _show(registry.create("kpis", ctx), qtbot)
    county_map = _show(registry.create("map", ctx), qtbot)
    queue = QueueIndex(store)
    end = store.clock.now()
    seen: list[dict[str, int]] = []
    for hours in INSTANTS_H:
        now = end + hours * HOUR
        store.set_clock(now, rate=0.0)  # the day stands still at this instant
        ctx.bridge.tick.emit()  # every panel and the alarm engine read the new instant
        ctx.bridge.flush()
        want = by_hand(store, now)
        seen.append(want)
        where = f"{hours} h after the day's end"

        t = tiles.tiles
        shown = {"open": t.open.value(), "overdue": t.overdue.value(), "red": t.red.value(),
                 "yellow": t.yellow.value(), "blue": t.blue.value()}  # fmt: skip
        assert shown == want, f"warning tiles, {where}"

        fig = ctx.metrics.figures(now)
        catalogue = {m: int(fig.value(m).value) for m in ("overdue_now", "sla_red", "sla_yellow", "sla_blue")}
        assert catalogue == {"overdue_now": want["overdue"], "sla_red": want["red"],
                             "sla_yellow": want["yellow"], "sla_blue": want["blue"]}, f"catalogue, {where}"  # fmt: skip
        for m in catalogue:  # a click on the number selects exactly the cases behind it
            assert len(ctx.metrics.case_ids(fig.value(m))) == catalogue[m], f"{m} click-through, {where}"

        legend = {"blue": want["blue"], "yellow": want["yellow"], "red": want["red"], "overdue": want["overdue"]}
        qtbot.waitUntil(lambda legend=legend: county_map.legend.counts == legend, timeout=5000)  # next frame

        tile = kpis.tiles["overdue_now"]
        assert int(tile.value.text().replace(",", "")) == want["overdue"], f"KPI tile, {where}"

        counts = ctx.alarms.counts()
        assert counts[AlarmKind.BREACHED] == want["overdue"], f"alarms, {where}"
        assert counts[AlarmKind.ABOUT_TO_BREACH] == want["red"] - want["overdue"], f"alarms, {where}"

        tabs = queue.duty_counts(QueueFilter(), columns(store, now))
        assert tabs[("overdue", "")] == want["overdue"], f"queue tab 已超期, {where}"
        assert tabs[("due_soon", "")] == want["red"] - want["overdue"], f"queue tab 本环节将超期, {where}"

    # the instants differ: time alone moves cases from colour to colour and past their limit
    assert len({tuple(s.values()) for s in seen}) == len(INSTANTS_H)
    assert seen[-1]["overdue"] > seen[0]["overdue"] > 0

    # and a click on the KPI tile selects those very cases in the queue and the map
    qtbot.mouseClick(kpis.tiles["overdue_now"], Qt.MouseButton.LeftButton)
    assert len(ctx.selection.case_ids) == seen[-1]["overdue"]
