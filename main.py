"""commandcenter: the composition root. The only module that knows every package.

Run with no arguments it starts the embedded demo county (the reference feed server with
its simulator, on 127.0.0.1) and connects to it over HTTP like to any production feed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path
from typing import Any

from commandcenter.settings import (
    Settings,
    SettingsError,
    TokenRedactor,
    config_dir,
    log_path,
    read_token,
)

log = logging.getLogger("commandcenter")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="main.py",
        description="County command-hall console. Without --feed it runs the embedded demo county.",
    )
    ap.add_argument(
        "--feed", metavar="URL", help="feed server base URL, e.g. https://feed.example:8443"
    )
    ap.add_argument(
        "--token-file",
        metavar="PATH",
        help="file holding the feed token (mode 600); or set CC_FEED_TOKEN",
    )
    ap.add_argument(
        "--ca-file", metavar="PATH", help="CA bundle to verify the feed's TLS certificate with"
    )
    ap.add_argument("--lang", choices=["zh_CN", "en"], help="interface language (default zh_CN)")
    ap.add_argument(
        "--layout",
        metavar="NAME|PATH",
        help="layout to open: a saved layout or preset by name (duty_console, ...) or a "
        "layout file; default: the last one shown, else the duty_console preset",
    )
    ap.add_argument(
        "--settings",
        metavar="PATH",
        help=f"settings file (default {config_dir() / 'settings.json'})",
    )
    demo = ap.add_argument_group("demo county (when no --feed is given)")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    demo.add_argument(
        "--rate", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    demo.add_argument(
        "--history-hours", type=float, default=8.0, help="hours of history before now (default 8)"
    )
    demo.add_argument(
        "--cases-per-day", type=float, default=None, help="case arrival rate of the demo county"
    )
    dev = ap.add_argument_group("testing and screenshots")
    dev.add_argument(
        "--geometry",
        metavar="WxH",
        help="size of the first window instead of filling its screen, e.g. 1920x1080",
    )
    dev.add_argument(
        "--screenshot",
        metavar="PNG",
        help="before quitting save every window as PNG-1.png, PNG-2.png... and the whole "
        "virtual desktop as PNG",
    )
    dev.add_argument("--quit-after", type=float, metavar="S", help="quit after S seconds")
    dev.add_argument(
        "--report-first-frame", action="store_true", help="print FIRST_LIVE_FRAME <s> on stdout"
    )
    dev.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    dev.add_argument(
        "--replay-at",
        type=float,
        metavar="MINUTES_AGO",
        help="after the first live frame, show the county as it was MINUTES_AGO minutes "
        "before (replay mode; the oldest journaled moment until the journal reaches back "
        "that far)",
    )
    _add_mqtt_options(ap)
    ap.add_argument(
        "--briefing",
        action="store_true",
        help="start the briefing (F5) once the layout is shown",
    )
    ap.add_argument(
        "--actor",
        metavar="NAME",
        default=None,
        help="the officer's name written into case timelines and the audit log "
        "(default: the OS user)",
    )
    return ap


def _add_mqtt_options(ap: argparse.ArgumentParser) -> None:
    """The broker transport (docs/operations.md §2): events over MQTT, the snapshot (and
    actions) still over HTTP from --feed when one is given."""
    mq = ap.add_argument_group("MQTT transport (instead of the feed's SSE stream)")
    mq.add_argument(
        "--mqtt", metavar="HOST:PORT", type=_host_port, help="take events from this MQTT broker"
    )
    mq.add_argument("--mqtt-county", default="demo", help="topic segment cc/v1/{county}/...")
    mq.add_argument("--mqtt-user", metavar="NAME", help="broker user name")
    mq.add_argument(
        "--mqtt-password-file",
        metavar="PATH",
        help="broker password in a file only its owner can read; or set CC_MQTT_PASSWORD",
    )
    mq.add_argument(
        "--mqtt-ca-file", metavar="PATH", help="use verified TLS to the broker with this CA"
    )
    mq.add_argument(
        "--client-id",
        metavar="ID",
        help="the broker session's id; stable and unique per console (default cc-console-<host>)",
    )


def _host_port(text: str) -> tuple[str, int]:
    """HOST:PORT (``[::1]:1883`` for IPv6) -> (host, port); argparse reports a bad one."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"wants HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _mqtt_transport(
    args: argparse.Namespace,
    feed_url: str | None,
    token: str | None,
    ca_file: str | None,
    sink: Any,
    status: Any,
) -> Any:
    """``MqttTransport`` for --mqtt; raises OSError (an unreadable or group-readable
    password file) with a message for the user."""
    from feeds.transports.mqtt import MqttConfig, MqttTransport, http_snapshot, read_password

    host, port = args.mqtt
    config = MqttConfig(
        host=host,
        port=port,
        county=args.mqtt_county,
        client_id=args.client_id or "",
        username=args.mqtt_user,
        password=read_password(args.mqtt_password_file),
        tls=bool(args.mqtt_ca_file),
        ca_file=args.mqtt_ca_file,
    )
    snapshot = http_snapshot(feed_url, token or "", ca_file) if feed_url else None
    log.info("MQTT transport: %r, snapshot from %s", config, feed_url or "none")
    return MqttTransport(config, sink, status, snapshot=snapshot)


def _replay_when_live(shell: Any, store: Any, minutes: float) -> None:
    """--replay-at: enter replay at now - ``minutes`` once the first snapshot is journaled.
    A fresh journal does not reach that far yet: the oldest moment is shown, and the seek
    is made again once the feed's clock has passed far enough (``--rate`` speeds it up)."""
    from PySide6.QtCore import QTimer

    timer = QTimer(shell)
    timer.setObjectName("replayAtTimer")
    entered = [False]

    def check() -> None:
        tt = shell.timetravel
        if tt is None or not store.epoch or tt.journal.bounds() is None:
            return
        if entered[0] and not tt.is_live and tt.last_seek is not None and tt.last_seek.clamped:
            if tt.now() - minutes * 60 < tt.journal.bounds()[0]:
                return  # the journal still does not reach back that far
        elif entered[0]:
            timer.stop()  # reached, or the officer went back to live: leave it alone
            return
        if shell.replay_minutes_back(minutes):
            entered[0] = True
            seek = tt.last_seek
            log.info("replay at %d min ago%s", minutes, " (clamped)" if seek.clamped else "")
            if not seek.clamped:
                timer.stop()

    timer.timeout.connect(check)
    timer.start(250)


def setup_logging(level: str, redactor: TokenRedactor) -> Path:
    from commandcenter.state_files import PrivateLogHandler

    path = log_path()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = PrivateLogHandler(path, max_bytes=5 << 20, backups=5)  # 0600 in 0700
    console = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.setLevel(level.upper())
    for h in (file_handler, console):
        h.setFormatter(fmt)
        h.addFilter(redactor)  # on the handlers: records from every library pass here
        root.addHandler(h)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return path


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import"]:  # bulk history import (docs/sources.md), no window
        from feeds.sources.cli import main as import_main

        return import_main(argv[1:])
    args = build_parser().parse_args(argv)
    redactor = TokenRedactor([])
    logfile = setup_logging(args.log_level, redactor)
    problems: list[str] = []
    try:
        settings = Settings.load(Path(args.settings) if args.settings else None)
    except SettingsError as err:
        problems.append(str(err))
        log.error("%s; starting with default settings", err)
        settings = Settings()
    language = args.lang or settings.language
    from commandcenter import hall_time

    try:
        hall_time.set_zone(settings.timezone)
    except ValueError as err:
        problems.append(f"settings: {err}; showing {hall_time.zone_name()}")
    feed_url = args.feed or settings.feed_url
    ca_file = args.ca_file or settings.ca_file or None
    token: str | None = None
    if feed_url:
        try:
            token = read_token(args.token_file or settings.token_file or None)
        except SettingsError as err:
            print(f"commandcenter: {err}", file=sys.stderr)
            return 2
        if token is None:
            print(
                f"commandcenter: the feed {feed_url} needs a token: set CC_FEED_TOKEN or put it in "
                f"{config_dir() / 'token'} (chmod 600)",
                file=sys.stderr,
            )
            return 2
        redactor.add(token)

    # Heavy imports after argument parsing, so --help is instant.
    import qasync
    from PySide6.QtCore import QSize, QTimer
    from PySide6.QtWidgets import QApplication

    from commandcenter.actions import Outbox
    from commandcenter.alarms import AlarmEngine
    from commandcenter.audit import AuditLog
    from commandcenter.settings import state_dir
    from commandcenter.sla import SlaPolicy
    from commandcenter.status import FeedStatus, LinkState
    from commandcenter.store import Store
    from feeds.actions import ActionSender
    from feeds.client import ClientConfig, FeedClient
    from layouts.library import LayoutLibrary
    from layouts.shell import Shell
    from widgets.base import PanelContext
    from widgets.i18n import set_language
    from widgets.live import LiveBridge
    from widgets.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("commandcenter")
    app.setOrganizationName("commandcenter")
    apply_theme(app, settings.theme)
    set_language(app, language)

    server = None
    if not feed_url and not args.mqtt:  # --mqtt alone: events from the broker, no snapshot
        from feeds.serve.server import EmbeddedServer, ServerConfig

        cfg = ServerConfig(
            seed=args.seed, rate=args.rate, history_hours=args.history_hours, history_cache=True
        )
        if args.cases_per_day:
            cfg.cases_per_day = args.cases_per_day
        server = EmbeddedServer(cfg)
        server.start()
        feed_url, token = server.url, server.token
        redactor.add(token)
        log.info("embedded demo county at %s (seed %d, rate %.1fx)", feed_url, args.seed, args.rate)

    try:
        policy = SlaPolicy.from_dict(settings.sla) if settings.sla else SlaPolicy()
    except (ValueError, TypeError) as err:
        problems.append(f"SLA settings: {err}")
        policy = SlaPolicy()
    store = Store(policy)
    status = FeedStatus()
    bridge = LiveBridge(store, status)

    def _freeze_snapshot(cs: Any) -> None:
        """After the first snapshot, move its ~100k records out of the collector's reach: a
        full collection over them costs ~100 ms and would land in a live frame
        (bench/queue.py ``freeze_heap`` measures it; records are replaced, never mutated)."""
        if cs.reset:
            bridge.changed.disconnect(_freeze_snapshot)
            gc.collect()
            gc.freeze()

    bridge.changed.connect(_freeze_snapshot)
    # Journal and time travel: the feed writes through the Recorder (store + journal), so
    # every applied event is journaled; the shell's slider rebuilds the past from it.
    from commandcenter.actions import salvage_outbox
    from commandcenter.journal import Journal, Recorder
    from commandcenter.state_files import open_state, private_dir
    from commandcenter.timetravel import TimeTravel
    from feeds.journal_codec import journal_codec

    # State files are private (0700/0600) and never keep the console from starting: a
    # corrupt one is kept aside as NAME.corrupt-<time>, reported, and a fresh one opened.
    sdir = private_dir(state_dir())
    codec = journal_codec()
    journal = open_state(
        sdir / "journal.sqlite3", lambda p: Journal(p, codec), "日志 journal", problems
    )

    def _journal_down(reason: str) -> None:
        shell.show_problem(f"历史记录已停止 / journal stopped recording:\n{reason}")

    recorder = Recorder(store, journal, on_failure=_journal_down)
    timetravel = TimeTravel(store, journal)
    first_size = None
    if args.geometry:
        w, _, h = args.geometry.partition("x")
        first_size = QSize(int(w), int(h))
    # The case desk: actions are durable in the outbox before they leave (nothing lost),
    # every decision lands in the audit log, and the alarm engine ticks with the bridge.
    audit = open_state(sdir / "audit.sqlite3", AuditLog, "审计 audit", problems, thorough=True)
    outbox = open_state(
        sdir / "outbox.sqlite3",
        lambda p: Outbox(p, audit=audit),
        "待发操作 outbox",
        problems,
        thorough=True,
        salvage=salvage_outbox,
    )
    alarms = AlarmEngine(store, audit)
    bridge.tick.connect(alarms.evaluate)
    actor = args.actor or _os_user()
    library = LayoutLibrary()
    from commandcenter.metrics.engine import MetricEngine

    ctx = PanelContext(
        store,
        status,
        bridge,
        outbox=outbox,
        audit=audit,
        alarms=alarms,
        actor=actor,
        metrics=MetricEngine(store),  # one catalogue engine, shared by every panel
    )
    shell = Shell(ctx, library, first_size=first_size, timetravel=timetravel)
    # The layout: --layout, else the last good one, else the role's preset; each failure
    # is reported and the next is tried, so a broken file never keeps the hall dark.
    loaded = library.startup(args.layout)
    shell.apply_layout(loaded.doc, loaded.key, loaded.source)
    library.set_current(loaded.key, loaded.source, loaded.doc)
    log.info(
        "layout %r (%s %s) on %d window(s)",
        loaded.doc["name"],
        loaded.source,
        loaded.key,
        len(shell.windows),
    )
    from commandcenter.privacy import Mask, journal_mask

    try:  # reporters' personal data at rest: masked in the journal on leader/viewer screens
        codec.mask = journal_mask(settings.mask_journal, (loaded.doc.get("role"), ctx.role))
    except ValueError as err:
        problems.append(f"settings: {err}; the journal is masked")
        codec.mask = Mask(enabled=True)
    if loaded.problems:
        problems.append(
            "布局无法使用 / layout could not be used:\n"
            + loaded.message
            + f"\n\n→ {loaded.doc['name']} ({loaded.source} {loaded.key})"
        )
    for problem in problems:
        shell.show_problem(problem)
    if args.briefing:
        shell.briefing.start()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    client: Any
    if args.mqtt:
        try:
            client = _mqtt_transport(args, feed_url, token, ca_file, recorder, status)
        except (ValueError, OSError) as err:
            print(f"commandcenter: {err}", file=sys.stderr)
            shell.close_all()
            journal.close()
            return 2
    else:
        client = FeedClient(
            ClientConfig(base_url=feed_url, token=token or "", ca_file=ca_file), recorder, status
        )
    sender = ActionSender(outbox, audit, feed_url or "", token or "", ca_file)
    # The feed coming back means the server is back: actions waiting out a back-off they
    # earned during the outage go now, so "pending" turns "confirmed" within a second.
    was_live = [False]

    def _feed_back(st: FeedStatus) -> None:
        live = st.state is LinkState.LIVE
        if live and not was_live[0] and outbox.retry_all_now():
            sender.wake()
        was_live[0] = live

    unsubscribe_feed_back = status.subscribe(_feed_back)
    closing = asyncio.Event()
    # Qt must not end the loop under the shutdown coroutine (qasync then raises "Event
    # loop stopped before Future completed"): the last window closing asks for shutdown,
    # the coroutine stops the client, and only then does the loop end.
    app.setQuitOnLastWindowClosed(False)
    app.lastWindowClosed.connect(closing.set)
    shell.quitRequested.connect(closing.set)  # Ctrl+Q or any screen's window closed

    if args.report_first_frame:
        _report_first_frame(shell.windows[0], store, started)
    if args.replay_at is not None:
        _replay_when_live(shell, store, args.replay_at)
    if args.quit_after is not None:
        QTimer.singleShot(
            int(args.quit_after * 1000), lambda: _quit(shell, args.screenshot, closing)
        )

    async def run() -> None:
        client.start()
        sender.start()
        await closing.wait()
        await sender.stop()
        await client.stop()

    log.info("logs: %s", logfile)
    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        shell.close_all()
        unsubscribe_feed_back()
        bridge.tick.disconnect(alarms.evaluate)
        bridge.close()
        outbox.close()
        audit.close()
        journal.close()  # the last buffered rows (at most half a second of history)
        if server is not None:
            server.stop()
    return 0


def _os_user() -> str:
    """Who is at the console when no --actor is given: the OS account's name."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "duty"


def _report_first_frame(anchor, store, started: float) -> None:
    """Prints when any window first shows live data: the start-up budget's finish line."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QAbstractItemView, QApplication

    timer = QTimer(anchor)

    def showing_cases():
        for top in QApplication.topLevelWidgets():
            for v in top.findChildren(QAbstractItemView):
                if v.isVisible() and v.model() is not None and v.model().rowCount() > 0:
                    return top
        return None

    def check() -> None:
        top = showing_cases() if store.epoch else None
        if top is not None:
            top.grab()  # forces the paint of the current state
            print(f"FIRST_LIVE_FRAME {time.monotonic() - started:.3f}", flush=True)
            timer.stop()

    timer.timeout.connect(check)
    timer.start(20)


def save_screenshots(shell, target: str) -> list[Path]:
    """Every window as ``NAME-N.png`` and the whole virtual desktop (the windows painted
    where they are; works offscreen too) as ``NAME``."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    desktop = QRect()
    for screen in QGuiApplication.screens():
        desktop = desktop.united(screen.geometry())
    image = QImage(desktop.size(), QImage.Format.Format_RGB32)
    image.fill(QColor("#000000"))
    painter = QPainter(image)
    for n, win in enumerate(shell.windows, start=1):
        pix = win.grab()
        one = path.with_name(f"{path.stem}-{n}{path.suffix or '.png'}")
        pix.save(str(one))
        saved.append(one)
        painter.drawPixmap(win.geometry().topLeft() - desktop.topLeft(), pix)
        for fc in win.manager.floatingWidgets():
            if fc.isVisible():
                painter.drawPixmap(fc.geometry().topLeft() - desktop.topLeft(), fc.grab())
    painter.end()
    image.save(str(path))
    saved.append(path)
    return saved


def _quit(shell, screenshot: str | None, closing) -> None:
    if screenshot:
        for saved in save_screenshots(shell, screenshot):
            log.info("screenshot saved to %s", saved)
    closing.set()  # the shutdown coroutine stops the client, then the loop ends


if __name__ == "__main__":
    os.environ.setdefault("QT_API", "pyside6")
    sys.exit(main())
