"""The "alarms" panel: the hall's own SLA and cluster alarms, each leading to an action.

Not the "alerts" panel (the platform's alert.raised list): these come from the console's
``commandcenter.alarms.AlarmEngine`` (breached, about to breach, clusters of one category
in one grid, urgent cases waiting to be signed). Each row says what and how long is left;
selecting it selects its case (the detail and the map follow). Acknowledge asks for a
comment and is written to the audit log; snooze silences it for a while. Every alarm
leads to an action: the queue's action keys (s 签收, d 派遣, e 督办...) work on the current
alarm's case, through the same road as the queue (``widgets.cases.desk``). The loudest
unsilenced alarm sounds its level's tone (muted by the queue's bell, shared).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from commandcenter.alarms import SOUND_FOR_LEVEL, Alarm, AlarmChange, AlarmEngine, AlarmLevel
from commandcenter.hall_time import local
from commandcenter.sla import format_remaining
from widgets import theme
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.cases import common, desk
from widgets.i18n import zh_en
from widgets.registry import register
from widgets.table_model import Column, TableModel

# The most alarms the list shows: a duty officer works from its top; the counts above it
# say how many stand in all (a county's imported months can leave a hundred thousand).
LIST_ROWS = 500
LEVEL_COLOURS = {
    AlarmLevel.CRITICAL: "red",
    AlarmLevel.WARNING: "yellow",
    AlarmLevel.NOTICE: "blue",
}
SNOOZE_MINUTES: tuple[int, ...] = (10, 30)


class AlarmsModel(TableModel):
    KIND, CASE, WHERE, LEFT, RAISED, STATUS = range(6)
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("告警", "Alarm"),
        Column("案件", "Case"),
        Column("位置", "Where"),
        Column("剩余时限", "Time left"),
        Column("发生时间", "Raised"),
        Column("状态", "Status"),
    )

    def __init__(
        self, ctx: PanelContext, engine: AlarmEngine, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.engine = engine

    @property
    def alarms(self) -> list[Alarm]:
        return self.rows

    def cell(self, a: Alarm, col: int, role: int) -> Any:
        silenced = a.silenced(time.time())
        if role == Qt.ItemDataRole.BackgroundRole:
            if col == self.KIND and not silenced:
                return theme.color(LEVEL_COLOURS[a.level])
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.KIND and not silenced:
                return theme.color("on_badge")
            if silenced:
                return theme.color("text_dim")
            if col == self.LEFT and self.engine.time_left(a) < 0:
                return theme.color("red")
        if role == Qt.ItemDataRole.UserRole:
            return a.id
        return None

    def tooltip(self, a: Alarm, col: int) -> str:
        if a.acknowledged:
            return zh_en("已由 {who} 确认：{comment}", "Acknowledged by {who}: {comment}").format(
                who=a.ack_by or "—", comment=a.ack_comment or "—"
            )
        return ", ".join(a.case_ids)

    def display(self, a: Alarm, col: int) -> str:
        now = time.time()
        store = self.ctx.store
        if col == self.KIND:
            label = common.alarm_kind_label(a.kind)
            return f"{label} ×{a.count}" if a.count > 1 else label
        if col == self.CASE:
            if a.case_ids:
                return f"{a.category} ({len(a.case_ids)})"
            case = store.case(a.case_id)
            return f"{a.case_id} {case.category}" if case is not None else a.case_id
        if col == self.WHERE:
            case = store.case(a.case_id)
            grid = a.grid or (case.grid if case is not None else "")
            town = store.display_name(case.township) if case is not None else ""
            return " / ".join(x for x in (town, store.display_name(grid)) if x)
        if col == self.LEFT:
            if a.case_ids:
                return "—"
            left = self.engine.time_left(a)
            if left < 0:
                return zh_en("超期 {time}", "overdue {time}").format(time=format_remaining(-left))
            return format_remaining(left)
        if col == self.RAISED:
            return local(a.raised_at).strftime("%H:%M:%S")
        if col == self.STATUS:
            if a.acknowledged:
                return zh_en("✓ {who} 已确认", "✓ {who}").format(who=a.ack_by or "—")
            if a.snoozed_until > now:
                return zh_en("暂缓至 {time}", "snoozed until {time}").format(
                    time=local(a.snoozed_until).strftime("%H:%M")
                )
            return zh_en("未处理", "new")
        return ""

    def set_alarms(self, alarms: list[Alarm]) -> None:
        if [a.id for a in alarms] == [a.id for a in self.rows]:
            self.rows = alarms
            self.rows_changed()
            return
        self.set_rows(alarms)


@register
class AlarmsPanel(Panel):
    name = "alarms"
    REQUIRES = (Need.ALARMS,)
    title_zh = "预警告警"
    title_en = "Alarms"
    icon = "⏰"
    description_zh = "哪些案件快超期、已超期，哪里同类聚集？确认（附说明）或暂缓"
    description_en = (
        "What is about to breach, breached, clustering? Acknowledge with a comment or snooze"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "show_silenced": Setting("bool", True, "显示已确认/暂缓", "Show acknowledged/snoozed"),
        "sound": Setting("bool", True, "按级别响铃", "Sound per level"),
    }
    said = Signal(str, bool)  # (text, is_error) for the window's status line

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        assert ctx.alarms is not None  # the context's one engine (PanelContext)
        self.engine: AlarmEngine = ctx.alarms
        self.model = AlarmsModel(ctx, self.engine, self)
        self.view = QTableView(self.body)
        self.view.setObjectName("alarmsTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Widths from the rows on screen, not from the first 1,000 (Qt's default): the
        # list is re-announced every second (time left), and sizing 500 rows each time
        # cost ~15,000 cell reads a second with a county's overdue backlog listed.
        h.setResizeContentsPrecision(0)
        h.setStretchLastSection(True)
        self.comment = QLineEdit(self.body)
        self.comment.setObjectName("alarmComment")
        self.ack_button = QPushButton(self.body)
        self.ack_button.setObjectName("alarmAck")
        self.ack_button.clicked.connect(lambda: self.acknowledge_selected())
        self.comment.returnPressed.connect(lambda: self.acknowledge_selected())
        self.snooze_buttons: list[QPushButton] = []
        row = QHBoxLayout()
        row.addWidget(self.comment, 1)
        row.addWidget(self.ack_button)
        for minutes in SNOOZE_MINUTES:
            b = QPushButton(self.body)
            b.setObjectName(f"alarmSnooze{minutes}")
            b.clicked.connect(lambda _=False, m=minutes: self.snooze_selected(m))
            self.snooze_buttons.append(b)
            row.addWidget(b)
        self.summary = QLabel(self.body)
        self.summary.setObjectName("sectionNote")
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.listen(self.view.clicked, self._on_clicked)
        self.listen(self.view.selectionModel().currentRowChanged, self._on_clicked)
        self.view.installEventFilter(self)
        self.setFocusProxy(self.view)
        self.listen(ctx.bridge.tick, self._on_tick)
        # changes come in bursts (an evaluation raises alarms in several passes): the list
        # is rebuilt once, when the burst is over, not once per change
        self._changed = QTimer(self)
        self._changed.setSingleShot(True)
        self._changed.setInterval(0)
        self.listen(self._changed.timeout, self.refresh)
        self.hold(self.engine.subscribe(self._on_alarms))
        self.retranslate()
        self.refresh()

    def _on_tick(self) -> None:
        self.refresh()
        level = self.engine.sound_level()
        # the past's alarms are shown in replay, never sounded: nothing there needs a hand
        if level is not None and self.settings["sound"] and not self.ctx.replay:
            common.sounds().play(SOUND_FOR_LEVEL[level])

    def _on_alarms(self, _change: AlarmChange) -> None:
        if not self.torn_down and not self._changed.isActive():
            self._changed.start()

    def refresh(self) -> None:
        if self.torn_down:
            return
        alarms = self.engine.alarms(
            include_silenced=bool(self.settings["show_silenced"]), limit=LIST_ROWS
        )
        current = self.selected_alarm()
        self.model.set_alarms(alarms)
        if current is not None and self.view.currentIndex().row() < 0:
            # A new list (alarms raised or cleared) keeps the officer's alarm current.
            row = next((i for i, a in enumerate(alarms) if a.id == current.id), -1)
            if row >= 0:
                sm = self.view.selectionModel()
                sm.blockSignals(True)
                self.view.selectRow(row)
                sm.blockSignals(False)
                self.view.viewport().update()
        counts = self.engine.counts()
        text = "　".join(f"{common.alarm_kind_label(k)} {n}" for k, n in counts.items())
        if len(alarms) == LIST_ROWS and len(self.engine) > LIST_ROWS:
            text += "　" + zh_en("（列出最紧急的 {n} 条）", "(the {n} most pressing listed)").format(n=LIST_ROWS)
        self.summary.setText(text)

    def selected_alarm(self) -> Alarm | None:
        row = self.view.currentIndex().row()
        return self.model.alarms[row] if 0 <= row < len(self.model.alarms) else None

    def _on_clicked(self, index: QModelIndex, *_: object) -> None:
        a = self.model.alarms[index.row()] if 0 <= index.row() < len(self.model.alarms) else None
        if a is not None and a.case_id:
            self.ctx.selection.select([a.case_id], self.selection_origin)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The action keys on the current alarm's case (letters without a modifier)."""
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            action = common.ACTION_KEYS.get(event.text().upper()) if event.text() else None
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if action is not None and mods in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.ShiftModifier,
            ):
                self.act(action)
                return True
        return super().eventFilter(watched, event)

    def act(self, action: common.Action) -> common.Outcome | None:
        """An action key on the current alarm: its case (a cluster has none to act on)."""
        a = self.selected_alarm()
        if a is None or not a.case_id:
            out = common.Outcome(
                False,
                zh_en(
                    "请先选择一条单个案件的告警（聚集告警请在队列中逐件处理）",
                    "Choose an alarm of one case first (work a cluster's cases in the queue)",
                ),
            )
            self._report(out)
            return out
        self.ctx.selection.select([a.case_id], self.selection_origin)
        return desk.run_action(self, self.ctx, a.case_id, action, self._report)

    def _report(self, outcome: common.Outcome) -> None:
        if not self.torn_down:
            self.said.emit(outcome.message, not outcome.ok)

    def acknowledge_selected(self, comment: str | None = None) -> Alarm | None:
        a = self.selected_alarm()
        if a is None or self.engine.get(a.id) is None:
            return None
        text = self.comment.text() if comment is None else comment
        acked = self.engine.acknowledge(a.id, text, self.ctx.actor, self.ctx.role.value)
        self.comment.clear()
        return acked

    def snooze_selected(self, minutes: int) -> Alarm | None:
        a = self.selected_alarm()
        if a is None or self.engine.get(a.id) is None:
            return None
        return self.engine.snooze(
            a.id, time.time() + minutes * 60, self.ctx.actor, self.ctx.role.value
        )

    def apply_settings(self) -> None:
        self.refresh()

    def on_teardown(self) -> None:
        self.view.removeEventFilter(self)

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "model") or self.torn_down:
            return
        self.model.retranslate()
        self.comment.setPlaceholderText(zh_en("说明（已采取的措施）…", "Comment (what was done)…"))
        self.ack_button.setText(zh_en("确认", "Acknowledge"))
        for b, m in zip(self.snooze_buttons, SNOOZE_MINUTES, strict=True):
            b.setText(zh_en("暂缓 {n} 分钟", "Snooze {n} min").format(n=m))
        self.refresh()
