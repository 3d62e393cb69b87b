"""The living demo county: cases arrive, the hall and the field move them, units drive.

A discrete-event simulation on a simulated clock. ``advance(to_ts)`` pops scheduled
happenings from one heap in time order and returns the feed events they produce, so the
same seed and the same sequence of calls give the same events, byte for byte: tests and
benchmarks can rely on it, and a bug seen once in the demo can be replayed.

Every case transition goes through ``commandcenter.lifecycle.apply``: the simulator cannot
produce a move the console would refuse, and the timelines it emits are a test of the
state machine as much as data for the panels.

Time limits used here (the Yuhang practice in COMMAND_HALL.md), all counted from the
case's creation: urgent sign+assign 5 min, on site 20 min, done 24 h; normal sign+assign
24 h, done 7 days; ``extension_s`` moves the done limit.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
import numpy as np

from commandcenter import lifecycle
from commandcenter.domain import (
    FIELD_ASSIGNEE_KINDS,
    OPEN_STATES,
    SOURCE_LABELS_ZH,
    Case,
    CaseState,
    Role,
    Source,
    TimelineEntry,
    UnitKind,
    UnitStatus,
    Urgency,
)
from commandcenter.metrics.catalogue import KPI_TILES
from commandcenter.metrics.columns import columns_from_cases
from commandcenter.metrics.engine import figures_of
from commandcenter.metrics.windows import DayCalendar
from feeds import protocol as P
from feeds.serve.camera_streams import stream_paths
from feeds.serve.simulator import names
from feeds.serve.simulator.county import (
    CATEGORIES,
    SOURCE_MIX,
    Category,
    County,
    Grid,
    UnitDef,
    points_in_polygon,
)

S = CaseState
A = lifecycle.Action

TZ_OFFSET_S = 8 * 3600  # China Standard Time: the hall's day starts at local midnight
DAY = 86_400.0

# Time limits in seconds (see module docstring).
LIMITS: dict[str, dict[str, float]] = {
    Urgency.URGENT: {"sign_assign": 300.0, "on_site": 1200.0, "done": 86_400.0},
    Urgency.NORMAL: {"sign_assign": 86_400.0, "done": 7 * 86_400.0},
}
LIMIT_LABELS_ZH = {"sign_assign": "签收派遣", "on_site": "到场", "done": "办结"}

# Relative case arrival rate per local hour: quiet at night, peaks 9-11h and 14-17h.
HOURLY_WEIGHTS: tuple[float, ...] = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.20, 0.45, 0.90, 1.40, 1.90, 2.00, 1.60,
    1.00, 1.10, 1.70, 1.90, 1.80, 1.30, 0.90, 0.80, 0.70, 0.55, 0.40, 0.25,
)  # fmt: skip
_HW_SUM = sum(HOURLY_WEIGHTS)
_HW_MAX = max(HOURLY_WEIGHTS)

# The one KPI no case of the demo stands behind (government services, another platform).
ONLINE_COMPLETION = 95.66

HALL_OFFICERS = ("值班员王丽", "值班员赵建国", "值班员李晓燕", "值班员张志强")
CALLBACK_ROBOT = "回访机器人"
RETURN_REASONS = ("非本单位职责范围", "地址信息不准确，无法找到现场", "需其他部门协同处置")
REJECT_REASONS = ("现场核查未整改到位", "回复内容与实际不符")
# Nothing left for the hall to do (a completed case still awaits verification).
FINISHED_STATES = frozenset({S.CLOSED, S.CALLED_BACK, S.EVALUATED})
# Finished cases are kept (and sent in a snapshot) this long: the KPIs' 7-day windows are
# whole local days, so up to 8 days back.
KEEP_FINISHED_S = 8 * 86_400.0


class SimEvent(NamedTuple):
    """One feed event as the world produces it; the hub gives it a sequence number."""

    kind: str
    data: msgspec.Struct
    ts: float


@dataclass(slots=True)
class ActionOutcome:
    """What an operator's action came to; mirrors feeds.protocol.ActionResult."""

    status: str  # applied | illegal | conflict | not_found | forbidden | invalid
    reason: str = ""
    case: P.CaseData | None = None


@dataclass(slots=True)
class _Plan:
    """When the automatic actors will do each step of one case (absolute sim times)."""

    report_at: float = 0.0
    sign_at: float = 0.0
    assign_at: float = 0.0
    on_site_at: float = 0.0
    handle_s: float = 0.0
    complete_at: float = 0.0
    will_return: bool = False
    will_reject: bool = False
    will_extend: bool = False
    breach: str = ""  # the limit this case is meant to miss, if any


@dataclass(slots=True)
class _Motion:
    """A unit moving along a polyline at constant speed."""

    pts: list[tuple[float, float]]
    cum: list[float]  # cumulative metres at each point
    t0: float
    speed: float
    purpose: str  # "case" or "patrol"
    case_id: str = ""

    @property
    def length(self) -> float:
        return self.cum[-1]

    @property
    def t1(self) -> float:
        return self.t0 + (self.length / self.speed if self.speed > 0 else 0.0)

    def at(self, t: float) -> tuple[float, float, float]:
        """(lon, lat, heading) at time t."""
        d = min(max((t - self.t0) * self.speed, 0.0), self.length)
        for i in range(1, len(self.pts)):
            if d <= self.cum[i] or i == len(self.pts) - 1:
                seg = self.cum[i] - self.cum[i - 1]
                f = 0.0 if seg <= 0 else (d - self.cum[i - 1]) / seg
                (x0, y0), (x1, y1) = self.pts[i - 1], self.pts[i]
                return x0 + f * (x1 - x0), y0 + f * (y1 - y0), _bearing(x0, y0, x1, y1)
        x, y = self.pts[-1]
        return x, y, 0.0


@dataclass(slots=True)
class _Unit:
    d: UnitDef
    status: UnitStatus
    lon: float
    lat: float
    heading: float = 0.0
    case_id: str = ""
    motion: _Motion | None = None
    gen: int = 0
    on_shift: bool = True
    going_off: bool = False
    last_pos_ts: float = 0.0


@dataclass(slots=True)
class _GridDyn:
    patrols: int = 0
    events: int = 0


@dataclass(slots=True)
class _Stats:
    filed: int = 0
    closed: int = 0
    cases_today: int = 0
    closed_today: int = 0
    online: float = ONLINE_COMPLETION


def _bearing(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    dx = (lon1 - lon0) * math.cos(math.radians(lat0))
    dy = lat1 - lat0
    if dx == 0 and dy == 0:
        return 0.0
    return (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0


def _metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    dx = (lon1 - lon0) * 111_320.0 * math.cos(math.radians(lat0))
    dy = (lat1 - lat0) * 110_570.0
    return math.hypot(dx, dy)


def local_hour(ts: float) -> float:
    """Hour of the local (UTC+8) day, 0 <= h < 24."""
    return ((ts + TZ_OFFSET_S) % DAY) / 3600.0


def next_local_time(ts: float, hour: float) -> float:
    """The first instant after ts at which the local clock shows ``hour``."""
    day_start = ts - ((ts + TZ_OFFSET_S) % DAY)
    t = day_start + hour * 3600.0
    while t <= ts:
        t += DAY
    return t


def _shift_bounds(shift: str) -> tuple[float, float]:
    a, b = shift.split("-")
    ha, ma = a.split(":")
    hb, mb = b.split(":")
    return int(ha) + int(ma) / 60.0, int(hb) + int(mb) / 60.0


def _in_shift(shift: str, ts: float) -> bool:
    start, end = _shift_bounds(shift)
    h = local_hour(ts)
    return start <= h < end if start < end else (h >= start or h < end)


class World:
    """The demo county in motion.

    ``advance`` and ``apply_action`` return ``SimEvent`` lists; nothing is published here
    (the hub numbers and fans out). State accessors give the snapshot's content.
    """

    def __init__(
        self,
        county: County,
        seed: int = 1,
        start_ts: float = 1_790_000_000.0,
        *,
        cases_per_day: float = 550.0,
        position_interval_s: float = 8.0,
        kpi_interval_s: float = 60.0,
        grid_interval_s: float = 300.0,
    ) -> None:
        self.county = county
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = float(start_ts)
        self.cases_per_day = float(cases_per_day)
        self.position_interval_s = float(position_interval_s)
        self.kpi_interval_s = float(kpi_interval_s)
        self.grid_interval_s = float(grid_interval_s)
        self.cases: dict[str, Case] = {}
        self.plans: dict[str, _Plan] = {}
        self._heap: list[tuple[float, int, str, Any, int]] = []
        self._tie = 0
        self._out: list[SimEvent] = []
        self._emit_positions = True
        self._started = False
        self._case_counter = 0
        self._alert_counter = 0
        self.alerts: deque[P.Alert] = deque(maxlen=200)
        self.kpis: dict[str, P.Kpi] = {}
        self.stats = _Stats()
        self._grids = county.grids
        self._grid_by_code: dict[str, Grid] = {g.code: g for g in county.grids}
        self._town_name = {t.code: t.name for t in county.townships}
        self.grid_dyn: dict[str, _GridDyn] = {g.code: _GridDyn() for g in county.grids}
        self._dirty_grids: dict[str, None] = {}
        self._grid_cum: list[float] = np.cumsum(
            [g.population * (1.6 if g.urban else 1.0) for g in self._grids]
        ).tolist()
        self.units: dict[str, _Unit] = {
            u.id: _Unit(d=u, status=UnitStatus.AVAILABLE, lon=u.base[0], lat=u.base[1])
            for u in county.units
        }
        self.cameras: dict[str, P.CameraData] = {
            c.id: P.CameraData(
                id=c.id,
                name=c.name,
                lon=c.lon,
                lat=c.lat,
                direction=c.direction,
                fov=c.fov,
                range_m=c.range_m,
                stream_url=stream_paths(c.id)[0],
                sub_stream_url=stream_paths(c.id)[1],
                township=c.township,
                grid=c.grid,
                online=True,
            )
            for c in county.cameras
        }
        self._cluster: dict[tuple[str, str], deque[float]] = {}
        self._cluster_alerted: dict[tuple[str, str], float] = {}
        self._cat_by_source: dict[Source, tuple[list[Category], list[float]]] = {}
        for src, _ in SOURCE_MIX:
            cats = [c for c in CATEGORIES if src in c.sources]
            self._cat_by_source[src] = (cats, np.cumsum([c.weight for c in cats]).tolist())
        self._src_cum: list[float] = np.cumsum([w for _, w in SOURCE_MIX]).tolist()
        self._handlers = {
            "arrival": self._on_arrival,
            "case": self._on_case_step,
            "sla": self._on_sla,
            "tick": self._on_tick,
            "unit_arrive": self._on_unit_arrive,
            "patrol": self._on_patrol,
            "shift": self._on_shift,
            "kpi": self._on_kpi,
            "grids": self._on_grid_flush,
            "cam_flip": self._on_cam_flip,
            "cam_back": self._on_cam_back,
            "midnight": self._on_midnight,
            "grid_patrol": self._on_grid_patrol,
            "unit_back": self._on_unit_back,
            "unit_offline": self._on_unit_offline,
        }

    # ------------------------------------------------------------------ public API

    def warm_up(self, hours: float = 8.0, tail_s: float = 0.0) -> tuple[list[SimEvent], list[SimEvent]]:
        """Live the ``hours`` before ``now`` quickly so the hall opens on a day in progress:
        open cases at every warning level, closed and evaluated ones, units out on the
        streets. The history's events are folded into a baseline (``state_events``) that
        the server publishes, all but the last ``tail_s`` seconds': those are returned as
        events, after the baseline as it stood before them, so that a console starting
        later can replay them (``GET /v1/history``). Returns (baseline, tail); both empty
        without a tail (the server then publishes ``state_events()`` itself)."""
        target = self.now
        t0 = target - hours * 3600.0
        tail_s = min(max(tail_s, 0.0), hours * 3600.0)
        self.now = t0
        self._emit_positions = False
        self._begin(t0, with_backlog=True)
        baseline: list[SimEvent] = []
        tail: list[SimEvent] = []
        if tail_s > 0:
            self.advance(target - tail_s)
            self._out = []
            baseline = self.state_events()
            tail = self.advance(target)
        else:
            self.advance(target)
        self._emit_positions = True
        self._out = []
        for u in self.units.values():
            if u.motion is not None:
                self._schedule_tick(u, self.now + self.rng.uniform(0.5, self.position_interval_s))
        return baseline, tail

    def advance(self, to_ts: float) -> list[SimEvent]:
        """Everything that happens up to ``to_ts`` (inclusive), in time order."""
        if not self._started:
            self._begin(self.now, with_backlog=False)
        heap = self._heap
        handlers = self._handlers
        while heap and heap[0][0] <= to_ts:
            ts, _, kind, key, token = heapq.heappop(heap)
            if ts > self.now:
                self.now = ts
            handlers[kind](key, token)
        if to_ts > self.now:
            self.now = to_ts
        out, self._out = self._out, []
        return out

    def apply_action(
        self,
        case_id: str,
        action: str,
        actor: str,
        role: Role,
        params: dict[str, Any] | None = None,
        expected_version: int = 0,
    ) -> tuple[ActionOutcome, list[SimEvent]]:
        """An operator's action from the hall, checked like the console checks it."""
        params = dict(params or {})
        case = self.cases.get(case_id)
        if case is None:
            return ActionOutcome("not_found", f"no case {case_id}"), []
        try:
            act = A(action)
        except ValueError:
            return ActionOutcome("invalid", f"unknown action {action!r}"), []
        if role not in lifecycle.ALLOWED_ROLES[act]:
            reason = lifecycle.check(case.state, action, role, params) or "forbidden"
            return ActionOutcome("forbidden", reason, P.case_to_wire(case)), []
        if expected_version and expected_version != case.version:
            return (
                ActionOutcome(
                    "conflict",
                    f"case is at version {case.version}, not {expected_version}",
                    P.case_to_wire(case),
                ),
                [],
            )
        reason = lifecycle.check(case.state, action, role, params)
        if reason is not None:
            return ActionOutcome("illegal", reason, P.case_to_wire(case)), []
        if act is A.EVALUATE:
            params["rating"] = int(params["rating"])
        new = self._transition(case, act, actor or role.value, role, params)
        out, self._out = self._out, []
        return ActionOutcome("applied", "", P.case_to_wire(new)), out

    # State for the snapshot -------------------------------------------------------

    def live_cases(self, keep_closed_s: float = KEEP_FINISHED_S) -> list[P.CaseData]:
        """Open cases, those finished within ``keep_closed_s`` and those filed within it
        (the KPIs' 7-day windows count cases filed in them, finished or not)."""
        cutoff = self.now - keep_closed_s
        return [
            P.case_to_wire(c)
            for c in self.cases.values()
            if c.state not in FINISHED_STATES or c.state_ts >= cutoff or c.created_ts >= cutoff
        ]

    def unit_statuses(self) -> list[P.UnitStatusData]:
        return [self._unit_status(u) for u in self.units.values()]

    def unit_positions(self) -> list[P.UnitPosition]:
        out = []
        for u in self.units.values():
            lon, lat, heading, speed = self._pos_now(u)
            out.append(P.UnitPosition(u.d.id, lon, lat, heading, speed, self.now))
        return out

    def camera_list(self) -> list[P.CameraData]:
        return list(self.cameras.values())

    def grid_stats(self) -> list[P.GridStats]:
        return [self._grid_stat(g) for g in self._grids]

    def kpi_list(self) -> list[P.Kpi]:
        if not self.kpis:
            self._compute_kpis()
        return list(self.kpis.values())

    def alert_list(self) -> list[P.Alert]:
        return list(self.alerts)

    def state_events(self) -> list[SimEvent]:
        """The whole current state as events: the baseline a fresh feed log starts with."""
        t = self.now
        ev: list[SimEvent] = []
        ev += [SimEvent(P.CAMERA_UPSERT, c, t) for c in self.camera_list()]
        ev += [SimEvent(P.GRID_STATS, g, t) for g in self.grid_stats()]
        ev += [SimEvent(P.UNIT_STATUS, u, t) for u in self.unit_statuses()]
        ev += [SimEvent(P.UNIT_POSITION, p, t) for p in self.unit_positions()]
        ev += [SimEvent(P.CASE_CREATED, c, t) for c in self.live_cases()]
        ev += [SimEvent(P.KPI_UPDATE, k, t) for k in self.kpi_list()]
        ev += [SimEvent(P.ALERT_RAISED, a, a.ts or t) for a in list(self.alerts)[-50:]]
        return ev

    def adopt(
        self,
        *,
        now: float,
        last_seq: int,
        cases: list[P.CaseData],
        units: list[P.UnitStatusData],
        positions: list[P.UnitPosition],
        cameras: list[P.CameraData],
        grids: list[P.GridStats],
        kpis: list[P.Kpi],
        alerts: list[P.Alert],
    ) -> None:
        """Continue from a persisted state (the latest record of each entity in the log).

        Plans are not persisted: open cases get fresh plans from ``now``. The generator is
        re-seeded from (seed, last_seq), so a restarted server continues deterministically.
        """
        self.rng = random.Random(f"{self.seed}:{last_seq}")
        self.now = float(now)
        self._heap = []
        self._out = []
        self.cases = {}
        self.plans = {}
        for cd in cases:
            try:
                c = P.case_to_domain(cd)
            except ValueError:
                continue
            self.cases[c.id] = c
            if c.id.startswith("PD") and c.id[2:].isdigit():
                self._case_counter = max(self._case_counter, int(c.id[2:]))
        for a in alerts:
            self.alerts.append(a)
            if a.id.startswith("AL") and a.id[2:].isdigit():
                self._alert_counter = max(self._alert_counter, int(a.id[2:]))
        for cam in cameras:
            if cam.id in self.cameras:
                self.cameras[cam.id] = msgspec.structs.replace(cam)  # ours to mutate
        for g in grids:
            if g.id in self.grid_dyn:
                self.grid_dyn[g.id] = _GridDyn(g.patrols_today, g.events_today)
        for k in kpis:
            self.kpis[k.name] = k
        pos = {p.id: p for p in positions}
        for us in units:
            u = self.units.get(us.id)
            if u is None:
                continue
            try:
                u.status = UnitStatus(us.status)
            except ValueError:
                u.status = UnitStatus.AVAILABLE
            u.case_id = us.case_id
            p = pos.get(us.id)
            if p is not None:
                u.lon, u.lat, u.heading = p.lon, p.lat, p.heading
            u.on_shift = _in_shift(u.d.shift, self.now)
        self._started = True
        self._schedule_periodics(self.now)
        for c in self.cases.values():
            if c.state not in (S.EVALUATED,):
                self.plans[c.id] = self._draw_plan(c, self.now, fresh=False)
                self._schedule_case(c)
        for u in self.units.values():
            case = self.cases.get(u.case_id) if u.case_id else None
            if u.status in (UnitStatus.EN_ROUTE, UnitStatus.BUSY) and (
                case is None or case.state not in OPEN_STATES
            ):
                u.case_id = ""
                u.status = UnitStatus.AVAILABLE if u.on_shift else UnitStatus.OFF_DUTY
            if u.status is UnitStatus.EN_ROUTE and case is not None:
                self._drive_to_case(u, case, self.now)
            elif u.status is UnitStatus.AVAILABLE:
                self._schedule(self.now + self.rng.uniform(5, 120), "patrol", u.d.id, u.gen)
            elif u.status is UnitStatus.RETURNING:
                self._head_home(u)
            elif u.status is UnitStatus.OFFLINE:
                self._schedule(self.now + self.rng.uniform(60, 300), "unit_back", u.d.id, 0)
        self._out = []

    # ------------------------------------------------------------------ scheduling

    def _schedule(self, ts: float, kind: str, key: Any = None, token: int = 0) -> None:
        self._tie += 1
        heapq.heappush(self._heap, (ts, self._tie, kind, key, token))

    def _emit(self, kind: str, data: msgspec.Struct, ts: float | None = None) -> None:
        self._out.append(SimEvent(kind, data, self.now if ts is None else ts))

    def _begin(self, t0: float, with_backlog: bool) -> None:
        self._started = True
        for u in self.units.values():
            u.on_shift = _in_shift(u.d.shift, t0)
            u.status = UnitStatus.AVAILABLE if u.on_shift else UnitStatus.OFF_DUTY
            if u.on_shift:
                self._schedule(t0 + self.rng.uniform(1, 600), "patrol", u.d.id, u.gen)
        self._schedule_periodics(t0)
        # today's grid patrols that are already done, and those still to come
        h = local_hour(t0)
        for g in self._grids:
            done = (1 if h > 11 else 0) + (1 if h > 17 else 0)
            self.grid_dyn[g.code].patrols = done if self.rng.random() > 0.05 else max(0, done - 1)
        self._schedule_grid_patrols(t0)
        if with_backlog:
            self._make_backlog(t0)

    def _schedule_periodics(self, t0: float) -> None:
        self._schedule(t0 + self._next_interarrival(t0), "arrival")
        self._schedule(t0 + 1.0, "kpi")
        self._schedule(t0 + self.grid_interval_s, "grids")
        self._schedule(t0 + self.rng.expovariate(1 / 600.0), "cam_flip")
        self._schedule(next_local_time(t0, 0.0), "midnight")
        self._schedule(t0 + self.rng.expovariate(1 / 5400.0), "unit_offline")
        for hour in (8.0, 17.0):
            self._schedule(next_local_time(t0, hour), "shift", hour)

    def _schedule_grid_patrols(self, t0: float) -> None:
        """Each grid worker patrols twice a day (一日双巡): once in the morning window and
        once in the afternoon; about one grid in twenty misses a patrol."""
        day_start = t0 - ((t0 + TZ_OFFSET_S) % DAY)
        for g in self._grids:
            for lo, hi in ((8.0, 11.5), (14.0, 17.5)):
                if self.rng.random() < 0.03:
                    continue
                t = day_start + self.rng.uniform(lo, hi) * 3600.0
                if t > t0:
                    self._schedule(t, "grid_patrol", g.code)

    def _next_interarrival(self, t: float) -> float:
        """Non-homogeneous Poisson arrivals by thinning against the peak hourly rate."""
        lam_max = self.cases_per_day * _HW_MAX / _HW_SUM / 3600.0
        if lam_max <= 0:
            return DAY
        dt = 0.0
        while True:
            dt += self.rng.expovariate(lam_max)
            w = HOURLY_WEIGHTS[int(local_hour(t + dt)) % 24]
            if self.rng.random() * _HW_MAX <= w:
                return dt

    # ------------------------------------------------------------------ cases

    def _pick_source_category(self) -> tuple[Source, Category]:
        r = self.rng.random() * self._src_cum[-1]
        i = next(k for k, c in enumerate(self._src_cum) if r <= c)
        src = SOURCE_MIX[i][0]
        cats, cum = self._cat_by_source[src]
        r = self.rng.random() * cum[-1]
        j = next(k for k, c in enumerate(cum) if r <= c)
        return src, cats[j]

    def _pick_grid(self) -> Grid:
        r = self.rng.random() * self._grid_cum[-1]
        lo, hi = 0, len(self._grid_cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._grid_cum[mid] < r:
                lo = mid + 1
            else:
                hi = mid
        return self._grids[lo]

    def _point_in_grid(self, g: Grid) -> tuple[float, float]:
        ring = g.poly_array()
        lo = ring.min(axis=0).tolist()
        hi = ring.max(axis=0).tolist()
        for _ in range(3):
            xs = [self.rng.uniform(lo[0], hi[0]) for _ in range(8)]
            ys = [self.rng.uniform(lo[1], hi[1]) for _ in range(8)]
            ok = points_in_polygon(np.array(xs), np.array(ys), ring)
            for k in range(8):
                if ok[k]:
                    return round(xs[k], 6), round(ys[k], 6)
        return g.centroid

    def _describe(self, cat: Category, g: Grid) -> tuple[str, str, str]:
        rng = self.rng
        town = self._town_name.get(g.township, "")
        road = rng.choice(names.ROADS)
        place = rng.choice(names.PLACES)
        if g.urban:
            addr = f"{town}{road}{rng.randint(1, 260)}号"
            spot = road
        else:
            addr = f"{town}{g.community}"
            spot = g.community
        text = rng.choice(cat.templates).format(
            addr=addr,
            road=road,
            place=place,
            community=g.community,
            village=g.community,
            n=rng.randint(2, 6),
            time=rng.choice(("早上七点", "晚上十点以后", "中午", "凌晨", "周末")),
            name=names.person_name(rng),
        )
        return f"{spot}{cat.name}", text, addr

    def _new_case(self, t: float, src: Source, cat: Category, g: Grid) -> Case:
        rng = self.rng
        self._case_counter += 1
        cid = f"PD{self._case_counter:07d}"
        urgency = Urgency.URGENT if rng.random() < cat.p_urgent else Urgency.NORMAL
        lon, lat = self._point_in_grid(g)
        title, text, addr = self._describe(cat, g)
        reporter, phone, actor = "", "", SOURCE_LABELS_ZH[src]
        if src in (Source.HOTLINE, Source.OPINION):
            reporter, phone = names.person_name(rng), names.phone(rng)
            actor = "12345热线" if src is Source.HOTLINE else "舆情监测系统"
        elif src is Source.GRID_WORKER:
            reporter, phone, actor = g.worker, g.worker_phone, g.worker
        elif src is Source.INSPECTOR:
            reporter = names.person_name(rng)
            phone, actor = names.phone(rng), f"监督员{reporter}"
        elif src is Source.VIDEO:
            actor = "视频AI识别"
        elif src is Source.SENSOR:
            actor = "物联感知平台"
        return Case(
            id=cid,
            version=0,
            category=cat.name,
            source=src,
            urgency=urgency,
            state=S.DISCOVERED,
            township=g.township,
            grid=g.code,
            lon=lon,
            lat=lat,
            created_ts=t,
            state_ts=t,
            title=title,
            description=text,
            address=addr,
            reporter_name=reporter,
            reporter_phone=phone,
            timeline=[TimelineEntry(t, "discover", actor, S.DISCOVERED, SOURCE_LABELS_ZH[src])],
        )

    def _draw_plan(self, c: Case, t: float, fresh: bool = True) -> _Plan:
        """Draw when each step will happen. About one case in ten is set to miss a limit."""
        rng = self.rng
        urgent = c.urgency is Urgency.URGENT
        lim = LIMITS[c.urgency]
        base = c.created_ts if fresh else t
        p = _Plan()
        if fresh:
            r = rng.random()
            if urgent and r < 0.13:
                p.breach = rng.choice(("sign_assign", "on_site", "on_site", "done"))
            elif not urgent and r < 0.09:
                p.breach = rng.choice(("sign_assign", "done", "done"))
        p.report_at = base + (
            rng.uniform(20, 90) if c.source is Source.SENSOR else rng.uniform(60, 900)
        )
        if urgent:
            if p.breach == "sign_assign":
                total = lim["sign_assign"] * rng.uniform(1.05, 2.2)
            else:
                total = lim["sign_assign"] * min(rng.betavariate(2.2, 3.0) * 1.1, 0.95)
        elif p.breach == "sign_assign":
            total = lim["sign_assign"] * rng.uniform(1.02, 1.3)
        else:
            total = min(rng.lognormvariate(math.log(2400), 0.9), lim["sign_assign"] * 0.9)
        start = max(base, p.report_at if c.state is S.DISCOVERED else base)
        total = max(total, 40.0)
        p.sign_at = start + total * rng.uniform(0.3, 0.6)
        p.assign_at = start + total
        if urgent:
            if p.breach == "on_site":
                p.on_site_at = base + lim["on_site"] * rng.uniform(1.05, 1.8)
            else:
                p.on_site_at = base + lim["on_site"] * rng.uniform(0.45, 0.95)
            p.on_site_at = max(p.on_site_at, p.assign_at + 120)
            p.handle_s = rng.lognormvariate(math.log(2700), 0.6)
        else:
            p.on_site_at = p.assign_at + rng.lognormvariate(math.log(3 * 3600), 0.8)
            p.handle_s = rng.lognormvariate(math.log(1800), 0.6)
        if p.breach == "done":
            p.complete_at = base + lim["done"] * rng.uniform(1.02, 1.4)
        elif urgent:
            p.complete_at = min(
                p.on_site_at + rng.lognormvariate(math.log(4 * 3600), 0.8),
                base + lim["done"] * 0.95,
            )
        else:
            p.complete_at = min(
                p.on_site_at + rng.lognormvariate(math.log(8 * 3600), 1.0),
                base + lim["done"] * 0.92,
            )
        p.complete_at = max(p.complete_at, p.on_site_at + 300)
        p.will_return = rng.random() < 0.05
        p.will_reject = rng.random() < 0.04
        p.will_extend = (not urgent) and rng.random() < 0.03
        return p

    def _office_hours(self, ts: float) -> float:
        """Departments work days: a normal case's step due at night waits for the morning."""
        h = local_hour(ts)
        if 7.5 <= h < 21.0:
            return ts
        return next_local_time(ts, 8.0) + self.rng.uniform(0, 7200)

    def _on_arrival(self, _key: Any, _token: int) -> None:
        t = self.now
        src, cat = self._pick_source_category()
        g = self._pick_grid()
        c = self._new_case(t, src, cat, g)
        self.plans[c.id] = self._draw_plan(c, t)
        if src in (Source.GRID_WORKER, Source.SENSOR):
            c.version = 1
            self._store_case(c, created=True)
        else:
            actor = c.timeline[0].actor
            role = Role.FIELD if src is Source.INSPECTOR else Role.SYSTEM
            new = lifecycle.apply(c, A.REPORT, actor, role, t, {"note": "受理"})
            self._store_case(new, created=True)
            c = new
        self._after_create(c)
        self._schedule(t + self._next_interarrival(t), "arrival")

    def _after_create(self, c: Case) -> None:
        t = self.now
        self.stats.filed += 1
        self.stats.cases_today += 1
        gd = self.grid_dyn[c.grid]
        gd.events += 1
        self._dirty_grids[c.grid] = None
        lim = LIMITS[c.urgency]
        for name, secs in lim.items():
            self._schedule(c.created_ts + secs, "sla", (c.id, name))
        self._schedule_case(c)
        if c.source is Source.SENSOR and c.urgency is Urgency.URGENT:
            self._raise_alert(
                "red", "sensor", f"物联感知告警：{c.address}{c.category}", c.id, c.grid
            )
        # Clusters: three or more cases of one category in one grid within an hour.
        key = (c.grid, c.category)
        dq = self._cluster.setdefault(key, deque())
        dq.append(t)
        while dq and dq[0] < t - 3600:
            dq.popleft()
        if len(dq) >= 3 and self._cluster_alerted.get(key, -1e18) < t - 3600:
            self._cluster_alerted[key] = t
            g = self._grid_by_code[c.grid]
            self._raise_alert(
                "yellow",
                "cluster",
                f"{g.name}一小时内{len(dq)}起{c.category}，疑似集中问题",
                c.id,
                c.grid,
            )

    def _store_case(self, c: Case, created: bool = False) -> None:
        self.cases[c.id] = c
        self._emit(P.CASE_CREATED if created else P.CASE_UPDATED, P.case_to_wire(c))

    def _transition(
        self,
        case: Case,
        act: lifecycle.Action,
        actor: str,
        role: Role,
        params: dict[str, Any],
    ) -> Case:
        """Apply one life-cycle step through lifecycle.apply, emit it, and follow it up."""
        t = self.now
        old_assignee = (case.assignee, case.assignee_kind)
        new = lifecycle.apply(case, act, actor, role, t, params)
        self._store_case(new)
        was_unit = old_assignee[1] in FIELD_ASSIGNEE_KINDS and old_assignee[0] in self.units
        if act is A.ASSIGN:
            if was_unit:
                self._release_unit(self.units[old_assignee[0]], new.id)
            if new.assignee_kind in FIELD_ASSIGNEE_KINDS and new.assignee in self.units:
                self._drive_to_case(self.units[new.assignee], new, t)
        elif act is A.RETURN and was_unit:
            self._release_unit(self.units[old_assignee[0]], new.id)
        elif (
            act is A.ARRIVE
            and new.assignee_kind in FIELD_ASSIGNEE_KINDS
            and new.assignee in self.units
        ):
            u = self.units[new.assignee]
            if u.case_id == new.id:
                self._stop(u, t)
                self._set_status(u, UnitStatus.BUSY)
        elif act is A.COMPLETE and was_unit:
            self._release_unit(self.units[old_assignee[0]], new.id)
        elif act is A.VERIFY:
            self.stats.closed += 1
            self.stats.closed_today += 1
        # Whether the hall acted by hand or not, the automatic actors carry on from here.
        self._schedule_case(new)
        return new

    def _schedule_case(self, c: Case) -> None:
        p = self.plans.get(c.id)
        if p is None:
            return
        t = self.now
        rng = self.rng
        st = c.state
        when: float | None
        if st is S.DISCOVERED:
            when = max(t, p.report_at)
        elif st is S.REPORTED:
            when = max(t + 5, p.sign_at)
        elif st is S.SIGNED:
            when = max(t + 5, p.assign_at)
        elif st is S.RETURNED:
            when = t + rng.uniform(600, 2400)
        elif st is S.ASSIGNED:
            unit = self.units.get(c.assignee) if c.assignee_kind in FIELD_ASSIGNEE_KINDS else None
            if unit is not None and unit.case_id in ("", c.id):
                if unit.case_id != c.id:
                    self._drive_to_case(unit, c, t)
                return  # the unit's arrival moves the case on
            # (a unit that was taken away for another case: the case proceeds on its plan)
            if p.will_return:
                when = t + rng.uniform(1200, 5400)
            else:
                when = max(t + 60, p.on_site_at)
                if c.urgency is Urgency.NORMAL:
                    when = self._office_hours(when)
        elif st is S.HANDLING:
            if p.will_extend:
                when = t + rng.uniform(1800, 7200)
            else:
                done = p.complete_at
                if c.assignee_kind in FIELD_ASSIGNEE_KINDS and p.breach != "done":
                    done = min(done, t + p.handle_s)
                when = max(t + 300, done)
                if c.urgency is Urgency.NORMAL and p.breach != "done":
                    when = self._office_hours(when)
        elif st is S.COMPLETED:
            when = t + rng.uniform(600, 3600)
            if local_hour(when) < 7 or local_hour(when) >= 23:
                when = next_local_time(when, 7.5) + rng.uniform(0, 3600)
        elif st is S.CLOSED:
            if not c.reporter_phone:
                return  # nobody to call back: video, sensor cases end here
            when = t + rng.uniform(1800, 4 * 3600)
            if not 8 <= local_hour(when) < 20:
                when = next_local_time(when, 9.0) + rng.uniform(0, 7200)
        elif st is S.CALLED_BACK:
            when = t + rng.uniform(30, 300)
        else:
            return
        self._schedule(when, "case", c.id, c.version)

    def _choose_assignee(self, c: Case, exclude: str = "") -> tuple[str, str]:
        cat = next((k for k in CATEGORIES if k.name == c.category), None)
        mode = cat.dispatch if cat else "department"
        dept = cat.department if cat else "城管局"
        if mode == "unit" and self.rng.random() < 0.85:
            u = self._nearest_unit(c.lon, c.lat, exclude)
            if u is not None:
                return u.d.id, "unit"
        if mode == "township":
            name = self._town_name.get(c.township, dept)
            if name != exclude:
                return name, "township"
        if dept == exclude:
            dept = self.rng.choice([d.name for d in self.county.departments if d.name != exclude])
        return dept, "department"

    def _nearest_unit(self, lon: float, lat: float, exclude: str = "") -> _Unit | None:
        best: _Unit | None = None
        best_d = 1e18
        kx = math.cos(math.radians(lat))
        for u in self.units.values():
            if (
                u.status is not UnitStatus.AVAILABLE
                or not u.on_shift
                or u.going_off
                or u.d.id == exclude
                or u.d.kind not in (UnitKind.ENFORCEMENT, UnitKind.VEHICLE)
            ):
                continue
            ulon, ulat, _, _ = self._pos_now(u)
            d = ((ulon - lon) * kx) ** 2 + (ulat - lat) ** 2
            if d < best_d:
                best, best_d = u, d
        return best

    def _on_case_step(self, cid: str, version: int) -> None:
        c = self.cases.get(cid)
        if c is None or c.version != version:
            return  # stale: someone acted since this was scheduled
        p = self.plans.get(cid)
        if p is None:
            return
        rng = self.rng
        st = c.state
        officer = rng.choice(HALL_OFFICERS)
        if st is S.DISCOVERED:
            role = Role.FIELD if c.source is Source.GRID_WORKER else Role.SYSTEM
            self._transition(c, A.REPORT, c.timeline[0].actor, role, {"note": "上报"})
        elif st is S.REPORTED:
            self._transition(c, A.SIGN, officer, Role.DUTY_OFFICER, {})
        elif st in (S.SIGNED, S.RETURNED):
            exclude = c.assignee if st is S.RETURNED else ""
            who, kind = self._choose_assignee(c, exclude)
            self._transition(
                c, A.ASSIGN, officer, Role.DUTY_OFFICER, {"assignee": who, "assignee_kind": kind}
            )
        elif st is S.ASSIGNED:
            if p.will_return:
                p.will_return = False
                reason = rng.choice(RETURN_REASONS)
                self._transition(c, A.RETURN, c.assignee, Role.FIELD, {"reason": reason})
            else:
                self._transition(c, A.ARRIVE, c.assignee, Role.FIELD, {"note": "到场处置"})
        elif st is S.HANDLING:
            if p.will_extend:
                p.will_extend = False
                secs = 3 * DAY
                p.complete_at = max(p.complete_at, self.now + rng.uniform(0.5, 2.5) * DAY)
                self._transition(
                    c, A.EXTEND, c.assignee, Role.FIELD, {"seconds": secs, "reason": "需协调多部门"}
                )
            else:
                self._transition(c, A.COMPLETE, c.assignee, Role.FIELD, {"note": "已处置完毕"})
        elif st is S.COMPLETED:
            if p.will_reject:
                p.will_reject = False
                p.complete_at = self.now + rng.uniform(1800, 4 * 3600)
                reason = rng.choice(REJECT_REASONS)
                self._transition(c, A.REJECT, officer, Role.DUTY_OFFICER, {"reason": reason})
            else:
                self._transition(c, A.VERIFY, officer, Role.DUTY_OFFICER, {"note": "核查通过"})
        elif st is S.CLOSED:
            self._transition(c, A.CALL_BACK, CALLBACK_ROBOT, Role.SYSTEM, {"note": "已回访"})
        elif st is S.CALLED_BACK:
            late = p.breach != "" or c.supervised > 0
            weights = (4, 6, 15, 35, 40) if late else (1, 2, 7, 30, 60)
            rating = rng.choices((1, 2, 3, 4, 5), weights=weights)[0]
            self._transition(c, A.EVALUATE, CALLBACK_ROBOT, Role.SYSTEM, {"rating": rating})

    def _on_sla(self, key: tuple[str, str], _token: int) -> None:
        cid, limit = key
        c = self.cases.get(cid)
        if c is None or c.state not in OPEN_STATES:
            return
        if limit == "sign_assign":
            missed = c.assigned_ts == 0.0
        elif limit == "on_site":
            missed = c.on_site_ts == 0.0
        else:
            deadline = c.created_ts + LIMITS[c.urgency]["done"] + c.extension_s
            if deadline > self.now + 1:
                self._schedule(deadline, "sla", key)
                return
            missed = True
        if not missed:
            return
        zh = "紧急" if c.urgency is Urgency.URGENT else "一般"
        self._raise_alert(
            "red",
            "sla.breach",
            f"{zh}案件{c.id}【{c.category}】{LIMIT_LABELS_ZH[limit]}超时",
            c.id,
            c.grid,
        )
        if self.rng.random() < 0.6:
            # The duty officer chases it (督办); the case keeps its state and plan.
            new = lifecycle.apply(
                c,
                A.ESCALATE,
                self.rng.choice(HALL_OFFICERS),
                Role.DUTY_OFFICER,
                self.now,
                {"reason": f"{LIMIT_LABELS_ZH[limit]}超时督办"},
            )
            self._store_case(new)
            self._schedule_case(new)

    def _raise_alert(self, level: str, kind: str, message: str, case_id: str, grid: str) -> None:
        self._alert_counter += 1
        a = P.Alert(
            id=f"AL{self._alert_counter:07d}",
            level=level,
            kind=kind,
            message=message,
            case_id=case_id,
            grid=grid,
            ts=self.now,
        )
        self.alerts.append(a)
        self._emit(P.ALERT_RAISED, a)

    def _make_backlog(self, t0: float) -> None:
        """Older cases still open when the history starts: normal ones up to 8 days old and
        urgent ones up to a day old, so that the hall opens with yellow and red warnings."""
        rng = self.rng
        n_normal = max(4, int(self.cases_per_day * 0.07))
        n_urgent = max(3, int(self.cases_per_day * 0.012))
        specs = [(False, rng.uniform(0.2, 8.0) * DAY) for _ in range(n_normal)]
        specs += [(True, rng.uniform(4, 22) * 3600.0) for _ in range(n_urgent)]
        specs.sort(key=lambda s: -s[1])
        for urgent, age in specs:
            created = t0 - age
            src, cat = self._pick_source_category()
            g = self._pick_grid()
            c = self._new_case(created, src, cat, g)
            c.urgency = Urgency.URGENT if urgent else Urgency.NORMAL
            lim = LIMITS[c.urgency]
            ts = created
            c = lifecycle.apply(c, A.REPORT, c.timeline[0].actor, Role.SYSTEM, ts, {})
            ts += rng.uniform(0.2, 0.5) * (240 if urgent else 3600)
            officer = rng.choice(HALL_OFFICERS)
            c = lifecycle.apply(c, A.SIGN, officer, Role.DUTY_OFFICER, ts, {})
            ts += rng.uniform(0.2, 0.5) * (240 if urgent else 3600)
            cat_obj = next(k for k in CATEGORIES if k.name == c.category)
            who = (
                self._town_name[c.township]
                if cat_obj.dispatch == "township"
                else cat_obj.department
            )
            kind = "township" if cat_obj.dispatch == "township" else "department"
            c = lifecycle.apply(
                c,
                A.ASSIGN,
                officer,
                Role.DUTY_OFFICER,
                ts,
                {"assignee": who, "assignee_kind": kind},
            )
            ts += rng.uniform(0.3, 0.9) * (1200 if urgent else 6 * 3600)
            if ts < t0:
                c = lifecycle.apply(c, A.ARRIVE, who, Role.FIELD, ts, {})
            self.cases[c.id] = c
            p = self._draw_plan(c, t0, fresh=False)
            p.will_return = False
            p.on_site_at = t0 + rng.uniform(60, 1800)
            if urgent:
                p.complete_at = created + lim["done"] * rng.uniform(0.75, 1.35)
            else:
                p.complete_at = t0 + rng.uniform(0.2, 3.0) * DAY
            p.complete_at = max(p.complete_at, t0 + rng.uniform(300, 3600))
            self.plans[c.id] = p
            self.stats.filed += 1
            for name, secs in lim.items():
                due = created + secs
                if due > t0:
                    self._schedule(due, "sla", (c.id, name))
            self._schedule_case(c)

    # ------------------------------------------------------------------ units

    def _pos_now(self, u: _Unit) -> tuple[float, float, float, float]:
        if u.motion is None:
            return u.lon, u.lat, u.heading, 0.0
        lon, lat, heading = u.motion.at(self.now)
        moving = self.now < u.motion.t1
        return round(lon, 6), round(lat, 6), round(heading, 1), (u.motion.speed if moving else 0.0)

    def _unit_status(self, u: _Unit) -> P.UnitStatusData:
        lon, lat, _, _ = self._pos_now(u)
        return P.UnitStatusData(
            id=u.d.id,
            name=u.d.name,
            kind=u.d.kind.value,
            status=u.status.value,
            township=u.d.township,
            grid=u.d.grid,
            department=u.d.department,
            case_id=u.case_id,
            shift=u.d.shift,
            lon=lon,
            lat=lat,
        )

    def _set_status(self, u: _Unit, status: UnitStatus) -> None:
        if u.status is status:
            return
        u.status = status
        self._emit(P.UNIT_STATUS, self._unit_status(u))

    def _stop(self, u: _Unit, t: float) -> None:
        if u.motion is not None:
            lon, lat, heading = u.motion.at(t)
            u.lon, u.lat, u.heading = round(lon, 6), round(lat, 6), round(heading, 1)
            u.motion = None
        u.gen += 1

    def _move(
        self,
        u: _Unit,
        dest: tuple[float, float],
        speed: float,
        purpose: str,
        case_id: str = "",
        delay: float = 0.0,
    ) -> None:
        t = self.now
        self._stop(u, t)
        start = (u.lon, u.lat)
        if purpose == "case" and self.rng.random() < 0.7:
            # roads: an L-shaped route looks more like driving than a straight line
            corner = (dest[0], start[1]) if self.rng.random() < 0.5 else (start[0], dest[1])
            pts = [start, corner, dest]
        else:
            pts = [start, dest]
        cum = [0.0]
        for i in range(1, len(pts)):
            cum.append(cum[-1] + _metres(*pts[i - 1], *pts[i]))
        m = _Motion(pts=pts, cum=cum, t0=t + delay, speed=speed, purpose=purpose, case_id=case_id)
        u.motion = m
        self._schedule(m.t1, "unit_arrive", u.d.id, u.gen)
        if self._emit_positions:
            self._emit_position(u)
            self._schedule_tick(u, t + self._tick_interval(u))

    def _tick_interval(self, u: _Unit) -> float:
        base = self.position_interval_s
        if u.motion is not None and u.motion.speed >= 4:
            base *= 0.7  # vehicles report more often than walkers
        return base * self.rng.uniform(0.75, 1.25)

    def _schedule_tick(self, u: _Unit, ts: float) -> None:
        self._schedule(ts, "tick", u.d.id, u.gen)

    def _emit_position(self, u: _Unit) -> None:
        lon, lat, heading, speed = self._pos_now(u)
        u.last_pos_ts = self.now
        self._emit(P.UNIT_POSITION, P.UnitPosition(u.d.id, lon, lat, heading, speed, self.now))

    def _on_tick(self, uid: str, gen: int) -> None:
        u = self.units[uid]
        if gen != u.gen or u.motion is None or not self._emit_positions:
            return
        if self.now >= u.motion.t1:
            return
        self._emit_position(u)
        self._schedule_tick(u, self.now + self._tick_interval(u))

    def _on_unit_arrive(self, uid: str, gen: int) -> None:
        u = self.units[uid]
        if gen != u.gen or u.motion is None:
            return
        m = u.motion
        self._stop(u, self.now)
        if self._emit_positions:
            self._emit_position(u)
        if m.purpose == "case":
            c = self.cases.get(m.case_id)
            if c is not None and c.state is S.ASSIGNED and c.assignee == uid:
                self._transition(c, A.ARRIVE, u.d.name, Role.FIELD, {"note": "到场处置"})
            else:
                self._release_unit(u, m.case_id)
        elif m.purpose == "base" and u.status is UnitStatus.RETURNING:
            self._set_status(u, UnitStatus.AVAILABLE)
            self._schedule(self.now + self.rng.uniform(120, 900), "patrol", uid, u.gen)
        elif u.status is UnitStatus.AVAILABLE and u.on_shift:
            self._schedule(self.now + self.rng.uniform(180, 900), "patrol", uid, u.gen)

    def _drive_to_case(self, u: _Unit, c: Case, t: float) -> None:
        prev = u.case_id
        u.case_id = c.id
        if prev and prev != c.id and prev in self.cases:
            self._schedule_case(self.cases[prev])  # it carries on without this unit
        self._set_status(u, UnitStatus.EN_ROUTE)
        # dispatch takes a moment before the wheels turn; roads are ~1.3x the crow's flight
        delay = self.rng.uniform(30, 120)
        self._move(u, (c.lon, c.lat), u.d.speed_mps / 1.3, "case", c.id, delay)

    def _release_unit(self, u: _Unit, case_id: str) -> None:
        if u.case_id != case_id:
            return
        u.case_id = ""
        self._stop(u, self.now)
        if u.going_off or not u.on_shift:
            u.going_off = False
            u.on_shift = False
            self._set_status(u, UnitStatus.OFF_DUTY)
            return
        if u.d.kind is not UnitKind.GRID_WORKER and _metres(u.lon, u.lat, *u.d.base) > 1000:
            self._head_home(u)  # a crew far from its base drives back, free to be sent
            return
        self._set_status(u, UnitStatus.AVAILABLE)
        self._schedule(self.now + self.rng.uniform(120, 900), "patrol", u.d.id, u.gen)

    def _head_home(self, u: _Unit) -> None:
        self._set_status(u, UnitStatus.RETURNING)
        self._move(u, u.d.base, u.d.speed_mps / 1.3, "base")

    def _on_patrol(self, uid: str, gen: int) -> None:
        u = self.units[uid]
        if gen != u.gen or u.status is not UnitStatus.AVAILABLE or not u.on_shift:
            return
        if u.d.kind is UnitKind.GRID_WORKER:
            h = local_hour(self.now)
            if not (8.5 <= h < 11.5 or 14.5 <= h < 17.0):
                # between patrol rounds the worker stays put (reports from the phone)
                nxt = next_local_time(self.now, 8.5 if h >= 14.5 or h < 8.5 else 14.5)
                self._schedule(nxt + self.rng.uniform(0, 1800), "patrol", uid, u.gen)
                return
            g = self._grid_by_code[u.d.grid]
            dest = self._point_in_grid(g)
        else:
            spread = {UnitKind.VEHICLE: 0.03, UnitKind.ENFORCEMENT: 0.012}.get(u.d.kind, 0.006)
            lon = u.d.base[0] + self.rng.uniform(-spread, spread)
            lat = u.d.base[1] + self.rng.uniform(-spread, spread) * 0.8
            dest = (round(lon, 6), round(lat, 6))
            if not self.county.contains(lon, lat)[0]:
                dest = u.d.base
        self._move(u, dest, u.d.patrol_speed_mps, "patrol")

    def _on_shift(self, hour: float, _token: int) -> None:
        t = self.now
        for u in self.units.values():
            start, end = _shift_bounds(u.d.shift)
            if abs(start - hour) < 1e-6 and not u.on_shift:
                u.on_shift = True
                u.going_off = False
                self._stop(u, t)
                u.lon, u.lat = u.d.base
                self._set_status(u, UnitStatus.AVAILABLE)
                if self._emit_positions:
                    self._emit_position(u)
                self._schedule(t + self.rng.uniform(60, 1200), "patrol", u.d.id, u.gen)
            elif abs(end - hour) < 1e-6 and u.on_shift:
                if u.status in (UnitStatus.EN_ROUTE, UnitStatus.BUSY):
                    u.going_off = True  # finishes the case first
                    continue
                u.on_shift = False
                self._stop(u, t)
                u.lon, u.lat = u.d.base
                self._set_status(u, UnitStatus.OFF_DUTY)
                if self._emit_positions:
                    self._emit_position(u)
        self._schedule(t + DAY, "shift", hour)

    def _on_unit_offline(self, _key: Any, _token: int) -> None:
        """Now and then a device drops off the network for a few minutes."""
        cands = [u for u in self.units.values() if u.status is UnitStatus.AVAILABLE and u.on_shift]
        if cands:
            u = self.rng.choice(cands)
            self._stop(u, self.now)
            self._set_status(u, UnitStatus.OFFLINE)
            self._schedule(self.now + self.rng.uniform(120, 900), "unit_back", u.d.id, 0)
        self._schedule(self.now + self.rng.expovariate(1 / 5400.0), "unit_offline")

    def _on_unit_back(self, uid: str, _token: int) -> None:
        u = self.units[uid]
        if u.status is not UnitStatus.OFFLINE:
            return
        self._set_status(u, UnitStatus.AVAILABLE if u.on_shift else UnitStatus.OFF_DUTY)
        if u.on_shift:
            self._schedule(self.now + self.rng.uniform(30, 300), "patrol", uid, u.gen)

    # ------------------------------------------------------------------ cameras, grids, KPIs

    def _on_cam_flip(self, _key: Any, _token: int) -> None:
        online = [c for c in self.cameras.values() if c.online]
        if online:
            cam = self.rng.choice(online)
            cam.online = False
            self._emit(P.CAMERA_STATUS, P.CameraStatus(cam.id, False))
            self._schedule(self.now + self.rng.uniform(120, 1800), "cam_back", cam.id)
        self._schedule(self.now + self.rng.expovariate(1 / 600.0), "cam_flip")

    def _on_cam_back(self, cam_id: str, _token: int) -> None:
        cam = self.cameras[cam_id]
        if not cam.online:
            cam.online = True
            self._emit(P.CAMERA_STATUS, P.CameraStatus(cam.id, True))

    def _grid_stat(self, g: Grid) -> P.GridStats:
        d = self.grid_dyn[g.code]
        return P.GridStats(
            id=g.code,
            township=g.township,
            name=g.name,
            population=g.population,
            houses=g.houses,
            units=g.units,
            facilities=g.facilities,
            worker=g.worker,
            patrols_today=d.patrols,
            events_today=d.events,
        )

    def _on_grid_patrol(self, code: str, _token: int) -> None:
        self.grid_dyn[code].patrols += 1
        self._dirty_grids[code] = None

    def _on_grid_flush(self, _key: Any, _token: int) -> None:
        for code in self._dirty_grids:
            self._emit(P.GRID_STATS, self._grid_stat(self._grid_by_code[code]))
        self._dirty_grids = {}
        self._schedule(self.now + self.grid_interval_s, "grids")

    def _on_midnight(self, _key: Any, _token: int) -> None:
        for code, d in self.grid_dyn.items():
            if d.patrols or d.events:
                d.patrols = 0
                d.events = 0
                self._dirty_grids[code] = None
        self.stats.cases_today = 0
        self.stats.closed_today = 0
        self._prune()
        self._schedule_grid_patrols(self.now)
        self._schedule(self.now + DAY, "midnight")

    def _prune(self) -> None:
        """Forget finished cases filed before the KPIs' longest window (7 whole days, so
        ``KEEP_FINISHED_S``), so a week-long demo stays small."""
        cutoff = self.now - KEEP_FINISHED_S
        for cid in [
            cid
            for cid, c in self.cases.items()
            if c.state in FINISHED_STATES and c.state_ts < cutoff and c.created_ts < cutoff
        ]:
            del self.cases[cid]
            self.plans.pop(cid, None)
        recent = self.now - DAY
        for key in [k for k, dq in self._cluster.items() if not dq or dq[-1] < recent]:
            del self._cluster[key]

    def _compute_kpis(self) -> dict[str, P.Kpi]:
        """The platform's KPIs, computed from the world's own cases by the console's metric
        catalogue (commandcenter.metrics): in the demo the platform's figure and the
        console's agree, so a difference flagged on a real feed means something."""
        st = self.stats
        if getattr(self, "_calendar", None) is None:
            self._calendar = DayCalendar("Asia/Shanghai")  # caches the local midnights
        st.online = min(95.80, max(95.50, st.online + self.rng.uniform(-0.004, 0.004)))
        fig = figures_of(
            columns_from_cases(self.cases.values()),
            self.now,
            units={u.d.id: u.status for u in self.units.values()},
            cameras=self.cameras,
            calendar=self._calendar,
        )
        out: dict[str, P.Kpi] = {}
        for name in KPI_TILES:
            mv = fig.value(name)
            if mv.value is None:
                continue  # below its minimum sample: the platform reports nothing either
            m = mv.metric
            out[name] = P.Kpi(name, round(mv.value, 2), m.target or 0.0, m.unit, m.label_zh)
        out["online_completion"] = P.Kpi(
            "online_completion", round(st.online, 2), 95.0, "%", "网上办结率"
        )
        return out

    def _on_kpi(self, _key: Any, _token: int) -> None:
        for name, k in self._compute_kpis().items():
            old = self.kpis.get(name)
            if old is None or old.value != k.value:
                self.kpis[name] = k
                self._emit(P.KPI_UPDATE, k)
        self._schedule(self.now + self.kpi_interval_s, "kpi")
