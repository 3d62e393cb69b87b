"""The control-room look: a dark theme legible from the back of the hall, with a wall scale.

Why a template instead of a fixed style sheet: a video wall and a console show the same
panels at very different distances, so every size in ``resources/theme/dark.qss`` is written
as ``@pt(N)``/``@px(N)`` and multiplied by ``scale`` here; colours are written as ``@name``
so the high-contrast variant is only another palette, not a second sheet to keep in step.

Colours that views paint themselves (table cells tinted by warning level) come from
``colors()`` so they follow the active theme too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from commandcenter.domain import SlaLevel

log = logging.getLogger(__name__)

THEME_DIR = Path(__file__).resolve().parent.parent / "resources" / "theme"

# CJK first: Latin digits in Noto Sans CJK are fine, while a Latin-first family would make
# Qt fall back glyph by glyph for Chinese and mix two typefaces in one line.
FONT_FAMILIES: list[str] = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "sans-serif",
]
BASE_POINT_SIZE = 12.0


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    qss: str  # file name under resources/theme/
    colors: dict[str, str]


_DARK = {
    "bg": "#070b14",  # near-black blue: large areas stay dark so warnings stand out
    "surface": "#0e1626",
    "surface_alt": "#111b2e",
    "surface2": "#16223a",
    "border": "#22314d",
    "border_strong": "#34486e",
    "text": "#dfe7f5",
    "text_strong": "#ffffff",
    "text_dim": "#93a3bf",
    "accent": "#40a9ff",
    "accent_bg": "#1d3b63",
    "red": "#ff4d4f",
    "yellow": "#fadb14",
    "blue": "#40a9ff",
    "green": "#52c41a",
    "amber": "#faad14",
    "stale": "#fa541c",  # a freshness badge between aging (amber) and down (red)
    "grey": "#8c8c8c",
    "on_badge": "#0b0f17",  # dark text on a coloured badge reads better than white
    "red_bg": "#2a1116",
    "yellow_bg": "#262410",
    "blue_bg": "#0f2036",
    # Row tints in the table: subtle enough to read text over, distinct enough to scan.
    "red_row": "#34141a",
    "yellow_row": "#2c2a12",
    "blue_row": "#0e1626",
}

_HIGH_CONTRAST = {
    **_DARK,
    "bg": "#000000",
    "surface": "#000000",
    "surface_alt": "#0a0a0a",
    "surface2": "#141414",
    "border": "#6b6b6b",
    "border_strong": "#ffffff",
    "text": "#ffffff",
    "text_dim": "#e0e0e0",
    "accent_bg": "#003a8c",
    "red_bg": "#000000",
    "yellow_bg": "#000000",
    "blue_bg": "#000000",
    "red_row": "#4a0000",
    "yellow_row": "#3d3a00",
    "blue_row": "#000000",
}

THEMES: dict[str, Theme] = {
    "dark": Theme("dark", "dark.qss", _DARK),
    "high_contrast": Theme("high_contrast", "dark.qss", _HIGH_CONTRAST),
}

_active: Theme = THEMES["dark"]
_active_scale: float = 1.0


def colors() -> dict[str, str]:
    """The active theme's palette, for views that paint colours themselves."""
    return _active.colors


def color(name: str) -> QColor:
    return QColor(_active.colors[name])


def level_color(level: SlaLevel | str | None) -> QColor:
    """The warning colour of a level (grey for a case without a running limit)."""
    return QColor(_active.colors[str(level)] if level else _active.colors["grey"])


def current_scale() -> float:
    return _active_scale


def current_theme() -> str:
    return _active.name


# The design size: every @pt/@px in the sheet was chosen for a 1920x1080 console read from
# about 0.7 m. See ``scale_for_screen``.
REFERENCE_SIZE: tuple[int, int] = (1920, 1080)
MIN_SCALE, MAX_SCALE = 1.0, 4.0
SCALE_STEP = 0.05


def scale_for_screen(width: int, height: int) -> float:
    """The type scale a screen of ``width`` x ``height`` logical pixels gets by its size.

    The rule: ``min(width / 1920, height / 1080)``, rounded down to a step of 0.05 and
    clamped to 1.0..4.0. Why each part:

    - Logical pixels, not device pixels: a 4K monitor that the platform already runs at a
      device pixel ratio of 2 reports 1920x1080 and gets 1.0, because Qt doubles it anyway;
      one at ratio 1 reports 3840x2160 and gets 2.0, so a panel covers the same share of
      the screen and a briefing screen seen from the back of the hall keeps its type.
    - ``min`` of both ratios: a wall of several outputs side by side (6656x1792, about
      3.5 x 1.66 consoles) shows more panels across, not taller type; its height decides
      (1.65). A portrait screen is decided by its width the same way.
    - Never below 1.0: a small console keeps the console's type (the compact layouts of
      the panels make room); never above 4.0 (``apply_theme``'s limit).
    - Rounded down to 0.05: a layout saved on one wall stays identical on a wall a few
      pixels different, and rounding down never makes a label outgrow its panel.

    A layout's screen ``scale`` may still set its own value (a leader-briefing screen
    viewed from 5 m wants more than its size gives: 1.6 on a 1080p screen).
    """
    if width <= 0 or height <= 0:
        return MIN_SCALE
    ratio = min(width / REFERENCE_SIZE[0], height / REFERENCE_SIZE[1])
    stepped = int(ratio / SCALE_STEP + 1e-9) * SCALE_STEP
    return round(min(MAX_SCALE, max(MIN_SCALE, stepped)), 2)


def render_qss(template: str, palette: dict[str, str], scale: float = 1.0) -> str:
    """Substitute ``@pt(N)``, ``@px(N)`` and ``@name`` in a sheet; unknown names fail loudly."""

    def pt(m: re.Match[str]) -> str:
        return f"{max(1.0, float(m.group(1)) * scale):.1f}pt"

    def px(m: re.Match[str]) -> str:
        return f"{max(1, round(float(m.group(1)) * scale))}px"

    def name(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in palette:
            raise KeyError(f"theme colour @{key} is not defined")
        return palette[key]

    out = re.sub(r"/\*.*?\*/", "", template, flags=re.S)  # comments may mention @names
    out = re.sub(r"@pt\(\s*([\d.]+)\s*\)", pt, out)
    out = re.sub(r"@px\(\s*([\d.]+)\s*\)", px, out)
    return re.sub(r"@([a-z][a-z0-9_]*)", name, out)


def app_font(scale: float = 1.0) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(BASE_POINT_SIZE * scale)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font


def _palette(c: dict[str, str]) -> QPalette:
    """A matching QPalette, so widgets the sheet does not cover are dark as well."""
    p = QPalette()
    role = QPalette.ColorRole
    for r, key in (
        (role.Window, "bg"),
        (role.Base, "surface"),
        (role.AlternateBase, "surface_alt"),
        (role.Button, "surface2"),
        (role.ToolTipBase, "surface2"),
        (role.WindowText, "text"),
        (role.Text, "text"),
        (role.ButtonText, "text"),
        (role.ToolTipText, "text"),
        (role.BrightText, "text_strong"),
        (role.Highlight, "accent_bg"),
        (role.HighlightedText, "text_strong"),
        (role.Link, "accent"),
        (role.PlaceholderText, "text_dim"),
    ):
        p.setColor(r, QColor(c[key]))
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(c["grey"]))
    p.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(c["grey"]))
    return p


def apply_theme(app: QApplication, name: str = "dark", scale: float = 1.0) -> None:
    """Apply a theme to the whole application; ``scale`` enlarges all type (1.5 on a wall).

    Safe to call again (a wall operator changes the scale live): the sheet is replaced and
    Qt repolishes every widget.
    """
    global _active, _active_scale
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; known: {', '.join(THEMES)}")
    if not 0.5 <= scale <= 4.0:
        raise ValueError(f"scale must be within 0.5..4, got {scale}")
    theme = THEMES[name]
    _active, _active_scale = theme, scale
    # Each of these repolishes every widget of the application (setStyle even replaces the
    # style object under them): done only when something changes. Applying the same theme
    # again (each test, each briefing end) then touches nothing; a repolish reaching a
    # widget in teardown crashed a test run.
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")  # the native styles ignore parts of the sheet and the palette
    font = app_font(scale)
    if app.font() != font:
        app.setFont(font)
    palette = _palette(theme.colors)
    if app.palette() != palette:
        app.setPalette(palette)
    path = THEME_DIR / theme.qss
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as err:
        log.warning("theme sheet %s not readable (%s): palette only", path, err)
        template = ""
    sheet = render_qss(template, theme.colors, scale)
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
