"""Domain vocabulary of the command hall, shared by the core, the feeds and the views.

The values of these enums are the wire names of the feed protocol (docs/feed-protocol.md),
so a string read from the wire maps to a member without a lookup table.
Chinese labels live here too because the duty officers speak them; the UI shows them
when the interface language is Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CaseState(StrEnum):
    """Where a case (事件/工单) stands in its life cycle; see lifecycle.py for the moves."""

    DISCOVERED = "discovered"  # 发现: seen by a grid worker or a sensor, not yet reported
    REPORTED = "reported"  # 上报: waiting for the hall to sign for it (待签收)
    SIGNED = "signed"  # 签收: the hall owns it, not yet dispatched
    ASSIGNED = "assigned"  # 交办/派遣: dispatched to a department, township, village or unit
    RETURNED = "returned"  # 退回: the assignee sent it back to the hall with a reason
    HANDLING = "handling"  # 处置: on site, being handled
    COMPLETED = "completed"  # 办结/处理反馈: the assignee reports it done, awaiting verification
    CLOSED = "closed"  # 核查结案: verified and closed by the hall
    CALLED_BACK = "called_back"  # 回访: the reporter was called back
    EVALUATED = "evaluated"  # 评价: the reporter rated the handling; final


# States in which the case is still the hall's business and a time limit runs.
OPEN_STATES: frozenset[CaseState] = frozenset(
    {
        CaseState.DISCOVERED,
        CaseState.REPORTED,
        CaseState.SIGNED,
        CaseState.ASSIGNED,
        CaseState.RETURNED,
        CaseState.HANDLING,
    }
)

STATE_LABELS_ZH: dict[CaseState, str] = {
    CaseState.DISCOVERED: "发现",
    CaseState.REPORTED: "待签收",
    CaseState.SIGNED: "已签收",
    CaseState.ASSIGNED: "已派遣",
    CaseState.RETURNED: "已退回",
    CaseState.HANDLING: "处置中",
    CaseState.COMPLETED: "已办结",
    CaseState.CLOSED: "已结案",
    CaseState.CALLED_BACK: "已回访",
    CaseState.EVALUATED: "已评价",
}


class Urgency(StrEnum):
    URGENT = "urgent"  # 紧急
    NORMAL = "normal"  # 一般


class Source(StrEnum):
    """Where a case came from; each source has its own rhythm and typical categories."""

    HOTLINE = "hotline"  # 12345 市民热线
    GRID_WORKER = "grid_worker"  # 网格员上报
    INSPECTOR = "inspector"  # 城管监督员
    VIDEO = "video"  # 视频/AI 识别
    SENSOR = "sensor"  # 物联感知 (智能井盖, 渣土车)
    OPINION = "opinion"  # 舆情监测


SOURCE_LABELS_ZH: dict[Source, str] = {
    Source.HOTLINE: "12345热线",
    Source.GRID_WORKER: "网格员",
    Source.INSPECTOR: "监督员",
    Source.VIDEO: "视频识别",
    Source.SENSOR: "物联感知",
    Source.OPINION: "舆情",
}


class SlaLevel(StrEnum):
    """Red/yellow/blue warning (红黄蓝三色预警) by how much of the time limit is used."""

    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


class UnitStatus(StrEnum):
    AVAILABLE = "available"  # 空闲
    BUSY = "busy"  # 处置中
    EN_ROUTE = "en_route"  # 赶赴现场
    RETURNING = "returning"  # 返回途中: done with a case, on the way back, free to take another
    OFF_DUTY = "off_duty"  # 下班/休息
    OFFLINE = "offline"  # 设备离线


class UnitKind(StrEnum):
    GRID_WORKER = "grid_worker"  # 专职网格员
    ENFORCEMENT = "enforcement"  # 综合执法队员
    INSPECTOR = "inspector"  # 城管监督员
    VEHICLE = "vehicle"  # 车辆


class AssigneeKind(StrEnum):
    """The level a case is dispatched to (三级调度), or a field unit directly: a person
    (a grid worker, an enforcement officer, an inspector) or a unit (a vehicle); both are
    named by the unit id of the store's ``units``."""

    DEPARTMENT = "department"
    TOWNSHIP = "township"
    VILLAGE = "village"
    UNIT = "unit"
    PERSON = "person"


# Assignee kinds whose ``assignee`` is a unit id (the server sends that unit to the case).
FIELD_ASSIGNEE_KINDS = frozenset({AssigneeKind.UNIT.value, AssigneeKind.PERSON.value})


class Role(StrEnum):
    """Who is acting; decides which actions are allowed (lifecycle.ALLOWED_ROLES)."""

    DUTY_OFFICER = "duty_officer"  # 值班员: signs, dispatches, chases, verifies
    DISPATCHER = "dispatcher"  # 调度员: the same without closing
    LEADER = "leader"  # 领导: supervises (督办), never dispatches
    FIELD = "field"  # 现场人员/承办单位: handles, completes, returns
    VIEWER = "viewer"  # briefing wall: reads only
    SYSTEM = "system"  # the platform itself (reports, call-back robot)


@dataclass(slots=True)
class TimelineEntry:
    """One step in a case's life: who did what, when, and why."""

    ts: float
    action: str
    actor: str
    state: CaseState
    note: str = ""


@dataclass(slots=True)
class Case:
    """A case as the core sees it; the wire form is feeds.protocol.CaseData."""

    id: str
    version: int
    category: str
    source: Source
    urgency: Urgency
    state: CaseState
    township: str
    grid: str
    lon: float
    lat: float
    created_ts: float
    state_ts: float
    title: str = ""
    description: str = ""
    address: str = ""
    assignee: str = ""
    assignee_kind: str = ""
    assigned_ts: float = 0.0
    on_site_ts: float = 0.0
    completed_ts: float = 0.0
    closed_ts: float = 0.0
    supervised: int = 0
    extension_s: float = 0.0
    rating: int = 0
    reporter_name: str = ""
    reporter_phone: str = ""
    # The source system's own deadline (办理时限/截止时间, Open311 expected_datetime);
    # 0 = none, and the hall's SlaPolicy decides (sla.py).
    due_ts: float = 0.0
    timeline: list[TimelineEntry] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
