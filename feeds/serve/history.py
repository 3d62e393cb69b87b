"""Bounded history (``GET /v1/history``): the feed's past since a time T, from the resume window.

Why keyframes: the resume window holds events, and events alone cannot show the county
as it was at T (a case untouched since yesterday is in no event of the last hour). So the
hub keeps, next to the ring, a few **keyframes**: the whole state after some ``seq``, as a
shallow copy of its dictionaries. Records are replaced, never changed, once published
(the hub copies the cameras the world mutates), so a keyframe shares every record with the
live state and costs a dictionary entry per entity, not a copy of the records.

A history answer is a keyframe at or before T (``base``) and the events after it, in
pages of at most ``PAGE_EVENTS`` events or ``PAGE_BYTES`` bytes of events. Keyframes are
only kept while every event after them is still in the window, so an answer is always
complete from its base; a T older than the oldest keyframe is answered 416 with the range
that is available (docs/feed-protocol.md, section 4a).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from feeds import protocol as P

if TYPE_CHECKING:
    from feeds.serve.hub import FeedState, Hub

PAGE_EVENTS = 20_000  # events in one history answer at most ...
PAGE_BYTES = 4 << 20  # ... and bytes of encoded events (the base snapshot comes on top)
KEYFRAME_EVERY = 5_000  # a keyframe after this many events ...
KEYFRAME_INTERVAL_S = 900.0  # ... or this much feed time, whichever comes first
KEYFRAMES_MAX = 64  # beyond it the closest pair is thinned out: memory stays bounded


@dataclass(slots=True)
class Keyframe:
    seq: int  # the state is the fold of every event up to and including this seq
    ts: float  # the feed clock when it was taken: the state "as of" this time
    state: FeedState


class Keyframes:
    """The states a history can start from, oldest first, never older than the window."""

    def __init__(
        self,
        every: int = KEYFRAME_EVERY,
        interval_s: float = KEYFRAME_INTERVAL_S,
        most: int = KEYFRAMES_MAX,
    ) -> None:
        if every < 1 or interval_s <= 0 or most < 2:
            raise ValueError("keyframes need every >= 1, interval_s > 0, most >= 2")
        self.every = every
        self.interval_s = interval_s
        self.most = most
        self.frames: list[Keyframe] = []

    def before_publish(self, hub: Hub) -> None:
        """Called by ``Hub.publish`` before it numbers a batch: the state then is exactly
        "after ``hub.seq`` as of ``hub.now``", so that is when one is taken."""
        frames = self.frames
        last = frames[-1] if frames else None
        if last is not None and (
            last.seq == hub.seq
            or (hub.seq - last.seq < self.every and hub.now - last.ts < self.interval_s)
        ):
            return
        frames.append(Keyframe(hub.seq, hub.now, hub.state.copy()))
        if len(frames) > self.most:
            self._thin()
        self.drop_outside(hub.first_seq)

    def _thin(self) -> None:
        """Remove the keyframe whose neighbours are closest (never the oldest or newest):
        the range stays as long as it was, the spacing a little coarser."""
        f = self.frames
        i = min(range(1, len(f) - 1), key=lambda k: f[k + 1].seq - f[k - 1].seq)
        del f[i]

    def drop_outside(self, first_seq: int) -> None:
        """Forget keyframes some event after which has left the window."""
        f = self.frames
        keep = 0
        while keep < len(f) and f[keep].seq < first_seq - 1:
            keep += 1
        if keep:
            del f[:keep]

    def at_or_before(self, ts: float, max_seq: int) -> Keyframe | None:
        """The newest keyframe as of feed time ``ts`` that is not past ``max_seq``."""
        found = None
        for kf in self.frames:
            if kf.ts > ts or kf.seq > max_seq:
                break
            found = kf
        return found


class _Available(msgspec.Struct):
    """What a history request can be answered from now."""

    first_seq: int  # the oldest base: events after it are all held
    last_seq: int
    since: float  # its feed time: the oldest T answered
    until: float  # the feed clock now


class _Head(msgspec.Struct):
    v: int
    epoch: str
    after: int  # the events follow this seq (the base's, or the request's ``after``)
    last_seq: int  # the last event in this answer (= after when it holds none)
    until_seq: int  # where the history ends (asked for, at most the server's seq)
    complete: bool  # last_seq == until_seq; else ask again with after=last_seq
    available: _Available


def available(hub: Hub, now: float) -> _Available:
    frames = hub.keyframes.frames
    oldest = frames[0] if frames else None
    return _Available(
        first_seq=oldest.seq if oldest else hub.seq,
        last_seq=hub.seq,
        since=oldest.ts if oldest else now,
        until=now,
    )


def _error(status: int, error: str, reason: str, extra: dict[str, object]) -> tuple[int, bytes]:
    return status, msgspec.json.encode({"error": error, "reason": reason, "v": 1, **extra})


def _number(params: dict[str, str], name: str, kind: type) -> float | int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if value != value or value < 0:  # NaN, negative
        raise ValueError(f"{name} must be a number >= 0")
    return value


def history_page(hub: Hub, params: dict[str, str], now: float, rate: float) -> tuple[int, bytes]:
    """One answer to ``GET /v1/history`` (status code, JSON body); ``params`` is the query.

    ``since=T`` starts at the newest keyframe at or before feed time T (with it as
    ``base``); ``after=S&epoch=E`` continues a paged answer after seq S. ``until_seq``
    ends it (default: the server's seq now); ``limit`` asks for smaller pages."""
    try:
        since = _number(params, "since", float)
        after = _number(params, "after", int)
        until = _number(params, "until_seq", int)
        limit = _number(params, "limit", int)
    except ValueError as err:
        return _error(400, "bad_request", str(err), {})
    if (since is None) == (after is None):
        return _error(400, "bad_request", "give exactly one of since= and after=", {})
    hub.expire_ring()
    hub.keyframes.drop_outside(hub.first_seq)
    avail = available(hub, now)
    window = {"available": msgspec.to_builtins(avail), "epoch": hub.epoch}
    end = hub.seq if until is None else min(int(until), hub.seq)
    base: bytes = b"null"
    if since is not None:
        kf = hub.keyframes.at_or_before(float(since), end)
        if kf is None:
            reason = f"since {since} is older than the history held (from {avail.since})"
            return _error(416, "outside_history_window", reason, window)
        start = kf.seq
        base = P.encode(snapshot_of(kf.state, hub.epoch, kf.seq, kf.ts, rate))
    else:
        epoch = params.get("epoch", "")
        if epoch != hub.epoch:
            return _error(409, "epoch_changed", "the server's history is another one", window)
        start = int(after)  # type: ignore[arg-type]
        if start > hub.seq:
            return _error(416, "ahead_of_server", f"after {start} > seq {hub.seq}", window)
        if not hub.can_resume(start):
            return _error(416, "outside_history_window", f"after {start} left the window", window)
    most = PAGE_EVENTS if limit is None else max(1, min(int(limit), PAGE_EVENTS))
    items = (
        hub.events_after(start, min(most, max(0, end - start)), PAGE_BYTES) if end > start else []
    )
    last = items[-1].seq if items else start
    head = _Head(
        v=P.PROTOCOL_VERSION,
        epoch=hub.epoch,
        after=start,
        last_seq=last,
        until_seq=max(end, start),
        complete=last >= end,
        available=avail,
    )
    body = (
        msgspec.json.encode(head)[:-1]
        + b',"base":'
        + base
        + b',"events":['
        + b",".join(i.payload for i in items)
        + b"]}"
    )
    return 200, body


def snapshot_of(st: Any, epoch: str, seq: int, now: float, rate: float) -> P.Snapshot:
    """A hub state (the live one, or a keyframe's) as the snapshot the feed serves."""
    return P.Snapshot(
        v=P.PROTOCOL_VERSION,
        epoch=epoch,
        seq=seq,
        now=now,
        rate=rate,
        cases=list(st.cases.values()),
        units=list(st.units.values()),
        positions=list(st.positions.values()),
        cameras=list(st.cameras.values()),
        grids=list(st.grids.values()),
        kpis=list(st.kpis.values()),
        alerts=list(st.alerts),
    )
