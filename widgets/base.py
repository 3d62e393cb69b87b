"""The Panel base: what every panel in the hall has, so no panel gets it wrong.

- a header with its title and a freshness badge (live / N s old / disconnected), because a
  number on a wall that silently stopped updating is worse than no number;
- settings as plain data, described by a small schema so one generic dialog edits them
  and layouts store them as JSON;
- a teardown that leaves nothing behind: every Qt connection made through ``listen`` and
  every core subscription made through ``hold`` is undone, every timer made by ``timer``
  is stopped. Opening and closing a panel a hundred times must not grow the process.

A panel receives a ``PanelContext``: the store, the feed status, the frame-paced bridge,
the shared selection and the operator's role. It never sees where data comes from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, SignalInstance
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from commandcenter.domain import Role
from commandcenter.selection import Selection
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from widgets.i18n import is_chinese
from widgets.live import LiveBridge

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PanelContext:
    store: Store
    status: FeedStatus
    bridge: LiveBridge
    selection: Selection = field(default_factory=Selection)
    role: Role = Role.DUTY_OFFICER


@dataclass(frozen=True, slots=True)
class Setting:
    """One editable setting: kind is bool, int, float, str or choice."""

    kind: str
    default: Any
    label_zh: str
    label_en: str
    choices: tuple[str, ...] = ()
    minimum: float = 0
    maximum: float = 1_000_000

    def coerce(self, value: Any) -> Any:
        """A stored value, made valid (layouts may come from older versions or by hand)."""
        try:
            if self.kind == "bool":
                return bool(value)
            if self.kind == "int":
                return int(min(max(int(value), self.minimum), self.maximum))
            if self.kind == "float":
                return float(min(max(float(value), self.minimum), self.maximum))
            if self.kind == "choice":
                return value if value in self.choices else self.default
            return str(value)
        except (TypeError, ValueError):
            return self.default


def freshness(status: FeedStatus, now: float | None = None) -> tuple[str, str]:
    """(badge text, level: live/aging/stale/down) for the current link state."""
    zh = is_chinese()
    age = status.data_age(now)
    if status.state in (LinkState.RECONNECTING, LinkState.STOPPED):
        return ("已断开" if zh else "disconnected"), "down"
    if status.state is LinkState.CONNECTING or age is None:
        return ("连接中" if zh else "connecting"), "stale"
    if status.state is LinkState.STALE or age > 10:
        return (f"{age:.0f} 秒前" if zh else f"{age:.0f} s old"), "stale"
    if age > 3:
        return (f"{age:.0f} 秒前" if zh else f"{age:.0f} s old"), "aging"
    return ("实时" if zh else "live"), "live"


class Panel(QWidget):
    """Base of every panel. Subclasses set ``name`` (the registry key), fill ``body``,
    declare ``SETTINGS`` and override ``apply_settings`` / ``retranslate`` as needed."""

    name: ClassVar[str] = ""
    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    SETTINGS: ClassVar[dict[str, Setting]] = {}

    def __init__(
        self,
        ctx: PanelContext,
        settings: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"panel-{self.name}")
        self.setProperty("panel", True)
        self._undo: list[Callable[[], None]] = []
        self._timers: list[QTimer] = []
        self._torn_down = False
        self.settings: dict[str, Any] = {k: s.default for k, s in self.SETTINGS.items()}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        header = QWidget(self)
        header.setObjectName("panelHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(8, 4, 8, 4)
        self.title_label = QLabel(header)
        self.title_label.setObjectName("panelTitle")
        self.badge = QLabel(header)
        self.badge.setObjectName("freshness")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.title_label, 1)
        row.addWidget(self.badge)
        self.header = header
        outer.addWidget(header)
        self.body = QWidget(self)
        outer.addWidget(self.body, 1)
        self.listen(ctx.bridge.tick, self._refresh_badge)
        self.listen(ctx.bridge.statusChanged, self._refresh_badge)
        self._refresh_badge()
        self._retitle()
        if settings:
            self.update_settings(settings, apply=False)

    # ---- lifetime ----------------------------------------------------------------------

    def listen(self, signal: SignalInstance, slot: Callable[..., Any]) -> None:
        """Connect, and remember to disconnect at teardown."""
        signal.connect(slot)

        def undo() -> None:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass  # the sender is already gone

        self._undo.append(undo)

    def hold(self, unsubscribe: Callable[[], None]) -> None:
        """Keep a core subscription's unsubscribe for teardown."""
        self._undo.append(unsubscribe)

    def timer(self, interval_ms: int, slot: Callable[[], None]) -> QTimer:
        """A started repeating timer owned by the panel and stopped at teardown."""
        t = QTimer(self)
        t.setInterval(interval_ms)
        t.timeout.connect(slot)
        t.start()
        self._timers.append(t)
        return t

    def teardown(self) -> None:
        """Undo every connection and subscription, stop every timer. Idempotent."""
        if self._torn_down:
            return
        self._torn_down = True
        self.on_teardown()
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:
                log.exception("teardown step of panel %s failed", self.name)
        for t in self._timers:
            t.stop()
            t.deleteLater()
        self._timers.clear()

    def on_teardown(self) -> None:
        """Subclasses release what they hold beyond ``listen``/``hold``/``timer``."""

    @property
    def torn_down(self) -> bool:
        return self._torn_down

    def closeEvent(self, event: QEvent) -> None:  # type: ignore[override]
        self.teardown()
        super().closeEvent(event)  # type: ignore[arg-type]

    # ---- settings ----------------------------------------------------------------------

    def update_settings(self, values: dict[str, Any], apply: bool = True) -> None:
        for key, value in values.items():
            spec = self.SETTINGS.get(key)
            if spec is not None:
                self.settings[key] = spec.coerce(value)
        if apply:
            self.apply_settings()

    def apply_settings(self) -> None:
        """Subclasses react to ``self.settings`` having changed."""

    def edit_settings(self) -> bool:
        """The generic settings dialog; True when the operator accepted."""
        if not self.SETTINGS:
            return False
        dlg = SettingsDialog(self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.update_settings(dlg.values())
            return True
        return False

    # ---- presentation --------------------------------------------------------------------

    def title(self) -> str:
        return self.title_zh if is_chinese() else self.title_en

    def _retitle(self) -> None:
        self.title_label.setText(self.title())

    def retranslate(self) -> None:
        """Subclasses re-set their texts; call super()."""
        self._retitle()
        self._refresh_badge()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _refresh_badge(self, *_: object) -> None:
        text, level = freshness(self.ctx.status)
        if self.badge.text() != text:
            self.badge.setText(text)
        if self.badge.property("level") != level:
            self.badge.setProperty("level", level)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)


class SettingsDialog(QDialog):
    """One form for every panel, built from its SETTINGS schema."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        zh = is_chinese()
        self.setWindowTitle(f"{panel.title()} · {'设置' if zh else 'Settings'}")
        form = QFormLayout()
        self._editors: dict[str, tuple[Setting, QWidget]] = {}
        for key, spec in panel.SETTINGS.items():
            value = panel.settings.get(key, spec.default)
            editor: QWidget
            if spec.kind == "bool":
                editor = QCheckBox()
                editor.setChecked(bool(value))
            elif spec.kind == "int":
                editor = QSpinBox()
                editor.setRange(int(spec.minimum), int(spec.maximum))
                editor.setValue(int(value))
            elif spec.kind == "float":
                editor = QDoubleSpinBox()
                editor.setRange(spec.minimum, spec.maximum)
                editor.setValue(float(value))
            elif spec.kind == "choice":
                editor = QComboBox()
                editor.addItems(list(spec.choices))
                editor.setCurrentText(str(value))
            else:
                editor = QLineEdit(str(value))
            editor.setObjectName(f"setting-{key}")
            form.addRow(spec.label_zh if zh else spec.label_en, editor)
            self._editors[key] = (spec, editor)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (spec, editor) in self._editors.items():
            if isinstance(editor, QCheckBox):
                out[key] = editor.isChecked()
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                out[key] = editor.value()
            elif isinstance(editor, QComboBox):
                out[key] = editor.currentText()
            elif isinstance(editor, QLineEdit):
                out[key] = editor.text()
            else:
                out[key] = spec.default
        return out


def count_live_objects() -> int:
    """Every QObject reachable from the application and its top-level widgets (leak tests:
    count, open and close a panel many times, collect, count again)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return 0
    tops = QApplication.topLevelWidgets()
    return len(app.findChildren(QObject)) + sum(1 + len(w.findChildren(QObject)) for w in tops)
