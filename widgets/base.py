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

A panel class is also its own declaration for the palette and the layout library:
``name`` (the registry key that layouts store), ``title_zh``/``title_en``, ``icon`` (a
Unicode glyph, so it needs no image files and follows the theme's colour), a one-line
``description_zh``/``description_en`` saying which question of the hall it answers, and
``SETTINGS``.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, SignalInstance
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from commandcenter.actions import Outbox
from commandcenter.alarms import AlarmEngine
from commandcenter.audit import AuditLog
from commandcenter.domain import Role
from commandcenter.metrics.engine import MetricEngine
from commandcenter.privacy import Mask
from commandcenter.selection import Selection
from commandcenter.status import FeedStatus, LinkState, StatusBoard
from commandcenter.store import Store
from widgets import theme
from widgets.i18n import is_chinese, zh_en
from widgets.live import LiveBridge
from widgets.plaintext import plain_tooltip

if TYPE_CHECKING:  # pandas costs ~0.4 s to import; the engine is built in main.py
    from commandcenter.ranking import RankingEngine

log = logging.getLogger(__name__)


class Need(Enum):
    """A shared engine a panel cannot work without (``Panel.REQUIRES``).

    The engines are built once per console (``hall_context``, as main.py does) and shared
    by every panel: two alarm engines would raise every alarm twice, a ranking engine per
    panel would hold a million cases per table. A panel never builds one of its own and
    never falls back to one: a context without what it requires shows why instead.
    """

    METRICS = "metrics"  # ctx.metrics: the metric catalogue (commandcenter.metrics)
    RANKING = "ranking"  # ctx.ranking: the league tables (commandcenter.ranking)
    ALARMS = "alarms"  # ctx.alarms: SLA and cluster alarms (commandcenter.alarms)

    def label(self) -> str:
        return {
            Need.METRICS: zh_en("指标引擎", "the metric engine"),
            Need.RANKING: zh_en("排名引擎", "the ranking engine"),
            Need.ALARMS: zh_en("告警引擎", "the alarm engine"),
        }[self]


class MissingRequirement(RuntimeError):
    """A panel was built in a context that lacks an engine it declares in REQUIRES."""

    def __init__(self, panel: str, missing: tuple[Need, ...]) -> None:
        self.panel = panel
        self.missing = missing
        super().__init__(
            f"panel {panel!r} requires {', '.join(n.value for n in missing)}, "
            "which this context does not have"
        )


@dataclass(slots=True)
class PanelContext:
    """Everything a panel may use; one per window, shared by all its panels."""

    store: Store
    status: FeedStatus
    bridge: LiveBridge
    selection: Selection = field(default_factory=Selection)
    role: Role = Role.DUTY_OFFICER
    # The case desk's services (None in read-only or test contexts: panels then only show).
    outbox: Outbox | None = None  # durable actions (commandcenter.actions)
    audit: AuditLog | None = None  # who did what (commandcenter.audit)
    alarms: AlarmEngine | None = None  # the hall's SLA/cluster alarms (commandcenter.alarms)
    actor: str = ""  # the officer's name as written into timelines and the audit log
    # The screen's masking policy (privacy.Mask). None: by ``role`` (widgets.masking.mask_of);
    # the shell sets it per layout and forces it on for briefing screens.
    mask: Mask | None = None
    # True while the panel shows the past (time travel): its freshness badge says "回放"
    # instead of "live", because the store it reads is not the live one.
    replay: bool = False
    # The role of the layout the panel is on (a leader's or a wall's screen takes no case
    # actions whoever is logged in; widgets/cases/desk.py refuses them). None: any.
    layout_role: Role | None = None
    # The metric catalogue over ``store`` (commandcenter.metrics): every number a panel
    # shows comes from it.
    metrics: MetricEngine | None = None
    # Every live source's own status (the feed status panel's rows); ``status`` is the
    # hall's over them. None: the bridge's (one board per console), or none at all.
    sources: StatusBoard | None = None
    # The league tables over ``store`` (commandcenter.ranking), following its changes.
    ranking: RankingEngine | None = None

    def __post_init__(self) -> None:
        """The engines are built by ``hall_context`` (main.py builds its own the same way)
        and passed in; a plain context has none, and a panel that requires one says so.
        A replay context (time travel's rebuilt past) gets the past's own, built once per
        past store: the live ones would show the live numbers on a screen of the past."""
        if self.sources is None:
            self.sources = getattr(self.bridge, "sources", None)
        if self.replay:
            self._bind_past()

    def _bind_past(self) -> None:
        past = _PAST_ENGINES.get(self.store)
        if past is None:
            from commandcenter.ranking import RankingEngine

            alarms = AlarmEngine(self.store, None)  # shown, never sounded or audited
            self.bridge.tick.connect(alarms.evaluate)
            past = _PAST_ENGINES[self.store] = (
                MetricEngine(self.store),
                RankingEngine.following(self.store),
                alarms,
            )
        if self.metrics is None or self.metrics.store is not self.store:
            self.metrics = past[0]
        if self.ranking is None or self.ranking.store is not self.store:
            self.ranking = past[1]
        if self.alarms is None or self.alarms.store is not self.store:
            self.alarms = past[2]

    def missing(self, needs: tuple[Need, ...]) -> tuple[Need, ...]:
        """Which of ``needs`` this context lacks (none, or bound to another store)."""
        engines = {Need.METRICS: self.metrics, Need.RANKING: self.ranking, Need.ALARMS: self.alarms}
        return tuple(
            n
            for n in needs
            if engines[n] is None or getattr(engines[n], "store", None) is not self.store
        )


# The engines of a rebuilt past, one set per past store (a replay context is made again
# for every layout shown while replaying; its alarms must not tick twice).
_PAST_ENGINES: weakref.WeakKeyDictionary[Store, tuple[Any, Any, AlarmEngine]] = (
    weakref.WeakKeyDictionary()
)


def hall_context(
    store: Store, status: FeedStatus, bridge: LiveBridge, *args: Any, **kw: Any
) -> PanelContext:
    """A context with the hall's engines over ``store``, each built once here: the metric
    catalogue, the ranking engine following the store, and the alarm engine ticking with
    the bridge. Engines passed in ``kw`` are used as they are. main.py, tools and tests
    make their contexts with it; ``PanelContext`` itself builds none."""
    from commandcenter.ranking import RankingEngine

    ctx = PanelContext(store, status, bridge, *args, **kw)
    if ctx.metrics is None:
        ctx.metrics = MetricEngine(store)
    if ctx.ranking is None:
        ctx.ranking = RankingEngine.following(store)
    if ctx.alarms is None:
        ctx.alarms = AlarmEngine(store, ctx.audit)
        bridge.tick.connect(ctx.alarms.evaluate)
    return ctx


@dataclass(frozen=True, slots=True)
class Setting:
    """One editable setting: kind is bool, int, float, str or choice.

    ``choices`` are the stored values (stable across languages, so a layout saved in
    Chinese opens in English); ``choice_labels_zh``/``_en``, when given, are what the
    dialog shows for them, in the same order.
    """

    kind: str
    default: Any
    label_zh: str
    label_en: str
    choices: tuple[str, ...] = ()
    minimum: float = 0
    maximum: float = 1_000_000
    choice_labels_zh: tuple[str, ...] = ()
    choice_labels_en: tuple[str, ...] = ()

    def label(self) -> str:
        return self.label_zh if is_chinese() else self.label_en

    def choice_labels(self) -> tuple[str, ...]:
        """What the dialog shows for each choice (the values themselves when unlabelled)."""
        labels = self.choice_labels_zh if is_chinese() else self.choice_labels_en
        return labels if len(labels) == len(self.choices) else self.choices

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


AGING_AFTER_S = 3.0  # two missed frames of a 1 Hz heartbeat: worth a glance
STALE_AFTER_S = 10.0  # matches the status strip: the number may be wrong now
BADGE_LEVELS: tuple[str, ...] = ("live", "aging", "stale", "down")


def freshness(status: FeedStatus, now: float | None = None) -> tuple[str, str]:
    """(badge text, level: live/aging/stale/down) for the current link state.

    The level is what the theme colours (green, amber, orange-red, red); the text says
    the age in seconds so that "stale" is a number the officer can judge, not a mood.
    """
    zh = is_chinese()
    age = status.data_age(now)
    if status.state in (LinkState.RECONNECTING, LinkState.STOPPED):
        return (zh_en("已断开", "disconnected")), "down"
    if status.state is LinkState.CONNECTING or age is None:
        return (zh_en("连接中", "connecting")), "stale"
    if status.state is LinkState.STALE or age > STALE_AFTER_S:
        return (f"{age:.0f} 秒前" if zh else f"{age:.0f} s old"), "stale"
    if age > AGING_AFTER_S:
        return (f"{age:.0f} 秒前" if zh else f"{age:.0f} s old"), "aging"
    return (zh_en("实时", "live")), "live"


class Panel(QWidget):
    """Base of every panel. Subclasses set ``name`` (the registry key), fill ``body``,
    declare ``SETTINGS`` and override ``apply_settings`` / ``retranslate`` as needed.

    Below ``COMPACT_WIDTH`` logical pixels (times the theme scale, so a wall with bigger
    type turns compact at a proportionally bigger width) the panel sets the dynamic
    property ``compact`` and the sheet shrinks its big numbers: a 960-pixel dock on a
    console must still show every tile whole.
    """

    name: ClassVar[str] = ""
    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    icon: ClassVar[str] = "▦"
    description_zh: ClassVar[str] = ""
    description_en: ClassVar[str] = ""
    SETTINGS: ClassVar[dict[str, Setting]] = {}
    COMPACT_WIDTH: ClassVar[int] = 1100
    SHOWS_FRESHNESS: ClassVar[bool] = True  # False for panels that show no feed data
    # The shared engines the panel reads (Need); checked before it is built.
    REQUIRES: ClassVar[tuple[Need, ...]] = ()

    @classmethod
    def display_title(cls) -> str:
        """The title in the interface language (palette, tab, window title)."""
        return cls.title_zh if is_chinese() else cls.title_en

    @classmethod
    def description(cls) -> str:
        """One line: which question of the hall the panel answers (palette tooltip)."""
        return cls.description_zh if is_chinese() else cls.description_en

    def __init__(
        self,
        ctx: PanelContext,
        settings: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ):
        missing = ctx.missing(self.REQUIRES)
        if missing:  # before any widget exists: the registry shows it on a placeholder
            raise MissingRequirement(self.name, missing)
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"panel-{self.name}")
        self.setProperty("panel", True)
        self.setProperty("compact", False)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._undo: list[Callable[[], None]] = []
        self._timers: list[QTimer] = []
        self._torn_down = False
        self.settings: dict[str, Any] = {k: s.default for k, s in self.SETTINGS.items()}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        header = QWidget(self)
        header.setObjectName("panelHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(header)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(8)
        self.icon_label = QLabel(self.icon, header)
        self.icon_label.setObjectName("panelIcon")
        self.title_label = QLabel(header)
        self.title_label.setObjectName("panelTitle")
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.settings_button: QToolButton | None = None
        self.badge = QLabel(header)
        self.badge.setObjectName("freshness")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.icon_label)
        row.addWidget(self.title_label, 1)
        row.addWidget(self.badge)
        self.badge.setVisible(self.SHOWS_FRESHNESS)
        if self.SETTINGS:
            # The dialog is one click away on every panel that has settings: an operator
            # arranging a wall should not need to know where a menu hides them.
            self.settings_button = QToolButton(header)
            self.settings_button.setObjectName("panelSettings")
            self.settings_button.setText("⚙")
            self.settings_button.setAutoRaise(True)
            self.settings_button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.settings_button.clicked.connect(self.edit_settings)
            row.addWidget(self.settings_button)
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

    @property
    def selection_origin(self) -> str:
        """What this panel passes as ``origin`` to the shared selection, so that it can
        recognise (and not echo) its own selections: unique per panel instance."""
        return f"{self.name}:{id(self):x}"

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
        self.title_label.setToolTip(self.description())
        if self.settings_button is not None:
            self.settings_button.setToolTip(zh_en("面板设置", "Panel settings"))

    def retranslate(self) -> None:
        """Subclasses re-set their texts; call super()."""
        self._retitle()
        self._refresh_badge()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.StyleChange:
            self._update_compact(self.width())
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_compact(event.size().width())

    @property
    def compact(self) -> bool:
        return bool(self.property("compact"))

    def _update_compact(self, width: int) -> None:
        compact = width < self.COMPACT_WIDTH * theme.current_scale()
        if self.compact == compact:
            return
        self.setProperty("compact", compact)
        for w in (self, *self.findChildren(QWidget)):
            w.style().unpolish(w)
            w.style().polish(w)
        self.on_compact_changed(compact)

    def on_compact_changed(self, compact: bool) -> None:
        """Subclasses re-measure what depends on font sizes (column widths, row heights)."""

    def _sources_down(self) -> list[str]:
        """Names of the sources not live, when at least one other is live ([] otherwise:
        then the one hall status tells the whole story)."""
        board = self.ctx.sources
        if board is None or len(board.rows) < 2:
            return []
        live = [r for r in board.rows if r.status.state is LinkState.LIVE]
        if not live or len(live) == len(board.rows):
            return []
        return [r.name for r in board.rows if r.status.state is not LinkState.LIVE]

    def _refresh_badge(self, *_: object) -> None:
        status = self.ctx.status
        down = self._sources_down()
        if self.ctx.replay:
            text, level = (zh_en("回放", "replay")), "down"
        elif down:
            # One source of several is down while another is live: the panel is current
            # for what the live ones bring and may miss the rest. "Disconnected" would say
            # the whole screen is stale; amber with the names says what is missing.
            text, level = zh_en("部分中断", "partial"), "aging"
        else:
            text, level = freshness(status)
        if down:
            names = ", ".join(down)
            self.badge.setText(text)
            self.badge.setToolTip(
                plain_tooltip(
                    zh_en(
                        "数据源 {names} 中断，其余实时：此面板可能缺少它们的数据（见数据链路面板）。",
                        "Sources {names} down, the others live: this panel may lack their "
                        "data (see the feed status panel).",
                    ).format(names=names)
                )
            )
        elif self.badge.text() != text:
            self.badge.setText(text)
            age = status.data_age()
            if is_chinese():
                tip = (
                    "数据新鲜度：距服务器上次确认在线"
                    + ("（尚无数据）" if age is None else f" {age:.0f} 秒")
                    + "。3 秒内为实时，超过 10 秒为过时，链路断开时显示已断开。"
                )
            else:
                tip = (
                    "Data freshness: time since the server last proved alive"
                    + (" (no data yet)" if age is None else f": {age:.0f} s")
                    + ". Live within 3 s, stale after 10 s, disconnected when the link is down."
                )
            self.badge.setToolTip(tip)
        if self.badge.property("level") != level:
            self.badge.setProperty("level", level)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)


class SettingsDialog(QDialog):
    """One form for every panel, built from its SETTINGS schema."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.setWindowTitle(f"{panel.title()} · {zh_en('设置', 'Settings')}")
        self.setObjectName("panelSettingsDialog")
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
                for choice, label in zip(spec.choices, spec.choice_labels(), strict=True):
                    editor.addItem(label, choice)
                editor.setCurrentIndex(max(0, editor.findData(value)))
            else:
                editor = QLineEdit(str(value))
            editor.setObjectName(f"setting-{key}")
            form.addRow(spec.label(), editor)
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
                out[key] = editor.currentData()
            elif isinstance(editor, QLineEdit):
                out[key] = editor.text()
            else:
                out[key] = spec.default
        return out


def _reachable_objects() -> list[QObject]:
    app = QApplication.instance()
    if app is None:
        return []
    out: list[QObject] = [*app.findChildren(QObject)]
    for w in QApplication.topLevelWidgets():
        out.append(w)
        out.extend(w.findChildren(QObject))
    return out


def count_live_objects() -> int:
    """Every QObject reachable from the application and its top-level widgets (leak tests:
    count, open and close a panel many times, collect, count again)."""
    return len(_reachable_objects())


def active_timers() -> list[QTimer]:
    """Running QTimers reachable from the application and its top-level widgets (leak tests:
    a closed panel must leave none running; compare against a baseline taken before)."""
    return [o for o in _reachable_objects() if isinstance(o, QTimer) and o.isActive()]
