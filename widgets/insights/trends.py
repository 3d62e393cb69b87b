"""The "trends" panel: what is rising, against the same period last week?

Three charts over the same buckets (local hours or days, ``commandcenter.trends``):
cases filed (total, and by category or source when asked), cases closed, and cases
overdue at each bucket's end. Every chart draws this period as a solid line and the same
period last week as a dashed one, and a headline above says the totals in numbers a
leader can read out: "filed 212, last week 180 (+18%)". The current bucket is partial and
is compared with last week cut at the same instant.

Last week is compared only when the store's data covers it (``trends.MIN_LAST_WEEK_CASES``
filed cases in that period, and cases filed before it began): otherwise the headline says
"last week: not enough data" and no dashed line is drawn.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from commandcenter import hall_time
from commandcenter import trends as T
from commandcenter.domain import SOURCE_LABELS_ZH, Source
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.fitlabel import FitLabel
from widgets.i18n import is_chinese, zh_en
from widgets.insights.common import SERIES_COLORS, Job, pen, relay, style_plot
from widgets.plaintext import plain_tooltip
from widgets.registry import register

SOURCE_LABELS_EN: dict[str, str] = {
    "hotline": "12345 hotline",
    "grid_worker": "Grid worker",
    "inspector": "Inspector",
    "video": "Video AI",
    "sensor": "IoT sensor",
    "opinion": "Public opinion",
}


def key_label(by: str, key: str) -> str:
    zh = is_chinese()
    if key == T.OTHER:
        return zh_en("其他", "Other")
    if by == "source":
        try:
            return SOURCE_LABELS_ZH[Source(key)] if zh else SOURCE_LABELS_EN.get(key, key)
        except ValueError:
            return key
    return key


def change_label(now: int, last: int) -> str:
    if not last:
        return "—"
    pct = 100.0 * (now - last) / last
    return f"{pct:+.0f}%"


@register
class TrendsPanel(Panel):
    name = "trends"
    title_zh = "趋势分析"
    title_en = "Trends"
    icon = "⟋"
    description_zh = "什么在上升？每小时或每日的受理、结案、超期，与上周同期对比"
    description_en = (
        "What is rising? Cases filed, closed and overdue per hour or day, against the "
        "same period last week"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "step": Setting(
            "choice",
            "hour",
            "时间粒度",
            "Step",
            choices=T.STEPS,
            choice_labels_zh=("小时", "天"),
            choice_labels_en=("Hour", "Day"),
        ),
        "buckets": Setting("int", 24, "显示时段数", "Buckets shown", minimum=2, maximum=90),
        "by": Setting(
            "choice",
            "none",
            "受理量分组",
            "Split filed cases by",
            choices=("none", "category", "source"),
            choice_labels_zh=("不分组", "类别", "来源"),
            choice_labels_en=("Nothing", "Category", "Source"),
        ),
        "top": Setting("int", 4, "分组显示前几项", "Groups shown", minimum=1, maximum=8),
    }
    REFRESH_MS: ClassVar[int] = 10_000
    MIN_INTERVAL_S: ClassVar[float] = 3.0  # a busy feed must not recompute every frame

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.result: dict[str, Any] = {}
        self.job = Job(self._apply)
        self._dirty = True
        grid = QGridLayout(self.body)
        grid.setContentsMargins(10, 8, 10, 10)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        self.heads: dict[str, QLabel] = {}
        self.plots: dict[str, pg.PlotWidget] = {}
        for i, key in enumerate(("filed", "closed", "overdue")):
            box = QWidget(self.body)
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            # a narrow dock shrinks the title a little, then cuts its end ("上周同期…")
            head = FitLabel(
                parent=box, objectName="sectionTitle", min_scale=0.8, elide=Qt.TextElideMode.ElideRight
            )
            plot = pg.PlotWidget(box)
            v.addWidget(head)
            v.addWidget(plot, 1)
            self.heads[key] = head
            self.plots[key] = plot
            grid.addWidget(box, i, 0)
            grid.setRowStretch(i, 1)
        self.note = QLabel(self.body, objectName="sectionNote")
        self.note.setWordWrap(True)
        grid.addWidget(self.note, 3, 0)
        self.listen(relay().done, self._on_job)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.timer(self.REFRESH_MS, self._tick)
        self.recompute()

    # ---- computation -----------------------------------------------------------------

    def recompute(self) -> None:
        self._dirty = False
        self.job.request(self._make_job)

    def _make_job(self) -> Any:
        frame = self.ctx.store.to_frame()
        now = float(self.ctx.store.clock.now())
        step = str(self.settings["step"])
        n = int(self.settings["buckets"])
        by = None if self.settings["by"] == "none" else str(self.settings["by"])
        top = int(self.settings["top"])
        policy = self.ctx.store.policy
        return lambda: compute(frame, now, step, n, by, top, policy)

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.cases_created or cs.cases_updated:
            self._dirty = True
            if not self.result or cs.reset:
                self.recompute()

    def _tick(self) -> None:
        if self._dirty or self.result.get("step") == "hour":
            self.recompute()

    def _on_job(self, message: Any) -> None:
        self.job.on_done(message)

    def _apply(self, result: dict[str, Any]) -> None:
        if self.torn_down:
            return
        self.result = result
        self.draw()

    # ---- drawing ---------------------------------------------------------------------

    def _ticks(self, edges: np.ndarray, step: str) -> list[tuple[float, str]]:
        n = len(edges) - 1
        every = max(1, int(np.ceil(n / 8)))
        fmt = "%H:%M" if step == T.HOUR_STEP else "%m-%d"
        return [
            (float(i), hall_time.local(float(edges[i])).strftime(fmt)) for i in range(0, n, every)
        ]

    def head_text(self, what: str, unit: str, now: int, last: int, covered: bool) -> str:
        """A chart's headline: the total, and last week's only when the data covers it."""
        if what == "Filed":
            if covered:
                return zh_en(
                    "受理量（{unit}）：{now} 件（上周同期 {last}，{change}）",
                    "Filed {unit}: {now} (same period last week {last}, {change})",
                ).format(
                    unit=unit, now=f"{now:,}", last=f"{last:,}", change=change_label(now, last)
                )
            return zh_en(
                "受理量（{unit}）：{now} 件（上周同期：数据不足）",
                "Filed {unit}: {now} (same period last week: not enough data)",
            ).format(unit=unit, now=f"{now:,}")
        if covered:
            return zh_en(
                "结案量（{unit}）：{now} 件（上周同期 {last}，{change}）",
                "Closed {unit}: {now} (same period last week {last}, {change})",
            ).format(unit=unit, now=f"{now:,}", last=f"{last:,}", change=change_label(now, last))
        return zh_en(
            "结案量（{unit}）：{now} 件（上周同期：数据不足）",
            "Closed {unit}: {now} (same period last week: not enough data)",
        ).format(unit=unit, now=f"{now:,}")

    def draw(self) -> None:
        r = self.result
        if not r:
            return
        step = r["step"]
        filed: T.Trend = r["filed"]
        closed: T.Trend = r["closed"]
        overdue: T.OverdueTrend = r["overdue"]
        x = np.arange(len(filed.total), dtype=float)
        ticks = self._ticks(filed.edges, step)
        unit = zh_en("每小时", "per hour") if step == T.HOUR_STEP else zh_en("每天", "per day")
        n_f, l_f = int(filed.total.sum()), int(filed.last_week_total.sum())
        n_c, l_c = int(closed.total.sum()), int(closed.last_week_total.sum())
        self.heads["filed"].setText(
            self.head_text("Filed", unit, n_f, l_f, filed.last_week_covered)
        )
        self.heads["closed"].setText(
            self.head_text("Closed", unit, n_c, l_c, closed.last_week_covered)
        )
        o_now, o_last = int(overdue.counts[-1]), int(overdue.last_week[-1])
        if overdue.last_week_covered:
            self.heads["overdue"].setText(
                zh_en(
                    "当前超期：{now} 件（一周前 {last}）", "Overdue now: {now} (a week ago {last})"
                ).format(now=o_now, last=o_last)
            )
        else:
            self.heads["overdue"].setText(
                zh_en(
                    "当前超期：{now} 件（一周前：数据不足）",
                    "Overdue now: {now} (a week ago: not enough data)",
                ).format(now=o_now)
            )
        for head in self.heads.values():  # the whole title, when a narrow dock cuts it
            head.setToolTip(plain_tooltip(head.text()))
        for plot in self.plots.values():
            item = plot.getPlotItem()
            item.clear()
            style_plot(plot, 11.0)
            item.getAxis("bottom").setTicks([ticks])
            legend = item.legend
            if legend is not None:
                legend.scene().removeItem(legend) if legend.scene() else None
                item.legend = None
        by = r["by"]
        fp = self.plots["filed"].getPlotItem()
        if by and filed.keys:
            legend = fp.addLegend(offset=(8, 4), labelTextColor=theme.colors()["text"])
            legend.setLabelTextSize(f"{10 * theme.current_scale():.0f}pt")
            for i, k in enumerate(filed.keys):
                fp.plot(
                    x,
                    filed.series[k],
                    pen=pen(SERIES_COLORS[i % len(SERIES_COLORS)], 2),
                    name=key_label(by, k),
                )
            fp.plot(x, filed.total, pen=pen("text_strong", 3), name=zh_en("合计", "Total"))
            if filed.last_week_covered:
                fp.plot(
                    x,
                    filed.last_week_total,
                    pen=pen("text_dim", 2, dashed=True),
                    name=zh_en("上周同期", "Last week"),
                )
        else:
            _plot_against_last_week(
                fp, x, filed.total, filed.last_week_total, filed.last_week_covered, "accent"
            )
        _plot_against_last_week(
            self.plots["closed"].getPlotItem(),
            x,
            closed.total,
            closed.last_week_total,
            closed.last_week_covered,
            "green",
        )
        _plot_against_last_week(
            self.plots["overdue"].getPlotItem(),
            x,
            overdue.counts,
            overdue.last_week,
            overdue.last_week_covered,
            "red",
        )
        for plot in self.plots.values():
            plot.getPlotItem().setXRange(-0.3, len(x) - 0.7, padding=0)
            plot.getPlotItem().enableAutoRange(axis="y")
        if filed.last_week_covered:
            self.note.setText(
                zh_en(
                    "实线为本期，虚线为上周同期。最后一个时段尚未结束，与上周同期比较到同一分钟。",
                    "Solid: this period; dashed: the same period last week. The last point is still running and is compared with last week up to the same minute.",
                )
            )
        else:
            self.note.setText(
                zh_en(
                    "现有数据未覆盖上周同期（当时受理不足 {n} 件），不作同比、不画虚线。最后一个时段尚未结束。",
                    "The data held does not cover the same period last week (fewer than {n} cases filed then), so no comparison is drawn. The last point is still running.",
                ).format(n=T.MIN_LAST_WEEK_CASES)
            )

    # ---- settings and language ---------------------------------------------------------

    def apply_settings(self) -> None:
        self.recompute()

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "plots"):
            self.draw()


def compute(
    frame: pd.DataFrame,
    now: float,
    step: str,
    n: int,
    by: str | None,
    top: int,
    policy: Any,
) -> dict[str, Any]:
    """The panel's three series (worker thread)."""
    return {
        "step": step,
        "by": by,
        "now": now,
        "filed": T.arrivals(frame, now, step, n, by=by, top=top),
        "closed": T.closures(frame, now, step, n),
        "overdue": T.overdue_trend(frame, now, step, n, policy),
    }


def _plot_against_last_week(
    item: Any, x: Any, now: Any, last_week: Any, covered: bool, colour: str
) -> None:
    """This period as a bold line with points; the same period last week dashed beneath
    it, only when the data covers last week (otherwise there is nothing honest to draw)."""
    if covered:
        item.plot(x, last_week, pen=pen("text_dim", 2, dashed=True))
    item.plot(
        x,
        now,
        pen=pen(colour, 3),
        symbol="o",
        symbolSize=6 * theme.current_scale(),
        symbolBrush=theme.colors()[colour],
    )
