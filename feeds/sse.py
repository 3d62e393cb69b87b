"""A server-sent-events reader that bounds what it holds while it reads.

httpx-sse reads a whole line before it looks at it, so a 50 MB line was buffered whole
before the codec could call it oversized, and an endless one grew memory without bound; it
also decoded bytes as UTF-8 with replacement, so invalid text arrived silently altered.
This reader keeps at most ``max_bytes`` of one message: a longer line is skipped up to its
end as it streams past, and the message it belonged to is handed over as ``oversized``
(with its id, so the client's cursor still moves on); a message that is not valid UTF-8 is
handed over as ``invalid_utf8``. The client quarantines both with their reason.

It follows the SSE parsing rules the feed needs: ``event``, ``data`` (several lines joined
by newlines), ``id``, ``retry``, comment lines, CR/LF/CRLF line ends, dispatch on a blank
line, a block without data dispatching nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(slots=True)
class SseMessage:
    event: str
    data: str
    id: str
    error: str = ""  # "", "oversized" or "invalid_utf8"
    size: int = 0  # bytes of data seen, also when they were not kept


class _Block:
    __slots__ = ("data", "error", "event", "has_data", "id", "size")

    def __init__(self) -> None:
        self.event = b""
        self.data: list[bytes] = []
        self.id = b""
        self.error = ""
        self.size = 0
        self.has_data = False


async def read_sse(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[SseMessage]:
    """Messages from a byte stream; never holds more than about ``max_bytes`` of one."""
    pending = bytearray()
    skipping = False  # inside a line too long to keep: drop bytes up to its end
    block = _Block()
    async for chunk in chunks:
        pending += chunk
        while True:
            nl = _line_end(pending)
            if nl < 0:
                if len(pending) > max_bytes:
                    if not skipping:
                        block.error = "oversized"
                        block.has_data = True
                        skipping = True
                    block.size += len(pending)
                    pending.clear()
                break
            line = bytes(pending[:nl])
            cut = nl + 2 if pending[nl : nl + 2] == b"\r\n" else nl + 1
            del pending[:cut]
            if skipping:
                block.size += len(line)
                skipping = False
                continue
            message = _take_line(block, line, max_bytes)
            if message is not None:
                yield message
                block = _Block()
            elif not line:
                block = _Block()


def _line_end(buf: bytearray) -> int:
    n = buf.find(b"\n")
    r = buf.find(b"\r")
    if r >= 0 and (n < 0 or r < n):
        if r == len(buf) - 1:
            return -1  # a CR at the end may be the first half of a CRLF: wait for more
        return r
    return n


def _take_line(block: _Block, line: bytes, max_bytes: int) -> SseMessage | None:
    """Fold one line into the block; a blank line dispatches it (or nothing)."""
    if not line:
        if not block.has_data:
            return None
        size = block.size
        if block.error:
            return SseMessage(_text(block.event), "", _text(block.id), block.error, size)
        raw = b"\n".join(block.data)
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError:
            return SseMessage(_text(block.event), "", _text(block.id), "invalid_utf8", size)
        return SseMessage(_text(block.event) or "message", data, _text(block.id), "", size)
    if line.startswith(b":"):
        return None
    name, _, value = line.partition(b":")
    if value.startswith(b" "):
        value = value[1:]
    if name == b"data":
        block.has_data = True
        block.size += len(value)
        if block.error:
            return None
        if block.size > max_bytes:
            block.error = "oversized"
            block.data.clear()
        else:
            block.data.append(value)
    elif name == b"event":
        block.event = value
    elif name == b"id" and b"\x00" not in value:
        block.id = value
    return None


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
