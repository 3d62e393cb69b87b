"""The officer's case actions, one road for a key, a button and a palette entry.

Why one function: the queue's keys, the detail's buttons, the alarms' keys and the command
palette must refuse the same things for the same reasons, ask for the same parameters and
say the same words; written once here they cannot drift apart. Each road reports through
one ``report`` callback (the panel's banner and the window's status line), so no key is
ever silent: a refusal says why, a queued action says it waits for the server, an empty
selection says so.

``palette_actions`` turns the same rules into QActions for the command palette ("签收
PD0000123"), disabled with the reason as their tooltip when the life cycle does not allow
them, so the palette shows and behaves what the buttons show and do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget

from commandcenter import lifecycle
from commandcenter.domain import CaseState
from widgets.base import PanelContext
from widgets.cases import common
from widgets.cases.common import Action, Outcome
from widgets.i18n import zh_en

Report = Callable[[Outcome], None]


def no_case() -> Outcome:
    return Outcome(
        False,
        zh_en(
            "没有选中的案件：先用 j/k 或 ↑↓ 选择一件",
            "No case selected: choose one with j/k or the arrow keys",
        ),
    )


def layout_refusal(ctx: PanelContext, action: Action) -> str | None:
    """Why the layout shown may not take ``action`` (its role: a leader's briefing screen
    or a wall takes no case actions, whoever is logged in), or None. The same table the
    server checks (``lifecycle.ALLOWED_ROLES``)."""
    role = ctx.layout_role
    if role is None or role in lifecycle.ALLOWED_ROLES[action]:
        return None
    return zh_en(
        "此布局为{role}席位，不能{action}", "This is a {role} layout: it cannot {action}"
    ).format(role=common.role_label(role.value), action=common.action_label(action.value))


def refusal_reason(ctx: PanelContext, case: Any, action: Action) -> str | None:
    """Why ``action`` cannot be taken on ``case`` here: the layout's role first, then the
    life cycle (``common.refusal_reason``). What buttons, keys and the palette show."""
    return layout_refusal(ctx, action) or common.refusal_reason(ctx, case, action)


def run_action(
    parent: QWidget, ctx: PanelContext, case_id: str, action: Action, report: Report
) -> Outcome | None:
    """Take ``action`` on ``case_id`` as the officer asked (a key, a button, the palette).

    Dispatch opens the dispatch dialog (stored as ``parent.dispatch_dialog``; its outcome is
    reported when sent). 退回 on a case this console already has as completed is the
    hall's 核查退回; 回访评价 is the call back and its rating. A refused action is still
    passed to ``common.perform``, so the refusal is audited and worded once. Returns the
    outcome reported, or None when a dialog opened or the officer cancelled."""
    refused = layout_refusal(ctx, action)
    if refused is not None:
        out = Outcome(False, refused)
        report(out)
        return out
    case = ctx.store.case(case_id) if case_id else None
    if case is None:
        out = no_case() if not case_id else common.perform(ctx, case_id, action, {})
        report(out)
        return out
    if action is Action.ASSIGN:
        if common.refusal_reason(ctx, case, Action.ASSIGN) is not None:
            out = common.perform(ctx, case_id, Action.ASSIGN, {"assignee": "-"})
            report(out)
            return out
        from widgets.cases.dispatch_dialog import DispatchDialog

        dlg = DispatchDialog(ctx, case_id, parent)
        dlg.sent.connect(report)
        keys = QApplication.focusWidget() or parent.window().focusWidget()
        dlg.finished.connect(lambda _r: give_back_focus(keys))
        dlg.open()
        parent.dispatch_dialog = dlg  # type: ignore[attr-defined]
        return None
    outbox = ctx.outbox
    if (
        action is Action.RETURN
        and outbox is not None
        and outbox.project_state(case_id, case.state) == CaseState.COMPLETED
    ):
        action = Action.REJECT  # the hall's 退回 of a finished case: not accepted
    steps = common.callback_steps(case, ctx) if action is Action.CALL_BACK else [action]
    outcome: Outcome | None = None
    for step in steps:
        if common.refusal_reason(ctx, case, step) is not None:
            outcome = common.perform(ctx, case_id, step, {})  # refused: audited, says why
            break
        # The widget with the keys, else the one the window gives them back to (the
        # command palette that asked for this action has just closed).
        keys = QApplication.focusWidget() or parent.window().focusWidget()
        params = common.gather_params(parent, case, step)
        give_back_focus(keys)  # a prompt (reason, hours, rating) took the keyboard
        if params is None:
            report(Outcome(True, zh_en("已取消", "Cancelled")))
            return None
        outcome = common.perform(ctx, case_id, step, params)
        if not outcome.ok:
            break
    if outcome is not None:
        report(outcome)
    return outcome


def give_back_focus(widget: QWidget | None) -> None:
    """The keyboard goes back where it was before a dialog took it: the next key of the
    officer's shift lands on the case, not on nothing (the window manager may activate
    the window again without a focus widget)."""
    if widget is None or not shiboken6.isValid(widget) or not widget.isVisible():
        return
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.OtherFocusReason)


def command_text(action: Action, case_id: str) -> str:
    """'签收 PD0000123' / 'Sign for PD0000123': what the palette lists and matches."""
    return f"{common.action_label(action.value)} {case_id}"


def palette_actions(
    parent: QWidget, ctx: PanelContext, case_ids: list[str], run: Callable[[str, Action], Any]
) -> list[QAction]:
    """One QAction per desk action and case (parented to ``parent``, which must delete
    them: the palette is rebuilt on every opening). Enabled as the detail's buttons are;
    a disabled one carries the reason as its tooltip and status tip."""
    out: list[QAction] = []
    for cid in dict.fromkeys(case_ids):
        case = ctx.store.case(cid)
        if case is None:
            continue
        for action in common.DESK_ACTIONS:
            act = QAction(command_text(action, cid), parent)
            act.setObjectName(f"case-{action.value}-{cid}")
            reason = refusal_reason(ctx, case, action)
            key = common.KEY_OF_ACTION.get(action)
            if key and action not in (Action.REJECT, Action.EVALUATE):
                act.setShortcut(key)  # shown beside the entry; the queue handles the key
                act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # never fires
            act.setEnabled(reason is None)
            tip = reason or zh_en("对 {case} 执行{action}", "{action} {case}").format(
                case=cid, action=common.action_label(action.value)
            )
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _=False, c=cid, a=action: run(c, a))
            out.append(act)
    return out
