"""Panels by name. Layouts refer to panels by these names; one the registry does not know
(a layout from a newer version, a plug-in not installed) restores as a placeholder that
says what is missing instead of failing the whole layout.

A panel module registers itself with ``@register``; ``load_builtin_panels`` imports the
built-in modules so that their decorators run.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets.base import Panel, PanelContext
from widgets.i18n import is_chinese

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type[Panel]] = {}

BUILTIN_MODULES = ("widgets.panels",)


def register(cls: type[Panel]) -> type[Panel]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"panel name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def load_builtin_panels() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def names() -> list[str]:
    load_builtin_panels()
    return sorted(_REGISTRY)


def panel_class(name: str) -> type[Panel] | None:
    load_builtin_panels()
    return _REGISTRY.get(name)


def create(name: str, ctx: PanelContext, settings: dict[str, Any] | None = None) -> Panel:
    """The panel, or a placeholder naming what is missing; never raises for a bad name."""
    cls = panel_class(name)
    if cls is None:
        log.warning("layout names panel %r, which this version does not have", name)
        return PlaceholderPanel(ctx, missing=name, settings=settings)
    return cls(ctx, settings)


class PlaceholderPanel(Panel):
    """Stands where a panel of an unknown type was: keeps its place and settings, so that
    saving the layout again does not lose them."""

    name = "placeholder"
    title_zh = "缺失的面板"
    title_en = "Missing panel"

    def __init__(
        self, ctx: PanelContext, missing: str, settings: dict[str, Any] | None = None
    ) -> None:
        self.missing = missing
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
        if is_chinese():
            self.message.setText(f"此版本没有面板“{self.missing}”。\n布局中的位置和设置已保留。")
        else:
            self.message.setText(
                f"This version has no panel “{self.missing}”.\nIts place and settings in the layout are kept."
            )


def panel_widget_name(widget: QWidget) -> str:
    """The registry name to save for a panel widget (placeholders save what they stand for)."""
    if isinstance(widget, PlaceholderPanel):
        return widget.missing
    return getattr(widget, "name", "")
