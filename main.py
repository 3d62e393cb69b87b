"""commandcenter: the composition root. The only module that knows every package.

Run with no arguments it starts the embedded demo county (the reference feed server with
its simulator, on 127.0.0.1) and connects to it over HTTP like to any production feed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

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
    return ap


def setup_logging(level: str, redactor: TokenRedactor) -> Path:
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5 << 20, backupCount=5, encoding="utf-8"
    )
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

    from commandcenter.sla import SlaPolicy
    from commandcenter.status import FeedStatus
    from commandcenter.store import Store
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
    if not feed_url:
        from feeds.server import EmbeddedServer, ServerConfig

        cfg = ServerConfig(seed=args.seed, rate=args.rate, history_hours=args.history_hours)
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
    first_size = None
    if args.geometry:
        w, _, h = args.geometry.partition("x")
        first_size = QSize(int(w), int(h))
    library = LayoutLibrary()
    shell = Shell(PanelContext(store, status, bridge), library, first_size=first_size)
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
    if loaded.problems:
        problems.append(
            "布局无法使用 / layout could not be used:\n"
            + loaded.message
            + f"\n\n→ {loaded.doc['name']} ({loaded.source} {loaded.key})"
        )
    for problem in problems:
        shell.show_problem(problem)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    client = FeedClient(
        ClientConfig(base_url=feed_url, token=token or "", ca_file=ca_file), store, status
    )
    closing = asyncio.Event()
    # Qt must not end the loop under the shutdown coroutine (qasync then raises "Event
    # loop stopped before Future completed"): the last window closing asks for shutdown,
    # the coroutine stops the client, and only then does the loop end.
    app.setQuitOnLastWindowClosed(False)
    app.lastWindowClosed.connect(closing.set)
    shell.quitRequested.connect(closing.set)  # Ctrl+Q or any screen's window closed

    if args.report_first_frame:
        _report_first_frame(shell.windows[0], store, started)
    if args.quit_after is not None:
        QTimer.singleShot(
            int(args.quit_after * 1000), lambda: _quit(shell, args.screenshot, closing)
        )

    async def run() -> None:
        client.start()
        await closing.wait()
        await client.stop()

    log.info("logs: %s", logfile)
    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        shell.close_all()
        bridge.close()
        if server is not None:
            server.stop()
    return 0


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
