"""A duty officer's shift, scripted, keys only: five cases of the demo county on the duty
officer's layout, each signed, dispatched to a person, chased (督办), escalated (a second
督办, 升级督办) and, once the field reports it done, verified and closed. Every key is a
real key event sent to whatever widget has the keyboard focus, as a keyboard does; the
keys of every step are counted against a budget, the status line must say what the step
did, and a picture of the windows is taken at every step (written to ``CC_SHIFT_SHOTS``
when set, else to the test's temporary folder; never to the repository).

The server's part is played by the life cycle the reference server runs
(``commandcenter.lifecycle.apply``): each queued action is confirmed and its new case
comes back as the feed would bring it; the field's 到场 and 办结 arrive the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from commandcenter import lifecycle
from commandcenter.actions import ItemState
from commandcenter.domain import CaseState, Role
from feeds import protocol as P
from tests.test_duty_desk import Desk, status_text
from widgets import i18n, registry, theme
from widgets.cases import common
from widgets.cases.dispatch_dialog import DispatchDialog
from widgets.cases.queue import TABS, CaseQueuePanel
from widgets.chrome.palette import CommandPalette

# Keys a step may take at most: what a duty officer's hands can afford, case after case.
BUDGET = {
    "select": 1,  # the next case of 待签收: one key
    "sign": 1,  # s
    "dispatch": 3,  # d, Tab to the people, Enter
    "chase": 2,  # e, Enter (the first standard reason)
    # The same by the palette: Ctrl+K, 督办 typed in pinyin (d u b a n, space), Enter, Enter.
    "chase_palette": 9,
    "escalate": 3,  # e, Down to 升级督办, Enter
    "close": 1,  # v
}


class Shift:
    """The desk, a keystroke counter per step, the server's part and the pictures."""

    def __init__(self, desk: Desk, qtbot: Any, shots: Path) -> None:
        self.desk = desk
        self.qtbot = qtbot
        self.shots = shots
        self.queue: CaseQueuePanel = desk.panel(CaseQueuePanel)
        self.n = 0
        self.log: list[tuple[str, str, int]] = []

    def press(self, key: Qt.Key | str) -> None:
        """One key, once a widget has the keyboard (a closed dialog gives it back a moment
        later, when its window is active again; a focus lost for good fails here)."""
        self.qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=3000)
        # Press and release go where the focus is at each moment, as from a keyboard: a
        # key that closes a dialog is released over the window that has the keys next.
        self.qtbot.keyPress(QApplication.focusWidget(), key)
        self.desk.keys += 1
        after = QApplication.focusWidget()
        if after is not None:
            self.qtbot.keyRelease(after, key)

    def press_chord(self, key: Qt.Key, mods: Qt.KeyboardModifier) -> None:
        """One key with modifiers (Ctrl+K): a shortcut of the window."""
        self.qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=3000)
        self.qtbot.keyClick(QApplication.focusWidget(), key, mods)
        self.desk.keys += 1

    def type_pinyin(self, text: str, pinyin: str) -> None:
        """Chinese typed as a duty officer types it: the pinyin keys and a space, then
        the input method commits the characters to the focused field."""
        target = QApplication.focusWidget()
        assert target is not None
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(target, event)
        self.desk.keys += len(pinyin) + 1

    def press_in_dialog(self, keys: list[Qt.Key | str], opener: Qt.Key | str) -> None:
        """``opener`` opens a modal prompt (a reason to give): the ``keys`` go to the
        prompt once it has the focus, as the officer types them into it."""
        app = QApplication.instance()
        assert app is not None
        done: list[bool] = []

        def type_in() -> None:
            w = QApplication.activeModalWidget()
            focus = QApplication.focusWidget()
            if w is None or focus is None or focus.window() is not w:
                QTimer.singleShot(20, type_in)
                return
            self.picture(w, "prompt")
            for k in keys:
                self.press(k)
            done.append(True)

        QTimer.singleShot(0, type_in)
        self.press(opener)
        assert done, "the prompt never took the keys"

    def step(self, case_id: str, name: str, run: Callable[[], None], says: str) -> None:
        """Run one step's keys; check the budget and the status line; take the picture."""
        before = self.desk.keys
        run()
        used = self.desk.keys - before
        said = status_text(self.desk)
        self.n += 1
        path = self.shots / f"{self.n:02d}-{case_id}-{name}.png"
        self.qtbot.wait(30)  # the layouts a new message asks for, done as a screen would
        grab(self.desk, path)
        self.log.append((case_id, name, used))
        assert used <= BUDGET[name], f"{case_id} {name}: {used} keys, budget {BUDGET[name]}"
        assert says in said, f"{case_id} {name}: the status line says {said!r}"

    def picture(self, window: Any, name: str) -> None:
        """A dialog as the officer sees it, before the key that closes it."""
        path = self.shots / f"{self.n + 1:02d}-{name}.png"
        assert window.grab().save(str(path))

    def serve(self) -> None:
        """The server's answer to every queued action: applied by the life cycle, confirmed,
        the case sent back on the feed."""
        outbox = self.desk.outbox
        for item in outbox.items():
            if item.state is not ItemState.PENDING:
                continue
            outbox.mark_sending(item.key)
            self._send(
                item.case_id, lifecycle.Action(item.action), item.actor, item.role, item.params
            )
            outbox.mark_confirmed(item.key)
        self.desk.bridge.flush()

    def _send(
        self, case_id: str, action: lifecycle.Action, actor: str, role: Role, params: dict
    ) -> None:
        store = self.desk.store
        case = P.case_to_domain(store.case(case_id))
        new = lifecycle.apply(case, action, actor, role, store.clock.now(), params)
        store.apply([P.Event(store.seq + 1, P.CASE_UPDATED, 0.0, P.case_to_wire(new))])

    def field(self, case_id: str, action: lifecycle.Action) -> None:
        """What the field does on its own terminal (到场, 办结), as the feed brings it."""
        self._send(case_id, action, "网格员", Role.FIELD, {})
        self.desk.bridge.flush()


def grab(desk: Desk, path: Path) -> None:
    """Every window of the shell, side by side in one picture."""
    pics = [w.grab() for w in desk.shell.windows]
    assert all(not p.isNull() for p in pics)
    if len(pics) == 1:
        pics[0].save(str(path))
        return
    from PySide6.QtGui import QPainter, QPixmap

    width = sum(p.width() for p in pics)
    height = max(p.height() for p in pics)
    out = QPixmap(width, height)
    painter = QPainter(out)
    x = 0
    for p in pics:
        painter.drawPixmap(x, 0, p)
        x += p.width()
    painter.end()
    out.save(str(path))


@pytest.fixture
def shift(
    qapp: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shift]:
    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "config"))
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    registry.load_builtin_panels()
    common.sounds().muted = True
    desk = Desk(tmp_path)
    desk.shell.open_layout("duty_console")  # the duty officer's own layout
    shots = Path(os.environ.get("CC_SHIFT_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    yield Shift(desk, qtbot, shots)
    desk.close()


def test_a_shift_of_five_cases_by_keys_alone(shift: Shift, qtbot: Any) -> None:
    desk, q = shift.desk, shift.queue
    qtbot.waitUntil(lambda: QApplication.focusWidget() is q.view)
    shift.press("2")  # 待签收
    assert q.model.filter.duty == TABS[1] == "to_sign"
    worked: list[str] = []
    for n in range(5):
        if n:
            shift.step("next", "select", lambda: shift.press(Qt.Key.Key_J), "")
        cid = q.current_case_id()
        assert cid and cid not in worked
        if n:
            assert f"{cid} · 待签收" in status_text(desk), "j says which case the keys act on"
        assert desk.store.case(cid).state == CaseState.REPORTED
        worked.append(cid)

        shift.step(cid, "sign", lambda: shift.press("s"), f"{cid} 签收")
        shift.serve()
        assert desk.store.case(cid).state == CaseState.SIGNED
        assert q.current_case_id() == cid, "the signed case stays selected"

        def dispatch() -> None:
            shift.press("d")
            qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget().window(), DispatchDialog))
            dialog = QApplication.focusWidget().window()
            shift.press(Qt.Key.Key_Tab)  # to the people and vehicles: the first is chosen
            assert dialog.params()["assignee_kind"] in ("person", "unit")
            shift.picture(dialog, "dispatch-dialog")
            shift.press(Qt.Key.Key_Return)

        shift.step(cid, "dispatch", dispatch, f"{cid} 派遣")
        item = max(desk.outbox.items(cid), key=lambda i: i.id)
        assert item.action == "assign"
        assert item.params["assignee_kind"] in ("person", "unit"), item.params
        shift.serve()
        assert desk.store.case(cid).state == CaseState.ASSIGNED
        assert q.current_case_id() == cid

        if n == 2:  # one case chased from the command palette, by its verb

            def chase(cid: str = cid) -> None:
                shift.press_chord(Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
                qtbot.waitUntil(
                    lambda: isinstance(QApplication.focusWidget().window(), CommandPalette)
                )
                palette = QApplication.focusWidget().window()
                shift.type_pinyin("督办", "duban")
                assert palette.visible_labels()[0].startswith(f"督办 {cid}")
                shift.picture(palette, "palette")
                shift.press_in_dialog([Qt.Key.Key_Return], Qt.Key.Key_Return)

            shift.step(cid, "chase_palette", chase, f"{cid} 督办")
        else:
            shift.step(
                cid,
                "chase",
                lambda: shift.press_in_dialog([Qt.Key.Key_Return], "e"),
                f"{cid} 督办",
            )
        shift.serve()
        assert desk.store.case(cid).supervised == 1

        shift.step(
            cid,
            "escalate",
            lambda: shift.press_in_dialog([Qt.Key.Key_Down, Qt.Key.Key_Return], "e"),
            f"{cid} 督办",
        )
        shift.serve()
        assert desk.store.case(cid).supervised == 2

        shift.field(cid, lifecycle.Action.ARRIVE)
        shift.field(cid, lifecycle.Action.COMPLETE)
        assert q.current_case_id() == cid
        shift.step(cid, "close", lambda: shift.press("v"), f"{cid} 核查结案")
        shift.serve()
        assert desk.store.case(cid).state == CaseState.CLOSED
    per_case: dict[str, int] = {}
    for cid, _step, used in shift.log:
        per_case[cid] = per_case.get(cid, 0) + used
    most = sum(BUDGET.values()) - BUDGET["select"] - BUDGET["chase"]
    assert all(per_case[c] <= most for c in worked), per_case
    for cid in worked:
        case = desk.store.case(cid)
        notes = [t.note for t in case.timeline if t.action == "escalate"]
        assert notes == [common.ESCALATE_REASONS[0][0], common.ESCALATE_REASONS[1][0]]
        assert case.assignee_kind in ("person", "unit") and case.closed_ts > 0
    assert not desk.outbox.needs_attention(), "nothing refused, nothing in conflict"
