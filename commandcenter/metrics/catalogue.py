"""What each number of the hall means: one entry per metric, read by every consumer.

A metric is either a **count** of cases (its population), or a **rate**: the share of a
population (the denominator) that meets a condition (the numerator), in percent. A few
metrics count field units or cameras rather than cases. Each says over which cases it
is taken (``population``), over which window (whole local days of the hall's zone; none
for a stock such as "open now", which is taken "as of"), its unit, its target and which
direction is good, and the minimum sample below which a rate is not shown as a number
(three ratings do not make a satisfaction rate).

The populations are named conditions the engine evaluates (``engine.POPULATIONS``); the
texts are what tooltips and the PDF's footnotes print, so they must say exactly what the
engine does.
"""

from __future__ import annotations

from dataclasses import dataclass

from commandcenter.metrics.windows import LAST_7_DAYS, TODAY, Window

UP = "up"  # higher is better (target is a floor)
DOWN = "down"  # lower is better (target is a ceiling)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label_zh: str
    label_en: str
    kind: str  # "count" | "rate" | "units" | "cameras"
    numerator: str  # population counted (count) or meeting the condition (rate)
    denominator: str = ""  # rate only: the population the share is taken of
    window: Window | None = None  # None: a stock, "as of" now
    unit: str = "件"
    target: float | None = None
    direction: str | None = None
    min_sample: int = 0
    formula_zh: str = ""
    formula_en: str = ""

    @property
    def is_rate(self) -> bool:
        return self.kind in ("rate", "cameras")

    def label(self, chinese: bool) -> str:
        return self.label_zh if chinese else self.label_en

    def formula(self, chinese: bool) -> str:
        return self.formula_zh if chinese else self.formula_en

    def meets(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; None without a target or a value."""
        if value is None or self.target is None or self.direction is None:
            return None
        return value >= self.target if self.direction == UP else value <= self.target


_OPEN_ZH = "在办（发现、待签收、已签收、已派遣、退回、处置中）"
_OPEN_EN = "open (discovered, to sign, signed, dispatched, returned, handling)"
_OVERDUE_ZH = "超过当前环节时限（签收派遣、到场或处置时限含延期）"
_OVERDUE_EN = "past the limit of its current step (sign and assign, arrive, or handle + extension)"

CATALOGUE: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "open_cases", "在办案件", "Open cases", "count", "open",
            formula_zh=f"当前{_OPEN_ZH}的案件数。",
            formula_en=f"Cases {_OPEN_EN} now.",
        ),
        Metric(
            "open_urgent", "紧急在办", "Urgent open", "count", "open_urgent",
            formula_zh=f"当前{_OPEN_ZH}的紧急案件数。",
            formula_en=f"Urgent cases {_OPEN_EN} now.",
        ),
        Metric(
            "overdue_now", "当前超期", "Overdue now", "count", "overdue",
            target=0.0, direction="down",
            formula_zh=f"在办案件中{_OVERDUE_ZH}的案件数。",
            formula_en=f"Open cases {_OVERDUE_EN}.",
        ),
        Metric(
            "sla_red", "红色预警", "Red warning", "count", "red",
            formula_zh="在办案件中已用时限 ≥ 红色阈值（默认 80%）的案件数，含已超期的。",
            formula_en="Open cases that have used at least the red share (80% by default) of "
            "their time limit, overdue ones included.",
        ),
        Metric(
            "sla_yellow", "黄色预警", "Yellow warning", "count", "yellow",
            formula_zh="在办案件中已用时限在黄色与红色阈值之间（默认 50%–80%）的案件数。",
            formula_en="Open cases between the yellow and red shares (50-80% by default) of "
            "their time limit.",
        ),
        Metric(
            "sla_blue", "蓝色提示", "Blue", "count", "blue",
            formula_zh="在办案件中已用时限低于黄色阈值（默认 50%）的案件数。",
            formula_en="Open cases below the yellow share (50% by default) of their limit.",
        ),
        Metric(
            "cases_today", "今日受理", "Filed today", "count", "received", window=TODAY,
            formula_zh="窗口内（本地零点起）立案的案件数。",
            formula_en="Cases filed in the window (from local midnight).",
        ),
        Metric(
            "closed_today", "今日结案", "Closed today", "count", "closed_in_window",
            window=TODAY,
            formula_zh="结案时间在窗口内的案件数（不论何时立案）。",
            formula_en="Cases whose closing time lies in the window (whenever filed).",
        ),
        Metric(
            "closure_rate", "结案率", "Closure rate", "rate", "closed", "received",
            window=LAST_7_DAYS, unit="%", target=95.0, direction=UP, min_sample=10,
            formula_zh="窗口内立案的案件中已结案（结案、已回访、已评价）的比例 × 100%。",
            formula_en="Share of the cases filed in the window that are closed (closed, "
            "called back or evaluated) × 100%.",
        ),
        Metric(
            "on_time_rate", "按期办结率", "Closed on time", "rate", "on_time", "due",
            window=LAST_7_DAYS, unit="%", target=95.0, direction=UP, min_sample=10,
            formula_zh="窗口内立案的案件中：按期办结数 ÷（已办结数 + 在办已超期数）× 100%；"
            "按期 = 办结时间不晚于案件自带的办理时限（如导入的截止时间），"
            "没有时为立案时间 + 处置时限 + 延期。",
            formula_en="Of the cases filed in the window: completed on time ÷ (completed + "
            "open and overdue) × 100%; on time = completed by the case's own due date "
            "(e.g. an import's deadline), else by filing + handling limit + extension.",
        ),
        Metric(
            "satisfaction", "满意率", "Satisfaction", "rate", "satisfied", "rated",
            window=LAST_7_DAYS, unit="%", target=90.0, direction=UP, min_sample=5,
            formula_zh="窗口内立案且已回访评价（1–5 分）的案件中评 4–5 分的比例 × 100%。",
            formula_en="Share of the cases filed in the window and rated (1-5) that were "
            "rated 4 or 5 × 100%.",
        ),
        Metric(
            "units_on_duty", "在岗力量", "Staff on duty", "units", "on_duty", unit="人",
            formula_zh="状态不是“下班”的执法队员和网格员人数。",
            formula_en="Field units whose status is anything but off duty.",
        ),
        Metric(
            "camera_online_rate", "视频在线率", "Cameras online", "cameras", "online",
            "cameras", unit="%", target=98.0, direction=UP, min_sample=1,
            formula_zh="在线摄像头数 ÷ 摄像头总数 × 100%。",
            formula_en="Cameras online ÷ all cameras × 100%.",
        ),
    )
}  # fmt: skip

# The KPI tiles of the hall, in their default order (the demo platform reports the same).
KPI_TILES: tuple[str, ...] = (
    "closure_rate",
    "on_time_rate",
    "open_urgent",
    "overdue_now",
    "open_cases",
    "satisfaction",
    "cases_today",
    "closed_today",
    "units_on_duty",
    "camera_online_rate",
)

# Figures only the platform knows (no case of ours stands behind them): shown as the
# platform's, never beside a number of ours.
PLATFORM_ONLY: dict[str, tuple[str, str]] = {
    "online_completion": (
        "政务服务事项网上办结的比例，由政务服务平台报送。",
        "Share of government services completed online, as the services platform reports it.",
    ),
}


def metric(name: str) -> Metric:
    """The catalogue entry; KeyError names the known metrics."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(CATALOGUE)}") from None
