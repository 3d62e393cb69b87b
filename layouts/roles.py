"""Role profiles: which panels a layout of a role may show and which actions it may take.

Why here and Qt-free: the console greys out what a role may not do, the layout library
refuses a preset that shows a panel its role may not see, and the feed server refuses the
same actions by the token's role. The actions are therefore not listed here but derived
from ``commandcenter.lifecycle.ALLOWED_ROLES``, the table the server checks, so that
console and server cannot disagree (a briefing wall cannot dispatch, here or there).

Panels are plain registry names (``widgets/panels/``). A profile with ``panels=None`` may
show every panel, including ones added later; the read-only roles list what they may
show, so that a panel that acts on cases (a future dispatch desk) is not on a wall by
accident. A name this module does not know is "not allowed" for those roles: safe by
default, and reported so the operator knows why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commandcenter.domain import Role
from commandcenter.lifecycle import ALLOWED_ROLES, Action

# Panels that only show what the store holds: any role may look at them. The map and the
# video panels (widgets/map, widgets/video, being built) are views too: listed so that a
# briefing or a wall layout may show the county map and camera images.
READ_ONLY_PANELS: frozenset[str] = frozenset(
    {
        "overview",
        "sla_tiles",
        "newest_cases",
        "feed_status",
        "alerts",
        "kpis",
        "map",
        "video",
        "video_wall",
        # the insight panels (widgets/insights): views; a click only selects cases
        "ranking",
        "grid_stats",
        "trends",
        "hot_topics",
    }
)

ROLE_LABELS_ZH: dict[Role, str] = {
    Role.DUTY_OFFICER: "值班员",
    Role.DISPATCHER: "调度员",
    Role.LEADER: "领导",
    Role.FIELD: "现场人员",
    Role.VIEWER: "大屏展示",
    Role.SYSTEM: "系统",
}


@dataclass(frozen=True, slots=True)
class RoleProfile:
    """What a layout bound to ``role`` may show and do."""

    role: Role
    panels: frozenset[str] | None  # None: every panel
    actions: frozenset[Action]
    label_zh: str

    def allows_panel(self, panel_type: str) -> bool:
        return self.panels is None or panel_type in self.panels

    def allows_action(self, action: Action | str) -> bool:
        try:
            return Action(action) in self.actions
        except ValueError:
            return False

    @property
    def read_only(self) -> bool:
        return not self.actions


def actions_for(role: Role) -> frozenset[Action]:
    """The lifecycle actions ``role`` may take: exactly what the server will accept."""
    return frozenset(a for a, roles in ALLOWED_ROLES.items() if role in roles)


def _panels_for(role: Role) -> frozenset[str] | None:
    if role in (Role.DUTY_OFFICER, Role.DISPATCHER, Role.SYSTEM):
        return None  # the hall's own consoles: every panel
    return READ_ONLY_PANELS  # leader, field, viewer: look, do not dispatch from a panel


PROFILES: dict[Role, RoleProfile] = {
    role: RoleProfile(role, _panels_for(role), actions_for(role), ROLE_LABELS_ZH[role])
    for role in Role
}


def profile(role: Role | str) -> RoleProfile:
    """The profile of a role (by member or wire name); ValueError for an unknown role."""
    return PROFILES[Role(role)]


def may(role: Role | str, action: Action | str) -> bool:
    """Whether ``role`` may take ``action``: the console's answer, the server's rule."""
    return profile(role).allows_action(action)


@dataclass(frozen=True, slots=True)
class RoleProblem:
    """A panel of a layout that its role may not show (or a role that does not exist)."""

    panel_id: str
    panel_type: str
    reason: str


def check_layout(doc: dict[str, Any]) -> list[RoleProblem]:
    """Every panel of a layout document its role does not allow; empty when all is well.

    A layout without a role is a duty-officer layout (the schema's default); an unknown
    role is one problem naming it (nothing can be allowed for a role nobody defined).
    """
    role_name = doc.get("role") or Role.DUTY_OFFICER.value
    try:
        prof = profile(role_name)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        return [RoleProblem("", "", f"unknown role {role_name!r} (known: {known})")]
    problems: list[RoleProblem] = []
    for pid, spec in (doc.get("panels") or {}).items():
        ptype = str((spec or {}).get("type", ""))
        if not prof.allows_panel(ptype):
            problems.append(
                RoleProblem(
                    pid, ptype, f"role {prof.role.value} ({prof.label_zh}) may not show {ptype!r}"
                )
            )
    return problems
