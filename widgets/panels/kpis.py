"""The "kpis" panel: are we meeting targets?

One tile per KPI. The big number is the metric catalogue's (``commandcenter.metrics``),
computed from the cases the console holds, with its window, n and as-of in the tooltip;
a click selects exactly those cases. When the feed also reports the KPI (``kpi.update``:
the platform's official figure), the tile says so beneath the number ("平台 95.6%") and
flags a difference a leader could see on two screens, never mixing the two silently. A
KPI only the platform knows (online completion of government services) shows the
platform's number, labelled as the platform's.

Under the value a sparkline draws the tile's recent values (``KpiHistory``, fed by this
panel's refreshes), and the target line. Which KPIs, in which order, and how many
columns are settings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from commandcenter import hall_time
from commandcenter.kpis import KpiHistory, definition
from commandcenter.metrics.catalogue import CATALOGUE, KPI_TILES, PLATFORM_ONLY
from commandcenter.metrics.engine import MetricValue, format_number, platform_difference
from commandcenter.metrics.explain import explain
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.fitlabel import FitLabel
from widgets.i18n import is_chinese, zh_en
from widgets.plaintext import plain_tooltip
from widgets.registry import register

# English names of the KPIs the platform reports (their Chinese label comes with the data).
KPI_LABELS_EN: dict[str, str] = {
    "closure_rate": "Closure rate",
    "on_time_rate": "Closed on time",
    "open_urgent": "Urgent open",
    "overdue_now": "Overdue now",
    "open_cases": "Open cases",
    "satisfaction": "Satisfaction",
    "online_completion": "Completed online",
    "cases_today": "Filed today",
    "closed_today": "Closed today",
    "units_on_duty": "Staff on duty",
    "camera_online_rate": "Cameras online",
}
UNITS_EN: dict[str, str] = {"件": "cases", "人": "people", "个": "", "次": "times"}


def meets_target(value: float, target: float) -> bool | None:
    """True/False against a floor target; None when the KPI has no target (0)."""
    if not target:
        return None
    return value >= target


format_value = format_number  # the catalogue's formatting: one way to print a number


def kpi_label(kpi: Any) -> str:
    name = str(getattr(kpi, "name", ""))
    if is_chinese():
        return str(getattr(kpi, "label", "") or name)
    return KPI_LABELS_EN.get(name) or name.replace("_", " ").capitalize()


def unit_label(unit: str) -> str:
    if is_chinese() or unit == "%":
        return unit
    return UNITS_EN.get(unit, unit)


class Sparkline(QWidget):
    """The recent values of one KPI as a line, the target as a dotted line.

    Painted by hand rather than with a plot widget: a wall of twelve tiles must stay
    cheap to repaint once a second. The vertical range spans the values and the target,
    so a line hugging its target reads as such, not as a wild swing.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiSparkline")
        self.values = np.zeros(0)
        self.target = 0.0
        self.level = "none"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(int(28 * theme.current_scale()))

    def sizeHint(self) -> QSize:
        return QSize(120, int(28 * theme.current_scale()))

    def set_values(self, values: np.ndarray, target: float, level: str) -> None:
        self.values, self.target, self.level = values, float(target), level
        self.setFixedHeight(int(28 * theme.current_scale()))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if len(self.values) < 2:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h, m = self.width(), self.height(), 3.0
        lo, hi = float(self.values.min()), float(self.values.max())
        if self.target:
            lo, hi = min(lo, self.target), max(hi, self.target)
        span = (hi - lo) or max(1.0, abs(hi) * 0.01)
        lo -= span * 0.1
        span *= 1.2
        n = len(self.values)

        def y(v: float) -> float:
            return h - m - (v - lo) / span * (h - 2 * m)

        if self.target:
            tp = QPen(theme.color("text_dim"))
            tp.setStyle(Qt.PenStyle.DotLine)
            p.setPen(tp)
            p.drawLine(QPointF(0, y(self.target)), QPointF(w, y(self.target)))
        colour = {"ok": "green", "miss": "red"}.get(self.level, "accent")
        pen = QPen(theme.color(colour))
        pen.setWidthF(2.0 * theme.current_scale())
        p.setPen(pen)
        pts = [
            QPointF(m + i * (w - 2 * m) / (n - 1), y(float(v))) for i, v in enumerate(self.values)
        ]
        p.drawPolyline(QPolygonF(pts))
        p.end()


class KpiTile(QFrame):
    """Label, big value with its unit, the platform's figure, and the target line."""

    clicked = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiTile")
        self.setProperty("meets", "none")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.kpi_name = name
        self.mv: MetricValue | None = None  # the catalogue's value shown (None: platform's)
        self.label = QLabel(self, objectName="kpiLabel")
        self.value = QLabel("—", self, objectName="kpiValue")
        self.unit = QLabel(self, objectName="kpiUnit")
        self.platform = FitLabel(parent=self, objectName="kpiPlatform")
        self.platform.setProperty("differs", False)
        self.target = FitLabel(parent=self, objectName="kpiTarget", min_scale=0.8)
        for lab in (self.label, self.value, self.unit, self.platform, self.target):
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            lab.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QWidget(self)
        row_layout = QGridLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.setHorizontalSpacing(6)
        row_layout.addWidget(self.value, 0, 0, Qt.AlignmentFlag.AlignBottom)
        row_layout.addWidget(self.unit, 0, 1, Qt.AlignmentFlag.AlignBottom)
        row_layout.setColumnStretch(2, 1)
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 8, 14, 10)
        col.setSpacing(0)
        col.addWidget(self.label)
        col.addWidget(row, 1)
        col.addWidget(self.platform)
        self.spark = Sparkline(self)
        col.addWidget(self.spark)
        col.addWidget(self.target)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _set_differs(label: QLabel, differs: bool) -> None:
    if label.property("differs") != differs:
        label.setProperty("differs", differs)
        label.style().unpolish(label)
        label.style().polish(label)


@register
class KpisPanel(Panel):
    name = "kpis"
    REQUIRES = (Need.METRICS,)
    title_zh = "考核指标"
    title_en = "KPIs"
    icon = "◎"
    description_zh = "我们达标了吗？各项指标的数值与目标，达标为绿、未达标为红"
    description_en = "Are we meeting targets? Each KPI against its target: green met, red missed"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "names": Setting(
            "str", "", "指标（逗号分隔，留空为全部）", "KPIs (comma-separated, empty = all)"
        ),
        "columns": Setting("int", 4, "列数", "Columns", minimum=1, maximum=8),
        "sparkline": Setting("bool", True, "显示近期走势", "Show the recent trend"),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        # Tiles keep their natural height and the grid scrolls when the dock is short: a
        # squashed tile shows a coloured bar with no number, which answers nothing.
        scroll = QScrollArea(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.grid_host = QWidget(objectName="kpiGrid")
        scroll.setWidget(self.grid_host)
        outer = QVBoxLayout(self.body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(10, 8, 10, 10)
        self.grid.setSpacing(10)
        self.tiles: dict[str, KpiTile] = {}
        self.empty = QLabel(self.grid_host, objectName="placeholderMessage")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.history = KpiHistory(capacity=120)  # what the tiles showed, sampled on change
        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(ctx.bridge.tick, self.refresh)  # stocks (open, overdue) move with time
        self.rebuild()

    # -- which KPIs
    def wanted(self) -> list[str]:
        """Names to show: the setting's list in its order, or the catalogue's KPI tiles
        followed by any other KPI the feed reports (the platform's own figures)."""
        names = [n.strip() for n in str(self.settings["names"]).split(",") if n.strip()]
        if names:
            return names
        return list(dict.fromkeys([*KPI_TILES, *self.ctx.store.kpis]))

    def rebuild(self) -> None:
        """Lay the tiles out again (names or columns changed, or new KPIs arrived)."""
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles.clear()
        self.grid.removeWidget(self.empty)
        names = self.wanted()
        columns = self._columns = self.fitting_columns()
        for i, name in enumerate(names):
            tile = KpiTile(name, self.grid_host)
            # before the height is taken: a tile without its sparkline is that much shorter
            tile.spark.setVisible(bool(self.settings["sparkline"]))
            tile.ensurePolished()
            tile.setMinimumHeight(tile.sizeHint().height())
            tile.clicked.connect(lambda t=tile: self.pick(t))
            self.tiles[name] = tile
            self.grid.addWidget(tile, i // columns, i % columns)
        for c in range(columns):
            self.grid.setColumnStretch(c, 1)
        for c in range(columns, 9):
            self.grid.setColumnStretch(c, 0)
        if not names:
            self.grid.addWidget(self.empty, 0, 0, 1, columns)
        self.empty.setVisible(not names)
        self.refresh()

    # Below this width (logical px, times the theme scale) a value such as "95.5%" in the
    # tile's big type no longer fits and would be cut to "95.": use fewer columns instead.
    TILE_MIN_WIDTH = 190

    def fitting_columns(self) -> int:
        """The setting's column count, or fewer when the panel is too narrow for it."""
        wanted = max(1, int(self.settings["columns"]))
        width = self.body.width() or self.width()
        if width <= 0:
            return wanted
        fit = int(width // (self.TILE_MIN_WIDTH * theme.current_scale()))
        return max(1, min(wanted, fit))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fitting_columns() != getattr(self, "_columns", None):
            self.rebuild()

    # -- live
    def _on_changed(self, cs: ChangeSet) -> None:
        if not (cs.reset or cs.kpis or cs.cases_created or cs.cases_updated or cs.units):
            return
        if set(self.wanted()) != set(self.tiles):
            self.rebuild()
        else:
            self.refresh()

    def pick(self, tile: KpiTile) -> None:
        """A tile was clicked: select the cases behind its number (a count's cases, a
        rate's population n), exactly as many as the tooltip says."""
        mv = tile.mv
        if mv is None or mv.reason == "not_case_based":
            return
        self.ctx.selection.select(self.ctx.metrics.case_ids(mv), self.selection_origin)

    def refresh(self) -> None:
        fig = self.ctx.metrics.figures()
        kpis = self.ctx.store.kpis
        zh = is_chinese()
        for name, tile in self.tiles.items():
            kpi = kpis.get(name)
            m = CATALOGUE.get(name)
            if m is not None:
                mv = fig.value(m)
                tile.mv = mv
                meets = mv.meets
                tile.label.setText(m.label(zh))
                tile.value.setText(mv.text())
                tile.unit.setText("" if m.unit == "%" else unit_label(m.unit))
                tile.target.setText(self._target_line(mv))
                self._platform_line(tile, mv, kpi)
                tile.setToolTip(plain_tooltip(self._tooltip_ours(mv, kpi)))
                if mv.value is not None:
                    self._sample(name, mv.value, fig.now)
                target = float(m.target or 0.0)
            elif kpi is None:
                tile.mv = None
                tile.label.setText(KPI_LABELS_EN.get(name, name) if not zh else name)
                tile.value.setText("—")
                tile.unit.setText("")
                tile.platform.setText("")
                tile.target.setText(zh_en("无数据", "no data"))
                meets = None
                target = 0.0
                tile.setToolTip(
                    plain_tooltip(
                        zh_en(
                            "数据源尚未报送 {name}。", "The feed has not reported {name} yet."
                        ).format(name=name)
                    )
                )
            else:
                tile.mv = None
                value, target, unit = float(kpi.value), float(kpi.target), str(kpi.unit)
                tile.label.setText(kpi_label(kpi))
                tile.value.setText(format_value(value, unit))
                tile.unit.setText("" if unit == "%" else unit_label(unit))
                tile.platform.setText(zh_en("平台报送", "reported by the platform"))
                _set_differs(tile.platform, False)
                meets = meets_target(value, target)
                tile.target.setText(
                    zh_en("目标 ≥ {target}", "target ≥ {target}").format(
                        target=format_value(target, unit)
                    )
                    if target
                    else zh_en("未设目标", "no target")
                )
                tile.setToolTip(plain_tooltip(self._tooltip(kpi, meets)))
                self._sample(name, value, fig.now)
            state = {True: "ok", False: "miss", None: "none"}[meets]
            _, values = self.history.samples(name)
            tile.spark.setVisible(bool(self.settings["sparkline"]))
            tile.spark.set_values(values, target, state)
            if tile.property("meets") != state:
                tile.setProperty("meets", state)
                for w in (tile, tile.value):
                    w.style().unpolish(w)
                    w.style().polish(w)
        self.empty.setText(zh_en("数据源尚未报送考核指标。", "No KPIs reported by the feed yet."))

    def _sample(self, name: str, value: float, now: float) -> None:
        """Add to the sparkline when the value moved (a repeat would flatten the line)."""
        _, values = self.history.samples(name)
        if not len(values) or float(values[-1]) != value:
            self.history.add(name, value, now)

    def _target_line(self, mv: MetricValue) -> str:
        m = mv.metric
        parts = []
        if m.target is not None and m.direction is not None:
            op = "≥" if m.direction == "up" else "≤"
            parts.append(
                zh_en("目标 {op} {target}", "target {op} {target}").format(
                    op=op, target=format_value(m.target, m.unit)
                )
            )
        if m.window is not None:
            days = m.window.days
            parts.append(
                zh_en("今日", "today") if days == 1 else zh_en("近{n}日", "{n} days").format(n=days)
            )
        if m.is_rate:
            parts.append(f"n={mv.n}")
        return " · ".join(parts) if parts else zh_en("未设目标", "no target")

    def _platform_line(self, tile: KpiTile, mv: MetricValue, kpi: Any) -> None:
        """The platform's figure under ours, flagged when the two differ visibly."""
        if kpi is None:
            tile.platform.setText("")
            _set_differs(tile.platform, False)
            return
        try:
            p = float(kpi.value)
        except (TypeError, ValueError):
            p = float("nan")
        diff = platform_difference(mv, p)
        text = zh_en("平台 {value}", "platform {value}").format(
            value=format_value(p, mv.metric.unit)
        )
        if diff is not None:
            text += " ≠"
        tile.platform.setText(text)
        _set_differs(tile.platform, diff is not None)

    def _tooltip_ours(self, mv: MetricValue, kpi: Any) -> str:
        text = explain(mv, is_chinese())
        if kpi is None:
            return text
        try:
            p = float(kpi.value)
        except (TypeError, ValueError):
            return text
        diff = platform_difference(mv, p)
        line = zh_en("平台报送 {value}", "The platform reports {value}").format(
            value=format_value(p, mv.metric.unit)
        )
        if diff is not None:
            line += zh_en(
                "，与本系统相差 {d}（案件、窗口或口径不同）",
                ": differs from ours by {d} (different cases, window or definition)",
            ).format(d=format_value(diff, mv.metric.unit))
        else:
            line += zh_en("，与本系统一致", ": agrees with ours")
        return text + "\n" + line

    def _tooltip(self, kpi: Any, meets: bool | None) -> str:
        lines = [
            f"{kpi.label or kpi.name} ({kpi.name})",
            zh_en("数值：{value} {unit}", "Value: {value} {unit}").format(
                value=format_value(float(kpi.value), kpi.unit), unit=unit_label(kpi.unit)
            ),
        ]
        if meets is None:
            lines.append(zh_en("此指标未设目标。", "No target is set for this indicator."))
        else:
            lines.append(
                zh_en(
                    "目标：不低于 {target}；{verdict}", "Target: at least {target}; {verdict}"
                ).format(
                    target=format_value(float(kpi.target), kpi.unit),
                    verdict=zh_en("已达标", "met") if meets else zh_en("未达标", "missed"),
                )
            )
        name = str(kpi.name)
        only = PLATFORM_ONLY.get(name)
        text = (only[0] if is_chinese() else only[1]) if only else definition(name, is_chinese())
        if text:
            lines.append(text)
        lines.append(
            zh_en(
                "（平台数据：本系统没有对应案件）",
                "(the platform's figure: no case held here stands behind it)",
            )
        )
        ts, values = self.history.samples(name)
        if len(values):
            lines.append(
                zh_en(
                    "走势线：自 {since} 起 {n} 个采样，最低 {low}，最高 {high}",
                    "Trend line: {n} samples since {since}, lowest {low}, highest {high}",
                ).format(
                    n=len(values),
                    since=hall_time.local(float(ts[0])).strftime("%H:%M"),
                    low=format_value(float(values.min()), kpi.unit),
                    high=format_value(float(values.max()), kpi.unit),
                )
            )
        return "\n".join(lines)

    # -- settings and language
    def apply_settings(self) -> None:
        self.rebuild()

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "tiles"):
            self.refresh()
