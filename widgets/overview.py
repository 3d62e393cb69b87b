"""The first panel: "what needs me now?" at a glance from the back of the hall.

Three questions, top to bottom:
1. Can I trust what I see? The status strip: link state, data age, counters, feed clock.
2. How much is burning? Big red / yellow / blue tiles (红黄蓝三色预警), overdue and open.
3. What just came in? The newest cases, each with its warning colour and countdown.

Everything is pulled from the store on the bridge's frame-paced ``changed`` signal and on
its 1 Hz ``tick`` (warning levels and countdowns move with time, not only with events).
The panel owns no timers and no subscriptions of its own: the bridge does, so closing the
bridge is the whole teardown.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import (
    QEvent,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QMouseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from commandcenter.domain import (
    OPEN_STATES,
    CaseState,
    SlaLevel,
    Source,
    Urgency,
)
from commandcenter.hall_time import local
from commandcenter.metrics.engine import MetricEngine, MetricValue
from commandcenter.metrics.explain import explain
from commandcenter.privacy import Mask
from commandcenter.sla import Milestone, SlaStatus, format_remaining
from commandcenter.status import FeedStatus
from commandcenter.store import ChangeSet, Store
from widgets import theme
from widgets.fitlabel import FitLabel
from widgets.i18n import is_chinese, zh_en
from widgets.labels import error_label, link_label, source_label, state_label
from widgets.live import LiveBridge
from widgets.plaintext import plain_tooltip
from widgets.table_model import CENTER, LEFT, Column, TableModel

NEWEST_LIMIT = 200
STALE_AFTER_S = 10.0  # data older than this is shown in amber even if the link says live
COMPACT_WIDTH = 1600  # below this the tiles and the table use smaller type (1280x800 console)


def _repolish(w: QWidget) -> None:
    """Re-apply the sheet after a dynamic property used by a selector changed."""
    w.style().unpolish(w)
    w.style().polish(w)


def _set_prop(w: QWidget, name: str, value: Any) -> None:
    if w.property(name) != value:
        w.setProperty(name, value)
        _repolish(w)


def _hms(ts: float) -> str:
    return local(ts).strftime("%H:%M:%S")


# ---- status strip ------------------------------------------------------------------------


class StatusStrip(QFrame):
    """Link state, data age, counters and the feed clock: can I trust this screen?"""

    def __init__(self, store: Store, status: FeedStatus, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusStrip")
        self._store = store
        self._status = status
        self.badge = QLabel(objectName="linkBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.age = QLabel(objectName="dataAge")
        self.received = QLabel(objectName="received")
        self.quarantined = QLabel(objectName="quarantined")
        self.last_error = QLabel(objectName="lastError")
        self.last_error.setTextFormat(Qt.TextFormat.PlainText)  # a server's words, never markup
        self.last_error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.clock = QLabel(objectName="clock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 14, 6)
        row.setSpacing(18)
        row.addWidget(self.badge)
        row.addWidget(self.age)
        row.addWidget(self._sep())
        row.addWidget(self.received)
        row.addWidget(self.quarantined)
        row.addWidget(self._sep())
        row.addWidget(self.last_error, 1)
        row.addWidget(self.clock)
        self.retranslate()

    @staticmethod
    def _sep() -> QLabel:
        sep = QLabel("|")
        sep.setProperty("class", "stripSep")
        return sep

    def retranslate(self) -> None:
        self.update_status()
        self.update_time()

    def update_status(self, *_: object) -> None:
        """Badge, counters and their tooltips; called when the feed status changes."""
        st = self._status
        _set_prop(self.badge, "state", st.state.value)
        self.badge.setText(link_label(st.state))
        tip = zh_en("数据链路：{state}（自 {time} 起）", "Feed link: {state} since {time}").format(
            state=link_label(st.state), time=_hms(st.since)
        )
        tip += "\n" + zh_en(
            "重连 {reconnects} 次，重新同步 {resyncs} 次",
            "Reconnects: {reconnects}, resyncs: {resyncs}",
        ).format(reconnects=st.reconnects, resyncs=st.resyncs)
        self.badge.setToolTip(tip)
        self.received.setText(zh_en("接收 {n}", "received {n}").format(n=f"{st.received:,}"))
        self.received.setToolTip(
            zh_en(
                "已接收事件 {received}，已应用 {applied}，重复 {duplicates}",
                "Events received {received}, applied {applied}, duplicates {duplicates}",
            ).format(
                received=f"{st.received:,}",
                applied=f"{st.applied:,}",
                duplicates=f"{st.duplicates:,}",
            )
        )
        bad = st.quarantined_total
        _set_prop(self.quarantined, "alert", bad > 0)
        self.quarantined.setText(zh_en("隔离 {n}", "quarantined {n}").format(n=f"{bad:,}"))
        self.quarantined.setToolTip(self.problems_text())
        err = st.last_error
        self.last_error.setText(error_label(err))  # the cause in words; its detail beneath
        self.last_error.setToolTip(plain_tooltip(err) if err else "")

    def problems_text(self) -> str:
        """Reasons and counts behind the quarantine counter, for its tooltip."""
        st = self._status
        lines: list[str] = []
        for title, counter in (
            (
                zh_en(
                    "已隔离（格式错误）的事件，按原因：",
                    "Quarantined (malformed) events by reason:",
                ),
                st.quarantined,
            ),
            (zh_en("未知事件类型（已跳过）：", "Unknown event kinds (skipped):"), st.unknown_kinds),
            (zh_en("连接错误，按原因：", "Connection errors by cause:"), st.errors),
        ):
            if counter:
                lines.append(title)
                lines.extend(f"  {reason}: {n:,}" for reason, n in counter.most_common())
        if st.last_error:
            lines.append(
                zh_en("最近错误：{error}", "Last error: {error}").format(error=st.last_error)
            )
        return "\n".join(lines) if lines else zh_en("无异常记录。", "No problems recorded.")

    def age_text(self, age: float | None) -> str:
        if age is None:
            return zh_en("尚无数据", "no data yet")
        age = max(0.0, age)
        if age < 120:
            return zh_en("数据 {age} 秒前", "data {age} s old").format(age=int(age))
        if age < 7200:
            return zh_en("数据 {age} 分钟前", "data {age} min old").format(age=int(age // 60))
        return zh_en("数据 {age} 小时前", "data {age} h old").format(age=int(age // 3600))

    def update_time(self) -> None:
        """Data age and clock: called every second by the bridge's tick."""
        age = self._status.data_age()
        self.age.setText(self.age_text(age))
        self.age.setToolTip(
            zh_en(
                "距服务器上次确认在线（事件或心跳）的时间",
                "Time since the server last proved alive (event or heartbeat)",
            )
        )
        _set_prop(self.age, "stale", age is None or age > STALE_AFTER_S)
        now = self._store.clock.now()
        self.clock.setText(_hms(now))
        self.clock.setToolTip(
            zh_en(
                "数据源时钟 {date}（服务器时间；演示县可能快于实际时间运行）",
                "Feed clock {date} (the server's time; the demo county may run faster)",
            ).format(date=local(now).strftime("%Y-%m-%d %H:%M:%S"))
        )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


# ---- SLA tiles ---------------------------------------------------------------------------


class SlaTile(QFrame):
    """One big number with a title and a one-line caption; the tooltip says how it is counted
    (the catalogue's explanation), a click selects the cases it counts."""

    clicked = Signal()

    def __init__(self, level: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setObjectName("slaTile")
        self.setProperty("level", level)
        self.level = level
        self.title = QLabel(objectName="tileTitle")
        self.number = FitLabel("0", objectName="tileNumber")
        self.caption = QLabel(objectName="tileCaption")
        self.caption.setWordWrap(True)
        for lab in (self.title, self.number, self.caption):
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        col = QVBoxLayout(self)
        col.setContentsMargins(18, 10, 18, 12)
        col.setSpacing(0)
        col.addWidget(self.title)
        col.addWidget(self.number, 1)
        col.addWidget(self.caption)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_value(self, n: int) -> None:
        self.number.setText(f"{n:,}")
        _set_prop(self.number, "alert", n > 0)

    def value(self) -> int:
        return int(self.number.text().replace(",", ""))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def set_texts(self, title: str, caption: str, tooltip: str) -> None:
        self.title.setText(title)
        self.caption.setText(caption)
        if not self.toolTip():  # the catalogue's explanation replaces it on refresh
            self.setToolTip(tooltip)


# Which catalogue metric each tile shows (commandcenter.metrics.catalogue).
SLA_TILE_METRICS: dict[str, str] = {
    "red": "sla_red",
    "yellow": "sla_yellow",
    "blue": "sla_blue",
    "overdue": "overdue_now",
    "open": "open_cases",
}


class SlaTiles(QWidget):
    """Red, yellow, blue, overdue and open counts from the metric catalogue, every tick.

    ``picked`` carries the ids of the cases behind a clicked tile (as many as its number);
    the panel hands them to the shared selection."""

    picked = Signal(list)

    def __init__(
        self,
        store: Store,
        parent: QWidget | None = None,
        *,
        metrics: MetricEngine,
    ) -> None:
        super().__init__(parent)
        self._store = store
        # The context's one catalogue engine (the panels' REQUIRES): never one of its own.
        self.metrics = metrics
        self.values: dict[str, MetricValue] = {}
        self.red = SlaTile("red")
        self.yellow = SlaTile("yellow")
        self.blue = SlaTile("blue")
        self.overdue = SlaTile("overdue")
        self.open = SlaTile("open")
        for tile in (self.red, self.yellow, self.blue, self.overdue, self.open):
            tile.clicked.connect(lambda t=tile: self.pick(t.level))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        for tile, stretch in (
            (self.red, 3),
            (self.yellow, 3),
            (self.blue, 3),
            (self.overdue, 2),
            (self.open, 2),
        ):
            row.addWidget(tile, stretch)
        self.retranslate()
        self.refresh()

    def tiles(self) -> list[SlaTile]:
        return [self.red, self.yellow, self.blue, self.overdue, self.open]

    def set_captions_visible(self, visible: bool) -> None:
        """Captions explain the colours at a console; a wall seen from afar may drop them."""
        for tile in self.tiles():
            tile.caption.setVisible(visible)
        self._equalise_captions()

    def _equalise_captions(self) -> None:
        """Give every caption the height of the tallest (one wraps to three lines in a
        narrow tile, another fits on one): the big numbers then stand on one line across
        the row instead of jumping up and down with their captions."""
        tiles = [t for t in self.tiles() if not t.caption.isHidden()]
        if not tiles:
            return

        def caption_width(t: SlaTile) -> int:
            # From the tile, which this widget's layout has already sized: the caption
            # itself is laid out later, by the tile's own layout.
            m = t.layout().contentsMargins()
            return max(1, t.width() - m.left() - m.right())

        tallest = max(t.caption.heightForWidth(caption_width(t)) for t in tiles)
        for t in tiles:
            if t.caption.minimumHeight() != tallest:
                t.caption.setMinimumHeight(tallest)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._equalise_captions()

    def refresh(self, *_: object) -> None:
        """Recount from the catalogue; one pass over the store for all five (the engine
        shares the SLA evaluation between them)."""
        fig = self.metrics.figures()
        zh = is_chinese()
        for tile in self.tiles():
            mv = fig.value(SLA_TILE_METRICS[tile.level])
            self.values[tile.level] = mv
            tile.set_value(int(mv.value or 0))
            tile.setToolTip(explain(mv, zh))

    def pick(self, level: str) -> None:
        """Announce the cases behind one tile (exactly as many as it shows)."""
        mv = self.values.get(level)
        if mv is not None:
            self.picked.emit(self.metrics.case_ids(mv))

    def retranslate(self) -> None:
        p = self._store.policy
        lo, hi = round(p.yellow_at * 100), round(p.red_at * 100)
        self.red.set_texts(
            zh_en("红色预警", "Red warning"),
            zh_en("已用时限 ≥ {hi}%", "≥ {hi}% of time limit used").format(hi=hi),
            zh_en(
                "已用时限达到 {hi}% 及以上或已超时的在办案件。",
                "Open cases that have used at least {hi}% of their time limit, or are overdue.",
            ).format(hi=hi),
        )
        self.yellow.set_texts(
            zh_en("黄色预警", "Yellow warning"),
            zh_en("已用时限 {lo}%–{hi}%", "{lo}–{hi}% of time limit used").format(lo=lo, hi=hi),
            zh_en(
                "已用时限达到 {lo}% 但不足 {hi}% 的在办案件。",
                "Open cases that have used at least {lo}% but less than {hi}% of their time limit.",
            ).format(lo=lo, hi=hi),
        )
        self.blue.set_texts(
            zh_en("蓝色预警", "Blue warning"),
            zh_en("已用时限 < {lo}%", "< {lo}% of time limit used").format(lo=lo),
            zh_en(
                "已用时限不足 {lo}% 的在办案件。",
                "Open cases that have used less than {lo}% of their time limit.",
            ).format(lo=lo),
        )
        self.overdue.set_texts(
            zh_en("已超时", "Overdue"),
            zh_en("已超过当前环节时限", "past the deadline"),
            zh_en(
                "已超过当前环节（签收派遣、到场或处置反馈）时限的在办案件。超时案件同时计入红色预警。",
                "Open cases past the deadline of their current step: sign and assign, arrive on site, or handle and report back. Overdue cases are also counted as red.",
            ),
        )
        self.open.set_texts(
            zh_en("在办案件", "Open cases"),
            zh_en("尚未办结，时限计时中", "still the hall's business"),
            zh_en(
                "处于发现、待签收、已签收、已派遣、已退回或处置中的案件，即所有仍在计算时限的案件。",
                "Cases discovered, reported, signed, dispatched, returned or being handled: every case a time limit runs for.",
            ),
        )
        self._equalise_captions()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            self.refresh()
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._equalise_captions()
        super().changeEvent(event)


# ---- newest cases ------------------------------------------------------------------------


class NewestCasesModel(TableModel):
    """The newest cases of the store, one row each, with a live warning level and countdown.

    A plain model (no widget per row) so that 200 rows refresh in well under a frame.
    ``refresh()`` re-reads the list on a change set; ``tick()`` re-evaluates the limits and
    announces only the countdown column (plus whole rows whose colour changed).
    """

    URGENT, ID, FILED, CATEGORY, SOURCE, TOWNSHIP, STATE, SLA, ASSIGNEE = range(9)
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("急", "Urgent", CENTER, align_header=True),
        Column("案件编号", "Case ID", LEFT, align_header=True),
        Column("上报时间", "Filed", CENTER, align_header=True),
        Column("类别", "Category", LEFT, align_header=True),
        Column("来源", "Source", LEFT, align_header=True),
        Column("乡镇", "Township", LEFT, align_header=True),
        Column("状态", "State", LEFT, align_header=True),
        Column("剩余时限", "Time left", CENTER, align_header=True),
        Column("承办单位", "Assignee", LEFT, align_header=True),
    )
    CaseIdRole = Qt.ItemDataRole.UserRole + 1
    LevelRole = Qt.ItemDataRole.UserRole + 2

    def __init__(
        self,
        store: Store,
        limit: int = NEWEST_LIMIT,
        parent: QObject | None = None,
        mask: Mask | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        # Titles and addresses come from reporters: a briefing or wall screen masks them.
        self.mask = mask if mask is not None else Mask.off()
        self._limit = limit
        self._ids: list[str] = []
        self._sla: list[SlaStatus] = []  # beside ``rows``, one per case
        self._now = store.clock.now()
        self._bold = QFont()
        self._bold.setBold(True)
        self.refresh()

    def row_at(self, i: int) -> tuple[Any, SlaStatus]:
        return self.rows[i], self._sla[i]

    def display(self, row: tuple[Any, SlaStatus], col: int) -> str:
        return self._display(*row, col)

    def tooltip(self, row: tuple[Any, SlaStatus], col: int) -> str:
        return self._tooltip(*row, col)

    def cell(self, row: tuple[Any, SlaStatus], col: int, role: int) -> Any:
        case, sla = row
        if role == Qt.ItemDataRole.BackgroundRole:
            # Solid fill for red and yellow only: blue is "on track" and must not shout.
            if col == self.SLA and sla.level in (SlaLevel.RED, SlaLevel.YELLOW):
                return theme.level_color(sla.level)
            if sla.level is SlaLevel.RED:
                return theme.color("red_row")
            if sla.level is SlaLevel.YELLOW:
                return theme.color("yellow_row")
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.SLA:
                if sla.level in (SlaLevel.RED, SlaLevel.YELLOW):
                    return theme.color("on_badge")
                return theme.color("blue") if sla.level is SlaLevel.BLUE else theme.color("grey")
            if col == self.URGENT:
                return theme.color("red")
            if not case.state or CaseState(case.state) not in OPEN_STATES:
                return theme.color("text_dim")
            return None
        if role == Qt.ItemDataRole.FontRole:
            if col in (self.URGENT, self.SLA) or case.urgency == Urgency.URGENT:
                return self._bold
            return None
        if role == self.CaseIdRole:
            return case.id
        if role == self.LevelRole:
            return sla.level.value if sla.level is not None else ""
        return None

    # -- content
    def _display(self, case: Any, sla: SlaStatus, col: int) -> str:
        if col == self.URGENT:
            return zh_en("急", "Urgent") if case.urgency == Urgency.URGENT else ""
        if col == self.ID:
            return case.id
        if col == self.FILED:
            return self._time_filed(case.created_ts)
        if col == self.CATEGORY:
            return case.category
        if col == self.SOURCE:
            return source_label(case.source)
        if col == self.TOWNSHIP:
            return self._store.display_name(case.township)
        if col == self.STATE:
            return state_label(case.state)
        if col == self.SLA:
            return self.sla_text(sla)
        if col == self.ASSIGNEE:
            return self._store.display_name(case.assignee) or "—"
        return ""

    def _time_filed(self, ts: float) -> str:
        filed = local(ts)
        if filed.date() == local(self._now).date():
            return filed.strftime("%H:%M")
        return filed.strftime("%m-%d %H:%M")

    def sla_text(self, sla: SlaStatus) -> str:
        if sla.milestone is Milestone.NONE or sla.level is None:
            return "—"
        if sla.remaining < 0:
            return zh_en("超时 {time}", "overdue {time}").format(
                time=format_remaining(-sla.remaining)
            )
        return format_remaining(sla.remaining)

    def level_name(self, level: SlaLevel) -> str:
        return {
            SlaLevel.RED: zh_en("红色", "Red"),
            SlaLevel.YELLOW: zh_en("黄色", "Yellow"),
            SlaLevel.BLUE: zh_en("蓝色", "Blue"),
        }[level]

    def milestone_name(self, m: Milestone) -> str:
        return {
            Milestone.ASSIGN: zh_en("签收派遣", "sign and assign"),
            Milestone.ARRIVE: zh_en("到场", "arrive on site"),
            Milestone.HANDLE: zh_en("处置反馈", "handle and report back"),
        }.get(m, "")

    def _tooltip(self, case: Any, sla: SlaStatus, col: int) -> str:
        if col == self.SLA:
            if sla.level is None:
                return zh_en(
                    "案件{state}，不再计时。", "No time limit runs: the case is {state}."
                ).format(state=state_label(case.state))
            return zh_en(
                "{level}预警：{step}时限至 {deadline}，已用 {used}%",
                "{level} warning: {step} due {deadline}, {used}% of the limit used",
            ).format(
                level=self.level_name(sla.level),
                step=self.milestone_name(sla.milestone),
                deadline=local(sla.deadline).strftime("%m-%d %H:%M:%S"),
                used=round(sla.used * 100),
            )
        shown = self.mask.case(case)  # a masked copy (the record itself when masking is off)
        lines = [x for x in (getattr(shown, "title", ""), getattr(shown, "address", "")) if x]
        lines.append(
            zh_en("上报于 {time} · 网格 {grid}", "Filed {time} · grid {grid}").format(
                time=local(case.created_ts).strftime("%Y-%m-%d %H:%M:%S"),
                grid=case.grid,
            )
        )
        return "\n".join(lines)

    def width_samples(self) -> dict[int, tuple[str, ...]]:
        """Texts that must fit in the fixed-width columns (the others stretch)."""
        return {
            self.URGENT: (zh_en("急", "Urgent"),),
            self.ID: tuple(self._ids[:50]) or ("PD000000000000",),
            self.FILED: ("00-00 00:00",),
            self.SOURCE: tuple(source_label(s) for s in Source),
            self.TOWNSHIP: ("石门口乡", *(c.township for c in self.rows[:50])),
            self.STATE: tuple(state_label(s) for s in CaseState),
            self.SLA: (zh_en("超时 {time}", "overdue {time}").format(time="00h00m"),),
        }

    # -- updates
    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        """Show at most ``limit`` cases (a panel setting); re-reads the store."""
        if limit != self._limit:
            self._limit = max(1, int(limit))
            self.refresh()

    def case_at(self, row: int) -> Any:
        return self.rows[row]

    def case_ids(self) -> list[str]:
        return list(self._ids)

    def refresh(self, *_: object) -> None:
        """Re-read the newest cases; a reset only when the list of ids changed."""
        cases = self._store.newest_cases(self._limit)
        ids = [c.id for c in cases]
        self._now = self._store.clock.now()
        sla = [self._store.policy.evaluate(c, self._now) for c in cases]
        if ids == self._ids:
            self.rows, self._sla = cases, sla
            self.rows_changed()
            return
        self.beginResetModel()
        self.rows, self._ids, self._sla = cases, ids, sla
        self.endResetModel()

    def tick(self) -> None:
        """Countdowns moved: announce the SLA column, and whole rows whose level changed."""
        if not self.rows:
            return
        self._now = self._store.clock.now()
        old = self._sla
        self._sla = [self._store.policy.evaluate(c, self._now) for c in self.rows]
        last = len(self.rows) - 1
        self.dataChanged.emit(
            self.index(0, self.SLA), self.index(last, self.SLA), [Qt.ItemDataRole.DisplayRole]
        )
        for row, (a, b) in enumerate(zip(old, self._sla, strict=True)):
            if a.level is not b.level:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def retranslate(self) -> None:
        super().retranslate()
        self.rows_changed()


# ---- the table of newest cases ---------------------------------------------------------


class CasesTable(QTableView):
    """The newest-cases table as the overview and the newest-cases panel both show it.

    Fixed columns are measured from their widest possible text (``width_samples``) in the
    table's current font, so that a wall scale or a compact console never clips an id, a
    township or a countdown; the free-text columns (category, assignee) share the rest.
    """

    def __init__(self, model: NewestCasesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newestCases")
        self.setModel(model)
        self.rows_model = model
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        for col in (NewestCasesModel.CATEGORY, NewestCasesModel.ASSIGNEE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)

    def apply_metrics(self) -> None:
        """Row height and fixed column widths from the table's font (theme scale, compact)."""
        self.ensurePolished()
        fm = self.fontMetrics()
        self.verticalHeader().setDefaultSectionSize(round(fm.height() * 1.7))
        header = self.horizontalHeader()
        header.ensurePolished()
        hfm = header.fontMetrics()
        pad = round(fm.height() * 1.2)
        model = self.rows_model

        def width(col: int, samples: tuple[str, ...]) -> int:
            text = max(fm.horizontalAdvance(s) for s in samples)
            head = hfm.horizontalAdvance(model.headerData(col, Qt.Orientation.Horizontal))
            return max(text, head + round(hfm.height() * 0.8)) + pad

        self._widths = {col: width(col, samples) for col, samples in model.width_samples().items()}
        for col, w in self._widths.items():
            header.resizeSection(col, w)
        self.fit_columns()

    # Dropped first when a dock is too narrow for every column: where a case came from and
    # who has it matter less than what, where, and how long is left.
    OPTIONAL_COLUMNS: tuple[int, ...] = (NewestCasesModel.SOURCE, NewestCasesModel.ASSIGNEE)

    def fit_columns(self) -> None:
        """Hide optional columns while the fixed ones leave the category too little room."""
        widths = getattr(self, "_widths", None)
        if not widths:
            return
        avail = self.viewport().width() or self.width()
        room_for_text = self.fontMetrics().height() * 5  # about five CJK characters
        hidden: set[int] = set()
        for col in (None, *self.OPTIONAL_COLUMNS):
            if col is not None:
                hidden.add(col)
            fixed = sum(w for c, w in widths.items() if c not in hidden)
            stretch = sum(
                1 for c in (NewestCasesModel.CATEGORY, NewestCasesModel.ASSIGNEE) if c not in hidden
            )
            if avail - fixed >= room_for_text * stretch:
                break
        for col in self.OPTIONAL_COLUMNS:
            if self.isColumnHidden(col) != (col in hidden):
                self.setColumnHidden(col, col in hidden)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def case_id_at(self, row: int) -> str:
        return str(self.rows_model.index(row, 0).data(NewestCasesModel.CaseIdRole) or "")

    def select_case(self, case_id: str) -> bool:
        """Select the row of ``case_id`` if shown; False when it is not in the list."""
        try:
            row = self.rows_model.case_ids().index(case_id)
        except ValueError:
            self.clearSelection()
            return False
        self.selectRow(row)
        self.scrollTo(self.rows_model.index(row, 0))
        return True


# ---- the panel ---------------------------------------------------------------------------


class OverviewPanel(QWidget):
    """Status strip, SLA tiles and the newest cases, fed by a LiveBridge."""

    def __init__(
        self,
        bridge: LiveBridge,
        parent: QWidget | None = None,
        mask: Mask | None = None,
        *,
        metrics: MetricEngine,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("overviewPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setProperty("compact", False)
        self.bridge = bridge
        store = bridge.store
        self._store = store

        self.strip = StatusStrip(store, bridge.status)
        self.tiles = SlaTiles(store, metrics=metrics)
        self.model = NewestCasesModel(store, parent=self, mask=mask)
        self.table = CasesTable(self.model)
        self.section_title = QLabel(objectName="sectionTitle")
        self.section_note = QLabel(objectName="sectionNote")
        title_row = QHBoxLayout()
        title_row.setContentsMargins(4, 0, 4, 0)
        title_row.addWidget(self.section_title)
        title_row.addStretch(1)
        title_row.addWidget(self.section_note)

        col = QVBoxLayout(self)
        col.setContentsMargins(12, 10, 12, 12)
        col.setSpacing(10)
        col.addWidget(self.strip)
        col.addWidget(self.tiles)
        col.addLayout(title_row)
        col.addWidget(self.table, 1)

        self._connections = [
            (bridge.changed, self._on_changed),
            (bridge.statusChanged, self.strip.update_status),
            (bridge.tick, self._on_tick),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)
        self.retranslate()

    # -- live updates
    def _on_changed(self, cs: ChangeSet) -> None:
        # Unit positions may arrive many times a second and change nothing shown here.
        if not (cs.reset or cs.cases_created or cs.cases_updated):
            return
        self.tiles.refresh()
        self.model.refresh()
        self._update_note()
        if cs.reset:  # a new snapshot: new ids may need wider columns, the status moved
            self._apply_metrics()
            self.strip.update_status()

    def _on_tick(self) -> None:
        # FeedStatus.quarantine()/error() and plain counter updates do not notify: re-read
        # the status every second so the strip is never more than a second behind.
        self.strip.update_status()
        self.strip.update_time()
        self.tiles.refresh()
        self.model.tick()

    def _update_note(self) -> None:
        self.section_note.setText(
            zh_en("共 {total} 件，显示最新 {shown} 件", "newest {shown} of {total} cases").format(
                shown=f"{self.model.rowCount():,}", total=f"{len(self._store):,}"
            )
        )

    def disconnect_bridge(self) -> None:
        """Drop the connections to the bridge (the bridge may outlive this panel)."""
        for signal, slot in self._connections:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._connections = []

    # -- language and size
    def retranslate(self) -> None:
        self.section_title.setText(zh_en("最新案件", "Newest cases"))
        self._update_note()
        self.model.retranslate()
        self._apply_metrics()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._apply_metrics()
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_metrics()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        compact = event.size().width() < COMPACT_WIDTH
        if bool(self.property("compact")) != compact:
            self.setProperty("compact", compact)
            for w in [self, *self.findChildren(QWidget)]:
                _repolish(w)
            self._apply_metrics()

    def _apply_metrics(self) -> None:
        self.table.apply_metrics()

    def teardown(self) -> None:
        self.disconnect_bridge()
