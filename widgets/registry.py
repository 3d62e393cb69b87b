"""Panels by name. Layouts refer to panels by these names; one the registry does not know
(a layout from a newer version, a plug-in not installed) restores as a placeholder that
says what is missing instead of failing the whole layout.

A panel module registers itself with ``@register``; ``load_builtin_panels`` imports the
built-in modules so that their decorators run (``widgets.panels`` imports one module per
panel). ``infos()`` describes every registered panel for the palette without building one.
A layout's panels are found through ``BUILTIN_PANELS`` instead, importing only their own
modules: the insight panels bring pandas and the video panels QtMultimedia, which a duty
console's first frame does not need (start-up budget, docs/architecture.md).

A panel that fails while it is being built also becomes a placeholder (saying so) rather
than taking the rest of the layout down with it: one broken panel on a wall must not
blank the other eleven. So does one whose context lacks an engine it declares in
``REQUIRES`` (checked before it is built): the placeholder names what is missing.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets.base import Need, Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.theme import current_scale

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type[Panel]] = {}

BUILTIN_MODULES = (
    "widgets.panels",
    "widgets.map",
    "widgets.video",
    "widgets.cases",
    "widgets.insights",
)

# Each built-in panel's module, so that building one imports only what it needs; a name
# not here (a panel added without its entry) is still found, by importing them all.
BUILTIN_PANELS = {
    "alerts": "widgets.panels.alerts",
    "feed_status": "widgets.panels.feed_status",
    "kpis": "widgets.panels.kpis",
    "newest_cases": "widgets.panels.newest_cases",
    "overview": "widgets.panels.overview",
    "sla_tiles": "widgets.panels.sla_tiles",
    "map": "widgets.map.panel",
    "video": "widgets.video.panel",
    "video_wall": "widgets.video.wall",
    "alarms": "widgets.cases.alarms",
    "audit_log": "widgets.cases.audit_view",
    "case_detail": "widgets.cases.detail",
    "case_queue": "widgets.cases.queue",
    "grid_stats": "widgets.insights.grids",
    "hot_topics": "widgets.insights.topics",
    "ranking": "widgets.insights.ranking",
    "trends": "widgets.insights.trends",
}

# Panels whose modules are heavy (pyqtgraph, pandas, QtMultimedia: 0.2-0.8 s of imports
# on the 2-core reference machine): at start-up they stand as a PendingPanel and are built
# once the first live frame is up (``Shell.defer_heavy``), so the console shows live data
# first. Each with the minimum size its panel needs at type scale 1.0 (tests check it), so
# that the layout folded around the placeholder still fits the panel built in its place.
DEFERRED: dict[str, tuple[int, int]] = {
    "map": (700, 165),
    "video": (210, 135),
    "video_wall": (500, 250),
    "grid_stats": (210, 185),
    "hot_topics": (680, 265),
    "ranking": (490, 220),
    "trends": (210, 440),
}


@dataclass(frozen=True, slots=True)
class PanelInfo:
    """What the palette and the layout library show of a panel type, without building it."""

    name: str
    title_zh: str
    title_en: str
    icon: str
    description_zh: str
    description_en: str
    settings: dict[str, Setting]

    def title(self) -> str:
        return self.title_zh if is_chinese() else self.title_en

    def description(self) -> str:
        return self.description_zh if is_chinese() else self.description_en


def register(cls: type[Panel]) -> type[Panel]:
    """Class decorator: make a panel type known by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"panel name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def load_builtin_panels() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def info(name: str) -> PanelInfo | None:
    cls = panel_class(name)
    if cls is None:
        return None
    return PanelInfo(
        name=cls.name,
        title_zh=cls.title_zh,
        title_en=cls.title_en,
        icon=cls.icon,
        description_zh=cls.description_zh,
        description_en=cls.description_en,
        settings=dict(cls.SETTINGS),
    )


def infos() -> list[PanelInfo]:
    """Every registered panel, by name."""
    return [i for i in (info(n) for n in names()) if i is not None]


def names() -> list[str]:
    load_builtin_panels()
    return sorted(_REGISTRY)


def panel_class(name: str) -> type[Panel] | None:
    if name not in _REGISTRY and name in BUILTIN_PANELS:
        importlib.import_module(BUILTIN_PANELS[name])
    if name not in _REGISTRY:
        load_builtin_panels()
    return _REGISTRY.get(name)


def create(name: str, ctx: PanelContext, settings: dict[str, Any] | None = None) -> Panel:
    """The panel, or a placeholder naming what is missing; never raises for a bad name."""
    cls = panel_class(name)
    if cls is None:
        log.warning("layout names panel %r, which this version does not have", name)
        return PlaceholderPanel(ctx, missing=name, settings=settings)
    missing = ctx.missing(cls.REQUIRES)
    if missing:
        log.error(
            "panel %r requires %s, which this context lacks",
            name,
            ", ".join(n.value for n in missing),
        )
        return PlaceholderPanel(ctx, missing=name, settings=settings, needs=missing)
    try:
        return cls(ctx, settings)
    except Exception as err:
        log.exception("panel %r failed to build", name)
        return PlaceholderPanel(ctx, missing=name, settings=settings, error=repr(err)[:200])


class PlaceholderPanel(Panel):
    """Stands where a panel of an unknown type was: keeps its place and settings, so that
    saving the layout again does not lose them."""

    name = "placeholder"
    title_zh = "缺失的面板"
    title_en = "Missing panel"
    icon = "⚠"
    SHOWS_FRESHNESS = False  # it shows no data: a green "live" on it would be a lie
    description_zh = "布局中有本版本没有的面板：保留其位置和设置"
    description_en = "A panel this version does not have: its place and settings are kept"

    def __init__(
        self,
        ctx: PanelContext,
        missing: str = "",
        settings: dict[str, Any] | None = None,
        error: str = "",
        needs: tuple[Need, ...] = (),
    ) -> None:
        self.missing = missing
        self.error = error
        self.needs = needs  # what the context lacked (the panel type exists)
        self.kept_settings = dict(settings or {})
        super().__init__(ctx)
        layout = QVBoxLayout(self.body)
        self.message = QLabel(self.body)
        self.message.setObjectName("placeholderMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.message)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "message"):
            return
        zh = is_chinese()
        if self.needs:
            what = (
                "、".join(n.label() for n in self.needs)
                if zh
                else ", ".join(n.label() for n in self.needs)
            )
            text = (
                f"面板“{self.missing}”需要{what}，此屏幕没有：面板未创建。\n布局中的位置和设置已保留。"
                if zh
                else f"Panel “{self.missing}” requires {what}, which this screen does not "
                "have: the panel was not built.\nIts place and settings in the layout are kept."
            )
        elif self.error:
            text = (
                f"面板“{self.missing}”无法创建：{self.error}\n布局中的位置和设置已保留。"
                if zh
                else f"Panel “{self.missing}” could not be built: {self.error}\n"
                "Its place and settings in the layout are kept."
            )
        elif zh:
            text = f"此版本没有面板“{self.missing}”。\n布局中的位置和设置已保留。"
        else:
            text = (
                f"This version has no panel “{self.missing}”.\n"
                "Its place and settings in the layout are kept."
            )
        self.message.setText(text)


def panel_widget_name(widget: QWidget) -> str:
    """The registry name to save for a panel widget (placeholders save what they stand for)."""
    if isinstance(widget, PlaceholderPanel):
        return widget.missing
    return getattr(widget, "name", "")


class PendingPanel(PlaceholderPanel):
    """Stands where a heavy panel will be (``DEFERRED``) until the shell builds it just
    after the first live frame; saves its type and settings like any placeholder."""

    name = "pending"
    title_zh = "正在加载"
    title_en = "Loading"
    icon = "…"
    description_zh = "面板在首个实时画面之后创建"
    description_en = "A panel built just after the first live frame"

    def minimumSizeHint(self) -> QSize:
        w, h = DEFERRED.get(self.missing, (0, 0))
        scale = current_scale()
        return super().minimumSizeHint().expandedTo(QSize(round(w * scale), round(h * scale)))

    def title(self) -> str:
        cls = _REGISTRY.get(self.missing)
        return cls.display_title() if cls is not None else super().title()

    def retranslate(self) -> None:
        Panel.retranslate(self)
        if hasattr(self, "message"):
            self.message.setText(zh_en("正在加载…", "Loading…"))
