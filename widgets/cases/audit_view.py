"""The "audit_log" panel: who did what to which case, when, and what came of it.

It reads ``commandcenter.audit.AuditLog`` (append-only, personal data already masked) with
the filters a supervisor asks with (text, who, action, result, how far back) and exports
the same rows as CSV for Excel (UTF-8 with BOM, formulas defused: the log's own export).
Reloads on a timer only while visible: the log is a local SQLite file, cheap to query.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from commandcenter.audit import RESULT_LABELS_ZH, AuditRecord
from commandcenter.hall_time import local
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.cases import common
from widgets.i18n import is_chinese, zh_en
from widgets.registry import register
from widgets.table_model import Column, TableModel

RESULT_LABELS_EN = {
    "queued": "queued",
    "refused_local": "refused here",
    "confirmed": "done",
    "refused": "refused",
    "conflict": "conflict",
    "invalid": "invalid",
    "shown": "shown",
    "acknowledged": "acknowledged",
}
OTHER_ACTIONS_ZH = {
    "reveal_reporter": "查看报告人",
    "alarm.acknowledge": "确认告警",
    "alarm.snooze": "告警暂缓",
}
OTHER_ACTIONS_EN = {
    "reveal_reporter": "Reveal reporter",
    "alarm.acknowledge": "Acknowledge alarm",
    "alarm.snooze": "Snooze alarm",
}
SINCE_HOURS: tuple[float, ...] = (1, 8, 24, 24 * 7, 0)  # 0 = everything


def audit_action_label(action: str) -> str:
    other = OTHER_ACTIONS_ZH if is_chinese() else OTHER_ACTIONS_EN
    return other.get(action) or common.action_label(action)


def result_label(result: str) -> str:
    return (RESULT_LABELS_ZH if is_chinese() else RESULT_LABELS_EN).get(result, result)


class AuditModel(TableModel):
    TIME, ACTOR, CASE, ACTION, RESULT, REASON, PARAMS = range(7)
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("时间", "Time"),
        Column("操作人", "Who"),
        Column("案件", "Case"),
        Column("操作", "Action"),
        Column("结果", "Result"),
        Column("原因", "Reason"),
        Column("详情", "Details"),
    )

    def display(self, r: AuditRecord, col: int) -> str:
        return (
            local(r.ts).strftime("%m-%d %H:%M:%S"),
            r.actor,
            r.case_id,
            audit_action_label(r.action),
            result_label(r.result),
            r.reason,
            json.dumps(r.params, ensure_ascii=False) if r.params else "",
        )[col]

    def cell(self, r: AuditRecord, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and col == self.RESULT:
            if r.result in ("refused", "refused_local", "conflict", "invalid"):
                return theme.color("red")
            if r.result == "confirmed":
                return theme.color("green")
        return None

    def tooltip(self, r: AuditRecord, col: int) -> str:
        if col == self.REASON:
            return r.reason
        if col == self.PARAMS:
            return json.dumps(r.params, ensure_ascii=False)
        return ""

    def set_records(self, records: list[AuditRecord]) -> None:
        if [r.id for r in records] != [r.id for r in self.rows]:
            self.set_rows(records)


@register
class AuditLogPanel(Panel):
    name = "audit_log"
    title_zh = "操作日志"
    title_en = "Audit log"
    icon = "🗒"
    SHOWS_FRESHNESS = False  # the console's own record, not feed data
    description_zh = "谁在何时对哪件案件做了什么、结果如何？可筛选，可导出 CSV"
    description_en = "Who did what to which case, when, and with what result? Filter, export CSV"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "limit": Setting("int", 2000, "显示条数", "Rows shown", minimum=50, maximum=100_000),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.model = AuditModel(self)
        self.view = QTableView(self.body)
        self.view.setObjectName("auditTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.text = QLineEdit(self.body)
        self.text.setObjectName("auditText")
        self.text.setClearButtonEnabled(True)
        self.result_box = QComboBox(self.body)
        self.since_box = QComboBox(self.body)
        self.mine_box = QComboBox(self.body)
        self.export_button = QPushButton(self.body)
        self.export_button.setObjectName("auditExport")
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.count = QLabel(self.body)
        self.count.setObjectName("sectionNote")
        row = QHBoxLayout()
        row.addWidget(self.text, 2)
        row.addWidget(self.result_box)
        row.addWidget(self.since_box)
        row.addWidget(self.mine_box)
        row.addWidget(self.export_button)
        row.addWidget(self.count)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.listen(self.text.textChanged, lambda _t: self.reload())
        for box in (self.result_box, self.since_box, self.mine_box):
            self.listen(box.activated, lambda _i: self.reload())
        self.timer(2000, self._reload_if_visible)
        self.retranslate()

    def filters(self) -> dict[str, Any]:
        """The AuditLog.query filters the bar stands for."""
        f: dict[str, Any] = {}
        if self.text.text().strip():
            f["text"] = self.text.text().strip()
        result = self.result_box.currentData()
        if result:
            f["result"] = result
        hours = self.since_box.currentData()
        if hours:
            f["since"] = time.time() - float(hours) * 3600
        if self.mine_box.currentData() == "mine" and self.ctx.actor:
            f["actor"] = self.ctx.actor
        return f

    def reload(self) -> None:
        audit = self.ctx.audit
        if audit is None:
            self.model.set_records([])
            self.count.setText(zh_en("本席位没有操作日志", "No audit log on this console"))
            return
        records = audit.query(limit=int(self.settings["limit"]), **self.filters())
        self.model.set_records(records)
        self.count.setText(zh_en("{n} 条", "{n} rows").format(n=f"{len(records):,}"))

    def _reload_if_visible(self) -> None:
        if self.isVisible():
            self.reload()

    def export_csv(self, path: str | None = None) -> int:
        """Write the filtered rows (all of them, oldest first) as CSV; returns the count.
        Asks for the file when ``path`` is not given."""
        audit = self.ctx.audit
        if audit is None:
            return 0
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, zh_en("导出操作日志", "Export audit log"), "audit.csv", "CSV (*.csv)"
            )
            if not path:
                return 0
        n = audit.export_csv(path, **self.filters())
        self.count.setText(
            zh_en("已导出 {n} 条到 {path}", "{n} rows exported to {path}").format(n=n, path=path)
        )
        return n

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "model") or self.torn_down:
            return
        self.model.retranslate()
        self.text.setPlaceholderText(
            zh_en("搜索案件、操作人、原因…", "Search case, officer, reason…")
        )
        self.export_button.setText(zh_en("导出 CSV…", "Export CSV…"))

        def fill(box: QComboBox, items: list[tuple[str, Any]]) -> None:
            current = box.currentData()
            box.clear()
            for label, value in items:
                box.addItem(label, value)
            box.setCurrentIndex(max(0, box.findData(current)))

        fill(
            self.result_box,
            [(zh_en("全部结果", "All results"), None)]
            + [
                (result_label(r), r)
                for r in (
                    "confirmed",
                    "queued",
                    "refused",
                    "refused_local",
                    "conflict",
                    "shown",
                    "acknowledged",
                )
            ],
        )
        fill(
            self.since_box,
            [
                (zh_en("近 1 小时", "Last hour"), 1),
                (zh_en("近 8 小时", "Last 8 hours"), 8),
                (zh_en("近 24 小时", "Last 24 hours"), 24),
                (zh_en("近 7 天", "Last 7 days"), 24 * 7),
                (zh_en("全部时间", "Everything"), 0),
            ],
        )
        if self.since_box.currentIndex() < 0 or self.since_box.currentData() is None:
            self.since_box.setCurrentIndex(2)
        fill(
            self.mine_box,
            [(zh_en("所有人", "Everyone"), "all"), (zh_en("仅本人", "Only me"), "mine")],
        )
        self.reload()
