"""The "alerts" panel: what is the platform warning about?

The ``alert.raised`` events the store keeps (``Store.alerts``), newest first, coloured by
level (red / yellow / blue), filtered by a minimum level. Every alarm leads to an action:
selecting an alert that names a case selects that case for every other panel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    Qt,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout

from commandcenter.hall_time import local
from commandcenter.privacy import Mask
from commandcenter.store import ChangeSet, Store
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import zh_en
from widgets.masking import mask_of, reporter_of
from widgets.registry import register
from widgets.table_model import CENTER, Column, TableModel

LEVELS: tuple[str, ...] = ("blue", "yellow", "red")  # ascending severity
_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}


class AlertsModel(TableModel):
    """Alerts of the store at or above a level, newest first, at most ``limit`` rows."""

    TIME, LEVEL, KIND, MESSAGE = range(4)
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("时间", "Time", CENTER),
        Column("级别", "Level", CENTER),
        Column("类型", "Kind"),
        Column("内容", "Message"),
    )
    CaseIdRole = Qt.ItemDataRole.UserRole + 1
    LevelRole = Qt.ItemDataRole.UserRole + 2

    def __init__(
        self,
        store: Store,
        min_level: str = "blue",
        limit: int = 200,
        parent: QObject | None = None,
        mask: Mask | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        # Messages quote case text (an address, a caller's name or number): masked on a
        # briefing or wall screen, in full on a duty console.
        self.mask = mask if mask is not None else Mask.off()
        self._min_rank = _RANK.get(min_level, 0)
        self._limit = limit
        self._bold = QFont()
        self._bold.setBold(True)
        self.refresh()

    def display(self, a: Any, col: int) -> str:
        if col == self.TIME:
            return local(a.ts).strftime("%H:%M:%S") if a.ts else "—"
        if col == self.LEVEL:
            return self.level_name(str(getattr(a, "level", "")))
        if col == self.KIND:
            return self.kind_name(str(a.kind))
        return self.message(a)

    def cell(self, a: Any, col: int, role: int) -> Any:
        level = str(getattr(a, "level", ""))
        if role == Qt.ItemDataRole.BackgroundRole:
            if col == self.LEVEL and level in _RANK:
                return theme.level_color(level)
            if level == "red":
                return theme.color("red_row")
            if level == "yellow":
                return theme.color("yellow_row")
            return None
        if role == Qt.ItemDataRole.ForegroundRole and col == self.LEVEL and level in _RANK:
            return theme.color("on_badge")
        if role == Qt.ItemDataRole.FontRole and (col == self.LEVEL or level == "red"):
            return self._bold
        if role == self.CaseIdRole:
            return getattr(a, "case_id", "") or ""
        if role == self.LevelRole:
            return level
        return None

    # -- words
    def level_name(self, level: str) -> str:
        return {
            "red": zh_en("红色", "Red"),
            "yellow": zh_en("黄色", "Yellow"),
            "blue": zh_en("蓝色", "Blue"),
        }.get(level, level)

    def kind_name(self, kind: str) -> str:
        return {
            "sla.breach": zh_en("超时", "Time limit"),
            "cluster": zh_en("聚集", "Cluster"),
            "sensor": zh_en("物联感知", "Sensor"),
        }.get(kind, kind)

    def message(self, a: Any) -> str:
        """The alert's text as this screen may show it."""
        text = str(a.message or "")
        if not self.mask.enabled:
            return text
        return self.mask.text(text, reporter_of(self._store, getattr(a, "case_id", "") or ""))

    def tooltip(self, a: Any, col: int) -> str:
        lines = [self.message(a)]
        if getattr(a, "case_id", ""):
            lines.append(
                zh_en(
                    "案件 {case}（点选后各面板同步显示）",
                    "Case {case} (select to show it everywhere)",
                ).format(case=a.case_id)
            )
        if getattr(a, "grid", ""):
            lines.append(
                zh_en("网格 {grid}", "Grid {grid}").format(grid=self._store.display_name(a.grid))
            )
        if a.ts:
            lines.append(
                zh_en("告警于 {time} · {kind}", "Raised {time} · {kind}").format(
                    time=local(a.ts).strftime("%Y-%m-%d %H:%M:%S"), kind=a.kind
                )
            )
        return "\n".join(lines)

    # -- updates
    def set_filter(self, min_level: str, limit: int) -> None:
        self._min_rank = _RANK.get(min_level, 0)
        self._limit = max(1, int(limit))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the store's alerts (at most 1,000 are kept: cheap to scan)."""
        out: list[Any] = []
        for a in reversed(self._store.alerts):
            if _RANK.get(str(getattr(a, "level", "")), 0) >= self._min_rank:
                out.append(a)
                if len(out) >= self._limit:
                    break
        self.set_rows(out)

    def alert_at(self, row: int) -> Any:
        return self.rows[row]

    def retranslate(self) -> None:
        super().retranslate()
        self.rows_changed()


@register
class AlertsPanel(Panel):
    name = "alerts"
    title_zh = "平台告警"
    title_en = "Alerts"
    icon = "⚑"
    description_zh = "平台在警告什么？最新告警按级别着色，点选即选中相关案件"
    description_en = (
        "What is the platform warning about? Newest alerts by level; select one to select its case"
    )
    COMPACT_WIDTH = 760
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "min_level": Setting(
            "choice",
            "blue",
            "最低级别",
            "Minimum level",
            choices=LEVELS,
            choice_labels_zh=("蓝色及以上", "黄色及以上", "仅红色"),
            choice_labels_en=("Blue and above", "Yellow and above", "Red only"),
        ),
        "limit": Setting("int", 200, "显示条数", "Rows shown", minimum=10, maximum=1000),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.model = AlertsModel(
            ctx.store,
            str(self.settings["min_level"]),
            int(self.settings["limit"]),
            parent=self,
            mask=mask_of(ctx),
        )
        t = self.table = QTableView(self.body)
        t.setObjectName("alertsTable")
        t.setModel(self.model)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setShowGrid(False)
        t.setWordWrap(False)
        t.setTextElideMode(Qt.TextElideMode.ElideRight)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.verticalHeader().setVisible(False)
        t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = t.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(AlertsModel.MESSAGE, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.addWidget(t)
        t.clicked.connect(self._on_clicked)
        self.listen(ctx.bridge.changed, self._on_changed)
        self._apply_metrics()

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.alerts:
            self.model.refresh()

    def _on_clicked(self, index: QModelIndex) -> None:
        case_id = self.model.index(index.row(), 0).data(AlertsModel.CaseIdRole)
        if case_id:
            self.ctx.selection.select([case_id], self.selection_origin)

    def apply_settings(self) -> None:
        self.model.set_filter(str(self.settings["min_level"]), int(self.settings["limit"]))

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "model"):
            self.model.retranslate()
            self._apply_metrics()

    def _apply_metrics(self) -> None:
        """Fixed columns sized to their widest text in the current font (wall scale)."""
        t = self.table
        t.ensurePolished()
        fm = t.fontMetrics()
        t.verticalHeader().setDefaultSectionSize(round(fm.height() * 1.6))
        header = t.horizontalHeader()
        header.ensurePolished()
        hfm = header.fontMetrics()
        pad = round(fm.height() * 1.2)
        samples = {
            AlertsModel.TIME: ("00:00:00",),
            AlertsModel.LEVEL: tuple(self.model.level_name(lvl) for lvl in LEVELS),
            AlertsModel.KIND: tuple(
                self.model.kind_name(k) for k in ("sla.breach", "cluster", "sensor")
            ),
        }
        for col, texts in samples.items():
            head = hfm.horizontalAdvance(self.model.headerData(col, Qt.Orientation.Horizontal))
            text = max(fm.horizontalAdvance(s) for s in texts)
            header.resizeSection(col, max(text, head + round(hfm.height() * 0.8)) + pad)

    def on_compact_changed(self, compact: bool) -> None:
        # A narrow dock gives the message the room: the kind is in its text and tooltip.
        self.table.setColumnHidden(AlertsModel.KIND, compact)
        self._apply_metrics()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and hasattr(
            self, "table"
        ):
            self._apply_metrics()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._apply_metrics()
