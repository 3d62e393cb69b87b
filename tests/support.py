"""Test helpers: real servers on 127.0.0.1, run on a background thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from feeds.serve import child
from feeds.serve.child import free_port

ROOT = Path(__file__).resolve().parents[1]

# A busy weekday morning in the hall (2026-11-23 10:00, UTC+8). Demo servers in tests start
# here, not at the wall clock: at 01:00 the county files almost no new cases, and a test that
# needs a case waiting to be signed must not depend on when the suite runs.
BUSY_MORNING = 1_795_399_200.0


class ThreadedServer:
    """Any ASGI app served by uvicorn on 127.0.0.1 from a daemon thread."""

    def __init__(self, app: object, port: int | None = None, **uvicorn_kwargs: object) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            **uvicorn_kwargs,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def wait_until(cond: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``cond`` on the running loop; False when it never held within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(step)
    return cond()


class ServerProcess(child.ServerProcess):
    """The reference feed server as a real child process (``feeds.serve.child``), so a test
    can kill it with SIGKILL mid-stream and start it again on the same port; it answers the
    tests' duty-officer token unless given another."""

    def __init__(self, *args: str, port: int | None = None, token: str = "test-token-0001") -> None:
        super().__init__(*args, port=port, token=token)
