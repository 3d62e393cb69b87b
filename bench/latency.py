"""Wire-to-store latency and sustained ingest over real HTTP.

The reference server runs as its own process (as in production) in burst mode: it adds
N unit.position events per second whose payload ``ts`` is the wall clock when the event
was made. The client applies them into a Store; latency = wall clock at apply - ts.
Both processes share the machine's clock, so no skew enters.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.table import Row
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.client import ClientConfig, FeedClient

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-000001"


class _TimingStore(Store):
    def __init__(self) -> None:
        super().__init__()
        self.lat: list[float] = []

    def apply(self, events):  # type: ignore[override]
        now = time.time()
        lat = self.lat
        for e in events:
            if e.kind == "unit.position" and e.data.id.startswith("BURST"):
                lat.append(now - e.data.ts)
        return super().apply(events)


def _start_server(burst: int) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, CC_FEED_TOKENS=f"{TOKEN}=duty_officer")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds.serve.server",
            "--burst",
            str(burst),
            "--history-hours",
            "1",
            "--synthetic-outline",
            "--heartbeat",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("LISTENING"):
            return proc, line.split()[1]
    raise RuntimeError("feed server did not start")


def _measure(burst: int, seconds: float) -> tuple[np.ndarray, float, int]:
    proc, url = _start_server(burst)
    store = _TimingStore()
    status = FeedStatus()

    async def main() -> None:
        client = FeedClient(ClientConfig(url, TOKEN), store, status)
        client.start()
        t0 = time.monotonic()
        while not store.lat and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # warm-up: connection, first batches
        store.lat.clear()
        await asyncio.sleep(seconds)
        await client.stop()

    try:
        asyncio.run(main())
    finally:
        proc.terminate()
        proc.wait(10)
    lat = np.array(store.lat) * 1000
    return lat, len(lat) / seconds, status.quarantined_total


def run(quick: bool = False) -> list[Row]:
    secs = 4.0 if quick else 10.0
    rows = []
    lat, rate, bad = _measure(1000, secs)
    rows += [
        Row("wire->store latency p50 @1,000 ev/s", float(np.percentile(lat, 50)), "ms"),
        Row(
            "wire->store latency p99 @1,000 ev/s",
            float(np.percentile(lat, 99)),
            "ms",
            "<= 250 ms (to screen)",
        ),
        Row(
            "wire->store latency max @1,000 ev/s",
            float(lat.max()),
            "ms",
            note=f"{len(lat):,} events, {bad} bad",
        ),
    ]
    lat, rate, bad = _measure(20_000, secs)
    rows += [
        Row(
            "sustained ingest over SSE, 20,000 ev/s offered",
            rate,
            "events/s",
            ">= 20,000",
            note=f"p99 {np.percentile(lat, 99):.0f} ms",
        ),
    ]
    return rows
