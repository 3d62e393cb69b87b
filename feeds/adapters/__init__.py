"""Importers that turn other systems' records into feed-protocol events.

Real data comes in other shapes (NYC 311 exports here; Open311 or a county's own work-order
system later). An adapter maps each record to ``feeds.protocol.CaseData`` with the
timeline the record implies, reports every record it cannot use with a reason instead of
failing, and replays the result as protocol envelopes in time order, so that anything
downstream (the store, the ranking, a feed server) cannot tell it from a live feed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record an adapter could not use: where it was, its key, and why."""

    where: str  # file name and record number (1-based, header not counted)
    key: str  # the record's own id when it has one
    reason: str  # a short code, e.g. ``closed_before_created``
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Version:
    """One state of an imported case: the event kind, its time, the record, extra fields."""

    kind: str  # case.created | case.updated
    ts: float
    case: Any  # feeds.protocol.CaseData
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Imported:
    """What an adapter read: the cases (each as its versions) and the records it skipped."""

    cases: list[list[Version]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    read: int = 0  # records seen

    def reasons(self) -> Counter[str]:
        return Counter(s.reason for s in self.skipped)

    def extend(self, other: Imported) -> None:
        self.cases.extend(other.cases)
        self.skipped.extend(other.skipped)
        self.read += other.read
