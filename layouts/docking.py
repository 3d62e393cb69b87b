"""QtAds' global flags and the docking style sheet, for the shell and briefing mode alike.

Its own module so that briefing mode re-styles the docks without importing the shell
(which imports briefing mode): no import circle.
"""

from __future__ import annotations

import logging

import PySide6QtAds as ads
from PySide6.QtWidgets import QAbstractButton, QApplication

from widgets import theme
from widgets.i18n import zh_en

log = logging.getLogger(__name__)

DOCKING_QSS = theme.THEME_DIR / "docking.qss"
_QSS_MARK = "/* ---- docking (layouts/docking.py) ---- */"
_configured = False


def configure_docking() -> None:
    """QtAds global flags; must run before the first CDockManager exists."""
    global _configured
    if _configured:
        return
    M = ads.CDockManager
    flags = M.configFlags()
    for flag, on in (
        (M.eConfigFlag.OpaqueSplitterResize, True),
        (M.eConfigFlag.FocusHighlighting, True),
        (M.eConfigFlag.DockAreaHasUndockButton, True),
        (M.eConfigFlag.AllTabsHaveCloseButton, False),
        (M.eConfigFlag.ActiveTabHasCloseButton, True),
        (M.eConfigFlag.EqualSplitOnInsertion, True),
        # QtAds' own light sheet would override ours per manager: ours is app-wide.
        (M.eConfigFlag.DisableStylesheet, True),
        # No window manager in a kiosk X server: QtAds draws the floating title bar.
        (M.eConfigFlag.FloatingContainerForceQWidgetTitleBar, True),
    ):
        flags = flags | flag if on else flags & ~flag
    M.setConfigFlags(flags)
    _configured = True


def apply_docking_theme(app: QApplication) -> None:
    """Append docking.qss (rendered with the active theme's colours and scale) to the
    application's sheet, after the main theme; calling again replaces our part only."""
    try:
        template = DOCKING_QSS.read_text(encoding="utf-8")
    except OSError as err:
        log.warning("docking sheet %s not readable: %s", DOCKING_QSS, err)
        return
    rendered = theme.render_qss(template, theme.colors(), theme.current_scale())
    base = app.styleSheet().split(_QSS_MARK)[0]
    app.setStyleSheet(f"{base}\n{_QSS_MARK}\n{rendered}")


def _button_tips() -> dict[str, str]:
    """QtAds' own buttons by object name: it ships no Chinese, so the shell words them."""
    return {
        "detachGroupButton": zh_en("将此组拖出为浮动窗口", "Detach group"),
        "dockAreaCloseButton": zh_en("关闭此组", "Close group"),
        "dockAreaMinimizeButton": zh_en("最小化", "Minimise"),
        "dockAreaAutoHideButton": zh_en(
            "固定到边栏（按住 Ctrl 固定整组）", "Pin to the side bar (Ctrl: the whole group)"
        ),
        "tabsMenuButton": zh_en("列出全部标签页", "List all tabs"),
        "tabCloseButton": zh_en("关闭标签页", "Close tab"),
    }


def retranslate_docking(manager: ads.CDockManager) -> None:
    """QtAds' button tooltips and view menu in the interface's language, in the manager's
    window and its floating windows (again whenever QtAds makes new ones)."""
    tips = _button_tips()
    for root in (manager, *manager.floatingWidgets()):
        for button in root.findChildren(QAbstractButton):
            tip = tips.get(button.objectName())
            if tip is not None:
                button.setToolTip(tip)
    manager.viewMenu().setTitle(zh_en("显示面板", "Show panel"))
