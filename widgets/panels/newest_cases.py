"""The "newest_cases" panel: what just came in?

The newest cases, newest first, each with its warning colour and live countdown. Clicking a
row selects the case in the shared selection, so other panels (a map, a case detail) follow;
a case selected elsewhere is highlighted here when it is in the list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QEvent, QModelIndex
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from commandcenter.selection import Selection
from commandcenter.store import ChangeSet
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import zh_en
from widgets.masking import mask_of
from widgets.overview import NEWEST_LIMIT, CasesTable, NewestCasesModel
from widgets.registry import register


@register
class NewestCasesPanel(Panel):
    name = "newest_cases"
    title_zh = "最新案件"
    title_en = "Newest cases"
    icon = "☰"
    description_zh = "刚进来什么案件？最新上报的案件、预警颜色和剩余时限"
    description_en = "What just came in? The newest cases with their warning and time left"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "limit": Setting("int", NEWEST_LIMIT, "显示条数", "Rows shown", minimum=10, maximum=1000),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.model = NewestCasesModel(
            ctx.store, limit=int(self.settings["limit"]), parent=self, mask=mask_of(ctx)
        )
        self.table = CasesTable(self.model, parent=self.body)
        self.note = QLabel(self.body)
        self.note.setObjectName("sectionNote")
        note_row = QHBoxLayout()
        note_row.setContentsMargins(4, 0, 4, 0)
        note_row.addStretch(1)
        note_row.addWidget(self.note)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(note_row)
        layout.addWidget(self.table, 1)
        self.table.clicked.connect(self._on_clicked)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(ctx.bridge.tick, self.model.tick)
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.retranslate()

    # -- live
    def _on_changed(self, cs: ChangeSet) -> None:
        if not (cs.reset or cs.cases_created or cs.cases_updated):
            return  # unit positions arrive often and change nothing here
        selected = self.ctx.selection.case_ids
        self.model.refresh()
        self._update_note()
        if cs.reset:
            self.table.apply_metrics()
        if selected:  # a reset of the model drops the view's selection: restore it
            self.table.select_case(selected[0])

    def _on_clicked(self, index: QModelIndex) -> None:
        case_id = self.table.case_id_at(index.row())
        if case_id:
            self.ctx.selection.select([case_id], self.selection_origin)

    def _on_selection(self, selection: Selection) -> None:
        if selection.origin == self.selection_origin:
            return
        if selection.case_ids:
            self.table.select_case(selection.case_ids[0])
        else:
            self.table.clearSelection()

    # -- settings, language, size
    def apply_settings(self) -> None:
        self.model.set_limit(int(self.settings["limit"]))
        self._update_note()

    def _update_note(self) -> None:
        self.note.setText(
            zh_en("共 {total} 件，显示最新 {shown} 件", "newest {shown} of {total} cases").format(
                shown=f"{self.model.rowCount():,}", total=f"{len(self.ctx.store):,}"
            )
        )

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "model"):
            return  # the base retranslates before the body exists
        self.model.retranslate()
        self._update_note()
        self.table.apply_metrics()

    def on_compact_changed(self, compact: bool) -> None:
        self.table.apply_metrics()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and hasattr(
            self, "table"
        ):
            self.table.apply_metrics()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.table.apply_metrics()
