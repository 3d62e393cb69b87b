"""KPI history for sparklines, and what each KPI of the feed means, for tooltips.

The feed sends KPIs as current values only (``kpi.update``); a tile that shows a trend
must remember the values itself. ``KpiHistory`` keeps the last ``capacity`` values of
each KPI in a ring buffer, fed from the store's change sets (only the KPIs a change set
names, so an unchanged KPI does not repeat its value ``capacity`` times in a minute).

``DEFINITIONS`` says precisely how the reference feed (the demo county,
``feeds/serve/simulator/world.py`` ``_compute_kpis``) computes each number. A different feed
may compute them differently: the tooltip says it is the reference definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    zh: str
    en: str


DEFINITIONS: dict[str, KpiDefinition] = {
    "closure_rate": KpiDefinition(
        "结案率 = 累计结案数 ÷ 累计立案数 × 100%（含平台上线以来的历史基数）；目标 ≥ 95%。",
        "Closure rate = cases closed ÷ cases filed × 100%, cumulative since the platform "
        "started (historic base included); target ≥ 95%.",
    ),
    "on_time_rate": KpiDefinition(
        "按期办结率 = 近 24 小时内结案的案件中在时限内办结的比例 × 100%"
        "（无结案时显示 96%）；目标 ≥ 95%。",
        "On-time rate = share of the cases closed in the last 24 hours that were handled "
        "within their limit × 100% (96% when none closed); target ≥ 95%.",
    ),
    "open_urgent": KpiDefinition(
        "紧急在办 = 当前未办结（发现、待签收、已签收、已派遣、退回、处置中）的紧急案件数。",
        "Urgent open = urgent cases not yet completed now (discovered, reported, signed, "
        "assigned, returned or handling).",
    ),
    "overdue_now": KpiDefinition(
        "当前超期 = 在办案件中：未派遣且超过签收派遣时限，或（紧急）未到场且超过到场时限，"
        "或超过处置时限（含延期）的案件数。",
        "Overdue now = open cases past a limit: not assigned after the sign-and-assign "
        "limit, or (urgent) not on site after the arrival limit, or past the handling "
        "limit plus any extension.",
    ),
    "open_cases": KpiDefinition(
        "在办案件 = 当前处于发现、待签收、已签收、已派遣、退回、处置中的案件数。",
        "Open cases = cases now discovered, reported, signed, assigned, returned or handling.",
    ),
    "satisfaction": KpiDefinition(
        "满意率 = 近 7 天回访评价中 4–5 分的比例 × 100%（无评价时显示 92%）；目标 ≥ 90%。",
        "Satisfaction = share of the call-back ratings of the last 7 days that were 4 or 5 "
        "× 100% (92% when none); target ≥ 90%.",
    ),
    "online_completion": KpiDefinition(
        "网上办结率 = 政务服务事项网上办结的比例，由政务服务平台报送"
        "（演示数据在 95.5%–95.8% 间模拟）；目标 ≥ 95%。",
        "Online completion = share of government services completed online, reported by "
        "the services platform (simulated between 95.5% and 95.8% in the demo); target ≥ 95%.",
    ),
    "cases_today": KpiDefinition(
        "今日受理 = 今日（本地零点起）立案的案件数。",
        "Filed today = cases filed since local midnight.",
    ),
    "closed_today": KpiDefinition(
        "今日结案 = 今日（本地零点起）结案的案件数。",
        "Closed today = cases closed since local midnight.",
    ),
    "units_on_duty": KpiDefinition(
        "在岗力量 = 状态不是“下班”的执法队员和网格员人数。",
        "Staff on duty = field units whose status is anything but off duty.",
    ),
    "camera_online_rate": KpiDefinition(
        "视频在线率 = 在线摄像头数 ÷ 摄像头总数 × 100%；目标 ≥ 98%。",
        "Cameras online = cameras online ÷ all cameras × 100%; target ≥ 98%.",
    ),
}


def definition(name: str, chinese: bool) -> str:
    """The definition text of a KPI in one language ("" for an unknown KPI)."""
    d = DEFINITIONS.get(name)
    if d is None:
        return ""
    return d.zh if chinese else d.en


class KpiHistory:
    """The last ``capacity`` (timestamp, value) samples of each KPI.

    ``follow(store)`` subscribes to the store and returns the unsubscribe; a reset (new
    snapshot) keeps the history (the values are still true of their time) and adds the
    snapshot's values.
    """

    def __init__(self, capacity: int = 120, clock: Callable[[], float] | None = None) -> None:
        if capacity < 2:
            raise ValueError("a sparkline needs at least two samples")
        self.capacity = capacity
        self._clock = clock
        self._ts: dict[str, np.ndarray] = {}
        self._val: dict[str, np.ndarray] = {}
        self._count: dict[str, int] = {}

    def add(self, name: str, value: float, ts: float) -> None:
        if name not in self._val:
            self._ts[name] = np.zeros(self.capacity)
            self._val[name] = np.zeros(self.capacity)
            self._count[name] = 0
        i = self._count[name] % self.capacity
        self._ts[name][i] = ts
        self._val[name][i] = value
        self._count[name] += 1

    def samples(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, values), oldest first; empty arrays for an unknown KPI."""
        n = self._count.get(name, 0)
        if not n:
            return np.zeros(0), np.zeros(0)
        if n <= self.capacity:
            return self._ts[name][:n].copy(), self._val[name][:n].copy()
        i = n % self.capacity
        order = np.r_[i : self.capacity, 0:i]
        return self._ts[name][order], self._val[name][order]

    def names(self) -> list[str]:
        return list(self._val)

    def __len__(self) -> int:
        return len(self._val)

    def take(self, kpis: dict[str, Any], names: Iterable[str], ts: float) -> None:
        """Record the current values of ``names`` from a store's ``kpis``."""
        for name in names:
            kpi = kpis.get(name)
            if kpi is None:
                continue
            try:
                self.add(name, float(kpi.value), ts)
            except (TypeError, ValueError):
                continue

    def follow(self, store: Any) -> Callable[[], None]:
        """Record every KPI a change set of ``store`` names; returns the unsubscribe."""

        def now() -> float:
            if self._clock is not None:
                return self._clock()
            return float(store.clock.now())

        self.take(store.kpis, list(store.kpis), now())

        def on_change(cs: Any) -> None:
            names = list(store.kpis) if cs.reset else list(cs.kpis)
            if names:
                self.take(store.kpis, names, now())

        return store.subscribe(on_change)
