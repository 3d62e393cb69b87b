"""The reference server as a child process on 127.0.0.1, for what must not share its process.

A test that kills the server with SIGKILL mid-stream and starts it again on the same port,
and a soak that samples the console's memory apart from the server's, both need the server
in a process of its own. They start it the same way: ``python -m feeds.serve.server`` with a
known token in ``CC_FEED_TOKENS``, waiting for its ``LISTENING`` line; its output is then
drained on a thread so that a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # where ``python -m feeds.serve.server`` resolves


def free_port() -> int:
    """A port nothing listens on at the moment (the child binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m feeds.serve.server --port PORT *args`` answering ``token`` as ``role``."""

    def __init__(
        self, *args: str, port: int | None = None, token: str, role: str = "duty_officer"
    ) -> None:
        self.port = port or free_port()
        self.token = token
        self.role = role
        self.args = list(args)
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start it and wait for its socket to accept; RuntimeError with its last output
        lines when it exits first, or has not listened after ``timeout`` seconds (looked at
        as each line comes)."""
        env = dict(os.environ, CC_FEED_TOKENS=f"{self.token}={self.role}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feeds.serve.server", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        lines: list[str] = []
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

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the server flushes its log and keys), SIGKILL after ``timeout``."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
