"""The dispatch dialog (派遣): to whom, and why that body, in one glance.

Suggestions come from ``commandcenter.dispatch``: the responsible bodies by category and
area (county department, township, village/community: 三级调度), each with the reasons
the officer needs to trust it, and the people and vehicles to send, idle first, then by
ETA, each with its reason as one line ("空闲 · 0.8 km · 约4分钟 · 本网格"). The first
suggestion is preselected, so Enter dispatches to it: the common case costs one key; Up
and Down walk both lists as one. Another body can be typed in. Sending goes through the
outbox like every action, and the detail shows it pending, then confirmed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.dispatch import UnitSuggestion, nearest_units, suggest_departments
from commandcenter.domain import AssigneeKind, UnitKind, UnitStatus
from widgets import theme
from widgets.base import PanelContext
from widgets.cases import common
from widgets.cases.common import Action
from widgets.i18n import is_chinese, zh_en
from widgets.labels import state_label

KIND_LABELS_ZH = {
    AssigneeKind.DEPARTMENT: "职能部门",
    AssigneeKind.TOWNSHIP: "乡镇（街道）",
    AssigneeKind.VILLAGE: "村（社区）",
    AssigneeKind.UNIT: "现场力量",
    AssigneeKind.PERSON: "人员",
}
KIND_LABELS_EN = {
    AssigneeKind.DEPARTMENT: "Department",
    AssigneeKind.TOWNSHIP: "Township",
    AssigneeKind.VILLAGE: "Village",
    AssigneeKind.UNIT: "Field unit",
    AssigneeKind.PERSON: "Person",
}
UNIT_STATUS_ZH = {
    UnitStatus.AVAILABLE: "空闲",
    UnitStatus.BUSY: "处置中",
    UnitStatus.EN_ROUTE: "赶赴现场",
    UnitStatus.RETURNING: "返回途中",
    UnitStatus.OFF_DUTY: "休息",
    UnitStatus.OFFLINE: "离线",
}
UNIT_KIND_LABELS = {
    UnitKind.GRID_WORKER: ("网格员", "Grid worker"),
    UnitKind.ENFORCEMENT: ("执法队员", "Enforcement officer"),
    UnitKind.INSPECTOR: ("城管监督员", "Inspector"),
    UnitKind.VEHICLE: ("车辆", "Vehicle"),
}
UNIT_STATUS_EN = {
    UnitStatus.AVAILABLE: "idle",
    UnitStatus.BUSY: "busy",
    UnitStatus.EN_ROUTE: "en route",
    UnitStatus.RETURNING: "returning",
    UnitStatus.OFF_DUTY: "off duty",
    UnitStatus.OFFLINE: "offline",
}


def kind_label(kind: AssigneeKind) -> str:
    return KIND_LABELS_ZH[kind] if is_chinese() else KIND_LABELS_EN[kind]


def unit_status_label(status: str) -> str:
    try:
        s = UnitStatus(status)
    except ValueError:
        return status
    return UNIT_STATUS_ZH[s] if is_chinese() else UNIT_STATUS_EN[s]


def unit_kind_label(kind: str) -> str:
    try:
        zh, en = UNIT_KIND_LABELS[UnitKind(kind)]
    except ValueError:
        return kind
    return zh if is_chinese() else en


def minutes_text(eta_min: float) -> str:
    """ "约4分钟" / "~4 min": whole minutes, at least one (an estimate, said as one)."""
    n = max(1, round(eta_min))
    return zh_en("约{n}分钟", "~{n} min").format(n=n)


def unit_reason(u: UnitSuggestion) -> str:
    """Why this person or vehicle, in one line: availability, distance, ETA, the area it
    belongs to, and the case it would be taken off."""
    parts = [unit_status_label(u.status), f"{u.distance_m / 1000:.1f} km", minutes_text(u.eta_min)]
    if u.near == "grid":
        parts.append(zh_en("本网格", "same grid"))
    elif u.near == "township":
        parts.append(zh_en("本乡镇", "same township"))
    if u.case_id and u.status in (UnitStatus.BUSY.value, UnitStatus.EN_ROUTE.value):
        parts.append(zh_en("正在办 {case}", "on {case}").format(case=u.case_id))
    return " · ".join(parts)


class DispatchDialog(QDialog):
    """Choose a body or a unit and send the ``assign`` action; emits ``sent(Outcome)``."""

    sent = Signal(object)
    ParamsRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, ctx: PanelContext, case_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dispatchDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.ctx = ctx
        self.case_id = case_id
        case = ctx.store.case(case_id)
        self.case = case
        self.setWindowTitle(zh_en("派遣 {case}", "Dispatch {case}").format(case=case_id))
        head = QLabel(self)
        head.setObjectName("dispatchHead")
        head.setWordWrap(True)
        if case is not None:
            town = ctx.store.display_name(case.township)
            head.setText(
                f"<b style='font-size:15pt'>{case.id}　{case.category}</b><br>"
                f"{getattr(case, 'title', '')}　·　{town} / {ctx.store.display_name(case.grid)}"
                f"　·　{state_label(case.state)}"
            )
        self.bodies = QTreeWidget(self)
        self.bodies.setObjectName("dispatchBodies")
        self.bodies.setHeaderLabels(
            [zh_en("建议承办单位", "Suggested body"), zh_en("层级", "Level"), zh_en("依据", "Why")]
        )
        self.units = QTreeWidget(self)
        self.units.setObjectName("dispatchUnits")
        self.units.setHeaderLabels(
            [zh_en("人员或车辆", "Person or vehicle"), zh_en("类型", "Kind"), zh_en("依据", "Why")]
        )
        for tree in (self.bodies, self.units):
            tree.setRootIsDecorated(False)
            tree.setAlternatingRowColors(True)
            tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            tree.header().setStretchLastSection(True)
            tree.itemDoubleClicked.connect(lambda *_: self.accept())
            tree.installEventFilter(self)
        self.bodies.itemSelectionChanged.connect(lambda: self._picked(self.bodies))
        self.units.itemSelectionChanged.connect(lambda: self._picked(self.units))
        self.other = QLineEdit(self)
        self.other.setObjectName("dispatchOther")
        self.other.setPlaceholderText(
            zh_en(
                "或输入其他部门、乡镇或村（社区）",
                "Or type another department, township or village",
            )
        )
        self.other_kind = QComboBox(self)
        for k in (AssigneeKind.DEPARTMENT, AssigneeKind.TOWNSHIP, AssigneeKind.VILLAGE):
            self.other_kind.addItem(kind_label(k), k.value)
        self.other.textEdited.connect(lambda _t: self._clear_picks())
        other_row = QHBoxLayout()
        other_row.addWidget(self.other, 1)
        other_row.addWidget(self.other_kind)
        self.choice = QLabel(self)
        self.choice.setObjectName("dispatchChoice")
        self.choice.setStyleSheet(
            f"QLabel#dispatchChoice {{ font-size: 14pt; font-weight: bold;"
            f" color: {theme.colors()['accent']}; }}"
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(zh_en("派遣", "Dispatch"))
        ok.setObjectName("dispatchSend")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(zh_en("取消", "Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(
            QLabel(
                zh_en("建议承办（按类别与属地）", "Responsible bodies (by category and area)"), self
            )
        )
        layout.addWidget(self.bodies, 2)
        layout.addWidget(
            QLabel(
                zh_en(
                    "派人员或车辆（空闲优先，再按预计到达时间）",
                    "People and vehicles (idle first, then by ETA)",
                ),
                self,
            )
        )
        layout.addWidget(self.units, 4)
        layout.addLayout(other_row)
        layout.addWidget(self.choice)
        layout.addWidget(self.buttons)
        self.resize(900, 640)
        self._fill()

    def _fill(self) -> None:
        case = self.case
        if case is None:
            return
        store = self.ctx.store
        self.suggestions = suggest_departments(
            case.category, case.township, store.geography, grid=case.grid
        )
        for s in self.suggestions:
            why = [r.text(is_chinese()) for r in s.reasons]
            it = QTreeWidgetItem([s.name, kind_label(s.assignee_kind), zh_en("；", "; ").join(why)])
            it.setData(0, self.ParamsRole, s.params)
            it.setToolTip(2, "\n".join(why))
            self.bodies.addTopLevelItem(it)
        self.unit_suggestions = nearest_units(
            store, case.lon, case.lat, k=8, township=case.township, grid=case.grid
        )
        for u in self.unit_suggestions:
            it = QTreeWidgetItem([u.name, unit_kind_label(u.kind), unit_reason(u)])
            if u.status == UnitStatus.AVAILABLE.value:
                it.setForeground(2, theme.color("green"))
            it.setData(0, self.ParamsRole, u.params)
            self.units.addTopLevelItem(it)
        first = self.bodies if self.bodies.topLevelItemCount() else self.units
        if first.topLevelItemCount():
            first.setCurrentItem(first.topLevelItem(0))
            first.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down walk the bodies and then the people as one list; Tab into a list
        chooses its current (else its first) entry, so Enter sends what the focus shows."""
        tree = watched
        if (
            event.type() == QEvent.Type.FocusIn
            and isinstance(event, QFocusEvent)
            and event.reason() != Qt.FocusReason.MouseFocusReason
            and isinstance(tree, QTreeWidget)
            and tree.topLevelItemCount()
            and not tree.selectedItems()
        ):
            tree.setCurrentItem(tree.currentItem() or tree.topLevelItem(0))
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(tree, QTreeWidget)
        ):
            key = event.key()
            row = tree.indexOfTopLevelItem(tree.currentItem()) if tree.currentItem() else -1
            if key == Qt.Key.Key_Down and tree is self.bodies:
                if row == tree.topLevelItemCount() - 1 and self.units.topLevelItemCount():
                    self._move_to(self.units, 0)
                    return True
            elif (
                key == Qt.Key.Key_Up and tree is self.units and row <= 0
            ) and self.bodies.topLevelItemCount():
                self._move_to(self.bodies, self.bodies.topLevelItemCount() - 1)
                return True
        return super().eventFilter(watched, event)

    def _move_to(self, tree: QTreeWidget, row: int) -> None:
        tree.setCurrentItem(tree.topLevelItem(row))
        tree.setFocus()

    def _clear_picks(self) -> None:
        for tree in (self.bodies, self.units):
            tree.blockSignals(True)
            tree.clearSelection()
            tree.setCurrentItem(None)  # type: ignore[arg-type]
            tree.blockSignals(False)
        self._show_choice()

    def _picked(self, tree: QTreeWidget) -> None:
        other = self.units if tree is self.bodies else self.bodies
        if tree.selectedItems():
            other.blockSignals(True)
            other.clearSelection()
            other.blockSignals(False)
            self.other.clear()
        self._show_choice()

    def params(self) -> dict[str, Any] | None:
        """The ``assign`` parameters of the current choice; None when nothing is chosen."""
        text = self.other.text().strip()
        if text:
            return {"assignee": text, "assignee_kind": str(self.other_kind.currentData())}
        for tree in (self.bodies, self.units):
            items = tree.selectedItems()
            if items:
                return dict(items[0].data(0, self.ParamsRole))
        return None

    def _show_choice(self) -> None:
        p = self.params()
        if p is None:
            self.choice.setText(zh_en("请选择承办单位或现场力量", "Choose a body or a unit"))
            return
        name = self.ctx.store.display_name(p["assignee"])
        self.choice.setText(
            zh_en("派遣给：{name}（{level}）", "Dispatch to: {name} ({level})").format(
                name=name, level=kind_label(AssigneeKind(p["assignee_kind"]))
            )
        )

    def choose_body(self, index: int) -> None:
        self.bodies.setCurrentItem(self.bodies.topLevelItem(index))

    def choose_unit(self, index: int) -> None:
        self.units.setCurrentItem(self.units.topLevelItem(index))

    def accept(self) -> None:
        params = self.params()
        if params is None:
            self.choice.setText(zh_en("请选择承办单位或现场力量", "Choose a body or a unit"))
            return
        outcome = common.perform(self.ctx, self.case_id, Action.ASSIGN, params)
        self.outcome = outcome
        self.sent.emit(outcome)
        if not outcome.ok:
            self.choice.setText(outcome.message)
            return
        super().accept()
