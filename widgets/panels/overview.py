"""The "overview" panel: the first window's composition (status strip, SLA tiles, newest
cases) as a dockable panel, so a single-screen layout can still show everything at once."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QVBoxLayout

from widgets.base import Need, Panel, PanelContext
from widgets.masking import mask_of
from widgets.overview import OverviewPanel as OverviewView
from widgets.registry import register


@register
class OverviewPanel(Panel):
    """Wraps ``widgets.overview.OverviewPanel``; its bridge connections go at teardown."""

    name = "overview"
    REQUIRES = (Need.METRICS,)
    title_zh = "总览"
    title_en = "Overview"
    icon = "◉"
    description_zh = "现在什么需要我处理？链路状态、红黄蓝预警和最新案件"
    description_en = "What needs me now? Link state, red/yellow/blue warnings, newest cases"

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.view = OverviewView(
            ctx.bridge, parent=self.body, mask=mask_of(ctx), metrics=ctx.metrics
        )
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.table.clicked.connect(self._on_clicked)
        self.listen(self.view.tiles.picked, self._on_picked)

    def _on_picked(self, case_ids: list[str]) -> None:
        self.ctx.selection.select(case_ids, self.selection_origin)

    def _on_clicked(self, index: Any) -> None:
        case_id = self.view.table.case_id_at(index.row())
        if case_id:
            self.ctx.selection.select([case_id], self.selection_origin)

    def on_teardown(self) -> None:
        self.view.teardown()
