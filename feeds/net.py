"""Network facts both ends of the feed need."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1: addresses that never leave the machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_is_loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


# ---- bounded reading -------------------------------------------------------------------
# httpx-sse reads a line whole before looking at it, so a 50 MB line is 50 MB in memory
# before it can be refused, and an endless one grows without bound. The reader below
# counts while it reads: past ``max_line`` bytes the rest of the line is skipped (never
# held) and the message is marked oversized; a line that is not UTF-8 marks it
# invalid_utf8. Either way the next message is read normally.


@dataclass(slots=True)
class SseMessage:
    event: str = "message"
    data: str = ""
    id: str = ""
    bad: str = ""  # "" or the reason this message must be quarantined unread
    bad_detail: str = ""


async def read_sse(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[SseMessage]:
    """Server-sent events (the WHATWG parsing rules) from raw byte chunks, with every line
    and every message's data bounded by ``max_line`` bytes."""
    buf = bytearray()
    skipping = False  # inside an over-long line: drop bytes up to its end
    skipped = 0
    msg = SseMessage()
    data_lines: list[str] = []
    data_size = 0
    pending_cr = False

    def line_done(raw: bytes) -> SseMessage | None:
        nonlocal msg, data_lines, data_size
        if not raw:  # blank line: dispatch
            out = msg
            out.data = "\n".join(data_lines)
            had = bool(data_lines) or out.bad
            msg, data_lines, data_size = SseMessage(), [], 0
            return out if had or out.event != "message" or out.id else None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            if not msg.bad:
                msg.bad, msg.bad_detail = "invalid_utf8", str(err)[:200]
            return None
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data_size += len(raw)
            if data_size > max_line:
                if not msg.bad:
                    msg.bad, msg.bad_detail = "oversized", f"message data > {max_line} bytes"
                data_lines.clear()
            elif not msg.bad:
                data_lines.append(value)
        elif name == "event":
            msg.event = value or "message"
        elif name == "id" and "\0" not in value:
            msg.id = value
        return None

    async for chunk in chunks:
        start = 0
        n = len(chunk)
        if pending_cr and n and chunk[0:1] == b"\n":
            start = 1
        pending_cr = False
        while start < n:
            cr = chunk.find(b"\r", start)
            lf = chunk.find(b"\n", start)
            ends = [i for i in (cr, lf) if i != -1]
            if not ends:
                if skipping:
                    skipped += n - start
                elif len(buf) + n - start > max_line:
                    skipped = len(buf) + n - start
                    buf.clear()
                    skipping = True
                else:
                    buf += chunk[start:]
                break
            end = min(ends)
            if skipping:
                skipped += end - start
                if not msg.bad:
                    msg.bad, msg.bad_detail = "oversized", f"line of {skipped}+ bytes"
                skipping, skipped = False, 0
                raw = None  # the message is already marked bad; the line is gone
            elif len(buf) + end - start > max_line:
                raw = None
                if not msg.bad:
                    msg.bad, msg.bad_detail = "oversized", f"line of {len(buf) + end - start} bytes"
                buf.clear()
            else:
                buf += chunk[start:end]
                raw = bytes(buf)
                buf.clear()
            if chunk[end : end + 1] == b"\r":
                if end + 1 < n:
                    if chunk[end + 1 : end + 2] == b"\n":
                        end += 1
                else:
                    pending_cr = True
            start = end + 1
            if raw is not None:
                out = line_done(raw)
                if out is not None:
                    yield out
