"""The "feed_status" panel: can I trust what I see?

One row per live source (its state, cases held, events applied, quarantined, last error;
from ``PanelContext.sources``), then, for the hall as a whole (the worst source's state,
the sums of their counters): the link state and how long it has held, the age of the data, the counters of what arrived
and what was refused, the reasons behind every refusal (quarantine by reason, unknown kinds,
connection errors by cause) and the most recent bad events with their detail. The status
strip of the overview says the same in one line; this panel is where the officer looks
when that line turns amber.

FeedStatus counters change without notifying (the client bumps them per event), so the
panel re-reads them every second on the bridge's tick; tables are rebuilt only when what
they show has changed, so an idle panel costs a few comparisons a second.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.hall_time import local
from commandcenter.status import FeedStatus, LinkState, StatusBoard
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import zh_en
from widgets.masking import mask_of
from widgets.overview import link_label
from widgets.registry import register
from widgets.video.health import video_rows

STALE_AFTER_S = 10.0
_SOURCE_COLUMNS = 7
# A state in a table cell, in the theme's words: the freshness badge's levels.
_STATE_COLOUR = {
    LinkState.LIVE: "green",
    LinkState.CONNECTING: "grey",
    LinkState.STALE: "stale",
    LinkState.RECONNECTING: "red",
    LinkState.STOPPED: "grey",
}


def _repolish(w: QWidget) -> None:
    w.style().unpolish(w)
    w.style().polish(w)


def _table(parent: QWidget, columns: int) -> QTableWidget:
    t = QTableWidget(0, columns, parent)
    t.setObjectName("statusTable")
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.setShowGrid(False)
    t.setWordWrap(False)
    t.setTextElideMode(Qt.TextElideMode.ElideRight)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    header = t.horizontalHeader()
    header.setHighlightSections(False)
    for c in range(columns - 1):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(columns - 1, QHeaderView.ResizeMode.Stretch)
    return t


def _item(text: str, tooltip: str = "", align_right: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    if tooltip:
        it.setToolTip(tooltip)
    if align_right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return it


@register
class FeedStatusPanel(Panel):
    name = "feed_status"
    title_zh = "数据链路"
    title_en = "Feed status"
    icon = "⇄"
    description_zh = "我看到的数据可信吗？链路状态、数据时效、计数、隔离原因和最近的坏数据"
    description_en = "Can I trust what I see? Link, data age, counters, quarantine, bad events"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "recent": Setting(
            "int", 20, "最近坏数据条数", "Recent bad events shown", minimum=0, maximum=200
        ),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.mask = mask_of(ctx)  # bad-event details and errors may quote case text
        body = self.body
        self.state = QLabel(body, objectName="linkBadge")
        self.state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.since = QLabel(body, objectName="statusSince")
        self.age = QLabel(body, objectName="dataAge")
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(self.state)
        top.addWidget(self.age)
        top.addStretch(1)
        top.addWidget(self.since)

        # name -> (caption label, value label); values read from FeedStatus attributes
        self.counters: dict[str, tuple[QLabel, QLabel]] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(2)
        for i, key in enumerate(
            ("received", "applied", "duplicates", "quarantined", "reconnects", "resyncs")
        ):
            caption = QLabel(body, objectName="counterCaption")
            value = QLabel("0", body, objectName="counterValue")
            value.setProperty("counter", key)
            grid.addWidget(value, 0, i)
            grid.addWidget(caption, 1, i)
            self.counters[key] = (caption, value)

        self.sources_title = QLabel(body, objectName="sectionTitle")
        self.sources = _table(body, _SOURCE_COLUMNS)
        self.sources.setObjectName("sourcesTable")
        self.problems_title = QLabel(body, objectName="sectionTitle")
        self.problems = _table(body, 3)
        self.bad_title = QLabel(body, objectName="sectionTitle")
        self.bad = _table(body, 3)
        self.last_error = QLabel(body, objectName="lastError")
        self.last_error.setWordWrap(True)

        col = QVBoxLayout(body)
        col.setContentsMargins(12, 8, 12, 10)
        col.setSpacing(8)
        col.addLayout(top)
        col.addWidget(self.sources_title)
        col.addWidget(self.sources)
        col.addLayout(grid)
        col.addWidget(self.last_error)
        col.addWidget(self.problems_title)
        col.addWidget(self.problems, 1)
        col.addWidget(self.bad_title)
        col.addWidget(self.bad, 1)

        self._sources_key: tuple[Any, ...] = ()
        self._problems_key: tuple[Any, ...] = ()
        self._bad_key: tuple[Any, ...] = ()
        self.listen(ctx.bridge.tick, self.refresh)
        self.listen(ctx.bridge.statusChanged, self.refresh)
        self.retranslate()

    # -- content
    def refresh(self, *_: object) -> None:
        st: FeedStatus = self.ctx.status
        if self.state.property("state") != st.state.value:
            self.state.setProperty("state", st.state.value)
            _repolish(self.state)
        self.state.setText(link_label(st.state))
        self.since.setText(
            zh_en("自 {time} 起", "since {time}").format(time=local(st.since).strftime("%H:%M:%S"))
        )
        age = st.data_age()
        self.age.setText(self._age_text(age))
        stale = age is None or age > STALE_AFTER_S or st.state is not LinkState.LIVE
        if self.age.property("stale") != stale:
            self.age.setProperty("stale", stale)
            _repolish(self.age)
        values = {
            "received": st.received,
            "applied": st.applied,
            "duplicates": st.duplicates,
            "quarantined": st.quarantined_total,
            "reconnects": st.reconnects,
            "resyncs": st.resyncs,
        }
        for key, n in values.items():
            value = self.counters[key][1]
            value.setText(f"{n:,}")
            alert = key in ("quarantined", "reconnects", "resyncs") and n > 0
            if value.property("alert") != alert:
                value.setProperty("alert", alert)
                _repolish(value)
        self.last_error.setText(
            zh_en("最近错误：{error}", "Last error: {error}").format(
                error=self.mask.text(st.last_error)
            )
            if st.last_error
            else ""
        )
        self.last_error.setVisible(bool(st.last_error))
        self._fill_sources(self.ctx.sources)
        self._fill_problems(st)
        self._fill_bad(st)

    def _fill_sources(self, board: StatusBoard | None) -> None:
        """One row per live source: which one is down, and why, at a glance."""
        rows = board.rows if board is not None else []
        values = [
            (
                r.name,
                r.kind,
                r.where,
                r.status.state,
                r.cases() if r.cases is not None else 0,
                r.status.applied,
                r.status.quarantined_total,
                self.mask.text(r.status.last_error),
            )
            for r in rows
        ]
        key = tuple(values)
        if key == self._sources_key:
            return
        self._sources_key = key
        self.sources_title.setVisible(bool(rows))
        self.sources.setVisible(bool(rows))
        t = self.sources
        t.setRowCount(len(values))
        for r, (name, kind, where, state, cases, events, bad, error) in enumerate(values):
            badge = _item(f"● {link_label(state)}")
            badge.setData(Qt.ItemDataRole.UserRole, state.value)
            badge.setForeground(theme.color(_STATE_COLOUR[state]))
            t.setItem(r, 0, _item(name, f"{kind} · {where}" if where else kind))
            t.setItem(r, 1, _item(kind))
            t.setItem(r, 2, badge)
            t.setItem(r, 3, _item(f"{cases:,}", align_right=True))
            t.setItem(r, 4, _item(f"{events:,}", align_right=True))
            t.setItem(r, 5, _item(f"{bad:,}", align_right=True))
            t.setItem(r, 6, _item(error or "—", error))
        t.setFixedHeight(
            t.horizontalHeader().height() + 4 + sum(t.rowHeight(i) for i in range(len(values)))
        )

    def _age_text(self, age: float | None) -> str:
        if age is None:
            return zh_en("尚无数据", "no data yet")
        if age < 120:
            return zh_en("数据 {age} 秒前", "data {age} s old").format(age=int(max(0.0, age)))
        if age < 7200:
            return zh_en("数据 {age} 分钟前", "data {age} min old").format(age=int(age // 60))
        return zh_en("数据 {age} 小时前", "data {age} h old").format(age=int(age // 3600))

    def _fill_problems(self, st: FeedStatus) -> None:
        rows: list[tuple[str, str, int]] = []
        for kind, counter in (
            (zh_en("隔离", "quarantined"), st.quarantined),
            (zh_en("未知类型", "unknown kind"), st.unknown_kinds),
            (zh_en("连接", "connection"), st.errors),
        ):
            rows.extend((kind, reason, n) for reason, n in counter.most_common())
        rows.extend(video_rows(st.video))
        key = tuple(rows)
        if key == self._problems_key:
            return
        self._problems_key = key
        t = self.problems
        if not rows:
            t.setRowCount(1)
            t.setItem(0, 0, _item(""))
            t.setItem(0, 1, _item(""))
            t.setItem(0, 2, _item(zh_en("无异常记录。", "No problems recorded.")))
            return
        t.setRowCount(len(rows))
        for r, (kind, reason, n) in enumerate(rows):
            t.setItem(r, 0, _item(f"{n:,}", align_right=True))
            t.setItem(r, 1, _item(kind))
            t.setItem(r, 2, _item(reason, reason))

    def _fill_bad(self, st: FeedStatus) -> None:
        limit = int(self.settings["recent"])
        recent = list(st.recent_bad)[-limit:][::-1] if limit else []
        key = (len(st.recent_bad), *((b.at, b.reason) for b in recent[:1]), limit)
        if key == self._bad_key:
            return
        self._bad_key = key
        t = self.bad
        t.setRowCount(len(recent))
        for r, b in enumerate(recent):
            t.setItem(r, 0, _item(local(b.at).strftime("%H:%M:%S")))
            t.setItem(r, 1, _item(b.reason))
            detail = self.mask.text(str(b.detail or ""))  # a raw excerpt of an event
            t.setItem(r, 2, _item(detail, detail))
        self.bad_title.setVisible(limit > 0)
        self.bad.setVisible(limit > 0)

    # -- settings and language
    def apply_settings(self) -> None:
        self._bad_key = ()
        self.refresh()

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "counters"):
            return
        captions = {
            "received": zh_en("接收", "received"),
            "applied": zh_en("已应用", "applied"),
            "duplicates": zh_en("重复", "duplicates"),
            "quarantined": zh_en("隔离", "quarantined"),
            "reconnects": zh_en("重连", "reconnects"),
            "resyncs": zh_en("重新同步", "resyncs"),
        }
        tips = {
            "received": zh_en(
                "程序启动以来从数据源接收的事件数",
                "Events received from the feed since the program started",
            ),
            "applied": zh_en("已应用到实时模型的事件数", "Events applied to the live model"),
            "duplicates": zh_en(
                "重复收到（重连后）而跳过的事件：绝不重复计数",
                "Events received twice (after a reconnect) and skipped: never counted twice",
            ),
            "quarantined": zh_en(
                "格式错误而被隔离的事件；原因见下表",
                "Malformed events set aside; the reasons are listed below",
            ),
            "reconnects": zh_en(
                "链路断开后重新连接的次数", "Times the link was lost and opened again"
            ),
            "resyncs": zh_en(
                "服务器无法续传而重新获取快照的次数",
                "Times the server could not resume and a new snapshot was taken",
            ),
        }
        for key, (caption, value) in self.counters.items():
            caption.setText(captions[key])
            caption.setToolTip(tips[key])
            value.setToolTip(tips[key])
        self.age.setToolTip(
            zh_en(
                "距服务器上次确认在线（事件或心跳）的时间",
                "Time since the server last proved alive (event or heartbeat)",
            )
        )
        self.sources_title.setText(zh_en("数据源", "Sources"))
        self.sources.setHorizontalHeaderLabels(
            [
                zh_en("数据源", "Source"),
                zh_en("类型", "Kind"),
                zh_en("状态", "State"),
                zh_en("案件", "Cases"),
                zh_en("事件", "Events"),
                zh_en("隔离", "Quarantined"),
                zh_en("最近错误", "Last error"),
            ]
        )
        self._sources_key = ()
        self.problems_title.setText(zh_en("被拒收和失败，按原因", "Refused and failed, by reason"))
        self.problems.setHorizontalHeaderLabels(
            [zh_en("次数", "Count"), zh_en("类别", "Kind"), zh_en("原因", "Reason")]
        )
        self.bad_title.setText(zh_en("最近的坏数据", "Recent bad events"))
        self.bad.setHorizontalHeaderLabels(
            [zh_en("时间", "Time"), zh_en("原因", "Reason"), zh_en("详情", "Detail")]
        )
        self._problems_key = ()
        self._bad_key = ()
        self.refresh()
