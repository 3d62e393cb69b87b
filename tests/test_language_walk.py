"""One language on screen: every shipped preset opened in the real shell (offscreen) over
the demo county, built in one language and switched to the other, and every widget
walked: texts, tooltips, placeholders, window titles, table and tree headers (the
models' header data too), tab texts, action and button texts. English mode shows no Han
character; Chinese mode no Latin-only word of four or more letters but the few codes a
hall reads as they are (units, abbreviations, "LIVE"). Data values are excepted: what the
feed and the county say (case titles and addresses, area and unit names, KPI labels) is
shown as it came, in whatever language it came."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import msgspec
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTabBar,
    QTreeWidget,
    QWidget,
)

from commandcenter import hall_time
from commandcenter.privacy import mask_address, mask_house_numbers, mask_name, mask_numbers
from commandcenter.status import FeedStatus
from layouts import schema
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from tests.demo_county import demo_store
from widgets import i18n
from widgets.base import PanelContext, hall_context
from widgets.cases.dispatch_dialog import DispatchDialog
from widgets.chrome.statusbar import screen_label
from widgets.live import LiveBridge

pytestmark = pytest.mark.slow

PRESETS = sorted(p.stem for p in (Path(__file__).parents[1] / "layouts" / "presets").glob("*.json"))
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z]{4,}(?![A-Za-z0-9_])")
TAG = re.compile(r"<[^>]*>")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# Latin words a Chinese hall reads as they are: units, formats, protocols, products.
ALLOWED_LATIN = {
    "LIVE", "REPLAY", "HTTP", "HTTPS", "MQTT", "JSON", "HTML", "Open311", "Excel",
    "Ctrl", "Shift", "Enter", "Space", "Home", "PgUp", "PgDn", "PgDown", "Down",
}  # fmt: skip
# The language switch names each language in itself ("中文" on it in English mode).
LANGUAGE_NAMES = set(i18n.LANGUAGE_NAMES.values())


def _strings(obj: Any, out: set[str], depth: int = 0) -> None:
    """Every string a data object holds (struct fields, dicts, lists), recursively."""
    if depth > 6 or obj is None:
        return
    if isinstance(obj, str):
        # codes ("reported", "grid_worker") are not data: the UI must word them
        if obj.strip() and not CODE.match(obj):
            out.add(obj.strip())
        return
    if isinstance(obj, dict):
        for v in obj.values():
            _strings(v, out, depth + 1)
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            _strings(v, out, depth + 1)
        return
    if isinstance(obj, msgspec.Struct):
        for f in obj.__struct_fields__:
            _strings(getattr(obj, f, None), out, depth + 1)
        return
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _strings(getattr(obj, f.name, None), out, depth + 1)


def data_values(store: Any) -> re.Pattern[str]:
    """What the feed and the county say, as one pattern to cut out of a shown text."""
    found: set[str] = set()
    _strings([store.record_at(r) for r in range(len(store))], found)
    _strings(list(store.units.values()), found)
    _strings(list(store.cameras.values()), found)
    _strings(list(store.grids.values()), found)
    _strings(list(store.kpis.values()), found)
    _strings(list(store.alerts), found)
    _strings(store.geography, found)
    _strings(dict(store._names), found)
    found.add(hall_time.zone_name())  # the hall's configured zone ("Asia/Shanghai"), an id
    # names also appear cut at a separator ("城关镇 / 第3网格"), and masked for privacy
    for s in list(found):
        found.update(p.strip() for p in re.split(r"[/·|,，、\n]", s) if p.strip())
        found.update(f(s) for f in (mask_address, mask_house_numbers, mask_numbers))
        if len(s) <= 4:  # a person's name
            found.add(mask_name(s))
    keep = sorted((s for s in found if HAN.search(s) or len(s) >= 4), key=len, reverse=True)
    return re.compile("|".join(re.escape(s) for s in keep))


def shown_texts(top: list[QWidget]) -> Iterator[tuple[str, str]]:
    """(where, text) for every UI string of the widgets under ``top``."""
    widgets: list[QWidget] = []
    for t in top:
        widgets.append(t)
        widgets.extend(t.findChildren(QWidget))
    for w in widgets:
        name = f"{type(w).__name__}#{w.objectName()}"
        # a title is shown by windows and by dock tabs; QtAds' drop overlays never show
        # theirs (its class name)
        shows_title = w.isWindow() or type(w).__name__ == "CDockWidget"
        if shows_title and not type(w).__name__.startswith("CDockOverlay"):
            yield f"{name} window title", w.windowTitle()
        yield f"{name} tooltip", w.toolTip()
        if isinstance(w, QLabel):
            yield f"{name} text", w.text()
        if isinstance(w, QAbstractButton):
            yield f"{name} text", w.text()
        if isinstance(w, QGroupBox):
            yield f"{name} title", w.title()
        if isinstance(w, QLineEdit):
            yield f"{name} placeholder", w.placeholderText()
        if isinstance(w, QComboBox):
            for i in range(w.count()):
                yield f"{name} item {i}", w.itemText(i)
        if isinstance(w, QTabBar):
            for i in range(w.count()):
                yield f"{name} tab {i}", w.tabText(i)
                yield f"{name} tab tooltip {i}", w.tabToolTip(i)
        if isinstance(w, QMenu):
            yield f"{name} menu title", w.title()
        for a in w.actions():
            if isinstance(a, QAction):
                yield f"{name} action", a.text()
                yield f"{name} action tooltip", a.toolTip()
        if isinstance(w, QTreeWidget):
            head = w.headerItem()
            for c in range(head.columnCount()):
                yield f"{name} header {c}", head.text(c)
        if isinstance(w, QAbstractItemView) and not isinstance(w, QHeaderView):
            model = w.model()
            if model is None:
                continue
            try:
                cols = model.columnCount(QModelIndex())
            except TypeError:  # a list model, whose columnCount is not public: one column
                cols = 1
            for c in range(cols):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    v = model.headerData(c, Qt.Orientation.Horizontal, role)
                    if isinstance(v, str):
                        yield f"{name} model header {c}", v


def offenders(
    top: list[QWidget],
    lang: str,
    data: re.Pattern[str],
    extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> list[str]:
    bad = []
    for where, text in [*shown_texts(top), *extra]:
        if not text or text in LANGUAGE_NAMES:
            continue
        plain = html.unescape(TAG.sub(" ", text))
        plain = data.sub(" ", plain)
        if lang == i18n.ENGLISH:
            if HAN.search(plain):
                left = " ".join(plain.split())
                bad.append(f"{where}: {HAN.findall(plain)[:6]} in {left[:100]!r}")
        else:
            words = [w for w in LATIN_WORD.findall(plain) if w not in ALLOWED_LATIN]
            if words:
                bad.append(f"{where}: {words[:3]} in {text[:80]!r}")
    return sorted(set(bad))


@pytest.fixture(scope="module")
def county() -> tuple[Any, re.Pattern[str]]:
    store = demo_store(hours=4)
    return store, data_values(store)


@pytest.mark.parametrize("first", [i18n.CHINESE, i18n.ENGLISH])
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_speaks_one_language(
    qapp: QApplication, tmp_path: Path, county: Any, preset: str, first: str
) -> None:
    store, data = county
    other = i18n.ENGLISH if first == i18n.CHINESE else i18n.CHINESE
    i18n.set_language(qapp, first)
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    ctx = hall_context(store, status, bridge)
    sh = Shell(ctx, LayoutLibrary(tmp_path / "user"), interactive=False, first_size=None)
    try:
        assert sh.open_layout(preset, "preset")
        ctx.selection.select([store.record_at(0).id])
        QApplication.processEvents()
        # Every window and every dock: a panel folded into a tab that is not current is
        # out of its window's children (QtAds), and is walked through its dock.
        def tops() -> list:
            docks = [d for w in sh.windows for d in w.manager.dockWidgetsMap().values()]
            return [*sh.windows, *docks]

        bad = {first: offenders(tops(), first, data)}
        i18n.set_language(qapp, other)
        QApplication.processEvents()
        bad[other] = offenders(tops(), other, data)
        assert bad == {first: [], other: []}, "\n".join(
            f"[{lang}] {b}" for lang, items in bad.items() for b in items
        )
    finally:
        i18n.set_language(qapp, i18n.CHINESE)
        sh.close_all()
        bridge.close()


def test_the_status_bar_names_a_screen_in_the_ui_language(qapp: QApplication) -> None:
    """A virtual display's output is called "screen": that word is no name to show in
    Chinese ("屏幕 screen"); the window's screen number is, with a telling output name."""
    try:
        i18n.set_language(qapp, i18n.CHINESE)
        assert screen_label("screen", 0) == "屏幕 1"
        assert screen_label("", 1) == "屏幕 2"
        assert screen_label("HDMI-1", 1) == "屏幕 2（HDMI-1）"
        i18n.set_language(qapp, i18n.ENGLISH)
        assert screen_label("screen", 0) == "screen 1"
        assert screen_label("DP-2", 2) == "screen 3 (DP-2)"
    finally:
        i18n.set_language(qapp, i18n.CHINESE)


def test_a_layout_carries_its_english_name(tmp_path: Path) -> None:
    """Presets are named in both languages; a copy named by the operator is named once."""
    lib = LayoutLibrary(tmp_path / "user")
    desk = next(e for e in lib.presets() if e.key == "dispatch_desk")
    assert (desk.title(True), desk.title(False)) == ("调度台", "Dispatch desk")
    assert all(e.name_en and not HAN.search(e.name_en) for e in lib.presets())
    doc = lib.load("dispatch_desk", "preset").doc
    assert schema.display_name(doc, chinese=False) == "Dispatch desk"
    key, copy = lib.save_as(doc, "夜班调度")
    assert "name_en" not in copy and schema.display_name(copy, chinese=False) == "夜班调度"
    for bad in ("", 7):
        with pytest.raises(schema.LayoutError, match="name_en"):
            schema.validate({**doc, "name_en": bad})
    assert lib.load(key).doc["name"] == "夜班调度"


@pytest.mark.parametrize("lang", [i18n.CHINESE, i18n.ENGLISH])
def test_the_dispatch_dialog_speaks_one_language(
    qapp: QApplication, county: Any, lang: str
) -> None:
    store, data = county
    i18n.set_language(qapp, lang)
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    case = next(
        store.record_at(r) for r in range(len(store)) if store.record_at(r).state == "signed"
    )
    dlg = DispatchDialog(PanelContext(store, status, bridge), case.id)
    try:
        assert dlg.units.topLevelItemCount() and dlg.bodies.topLevelItemCount()
        # the suggestions' words are UI text too (levels, kinds, reasons), not only the chrome
        rows = [
            (f"{tree.objectName()} row {r} col {c}", tree.topLevelItem(r).text(c))
            for tree in (dlg.bodies, dlg.units)
            for r in range(tree.topLevelItemCount())
            for c in range(1, tree.columnCount())
        ]
        assert offenders([dlg], lang, data, extra=rows) == []
    finally:
        i18n.set_language(qapp, i18n.CHINESE)
        dlg.deleteLater()
        bridge.close()
