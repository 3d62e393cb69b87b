"""The "case_queue" panel: the duty officer's work list, 高效处置一件事 one key at a time.

Why a model over row indices: 100k cases must sort and filter in < 50 ms and stay live
under 1,000 changes a second; the rows are ``commandcenter.queue.QueueIndex.query`` over
the store's numpy columns, and the model reads only the cells the view paints.

Why the live path is shaped as it is (1,000 changes/s must not make a frame over 100 ms):
a change that cannot move its row in the current filter and sort (checked against the last
query's keys, for the changed rows only) is patched in place and repainted only if visible;
a change that can move rows (or new cases) asks for a re-query, coalesced to at most one
every ``REQUERY_MS``. The 1 Hz work never shares a frame: the alarm evaluation runs on the
bridge's tick, the countdown refresh ``COUNTDOWN_PHASE_MS`` later, and a re-query that falls
within ``HEAVY_GAP_S`` of either waits a frame (``bench/queue.py`` measures the result).
The first evaluation over 100k cases finds ~11k alarms: the engine builds them within a
budget per evaluation (``AlarmEngine.behind``), and the panel lets it catch up one frame at
a time (``_catch_up_alarms``) instead of one ~70 ms frame.

Keyboard first: j/k move, Enter opens the case in the detail (shared selection), and one
key per action (s 签收, d 派遣, r 退回, e 督办, x 延期, v 核查结案, c 回访评价, a 确认告警).
Each row says what this console did to it and what the server said (⏳ pending until
confirmed, ⚠ conflict, ✖ refused); a refusal or conflict is shown in the banner until the
officer acknowledges it: nothing is swallowed.

New urgent cases (the alarm engine's ``new_urgent``) flash and sound until acknowledged.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import shiboken6
from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from commandcenter.actions import NEEDS_ATTENTION, ItemState, OutboxItem
from commandcenter.alarms import AlarmEngine
from commandcenter.domain import CaseState, Source, Urgency
from commandcenter.hall_time import local
from commandcenter.queue import (
    DUTY_QUEUES,
    LEVEL_NAMES,
    STAGED_QUEUES,
    STAGES,
    Columns,
    QueryResult,
    QueueFilter,
    QueueIndex,
    SavedFilters,
    SortKey,
    columns,
    columns_of_rows,
)
from commandcenter.selection import Selection
from commandcenter.settings import config_dir
from commandcenter.sla import format_remaining
from commandcenter.store import ChangeSet, Store
from widgets import theme
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.cases import common, desk
from widgets.cases.common import Action
from widgets.i18n import is_chinese, zh_en
from widgets.labels import source_label, state_label
from widgets.live import TICK_MS
from widgets.registry import register
from widgets.table_model import Column, TableModel

REQUERY_MS = 500  # at most two re-sorts a second, however fast the feed
COUNTDOWN_PHASE_MS = 250  # countdowns refresh this long after the tick (alarms run on it)
HEAVY_GAP_S = 0.09  # one heavy job (alarms, countdown refresh, re-sort) per 100 ms frame
FRAME_MS = 100
CONFIRMED_SHOWN_S = 8.0  # a "✓ confirmed" marker stays this long, then the row is plain
FLASH_MS = 500


def saved_filter_label(name: str) -> str:
    """A built-in filter by its name in the UI's language; the officer's own as named."""
    labels = {
        "待签收": zh_en("待签收", "To sign"),
        "红色预警": zh_en("红色预警", "Red warning"),
        "已超期": zh_en("已超期", "Overdue"),
        "紧急在办": zh_en("紧急在办", "Urgent, open"),
        "退回待派": zh_en("退回待派", "Returned, to dispatch"),
    }
    return labels.get(name, name)


class CaseQueueModel(TableModel):
    """The filtered, sorted rows of the store; cells read on demand (no per-row objects)."""

    URGENT, ID, CATEGORY, SOURCE, AREA, STATE, LEVEL, COUNTDOWN, ASSIGNEE, AGE, OUTBOX = range(11)
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("紧急", "Urgent"),
        Column("案件编号", "Case ID"),
        Column("类别", "Category"),
        Column("来源", "Source"),
        Column("乡镇 / 网格", "Township / grid"),
        Column("状态", "State"),
        Column("预警", "Warning"),
        Column("剩余时限", "Time left"),
        Column("承办单位", "Assignee"),
        Column("已用时", "Age"),
        Column("本席操作", "My action"),
    )
    SORT_KEYS: ClassVar[dict[int, str]] = {
        URGENT: "urgency",
        ID: "id",
        CATEGORY: "category",
        SOURCE: "source",
        AREA: "area",
        STATE: "state",
        LEVEL: "level",
        COUNTDOWN: "remaining",
        ASSIGNEE: "assignee",
        AGE: "age",
    }
    CaseIdRole = Qt.ItemDataRole.UserRole + 1
    LevelRole = Qt.ItemDataRole.UserRole + 2
    MarkerRole = Qt.ItemDataRole.UserRole + 3
    _ROLES: ClassVar[frozenset[int]] = frozenset(
        int(r)
        for r in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.BackgroundRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.FontRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.ToolTipRole,
            CaseIdRole,
            LevelRole,
            MarkerRole,
        )
    )

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.index_ = QueueIndex(store)
        self.filter = QueueFilter(open_only=True)
        self.sort_keys: tuple[SortKey, ...] = (SortKey("remaining"),)
        self._rows = np.zeros(0, dtype=np.int64)
        self._cols: Columns | None = None
        self._result: QueryResult | None = None
        self._cols_owned = False  # the SLA arrays are a private copy (safe to patch)
        self.in_place_updates = 0  # change sets applied without a re-query (diagnostics)
        self.markers: dict[str, OutboxItem] = {}
        self.flashing: set[str] = set()
        self.flash_on = False
        self._bold = QFont()
        self._bold.setBold(True)
        self.last_query_ms = 0.0
        self._evaluated_at = 0.0
        # The case kept on screen although it left the filter (the officer's current row:
        # an action must not make it vanish under the cursor), until the cursor moves.
        self.pinned = ""
        # True from a store reset (a snapshot numbers the store's rows anew) until the
        # next requery: meanwhile ``_rows`` point at other cases than the ones listed.
        self.rows_stale = False
        self.counts: dict[tuple[str, str], int] = {}  # the duty tabs' numbers
        self._italic = QFont()
        self._italic.setItalic(True)
        self.retranslate()

    # -- Qt model API
    def row_count(self) -> int:
        return int(self._rows.size)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        # Its own ``data`` rather than TableModel's hooks: the view asks ~8 roles per cell
        # per paint; the ones not answered below return before any row lookup (a third
        # of the paint's Python time at 100k rows).
        if role not in self._ROLES or not index.isValid() or self._cols is None:
            return None
        r = int(self._rows[index.row()])
        col = index.column()
        cols = self._cols
        if r >= cols.n:
            return None
        case = self.store.record_at(r)
        level = int(cols.level[r])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(case, r, col)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(case, level, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.LEVEL and level >= 0:
                return theme.color("on_badge")
            if col == self.COUNTDOWN and level >= 0:
                return theme.level_color(LEVEL_NAMES[level])
            if col == self.URGENT:
                return theme.color("red")
            if col == self.OUTBOX:
                item = self.markers.get(case.id)
                if item is not None and item.state in NEEDS_ATTENTION:
                    return theme.color("red")
                if item is not None and item.state is ItemState.CONFIRMED:
                    return theme.color("green")
                return theme.color("amber")
            if level < 0:
                return theme.color("text_dim")
            return None
        if role == Qt.ItemDataRole.FontRole:
            if self.pinned and case.id == self.pinned:
                return self._italic
            if col in (self.URGENT, self.LEVEL, self.COUNTDOWN, self.OUTBOX, self.ID) or (
                case.urgency == Urgency.URGENT
            ):
                return self._bold
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (self.URGENT, self.LEVEL, self.COUNTDOWN, self.AGE):
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return common.plain_tooltip(self._tooltip(case, col))
        if role == self.CaseIdRole:
            return case.id
        if role == self.LevelRole:
            return LEVEL_NAMES[level] if level >= 0 else ""
        if role == self.MarkerRole:
            item = self.markers.get(case.id)
            return item.state.value if item is not None else ""
        return None

    def _background(self, case: Any, level: int, col: int) -> Any:
        if case.id in self.flashing and self.flash_on:
            return theme.color("red")
        if col == self.LEVEL and level >= 0:
            return theme.level_color(LEVEL_NAMES[level])
        item = self.markers.get(case.id)
        if col == self.OUTBOX and item is not None and item.state in NEEDS_ATTENTION:
            return theme.color("red_bg")
        if level == 2:
            return theme.color("red_row")
        if level == 1:
            return theme.color("yellow_row")
        if level == 0:
            return theme.color("blue_bg")
        return None

    def _display(self, case: Any, r: int, col: int) -> str:
        cols = self._cols
        assert cols is not None
        store = self.store
        if col == self.URGENT:
            return zh_en("紧急", "Urgent") if case.urgency == Urgency.URGENT else ""
        if col == self.ID:
            return case.id
        if col == self.CATEGORY:
            return case.category
        if col == self.SOURCE:
            return source_label(case.source)
        if col == self.AREA:
            town = store.display_name(case.township)
            grid = store.display_name(case.grid)
            if town and grid.startswith(town):  # 冠山镇第3网格 -> 第3网格: no clipped repeat
                grid = grid[len(town) :]
            return f"{town} / {grid}" if grid else town
        if col == self.STATE:
            return state_label(case.state)
        if col == self.LEVEL:
            lv = int(cols.level[r])
            return self.level_name(lv) if lv >= 0 else "—"
        if col == self.COUNTDOWN:
            if int(cols.milestone[r]) == 0:
                return "—"
            rem = float(cols.remaining[r])
            if rem < 0:
                return zh_en("超期 {time}", "overdue {time}").format(time=format_remaining(-rem))
            return format_remaining(rem)
        if col == self.ASSIGNEE:
            return store.display_name(case.assignee) or "—"
        if col == self.AGE:
            return format_remaining(max(0.0, cols.now - case.created_ts))
        if col == self.OUTBOX:
            item = self.markers.get(case.id)
            return common.marker_text(item) if item is not None else ""
        return ""

    def pinned_note(self) -> str:
        """'已签收，不再属于此筛选': why the kept row is still shown ("" when none is)."""
        case = self.store.case(self.pinned) if self.pinned else None
        if case is None or self.position_of(case.id) < 0:
            return ""
        return zh_en("{state}，不再属于此筛选", "{state}; no longer in this filter").format(
            state=state_label(case.state)
        )

    def _tooltip(self, case: Any, col: int) -> str:
        if self.pinned and case.id == self.pinned:
            return self.pinned_note()
        if col == self.OUTBOX:
            item = self.markers.get(case.id)
            if item is None:
                return ""
            if item.state in NEEDS_ATTENTION:
                return item.reason
            if item.last_error:
                return zh_en(
                    "尚未送达：{error}；将自动重试",
                    "not delivered yet: {error}; retried automatically",
                ).format(error=item.last_error)
            return common.marker_text(item)
        lines = [x for x in (getattr(case, "title", ""), getattr(case, "address", "")) if x]
        lines.append(
            zh_en("立案 {time} · 网格 {grid}", "Filed {time} · grid {grid}").format(
                time=local(case.created_ts).strftime("%Y-%m-%d %H:%M:%S"), grid=case.grid
            )
        )
        return "\n".join(lines)

    def level_name(self, level: int) -> str:
        return (zh_en("蓝", "Blue"), zh_en("黄", "Yellow"), zh_en("红", "Red"))[level]

    # -- rows
    def case_id_at(self, row: int) -> str:
        if 0 <= row < self._rows.size:
            return str(self.store.record_at(int(self._rows[row])).id)
        return ""

    def position_of(self, case_id: str) -> int:
        """The view row of a case, -1 when filtered out."""
        r = self.store.row_of(case_id)
        if r is None:
            return -1
        hits = np.flatnonzero(self._rows == r)
        return int(hits[0]) if hits.size else -1

    def positions_of(self, case_ids: set[str]) -> np.ndarray:
        rows = [r for r in (self.store.row_of(c) for c in case_ids) if r is not None]
        if not rows:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isin(self._rows, np.asarray(rows)))

    def requery(self, keep: str = "") -> None:
        """Filter and sort again, keeping the view's selection and current row by case.

        ``keep``: a case shown even if it no longer passes the filter (``pinned``), where
        it was, so that the case the officer just acted on stays under the cursor with
        its neighbours around it; j/k then reach the next case as before."""
        t = time.perf_counter()
        cols = columns(self.store)
        result = self.index_.query_full(self.filter, self.sort_keys, cols=cols)
        rows = result.rows
        self.counts = self.index_.duty_counts(self.filter, cols)
        self.pinned = ""
        renumbered, self.rows_stale = self.rows_stale, False
        kept = self.store.row_of(keep) if keep else None
        if kept is not None and not bool(result.mask[kept]):
            was = np.flatnonzero(self._rows == kept)
            at = min(int(was[0]), rows.size) if was.size else 0
            rows = np.insert(rows, at, kept)
            self.pinned = keep
        self._result = result
        self._cols_owned = False
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old_rows = self._rows
        self._rows = rows
        self._cols = cols
        self._evaluated_at = time.monotonic()
        if persistent and renumbered:  # old rows name other cases now: follow none
            self.changePersistentIndexList(persistent, [QModelIndex()] * len(persistent))
        elif persistent:
            where = np.full(max(cols.n, 1), -1, dtype=np.int64)
            where[rows] = np.arange(rows.size)
            new = []
            for idx in persistent:
                pos = -1
                if 0 <= idx.row() < old_rows.size and int(old_rows[idx.row()]) < cols.n:
                    pos = int(where[int(old_rows[idx.row()])])
                new.append(self.index(pos, idx.column()) if pos >= 0 else QModelIndex())
            self.changePersistentIndexList(persistent, new)
        self.layoutChanged.emit()
        self.last_query_ms = (time.perf_counter() - t) * 1000

    def tick(self, first: int = 0, last: int = -1) -> None:
        """Countdowns, levels and ages moved: re-evaluate and announce rows ``first`` to
        ``last`` (the visible ones: announcing 100k rows costs the view for nothing)."""
        if self._cols is None or not self._rows.size:
            return
        self.refresh_columns()
        end = self._rows.size - 1
        last = end if last < 0 else min(last, end)
        first = max(0, min(first, last))
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.COLUMNS) - 1))

    def refresh_columns(self, max_age_s: float = 0.5) -> bool:
        """Re-evaluate the SLA arrays the cells show unless a re-query did within
        ``max_age_s``; True if it did the work (~6 ms at 100k rows)."""
        if self._cols is None or time.monotonic() - self._evaluated_at <= max_age_s:
            return False
        self._cols = columns(self.store)
        self._cols_owned = False
        self._evaluated_at = time.monotonic()
        self.recount()  # time alone moves cases into 将超期 and 已超期
        return True

    def recount(self) -> None:
        """The duty tabs' numbers again, over the columns the cells show."""
        if self._cols is not None and self._cols.n == len(self.store):
            self.counts = self.index_.duty_counts(self.filter, self._cols)

    def shown_in_filter(self) -> int:
        """Rows that pass the filter (the kept row aside): what the active tab counts."""
        return int(self._rows.size) - (
            1 if self.pinned and self.position_of(self.pinned) >= 0 else 0
        )

    def drop_pinned(self) -> bool:
        """Remove the kept row (the cursor has left it); True when there was one."""
        pos = self.position_of(self.pinned) if self.pinned else -1
        self.pinned = ""
        if pos < 0:
            return False
        self.beginRemoveRows(QModelIndex(), pos, pos)
        self._rows = np.delete(self._rows, pos)
        self.endRemoveRows()
        return True

    def update_in_place(self, case_ids: set[str], first: int = 0, last: int = -1) -> bool:
        """Apply updates of ``case_ids`` without re-sorting when none of them can move
        (``QueryResult.unmoved``): patch their cells and announce the changed rows among
        ``first``..``last`` (the visible ones). False: a re-query is needed."""
        result, cols = self._result, self._cols
        if result is None or cols is None:
            return False
        rows = [r for r in (self.store.row_of(c) for c in case_ids) if r is not None]
        changed = np.unique(np.asarray(rows, dtype=np.int64))
        sub = result.unmoved(changed)
        if sub is None:
            return False
        self.in_place_updates += 1
        if changed.size and cols.n == result.cols.n:
            if cols.now != sub.now:  # the countdowns moved on since the query
                sub = columns_of_rows(self.store, changed, cols.now)
            if not self._cols_owned:  # the arrays may be shared (alarms): copy once
                cols.milestone = cols.milestone.copy()
                cols.remaining = cols.remaining.copy()
                cols.level = cols.level.copy()
                self._cols_owned = True
            cols.milestone[changed] = sub.milestone
            cols.remaining[changed] = sub.remaining
            cols.level[changed] = sub.level
        end = self._rows.size - 1
        if end < 0 or not changed.size:
            return True
        last = end if last < 0 else min(last, end)
        first = max(0, min(first, last))
        shown = np.flatnonzero(np.isin(self._rows[first : last + 1], changed)) + first
        for pos in shown.tolist():
            self.dataChanged.emit(self.index(pos, 0), self.index(pos, len(self.COLUMNS) - 1))
        return True

    def announce_cases(self, case_ids: set[str]) -> None:
        for pos in self.positions_of(case_ids).tolist():
            self.dataChanged.emit(self.index(pos, 0), self.index(pos, len(self.COLUMNS) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.SORT_KEYS.get(column)
        if key is None:
            return
        desc = order == Qt.SortOrder.DescendingOrder
        rest = tuple(k for k in self.sort_keys if k.key != key)[:2]
        self.sort_keys = (SortKey(key, desc), *rest)
        self.requery()


class CaseQueueView(QTableView):
    """The table; j/k move the cursor like in a mail client (keyboard first)."""

    def __init__(self, model: CaseQueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseQueue")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        h = self.horizontalHeader()
        h.setHighlightSections(False)
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        h.setSortIndicator(CaseQueueModel.COUNTDOWN, Qt.SortOrder.AscendingOrder)
        self.key_actions: dict[Qt.Key, Callable[[], Any]] = {}
        # A plain letter or digit with no action: told so (every key answers), instead
        # of the table's silent jump to a row starting with that letter.
        self.unknown_key: Callable[[str], Any] | None = None
        # "My action" right after the id: pending/conflict must show in a narrow dock too.
        h.moveSection(CaseQueueModel.OUTBOX, CaseQueueModel.ID + 1)
        # The last column takes what is left. The category used to (Stretch), and in a
        # dock narrower than the columns it was left one character: "供…" for 供水故障.
        h.setStretchLastSection(True)

    def apply_metrics(self) -> None:
        fm = self.fontMetrics()
        self.verticalHeader().setDefaultSectionSize(round(fm.height() * 1.6))
        em = fm.horizontalAdvance("国")
        widths = {
            CaseQueueModel.URGENT: 3.2,
            CaseQueueModel.ID: 8.5,
            CaseQueueModel.CATEGORY: 6,
            CaseQueueModel.SOURCE: 5.5,
            CaseQueueModel.AREA: 9,
            CaseQueueModel.STATE: 4.5,
            CaseQueueModel.LEVEL: 3.6,
            CaseQueueModel.COUNTDOWN: 7.5,
            CaseQueueModel.ASSIGNEE: 7,
            CaseQueueModel.AGE: 4.5,
            CaseQueueModel.OUTBOX: 7,
        }
        # English words are wider than the Chinese ones the em widths were set for: a
        # column is at least as wide as its header and its longest fixed label.
        bold = QFont(self.font())
        bold.setBold(True)
        fb = QFontMetrics(bold)
        samples = {
            CaseQueueModel.URGENT: [zh_en("紧急", "Urgent")],
            CaseQueueModel.SOURCE: [source_label(s) for s in Source],
            CaseQueueModel.STATE: [state_label(s) for s in CaseState],
            CaseQueueModel.LEVEL: [zh_en("黄", "Yellow")],
            CaseQueueModel.COUNTDOWN: [zh_en("超期 23h59m", "overdue 23h59m")],
            # The longest marker of the hall's daily actions ("○ 核查结案 待发送").
            CaseQueueModel.OUTBOX: [
                f"{common.MARKER_GLYPHS[ItemState.PENDING]} {common.action_label(a.value)}"
                f" {common.item_state_label(ItemState.PENDING)}"
                for a in (Action.SIGN, Action.ASSIGN, Action.ESCALATE, Action.VERIFY)
            ],
        }
        model = self.model()
        for col, w in widths.items():
            header = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            need = max(
                [fb.horizontalAdvance(header) + 2 * em]
                + [fb.horizontalAdvance(t) for t in samples.get(col, [])]
            )
            self.horizontalHeader().resizeSection(
                col, max(round(w * em + fm.height()), need + fm.height() + em)
            )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Plain letter keys are the officer's actions (no modifier: Ctrl+… stays the
        shell's); handled here rather than as shortcuts so they work whenever the table
        has the keyboard, on every screen of a multi-window layout."""
        slot = self.key_actions.get(Qt.Key(event.key()))
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if slot is not None and mods in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.ShiftModifier,
        ):
            slot()
            event.accept()
            return
        text = event.text()
        if (
            self.unknown_key is not None
            and len(text) == 1
            and text.isalnum()
            and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        ):
            self.unknown_key(text)
            event.accept()
            return
        super().keyPressEvent(event)

    def visible_rows(self) -> tuple[int, int]:
        """(first, last) row on screen; (0, -1) meaning all when nothing is laid out yet."""
        top = self.rowAt(0)
        bottom = self.rowAt(self.viewport().height() - 1)
        if top < 0:
            return 0, -1
        return top, bottom if bottom >= 0 else self.model().rowCount() - 1

    def move(self, step: int) -> bool:
        """Cursor ``step`` rows down (up when negative); False at either end."""
        model = self.model()
        n = model.rowCount()
        if not n:
            return False
        cur = self.currentIndex().row()
        row = min(n - 1, max(0, (cur if cur >= 0 else -1) + step))
        if row == cur:
            return False
        self.selectRow(row)
        self.scrollTo(model.index(row, 0))
        return True


# The queue's tabs: every case of the bar's filter, then the duty officer's work lists.
TABS: tuple[str, ...] = ("", *DUTY_QUEUES)


def duty_label(duty: str) -> str:
    return {
        "": zh_en("全部", "All"),
        "to_sign": zh_en("待签收", "To sign"),
        "to_dispatch": zh_en("待派遣", "To dispatch"),
        "due_soon": zh_en("本环节将超期", "About to breach"),
        "overdue": zh_en("已超期", "Overdue"),
        "supervised": zh_en("督办", "Supervised"),
    }[duty]


def stage_label(stage: str) -> str:
    return {
        "": zh_en("全部环节", "Every stage"),
        "sign": zh_en("签收", "Sign"),
        "dispatch": zh_en("派遣", "Dispatch"),
        "on_site": zh_en("到场", "On site"),
        "done": zh_en("办结", "Done"),
    }[stage]


@register
class CaseQueuePanel(Panel):
    name = "case_queue"
    REQUIRES = (Need.ALARMS,)
    title_zh = "案件队列"
    title_en = "Case queue"
    icon = "☷"
    description_zh = "下一件该办哪件？全部案件可排序筛选，键盘签收、派遣、督办"
    description_en = (
        "Which case next? Every case, sorted and filtered; sign, dispatch, chase by key"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "sound": Setting("bool", True, "新紧急案件响铃", "Sound for new urgent cases"),
    }
    # (text, is_error): what every key did, for the window's status line (the shell
    # connects it; the banner shows the same inside the panel).
    said = Signal(str, bool)

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.model = CaseQueueModel(ctx.store, parent=self)
        self._awaiting: dict[str, str] = {}  # outbox key -> case id of a queued action
        self._pinned_said = ""  # the kept row's note last said (said once, not per re-sort)
        self._first_row_wanted = False  # start_focus came before the first cases
        self._current_id = ""  # the current row's case, by id (kept across a store reset)
        self._palette: list[QAction] = []
        self.view = CaseQueueView(self.model, self.body)
        self.saved = SavedFilters(config_dir() / "queue_filters.json")
        assert ctx.alarms is not None  # the context's one engine (PanelContext)
        self.alarms: AlarmEngine = ctx.alarms
        self.message = ""
        self._build_filter_bar()
        self.banner = QLabel(self.body)
        self.banner.setObjectName("queueBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.ack_button = QPushButton(self.body)
        self.ack_button.setObjectName("queueBannerAck")
        self.ack_button.clicked.connect(self.acknowledge_attention)
        self.ack_button.setVisible(False)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.ack_button)
        self.keys_label = QLabel(self.body)
        self.keys_label.setObjectName("sectionNote")
        self.keys_label.setTextFormat(Qt.TextFormat.RichText)  # ours: no feed text in it
        self.key_states: dict[Action, bool] = {}  # which action keys fit the current case
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(self.filter_row)
        layout.addWidget(self.tabs)
        layout.addWidget(self.stages)
        layout.addLayout(banner_row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.keys_label)
        self._requery_timer = self.timer(REQUERY_MS, self._requery_due)
        self._requery_timer.stop()
        self._requery_timer.setSingleShot(True)
        self._text_timer = self.timer(200, self._apply_text)
        self._text_timer.stop()
        self._text_timer.setSingleShot(True)
        self._flash_timer = self.timer(FLASH_MS, self._flash)
        self._flash_timer.stop()
        self._last_requery = 0.0
        self._heavy_at = 0.0  # when the last heavy job ran (one per frame: see the module)
        self._tick_at = time.monotonic()  # the bridge's last tick (the alarms' frame)
        self._countdown_timer = self.timer(COUNTDOWN_PHASE_MS, self._refresh_countdowns)
        self._countdown_timer.stop()
        self._countdown_timer.setSingleShot(True)
        self._alarm_timer = self.timer(FRAME_MS, self._catch_up_alarms)
        self._alarm_timer.stop()
        self._alarm_timer.setSingleShot(True)
        self._select_timer = self.timer(150, self._publish_current)
        self._select_timer.stop()
        self._select_timer.setSingleShot(True)
        self._recount_timer = self.timer(REQUERY_MS, self._recount)
        self._recount_timer.stop()
        self._recount_timer.setSingleShot(True)
        self._install_keys()
        self.listen(self.view.selectionModel().currentRowChanged, self._on_current)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(ctx.bridge.tick, self._on_tick)
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.hold(self.alarms.subscribe(lambda _c: self._refresh_flash()))
        if ctx.outbox is not None:
            for item in ctx.outbox.unresolved() + ctx.outbox.needs_attention():
                self.model.markers[item.case_id] = item
            self.hold(ctx.outbox.subscribe(self._on_outbox))
        self.retranslate()
        self.model.requery()
        self._update_count()
        self._update_banner()
        self._refresh_flash()
        self.setFocusProxy(self.view)  # the panel focused (a dock's tab, the shell): keys

    def start_focus(self) -> QWidget:
        """Where the keyboard goes when the console starts: the list, its first row
        current, so j/k and the action keys work before any click."""
        self._first_row_wanted = True  # cases may arrive later (the feed connects)
        self._take_first_row()
        return self.view

    def _take_first_row(self) -> None:
        if self._first_row_wanted and self.model.rowCount():
            self._first_row_wanted = False
            if self.view.currentIndex().row() < 0:
                self.view.selectRow(0)

    # ---- building ------------------------------------------------------------------------

    def _combo(self, name: str) -> QComboBox:
        box = QComboBox(self.body)
        box.setObjectName(name)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.listen(box.activated, self._apply_combos)
        return box

    def _build_filter_bar(self) -> None:
        self.search = QLineEdit(self.body)
        self.search.setObjectName("queueSearch")
        self.search.setClearButtonEnabled(True)
        self.listen(self.search.textChanged, lambda _t: self._text_timer.start())
        self.state_box = self._combo("queueState")
        self.level_box = self._combo("queueLevel")
        self.area_box = self._combo("queueArea")
        self.category_box = self._combo("queueCategory")
        self.source_box = self._combo("queueSource")
        self.saved_box = QComboBox(self.body)
        self.saved_box.setObjectName("queueSaved")
        self.listen(self.saved_box.activated, self._apply_saved)
        self.save_button = QToolButton(self.body)
        self.save_button.setObjectName("queueSaveFilter")
        self.save_button.clicked.connect(self.save_current_filter)
        self.mute_button = QToolButton(self.body)
        self.mute_button.setObjectName("queueMute")
        self.mute_button.setCheckable(True)
        self.mute_button.setChecked(common.sounds().muted)
        self.mute_button.toggled.connect(self._on_mute)
        self.count_label = QLabel(self.body)
        self.count_label.setObjectName("sectionNote")
        self.search.installEventFilter(self)
        self.tabs = QTabBar(self.body)
        self.tabs.setObjectName("queueTabs")
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # 1-6 switch them from the list
        for duty in TABS:
            self.tabs.setTabData(self.tabs.addTab(""), duty)
        self.stages = QTabBar(self.body)
        self.stages.setObjectName("queueStages")
        self.stages.setExpanding(False)
        self.stages.setDrawBase(False)
        self.stages.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for stage in ("", *STAGES):
            self.stages.setTabData(self.stages.addTab(""), stage)
        self.stages.setVisible(False)
        self.listen(self.tabs.currentChanged, self._apply_tab)
        self.listen(self.stages.currentChanged, self._apply_tab)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.search, 2)
        for w in (self.state_box, self.level_box, self.area_box, self.category_box):
            row.addWidget(w)
        row.addWidget(self.source_box)
        row.addWidget(self.saved_box)
        row.addWidget(self.save_button)
        row.addWidget(self.mute_button)
        row.addWidget(self.count_label)
        self.filter_row = row

    def _install_keys(self) -> None:
        keys = self.view.key_actions
        keys[Qt.Key.Key_J] = lambda: self.move(1)
        keys[Qt.Key.Key_K] = lambda: self.move(-1)
        keys[Qt.Key.Key_A] = self.acknowledge_current
        keys[Qt.Key.Key_Slash] = self.focus_search
        for letter, action in common.ACTION_KEYS.items():
            keys[Qt.Key(ord(letter))] = lambda a=action: self.act(a)
        for i in range(len(TABS)):
            keys[Qt.Key(Qt.Key.Key_1 + i)] = lambda i=i: self.tabs.setCurrentIndex(i)
        keys[Qt.Key.Key_BracketLeft] = lambda: self._step_stage(-1)
        keys[Qt.Key.Key_BracketRight] = lambda: self._step_stage(1)
        self.view.unknown_key = lambda key: self.say(
            zh_en(
                "“{key}”键没有操作：可用的键见列表下方",
                "No action on “{key}”: the keys are listed under the table",
            ).format(key=key),
            error=True,
        )
        # Enter/Return: the view's own ``activated`` signal.
        self.listen(self.view.activated, lambda _i: self.open_current())

    def _fill_combos(self) -> None:
        zh = is_chinese()
        any_ = zh_en("全部", "All")

        def fill(box: QComboBox, head: str, items: list[tuple[str, Any]]) -> None:
            current = box.currentData()
            box.clear()
            box.addItem(f"{head}：{any_}" if zh else f"{head}: {any_}", None)
            for label, value in items:
                box.addItem(label, value)
            i = box.findData(current)
            box.setCurrentIndex(max(0, i))

        fill(
            self.state_box,
            zh_en("状态", "State"),
            [(zh_en("在办", "Open"), "__open__")] + [(state_label(s), s.value) for s in CaseState],
        )
        fill(
            self.level_box,
            zh_en("预警", "Warning"),
            [
                (zh_en("红", "Red"), "red"),
                (zh_en("黄", "Yellow"), "yellow"),
                (zh_en("蓝", "Blue"), "blue"),
                (zh_en("已超期", "Overdue"), "__overdue__"),
            ],
        )
        store = self.ctx.store
        towns = store._interners["township"].values
        fill(
            self.area_box,
            zh_en("乡镇", "Township"),
            sorted(((store.display_name(t), t) for t in towns if t), key=lambda x: x[0]),
        )
        cats = store._interners["category"].values
        fill(self.category_box, zh_en("类别", "Category"), [(c, c) for c in sorted(cats) if c])
        fill(self.source_box, zh_en("来源", "Source"), [(source_label(s), s.value) for s in Source])
        self.saved_box.clear()
        self.saved_box.addItem(zh_en("常用筛选…", "Saved filters…"), None)
        for name in self.saved.names():
            self.saved_box.addItem(saved_filter_label(name), name)

    # ---- filtering -----------------------------------------------------------------------

    def current_filter(self) -> QueueFilter:
        return self.model.filter

    def set_filter(self, flt: QueueFilter) -> None:
        """Show ``flt`` (and reflect it in the bar, as far as single choices can)."""
        self.model.filter = flt
        self._sync_bar()
        self.model.requery()
        self._after_requery()

    def _sync_bar(self) -> None:
        flt = self.model.filter
        self.search.blockSignals(True)
        self.search.setText(flt.text)
        self.search.blockSignals(False)
        for bar, value in ((self.tabs, flt.duty), (self.stages, flt.stage)):
            bar.blockSignals(True)
            bar.setCurrentIndex(
                max(0, next((i for i in range(bar.count()) if bar.tabData(i) == value), 0))
            )
            bar.blockSignals(False)
        self.stages.setVisible(flt.duty in STAGED_QUEUES)

        def pick(box: QComboBox, value: Any) -> None:
            box.setCurrentIndex(max(0, box.findData(value)))

        state = flt.states[0] if len(flt.states) == 1 else ("__open__" if flt.open_only else None)
        pick(self.state_box, state)
        level = flt.levels[0] if len(flt.levels) == 1 else None
        pick(self.level_box, "__overdue__" if flt.overdue_only else level)
        pick(self.area_box, flt.townships[0] if len(flt.townships) == 1 else None)
        pick(self.category_box, flt.categories[0] if len(flt.categories) == 1 else None)
        pick(self.source_box, flt.sources[0] if len(flt.sources) == 1 else None)

    def _apply_text(self) -> None:
        self._text_timer.stop()
        if self.model.filter.text != self.search.text():
            self.model.filter.text = self.search.text()
            self._requery_now()

    def _apply_tab(self, *_: object) -> None:
        flt = self.model.filter
        flt.duty = str(self.tabs.tabData(self.tabs.currentIndex()) or "")
        staged = flt.duty in STAGED_QUEUES
        flt.stage = str(self.stages.tabData(self.stages.currentIndex()) or "") if staged else ""
        self.stages.setVisible(staged)
        self._requery_now()
        if self.view.currentIndex().row() < 0 and self.model.rowCount():
            self.view.selectRow(0)  # a new list: the cursor on its first case, keys ready
        self.say(
            zh_en("{queue}：{n} 件", "{queue}: {n}").format(
                queue=self._tab_title(), n=f"{self.model.shown_in_filter():,}"
            )
        )

    def _step_stage(self, step: int) -> None:
        """[ and ]: the previous or next stage of 将超期/已超期 (other tabs have none)."""
        if self.model.filter.duty not in STAGED_QUEUES:
            self.say(
                zh_en("仅“将超期”“已超期”分环节", "Only the breach tabs split by stage"),
                error=True,
            )
            return
        n = self.stages.count()
        self.stages.setCurrentIndex((self.stages.currentIndex() + step) % n)

    def _tab_title(self) -> str:
        flt = self.model.filter
        title = duty_label(flt.duty)
        return f"{title} · {stage_label(flt.stage)}" if flt.stage else title

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the search box Down, Enter and Esc go to the results (letters are typed)."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
                self._apply_text()
                self.view.setFocus(Qt.FocusReason.OtherFocusReason)
                if self.model.rowCount() and (
                    key != Qt.Key.Key_Escape or self.view.currentIndex().row() < 0
                ):
                    self.view.selectRow(0)
                self.say(
                    zh_en(
                        "{n} 件结果：j/k 选择，s 签收，d 派遣",
                        "{n} results: j/k choose, s sign, d dispatch",
                    ).format(n=f"{self.model.shown_in_filter():,}")
                )
                return True
        return super().eventFilter(watched, event)

    def _apply_combos(self, *_: object) -> None:
        flt = self.model.filter
        state = self.state_box.currentData()
        flt.open_only = state == "__open__"
        flt.states = (state,) if state and state != "__open__" else ()
        level = self.level_box.currentData()
        flt.overdue_only = level == "__overdue__"
        flt.levels = (level,) if level and level != "__overdue__" else ()
        town = self.area_box.currentData()
        flt.townships = (town,) if town else ()
        cat = self.category_box.currentData()
        flt.categories = (cat,) if cat else ()
        src = self.source_box.currentData()
        flt.sources = (src,) if src else ()
        self._requery_now()

    def _apply_saved(self, *_: object) -> None:
        name = self.saved_box.currentData()
        flt = self.saved.get(name) if name else None
        if flt is not None:
            self.set_filter(flt)

    def save_current_filter(self, name: str | None = None) -> str | None:
        """Save the filter under a name (asked when not given); returns the name."""
        if not isinstance(name, str):
            name = common.prompt_text(
                self, zh_en("保存筛选", "Save filter"), zh_en("名称：", "Name:")
            )
        if not name:
            return None
        try:
            self.saved.save(name, self.model.filter)
        except ValueError as err:
            self.show_message(str(err), error=True)
            return None
        self._fill_combos()
        self.saved_box.setCurrentIndex(max(0, self.saved_box.findData(name)))
        return name

    # ---- live ------------------------------------------------------------------------------

    def _on_changed(self, cs: ChangeSet) -> None:
        if not (cs.reset or cs.cases_created or cs.cases_updated):
            return
        self.model.index_.mark_dirty()
        if cs.reset:
            # The store numbered its rows anew: the list's rows now point at other cases
            # (read through them, the current row named a closed case, which was then
            # kept on screen as if the officer had been on it). Queried again at once,
            # the current case kept by its id.
            self.model.rows_stale = True
            self._fill_combos()
            current = self.current_case_id()
            self._requery_now(keep_current=True)
            if current:
                self._show_case(current)
            self._refresh_keys()
            return
        if self.current_case_id() in cs.cases_updated:
            self._refresh_keys()
        if self._requery_timer.isActive():
            return  # a re-query is due anyway and will show these changes too
        if (
            not cs.reset
            and not cs.cases_created
            and self.model.update_in_place(cs.cases_updated, *self.view.visible_rows())
        ):
            if not self._recount_timer.isActive():
                self._recount_timer.start()  # other tabs' numbers may have moved
            return
        wait = REQUERY_MS - (time.monotonic() - self._last_requery) * 1000
        self._requery_timer.start(max(0, int(wait)))

    def _requery_due(self) -> None:
        """The coalesced re-query after live changes; waits a frame when a heavy job (the
        tick's alarm evaluation, the countdown refresh) already ran in this one."""
        now = time.monotonic()
        since_tick = (now - self._tick_at) % (TICK_MS / 1000)
        # The tick is a coarse timer (up to 5% late): keep clear of it on both sides.
        if now - self._heavy_at < HEAVY_GAP_S or since_tick > TICK_MS / 1000 - 2 * HEAVY_GAP_S:
            self._requery_timer.start(FRAME_MS)
            return
        self._requery_now(keep_current=True)
        self._heavy_at = time.monotonic()

    def _requery_now(self, keep_current: bool = False) -> None:
        """``keep_current``: a live change (not the officer's filter) re-sorts: the current
        case stays shown even when it left the filter (``CaseQueueModel.pinned``)."""
        self._requery_timer.stop()
        self._last_requery = time.monotonic()
        self.model.requery(self.current_case_id() if keep_current else "")
        self._after_requery()
        note = self.model.pinned_note()
        if note and note != self._pinned_said:
            self.show_message(f"{self.model.pinned} {note}")
        self._pinned_said = note

    def _recount(self) -> None:
        self.model.recount()
        self._update_count()

    def _after_requery(self) -> None:
        self._update_count()
        self._take_first_row()
        sel = self.ctx.selection.case_ids
        if sel and self.view.currentIndex().row() < 0:
            self._show_case(sel[0])

    def _on_tick(self) -> None:
        # This frame holds the alarm evaluation (ours, or main.py's on the same tick): the
        # countdowns follow COUNTDOWN_PHASE_MS later, a re-query waits (``_requery_due``).
        self._heavy_at = self._tick_at = time.monotonic()
        if self.alarms.behind:  # main.py's engine evaluated first (connected before us)
            self._alarm_timer.start(FRAME_MS)
        self._countdown_timer.start(COUNTDOWN_PHASE_MS)
        now = time.time()
        stale = [
            cid
            for cid, it in self.model.markers.items()
            if it.state is ItemState.CONFIRMED and now - it.updated_at > CONFIRMED_SHOWN_S
        ]
        for cid in stale:
            del self.model.markers[cid]
        if stale:
            self.model.announce_cases(set(stale))
        if self.settings["sound"] and self.model.flashing:
            common.sounds().play("critical")

    def _catch_up_alarms(self) -> None:
        """The alarms the last evaluation had no budget for, one frame's worth at a time
        (waits a frame when a heavy job already ran in this one; the tick restarts it)."""
        if time.monotonic() - self._heavy_at < HEAVY_GAP_S:
            self._alarm_timer.start(FRAME_MS)
            return
        self.alarms.catch_up()
        self._heavy_at = time.monotonic()
        if self.alarms.behind:
            self._alarm_timer.start(FRAME_MS)

    def _refresh_countdowns(self) -> None:
        """Countdowns, levels and ages of the visible rows; reuses a re-query's arrays when
        one ran in the last half second, else evaluates them (and marks the frame busy)."""
        if self.model.refresh_columns():
            self._heavy_at = time.monotonic()
            self._update_count()
            # Time moved cases into (or out of) 将超期/已超期: the list follows its count.
            active = self.model.counts.get((self.model.filter.duty, self.model.filter.stage))
            moved = active is not None and active != self.model.shown_in_filter()
            if moved and not self._requery_timer.isActive():
                self._requery_timer.start(FRAME_MS)
        self.model.tick(*self.view.visible_rows())

    def _on_outbox(self, item: OutboxItem) -> None:
        if self.torn_down:
            return
        if item.case_id == self.current_case_id():
            self._refresh_keys()  # a queued 签收 opens 派遣 at once
        self.model.markers[item.case_id] = item
        self.model.announce_cases({item.case_id})
        if item.key in self._awaiting and item.is_resolved:
            # The answer to an action of this console: "待服务器确认" gives way to it.
            del self._awaiting[item.key]
            label = common.action_label(item.action)
            if item.state is ItemState.CONFIRMED:
                self.show_message(
                    zh_en("{case} {action}：服务器已确认", "{case} {action}: confirmed").format(
                        case=item.case_id, action=label
                    )
                )
            else:
                self.show_message(
                    f"{item.case_id} {label}：{common.item_state_label(item.state)} — "
                    f"{common.refusal_text(item.reason)}",
                    error=True,
                )
            return
        if item.state in NEEDS_ATTENTION or item.state is ItemState.CONFIRMED:
            self._update_banner()

    def _refresh_flash(self) -> None:
        if self.torn_down:
            return
        loud = self.alarms.loud_case_ids()
        before = self.model.flashing
        self.model.flashing = loud
        if loud and not self._flash_timer.isActive():
            self._flash_timer.start()
        elif not loud and self._flash_timer.isActive():
            self._flash_timer.stop()
            self.model.flash_on = False
        if before ^ loud:
            self.model.announce_cases(before ^ loud)

    def _flash(self) -> None:
        self.model.flash_on = not self.model.flash_on
        self.model.announce_cases(self.model.flashing)

    # ---- selection -----------------------------------------------------------------------

    def current_case_id(self) -> str:
        if self.model.rows_stale:  # the rows point at other cases until the requery
            return self._current_id
        self._current_id = self.model.case_id_at(self.view.currentIndex().row())
        return self._current_id

    def _on_current(self, *_: object) -> None:
        self.current_case_id()  # noted by id: a store reset renumbers the rows under it
        self._select_timer.start()  # j/k held down should not rebuild the detail each row
        if self.model.pinned and self.current_case_id() != self.model.pinned:
            QTimer.singleShot(0, self._drop_pinned)  # not while the view changes rows

    def _drop_pinned(self) -> None:
        if self.torn_down or not self.model.pinned:
            return
        if self.current_case_id() != self.model.pinned and self.model.drop_pinned():
            self._update_count()

    def move(self, step: int) -> bool:
        """j/k: the next or previous case; at either end the status line says so."""
        moved = self.view.move(step)
        case = self.ctx.store.case(self.current_case_id()) if moved else None
        if case is not None:  # the line says which case the keys now act on
            state = (
                self.ctx.outbox.project_state(case.id, case.state)
                if self.ctx.outbox
                else case.state
            )
            self.say(f"{case.id} · {state_label(state)} · {case.category}")
        if not moved:
            self.say(
                zh_en("已是最后一件", "Already at the last case")
                if step > 0
                else zh_en("已是第一件", "Already at the first case")
            )
        return moved

    # The legend's action keys, in order, and what each is called there.
    LEGEND: ClassVar[tuple[Action, ...]] = (
        Action.SIGN,
        Action.ASSIGN,
        Action.RETURN,
        Action.ESCALATE,
        Action.EXTEND,
        Action.VERIFY,
        Action.CALL_BACK,
    )

    def _refresh_keys(self) -> None:
        """The key legend, the keys that cannot apply to the current case greyed and
        struck through (the detail's buttons and the palette say the same)."""
        cid = self.current_case_id()
        case = self.ctx.store.case(cid) if cid else None
        c = theme.colors()
        # An action key fits when its action, or the one it stands for here, does.
        alternatives = {Action.RETURN: (Action.REJECT,), Action.CALL_BACK: (Action.EVALUATE,)}
        parts = [zh_en("j/k 上下", "j/k move"), zh_en("Enter 打开", "Enter open")]
        self.key_states = {}
        for action in self.LEGEND:
            fits = case is not None and any(
                desk.refusal_reason(self.ctx, case, a) is None
                for a in (action, *alternatives.get(action, ()))
            )
            self.key_states[action] = fits
            text = f"{common.KEY_OF_ACTION[action].lower()} {common.action_label(action.value)}"
            parts.append(
                html.escape(text)
                if fits
                else f"<span style='color:{c['text_dim']}; text-decoration: line-through'>"
                f"{html.escape(text)}</span>"
            )
        parts += [
            zh_en("a 确认告警", "a acknowledge"),
            zh_en("1–6 队列", "1–6 queues"),
            zh_en("[ ] 环节", "[ ] stage"),
            zh_en("/ 搜索", "/ search"),
        ]
        self.keys_label.setText(" · ".join(parts))
        self.keys_label.setToolTip(
            zh_en(
                "划去的键不适用于当前案件（按下会说明原因）",
                "Struck-out keys do not apply to the current case (pressing one says why)",
            )
        )

    def _publish_current(self) -> None:
        self._refresh_keys()
        cid = self.current_case_id()
        if cid:
            self.ctx.selection.select([cid], self.selection_origin)

    def open_current(self) -> None:
        self._select_timer.stop()
        self._publish_current()
        cid = self.current_case_id()
        self.say(
            zh_en("{case} 已在详情中打开", "{case} opened in the detail").format(case=cid)
            if cid
            else desk.no_case().message,
            error=not cid,
        )

    def _on_selection(self, selection: Selection) -> None:
        if selection.origin == self.selection_origin or not selection.case_ids:
            return
        self._show_case(selection.case_ids[0])

    def _show_case(self, case_id: str) -> bool:
        pos = self.model.position_of(case_id)
        if pos < 0:
            return False
        sm = self.view.selectionModel()
        self.view.blockSignals(True)
        sm.blockSignals(True)
        self.view.selectRow(pos)
        sm.setCurrentIndex(self.model.index(pos, 0), sm.SelectionFlag.NoUpdate)
        sm.blockSignals(False)
        self.view.blockSignals(False)
        self._current_id = case_id  # _on_current is not told (signals blocked)
        self.view.scrollTo(self.model.index(pos, 0))
        self.view.viewport().update()
        return True

    def select_case(self, case_id: str) -> bool:
        """Make ``case_id`` the current row (tests and other panels); False if filtered out."""
        pos = self.model.position_of(case_id)
        if pos < 0:
            return False
        self.view.setCurrentIndex(self.model.index(pos, 0))
        self.view.selectRow(pos)
        return True

    # ---- actions -------------------------------------------------------------------------

    def act(self, action: Action, case_id: str | None = None) -> common.Outcome | None:
        """The officer pressed an action key (or chose it in the palette) on a case: the
        current one unless ``case_id`` says which (it becomes the current one if shown)."""
        if case_id and case_id != self.current_case_id():
            self.select_case(case_id)
        cid = case_id or self.current_case_id()
        return desk.run_action(self, self.ctx, cid, action, self._report)

    def open_dispatch(self, case_id: str) -> Any:
        """The dispatch dialog for ``case_id`` (or the refusal, when it cannot be)."""
        out = desk.run_action(self, self.ctx, case_id, Action.ASSIGN, self._report)
        return out if out is not None else self.dispatch_dialog

    def _report(self, outcome: common.Outcome) -> None:
        if outcome.item is not None and not outcome.item.is_resolved:
            self._awaiting[outcome.item.key] = outcome.item.case_id
        self.show_message(outcome.message, error=not outcome.ok)

    def palette_actions(self, query: str = "") -> list[QAction]:
        """The case actions the command palette offers: the current case's, and those of
        any case whose id is typed ("PD0000123"), enabled as the life cycle allows."""
        for act in self._palette:
            act.deleteLater()
        ids = [c for c in (self.current_case_id(), *self.ctx.selection.case_ids[:1]) if c]
        for word in query.replace(",", " ").split():
            if self.ctx.store.case(word.upper()) is not None:
                ids.append(word.upper())
            elif self.ctx.store.case(word) is not None:
                ids.append(word)
        self._palette = desk.palette_actions(
            self, self.ctx, ids, lambda cid, action: self.act(action, cid)
        )
        return list(self._palette)

    def acknowledge_current(self) -> int:
        cid = self.current_case_id()
        n = self.alarms.acknowledge_case(cid, "", self.ctx.actor, self.ctx.role.value) if cid else 0
        if n:
            self.show_message(
                zh_en("{case}：已确认 {n} 条告警", "{case}: {n} alarm(s) acknowledged").format(
                    case=cid, n=n
                )
            )
        elif cid:
            self.say(
                zh_en("{case}：没有待确认的告警", "{case}: no alarm to acknowledge").format(
                    case=cid
                )
            )
        else:
            self.say(desk.no_case().message, error=True)
        self._refresh_flash()
        return n

    def acknowledge_attention(self) -> None:
        if self.ctx.outbox is None:
            return
        for item in self.ctx.outbox.needs_attention():
            self.ctx.outbox.acknowledge(item.key)
        self.message = ""
        self._update_banner()

    # ---- messages ------------------------------------------------------------------------

    def show_message(self, text: str, error: bool = False) -> None:
        """In the banner until the next message, and on the window's status line."""
        self.message = text
        self._message_error = error
        self._update_banner()
        self.say(text, error)

    def say(self, text: str, error: bool = False) -> None:
        """On the window's status line only (movement, counts, notes)."""
        if not self.torn_down:
            self.said.emit(text, error)

    def _update_banner(self) -> None:
        attention = self.ctx.outbox.needs_attention() if self.ctx.outbox is not None else []
        lines = []
        for item in attention[-3:]:
            reason = common.refusal_text(item.reason)
            lines.append(f"{common.marker_text(item)} · {item.case_id}：{reason}")
        error = bool(attention) or getattr(self, "_message_error", False)
        if self.message and not (attention and self.message in lines):
            lines.insert(0, self.message)
        text = "\n".join(lines)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.ack_button.setVisible(bool(attention))
        c = theme.colors()
        bg, fg = (c["red_bg"], c["text_strong"]) if error else (c["surface2"], c["text"])
        border = c["red"] if error else c["border_strong"]
        self.banner.setStyleSheet(
            f"QLabel#queueBanner {{ background: {bg}; color: {fg}; border-left: 4px solid"
            f" {border}; padding: 4px 8px; font-weight: bold; }}"
        )

    def _update_count(self) -> None:
        self._update_tabs()
        self.count_label.setText(
            zh_en("{shown} / 共 {total} 件", "{shown} of {total}").format(
                shown=f"{self.model.rowCount():,}", total=f"{len(self.ctx.store):,}"
            )
        )

    def _update_tabs(self) -> None:
        """'待签收 12': every tab with the rows it would show (``CaseQueueModel.counts``)."""
        counts = self.model.counts
        duty = self.model.filter.duty
        for i in range(self.tabs.count()):
            d = str(self.tabs.tabData(i) or "")
            n = counts.get((d, ""))
            self.tabs.setTabText(i, duty_label(d) + (f" {n:,}" if n is not None else ""))
            self.tabs.setTabToolTip(i, zh_en("按 {key} 切换", "Key {key}").format(key=i + 1))
        for i in range(self.stages.count()):
            st = str(self.stages.tabData(i) or "")
            n = counts.get((duty, st)) if duty in STAGED_QUEUES else None
            self.stages.setTabText(i, stage_label(st) + (f" {n:,}" if n is not None else ""))

    def _on_mute(self, muted: bool) -> None:
        common.sounds().muted = muted
        self.mute_button.setText(
            zh_en("已静音", "Muted") if muted else zh_en("提示音开", "Sound on")
        )

    # ---- language, teardown ----------------------------------------------------------------

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "model") or self.torn_down:
            return
        self.model.retranslate()
        self.search.setPlaceholderText(
            zh_en("搜索编号、标题、地址、承办单位…", "Search id, title, address, assignee…")
        )
        self.save_button.setText(zh_en("保存", "Save"))
        self.save_button.setToolTip(
            zh_en("将当前筛选条件保存为常用筛选", "Save the current filter under a name")
        )
        self._on_mute(self.mute_button.isChecked())
        self.mute_button.setToolTip(zh_en("关闭告警提示音", "Mute the alarm tones"))
        self.ack_button.setText(zh_en("知道了", "Seen"))
        self._refresh_keys()
        self._fill_combos()
        self._sync_bar()
        self._update_count()
        self.view.apply_metrics()

    def on_teardown(self) -> None:
        self.view.key_actions.clear()  # the lambdas hold the panel
        self.view.unknown_key = None
        self.search.removeEventFilter(self)
        dlg = getattr(self, "dispatch_dialog", None)
        if dlg is not None and shiboken6.isValid(dlg):
            dlg.close()
