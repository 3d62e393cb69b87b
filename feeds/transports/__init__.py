"""Ways other than our own SSE stream to get protocol events into the store.

``feeds.client.FeedClient`` speaks feed protocol v1 over HTTP/SSE. The transports here
feed the *same* sink (``feeds.client.FeedSink``: the Store, or a journal Recorder) and the
same ``commandcenter.status.FeedStatus``, so panels, badges and the journal cannot tell
where events came from:

- ``feeds.transports.mqtt``: envelopes published to a broker (``cc/v1/{county}/...``);
- ``Sequencer`` below: adapters that read a foreign format (Open311, Cursor-on-Target)
  number their events locally and hand them over.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any

from commandcenter.status import FeedStatus, LinkState
from feeds import protocol
from feeds.client import FeedSink

# What adapters produce and ``feeds.serve.hub.Hub.publish`` takes: (kind, payload struct, ts).
RawEvent = tuple[str, Any, float]


class Sequencer:
    """Numbers adapter events and applies them to a sink, as a feed server would.

    Why: the store dedupes by ``seq`` and the journal orders by it, so events from a source
    without sequence numbers get them here, under an epoch of their own.
    """

    def __init__(self, sink: FeedSink, status: FeedStatus | None = None, epoch: str = "") -> None:
        self.sink = sink
        self.status = status or FeedStatus()
        self.last_change: Any = None  # what the sink's last apply returned (a ChangeSet)
        if not sink.epoch:
            sink.reset(
                protocol.Snapshot(
                    v=protocol.PROTOCOL_VERSION,
                    epoch=epoch or f"local-{secrets.token_hex(6)}",
                    seq=0,
                    now=time.time(),
                    rate=1.0,
                )
            )

    def publish(self, events: Iterable[RawEvent]) -> int:
        """Apply (kind, data, ts) in order; returns the sink's seq afterwards."""
        seq = self.sink.seq
        batch: list[protocol.Event] = []
        for kind, data, ts in events:
            seq += 1
            batch.append(protocol.Event(seq=seq, kind=kind, ts=ts, data=data))
        if batch:
            self.last_change = self.sink.apply(batch)
            self.status.received += len(batch)
            self.status.applied += len(batch)
            self.status.last_data_at = time.time()
            if self.status.state is not LinkState.LIVE:
                self.status.set_state(LinkState.LIVE)
            else:
                self.status.notify()
        return self.sink.seq

    def report(self, reason: str, detail: str) -> None:
        """A foreign record we could not use: counted and kept for the operator to see."""
        self.status.quarantine(reason, detail)
