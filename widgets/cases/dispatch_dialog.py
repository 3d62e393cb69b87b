"""The dispatch dialog (派遣): to whom, and why that body, in one glance.

Suggestions come from ``commandcenter.dispatch``: the responsible bodies by category and
area (county department, township, village/community: 三级调度), each with the reasons
the officer needs to trust it, and the nearest field units by status and distance with an
ETA. The first suggestion is preselected, so Enter dispatches to it: the common case costs
one key. Another body can be typed in. Sending goes through the outbox like every action.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
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

from commandcenter.dispatch import nearest_units, suggest_departments
from commandcenter.domain import AssigneeKind, UnitStatus
from widgets import theme
from widgets.base import PanelContext
from widgets.cases import common
from widgets.cases.common import Action
from widgets.i18n import is_chinese, zh_en
from widgets.overview import state_label

KIND_LABELS_ZH = {
    AssigneeKind.DEPARTMENT: "职能部门",
    AssigneeKind.TOWNSHIP: "乡镇（街道）",
    AssigneeKind.VILLAGE: "村（社区）",
    AssigneeKind.UNIT: "现场力量",
}
KIND_LABELS_EN = {
    AssigneeKind.DEPARTMENT: "Department",
    AssigneeKind.TOWNSHIP: "Township",
    AssigneeKind.VILLAGE: "Village",
    AssigneeKind.UNIT: "Field unit",
}
UNIT_STATUS_ZH = {
    UnitStatus.AVAILABLE: "空闲",
    UnitStatus.BUSY: "处置中",
    UnitStatus.EN_ROUTE: "赶赴现场",
    UnitStatus.OFF_DUTY: "休息",
    UnitStatus.OFFLINE: "离线",
}
UNIT_STATUS_EN = {
    UnitStatus.AVAILABLE: "available",
    UnitStatus.BUSY: "busy",
    UnitStatus.EN_ROUTE: "en route",
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
            [
                zh_en("最近力量", "Nearest unit"),
                zh_en("状态", "Status"),
                zh_en("距离", "Distance"),
                zh_en("预计到达", "ETA"),
            ]
        )
        for tree in (self.bodies, self.units):
            tree.setRootIsDecorated(False)
            tree.setAlternatingRowColors(True)
            tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            tree.header().setStretchLastSection(True)
            tree.itemDoubleClicked.connect(lambda *_: self.accept())
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
        layout.addWidget(self.bodies, 3)
        layout.addWidget(
            QLabel(
                zh_en(
                    "现场力量（空闲优先，按距离）",
                    "Field units (available first, then by distance)",
                ),
                self,
            )
        )
        layout.addWidget(self.units, 3)
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
            it = QTreeWidgetItem([s.name, kind_label(s.assignee_kind), "；".join(s.reasons)])
            it.setData(0, self.ParamsRole, s.params)
            it.setToolTip(2, "\n".join(s.reasons))
            self.bodies.addTopLevelItem(it)
        self.unit_suggestions = nearest_units(store, case.lon, case.lat, k=6)
        for u in self.unit_suggestions:
            it = QTreeWidgetItem(
                [
                    u.name,
                    unit_status_label(u.status),
                    f"{u.distance_m / 1000:.1f} km",
                    zh_en("{minutes} 分钟", "{minutes} min").format(minutes=f"{u.eta_min:.0f}"),
                ]
            )
            if u.status == UnitStatus.AVAILABLE.value:
                it.setForeground(1, theme.color("green"))
            it.setData(
                0,
                self.ParamsRole,
                {"assignee": u.unit_id, "assignee_kind": AssigneeKind.UNIT.value},
            )
            self.units.addTopLevelItem(it)
        if self.bodies.topLevelItemCount():
            self.bodies.setCurrentItem(self.bodies.topLevelItem(0))
        elif self.units.topLevelItemCount():
            self.units.setCurrentItem(self.units.topLevelItem(0))

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
