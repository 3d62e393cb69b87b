"""Who should take this case: the responsible department, the area, the nearest free unit.

The dispatch dialog (派遣) asks two questions and this module answers both without Qt:

- **Which level and which body?** ``suggest_departments`` reads the county's own map of
  category -> responsible department (GET /v1/geography, ``categories``) and its usual
  way of handling (``dispatch``: ``department``, ``township`` or ``unit``), then adds the
  case's township and village/community (三级调度: county department, township,
  village). Each suggestion says why, because an officer who does not see why a body is
  suggested will not trust the list.
- **Which person or vehicle, if one should go there?** ``nearest_units`` ranks the field
  units in the store by availability first (idle, then returning from a case, then busy
  or already on the way to another: an officer sends the free worker 0.8 km off, not the
  one driving to a case 26 km away), then by ETA, vectorised over all units with numpy (a
  county has ~150; the same code serves thousands). The ETA is an estimate, not routing:
  the straight-line distance times ``ROAD_FACTOR`` at the unit kind's usual speed. Each
  suggestion carries what its reason line needs (status, distance, ETA, same grid or
  township, the case it is busy with).

Assignees are sent by name for departments, townships and villages, as the reference
county does (``assignee`` is free text on the wire and the timeline shows it as is), and
by unit id for people (``assignee_kind`` ``person``: grid workers, enforcement officers,
inspectors) and vehicles (``unit``); the server sends that unit to the case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from commandcenter.domain import AssigneeKind, UnitKind, UnitStatus

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
# The detour factor: roads are ~1.3x the crow's flight in a county like Pingding (the
# usual circuity of rural and small-town road networks is 1.2 to 1.4).
ROAD_FACTOR = 1.3
# Travel speeds by unit kind, m/s (what the reference county's units drive or ride at).
SPEED_MPS: dict[str, float] = {
    UnitKind.VEHICLE.value: 12.0,
    UnitKind.ENFORCEMENT.value: 9.0,
    UnitKind.GRID_WORKER.value: 4.5,
    UnitKind.INSPECTOR.value: 4.5,
}
DEFAULT_SPEED_MPS = 4.5
# Availability tiers, best first: idle, then on the way back from a case (free, a little
# further), then busy or on the way to another case (sending them takes them off it).
# Units in other states (off duty, offline) cannot go and are left out.
DEFAULT_STATUSES: dict[str, int] = {
    UnitStatus.AVAILABLE.value: 0,
    UnitStatus.RETURNING.value: 1,
    UnitStatus.BUSY.value: 2,
    UnitStatus.EN_ROUTE.value: 2,
}
# Unit kinds that are one person (assignee_kind "person"); the others are vehicles ("unit").
PERSON_KINDS = frozenset(
    {UnitKind.GRID_WORKER.value, UnitKind.ENFORCEMENT.value, UnitKind.INSPECTOR.value}
)


# Why a body is suggested: code -> (Chinese, English), filled from ``Reason.fields``.
REASON_TEXTS: dict[str, tuple[str, str]] = {
    "responsible": (
        "职责部门：{category} → {department}",
        "Responsible: {category} → {department}",
    ),
    "full_name": ("{name}", "{name}"),
    "field_units": (
        "通常派现场力量处置：见最近可用单元",
        "Usually handled on site: see the nearest free people and vehicles",
    ),
    "area": ("属地：案件位于{town}", "Area: the case is in {town}"),
    "local_matter": (
        "{category}按属地管理，由乡镇（街道）牵头",
        "{category} is a local matter: the township leads",
    ),
    "unknown_category": (
        "类别“{category}”不在本县职责清单中，先交属地",
        "“{category}” is not in the county's list of duties: to the area first",
    ),
    "village": ("属地村（社区）：{village}（{grid}）", "Village (community): {village} ({grid})"),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a body is suggested: a ``REASON_TEXTS`` code and its fields (names from
    the county's geography, shown as they are)."""

    code: str
    fields: tuple[tuple[str, str], ...] = ()

    def text(self, chinese: bool = True) -> str:
        zh, en = REASON_TEXTS[self.code]
        return (zh if chinese else en).format(**dict(self.fields))

    def __str__(self) -> str:
        return self.text(True)


def _reason(code: str, **fields: str) -> Reason:
    return Reason(code, tuple(fields.items()))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One body to dispatch to, with the ``assign`` parameters and the reasons."""

    assignee: str  # the value of params["assignee"]
    assignee_kind: AssigneeKind
    name: str  # for people (the same as assignee for named bodies)
    code: str  # the geography's code, when it has one
    score: float  # higher first; only the order matters
    reasons: tuple[Reason, ...]

    @property
    def params(self) -> dict[str, str]:
        """Ready for ``Outbox.enqueue(..., "assign", ..., params)``."""
        return {"assignee": self.assignee, "assignee_kind": self.assignee_kind.value}


class UnitSuggestion(NamedTuple):
    """A person or vehicle to send, with what its reason line says (``near``: ``"grid"``
    when the unit belongs to the case's grid, ``"township"`` to its township, else ``""``;
    ``case_id``: the case it is busy with or driving to)."""

    unit_id: str
    name: str
    distance_m: float  # great-circle, metres
    status: str  # a UnitStatus value
    eta_min: float  # distance x ROAD_FACTOR at the kind's speed
    kind: str = ""  # a UnitKind value
    near: str = ""
    case_id: str = ""

    @property
    def assignee_kind(self) -> AssigneeKind:
        return AssigneeKind.PERSON if self.kind in PERSON_KINDS else AssigneeKind.UNIT

    @property
    def params(self) -> dict[str, str]:
        """Ready for ``Outbox.enqueue(..., "assign", ..., params)``."""
        return {"assignee": self.unit_id, "assignee_kind": self.assignee_kind.value}


def haversine_m(
    lon1: Any, lat1: Any, lon2: Any, lat2: Any, radius: float = EARTH_RADIUS_M
) -> np.ndarray:
    """Great-circle distance in metres; broadcasts over numpy arrays."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(x, dtype=np.float64)) for x in (lon1, lat1, lon2, lat2)
    )
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _by(items: Any, key: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for it in items or []:
        if isinstance(it, Mapping) and key in it:
            out[str(it[key])] = it
    return out


def suggest_departments(
    category: str,
    township: str,
    geography: Mapping[str, Any],
    *,
    grid: str = "",
) -> list[Suggestion]:
    """Bodies to dispatch a case to, best first, each with its reasons.

    ``township`` and ``grid`` are the case's codes (as on the wire); ``grid`` adds the
    village/community level. The category's responsible department comes from the
    geography's map; its ``dispatch`` mode decides whether the department (``department``,
    ``unit``: the department's field units, see ``nearest_units``) or the township
    (``township``: 属地管理, e.g. disputes and requests for help) leads.
    An unknown category still gets the township and village (属地 first).
    """
    categories = _by(geography.get("categories"), "name")
    departments = _by(geography.get("departments"), "name")
    townships = _by(geography.get("townships"), "code")
    grids = _by(geography.get("grids"), "code")
    cat = categories.get(category)
    mode = str(cat.get("dispatch", "department")) if cat else ""
    town = townships.get(township)
    town_name = str(town["name"]) if town and "name" in town else ""
    g = grids.get(grid) if grid else None
    village = str(g.get("community", "")) if g else ""

    out: list[Suggestion] = []
    if cat is not None:
        dept_name = str(cat.get("department", ""))
        dept = departments.get(dept_name)
        reasons = [_reason("responsible", category=category, department=dept_name)]
        if dept and dept.get("full_name"):
            reasons.append(_reason("full_name", name=str(dept["full_name"])))
        if mode == "unit":
            reasons.append(_reason("field_units"))
        score = 100.0 if mode in ("department", "unit") else 80.0
        if dept_name:
            out.append(
                Suggestion(
                    assignee=dept_name,
                    assignee_kind=AssigneeKind.DEPARTMENT,
                    name=dept_name,
                    code=str(dept.get("code", "")) if dept else "",
                    score=score,
                    reasons=tuple(reasons),
                )
            )
    if town_name:
        reasons = [_reason("area", town=town_name)]
        if mode == "township":
            reasons.insert(0, _reason("local_matter", category=category))
            score = 100.0
        elif cat is None:
            reasons.insert(0, _reason("unknown_category", category=category))
            score = 90.0
        else:
            score = 60.0
        out.append(
            Suggestion(
                assignee=town_name,
                assignee_kind=AssigneeKind.TOWNSHIP,
                name=town_name,
                code=township,
                score=score,
                reasons=tuple(reasons),
            )
        )
    if village:
        grid_name = str(g.get("name", grid)) if g else grid
        reasons = [_reason("village", village=village, grid=grid_name)]
        score = 70.0 if mode == "township" else (85.0 if cat is None else 40.0)
        out.append(
            Suggestion(
                assignee=village,
                assignee_kind=AssigneeKind.VILLAGE,
                name=village,
                code=grid,
                score=score,
                reasons=tuple(reasons),
            )
        )
    out.sort(key=lambda s: -s.score)  # stable: ties keep department, township, village
    return out


def nearest_units(
    store: Any,
    lon: float,
    lat: float,
    k: int = 5,
    statuses: Mapping[str, int] | Sequence[UnitStatus | str] = DEFAULT_STATUSES,
    *,
    kinds: Iterable[UnitKind | str] | None = None,
    township: str = "",
    grid: str = "",
) -> list[UnitSuggestion]:
    """The ``k`` best units to send to (lon, lat): by availability tier (``statuses``: a
    status -> tier mapping, or statuses in order, one tier each; units in a status not
    listed are left out), then by ETA (a vehicle 3 km off can beat a walker 1 km off),
    then by distance. ``kinds`` restricts the unit kinds (e.g. enforcement and vehicles);
    ``township`` and ``grid`` (the case's codes) mark units of the same area.

    ``store``: anything with ``units`` mapping id -> record with ``lon``, ``lat`` and a
    ``status`` payload (``name``, ``kind``, ``status``, ``township``, ``grid``,
    ``case_id``), i.e. ``commandcenter.store.Store``. Units whose status is not known yet
    are left out: nobody can say they can go.
    """
    if isinstance(statuses, Mapping):
        rank = {str(s): int(t) for s, t in statuses.items()}
    else:
        rank = {str(s): i for i, s in enumerate(statuses)}
    wanted_kinds = None if kinds is None else {str(x) for x in kinds}
    recs = []
    for rec in store.units.values():
        st = rec.status
        if st is None or str(st.status) not in rank:
            continue
        if wanted_kinds is not None and str(st.kind) not in wanted_kinds:
            continue
        recs.append(rec)
    if not recs or k <= 0:
        return []
    ulon = np.fromiter((r.lon for r in recs), dtype=np.float64, count=len(recs))
    ulat = np.fromiter((r.lat for r in recs), dtype=np.float64, count=len(recs))
    status_rank = np.fromiter(
        (rank[str(r.status.status)] for r in recs), dtype=np.int64, count=len(recs)
    )
    speed = np.fromiter(
        (SPEED_MPS.get(str(r.status.kind), DEFAULT_SPEED_MPS) for r in recs),
        dtype=np.float64,
        count=len(recs),
    )
    dist = haversine_m(lon, lat, ulon, ulat)
    eta_min = dist * ROAD_FACTOR / speed / 60.0
    order = np.lexsort((dist, eta_min, status_rank))[:k]  # last key is primary
    out: list[UnitSuggestion] = []
    for i in order.tolist():
        st = recs[i].status
        out.append(
            UnitSuggestion(
                unit_id=str(recs[i].id),
                name=str(st.name),
                distance_m=float(dist[i]),
                status=str(st.status),
                eta_min=float(eta_min[i]),
                kind=str(st.kind),
                near=_near(st, township, grid),
                case_id=str(getattr(st, "case_id", "") or ""),
            )
        )
    return out


def _near(status: Any, township: str, grid: str) -> str:
    if grid and str(getattr(status, "grid", "") or "") == grid:
        return "grid"
    if township and str(getattr(status, "township", "") or "") == township:
        return "township"
    return ""
