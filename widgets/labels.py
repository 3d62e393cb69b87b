"""The words a panel shows for the domain's codes (life-cycle state, source, link state),
in the UI's language. One module, so that every panel says 处置中 / Handling for the same
state: the Chinese labels live beside the codes in the core (commandcenter.domain,
commandcenter.status), the English ones here."""

from __future__ import annotations

from commandcenter.domain import SOURCE_LABELS_ZH, STATE_LABELS_ZH, CaseState, Source
from commandcenter.status import LINK_LABELS_ZH, LinkState
from widgets.i18n import is_chinese

# English labels of domain words; the Chinese ones live in commandcenter.domain/status.
STATE_LABELS_EN: dict[CaseState, str] = {
    CaseState.DISCOVERED: "Discovered",
    CaseState.REPORTED: "To sign",
    CaseState.SIGNED: "Signed",
    CaseState.ASSIGNED: "Dispatched",
    CaseState.RETURNED: "Returned",
    CaseState.HANDLING: "Handling",
    CaseState.COMPLETED: "Completed",
    CaseState.CLOSED: "Closed",
    CaseState.CALLED_BACK: "Called back",
    CaseState.EVALUATED: "Evaluated",
}
SOURCE_LABELS_EN: dict[Source, str] = {
    Source.HOTLINE: "12345 hotline",
    Source.GRID_WORKER: "Grid worker",
    Source.INSPECTOR: "Inspector",
    Source.VIDEO: "Video AI",
    Source.SENSOR: "IoT sensor",
    Source.OPINION: "Public opinion",
}
LINK_LABELS_EN: dict[LinkState, str] = {
    LinkState.CONNECTING: "Connecting",
    LinkState.LIVE: "Live",
    LinkState.STALE: "Stale",
    LinkState.RECONNECTING: "Reconnecting",
    LinkState.STOPPED: "Stopped",
}


def state_label(state: str) -> str:
    try:
        s = CaseState(state)
    except ValueError:
        return str(state)
    return STATE_LABELS_ZH[s] if is_chinese() else STATE_LABELS_EN[s]


def source_label(source: str) -> str:
    try:
        s = Source(source)
    except ValueError:
        return str(source)
    return SOURCE_LABELS_ZH[s] if is_chinese() else SOURCE_LABELS_EN[s]


def link_label(state: LinkState) -> str:
    return LINK_LABELS_ZH[state] if is_chinese() else LINK_LABELS_EN[state]
