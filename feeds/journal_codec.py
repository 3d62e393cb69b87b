"""The bytes <-> protocol mapping the core's ``commandcenter.journal.Journal`` needs.

It sits on the consumer side because the console journals what it applies (and the core
does not import the protocol); the replay server reads journals with it too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec

from feeds import protocol as P

log = logging.getLogger(__name__)


class ProtocolJournalCodec:
    """Journal rows hold the payload JSON of each event; states are snapshot JSON."""

    def __init__(self) -> None:
        self._enc = msgspec.json.Encoder()
        self._dec = {kind: msgspec.json.Decoder(typ) for kind, typ in P.PAYLOAD_TYPES.items()}

    def encode_event(self, event: Any) -> bytes:
        return self._enc.encode(event.data)

    def decode_events(self, rows: Sequence[tuple[int, str, float, bytes]]) -> list[Any]:
        out: list[P.Event] = []
        dec = self._dec
        for seq, kind, ts, payload in rows:
            d = dec.get(kind)
            if d is None:
                continue
            try:
                out.append(P.Event(seq=seq, kind=kind, ts=ts, data=d.decode(payload)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("journal row seq %d (%s) unreadable: skipped", seq, kind)
        return out

    def encode_state(self, state: dict[str, Any]) -> bytes:
        return self._enc.encode(state)

    def decode_state(self, raw: bytes) -> P.Snapshot:
        return P.decode_snapshot(raw)

    def encode_history(self, segment: Any) -> bytes:
        return segment.encode()

    def decode_history(self, raw: bytes) -> Any:
        from feeds.sources.cases import ImportedCases

        return ImportedCases.decode(raw)


def journal_codec() -> ProtocolJournalCodec:
    return ProtocolJournalCodec()
