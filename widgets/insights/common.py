"""What the insight panels share: one background worker, plot styling, table helpers.

Why one worker thread for all of them: league tables over a million cases, jieba
segmentation and trend series take from tens of milliseconds to a second; on the GUI
thread they would freeze the wall. Jobs run one at a time (the machine has two cores and
the feed client needs the other), each on data copied on the GUI thread or on objects
only the worker touches (a panel's ``RankingEngine``), and their results come back to the
GUI thread as a queued signal. A panel listens through ``Panel.listen``, so a panel that
has been closed simply stops hearing; a late result is dropped, never applied to a dead
widget.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

from widgets import theme

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_relay: Relay | None = None
_tokens = itertools.count(1)


class Relay(QObject):
    """Lives on the GUI thread; ``done`` carries (token, result, error) back to it."""

    done = Signal(object)


def relay() -> Relay:
    global _relay
    if _relay is None:
        _relay = Relay(QApplication.instance())
    return _relay


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="insights")
    return _executor


def new_token() -> int:
    return next(_tokens)


def submit(fn: Callable[[], Any], token: int | None = None) -> int:
    """Run ``fn`` on the worker; returns the token its result will carry on ``relay().done``.

    A caller that must recognise the result passes a ``token`` it has already stored:
    a quick job can finish before ``add_done_callback`` is attached, and then the
    callback runs at once on the calling thread, emitting ``done`` (directly) before
    this function has returned the token (see ``Job.request``)."""
    token = new_token() if token is None else token
    r = relay()

    def done(fut: Future[Any]) -> None:
        err = fut.exception()
        if err is not None:
            log.error("insight job failed", exc_info=err)
        try:
            r.done.emit((token, None if err else fut.result(), err))
        except RuntimeError:
            pass  # the application is shutting down

    _pool().submit(fn).add_done_callback(done)
    return token


def wait_idle(timeout: float = 30.0) -> None:
    """Block until every job submitted so far has run (tests, screenshots)."""
    _pool().submit(lambda: None).result(timeout)


class Job:
    """One panel's recomputation: at most one in flight, and a request made meanwhile is
    run once after it (nothing queues up behind a slow job).

    ``request(make)`` takes a *maker*, called on the GUI thread right before the job is
    submitted: it snapshots what the job needs (pending records, settings, ``now``) so
    that a coalesced request still carries everything asked for since the last one.
    """

    def __init__(self, apply: Callable[[Any], None]) -> None:
        self._apply = apply
        self._token = 0
        self._again: Callable[[], Callable[[], Any]] | None = None
        self.runs = 0

    @property
    def busy(self) -> bool:
        return self._token != 0 or self._again is not None

    def request(self, make: Callable[[], Callable[[], Any]]) -> None:
        if self._token:
            self._again = make
            return
        self._submit(make)

    def _submit(self, make: Callable[[], Callable[[], Any]]) -> None:
        # The token is ours before the job can finish: a result that comes back at once
        # (the worker idle, the job quick) must not find a stale token and be dropped,
        # which left a panel waiting for ever on a job long done.
        fn = make()
        self._token = new_token()
        submit(fn, self._token)

    def on_done(self, message: tuple[int, Any, BaseException | None]) -> None:
        token, result, err = message
        if token != self._token:
            return
        self._token = 0
        self.runs += 1
        if err is None:
            self._apply(result)
        if self._again is not None and not self._token:
            make, self._again = self._again, None
            self._submit(make)


# ---- plots ------------------------------------------------------------------------------


def plot_font(size_pt: float = 12.0) -> QFont:
    """The theme's font at the theme's scale: axis ticks must be as legible as the tables."""
    font = theme.app_font(theme.current_scale())
    font.setPointSizeF(size_pt * theme.current_scale())
    return font


def style_plot(plot: pg.PlotWidget, size_pt: float = 12.0) -> None:
    """Dark background, theme colours, scaled tick fonts, no mouse zoom (a wall is not a
    workstation: a stray touch must not leave a chart zoomed in)."""
    c = theme.colors()
    plot.setBackground(c["surface"])
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    vb = item.getViewBox()
    vb.setMouseEnabled(x=False, y=False)
    font = plot_font(size_pt)
    for name in ("left", "bottom"):
        ax = item.getAxis(name)
        ax.setTickFont(font)
        ax.setTextPen(pg.mkPen(c["text"]))
        ax.setPen(pg.mkPen(c["border_strong"]))
        ax.setStyle(tickTextOffset=int(6 * theme.current_scale()))
    plot.setAntialiasing(True)


def pen(name: str, width: float = 2.0, dashed: bool = False) -> Any:
    col = QColor(theme.colors().get(name, name))
    p = pg.mkPen(col, width=width * theme.current_scale())
    if dashed:
        p.setStyle(Qt.PenStyle.DashLine)
    return p


# Series colours that stay apart on the dark background (category lines).
SERIES_COLORS: tuple[str, ...] = (
    "#40a9ff",
    "#faad14",
    "#52c41a",
    "#eb2f96",
    "#13c2c2",
    "#a0d911",
    "#8c8c8c",
)


def fmt_pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.1f}%"


def fmt_num(x: float, digits: int = 0) -> str:
    if x != x:
        return "—"
    return f"{x:,.{digits}f}"
