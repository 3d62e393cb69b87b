"""The "ranking" panel: who is doing well, who is behind?

A league table of townships, departments, grids or officers (``commandcenter.ranking``:
every number defined there and in docs/ranking.md) with the rank change against the
previous window (▲ up, ▼ down), and a bar chart of the composite score. Entities under
the minimum count keep their numbers but are not ranked, and say so. Clicking a row
selects the cases behind it (clicking a number selects the cases behind that number:
overdue, closed...), so the map and the case queue follow. CSV and XLSX export.

The panel reads the console's one ``RankingEngine`` (``ctx.ranking``, built in main.py and
shared by every ranking panel; ``REQUIRES``): before each job the panel has the engine
collect the store's changed rows on the GUI thread, and tables and drills are computed on
the insights worker, so a million cases never stall the wall.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
)

from commandcenter import hall_time
from commandcenter.ranking import LAST_7_DAYS, LAST_30_DAYS, LEVELS, RankingEngine, Window
from commandcenter.store import ChangeSet
from commandcenter.xlsx import write_xlsx
from widgets import theme
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.insights.common import Job, pen, relay, style_plot
from widgets.registry import register
from widgets.table_model import LEFT, RIGHT, Column, TableModel

LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "township": ("乡镇", "Township"),
    "department": ("部门", "Department"),
    "grid": ("网格", "Grid"),
    "officer": ("队员", "Officer"),
}
WINDOWS: dict[str, tuple[Window, str, str]] = {
    "today": (Window.today(), "今日", "Today"),
    "7d": (LAST_7_DAYS, "近7天", "Last 7 days"),
    "30d": (LAST_30_DAYS, "近30天", "Last 30 days"),
}

# (key, table column, English header, drill metric for a click on this cell)
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("rank", "rank", "Rank", "received"),
    ("change", "rank_change", "Change", "received"),
    ("entity", "entity", "Name", "received"),
    ("received", "received", "Received", "received"),
    ("closure_rate", "closure_rate", "Closed", "closed"),
    ("on_time_rate", "on_time_rate", "On time", "on_time"),
    ("overdue_now", "overdue_now", "Overdue", "overdue_now"),
    ("satisfaction", "satisfaction", "Rating", "rated"),
    ("repeats", "repeats", "Repeats", "repeats"),
    ("score", "score", "Score", "received"),
)
HEADER_ZH: dict[str, str] = {
    "rank": "排名",
    "change": "变化",
    "entity": "名称",
    "received": "受理",
    "closure_rate": "结案率",
    "on_time_rate": "按时率",
    "overdue_now": "超期",
    "satisfaction": "满意度",
    "repeats": "重复",
    "score": "得分",
}

# The table's columns as the model shows them (headers, alignment), in COLUMNS' order.
HEADERS: tuple[Column, ...] = tuple(
    Column(HEADER_ZH[key], en, LEFT if key == "entity" else RIGHT, key=key)
    for key, _column, en, _drill in COLUMNS
)


def column_tooltip(column: str) -> str:
    """What a column means, in the UI's language (the engine's ``METRICS`` says it for
    the briefing notes, in its own terms)."""
    tips = {
        "rank": zh_en(
            "排名：按综合得分排序（受理量达到最低件数的才参加排名）",
            "Rank: by score, among those with at least the minimum of cases received",
        ),
        "rank_change": zh_en(
            "名次变化：上一窗口名次减本窗口名次，▲ 上升，▼ 下降",
            "Change: the previous window's rank minus this one: ▲ moved up, ▼ moved down",
        ),
        "entity": zh_en(
            "名称：案件归属的乡镇、部门、网格或队员",
            "Name: the township, department, grid or officer the cases are attributed to",
        ),
        "received": zh_en(
            "受理量：窗口内立案并归属于此的案件数",
            "Received: cases created in the window attributed to it",
        ),
        "closure_rate": zh_en(
            "结案率：已结案（结案、已回访、已评价）÷ 受理量",
            "Closure rate: closed (closed, called back or evaluated) / received",
        ),
        "on_time_rate": zh_en(
            "按时办结率：按时办结 ÷（已办结 + 当前超期）",
            "On-time rate: completed on time / (completed + overdue now)",
        ),
        "overdue_now": zh_en(
            "当前超期：已超过当前环节时限的在办案件",
            "Overdue: open cases past their current step's deadline",
        ),
        "satisfaction": zh_en(
            "满意度：已评价案件的平均分（1–5 分）",
            "Rating: the mean rating of the rated cases (1 to 5)",
        ),
        "repeats": zh_en(
            "重复投诉：N 天内同一地点同一类别已有案件的案件数",
            "Repeats: cases with an earlier case of the same place and category within N days",
        ),
        "score": zh_en(
            "综合得分：各指标归一化后的加权平均 × 100",
            "Score: 100 × the weighted mean of the normalised metrics",
        ),
    }
    return tips.get(column, "")


def change_text(change: float) -> str:
    """▲2 (moved up two places), ▼1, = (same), – (not ranked in one of the windows)."""
    if change != change:
        return "–"
    c = round(change)
    if c > 0:
        return f"▲{c}"
    if c < 0:
        return f"▼{-c}"
    return "="


class RankingModel(TableModel):
    """The league table as shown: one row per entity, in the engine's order. A row is
    its position in ``table`` (a DataFrame, read by column)."""

    COLUMNS = HEADERS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = pd.DataFrame()
        self.names: list[str] = []
        self.min_cases = 10

    def set_table(self, table: pd.DataFrame, names: list[str]) -> None:
        self.beginResetModel()
        self.table = table
        self.names = names
        self.min_cases = int(table.attrs.get("min_cases", 10)) if len(table) else self.min_cases
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.table)

    def row_at(self, i: int) -> int:
        return i

    def entity_at(self, row: int) -> str:
        return str(self.table["entity"].iloc[row]) if 0 <= row < len(self.table) else ""

    def display(self, row: int, col: int) -> str:
        key, column, _, _ = COLUMNS[col]
        r = self.table.iloc[row]
        ranked = bool(r["ranked"])
        if key == "rank":
            return str(int(r["rank"])) if ranked else "—"
        if key == "change":
            return change_text(float(r["rank_change"]))
        if key == "entity":
            return self.names[row]
        v = float(r[column])
        if key in ("closure_rate", "on_time_rate"):
            return "—" if math.isnan(v) else f"{100 * v:.1f}%"
        if key == "satisfaction":
            return "—" if math.isnan(v) else f"{v:.2f}"
        if key == "score":
            return "—" if math.isnan(v) else f"{v:.1f}"
        return f"{int(v):,}"

    def cell(self, row: int, col: int, role: int) -> Any:
        key = COLUMNS[col][0]
        ranked = bool(self.table["ranked"].iloc[row])
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "change":
                c = float(self.table["rank_change"].iloc[row])
                if c == c and c > 0:
                    return theme.color("green")
                if c == c and c < 0:
                    return theme.color("red")
            if key == "overdue_now" and int(self.table["overdue_now"].iloc[row]) > 0:
                return theme.color("red")
            if not ranked:
                return theme.color("text_dim")
            return None
        if role == Qt.ItemDataRole.FontRole and key in ("rank", "score", "change"):
            f = QFont()
            f.setBold(True)
            return f
        return None

    def tooltip(self, row: int, col: int) -> str:
        return self.cell_tooltip(row, COLUMNS[col][0])

    def header_tooltip(self, section: int) -> str:
        return column_tooltip(COLUMNS[section][1])

    def cell_tooltip(self, row: int, key: str) -> str:
        zh = is_chinese()
        r = self.table.iloc[row]
        if not bool(r["ranked"]):
            n = int(r["received"])
            return (
                f"受理 {n} 件，少于 {self.min_cases} 件：不参与排名（数字照常显示）"
                if zh
                else f"{n} received, fewer than {self.min_cases}: not ranked (numbers still shown)"
            )
        if key == "change":
            prev = float(r["prev_rank"])
            was = "—" if math.isnan(prev) else str(int(prev))
            return (
                f"上期排名 {was}，本期 {int(r['rank'])}"
                if zh
                else f"was {was}, now {int(r['rank'])}"
            )
        if key == "score":
            parts = [
                f"{p}: {100 * float(r[f's_{p}']):.0f}"
                for p in ("closure", "on_time", "satisfaction", "overdue", "repeat", "handling")
                if f"s_{p}" in r and float(r[f"s_{p}"]) == float(r[f"s_{p}"])
            ]
            return (zh_en("分项得分 ", "parts ")) + ", ".join(parts)
        return zh_en("点击查看这些案件", "Click to select these cases")


@register
class RankingPanel(Panel):
    name = "ranking"
    REQUIRES = (Need.RANKING,)
    title_zh = "绩效排名"
    title_en = "Performance ranking"
    icon = "▤"
    description_zh = "谁做得好、谁落后？乡镇、部门、网格、队员的排名与名次变化，点击查看案件"
    description_en = (
        "Who is doing well, who is behind? Townships, departments, grids, officers ranked, "
        "with rank changes; click for the cases"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "level": Setting(
            "choice",
            "township",
            "排名对象",
            "Level",
            choices=LEVELS,
            choice_labels_zh=tuple(LEVEL_LABELS[v][0] for v in LEVELS),
            choice_labels_en=tuple(LEVEL_LABELS[v][1] for v in LEVELS),
        ),
        "window": Setting(
            "choice",
            "7d",
            "统计周期",
            "Window",
            choices=tuple(WINDOWS),
            choice_labels_zh=tuple(w[1] for w in WINDOWS.values()),
            choice_labels_en=tuple(w[2] for w in WINDOWS.values()),
        ),
        "min_cases": Setting(
            "int", 10, "参与排名的最少案件数", "Minimum cases to rank", minimum=1, maximum=1000
        ),
        "bars": Setting("int", 12, "柱状图显示条数", "Bars in the chart", minimum=3, maximum=50),
        "show_chart": Setting("bool", True, "显示柱状图", "Show the bar chart"),
    }
    REFRESH_MS: ClassVar[int] = 30_000  # "now" moves: overdue counts and today's window
    BAR_PX: ClassVar[int] = 20  # minimum logical pixels per bar of the chart (times the scale)
    AXIS_PX: ClassVar[int] = 36  # the score axis under the bars

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        assert ctx.ranking is not None  # REQUIRES: the registry checked it
        self.engine: RankingEngine = ctx.ranking
        self.table = pd.DataFrame()
        self.now = 0.0
        self.job = Job(self._apply_table)
        self.drill_job = Job(self._apply_drill)
        self.last_drill: tuple[str, str, list[str]] = ("", "", [])

        col = QVBoxLayout(self.body)
        col.setContentsMargins(10, 8, 10, 10)
        col.setSpacing(8)
        bar = QHBoxLayout()
        self.level_box = QComboBox(self.body)
        self.window_box = QComboBox(self.body)
        self.csv_button = QPushButton(self.body)
        self.xlsx_button = QPushButton(self.body)
        bar.addWidget(self.level_box)
        bar.addWidget(self.window_box)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.xlsx_button)
        col.addLayout(bar)
        self.note = QLabel(self.body, objectName="sectionNote")
        self.note.setWordWrap(True)
        col.addWidget(self.note)
        self.split = QSplitter(Qt.Orientation.Horizontal, self.body)
        self.model = RankingModel(self)
        self.view = QTableView(self.split)
        self.view.setObjectName("rankingTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)  # names are never elided: they are what a leader reads
        self.chart = pg.PlotWidget(self.split)
        self.split.addWidget(self.view)
        self.split.addWidget(self.chart)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        col.addWidget(self.split, 1)
        self.bars: pg.BarGraphItem | None = None

        for key in LEVELS:
            self.level_box.addItem("", key)
        for key in WINDOWS:
            self.window_box.addItem("", key)
        self.listen(self.level_box.activated, self._on_boxes)
        self.listen(self.window_box.activated, self._on_boxes)
        self.listen(self.csv_button.clicked, self._ask_csv)
        self.listen(self.xlsx_button.clicked, self._ask_xlsx)
        self.listen(self.view.clicked, self._on_click)
        self.listen(relay().done, self._on_job)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.timer(self.REFRESH_MS, self.recompute)
        self.retranslate()
        self.recompute()

    # ---- computation (worker thread) ---------------------------------------------------

    def _query(self) -> tuple[str, Window, int]:
        return (
            str(self.settings["level"]),
            WINDOWS[str(self.settings["window"])][0],
            int(self.settings["min_cases"]),
        )

    def recompute(self) -> None:
        """Ask the worker for a fresh table (what the store changed goes with it)."""
        self.job.request(self._make_job)

    def _make_job(self) -> Any:
        """On the GUI thread: the engine copies the store's changed rows, the worker
        applies them and computes the table."""
        level, window, min_cases = self._query()
        now = float(self.ctx.store.clock.now())
        engine = self.engine
        engine.collect()

        def run() -> tuple[pd.DataFrame, float]:
            return engine.table(level, window, now, min_cases=min_cases), now

        return run

    # ---- live ------------------------------------------------------------------------

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.cases_created or cs.cases_updated:
            self.recompute()

    def _on_job(self, message: tuple[int, Any, BaseException | None]) -> None:
        self.job.on_done(message)
        self.drill_job.on_done(message)

    def _apply_table(self, result: tuple[pd.DataFrame, float]) -> None:
        table, now = result
        if self.torn_down:
            return
        self.table, self.now = table, now
        names = [self.ctx.store.display_name(str(e)) for e in table["entity"]] if len(table) else []
        self.model.set_table(table, names)
        self._draw_chart(names)
        self._write_note()

    # ---- chart -----------------------------------------------------------------------

    def _draw_chart(self, names: list[str]) -> None:
        self.chart.setVisible(bool(self.settings["show_chart"]))
        item = self.chart.getPlotItem()
        item.clear()
        style_plot(self.chart, 12.0)
        t = self.table
        if not len(t):
            return
        shown = t[t["ranked"]].head(int(self.settings["bars"]))
        if not len(shown):
            shown = t.head(int(self.settings["bars"]))
        n = len(shown)
        y = np.arange(n)[::-1].astype(float)  # rank 1 on top
        scores = np.nan_to_num(shown["score"].to_numpy(dtype=float))
        c = theme.colors()
        brushes = [
            pg.mkBrush(c["accent"] if bool(r) else c["grey"]) for r in shown["ranked"].tolist()
        ]
        self.bars = pg.BarGraphItem(x0=0, y=y, height=0.7, width=scores, brushes=brushes, pen=None)
        item.addItem(self.bars)
        labels = [names[i] for i in range(n)]
        item.getAxis("left").setTicks([list(zip(y.tolist(), labels, strict=True))])
        item.getAxis("bottom").setTicks(None)
        for yi, s in zip(y.tolist(), scores.tolist(), strict=True):
            txt = pg.TextItem(f"{s:.1f}", color=c["text_strong"], anchor=(0, 0.5))
            txt.setFont(self.view.font())
            txt.setPos(s + 1, yi)
            item.addItem(txt)
        item.setXRange(0, 110, padding=0)
        item.setYRange(-0.6, n - 0.4, padding=0)
        item.addLine(x=60, pen=pen("border_strong", 1, dashed=True))
        self._fit_chart(n)

    def _fit_chart(self, n: int | None = None) -> None:
        """Never squash the bars: BAR_PX per bar (theme-scaled) plus the axis, so names on
        the left axis do not overlap however the dock is split."""
        if n is not None:
            self._bars_shown = n
        n = getattr(self, "_bars_shown", 0)
        scale = theme.current_scale()
        need = int((n * self.BAR_PX + self.AXIS_PX) * scale) if n else 0
        self.chart.setMinimumHeight(need)

    # ---- texts -----------------------------------------------------------------------

    def _write_note(self) -> None:
        t = self.table
        zh = is_chinese()
        if not len(t):
            self.note.setText(zh_en("本周期内没有受理案件。", "No cases received in this window."))
            return
        a = t.attrs
        start = hall_time.local(float(a["start"])).strftime("%m-%d")
        end = hall_time.local(float(a["end"]) - 1).strftime("%m-%d")
        ranked = int(t["ranked"].sum())
        text = zh_en(
            "{start} 至 {end}：{n} 个对象中 {ranked} 个参与排名（至少 {min} 件）；综合得分 0–100，由结案率、按时率、满意度、超期、重复投诉、处置时长计算",
            "{start} to {end}: {ranked} of {n} ranked (at least {min} cases); score 0-100 from closure, on-time, satisfaction, overdue, repeats, handling time",
        ).format(start=start, end=end, ranked=ranked, n=len(t), min=int(a["min_cases"]))
        if int(a.get("unattributed", 0)):
            text += zh_en(
                "；{n} 件案件无法归属到此层级", "; {n} cases not attributed at this level"
            ).format(n=int(a["unattributed"]))
        self.note.setText(text)
        self.note.setToolTip("\n".join(f"{k}: {v}" for k, v in a.items()) if not zh else "")

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "level_box"):
            return
        zh = is_chinese()
        for i, key in enumerate(LEVELS):
            self.level_box.setItemText(i, LEVEL_LABELS[key][0 if zh else 1])
        for i, w in enumerate(WINDOWS.values()):
            self.window_box.setItemText(i, w[1] if zh else w[2])
        self._sync_boxes()
        self.csv_button.setText(zh_en("导出 CSV", "Export CSV"))
        self.xlsx_button.setText(zh_en("导出 Excel", "Export Excel"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if len(self.table):
            self.model.set_table(
                self.table, [self.ctx.store.display_name(str(e)) for e in self.table["entity"]]
            )
            self._draw_chart(self.model.names)
        self._write_note()

    def _sync_boxes(self) -> None:
        self.level_box.setCurrentIndex(max(0, self.level_box.findData(self.settings["level"])))
        self.window_box.setCurrentIndex(max(0, self.window_box.findData(self.settings["window"])))

    # ---- settings --------------------------------------------------------------------

    def _on_boxes(self, *_: object) -> None:
        self.update_settings(
            {"level": self.level_box.currentData(), "window": self.window_box.currentData()}
        )

    def apply_settings(self) -> None:
        self._sync_boxes()
        self.recompute()

    # ---- drill-down ------------------------------------------------------------------

    def _on_click(self, index: QModelIndex) -> None:
        self.drill_row(index.row(), COLUMNS[index.column()][3])

    def drill_row(self, row: int, metric: str = "received") -> None:
        """Select the cases behind one number of the table (computed on the worker)."""
        entity = self.model.entity_at(row)
        if not entity:
            return
        level = str(self.table.attrs.get("level", self.settings["level"]))
        window = WINDOWS[str(self.settings["window"])][0]
        now = self.now or float(self.ctx.store.clock.now())
        engine = self.engine

        def make() -> Any:
            engine.collect()
            return lambda: (entity, metric, engine.drill(level, entity, window, now, metric))

        self.drill_job.request(make)

    def _apply_drill(self, result: tuple[str, str, list[str]]) -> None:
        self.last_drill = result
        self.ctx.selection.select(result[2], origin=self.selection_origin)

    # ---- export ----------------------------------------------------------------------

    def export_frame(self) -> pd.DataFrame:
        """The table as exported: display names first, then every engine column."""
        t = self.table.copy()
        t.insert(0, "name", [self.ctx.store.display_name(str(e)) for e in t["entity"]])
        return t

    def export_csv(self, path: str | Path) -> None:
        # utf-8 with BOM: Excel on a Chinese Windows opens it with the right encoding
        self.export_frame().to_csv(path, index=False, encoding="utf-8-sig")

    def export_xlsx(self, path: str | Path) -> None:
        t = self.export_frame()
        rows = [[None if v is pd.NA else v for v in row] for row in t.itertuples(index=False)]
        write_xlsx(path, [str(c) for c in t.columns], rows, sheet="ranking")

    def _default_name(self, ext: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M")
        return f"ranking-{self.settings['level']}-{self.settings['window']}-{stamp}.{ext}"

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, zh_en("导出 CSV", "Export CSV"), self._default_name("csv"), "CSV (*.csv)"
        )
        if path:
            self.export_csv(path)

    def _ask_xlsx(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, zh_en("导出 Excel", "Export Excel"), self._default_name("xlsx"), "Excel (*.xlsx)"
        )
        if path:
            self.export_xlsx(path)

    def on_compact_changed(self, compact: bool) -> None:
        # a narrow dock stacks the chart under the table rather than squeezing both
        self.split.setOrientation(Qt.Orientation.Vertical if compact else Qt.Orientation.Horizontal)
        self._fit_chart()

    def on_teardown(self) -> None:
        self.chart.getPlotItem().clear()
