"""The "grid_stats" panel: what is in each grid, and did its worker patrol today?

Per township (the sum of its grids) or per grid: the four actuals (四实: population,
houses, units, facilities), the grid worker, patrols done today against the twice-daily
norm (一日双巡: a grid meets it with 2 patrols), and events reported today. Numbers come
straight from the feed's ``grid.stats`` (``store.grids``); a township row adds up its
grids. Clicking a row selects that grid's or township's cases filed today, so the map and
the queue show what was reported there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout

from commandcenter import hall_time
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese
from widgets.registry import register

PATROL_NORM = 2  # 一日双巡


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


def grid_rows(store: Any, by: str = "township") -> list[GridRow]:
    """Rows per grid or per township from ``store.grids`` (township rows sum their grids)."""
    rows: dict[str, GridRow] = {}
    for g in store.grids.values():
        town = str(getattr(g, "township", ""))
        met = int(int(g.patrols_today) >= PATROL_NORM)
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
        r.events += int(g.events_today)
    return sorted(rows.values(), key=lambda r: (r.township, r.key))


# (key, Chinese header, English header)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "名称", "Name"),
    ("worker", "网格员", "Grid worker"),
    ("population", "实有人口", "Population"),
    ("houses", "实有房屋", "Houses"),
    ("units", "实有单位", "Units"),
    ("facilities", "实有设施", "Facilities"),
    ("patrols", "今日巡查", "Patrols today"),
    ("events", "今日上报", "Events today"),
)


class GridModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[GridRow] = []
        self.by = "township"

    def set_rows(self, rows: list[GridRow], by: str) -> None:
        self.beginResetModel()
        self.rows, self.by = rows, by
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def columns(self) -> list[int]:
        """Visible column indexes: a township row has no single worker."""
        return [i for i, c in enumerate(COLUMNS) if not (c[0] == "worker" and self.by != "grid")]

    def text(self, r: GridRow, key: str) -> str:
        zh = is_chinese()
        if key == "name":
            return r.name if self.by != "grid" else f"{r.name}"
        if key == "worker":
            return r.worker
        if key == "patrols":
            if self.by == "grid":
                return f"{r.patrols}/{PATROL_NORM}"
            return f"{r.patrol_met}/{r.grids} 达标" if zh else f"{r.patrol_met}/{r.grids} grids met"
        return f"{int(getattr(r, key)):,}"

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, key)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            left = key in ("name", "worker")
            return int(
                (Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight)
                | Qt.AlignmentFlag.AlignVCenter
            )
        if role == Qt.ItemDataRole.ForegroundRole and key == "patrols":
            share = r.patrol_met / max(1, r.grids)
            if share >= 1:
                return theme.color("green")
            return theme.color("amber") if share >= 0.5 or r.patrols else theme.color("red")
        if role == Qt.ItemDataRole.ToolTipRole and key == "patrols":
            if is_chinese():
                return (
                    f"一日双巡：每个网格每天应巡查 {PATROL_NORM} 次。今日共巡查 {r.patrols} 次，"
                    f"{r.patrol_met} / {r.grids} 个网格已达标。"
                )
            return (
                f"Twice-daily patrols: each grid should be patrolled {PATROL_NORM} times a day. "
                f"{r.patrols} patrols today; {r.patrol_met} of {r.grids} grids met the norm."
            )
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        _, zh, en = COLUMNS[section]
        return zh if is_chinese() else en


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
        self.refresh()

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset or cs.grids:
            self.refresh()

    def refresh(self) -> None:
        by = str(self.settings["by"])
        rows = grid_rows(self.ctx.store, by)
        self.model.set_rows(rows, by)
        visible = set(self.model.columns())
        for i in range(len(COLUMNS)):
            self.view.setColumnHidden(i, i not in visible)
        grids = sum(r.grids for r in rows)
        met = sum(r.patrol_met for r in rows)
        events = sum(r.events for r in rows)
        patrols = sum(r.patrols for r in rows)
        self.summary.setText(
            self.tr(
                "{grids} grids: {met} patrolled twice today (一日双巡), "
                "{patrols} patrols, {events} events reported"
            ).format(
                grids=f"{grids:,}", met=f"{met:,}", patrols=f"{patrols:,}", events=f"{events:,}"
            )
        )

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
