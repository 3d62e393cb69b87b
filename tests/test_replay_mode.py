"""Replay mode of the shell: every panel shows the journaled past while the live store
keeps applying; actions are off; back to live shows the live numbers; the app wires it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QApplication

from commandcenter.actions import Outbox
from commandcenter.journal import Journal, Recorder
from commandcenter.metrics.engine import MetricEngine
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from commandcenter.timetravel import Mode, TimeTravel
from feeds.journal_codec import journal_codec
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from tests.test_journal import T0, fingerprint, make_events, snapshot0
from widgets.base import hall_context
from widgets.live import LiveBridge
from widgets.overview import NewestCasesModel, SlaTiles

ROOT = Path(__file__).resolve().parents[1]
PAST = T0 + 599  # the moment replayed: 600 of the 1,200 journaled events


def one_screen(panel: str = "overview") -> dict[str, Any]:
    return {
        "schema": "commandcenter.layout",
        "version": 1,
        "name": "replay-test",
        "role": "duty_officer",
        "schedule": None,
        "panels": {"p1": {"type": panel, "settings": {}}},
        "screens": [
            {
                "match": {"index": 0},
                "kiosk": False,
                "scale": 1.0,
                "dock": {"area": ["p1"]},
                "floating": [],
            }
        ],
    }


@dataclass
class Hall:
    live: Store
    recorder: Recorder
    journal: Journal
    tt: TimeTravel
    outbox: Outbox
    shell: Shell
    events: list[Any]


@pytest.fixture
def hall(qapp: QApplication, tmp_path: Path) -> Iterator[Hall]:
    journal = Journal(tmp_path / "journal.sqlite3", journal_codec(), checkpoint_every=200)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    events = make_events(1600)
    for k in range(0, 1200, 50):  # what the feed brought before the officer looks back
        rec.apply(events[k : k + 50])
    live.set_clock(T0 + 1199, 1.0)
    tt = TimeTravel(live, journal)
    status = FeedStatus()
    bridge = LiveBridge(live, status)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    ctx = hall_context(live, status, bridge, outbox=outbox, actor="test")
    lib = LayoutLibrary(tmp_path / "user", tmp_path / "presets")
    shell = Shell(ctx, lib, interactive=False, timetravel=tt)
    shell.apply_layout(one_screen())
    yield Hall(live, rec, journal, tt, outbox, shell, events)
    shell.close_all()
    assert tt.subscriber_count == 0  # the shell and every slider unsubscribed
    bridge.close()
    outbox.close()
    journal.close()


def independent_past(journal: Journal, ts: float) -> Store:
    """The county at ``ts`` rebuilt by hand from the journal, not through the shell."""
    store = Store()
    journal.seek_into(store, ts)
    store.set_clock(ts, rate=0.0)
    return store


def shown(shell: Shell) -> tuple[list[int], list[str]]:
    """What the overview panel shows: its SLA tile numbers and its newest case ids."""
    view = shell.panels()["p1"].view  # type: ignore[attr-defined]
    view.tiles.refresh()
    view.model.refresh()
    return [t.value() for t in view.tiles.tiles()], view.model.case_ids()


def expected(store: Store) -> tuple[list[int], list[str]]:
    tiles = SlaTiles(store, metrics=MetricEngine(store))
    model = NewestCasesModel(store)
    model.refresh()
    out = [t.value() for t in tiles.tiles()], model.case_ids()
    tiles.deleteLater()
    return out


def test_replay_shows_the_journaled_past_and_live_keeps_applying(hall: Hall) -> None:
    shell, tt = hall.shell, hall.tt
    live_before = shown(shell)
    tt.seek(PAST)
    assert shell.replaying and tt.mode is Mode.REPLAY
    panel = shell.panels()["p1"]
    assert panel.ctx.store is tt.view and panel.ctx.store is not hall.live
    assert panel.ctx.bridge is not shell.ctx.bridge and panel.ctx.bridge.store is tt.view
    past = independent_past(hall.journal, PAST)
    assert shown(shell) == expected(past)
    assert shown(shell) != live_before  # the past differs from now (the test means it)

    # The feed goes on while the officer looks back: nothing it brings is lost.
    for k in range(1200, 1600, 50):
        hall.recorder.apply(hall.events[k : k + 50])
    QApplication.processEvents()
    assert hall.live.seq == 1600
    assert fingerprint(tt.view) == fingerprint(past)
    assert shown(shell) == expected(past)

    # Every window says so, loudly.
    for win in shell.windows:
        assert win.replay_marks.shown and "REPLAY" in win.windowTitle()
        assert win.status.time_slider is not None
        assert "REPLAY" in win.status.time_slider.marker.text()
        assert panel.badge.text() in ("回放", "replay")

    # Esc (enabled only now) returns to live, with the numbers of now.
    win = shell.windows[0]
    assert win.replay.escape_live.isEnabled()
    win.replay.escape_live.trigger()
    assert not shell.replaying and tt.is_live
    panel = shell.panels()["p1"]
    assert panel.ctx.store is hall.live and panel.ctx.bridge is shell.ctx.bridge
    assert shown(shell) == expected(hall.live)
    assert shell._replay_bridge is None
    win = shell.windows[0]  # the windows were rebuilt
    assert not win.replay_marks.shown and "REPLAY" not in win.windowTitle()
    assert not shell.windows[0].replay.escape_live.isEnabled()


def test_actions_are_disabled_in_replay(hall: Hall) -> None:
    shell = hall.shell
    assert shell.panels()["p1"].ctx.outbox is hall.outbox
    shell.windows[0].replay.replay_1h.trigger()  # Ctrl+Shift+R: clamped to the journal
    assert shell.replaying
    ctx = shell.panels()["p1"].ctx
    assert ctx.outbox is None and ctx.audit is None and ctx.replay
    # the past's alarms come from an engine over the past, not the live one
    assert ctx.alarms is not None and ctx.alarms.store is hall.tt.view
    # A case panel opened in replay has no way to act (the case desk reads outbox None).
    shell.add_panel("case_queue")
    shell.add_panel("case_detail")
    assert len(shell.panels()) == 3
    for p in shell.panels().values():
        assert p.ctx.outbox is None and p.ctx.store is hall.tt.view
    shell.windows[0].replay.back_to_live.trigger()  # Ctrl+Shift+L
    assert shell.panels()["p1"].ctx.outbox is hall.outbox


def test_a_seek_within_replay_moves_the_marks_without_rebuilding(hall: Hall) -> None:
    shell, tt = hall.shell, hall.tt
    tt.seek(PAST)
    panel = shell.panels()["p1"]
    tt.seek(T0 + 299)
    assert shell.panels()["p1"] is panel  # same panels: the replay store was reset
    hall.shell.ctx.bridge.flush()
    assert shell._replay_bridge is not None
    shell._replay_bridge.flush()
    assert shown(shell) == expected(independent_past(hall.journal, T0 + 299))
    banner = shell.windows[0].replay_marks.banner
    assert banner is not None and "REPLAY" in banner.text.text()


def test_briefing_in_replay_keeps_the_past_and_esc_stays_the_briefings(hall: Hall) -> None:
    shell, tt = hall.shell, hall.tt
    tt.seek(PAST)
    from commandcenter.briefing import BriefingItem, ItemKind, Playlist

    playlist = Playlist(items=[BriefingItem(kind=ItemKind.PANEL, target="overview")])
    assert shell.briefing.start(playlist)
    assert shell.replaying
    for p in shell.panels().values():
        assert p.ctx.store is tt.view and p.ctx.outbox is None
    assert not shell.windows[0].replay.escape_live.isEnabled()  # Esc ends the briefing
    shell.briefing.stop()
    assert shell.replaying and shell.windows[0].replay.escape_live.isEnabled()
    shell.back_to_live()
    assert all(p.ctx.store is hall.live for p in shell.panels().values())


@pytest.mark.slow
def test_app_enters_replay_and_journals_what_it_applies(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CC_CONFIG_DIR=str(tmp_path / "cfg"),
        CC_STATE_DIR=str(tmp_path / "state"),
    )
    env.pop("CC_FEED_TOKEN", None)
    shot = tmp_path / "replay.png"
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--geometry", "1280x800", "--rate", "30",
         "--history-hours", "1", "--replay-at", "30", "--quit-after", "6",
         "--screenshot", str(shot)],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert list(tmp_path.glob("replay*.png"))
    journal = tmp_path / "state" / "journal.sqlite3"
    assert journal.is_file()
    with sqlite3.connect(journal) as db:
        assert db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] >= 1
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] > 0
    log = (tmp_path / "state" / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    assert "replay at 30 min ago" in log
