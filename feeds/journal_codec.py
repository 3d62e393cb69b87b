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
        # Case id -> (the record, its masked JSON). Masking costs ~35 µs a case
        # (bench/journal_masking.py); a checkpoint re-encodes every case the store holds, so
        # it reuses what was masked when the record was journaled or checkpointed last
        # (records are replaced, never changed, so ``is`` tells). Rebuilt at every
        # checkpoint from the cases in it: it never holds more than the store.
        self._masked: dict[str, tuple[Any, msgspec.Raw]] = {}
        self._mask = mask if mask is not None else Mask.off()

    @property
    def mask(self) -> Mask:
        return self._mask

    @mask.setter
    def mask(self, mask: Mask) -> None:
        self._mask = mask
        self._masked = {}

    def encode_event(self, event: Any) -> bytes:
        data = event.data
        if self._mask.enabled:
            if event.kind in _CASE_KINDS:
                return bytes(self._masked_case(data, self._masked))
            if event.kind == P.ALERT_RAISED:
                data = self._alert(data)
        return self._enc.encode(data)

    def _masked_case(self, record: Any, into: dict[str, tuple[Any, msgspec.Raw]]) -> msgspec.Raw:
        hit = self._masked.get(record.id)
        if hit is not None and hit[0] is record:
            raw = hit[1]
        else:
            raw = msgspec.Raw(self._enc.encode(self._mask.case(record)))
        into[record.id] = (record, raw)
        return raw

    def _alert(self, alert: Any) -> Any:
        """An alert's message may quote a caller ("张三来电：13812341234 ..."): masked."""
        text = self._mask.text(alert.message or "")
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
        if self._mask.enabled:
            fresh: dict[str, tuple[Any, msgspec.Raw]] = {}
            state = {
                **state,
                "cases": [self._masked_case(c, fresh) for c in state.get("cases", ())],
                "alerts": [self._alert(a) for a in state.get("alerts", ())],
            }
            self._masked = fresh
        return self._enc.encode(state)

    def decode_state(self, raw: bytes) -> P.Snapshot:
        return P.decode_snapshot(raw)

    def encode_history(self, segment: Any) -> bytes:
        """An imported history segment, masked as every record is (``ImportedCases``)."""
        return segment.masked(self._mask).encode()

    def decode_history(self, raw: bytes) -> Any:
        from feeds.sources.cases import ImportedCases

        return ImportedCases.decode(raw)


def journal_codec(mask: Mask | None = None) -> ProtocolJournalCodec:
    """The console's codec; ``mask`` (enabled) keeps personal data out of the file."""
    return ProtocolJournalCodec(mask)
