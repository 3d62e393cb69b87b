"""The "sla_tiles" panel: how many cases need me, and how urgently?

Red / yellow / blue (红黄蓝三色预警), overdue and open counts from the metric catalogue,
recounted on every change of the cases and every second (levels move with time even when
no event arrives). Each tile's tooltip explains its number; a click selects its cases.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtWidgets import QVBoxLayout

from commandcenter.store import ChangeSet
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.overview import SlaTiles
from widgets.registry import register


@register
class SlaTilesPanel(Panel):
    name = "sla_tiles"
    REQUIRES = (Need.METRICS,)
    title_zh = "预警统计"
    title_en = "Warnings"
    icon = "▇"
    description_zh = "多少案件需要我处理、有多急？红黄蓝预警、超期和在办数"
    description_en = "How many cases need me, how urgently? Red/yellow/blue, overdue, open"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "captions": Setting("bool", True, "显示说明", "Show captions"),
    }
    COMPACT_WIDTH = 1300

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.tiles = SlaTiles(ctx.store, parent=self.body, metrics=ctx.metrics)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.tiles)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(ctx.bridge.tick, self.tiles.refresh)
        self.listen(self.tiles.picked, self._on_picked)
        self.apply_settings()

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.cases_created or cs.cases_updated:
            self.tiles.refresh()

    def _on_picked(self, case_ids: list[str]) -> None:
        """A tile was clicked: its cases, exactly as many as it shows, everywhere."""
        self.ctx.selection.select(case_ids, self.selection_origin)

    def apply_settings(self) -> None:
        self.tiles.set_captions_visible(bool(self.settings["captions"]))
