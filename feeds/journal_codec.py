"""The bytes <-> protocol mapping the core's ``commandcenter.journal.Journal`` needs.

It sits on the consumer side because the console journals what it applies (and the core
does not import the protocol); the replay server reads journals with it too.

Masking at rest: with ``mask`` enabled (``commandcenter.privacy.journal_mask``: on by
default when the console works as a leader's or a viewer's screen), reporters' names,
phone numbers, ID numbers and house numbers are masked in every case record and alert
*before* they are encoded, in events and in checkpoints alike, so the journal file holds
none of them and a time travel over it shows the masked past. The live store keeps the
full records; only what is written down is masked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec

from commandcenter.privacy import Mask
from feeds import protocol as P

log = logging.getLogger(__name__)


_CASE_KINDS = frozenset({P.CASE_CREATED, P.CASE_UPDATED})


class ProtocolJournalCodec:
    """Journal rows hold the payload JSON of each event; states are snapshot JSON."""

    def __init__(self, mask: Mask | None = None) -> None:
        self._enc = msgspec.json.Encoder()
        self._dec = {kind: msgspec.json.Decoder(typ) for kind, typ in P.PAYLOAD_TYPES.items()}
        self.mask = mask if mask is not None else Mask.off()

    def encode_event(self, event: Any) -> bytes:
        data = event.data
        if self.mask.enabled:
            if event.kind in _CASE_KINDS:
                data = self.mask.case(data)
            elif event.kind == P.ALERT_RAISED:
                data = self._alert(data)
        return self._enc.encode(data)

    def _alert(self, alert: Any) -> Any:
        """An alert's message may quote a caller ("张三来电：13812341234 ..."): masked."""
        text = self.mask.text(alert.message or "")
        return alert if text == alert.message else msgspec.structs.replace(alert, message=text)

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
        if self.mask.enabled:
            state = {
                **state,
                "cases": [self.mask.case(c) for c in state.get("cases", ())],
                "alerts": [self._alert(a) for a in state.get("alerts", ())],
            }
        return self._enc.encode(state)

    def decode_state(self, raw: bytes) -> P.Snapshot:
        return P.decode_snapshot(raw)


def journal_codec(mask: Mask | None = None) -> ProtocolJournalCodec:
    """The console's codec; ``mask`` (enabled) keeps personal data out of the file."""
    return ProtocolJournalCodec(mask)
