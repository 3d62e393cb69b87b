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
)

log = logging.getLogger("commandcenter")
# How long after the first snapshot reaches the store the deferred work starts: the frame
# showing it is painted first (the start-up budget's finish line, bench/startup.py).
FIRST_FRAME_GRACE_MS = 150


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="main.py",
        description="County command-hall console. Without --feed, --mqtt, --source or sources "
        "in the settings it runs the embedded demo county.",
    )
    ap.add_argument(
        "--feed", metavar="URL", help="feed server base URL, e.g. https://feed.example:8443"
    )
    ap.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="KIND:key=value,...",
        help="a live source, repeatable; kinds v1, mqtt, open311, cot, file, e.g. "
        "cot:listen=127.0.0.1:6969,proto=udp or open311:url=https://311.example/v2,"
        "interval=60 (docs/sources.md, 'Live sources'); v1 without url= is the demo county",
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
    dev.add_argument(
        "--report-sources",
        action="store_true",
        help="before quitting print one line per live source on stdout: SOURCE name kind "
        "state cases events quarantined error",
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
    ap.add_argument(
        "--journal-history",
        type=float,
        default=3.0,
        metavar="HOURS",
        help="at start, fetch up to HOURS of the feed's past into the journal when it holds "
        "none (or has a gap), so replay can go back at once (default 3, at most 24; 0: off)",
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


def source_specs(args: argparse.Namespace, settings: Settings) -> list[Any]:
    """The live sources to start, as registry specs (feeds.sources.registry).

    The command line decides when it names any (``--feed``, ``--mqtt``, ``--source``):
    ``--mqtt`` becomes an ``mqtt`` source (its snapshot and the actions from ``--feed``),
    else ``--feed`` a ``v1`` source, then each ``--source`` in order. Otherwise the
    settings' ``sources``, else their ``feed_url``, else the embedded demo county (a
    ``v1`` source without ``url``). The first source is the primary: its ids are kept
    unprefixed and its clock rules (commandcenter.sources)."""
    from feeds.sources.registry import SourceSpec, from_settings, parse_arg, unique_names

    token_file = args.token_file or settings.token_file or ""
    ca_file = args.ca_file or settings.ca_file or ""
    specs: list[SourceSpec] = []
    if args.mqtt:
        host, port = args.mqtt
        options = {
            "broker": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "county": args.mqtt_county,
            "user": args.mqtt_user or "",
            "password_file": args.mqtt_password_file or "",
            "ca_file": args.mqtt_ca_file or "",
            "client_id": args.client_id or "",
            "snapshot_url": args.feed or settings.feed_url or "",
            "token_file": token_file,
            "snapshot_ca_file": ca_file,
        }
        specs.append(SourceSpec("mqtt", "mqtt", {k: v for k, v in options.items() if v}))
    elif args.feed:
        specs.append(_v1_spec(args.feed, token_file, ca_file))
    specs.extend(parse_arg(text) for text in args.source)
    if not specs and not (args.mqtt or args.feed or args.source):
        if settings.sources:
            specs = from_settings(settings.sources)
        elif settings.feed_url:
            specs = [_v1_spec(settings.feed_url, token_file, ca_file)]
        else:
            specs = [SourceSpec("v1", "v1", {})]  # the embedded demo county
    return unique_names(specs)


def _v1_spec(url: str, token_file: str, ca_file: str) -> Any:
    from feeds.sources.registry import SourceSpec

    options = {"url": url, "token_file": token_file, "ca_file": ca_file}
    return SourceSpec("v1", "v1", {k: v for k, v in options.items() if v})


def _replay_when_live(shell: Any, store: Any, minutes: float, recorder: Any) -> None:
    """--replay-at: enter replay at now - ``minutes`` once the first snapshot is journaled.
    The feed's past fetched at start (``--journal-history``) normally reaches that far;
    when it does not (a feed without history, a server started moments ago), the oldest
    moment is shown, and the seek is made again once the feed's clock has passed far
    enough (``--rate`` speeds it up). While that past is still being written it waits:
    a seek then could land in a part of it still to come."""
    from PySide6.QtCore import QTimer

    timer = QTimer(shell)
    timer.setObjectName("replayAtTimer")
    entered = [False]

    def check() -> None:
        tt = shell.timetravel
        if tt is None or not store.epoch or recorder.history_pending:
            return
        if tt.journal.bounds() is None:
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
    # httpx imports its command-line client when click, rich and pygments are installed:
    # 0.2 s of start-up for a tool the console never runs (httpx falls back without it).
    sys.modules.setdefault("httpx._main", None)
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
    from feeds.sources.registry import SourceError, check, parse_arg

    try:
        specs = source_specs(args, settings)
        for spec in specs:
            if spec.kind != "v1" or spec.get("url"):  # v1 without url: the demo, below
                check(spec)
    except SourceError as err:
        print(f"commandcenter: {err}", file=sys.stderr)
        return 2

    # Start-up allocates several hundred thousand objects that live as long as the app:
    # collecting over them meanwhile is wasted (~0.1 s). Enabled again after the first
    # live frame, at the latest after 3 s.
    gc.disable()
    # Heavy imports after argument parsing, so --help is instant.
    import qasync
    from PySide6.QtCore import QSize, QTimer
    from PySide6.QtWidgets import QApplication

    from commandcenter.actions import Outbox
    from commandcenter.alarms import AlarmEngine
    from commandcenter.audit import AuditLog
    from commandcenter.settings import state_dir
    from commandcenter.sla import SlaPolicy
    from commandcenter.sources import SourceMux
    from commandcenter.status import FeedStatus, LinkState, StatusBoard
    from commandcenter.store import Store
    from feeds.actions import ActionSender
    from feeds.sources import registry
    from layouts.library import LayoutLibrary
    from layouts.shell import Shell
    from widgets.base import PanelContext
    from widgets.i18n import set_language
    from widgets.live import LiveBridge
    from widgets.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from commandcenter import collector

    collector_timer = QTimer(app)  # the cycle collector, from the first live frame on
    collector_timer.setInterval(1000)
    collector_timer.timeout.connect(collector.collect_due)
    app.setApplicationName("commandcenter")
    app.setOrganizationName("commandcenter")
    apply_theme(app, settings.theme)
    set_language(app, language)

    server = None
    demo = [i for i, spec in enumerate(specs) if spec.kind == "v1" and not spec.get("url")]
    if demo:  # a v1 source without url: the embedded demo county, on 127.0.0.1
        from feeds.serve.server import EmbeddedServer, ServerConfig
        from feeds.sources.registry import SourceSpec

        # the warm-up's last two hours as events: a fresh console can replay them at once
        cfg = ServerConfig(seed=args.seed, rate=args.rate, history_hours=args.history_hours,
                           history_tail_hours=min(2.0, args.history_hours), history_cache=True)  # fmt: skip
        if args.cases_per_day:
            cfg.cases_per_day = args.cases_per_day
        server = EmbeddedServer(cfg)
        # Listening at once; the county is built on the server's thread while this one
        # builds the window (``wait_started`` below, before the sources connect).
        server.start(wait=False)
        redactor.add(server.token)
        for i in demo:
            spec = specs[i]
            specs[i] = SourceSpec(
                spec.name, spec.kind, {**spec.options, "url": server.url}, secret=server.token
            )
        log.info(
            "embedded demo county at %s (seed %d, rate %.1fx)", server.url, args.seed, args.rate
        )

    try:
        policy = SlaPolicy.from_dict(settings.sla) if settings.sla else SlaPolicy()
    except (ValueError, TypeError) as err:
        problems.append(f"SLA settings: {err}")
        policy = SlaPolicy()
    store = Store(policy)
    board = StatusBoard()  # every source's own status, and the hall's over them
    status = board.hall
    bridge = LiveBridge(store, status, sources=board)

    def _freeze_snapshot(cs: Any) -> None:
        """After the first snapshot, move its ~100k records out of the collector's reach: a
        full collection over them costs ~100 ms and would land in a live frame
        (bench/queue.py ``freeze_heap`` measures it; records are replaced, never mutated).
        Both wait until the first live frame is painted: first the heavy panels docked as
        placeholders (``Shell.defer_heavy``), then the collection."""
        # A source's snapshot (the store's epoch is set): not an empty start of a CoT or
        # Open311 source, nor the imported history's bulk load before any source spoke
        # (that reset once built the heavy panels and froze the heap before the first
        # live frame, ~1 s of it with a million imported cases).
        if cs.reset and len(store) and store.epoch:
            bridge.changed.disconnect(_freeze_snapshot)
            QTimer.singleShot(FIRST_FRAME_GRACE_MS, _after_first_frame)

    def _after_first_frame() -> None:
        shell.build_pending()
        gc.collect()
        gc.freeze()
        _collect_on_gui_thread()

    def _start_settled() -> None:
        """No first live frame within 3 s (a feed down): build the rest all the same."""
        shell.build_pending()
        _collect_on_gui_thread()

    def _collect_on_gui_thread() -> None:
        """The cycle collector from a timer on this thread, never on a worker's
        (commandcenter/collector.py says why)."""
        if not collector_timer.isActive():
            collector.take_over()
            collector_timer.start()

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

    recorder = Recorder(
        store, journal, on_failure=_journal_down, history_s=args.journal_history * 3600.0
    )
    # What `main.py import` brought in (months of history) is in the live store too, so
    # rankings and trends cover it, not only time travel; a source's snapshot keeps it.
    try:
        imported = journal.load_history(store)
    except Exception as err:  # a damaged history table must not keep the hall dark
        log.exception("imported history could not be loaded")
        problems.append(f"导入的历史无法读取 / imported history unreadable: {err}")
        imported = 0
    if imported:
        log.info("imported history: %d cases in the store", imported)
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
    from commandcenter.ranking import RankingEngine

    # The shared engines, each built once here: panels declare what they require
    # (Panel.REQUIRES) and never build one of their own.
    ctx = PanelContext(
        store,
        status,
        bridge,
        outbox=outbox,
        audit=audit,
        alarms=alarms,
        actor=actor,
        metrics=MetricEngine(store),  # one catalogue engine, shared by every panel
        ranking=RankingEngine.following(store),  # one ranking engine, every league table
    )
    shell = Shell(ctx, library, first_size=first_size, timetravel=timetravel)
    shell.defer_heavy = True  # built after the first live frame, at the latest after 3 s
    QTimer.singleShot(3000, _start_settled)
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

    def _mask_for(layout_role: Any) -> str:
        """Reporters' personal data at rest: masked in the journal while a leader's or a
        viewer's layout is shown (settings mask_journal), decided again at every switch.
        Returns the settings error, if any (then the journal is masked)."""
        try:
            codec.mask = journal_mask(settings.mask_journal, (layout_role, ctx.role))
        except ValueError as err:
            codec.mask = Mask(enabled=True)
            return f"settings: {err}; the journal is masked"
        return ""

    if mask_problem := _mask_for(loaded.doc.get("role")):
        problems.append(mask_problem)
    shell.layoutChanged.connect(lambda _key: _mask_for(shell.document().get("role")))
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

    if server is not None:
        server.wait_started()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Every source from the registry, each into its own sink of one mux in front of the
    # Recorder (ids namespaced, own seq and epoch; docs/sources.md "Live sources").
    mux = SourceMux(store, recorder)
    sources: list[Any] = []
    try:
        for spec in specs:
            sources.append(registry.attach(spec, mux, board))
    except (registry.SourceError, ValueError) as err:
        print(f"commandcenter: {err}", file=sys.stderr)
        shell.close_all()
        journal.close()
        if server is not None:
            server.stop()
        return 2

    def subscribe(text: str) -> str:
        """One more live source while running (the Sources dialog's Subscribe), from its
        --source text."""
        spec = parse_arg(text)
        source = registry.attach(spec, mux, board)
        sources.append(source)
        source.start()
        log.info("source %s (%s) subscribed", spec.name, spec.kind)
        return spec.name

    shell.source_subscriber = subscribe
    # Actions go to the first source whose server takes them (a v1 feed, or the feed
    # server behind an MQTT source); without one they wait in the outbox.
    target = next((s for s in sources if getattr(s, "actions", None)), None)
    act_url, act_token, act_ca = target.actions if target is not None else ("", "", None)
    for source in sources:  # every feed token in use stays out of the logs
        if getattr(source, "actions", None):
            redactor.add(source.actions[1])
    for spec in specs:
        log.info("source %s (%s): %s", spec.name, spec.kind, registry.kind(spec.kind).where(spec))
    sender = ActionSender(outbox, audit, act_url, act_token, act_ca)
    # The feed coming back means the server is back: actions waiting out a back-off they
    # earned during the outage go now, so "pending" turns "confirmed" within a second.
    was_live = [False]

    def _feed_back(st: FeedStatus) -> None:
        live = st.state is LinkState.LIVE
        if live and not was_live[0] and outbox.retry_all_now():
            sender.wake()
        was_live[0] = live

    unsubscribe_feed_back = (target.status if target is not None else status).subscribe(_feed_back)
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
        _replay_when_live(shell, store, args.replay_at, recorder)
    if args.quit_after is not None:
        QTimer.singleShot(
            int(args.quit_after * 1000), lambda: _quit(shell, args.screenshot, closing)
        )

    async def run() -> None:
        for source in sources:
            source.start()
        sender.start()
        await closing.wait()
        if args.report_sources:
            _report_sources(board, mux)
        await sender.stop()
        for source in sources:
            await source.stop()

    log.info("logs: %s", logfile)
    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        gc.enable()
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


def _report_sources(board: Any, mux: Any) -> None:
    """--report-sources: each source's own row, as the feed status panel shows it, and
    what it holds in the store; then the store's whole count (imported history too)."""
    board.refresh()
    print(f"STORE cases={len(mux.store)}", flush=True)
    for row in board.rows:
        st = row.status
        owned = mux.parts[row.name].owned
        error = st.last_error.replace("\n", " ")[:200]
        print(
            f"SOURCE {row.name} {row.kind} {st.state.value} cases={len(owned.cases)} "
            f"units={len(owned.units)} events={st.applied} "
            f"quarantined={st.quarantined_total} error={error}",
            flush=True,
        )


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
