"""Start-up ordering: a layout's panels import only their own modules, the heavy panels
stand as placeholders until the first live frame is up and are then built in place.
Times are measured in bench/startup.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QApplication

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from tests.support import ROOT
from widgets import i18n, registry, theme
from widgets.base import PanelContext, hall_context
from widgets.insights.common import wait_idle
from widgets.live import LiveBridge
from widgets.registry import PendingPanel


@pytest.fixture
def ctx(qapp: QApplication):
    store = Store()
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    yield hall_context(store, status, bridge)  # the engines panels require, as main.py
    bridge.close()


def _duty_console() -> dict:
    return LayoutLibrary(ROOT / "nonexistent").load("duty_console").doc


def test_every_builtin_panel_is_found_through_its_own_module() -> None:
    registry.load_builtin_panels()
    builtin = {
        n: registry.panel_class(n).__module__
        for n in registry.names()
        if registry.panel_class(n).__module__.startswith("widgets.")
        and registry.panel_class(n) is not registry.PlaceholderPanel
    }
    assert builtin == registry.BUILTIN_PANELS
    assert set(registry.DEFERRED) <= set(builtin)


def test_the_duty_consoles_first_frame_imports_none_of_the_heavy_libraries() -> None:
    types = sorted({p["type"] for p in _duty_console()["panels"].values()} - set(registry.DEFERRED))
    code = (
        "import sys, json\n"
        "import layouts.shell\n"
        "import commandcenter.ranking\n"  # main.py builds the shared engine before it
        "from widgets import registry\n"
        f"for t in {types!r}:\n"
        "    assert registry.panel_class(t) is not None, t\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'pyqtgraph', 'jieba', 'pyarrow') "
        "if m in sys.modules)))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert "map" in {p["type"] for p in _duty_console()["panels"].values()}  # one deferred


@pytest.mark.parametrize("name", sorted(registry.DEFERRED))
def test_a_placeholder_reserves_its_panels_minimum_size(
    qapp: QApplication, ctx: PanelContext, name: str
) -> None:
    theme.apply_theme(qapp)  # the app's: the minimums depend on the sheet's fonts and padding
    pending = PendingPanel(ctx, missing=name)
    real = registry.create(name, ctx)
    try:
        assert not isinstance(real, registry.PlaceholderPanel)
        for language in (i18n.CHINESE, i18n.ENGLISH):  # the words differ in width
            i18n.set_language(qapp, language)
            want, got = real.minimumSizeHint(), pending.minimumSizeHint()
            # at least the real panel's: its arrival never squeezes a neighbour (a wider
            # reservation only gives the real panel room; the real minimum varies with the
            # sheet's state and the language, so no upper bound is pinned)
            assert got.width() >= want.width() and got.height() >= want.height(), language
    finally:
        i18n.set_language(qapp, i18n.CHINESE)
        wait_idle()  # the insight panels' first job: its answer must not reach a torn panel
        qapp.processEvents()
        real.teardown()
        pending.teardown()


def test_deferred_panels_are_kept_meanwhile_and_built_in_their_docks(
    ctx: PanelContext, tmp_path
) -> None:
    doc = _duty_console()
    shell = Shell(ctx, LayoutLibrary(tmp_path / "user", tmp_path / "presets"), interactive=False)
    try:
        shell.defer_heavy = True
        shell.apply_layout(doc)
        map_id = next(pid for pid, p in doc["panels"].items() if p["type"] == "map")
        before = shell.panels()[map_id]
        assert isinstance(before, PendingPanel)
        others = [p for pid, p in shell.panels().items() if pid != map_id]
        assert not any(isinstance(p, registry.PlaceholderPanel) for p in others)
        saved = shell.capture_layout()["panels"][map_id]
        assert saved == {"type": "map", "settings": doc["panels"][map_id]["settings"]}
        shell.build_pending()
        built = shell.panels()[map_id]
        assert type(built).name == "map" and not isinstance(built, registry.PlaceholderPanel)
        dock = next(w.manager.findDockWidget(map_id) for w in shell.windows)
        assert dock.widget() is built
        assert dock.windowTitle() == built.title()
        assert shell.capture_layout()["panels"][map_id]["type"] == "map"
        assert not shell.defer_heavy
        shell.apply_layout(doc)  # a layout opened later builds every panel at once
        assert not any(isinstance(p, PendingPanel) for p in shell.panels().values())
    finally:
        shell.close_all()
