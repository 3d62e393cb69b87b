"""The one engine behind every number: the catalogue evaluated over cases at an instant.

``Figures`` holds the per-case conditions of one instant (SLA levels, flags, window
masks), computed lazily and once, so the eleven KPI tiles, the five warning tiles and the
map legend of one refresh cost one pass over the columns, not seventeen. A
``MetricValue`` carries, beside its number, everything needed to explain it (window, n,
as-of) and the rows of the cases behind it, so a click on the number can select exactly
those cases (a count selects what it counts; a rate selects its population, ``n``).

``MetricEngine`` binds the figures to a store (or to any columns: the demo simulator
computes its platform KPIs through ``figures_of``, so in the demo both agree).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import numpy as np

from commandcenter.domain import UnitStatus, Urgency
from commandcenter.metrics.catalogue import CATALOGUE, Metric, metric
from commandcenter.metrics.columns import URGENCY_INDEX, CaseColumns
from commandcenter.metrics.definitions import CLOSED_CODES, case_flags
from commandcenter.metrics.incremental import Tally
from commandcenter.metrics.windows import DayCalendar, Span, Window
from commandcenter.sla import SlaPolicy

_URGENT = URGENCY_INDEX[Urgency.URGENT.value]
_EMPTY = np.zeros(0, dtype=np.int64)
_DEFAULT_POLICY = SlaPolicy()

# Populations that need no window (stocks: as of now) and those taken over a window.
STOCK_POPULATIONS = ("open", "open_urgent", "overdue", "red", "yellow", "blue")
WINDOW_POPULATIONS = (
    "received",
    "closed",
    "completed",
    "on_time",
    "due",
    "rated",
    "satisfied",
    "overdue_received",
    "closed_in_window",
)
POPULATIONS = STOCK_POPULATIONS + WINDOW_POPULATIONS


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A number and what it stands on."""

    metric: Metric
    value: float | None  # None: nothing to compute it from, or below the minimum sample
    numerator: int
    n: int  # the population: the count itself, or a rate's denominator
    as_of: float
    span: Span | None  # None for a stock
    # The rows of the cases behind it, or how to find them: a number read from running
    # counts finds its rows only when a click or a footnote asks (``rows``).
    found: np.ndarray | Callable[[], np.ndarray] = field(
        repr=False, compare=False, default_factory=lambda: _EMPTY
    )
    reason: str = ""  # "" | "no_cases" | "below_min_sample" | "not_case_based"

    @property
    def rows(self) -> np.ndarray:
        found = self.found
        if callable(found):
            found = np.asarray(found(), dtype=np.int64)
            object.__setattr__(self, "found", found)  # found once
        return found

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def meets(self) -> bool | None:
        return self.metric.meets(self.value)

    def text(self) -> str:
        """The number as a tile prints it ("—" when there is none)."""
        if self.value is None:
            return "—"
        return format_number(self.value, self.metric.unit)


def format_number(value: float, unit: str) -> str:
    """Rates with one decimal, counts as integers with thousands separators."""
    if unit == "%":
        return f"{value:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


class Figures:
    """The per-case conditions of one instant over one set of columns."""

    def __init__(
        self,
        cols: CaseColumns,
        policy: SlaPolicy,
        now: float,
        calendar: DayCalendar,
        units: Mapping[str, Any] | None = None,
        cameras: Mapping[str, Any] | None = None,
    ) -> None:
        self.cols = cols
        self.policy = policy
        self.now = float(now)
        self.calendar = calendar
        self.units = units or {}
        self.cameras = cameras or {}
        self._cache: dict[Any, Any] = {}

    # ---- per-case conditions, each computed once --------------------------------------

    def _once(self, key: Any, make: Callable[[], Any]) -> Any:
        v = self._cache.get(key)
        if v is None:
            v = self._cache[key] = make()
        return v

    @property
    def sla(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.cols

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self.policy.evaluate_arrays(
                self.now,
                c.state,
                c.urgency,
                c.codes["category"],
                c.values["category"],
                c.created,
                c.on_site,
                c.extension,
                c.due,  # a record's own due date drives its SLA, as in the store's
            )

        return self._once("sla", make)

    @property
    def flags(self) -> Any:
        c = self.cols
        return self._once(
            "flags",
            lambda: case_flags(
                self.policy,
                c.state,
                c.urgency,
                c.codes["category"],
                c.values["category"],
                c.created,
                c.completed,
                c.extension,
                c.rating,
                c.due,
            ),
        )

    def span(self, window: Window) -> Span:
        return self._once(("span", window), lambda: window.resolve(self.now, self.calendar)[0])

    def mask(self, population: str, window: Window | None = None) -> np.ndarray:
        """Which rows belong to a named population (windowed ones need ``window``)."""
        key = (population, window if population in WINDOW_POPULATIONS else None)
        return self._once(key, lambda: self._mask(population, window))

    def _mask(self, population: str, window: Window | None) -> np.ndarray:
        f = self.flags
        if population == "open":
            return f.open
        if population == "open_urgent":
            return f.open & (self.cols.urgency == _URGENT)
        milestone, remaining, level = self.sla
        if population == "overdue":
            return (milestone > 0) & (remaining < 0)
        if population in ("red", "yellow", "blue"):
            return level == ("blue", "yellow", "red").index(population)
        if population not in WINDOW_POPULATIONS:
            raise ValueError(f"unknown population {population!r}; one of {POPULATIONS}")
        if window is None:
            raise ValueError(f"population {population!r} needs a window")
        span = self.span(window)
        if population == "closed_in_window":
            return np.isin(self.cols.state, CLOSED_CODES) & span.contains(self.cols.closed)
        received = span.contains(self.cols.created)
        if population == "received":
            return received
        if population == "overdue_received":
            return received & self.mask("overdue")
        if population == "due":
            return received & (f.timed | self.mask("overdue"))
        flag = {
            "closed": f.closed,
            "completed": f.timed,
            "on_time": f.on_time,
            "rated": f.rated,
            "satisfied": f.satisfied,
        }[population]
        return received & flag

    # ---- metrics -----------------------------------------------------------------------

    def value(
        self, name: str | Metric, window: Window | None = None, within: np.ndarray | None = None
    ) -> MetricValue:
        """One metric; ``window`` overrides the catalogue's, ``within`` restricts the rows
        (one township's cases, say)."""
        m = name if isinstance(name, Metric) else metric(name)
        w = m.window if window is None or m.window is None else window
        span = self.span(w) if w is not None else None
        if m.kind == "units":
            n = sum(1 for u in self.units.values() if _on_duty(u))
            return MetricValue(m, float(n), n, n, self.now, None, reason="not_case_based")
        if m.kind == "cameras":
            total = len(self.cameras)
            on = sum(1 for c in self.cameras.values() if getattr(c, "online", True))
            v = 100.0 * on / total if total >= max(1, m.min_sample) else None
            return MetricValue(m, v, on, total, self.now, None, reason="not_case_based")
        num = self.mask(m.numerator, w)
        if within is not None:
            num = num & within
        if m.kind == "count":
            rows = np.flatnonzero(num)
            return MetricValue(m, float(len(rows)), len(rows), len(rows), self.now, span, rows)
        den = self.mask(m.denominator, w)
        if within is not None:
            den = den & within
        rows = np.flatnonzero(den)
        k, n = int(np.count_nonzero(num & den)), len(rows)
        reason = "no_cases" if n == 0 else "below_min_sample" if n < m.min_sample else ""
        v = None if reason else 100.0 * k / n
        return MetricValue(m, v, k, n, self.now, span, rows, reason)

    def values(
        self, names: Iterable[str] | None = None, window: Window | None = None
    ) -> dict[str, MetricValue]:
        return {n: self.value(n, window) for n in (CATALOGUE if names is None else names)}

    def by(self, column: str, name: str, window: Window | None = None) -> dict[str, MetricValue]:
        """One metric per value of a case column (township, grid...); empty values apart."""
        codes = self.cols.codes[column]
        names = self.cols.values[column]
        present = np.unique(codes) if len(codes) else _EMPTY
        return {
            names[int(c)]: self.value(name, window, within=codes == c)
            for c in present
            if names[int(c)]
        }

    def case_ids(self, mv: MetricValue) -> list[str]:
        """The ids of the cases behind a value, oldest first (what a click selects)."""
        rows = mv.rows
        if not len(rows):
            return []
        rows = rows[np.argsort(self.cols.created[rows], kind="stable")]
        ids = self.cols.ids
        return [ids[int(r)] for r in rows]


def _on_duty(unit: Any) -> bool:
    """A unit status (a string), a status payload, or a store UnitRecord holding one."""
    status = unit if isinstance(unit, str) else getattr(unit, "status", None)
    status = status if isinstance(status, str) else getattr(status, "status", status)
    return status is not None and str(status) != UnitStatus.OFF_DUTY.value


class LiveFigures(Figures):
    """Figures whose case metrics over whole local days come from running counts
    (``metrics.incremental.Tally``, kept in step with the store by ``MetricEngine``);
    everything else, and the rows behind every number, from the columns as ``Figures``."""

    def __init__(self, tally: Tally, *args: Any) -> None:
        super().__init__(*args)
        self.tally = tally

    def value(
        self, name: str | Metric, window: Window | None = None, within: np.ndarray | None = None
    ) -> MetricValue:
        m = name if isinstance(name, Metric) else metric(name)
        if within is not None or m.kind not in ("count", "rate"):
            return super().value(m, window, within)
        w = m.window if window is None or m.window is None else window
        counts = self.tally.counts(m, self.now, w)
        if counts is None:  # a custom span of part days: the columns
            return super().value(m, window, within)
        k, n = counts
        span = self.span(w) if w is not None else None

        def rows() -> np.ndarray:
            return Figures.value(self, m, window).rows

        if m.kind == "count":
            return MetricValue(m, float(k), k, k, self.now, span, rows)
        reason = "no_cases" if n == 0 else "below_min_sample" if n < m.min_sample else ""
        v = None if reason else 100.0 * k / n
        return MetricValue(m, v, k, n, self.now, span, rows, reason)


def figures_of(
    cols: CaseColumns,
    now: float,
    policy: SlaPolicy | None = None,
    zone: str | tzinfo | None = None,
    units: Mapping[str, Any] | None = None,
    cameras: Mapping[str, Any] | None = None,
    calendar: DayCalendar | None = None,
) -> Figures:
    """Figures over any columns (the simulator's own cases, a test's hand-made ones);
    pass a kept ``calendar`` when called often (it caches the local midnights)."""
    cal = calendar if calendar is not None else DayCalendar(zone)
    return Figures(cols, policy or _DEFAULT_POLICY, now, cal, units, cameras)


class MetricEngine:
    """The catalogue over one store: built once per store and shared by its panels.

    ``figures()`` is cached per (store seq, instant) so that every consumer of one
    refresh reads the same numbers.
    """

    def __init__(self, store: Any, zone: str | tzinfo | None = None) -> None:
        self.store = store
        self._calendar = DayCalendar(zone)
        self._last: tuple[tuple[int, int, int, float], Figures] | None = None
        # Running counts in step with the store: each change set costs its own cases. A
        # snapshot (or a rebuilt past, in time travel) only marks them stale: the next
        # read loads them once, however many snapshots came in between.
        self.tally = Tally(store.policy, self._calendar)
        self._stale = True
        ref = weakref.WeakMethod(self._on_change)

        def relay(cs: Any) -> None:  # a dropped engine stops listening by itself
            method = ref()
            if method is None:
                unsubscribe()
            else:
                method(cs)

        unsubscribe = store.subscribe(relay)
        self._unsubscribe = unsubscribe

    def close(self) -> None:
        """Stop following the store now (its owner closes; dropping the engine would stop
        it too, but only at the store's next change). Idempotent."""
        self._unsubscribe()

    def _on_change(self, cs: Any) -> None:
        store = self.store
        if cs.reset or self.tally.policy is not store.policy:
            self._stale = True
        if self._stale:
            return
        ids = dict.fromkeys([*cs.cases_created, *cs.cases_updated])
        if ids:
            rows = np.fromiter((store.row_of(i) for i in ids), np.int64, len(ids))
            self.tally.update(store.columns().take(rows), rows)  # keyed by store row

    def figures(self, now: float | None = None) -> Figures:
        store = self.store
        if self._stale:
            self._stale = False
            self.tally = Tally(store.policy, self._calendar)
            self.tally.load(store.columns(), by_row=True)
            self._last = None
        now = float(store.clock.now() if now is None else now)
        key = (store.seq, len(store), self.tally.mutations, now)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        fig = LiveFigures(
            self.tally,
            store.columns(),
            store.policy,
            now,
            self._calendar,
            store.units,
            store.cameras,
        )
        self._last = (key, fig)
        return fig

    def value(
        self, name: str, now: float | None = None, window: Window | None = None
    ) -> MetricValue:
        return self.figures(now).value(name, window)

    def case_ids(self, mv: MetricValue) -> list[str]:
        """Ids of the cases behind ``mv`` (rows are those of the store it came from)."""
        ids = self.store.columns().ids
        rows = mv.rows
        created = self.store.columns().created
        rows = rows[np.argsort(created[rows], kind="stable")] if len(rows) else rows
        return [ids[int(r)] for r in rows]


def platform_difference(ours: MetricValue, platform: float | None) -> float | None:
    """platform - ours when both exist and differ by more than one case's worth, else None.

    The platform reports its figure now and then; ours moves with every case. Between two
    reports one case filed or closed moves a rate by ``100 / n`` points, so a rate is
    flagged only when it differs by more than that (and by more than the tenth of a
    percent a tile prints), and a count only when it differs by more than one: a lag of
    one report is not a disagreement, a different definition or population is. The tile
    prints the platform's figure beside ours either way; the mark says "these disagree"."""
    if platform is None or ours.value is None:
        return None
    try:
        p = float(platform)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(p):
        return None
    one_case = (100.0 / ours.n if ours.n > 0 else 0.0) if ours.metric.unit == "%" else 1.0
    tol = max(0.05, one_case)
    d = p - ours.value
    return d if abs(d) > tol else None
