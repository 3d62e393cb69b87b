"""What the case panels share: labels, the one way an action leaves a panel, tones.

Why one ``perform`` for every panel: an action must always go the same road (the outbox,
checked against the case's state after this console's own queued actions, with the
version the officer saw, in the officer's name and role), whether it was a key in the
queue, a button in the detail or the dispatch dialog. A refusal comes back as a sentence
to show, never as an exception for a panel to forget.

Tones are synthesised once into WAV files in a temp dir (no binary assets in the repo) and
played with QSoundEffect; one process-wide bank rate-limits them, so two panels asking for
the same alarm do not double the noise, and one mute switch silences all of them.
"""

from __future__ import annotations

import math
import struct
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QInputDialog, QWidget

from commandcenter import lifecycle
from commandcenter.actions import ITEM_STATE_LABELS_ZH, ItemState, OutboxItem
from commandcenter.alarms import KIND_LABELS_ZH, AlarmKind
from commandcenter.domain import CaseState, Role
from widgets.base import PanelContext
from widgets.i18n import is_chinese, zh_en
from widgets.labels import state_label

Action = lifecycle.Action

ACTION_LABELS_EN: dict[Action, str] = {
    Action.REPORT: "Report",
    Action.SIGN: "Sign for",
    Action.ASSIGN: "Dispatch",
    Action.ARRIVE: "Arrive",
    Action.RETURN: "Return",
    Action.COMPLETE: "Complete",
    Action.VERIFY: "Verify & close",
    Action.REJECT: "Reject (back to handling)",
    Action.CALL_BACK: "Call back",
    Action.EVALUATE: "Rate",
    Action.ESCALATE: "Supervise",
    Action.EXTEND: "Extend",
}
ITEM_STATE_LABELS_EN: dict[ItemState, str] = {
    ItemState.PENDING: "pending",
    ItemState.SENDING: "sending",
    ItemState.CONFIRMED: "confirmed",
    ItemState.REFUSED: "refused",
    ItemState.CONFLICT: "conflict",
    ItemState.INVALID: "invalid",
}
ALARM_KIND_LABELS_EN: dict[AlarmKind, str] = {
    AlarmKind.BREACHED: "Overdue",
    AlarmKind.ABOUT_TO_BREACH: "About to breach",
    AlarmKind.CLUSTER: "Cluster",
    AlarmKind.NEW_URGENT: "Urgent, to sign",
}
# The queue's keys, one per action (the officer's hands stay on the keyboard).
ACTION_KEYS: dict[str, Action] = {
    "S": Action.SIGN,
    "D": Action.ASSIGN,
    "R": Action.RETURN,
    "E": Action.ESCALATE,
    "X": Action.EXTEND,
    "V": Action.VERIFY,
    "C": Action.CALL_BACK,
}
KEY_OF_ACTION: dict[Action, str] = {a: k for k, a in ACTION_KEYS.items()}
KEY_OF_ACTION[Action.REJECT] = "R"  # 'r' on a completed case: verification failed
KEY_OF_ACTION[Action.EVALUATE] = "C"  # 回访评价: the call back and its rating
# The actions a hall console offers, in the order the buttons show.
DESK_ACTIONS: tuple[Action, ...] = (
    Action.SIGN,
    Action.ASSIGN,
    Action.RETURN,
    Action.REJECT,
    Action.ESCALATE,
    Action.EXTEND,
    Action.VERIFY,
    Action.CALL_BACK,
    Action.EVALUATE,
)
# Glyphs every CJK font has (⏳ or ⚠ fall back to a box on a Chinese console).
MARKER_GLYPHS: dict[ItemState, str] = {
    ItemState.PENDING: "○",
    ItemState.SENDING: "○",
    ItemState.CONFIRMED: "√",
    ItemState.REFUSED: "×",
    ItemState.CONFLICT: "！",
    ItemState.INVALID: "×",
}


# Timeline steps that are not console actions (sources write them: the simulator, the
# 12345 and Open311 imports): the case's first entry is its discovery.
STEP_LABELS: dict[str, tuple[str, str]] = {
    "discover": ("发现", "Discovered"),
    "create": ("立案", "Filed"),
    "file": ("立案", "Filed"),
}
ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.DUTY_OFFICER: ("值班员", "duty officer"),
    Role.DISPATCHER: ("调度员", "dispatcher"),
    Role.LEADER: ("领导", "leader"),
    Role.FIELD: ("现场人员", "field staff"),
    Role.VIEWER: ("观看席", "viewer"),
    Role.SYSTEM: ("系统", "system"),
}
# What to do instead, per state (the life cycle's hints, in the UI's language).
STATE_HINTS: dict[CaseState, tuple[str, str]] = {
    CaseState.DISCOVERED: ("请先上报", "report it first"),
    CaseState.REPORTED: ("请先签收", "sign for it first"),
    CaseState.SIGNED: ("请先派遣", "dispatch it first"),
    CaseState.ASSIGNED: ("请等待承办人到场", "wait for the assignee to arrive"),
    CaseState.RETURNED: ("请重新派遣", "dispatch it again"),
    CaseState.HANDLING: ("请等待承办人反馈办结", "wait for the assignee to report it done"),
    CaseState.COMPLETED: ("请核查结案或退回", "verify or reject it"),
    CaseState.CLOSED: ("请回访报告人", "call the reporter back"),
    CaseState.CALLED_BACK: ("请记录评价", "record the evaluation"),
    CaseState.EVALUATED: ("此案已全部办完", "it is finished"),
}


def action_label(action: str) -> str:
    """An action's or a timeline step's name in the UI's language (unknown ones as sent)."""
    try:
        a = Action(action)
    except ValueError:
        step = STEP_LABELS.get(action)
        return action if step is None else _pick(step)
    return lifecycle.ACTION_LABELS_ZH[a] if is_chinese() else ACTION_LABELS_EN[a]


def _pick(pair: tuple[str, str]) -> str:
    """The (Chinese, English) entry of a table in the UI's language."""
    return pair[0] if is_chinese() else pair[1]


def role_label(role: str) -> str:
    try:
        return _pick(ROLE_LABELS[Role(role)])
    except (KeyError, ValueError):
        return role


def refusal_text(reason: str) -> str:
    """Why an action was refused, in the UI's language: the life cycle's (or the server's)
    reason read back into its code (``lifecycle.Refusal.parse``) and worded here. A reason
    of no known form is shown as it came (it is the server's own sentence)."""
    why = lifecycle.Refusal.parse(reason)
    if why is None:
        return reason
    act = action_label(why.action) if why.action else ""
    if why.code == "state":
        state = CaseState(why.state)
        return zh_en(
            "案件{state}，不能{action}：{hint}", "cannot {action} a case that is {state}: {hint}"
        ).format(
            state=state_label(state) if is_chinese() else state_label(state).lower(),
            action=act if is_chinese() else act.lower(),
            hint=_pick(STATE_HINTS[state]),
        )
    texts = {
        "unknown_action": zh_en("未知操作 {action}", "unknown action {action}"),
        "role": zh_en("{role}无权{action}", "a {role} may not {action}"),
        "needs_assignee": zh_en("派遣需要指定承办对象", "dispatch needs an assignee"),
        "bad_assignee_kind": zh_en(
            "未知的承办对象类型 {state}", "unknown kind of assignee {state}"
        ),
        "needs_reason": zh_en("{action}需要填写原因", "{action} needs a reason"),
        "needs_rating": zh_en("评价需要 1 至 5 分", "a rating from 1 to 5 is needed"),
        "needs_seconds": zh_en("延期需要延长的时间", "extend needs a positive duration"),
        "conflict": zh_en(
            "案件已被他人更新（版本冲突：现为第 {state} 版，本席看到的是第 {action} 版）",
            "someone else changed the case first (version conflict: it is at version"
            " {state}, this console saw {action})",
        ),
        "not_found": zh_en("案件 {action} 不存在", "no case {action}"),
    }
    return texts[why.code].format(
        action=why.action if why.code in ("conflict", "not_found", "unknown_action") else act,
        state=why.state,
        role=role_label(why.role),
    )


def item_state_label(state: ItemState) -> str:
    return ITEM_STATE_LABELS_ZH[state] if is_chinese() else ITEM_STATE_LABELS_EN[state]


def alarm_kind_label(kind: AlarmKind) -> str:
    return KIND_LABELS_ZH[kind] if is_chinese() else ALARM_KIND_LABELS_EN[kind]


def marker_text(item: OutboxItem) -> str:
    """'⏳ 签收 待发送' / '⚠ 派遣 冲突': what a row says about this console's last action."""
    return f"{MARKER_GLYPHS[item.state]} {action_label(item.action)} {item_state_label(item.state)}"


def key_hint(action: Action) -> str:
    key = KEY_OF_ACTION.get(action)
    return f" ({key.lower()})" if key else ""


def refusal_reason(ctx: PanelContext, case: Any, action: Action) -> str | None:
    """Why ``action`` cannot be taken on ``case`` now (None when it can, parameters aside):
    the life cycle's reason in the UI's language, after this console's queued actions."""
    if ctx.outbox is None:
        return zh_en("只读席位：无法提交操作", "read-only console: no outbox")
    state = ctx.outbox.project_state(case.id, case.state)
    if action not in lifecycle.legal_actions(state, ctx.role):
        return refusal_text(lifecycle.check(state, action.value, ctx.role, None) or "")
    return None


@dataclass(slots=True)
class Outcome:
    ok: bool
    message: str
    item: OutboxItem | None = None


def perform(
    ctx: PanelContext, case_id: str, action: Action | str, params: dict | None = None
) -> Outcome:
    """Write the action into the outbox (durable before this returns) or say why not."""
    zh = is_chinese()
    case = ctx.store.case(case_id)
    label = action_label(str(action))
    if case is None:
        return Outcome(False, f"{case_id}: " + (zh_en("案件不存在", "no such case")))
    if ctx.outbox is None:
        return Outcome(False, zh_en("只读席位：无法提交操作", "read-only console: no outbox"))
    try:
        item = ctx.outbox.enqueue(
            case_id,
            str(action),
            ctx.actor or "duty",
            params or {},
            expected_version=int(case.version),
            state=case.state,
            role=ctx.role,
        )
    except lifecycle.IllegalTransition as err:
        head = f"{case_id} {label}：被拒绝 — " if zh else f"{case_id} {label}: refused — "
        return Outcome(False, head + refusal_text(err.reason))
    tail = zh_en("已提交，待服务器确认", "queued, waiting for the server")
    return Outcome(True, f"{case_id} {label}：{tail}" if zh else f"{case_id} {label}: {tail}", item)


# ---- prompts (module functions so tests can replace them) ---------------------------------


def prompt_text(parent: QWidget, title: str, label: str, text: str = "") -> str | None:
    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value.strip() if ok and value.strip() else None


def prompt_choice(parent: QWidget, title: str, label: str, items: list[str]) -> int | None:
    value, ok = QInputDialog.getItem(parent, title, label, items, 0, False)
    return items.index(value) if ok and value in items else None


def prompt_reason(parent: QWidget, title: str, label: str, items: list[str]) -> str | None:
    """A reason from the usual ones (the first chosen: Enter takes it; Down the next) or
    typed over them; None when cancelled or left empty."""
    value, ok = QInputDialog.getItem(parent, title, label, items, 0, True)
    return value.strip() if ok and value.strip() else None


# The usual reasons for 督办, first the plain chase, then its escalation (the hall's words:
# they go into the case's timeline as the note).
ESCALATE_REASONS: tuple[tuple[str, str], ...] = (
    ("催办：请尽快处置", "Chase: act on it now"),
    ("升级督办：逾期未办，报分管领导", "Escalated: overdue, reported to the leader in charge"),
    ("群众反复来电催办", "The reporter keeps calling"),
)


EXTENSION_HOURS: tuple[int, ...] = (4, 24, 72)


def gather_params(parent: QWidget, case: Any, action: Action) -> dict[str, Any] | None:
    """Ask the officer for what an action needs (a reason, hours, a rating); None when
    they cancelled. Dispatch has its own dialog and is not asked here."""
    zh = is_chinese()
    name = action_label(action.value)
    if action is Action.ESCALATE:
        reasons = [_pick(r) for r in ESCALATE_REASONS]
        label = zh_en("{case} {action}，原因：", "{action} {case}, reason:").format(
            case=case.id, action=name
        )
        reason = prompt_reason(parent, f"{case.id} {name}", label, reasons)
        return None if reason is None else {"reason": reason}
    if action in (Action.RETURN, Action.REJECT):
        reason = prompt_text(parent, f"{case.id} {name}", zh_en("原因：", "Reason:"))
        return None if reason is None else {"reason": reason}
    if action is Action.EXTEND:
        items = [(f"{h} 小时" if zh else f"{h} hours") for h in EXTENSION_HOURS]
        i = prompt_choice(parent, f"{case.id} {name}", zh_en("延长：", "Extend by:"), items)
        if i is None:
            return None
        reason = prompt_text(parent, f"{case.id} {name}", zh_en("原因：", "Reason:"))
        if reason is None:
            return None
        return {"seconds": EXTENSION_HOURS[i] * 3600, "reason": reason}
    if action is Action.EVALUATE:
        items = ["5 ★★★★★", "4 ★★★★", "3 ★★★", "2 ★★", "1 ★"]
        i = prompt_choice(parent, f"{case.id} {name}", zh_en("评价：", "Rating:"), items)
        return None if i is None else {"rating": 5 - i}
    return {}


def callback_steps(case: Any, ctx: PanelContext) -> list[Action]:
    """回访评价 as one key: call back a closed case and record the rating, or only the
    rating when the call back is already done (or queued)."""
    state = ctx.outbox.project_state(case.id, case.state) if ctx.outbox else case.state
    if state == CaseState.CLOSED:
        return [Action.CALL_BACK, Action.EVALUATE]
    if state == CaseState.CALLED_BACK:
        return [Action.EVALUATE]
    return [Action.CALL_BACK]  # refused with the life cycle's reason


# ---- tones ----------------------------------------------------------------------------------

# name -> (frequencies of the beeps in Hz, beep length s, minimum seconds between plays)
TONES: dict[str, tuple[tuple[float, ...], float, float]] = {
    "critical": ((988.0, 1319.0, 988.0, 1319.0), 0.12, 4.0),
    "warning": ((784.0, 784.0), 0.16, 8.0),
    "notice": ((523.0,), 0.22, 20.0),
}


def synthesise_wav(path: Path, freqs: tuple[float, ...], beep_s: float, rate: int = 22050) -> Path:
    """A short 16-bit mono WAV of beeps with gaps and soft edges (no clicks)."""
    frames = bytearray()
    n = int(beep_s * rate)
    fade = max(1, int(0.01 * rate))
    for f in freqs:
        for i in range(n):
            env = min(1.0, i / fade, (n - i) / fade)
            frames += struct.pack("<h", int(12000 * env * math.sin(2 * math.pi * f * i / rate)))
        frames += b"\0\0" * int(0.06 * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


class SoundBank:
    """Process-wide tones with a mute switch and a per-tone rate limit."""

    def __init__(self) -> None:
        self.muted = False
        self._dir: Path | None = None
        self._effects: dict[str, Any] = {}
        self._last: dict[str, float] = {}
        self.played: list[str] = []  # what was asked to sound (tests, diagnostics)

    def _effect(self, name: str) -> Any:
        eff = self._effects.get(name)
        if eff is None:
            from PySide6.QtMultimedia import QSoundEffect  # only when a tone is due

            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="cc-tones-"))
            freqs, beep, _ = TONES[name]
            path = synthesise_wav(self._dir / f"{name}.wav", freqs, beep)
            eff = QSoundEffect()
            eff.setSource(QUrl.fromLocalFile(str(path)))
            eff.setVolume(0.8)
            self._effects[name] = eff
        return eff

    def play(self, name: str, now: float | None = None) -> bool:
        """Play a tone unless muted or played too recently; True when it sounded."""
        if self.muted or name not in TONES:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last.get(name, -1e9) < TONES[name][2]:
            return False
        self._last[name] = now
        self.played.append(name)
        del self.played[:-50]
        self._effect(name).play()
        return True


_BANK: SoundBank | None = None


def sounds() -> SoundBank:
    global _BANK
    if _BANK is None:
        _BANK = SoundBank()
    return _BANK


# Feed text on screen: one set of helpers for every panel (widgets.plaintext).
from widgets.plaintext import breakable, clip, field_html, isolate, plain_tooltip  # noqa: E402, F401
