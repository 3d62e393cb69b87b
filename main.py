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
        "--geometry", metavar="WxH", help="window size instead of maximised, e.g. 1920x1080"
    )
    dev.add_argument(
        "--screenshot", metavar="PNG", help="save a screenshot of the window before quitting"
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
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from commandcenter.sla import SlaPolicy
    from commandcenter.status import FeedStatus
    from commandcenter.store import Store
    from feeds.client import ClientConfig, FeedClient
    from widgets.i18n import set_language
    from widgets.mainwindow import MainWindow
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
    window = MainWindow(store, status, language=language)
    if args.geometry:
        w, _, h = args.geometry.partition("x")
        window.resize(int(w), int(h))
        window.show()
    else:
        # Without a window manager (kiosk X servers) "maximised" means nothing: size first.
        screen = app.primaryScreen()
        if screen is not None:
            window.setGeometry(screen.availableGeometry())
        window.showMaximized()
    for problem in problems:
        QMessageBox.warning(window, "commandcenter", problem)

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

    if args.report_first_frame:
        _report_first_frame(window, store, started)
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), lambda: _quit(window, args.screenshot))

    async def run() -> None:
        client.start()
        await closing.wait()
        await client.stop()

    log.info("logs: %s", logfile)
    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        if server is not None:
            server.stop()
    return 0


def _report_first_frame(window, store, started: float) -> None:
    """Prints when the window first shows live data: the start-up budget's finish line."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QAbstractItemView

    timer = QTimer(window)

    def shows_cases() -> bool:
        views = window.findChildren(QAbstractItemView)
        return any(v.isVisible() and v.model() is not None and v.model().rowCount() > 0 for v in views)

    def check() -> None:
        if store.epoch and shows_cases():
            window.grab()  # forces the paint of the current state
            print(f"FIRST_LIVE_FRAME {time.monotonic() - started:.3f}", flush=True)
            timer.stop()

    timer.timeout.connect(check)
    timer.start(20)


def _quit(window, screenshot: str | None) -> None:
    if screenshot:
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(screenshot)
        log.info("screenshot saved to %s", screenshot)
    window.close()  # the last window closing starts the shutdown


if __name__ == "__main__":
    os.environ.setdefault("QT_API", "pyside6")
    sys.exit(main())
