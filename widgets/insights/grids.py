"""The "grid_stats" panel: what is in each grid, and did its worker patrol today?

Per township (the sum of its grids) or per grid: the four actuals (四实: population,
houses, units, facilities), the grid worker, patrols done today against the twice-daily
norm (一日双巡: a grid meets it with 2 patrols), and events reported today. Numbers come
straight from the feed's ``grid.stats`` (``store.grids``); a township row adds up its
grids.

Patrols are judged against what is DUE by now on the hall's clock (``hall_time``), not
against the whole day's norm: one patrol per grid is due by the end of the morning
window (SETTINGS ``morning_by``, default 12:00), the second by the end of the afternoon
window (``afternoon_by``, default 18:00). At 11:19 no grid is behind yet, so the cell reads
"上午应巡 417/452" (the morning round's progress, uncoloured); from 12:00 a grid with no
patrol is behind and its township is coloured; from 18:00 the full 一日双巡 is judged.
A ✓ marks a row whose grids have all done the round under way. Clicking a row selects that grid's or township's cases filed today, so the map and
the queue show what was reported there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout

from commandcenter import hall_time
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.registry import register
from widgets.table_model import LEFT, RIGHT, Column, TableModel

PATROL_NORM = 2  # 一日双巡
MORNING_BY = 12  # local hour by which the first patrol is due (panel setting default)
AFTERNOON_BY = 18  # local hour by which the second patrol is due


def patrols_due(now: float, morning_by: int = MORNING_BY, afternoon_by: int = AFTERNOON_BY) -> int:
    """Patrols each grid owes by ``now`` on the hall's clock: 0, 1 or PATROL_NORM."""
    t = hall_time.local(now)
    hour = t.hour + t.minute / 60 + t.second / 3600
    if hour < morning_by:
        return 0
    return 1 if hour < afternoon_by else PATROL_NORM


def patrol_round(due: int) -> int:
    """The patrol count of the round under way (or just finished) given ``due``."""
    return min(due + 1, PATROL_NORM) if due < PATROL_NORM else PATROL_NORM


@dataclass(slots=True)
class GridRow:
    """One row: a grid, or a township adding up its grids."""

    key: str  # grid id or township code
    name: str
    township: str
    grids: int
    population: int
    houses: int
    units: int
    facilities: int
    worker: str
    patrols: int  # patrols done today (sum over grids for a township)
    patrol_met: int  # grids with at least PATROL_NORM patrols
    events: int
    patrol_once: int = 0  # grids with at least one patrol

    def done(self, k: int) -> int:
        """Grids with at least ``k`` patrols."""
        if k <= 0:
            return self.grids
        return self.patrol_once if k == 1 else self.patrol_met


def grid_rows(store: Any, by: str = "township") -> list[GridRow]:
    """Rows per grid or per township from ``store.grids`` (township rows sum their grids)."""
    rows: dict[str, GridRow] = {}
    for g in store.grids.values():
        town = str(getattr(g, "township", ""))
        met = int(int(g.patrols_today) >= PATROL_NORM)
        once = int(int(g.patrols_today) >= 1)
        if by == "grid":
            rows[g.id] = GridRow(
                g.id,
                str(g.name or store.display_name(g.id)),
                store.display_name(town),
                1,
                int(g.population),
                int(g.houses),
                int(g.units),
                int(g.facilities),
                str(g.worker),
                int(g.patrols_today),
                met,
                int(g.events_today),
                once,
            )
            continue
        r = rows.get(town)
        if r is None:
            r = rows[town] = GridRow(town, store.display_name(town), "", 0, 0, 0, 0, 0, "", 0, 0, 0)
        r.grids += 1
        r.population += int(g.population)
        r.houses += int(g.houses)
        r.units += int(g.units)
        r.facilities += int(g.facilities)
        r.patrols += int(g.patrols_today)
        r.patrol_met += met
        r.patrol_once += once
        r.events += int(g.events_today)
    return sorted(rows.values(), key=lambda r: (r.township, r.key))


COLUMNS: tuple[Column, ...] = (
    Column("名称", "Name", LEFT, key="name"),
    Column("网格员", "Grid worker", LEFT, key="worker"),
    Column("实有人口", "Population", RIGHT, key="population"),
    Column("实有房屋", "Houses", RIGHT, key="houses"),
    Column("实有单位", "Units", RIGHT, key="units"),
    Column("实有设施", "Facilities", RIGHT, key="facilities"),
    Column("今日巡查", "Patrols today", RIGHT, key="patrols"),
    Column("今日上报", "Events today", RIGHT, key="events"),
)


class GridModel(TableModel):
    COLUMNS = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.by = "township"
        self.due = PATROL_NORM  # patrols owed by now (patrols_due)

    def set_rows(self, rows: list[GridRow], by: str = "township", due: int = PATROL_NORM) -> None:
        self.by, self.due = by, due
        super().set_rows(rows)

    def columns(self) -> list[int]:
        """Visible column indexes: a township row has no single worker."""
        return [i for i, c in enumerate(COLUMNS) if not (c.key == "worker" and self.by != "grid")]

    def text(self, r: GridRow, key: str) -> str:
        if key == "name":
            return r.name if self.by != "grid" else f"{r.name}"
        if key == "worker":
            return r.worker
        if key == "patrols":
            k = patrol_round(self.due)
            tick = " ✓" if r.done(k) >= r.grids else ""
            if self.by == "grid":
                return f"{r.patrols}/{PATROL_NORM}{tick}"
            if k == 1:
                label = zh_en("上午应巡", "Morning")
            else:
                label = (
                    (zh_en("下午应巡", "Afternoon"))
                    if self.due < k
                    else (zh_en("一日双巡", "Twice"))
                )
            return f"{label} {r.done(k)}/{r.grids}{tick}"
        return f"{int(getattr(r, key)):,}"

    def display(self, r: GridRow, col: int) -> str:
        return self.text(r, COLUMNS[col].key)

    def cell(self, r: GridRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and COLUMNS[col].key == "patrols":
            return self.colour(r)
        return None

    def tooltip(self, r: GridRow, col: int) -> str:
        if COLUMNS[col].key != "patrols":
            return ""
        behind = self.behind(r)
        if is_chinese():
            return (
                f"一日双巡：每个网格上午（截止时刻见面板设置）巡查 1 次、下午再巡 1 次。"
                f"此刻应已巡 {self.due} 次；今日共巡查 {r.patrols} 次，"
                f"已巡 1 次的网格 {r.patrol_once}/{r.grids}，已巡 2 次的 {r.patrol_met}/{r.grids}，"
                f"落后于应巡次数的 {behind} 个。"
            )
        return (
            f"Twice-daily patrols: one patrol per grid in the morning, one in the afternoon "
            f"(deadlines in the panel settings). {self.due} due by now; {r.patrols} "
            f"patrols today; {r.patrol_once} of {r.grids} grids patrolled once, "
            f"{r.patrol_met} twice; {behind} behind what is due."
        )

    def behind(self, r: GridRow) -> int:
        """Grids of the row with fewer patrols than are due by now."""
        return r.grids - r.done(self.due)

    def colour(self, r: GridRow) -> Any:
        """Green when the round under way is done; amber or red only for grids behind
        what is due (none are before the morning deadline); otherwise the plain text."""
        if r.done(patrol_round(self.due)) >= r.grids:
            return theme.color("green")
        behind = self.behind(r)
        if not behind:
            return None
        return theme.color("red") if behind > r.grids / 2 else theme.color("amber")


@register
class GridStatsPanel(Panel):
    name = "grid_stats"
    title_zh = "网格统计"
    title_en = "Grid statistics"
    icon = "▦"
    description_zh = "各网格、乡镇的四实底数，网格员今日是否完成一日双巡，上报了多少事件"
    description_en = (
        "Per grid and township: the four actuals, and whether grid workers patrolled "
        "twice today and what they reported"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "by": Setting(
            "choice",
            "township",
            "统计单位",
            "Rows",
            choices=("township", "grid"),
            choice_labels_zh=("乡镇", "网格"),
            choice_labels_en=("Township", "Grid"),
        ),
        # 一日双巡 deadlines on the hall's clock: the first patrol is due by morning_by,
        # the second by afternoon_by (local hours)
        "morning_by": Setting(
            "int",
            MORNING_BY,
            "上午巡查截止（时）",
            "Morning patrol due by (hour)",
            minimum=6,
            maximum=14,
        ),
        "afternoon_by": Setting(
            "int",
            AFTERNOON_BY,
            "下午巡查截止（时）",
            "Afternoon patrol due by (hour)",
            minimum=13,
            maximum=24,
        ),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        col = QVBoxLayout(self.body)
        col.setContentsMargins(10, 8, 10, 10)
        col.setSpacing(8)
        self.summary = QLabel(self.body, objectName="sectionTitle")
        self.summary.setWordWrap(True)
        col.addWidget(self.summary)
        self.model = GridModel(self)
        self.view = QTableView(self.body)
        self.view.setObjectName("gridStatsTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)  # names are never elided
        col.addWidget(self.view, 1)
        self.listen(self.view.clicked, self._on_click)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.timer(60_000, self.refresh)  # a deadline passing changes what is due
        self.refresh()

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.grids:
            self.refresh()

    def due_now(self) -> int:
        return patrols_due(
            float(self.ctx.store.clock.now()),
            int(self.settings["morning_by"]),
            int(self.settings["afternoon_by"]),
        )

    def refresh(self) -> None:
        by = str(self.settings["by"])
        rows = grid_rows(self.ctx.store, by)
        due = self.due_now()
        self.model.set_rows(rows, by, due)
        visible = set(self.model.columns())
        for i in range(len(COLUMNS)):
            self.view.setColumnHidden(i, i not in visible)
        grids = sum(r.grids for r in rows)
        once = sum(r.patrol_once for r in rows)
        met = sum(r.patrol_met for r in rows)
        events = sum(r.events for r in rows)
        patrols = sum(r.patrols for r in rows)
        n = {
            "grids": f"{grids:,}",
            "once": f"{once:,}",
            "met": f"{met:,}",
            "patrols": f"{patrols:,}",
            "events": f"{events:,}",
            "morning": f"{int(self.settings['morning_by']):02d}:00",
            "afternoon": f"{int(self.settings['afternoon_by']):02d}:00",
        }
        if due == 0:
            text = zh_en(
                "共 {grids} 个网格：上午应巡（{morning} 前）已巡 {once} 个；今日巡查 {patrols} 次，上报事件 {events} 件",
                "{grids} grids: morning patrol due by {morning}, done in {once}; {patrols} patrols today, {events} events reported",
            )
        elif due == 1:
            n["behind"] = f"{grids - once:,}"
            text = zh_en(
                "共 {grids} 个网格：上午应巡已巡 {once} 个（{behind} 个未巡）；下午应巡（{afternoon} 前）已巡 {met} 个；上报事件 {events} 件",
                "{grids} grids: morning patrol due, done in {once} ({behind} behind); second patrol due by {afternoon}, done in {met}; {events} events reported",
            )
        else:
            n["behind"] = f"{grids - met:,}"
            text = zh_en(
                "共 {grids} 个网格：一日双巡已完成 {met} 个（{behind} 个未完成）；今日巡查 {patrols} 次，上报事件 {events} 件",
                "{grids} grids: twice-daily patrols due, done in {met} ({behind} behind); {patrols} patrols today, {events} events reported",
            )
        self.summary.setText(text.format(**n))

    def case_ids_for(self, row: int) -> list[str]:
        """Cases filed today in the row's grid or township, oldest first."""
        r = self.model.rows[row]
        frame = self.ctx.store.to_frame()
        if not len(frame):
            return []
        now = float(self.ctx.store.clock.now())
        day = hall_time.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
        col = "grid" if self.model.by == "grid" else "township"
        m = (frame[col].astype("string") == r.key) & (frame["created_ts"] >= day.timestamp())
        sub = frame[m.fillna(False)].sort_values("created_ts", kind="stable")
        return [str(i) for i in sub["id"]]

    def _on_click(self, index: QModelIndex) -> None:
        self.ctx.selection.select(self.case_ids_for(index.row()), origin=self.selection_origin)

    def apply_settings(self) -> None:
        self.refresh()

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "model"):
            self.refresh()
