"""The "kpis" panel: are we meeting targets?

One tile per KPI of the store (``kpi.update`` events): its label, value and unit, and its
target. A tile is green when the value meets the target and red when it does not.
Under the value a sparkline draws the KPI's recent values (``commandcenter.kpis.KpiHistory``,
fed by the store's change sets while the panel is open), and the tooltip says how the
number is computed (``commandcenter.kpis.DEFINITIONS``) with the samples behind the line.

The rule for "meets": the feed protocol's KPI carries a target but no direction, and every
target the platform sets is a floor on a rate (closure rate >= 95%, satisfaction >= 90%...);
so a KPI with a target > 0 meets it when ``value >= target``. A target of 0 means "no
target" (counts such as cases today): the tile stays neutral rather than pretending to
judge. Which KPIs, in which order, and how many columns are settings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen, QPolygonF, QResizeEvent
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
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
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


def format_value(value: float, unit: str) -> str:
    """Rates with one decimal, counts as integers with thousands separators."""
    if unit == "%":
        return f"{value:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


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
    """Label, big value with its unit, and the target line."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiTile")
        self.setProperty("meets", "none")
        self.kpi_name = name
        self.label = QLabel(self, objectName="kpiLabel")
        self.value = QLabel("—", self, objectName="kpiValue")
        self.unit = QLabel(self, objectName="kpiUnit")
        self.target = QLabel(self, objectName="kpiTarget")
        for lab in (self.label, self.value, self.unit, self.target):
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
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
        self.spark = Sparkline(self)
        col.addWidget(self.spark)
        col.addWidget(self.target)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)


@register
class KpisPanel(Panel):
    name = "kpis"
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
        self.history = KpiHistory(capacity=120)
        self.hold(self.history.follow(ctx.store))
        self.listen(ctx.bridge.changed, self._on_changed)
        self.rebuild()

    # -- which KPIs
    def wanted(self) -> list[str]:
        """Names to show: the setting's list in its order, or every KPI of the store."""
        names = [n.strip() for n in str(self.settings["names"]).split(",") if n.strip()]
        return names or list(self.ctx.store.kpis)

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
            tile.ensurePolished()
            tile.setMinimumHeight(tile.sizeHint().height())
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
        if not (cs.reset or cs.kpis):
            return
        if set(self.wanted()) != set(self.tiles):
            self.rebuild()
        else:
            self.refresh()

    def refresh(self) -> None:
        kpis = self.ctx.store.kpis
        zh = is_chinese()
        for name, tile in self.tiles.items():
            kpi = kpis.get(name)
            if kpi is None:
                tile.label.setText(KPI_LABELS_EN.get(name, name) if not zh else name)
                tile.value.setText("—")
                tile.unit.setText("")
                tile.target.setText(zh_en("无数据", "no data"))
                meets: bool | None = None
                tile.setToolTip(
                    zh_en(
                        "数据源尚未报送 {name}。", "The feed has not reported {name} yet."
                    ).format(name=name)
                )
            else:
                value, target, unit = float(kpi.value), float(kpi.target), str(kpi.unit)
                tile.label.setText(kpi_label(kpi))
                tile.value.setText(format_value(value, unit))
                tile.unit.setText("" if unit == "%" else unit_label(unit))
                meets = meets_target(value, target)
                tile.target.setText(
                    zh_en("目标 ≥ {target}", "target ≥ {target}").format(
                        target=format_value(target, unit)
                    )
                    if target
                    else zh_en("未设目标", "no target")
                )
                tile.setToolTip(self._tooltip(kpi, meets))
            state = {True: "ok", False: "miss", None: "none"}[meets]
            _, values = self.history.samples(name)
            tile.spark.setVisible(bool(self.settings["sparkline"]))
            tile.spark.set_values(values, float(kpi.target) if kpi is not None else 0.0, state)
            if tile.property("meets") != state:
                tile.setProperty("meets", state)
                for w in (tile, tile.value):
                    w.style().unpolish(w)
                    w.style().polish(w)
        self.empty.setText(zh_en("数据源尚未报送考核指标。", "No KPIs reported by the feed yet."))

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
        text = definition(str(kpi.name), is_chinese())
        if text:
            lines.append(text)
            lines.append(
                zh_en(
                    "（按参考数据源即演示县的算法）",
                    "(as computed by the reference feed, the demo county)",
                )
            )
        ts, values = self.history.samples(str(kpi.name))
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
