"""What the adapter sources (Open311, CoT, files) share: a supervised task.

They reuse ``feeds.client.FeedLink``, the base of the v1 client and the MQTT transport:
``start``/``stop``, a task that runs until stopped, and a supervisor that turns anything
unforeseen into a counted cause in the source's own status, a log line and a restart
after a back-off, so one broken source never ends silently nor takes the others along.
Events are numbered by ``feeds.transports.Sequencer`` under an epoch of the source's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from commandcenter.status import FeedStatus
from feeds.client import FeedLink, FeedSink


@dataclass(slots=True)
class TaskConfig:
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    stale_after: float = float("inf")  # adapters have no heartbeat: silence is not staleness


class TaskSource(FeedLink):
    def __init__(
        self, sink: FeedSink, status: FeedStatus, config: TaskConfig | None = None
    ) -> None:
        super().__init__(config or TaskConfig(), sink, status, None)
