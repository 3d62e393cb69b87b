"""Deliver the outbox: post each action with its idempotency key until the server decides.

``ActionSender`` is the outbox's courier (commandcenter/actions.py holds the items and
their states). It runs as an asyncio task beside ``feeds.client.FeedClient``, on the same
loop (qasync in the app), and follows the same rules: TLS always verified (system store or
the CA file named), the token only in the Authorization header and never in a log line,
exponential back-off with equal jitter (``feeds.client.backoff_delay``), and it never
raises: every failure is an item state, a counter and a log line.

For each due item, oldest first and never overtaking an earlier action on the same case:

    mark_sending (committed)  ->  POST /v1/cases/{id}/actions  (Idempotency-Key: item.key)
      200                      -> confirmed (the server's case record and seq kept)
      409 illegal / conflict   -> refused (reason) / conflict (the server's current case)
      403, 404                 -> refused (reason)
      400, 422                 -> invalid (reason): the request itself is wrong, no retry
      401, 408, 429, 5xx, connect error, timeout, TLS error
                               -> pending again, due after back-off by attempts (0.5 s .. 30 s)

Every decision (not each transient failure) is appended to the audit log, with the
reporter's name and phone masked. A request whose answer never arrived (timeout, crash)
is simply sent again with the same key: the server stores each key's outcome and replays
it (``Idempotent-Replayed: true``) instead of applying the action twice.

Test hook: with the environment variable ``CC_TEST_CRASH_AFTER_SEND=1`` the process ends
with ``os._exit(137)`` right after a response arrives and before it is recorded, which is
the worst moment for a crash (the server applied the action, the outbox still says
'sending'). tests/test_actions_e2e.py uses it to prove delivery is exactly once. It has no
other use; never set it in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from commandcenter.actions import ItemState, Outbox, OutboxItem
from feeds import protocol
from feeds.client import backoff_delay
from feeds.net import tls_verify, url_is_loopback

log = logging.getLogger(__name__)

CRASH_AFTER_SEND_ENV = "CC_TEST_CRASH_AFTER_SEND"
PRUNE_EVERY_S = 3600.0
_result_decoder = msgspec.json.Decoder(protocol.ActionResult)


@dataclass
class SenderStats:
    """Counters for logs, tests and the status bar (the UI reads item states from the
    outbox itself, which is in the core)."""

    posted: int = 0  # requests that got an HTTP answer
    confirmed: int = 0
    refused: int = 0
    conflict: int = 0
    invalid: int = 0
    replayed: int = 0  # answers the server replayed for a key it had already decided
    retries: int = 0  # transient failures, each followed by back-off
    errors: Counter[str] = field(default_factory=Counter)  # transient failures by cause
    last_error: str = ""
    last_ok_at: float = 0.0  # wall clock of the last HTTP answer
    reachable: bool | None = None  # None until the first attempt


def request_body(item: OutboxItem) -> bytes:
    """The exact bytes posted for an item. Deterministic (params keep their stored order),
    so a retry after a crash matches the server's fingerprint of the first attempt."""
    req = protocol.ActionRequest(
        action=item.action,
        actor=item.actor,
        params=item.params,
        expected_version=item.expected_version,
    )
    return protocol.encode(req)


class ActionSender:
    def __init__(
        self,
        outbox: Outbox,
        audit: Any,
        base_url: str,
        token: str,
        ca_file: str | None = None,
        *,
        connect_timeout: float = 5.0,
        timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        idle_poll: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        """``audit``: a ``commandcenter.audit.AuditLog`` (None: no audit, tests only).
        ``idle_poll``: how often to look at the outbox when nothing woke the sender (an
        item enqueued by another process using the same file)."""
        self.outbox = outbox
        self.audit = audit
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.ca_file = ca_file
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.idle_poll = idle_poll
        self.stats = SenderStats()
        self._rng = rng or random.Random()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        if self.base_url.startswith("http://") and not url_is_loopback(self.base_url):
            log.warning("actions go to %s over plain HTTP: the token travels unencrypted", base_url)

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"ActionSender(base_url={self.base_url!r}, token=<hidden>, ca_file={self.ca_file!r})"

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self.run())
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Look at the outbox now (thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    def _on_outbox_change(self, item: OutboxItem) -> None:
        if item.state is ItemState.PENDING:
            self.wake()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self._token}"},
            verify=tls_verify(self.base_url, self.ca_file),
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
        )

    async def run(self) -> None:
        """Until stopped: send what is due, then sleep until the next item is due or a new
        one arrives. Never raises (except cancellation)."""
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self.outbox.subscribe(self._on_outbox_change)
        try:
            async with self._client() as http:
                last_prune = time.monotonic()
                while not self._stop.is_set():
                    self._wake.clear()
                    try:
                        await self.send_due(http)
                        if time.monotonic() - last_prune > PRUNE_EVERY_S:
                            last_prune = time.monotonic()
                            self.outbox.prune()  # a console that runs for weeks
                    except Exception:  # a bug must not end delivery for good
                        log.exception("action sender round failed")
                    await self._sleep()
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

    async def _sleep(self) -> None:
        delay = self.idle_poll
        try:
            nxt = self.outbox.next_due_at()
        except Exception:
            log.exception("outbox unreadable")
            nxt = None
        if nxt is not None:
            delay = min(delay, max(0.0, nxt - self.outbox.clock()))
        if delay <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    # ---- sending -------------------------------------------------------------------------

    async def send_due(self, http: httpx.AsyncClient | None = None) -> int:
        """Send every item due now (and those that become due because an earlier one on
        the same case was decided); returns how many got a decision. Stops at the first
        item the server did not answer: it is away, the others wait for their back-off."""
        if http is None:
            async with self._client() as own:
                return await self.send_due(own)
        decided = 0
        while not self._stop.is_set():
            items = self.outbox.due()
            if not items:
                break
            progress = False
            for item in items:
                if self._stop.is_set():
                    break
                answered = await self._send(http, item)
                if not answered:
                    return decided
                decided += 1
                progress = True
            if not progress:
                break
        return decided

    async def _send(self, http: httpx.AsyncClient, item: OutboxItem) -> bool:
        """One attempt; True when the server decided (or the item was no longer ours)."""
        try:
            item = self.outbox.mark_sending(item.key)
        except (KeyError, ValueError):
            return True  # decided or removed meanwhile
        try:
            path = f"/v1/cases/{quote(item.case_id, safe='')}/actions"
            headers = {"Idempotency-Key": item.key, "Content-Type": "application/json"}
            try:
                response = await http.post(path, content=request_body(item), headers=headers)
            except (httpx.HTTPError, OSError, ssl.SSLError) as err:
                self._transient(item, *self._classify(err))
                return False
            if os.environ.get(CRASH_AFTER_SEND_ENV) == "1":
                os._exit(137)  # test hook, see the module docstring
            return self._handle(item, response)
        except asyncio.CancelledError:
            # Stopped mid-request: pending again at once (same key) rather than stuck
            # 'sending' until the next start.
            with contextlib.suppress(Exception):
                self.outbox.mark_retry(item.key, "interrupted: sender stopped", 0.0)
            raise
        except Exception as err:  # never leave an item 'sending'
            log.exception("sending %s failed unexpectedly", item.key)
            with contextlib.suppress(Exception):
                self._transient(item, "internal", f"{type(err).__name__}: {err}")
            return False

    @staticmethod
    def _classify(err: BaseException) -> tuple[str, str]:
        text = str(err) or type(err).__name__
        if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(err, ssl.SSLError):
            return "tls", text
        if isinstance(err, httpx.TimeoutException):
            return "timeout", text
        if isinstance(err, httpx.ConnectError):
            return "connect", text
        if isinstance(err, httpx.RemoteProtocolError):
            return "dropped", text
        return type(err).__name__.lower(), text

    def _transient(self, item: OutboxItem, cause: str, detail: str, answered: bool = False) -> None:
        delay = backoff_delay(
            max(0, item.attempts - 1), self.backoff_initial, self.backoff_max, self._rng
        )
        self.stats.retries += 1
        self.stats.errors[cause] += 1
        self.stats.last_error = f"{cause}: {detail}"[:300]
        if not answered:
            self.stats.reachable = False
        log.warning(
            "action %s on %s not delivered (%s: %s); retry in %.1f s",
            item.action,
            item.case_id,
            cause,
            detail[:200],
            delay,
        )
        self.outbox.mark_retry(item.key, f"{cause}: {detail}", delay)

    def _handle(self, item: OutboxItem, response: httpx.Response) -> bool:
        code = response.status_code
        self.stats.posted += 1
        self.stats.last_ok_at = time.time()
        if self.stats.reachable is False:
            # The server is back: what waited out a back-off goes now, not in 30 s.
            self.outbox.retry_all_now()
        self.stats.reachable = True
        result: protocol.ActionResult | None
        try:
            result = _result_decoder.decode(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError):
            result = None
        reason = (result.reason if result else "") or ""
        case = msgspec.to_builtins(result.case) if result and result.case else None
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        if replayed:
            self.stats.replayed += 1
        if code == 200:
            self.outbox.mark_confirmed(item.key, case, result.seq if result else 0)
            self.stats.confirmed += 1
            self._audit(item, "confirmed", "replayed" if replayed else "", case)
            return True
        if code == 409:
            if result is not None and result.status == "conflict":
                self.outbox.mark_conflict(item.key, reason or "conflict", case)
                self.stats.conflict += 1
                self._audit(item, "conflict", reason, case)
            else:
                self.outbox.mark_refused(item.key, reason or "illegal", case)
                self.stats.refused += 1
                self._audit(item, "refused", reason, case)
            return True
        if code in (403, 404):
            why = reason or ("forbidden" if code == 403 else "not found")
            self.outbox.mark_refused(item.key, why, case)
            self.stats.refused += 1
            self._audit(item, "refused", why, case)
            return True
        if code in (400, 422):
            why = reason or f"HTTP {code}"
            self.outbox.mark_invalid(item.key, why)
            self.stats.invalid += 1
            self._audit(item, "invalid", why, None)
            return True
        if code == 401:
            log.warning("the server refused the token (401): actions wait until it is fixed")
        cause = "http_5xx" if code >= 500 else f"http_{code}"
        self._transient(item, cause, f"HTTP {code}", answered=True)
        return False

    def _audit(self, item: OutboxItem, result: str, reason: str, case: Any) -> None:
        if self.audit is None:
            return
        sensitive: tuple[str, ...] = ()
        if isinstance(case, dict):
            sensitive = (str(case.get("reporter_name", "")), str(case.get("reporter_phone", "")))
        try:
            self.audit.record(
                actor=item.actor,
                role=item.role.value,
                case_id=item.case_id,
                action=item.action,
                params=item.params,
                result=result,
                reason=reason,
                key=item.key,
                sensitive=sensitive,
            )
        except Exception:  # the action is decided and kept in the outbox either way
            log.exception("audit log write failed for %s", item.key)
