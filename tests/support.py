"""Test helpers: real servers on 127.0.0.1, run on a background thread."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parents[1]

# A busy weekday morning in the hall (2026-11-23 10:00, UTC+8). Demo servers in tests start
# here, not at the wall clock: at 01:00 the county files almost no new cases, and a test that
# needs a case waiting to be signed must not depend on when the suite runs.
BUSY_MORNING = 1_795_399_200.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class ServerProcess:
    """The reference feed server as a real child process (python -m feeds.serve.server), so a
    test can kill it with SIGKILL mid-stream and start it again on the same port."""

    def __init__(self, *args: str, port: int | None = None, token: str = "test-token-0001") -> None:
        self.port = port or free_port()
        self.token = token
        self.args = list(args)
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = dict(os.environ, CC_FEED_TOKENS=f"{self.token}=duty_officer")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feeds.serve.server", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("LISTENING"):
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.kill()
        raise RuntimeError("feed server did not start:\n" + "".join(lines[-30:]))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no last flush; what a power cut does."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
