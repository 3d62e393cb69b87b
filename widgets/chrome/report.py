"""One-key briefing export: a PNG of every screen and a PDF report for the leaders.

Why a PDF drawn with QPainter on ``QPdfWriter``: it needs nothing outside Qt (no browser,
no LaTeX on a hall PC), text stays text (searchable, and the masking test can extract it),
and Qt embeds the subset of Noto Sans CJK SC it used, so the file reads the same on a
township's laptop that has no Chinese fonts.

Everything personal goes through ``commandcenter.privacy``: the report is mailed around
and shown on video conferences. The mask learns every reporter name in the store first,
so a name repeated in another case's description is starred too.

Sections: KPIs, red/yellow/blue warning counts, a township league table
(``commandcenter.ranking``, imported lazily; a note when it is absent), cases filed and
closed per hour over the last 24 hours, the most overdue open cases, and typical cases
with their timelines.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)
from PySide6.QtWidgets import QWidget

from commandcenter.domain import STATE_LABELS_ZH, CaseState, SlaLevel
from commandcenter.kpis import definition
from commandcenter.lifecycle import ACTION_LABELS_ZH
from commandcenter.metrics.catalogue import KPI_TILES, PLATFORM_ONLY, UP
from commandcenter.metrics.engine import (
    Figures,
    MetricEngine,
    MetricValue,
    format_number,
    platform_difference,
)
from commandcenter.metrics.explain import footnote
from commandcenter.privacy import Mask
from commandcenter.sla import MILESTONE_LABELS_ZH, Milestone
from commandcenter.store import Store

log = logging.getLogger(__name__)

FONT_FAMILY = "Noto Sans CJK SC"
HALL_TZ = timezone(timedelta(hours=8))  # the county's clock (UTC+8)
DPI = 96  # page coordinates in "screen pixels": A4 landscape is 1123 × 794
LEVEL_HEX = {SlaLevel.RED: "#d4380d", SlaLevel.YELLOW: "#d4a106", SlaLevel.BLUE: "#1677ff"}
LEVEL_ZH = {SlaLevel.RED: "红色预警", SlaLevel.YELLOW: "黄色预警", SlaLevel.BLUE: "蓝色预警"}


@dataclass(slots=True)
class ReportOptions:
    title: str = "县域社会治理指挥中心 · 领导汇报"
    top_overdue: int = 10
    typical: int = 3
    typical_ids: Sequence[str] = ()  # chosen by the operator; else picked by rule
    hours: int = 24
    mask: Mask = field(default_factory=Mask)


def _fmt_time(ts: float, with_date: bool = False) -> str:
    if not ts:
        return "—"
    dt = datetime.fromtimestamp(ts, HALL_TZ)
    return dt.strftime("%m-%d %H:%M" if with_date else "%H:%M")


def _fmt_duration(seconds: float) -> str:
    s = abs(seconds)
    if s >= 86400:
        return f"{s / 86400:.1f} 天"
    if s >= 3600:
        return f"{s / 3600:.1f} 小时"
    return f"{max(1, round(s / 60))} 分钟"


def _action_label(action: str) -> str:
    if action == "discover":
        return "发现"
    return next((zh for a, zh in ACTION_LABELS_ZH.items() if a.value == action), action)


def _masked_timeline(store: Store, rec: Any, mask: Mask) -> list[Any]:
    """Timeline steps with unit and department codes resolved to names *before* masking:
    a unit's name may be a person's (a grid worker who reported the case)."""
    names = (rec.reporter_name,) if getattr(rec, "reporter_name", "") else ()
    return [
        mask.timeline_entry(
            SimpleNamespace(
                ts=e.ts,
                action=e.action,
                actor=store.display_name(e.actor),
                state=e.state,
                note=store.display_name(e.note),
            ),
            names,
        )
        for e in (getattr(rec, "timeline", None) or [])
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:60] or "screen"


# ---- data ----------------------------------------------------------------------------------


def overdue_cases(store: Store, n: int, now: float | None = None) -> list[tuple[Any, int, float]]:
    """The ``n`` most overdue open cases: (record, milestone, seconds overdue)."""
    milestone, remaining, _ = store.sla_arrays(now)
    rows = np.flatnonzero((milestone > 0) & (remaining < 0))
    rows = rows[np.argsort(remaining[rows], kind="stable")][:n]
    return [(store.record_at(int(r)), int(milestone[r]), float(-remaining[r])) for r in rows]


def typical_cases(store: Store, n: int, ids: Sequence[str] = ()) -> list[Any]:
    """The operator's choice, else by rule: supervised (督办) first, then urgent, then the
    longest history — the cases a leader is asked about."""
    if ids:
        return [c for c in (store.case(i) for i in ids) if c is not None][:n]
    records = [store.record_at(r) for r in range(len(store))]
    records.sort(
        key=lambda c: (
            -int(getattr(c, "supervised", 0) or 0),
            0 if getattr(c, "urgency", "") == "urgent" else 1,
            -len(getattr(c, "timeline", []) or []),
            getattr(c, "id", ""),
        )
    )
    return records[:n]


def hourly_counts(
    store: Store, hours: int, now: float | None = None
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """(hour starts, filed per hour, closed per hour) over the last ``hours`` hours."""
    now = store.clock.now() if now is None else now
    end = (now // 3600 + 1) * 3600
    edges = np.arange(end - hours * 3600, end + 1, 3600, dtype=np.float64)
    df = store.to_frame()
    filed = np.histogram(df["created_ts"].to_numpy(), bins=edges)[0] if len(df) else np.zeros(hours)
    closed_ts = df["closed_ts"].to_numpy() if len(df) else np.zeros(0)
    closed = np.histogram(closed_ts[closed_ts > 0], bins=edges)[0] if len(df) else np.zeros(hours)
    return list(edges[:-1]), filed, closed


LEAGUE_COLUMNS = (
    ("rank", "名次"),
    ("entity", "乡镇"),
    ("received", "受理"),
    ("closed", "结案"),
    ("closure_rate", "结案率"),
    ("on_time_rate", "按时率"),
    ("overdue_now", "当前超时"),
    ("satisfaction", "满意度"),
    ("score", "综合得分"),
    ("rank_change", "名次变化"),
)


def league_table(store: Store, now: float) -> tuple[list[str], list[list[str]]] | None:
    """Township league table for the last 7 days from ``commandcenter.ranking`` (imported
    lazily: the report still works, with a note, where that module is absent)."""
    try:
        ranking = importlib.import_module("commandcenter.ranking")
        table = ranking.LeagueTable.compute(
            store.to_frame(), "township", ranking.Window.last_days(7), now, store.policy
        )
    except Exception:  # absent, or an API this version does not know
        log.exception("league table unavailable")
        return None
    header = [zh for _, zh in LEAGUE_COLUMNS]
    rows = []
    for rec in table.head(15).to_dict("records"):
        row = []
        for key, _ in LEAGUE_COLUMNS:
            v = rec.get(key)
            if key == "entity":
                row.append(store.display_name(str(v)))
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                row.append("—")
            elif key.endswith("_rate"):
                row.append(f"{100 * float(v):.1f}%")
            elif key == "rank_change":
                row.append(f"{float(v):+.0f}" if v else "0")
            elif key in ("rank", "received", "closed", "overdue_now"):
                row.append(f"{float(v):.0f}")
            else:
                row.append(f"{float(v):.1f}")
        rows.append(row)
    return header, rows


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


# ---- drawing -----------------------------------------------------------------------------------


class _Pages:
    """A y-cursor over A4 landscape pages with a header and footer on each."""

    def __init__(self, writer: QPdfWriter, title: str, stamp: str) -> None:
        self.writer = writer
        self.p = QPainter(writer)
        self.title = title
        self.stamp = stamp
        self.page_no = 1
        r = writer.pageLayout().paintRectPixels(DPI)
        self.w = float(r.width())
        self.h = float(r.height())
        self.y = 0.0
        self._start_page()

    def font(self, pt: float, bold: bool = False) -> QFont:
        f = QFont(FONT_FAMILY)
        f.setPointSizeF(pt)
        f.setBold(bold)
        self.p.setFont(f)
        return f

    def _start_page(self) -> None:
        p = self.p
        self.font(9)
        p.setPen(QColor("#666666"))
        p.drawText(QRectF(0, 0, self.w, 16), Qt.AlignmentFlag.AlignLeft, self.title)
        p.drawText(QRectF(0, 0, self.w, 16), Qt.AlignmentFlag.AlignRight, self.stamp)
        p.drawText(
            QRectF(0, self.h - 16, self.w, 16),
            Qt.AlignmentFlag.AlignCenter,
            f"第 {self.page_no} 页 · 个人信息已脱敏",
        )
        p.setPen(QPen(QColor("#cccccc"), 1))
        p.drawLine(QPointF(0, 20), QPointF(self.w, 20))
        self.y = 30.0

    def need(self, height: float) -> None:
        if self.y + height > self.h - 24:
            self.writer.newPage()
            self.page_no += 1
            self._start_page()

    def heading(self, text: str) -> None:
        self.need(110)  # a heading never stands alone at the foot of a page
        self.font(15, bold=True)
        self.p.setPen(QColor("#1d3b63"))
        self.p.drawText(QRectF(0, self.y, self.w, 26), Qt.AlignmentFlag.AlignVCenter, text)
        self.y += 30

    def para(self, text: str, pt: float = 10.5, color: str = "#222222") -> None:
        f = self.font(pt)
        fm = QFontMetricsF(f, self.writer)
        rect = fm.boundingRect(QRectF(0, 0, self.w, 10_000), int(Qt.TextFlag.TextWordWrap), text)
        h = rect.height() + 4
        self.need(h)
        self.p.setPen(QColor(color))
        self.p.drawText(QRectF(0, self.y, self.w, h), int(Qt.TextFlag.TextWordWrap), text)
        self.y += h + 4

    def table(
        self, header: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[float]
    ) -> None:
        total = sum(widths)
        xs = [0.0]
        for wd in widths:
            xs.append(xs[-1] + self.w * wd / total)
        row_h = 22.0

        def draw_row(cells: Sequence[str], bold: bool, shade: bool) -> None:
            self.need(row_h)
            if shade:
                self.p.fillRect(
                    QRectF(0, self.y, self.w, row_h), QColor("#eef3fa" if bold else "#f7f7f7")
                )
            f = self.font(10 if bold else 9.5, bold=bold)
            fm = QFontMetricsF(f)
            self.p.setPen(QColor("#111111"))
            for i, cell in enumerate(cells):
                cw = xs[i + 1] - xs[i] - 8
                text = fm.elidedText(str(cell), Qt.TextElideMode.ElideRight, cw)
                self.p.drawText(
                    QRectF(xs[i] + 4, self.y, cw, row_h),
                    int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                    text,
                )
            self.y += row_h

        self.need(row_h * 3)  # never a header alone at the foot of a page
        draw_row(header, True, True)
        for i, row in enumerate(rows):
            if self.y + row_h > self.h - 24:
                self.need(row_h * 2)
                draw_row(header, True, True)
            draw_row(row, False, i % 2 == 1)
        self.y += 8

    def finish(self) -> None:
        self.p.end()


# The SLA boxes: (catalogue metric, label, colour); the same metrics as the warning tiles.
SLA_BOXES: tuple[tuple[str, str, str], ...] = (
    ("sla_red", "红色预警", LEVEL_HEX[SlaLevel.RED]),
    ("sla_yellow", "黄色预警", LEVEL_HEX[SlaLevel.YELLOW]),
    ("sla_blue", "蓝色预警", LEVEL_HEX[SlaLevel.BLUE]),
    ("overdue_now", "已超时", "#820014"),
    ("open_cases", "在办事件", "#333333"),
)


def _kpi_cards(pages: _Pages, store: Store, fig: Figures) -> tuple[list[MetricValue], list[Any]]:
    """The KPI tiles, as on the hall's screens: the catalogue's (our figure, the
    platform's beneath it where the feed reports one, marked when they disagree, the
    target), then every figure only the platform reports, labelled as the platform's.
    Returns what it printed (ours, the platform's), for the footnotes."""
    shown = [fig.value(name) for name in KPI_TILES]
    theirs = [k for name, k in store.kpis.items() if name not in KPI_TILES]
    cards: list[tuple[str, str, bool | None, list[str]]] = []
    for mv in shown:
        m = mv.metric
        platform = store.kpis.get(m.name)
        lines = []
        if platform is not None:
            value = float(getattr(platform, "value", 0.0))
            mark = " ≠" if platform_difference(mv, value) is not None else ""
            lines.append(f"平台 {format_number(value, m.unit)}{mark}")
        if m.target is not None and m.direction is not None:
            sign = "≥" if m.direction == UP else "≤"
            lines.append(f"目标 {sign} {format_number(m.target, m.unit)}")
        cards.append((m.label_zh, mv.text(), mv.meets, lines))
    for kpi in theirs:
        value, target, unit = float(kpi.value), float(kpi.target), str(kpi.unit)
        lines = ["平台报送"]
        if target:
            lines.append(f"目标 ≥ {format_number(target, unit)}")
        meets = value >= target if target else None
        text = format_number(value, unit) + ("" if unit in ("%", "") else f" {unit}")
        cards.append((str(kpi.label or kpi.name), text, meets, lines))
    cols = 4
    gap = 10.0
    cw = (pages.w - gap * (cols - 1)) / cols
    ch = 78.0
    for i, (label, text, met, lines) in enumerate(cards):
        if i % cols == 0:
            pages.need(ch + gap)
            if i:
                pages.y += ch + gap
        r = QRectF((i % cols) * (cw + gap), pages.y, cw, ch)
        pages.p.fillRect(r, QColor("#f2f5fa"))
        pages.font(9.5)
        pages.p.setPen(QColor("#555555"))
        pages.p.drawText(r.adjusted(8, 4, -8, 0), int(Qt.AlignmentFlag.AlignTop), label)
        pages.font(20, bold=True)
        pages.p.setPen(QColor("#111111" if met is None else "#237804" if met else "#a8071a"))
        pages.p.drawText(r.adjusted(8, 16, -8, -22), int(Qt.AlignmentFlag.AlignVCenter), text)
        if lines:
            pages.font(8.5)
            pages.p.setPen(QColor("#777777"))
            pages.p.drawText(
                r.adjusted(8, 0, -8, -4), int(Qt.AlignmentFlag.AlignBottom), " · ".join(lines)
            )
    pages.y += ch + 14
    return shown, theirs


def platform_footnote(kpi: Any) -> str:
    """How a figure only the platform reports is made: its definition, and that no case
    of ours stands behind it (so it has no n and no click-through)."""
    name = str(kpi.name)
    only = PLATFORM_ONLY.get(name)
    how = only[0] if only else definition(name, True) or "定义由平台给出。"
    value = format_number(float(kpi.value), str(kpi.unit))
    return f"{kpi.label or name} {value}：平台报送，本系统没有对应案件；{how}"


def _sla_boxes(pages: _Pages, fig: Figures) -> list[MetricValue]:
    shown = []
    bw = (pages.w - 4 * 10) / 5
    pages.need(60)
    for i, (name, label, hexc) in enumerate(SLA_BOXES):
        mv = fig.value(name)
        shown.append(mv)
        r = QRectF(i * (bw + 10), pages.y, bw, 54)
        pages.p.fillRect(r, QColor(hexc))
        pages.font(10, bold=True)
        pages.p.setPen(QColor("#ffffff"))
        pages.p.drawText(
            r.adjusted(10, 4, -10, -4),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            label,
        )
        pages.font(22, bold=True)
        pages.p.drawText(
            r.adjusted(10, 0, -10, 0),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            mv.text(),
        )
    pages.y += 66
    return shown


def _footnotes(pages: _Pages, values: Sequence[MetricValue], theirs: Sequence[Any] = ()) -> None:
    """Every number above says how it is computed (the catalogue's footnote: definition,
    window, n, as-of), once per metric; the platform's figures say whose they are."""
    seen: set[str] = set()
    for mv in values:
        if mv.name in seen:
            continue
        seen.add(mv.name)
        pages.para("注：" + footnote(mv, True), 8.5, "#666666")
    for kpi in theirs:
        pages.para("注：" + platform_footnote(kpi), 8.5, "#666666")


def _trend_chart(pages: _Pages, store: Store, hours: int, now: float) -> None:
    starts, filed, closed = hourly_counts(store, hours, now)
    h = 190.0
    pages.need(h + 30)
    p = pages.p
    left, top, w = 40.0, pages.y, pages.w - 50
    plot = QRectF(left, top + 18, w, h - 42)
    p.setPen(QPen(QColor("#bbbbbb"), 1))
    p.drawRect(plot)
    peak = max(1, int(max(filed.max(initial=0), closed.max(initial=0))))
    pages.font(8)
    p.setPen(QColor("#666666"))
    for frac in (0.0, 0.5, 1.0):
        yy = plot.bottom() - frac * plot.height()
        p.drawText(
            QRectF(0, yy - 8, left - 4, 16),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            f"{peak * frac:.0f}",
        )
    n = len(starts)
    bw = plot.width() / max(1, n)
    for i in range(n):
        fh = plot.height() * filed[i] / peak
        p.fillRect(
            QRectF(plot.left() + i * bw + 2, plot.bottom() - fh, bw * 0.45, fh), QColor("#1677ff")
        )
        chh = plot.height() * closed[i] / peak
        p.fillRect(
            QRectF(plot.left() + i * bw + 2 + bw * 0.45, plot.bottom() - chh, bw * 0.45, chh),
            QColor("#52c41a"),
        )
        if i % 3 == 0:
            p.setPen(QColor("#666666"))
            p.drawText(
                QRectF(plot.left() + i * bw - 10, plot.bottom() + 2, 40, 14),
                int(Qt.AlignmentFlag.AlignLeft),
                _fmt_time(starts[i]),
            )
    pages.font(9)
    p.setPen(QColor("#1677ff"))
    p.drawText(QRectF(left, top - 2, 200, 14), int(Qt.AlignmentFlag.AlignLeft), "■ 每小时新立案")
    p.setPen(QColor("#389e0d"))
    p.drawText(
        QRectF(left + 130, top - 2, 200, 14), int(Qt.AlignmentFlag.AlignLeft), "■ 每小时结案"
    )
    pages.y += h + 6


def export_pdf(
    store: Store,
    path: str | Path,
    options: ReportOptions | None = None,
    now: float | None = None,
    *,
    metrics: MetricEngine,
) -> Path:
    """Write the briefing report; returns its path. Every reporter detail is masked with
    ``options.mask`` (on by default), after it has learned every reporter name in the store.
    ``metrics``: the hall's one catalogue engine, so the paper says what the screens say."""
    opts = options or ReportOptions()
    now = store.clock.now() if now is None else now
    mask = opts.mask
    if mask.enabled:
        mask.learn_from_cases(store.record_at(r) for r in range(len(store)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setTitle(opts.title)
    writer.setCreator("commandcenter")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,
            QMarginsF(12, 12, 12, 12),
            QPageLayout.Unit.Millimeter,
        )
    )
    stamp = "截至 " + datetime.fromtimestamp(now, HALL_TZ).strftime("%Y-%m-%d %H:%M")
    pages = _Pages(writer, opts.title, stamp)
    try:
        pages.font(22, bold=True)
        pages.p.setPen(QColor("#111111"))
        pages.p.drawText(
            QRectF(0, pages.y, pages.w, 40), int(Qt.AlignmentFlag.AlignVCenter), opts.title
        )
        pages.y += 46
        pages.para(
            f"{stamp}（北京时间）。报告中报告人姓名、电话、详细地址均已脱敏。", 10, "#555555"
        )

        fig = metrics.figures(now)  # the catalogue, as on screen
        pages.heading("一、核心指标")
        kpis, theirs = _kpi_cards(pages, store, fig)
        pages.heading("二、时限预警（红黄蓝）")
        boxes = _sla_boxes(pages, fig)
        _footnotes(pages, [*kpis, *boxes], theirs)
        pages.heading(f"三、近 {opts.hours} 小时立案与结案趋势")
        _trend_chart(pages, store, opts.hours, now)

        pages.heading("四、乡镇排名（近 7 天）")
        league = league_table(store, now)
        if league is None:
            pages.para("（排名模块尚未提供，本节暂缺。）", color="#888888")
        else:
            header, rows = league
            pages.table(header, [[mask.text(c) for c in row] for row in rows], [1] * len(header))

        pages.heading(f"五、超时最久的 {opts.top_overdue} 件在办事件")
        rows = []
        for rec, milestone, late in overdue_cases(store, opts.top_overdue, now):
            m = mask.case(rec)
            rows.append(
                [
                    rec.id,
                    m.title or rec.category,
                    store.display_name(rec.township),
                    STATE_LABELS_ZH.get(CaseState(rec.state), str(rec.state)),
                    MILESTONE_LABELS_ZH.get(Milestone(milestone), ""),
                    "超 " + _fmt_duration(late),
                    m.address,
                    f"{m.reporter_name} {m.reporter_phone}".strip(),
                ]
            )
        if rows:
            pages.table(
                ["编号", "事件", "乡镇", "状态", "超时环节", "超时", "地址", "报告人"],
                rows,
                [1.1, 2.0, 1.0, 0.8, 0.9, 0.9, 1.8, 1.4],
            )
        else:
            pages.para("当前没有超时事件。")

        pages.heading("六、典型案例")
        for rec in typical_cases(store, opts.typical, opts.typical_ids):
            m = mask.case(rec)
            pages.need(120)
            pages.font(12, bold=True)
            pages.p.setPen(QColor("#111111"))
            head = f"{rec.id}  {m.title or rec.category}"
            pages.p.drawText(
                QRectF(0, pages.y, pages.w, 22), int(Qt.AlignmentFlag.AlignVCenter), head
            )
            pages.y += 24
            reporter = f"{m.reporter_name} {m.reporter_phone}".strip() or "—"
            pages.para(
                f"类别：{rec.category}　乡镇：{store.display_name(rec.township)}　"
                f"状态：{STATE_LABELS_ZH.get(CaseState(rec.state), str(rec.state))}　"
                f"督办：{getattr(rec, 'supervised', 0)} 次　地址：{m.address or '—'}　报告人：{reporter}",
                10,
                "#444444",
            )
            if m.description:
                pages.para(m.description, 10.5)
            pages.table(
                ["时间", "环节", "办理人", "状态", "说明"],
                [
                    [
                        _fmt_time(e.ts, with_date=True),
                        _action_label(e.action),
                        e.actor,
                        STATE_LABELS_ZH.get(CaseState(e.state), str(e.state)),
                        e.note,
                    ]
                    for e in _masked_timeline(store, rec, mask)
                ],
                [1.0, 0.8, 1.4, 0.9, 3.2],
            )
    finally:
        pages.finish()
    return path


def export_screens(windows: Iterable[QWidget], folder: str | Path) -> list[Path]:
    """A PNG of each top-level window as it is on screen now (masked briefing screens are
    masked in the picture too: this grabs what the wall shows)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for i, w in enumerate(windows, 1):
        if not w.isVisible():
            continue
        path = folder / f"{i:02d}-{_slug(w.windowTitle() or w.objectName())}.png"
        if w.grab().save(str(path), "PNG"):
            out.append(path)
        else:
            log.warning("could not save screen %s", path)
    return out


def export_briefing(
    store: Store,
    windows: Iterable[QWidget],
    folder: str | Path,
    options: ReportOptions | None = None,
    *,
    metrics: MetricEngine,
) -> tuple[list[Path], Path]:
    """The one key: every screen as PNG plus the PDF report, in a time-stamped folder
    under ``folder``. Returns (PNG paths, PDF path)."""
    now = store.clock.now()
    sub = Path(folder) / (
        "briefing-" + datetime.fromtimestamp(now, HALL_TZ).strftime("%Y%m%d-%H%M%S")
    )
    shots = export_screens(windows, sub)
    pdf = export_pdf(store, sub / "briefing-report.pdf", options, now, metrics=metrics)
    return shots, pdf


__all__ = [
    "ReportOptions",
    "export_briefing",
    "export_pdf",
    "export_screens",
    "hourly_counts",
    "overdue_cases",
    "typical_cases",
]
