"""The case life cycle as a state machine: which action moves a case where, and who may act.

Both sides use it: the reference server refuses an illegal action with the reason given
here, and the console greys out what the officer cannot do and says why before the
request leaves. Keeping the table in one place keeps the two in step.

    discovered -report-> reported -sign-> signed -assign-> assigned -arrive-> handling
    assigned/handling -return-> returned -assign-> assigned
    handling -complete-> completed -verify-> closed -call_back-> called_back -evaluate-> evaluated
    completed -reject-> handling            (verification failed: back to the assignee)
    escalate (督办) and extend keep the state and add a mark; see ``Action``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from enum import StrEnum

from commandcenter.domain import (
    OPEN_STATES,
    AssigneeKind,
    Case,
    CaseState,
    Role,
    TimelineEntry,
)

S = CaseState


class Action(StrEnum):
    REPORT = "report"  # 上报
    SIGN = "sign"  # 签收
    ASSIGN = "assign"  # 派遣/交办 (params: assignee, assignee_kind: an AssigneeKind)
    ARRIVE = "arrive"  # 到场处置
    RETURN = "return"  # 退回 (params: reason)
    COMPLETE = "complete"  # 办结/处理反馈
    VERIFY = "verify"  # 核查结案
    REJECT = "reject"  # 核查不通过
    CALL_BACK = "call_back"  # 回访
    EVALUATE = "evaluate"  # 评价 (params: rating 1..5)
    ESCALATE = "escalate"  # 督办 (params: reason)
    EXTEND = "extend"  # 申请延期 (params: seconds, reason)


ACTION_LABELS_ZH: dict[Action, str] = {
    Action.REPORT: "上报",
    Action.SIGN: "签收",
    Action.ASSIGN: "派遣",
    Action.ARRIVE: "到场",
    Action.RETURN: "退回",
    Action.COMPLETE: "办结",
    Action.VERIFY: "核查结案",
    Action.REJECT: "核查退回",
    Action.CALL_BACK: "回访",
    Action.EVALUATE: "评价",
    Action.ESCALATE: "督办",
    Action.EXTEND: "延期",
}

# action -> {from state: to state}
TRANSITIONS: dict[Action, dict[CaseState, CaseState]] = {
    Action.REPORT: {S.DISCOVERED: S.REPORTED},
    Action.SIGN: {S.REPORTED: S.SIGNED},
    Action.ASSIGN: {S.SIGNED: S.ASSIGNED, S.RETURNED: S.ASSIGNED},
    Action.ARRIVE: {S.ASSIGNED: S.HANDLING},
    Action.RETURN: {S.ASSIGNED: S.RETURNED, S.HANDLING: S.RETURNED},
    Action.COMPLETE: {S.HANDLING: S.COMPLETED},
    Action.VERIFY: {S.COMPLETED: S.CLOSED},
    Action.REJECT: {S.COMPLETED: S.HANDLING},
    Action.CALL_BACK: {S.CLOSED: S.CALLED_BACK},
    Action.EVALUATE: {S.CALLED_BACK: S.EVALUATED},
    # Marks that keep the state: allowed on any open case.
    Action.ESCALATE: {s: s for s in OPEN_STATES},
    Action.EXTEND: {S.ASSIGNED: S.ASSIGNED, S.HANDLING: S.HANDLING},
}

_HALL = frozenset({Role.DUTY_OFFICER, Role.DISPATCHER, Role.SYSTEM})
ALLOWED_ROLES: dict[Action, frozenset[Role]] = {
    Action.REPORT: frozenset({Role.FIELD, Role.SYSTEM, Role.DUTY_OFFICER}),
    Action.SIGN: _HALL,
    Action.ASSIGN: _HALL,
    Action.ARRIVE: frozenset({Role.FIELD, Role.SYSTEM}),
    Action.RETURN: frozenset({Role.FIELD, Role.SYSTEM}),
    Action.COMPLETE: frozenset({Role.FIELD, Role.SYSTEM}),
    Action.VERIFY: frozenset({Role.DUTY_OFFICER, Role.SYSTEM}),
    Action.REJECT: frozenset({Role.DUTY_OFFICER, Role.SYSTEM}),
    Action.CALL_BACK: frozenset({Role.DUTY_OFFICER, Role.SYSTEM}),
    Action.EVALUATE: frozenset({Role.DUTY_OFFICER, Role.SYSTEM}),
    Action.ESCALATE: frozenset({Role.DUTY_OFFICER, Role.LEADER, Role.SYSTEM}),
    Action.EXTEND: frozenset({Role.FIELD, Role.DUTY_OFFICER, Role.SYSTEM}),
}

# What the officer is told to do instead, per state, when an action does not fit it.
_HINTS: dict[CaseState, str] = {
    S.DISCOVERED: "report it first (上报)",
    S.REPORTED: "sign for it first (签收)",
    S.SIGNED: "dispatch it first (派遣)",
    S.ASSIGNED: "wait for the assignee to arrive (到场)",
    S.RETURNED: "dispatch it again (重新派遣)",
    S.HANDLING: "wait for the assignee to report it done (办结)",
    S.COMPLETED: "verify or reject it (核查)",
    S.CLOSED: "call the reporter back (回访)",
    S.CALLED_BACK: "record the evaluation (评价)",
    S.EVALUATED: "it is finished",
}


class IllegalTransition(ValueError):
    """An action that does not fit the case, the actor or its parameters."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Why an action is refused, as a code and the words the wire carries (English: the
# reference server sends these very texts). A console shows them in its own language by
# the code (``Refusal.parse`` reads a server's text back into one).
REFUSAL_TEXTS: dict[str, str] = {
    "unknown_action": "unknown action {action!r}",
    "role": "role {role} may not {action} ({label})",
    "state": "cannot {action} a case that is {state}: {hint}",
    "needs_assignee": "assign needs an assignee (派遣对象)",
    "bad_assignee_kind": "assign to an unknown kind of assignee {state!r}",
    "needs_reason": "{action} needs a reason",
    "needs_rating": "evaluate needs a rating from 1 to 5",
    "needs_seconds": "extend needs a positive number of seconds",
    # The server's own refusals (commandcenter has no part in them but their words).
    "conflict": "case is at version {state}, not {action}",
    "not_found": "no case {action}",
}
_REFUSAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("unknown_action", re.compile(r"^unknown action '(?P<action>.*)'$")),
    ("role", re.compile(r"^role (?P<role>\w+) may not (?P<action>\w+)\b")),
    ("state", re.compile(r"^cannot (?P<action>\w+) a case that is (?P<state>\w+):")),
    ("needs_assignee", re.compile(r"^assign needs an assignee")),
    ("bad_assignee_kind", re.compile(r"^assign to an unknown kind of assignee '(?P<state>.*)'$")),
    ("needs_rating", re.compile(r"^evaluate needs a rating")),
    ("needs_seconds", re.compile(r"^extend needs a positive number")),
    ("needs_reason", re.compile(r"^(?P<action>\w+) needs a reason$")),
    ("conflict", re.compile(r"^case is at version (?P<state>\d+), not (?P<action>\d+)")),
    ("not_found", re.compile(r"^no case (?P<action>\S+)$")),
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action does not fit: ``code`` (a key of ``REFUSAL_TEXTS``) and its fields.

    ``action`` and ``state`` are the values of ``Action`` and ``CaseState`` (for
    ``conflict``: the versions; for ``not_found``: the case id; for ``bad_assignee_kind``:
    the kind sent in ``state``), ``role`` a ``Role``."""

    code: str
    action: str = ""
    state: str = ""
    role: str = ""

    def text(self) -> str:
        """The words the wire carries (what ``check`` returns)."""
        label = ""
        hint = ""
        if self.action in Action.__members__.values():
            label = ACTION_LABELS_ZH[Action(self.action)]
        if self.state in CaseState.__members__.values():
            hint = _HINTS[CaseState(self.state)]
        return REFUSAL_TEXTS[self.code].format(
            action=self.action, state=self.state, role=self.role, label=label, hint=hint
        )

    @classmethod
    def parse(cls, text: str) -> Refusal | None:
        """The refusal a text states (a server's answer, or ``text()``); None when the
        text is not one of ``REFUSAL_TEXTS``."""
        for code, pattern in _REFUSAL_PATTERNS:
            m = pattern.match(text.strip())
            if m is not None:
                return cls(code, **m.groupdict())
        return None


def refusal(
    state: CaseState, action: str, role: Role = Role.SYSTEM, params: dict | None = None
) -> Refusal | None:
    """None when the action is legal; otherwise why not, as a ``Refusal``."""
    try:
        act = Action(action)
    except ValueError:
        return Refusal("unknown_action", action=str(action))
    if role not in ALLOWED_ROLES[act]:
        return Refusal("role", action=act.value, role=role.value)
    moves = TRANSITIONS[act]
    if state not in moves:
        return Refusal("state", action=act.value, state=CaseState(state).value)
    params = params or {}
    if act is Action.ASSIGN and not str(params.get("assignee", "")).strip():
        return Refusal("needs_assignee", action=act.value)
    if act is Action.ASSIGN and str(params.get("assignee_kind", "department")) not in set(
        AssigneeKind
    ):
        return Refusal("bad_assignee_kind", action=act.value, state=str(params["assignee_kind"]))
    if (
        act in (Action.RETURN, Action.ESCALATE, Action.REJECT)
        and not str(params.get("reason", "")).strip()
    ):
        return Refusal("needs_reason", action=act.value)
    if act is Action.EVALUATE:
        rating = params.get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            return Refusal("needs_rating", action=act.value)
    if act is Action.EXTEND:
        seconds = params.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            return Refusal("needs_seconds", action=act.value)
    return None


def check(
    state: CaseState, action: str, role: Role = Role.SYSTEM, params: dict | None = None
) -> str | None:
    """None when the action is legal; otherwise the reason, in words an officer understands."""
    why = refusal(state, action, role, params)
    return None if why is None else why.text()


def legal_actions(state: CaseState, role: Role) -> list[Action]:
    """Actions whose state and role fit (parameters aside): what a console offers."""
    return [a for a in Action if state in TRANSITIONS[a] and role in ALLOWED_ROLES[a]]


def apply(
    case: Case, action: str, actor: str, role: Role, now: float, params: dict | None = None
) -> Case:
    """The case after the action, as a new object (version + 1, one timeline entry more).

    Raises IllegalTransition with the reason when the action does not fit.
    """
    params = params or {}
    reason = check(case.state, action, role, params)
    if reason is not None:
        raise IllegalTransition(reason)
    act = Action(action)
    new = copy.copy(case)
    new.timeline = list(case.timeline)
    new.extra = dict(case.extra)
    new.state = TRANSITIONS[act][case.state]
    new.version = case.version + 1
    if new.state != case.state:
        new.state_ts = now
    note = str(params.get("reason") or params.get("note") or "")
    if act is Action.ASSIGN:
        new.assignee = str(params["assignee"])
        new.assignee_kind = str(params.get("assignee_kind", "department"))
        new.assigned_ts = now
        note = note or new.assignee
    elif act is Action.ARRIVE:
        new.on_site_ts = new.on_site_ts or now
    elif act is Action.COMPLETE:
        new.completed_ts = now
    elif act is Action.REJECT:
        new.completed_ts = 0.0
    elif act is Action.VERIFY:
        new.closed_ts = now
    elif act is Action.EVALUATE:
        new.rating = int(params["rating"])
        note = note or f"{new.rating}/5"
    elif act is Action.ESCALATE:
        new.supervised = case.supervised + 1
    elif act is Action.EXTEND:
        new.extension_s = case.extension_s + float(params["seconds"])
    new.timeline.append(
        TimelineEntry(ts=now, action=act.value, actor=actor, state=new.state, note=note)
    )
    return new
