"""The client against the real reference server: killed mid-stream, restarted, refusing
to resume, changing its history, and behind TLS. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from commandcenter.domain import Role
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as p
from feeds.client import ClientConfig, FeedClient
from feeds.serve.server import EmbeddedServer, ServerConfig
from tests.support import ServerProcess, free_port, wait_until

pytestmark = pytest.mark.slow


class RecordingStore(Store):
    """A store that remembers the seq of every event it applied, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.applied_seqs: list[int] = []
        self.snapshots: list[int] = []

    def apply(self, events):  # type: ignore[override]
        events = list(events)
        cs = super().apply(events)
        self.applied_seqs.extend(e.seq for e in events if e.seq <= self.seq)
        return cs

    def reset(self, snapshot):  # type: ignore[override]
        self.snapshots.append(snapshot.seq)
        self.applied_seqs.clear()
        return super().reset(snapshot)


def _snapshot(url: str, token: str, **kw) -> p.Snapshot:
    r = httpx.get(
        f"{url}/v1/snapshot", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kw
    )
    r.raise_for_status()
    return p.decode_snapshot(r.content)


def _store_from(snap: p.Snapshot) -> Store:
    s = Store()
    s.reset(snap)
    return s


def test_server_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    common = [
        "--state-dir",
        str(state),
        "--seed",
        "3",
        "--rate",
        "60",
        "--history-hours",
        "1",
        "--heartbeat",
        "0.3",
        "--burst",
        "400",
        "--synthetic-outline",
    ]
    server = ServerProcess(*common).start()
    store = RecordingStore()
    status = FeedStatus()
    restarted: list[ServerProcess] = []

    async def scenario() -> None:
        client = FeedClient(
            ClientConfig(
                server.url, server.token, backoff_initial=0.1, backoff_max=0.5, stale_after=1.0
            ),
            store,
            status,
        )
        client.start()
        try:
            assert await wait_until(lambda: len(store.applied_seqs) > 1500, 20), "no live events"
            server.kill()  # SIGKILL: mid-stream, mid-commit, no goodbye
            killed_at = store.seq
            assert await wait_until(lambda: status.state is LinkState.RECONNECTING, 10)
            await asyncio.sleep(0.5)  # a few failed reconnects while it is down
            assert status.errors["connect"] + status.errors["dropped"] >= 1
            again = ServerProcess(*common, "--max-seq", str(killed_at + 3000), port=server.port)
            restarted.append(again.start())
            # Caught up with a world that stopped moving: the still point to compare at.
            final = await _settle(again)
            assert await wait_until(lambda: store.seq == final, 20), (store.seq, final)
        finally:
            await client.stop()

    async def _settle(srv: ServerProcess) -> int:
        last = -1
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {srv.token}"}) as http:
            for _ in range(200):
                seq = (await http.get(f"{srv.url}/v1/health")).json()["seq"]
                if seq == last:
                    return seq
                last = seq
                await asyncio.sleep(0.3)
        raise AssertionError("server never stopped at --max-seq")

    try:
        asyncio.run(scenario())
        srv = restarted[0]
        truth = _snapshot(srv.url, srv.token)
    finally:
        server.stop()
        for s in restarted:
            s.stop()
    assert len(store.snapshots) == 1, "the client should have resumed, not re-snapshotted"
    assert status.resyncs == 0 and status.reconnects >= 1
    expected = list(range(store.snapshots[0] + 1, truth.seq + 1))
    assert store.applied_seqs == expected, "events lost or duplicated across the restart"
    assert store.state_fingerprint() == _store_from(truth).state_fingerprint()


def test_server_refusing_to_resume_makes_the_client_resnapshot() -> None:
    with EmbeddedServer(
        ServerConfig(
            seed=5,
            history_hours=1,
            burst=3000,
            resume_window=200,
            heartbeat_s=0.3,
            outline_path=False,
        )
    ) as srv:
        old = _snapshot(srv.url, srv.token)
        store = Store()
        store.reset(old)  # a console that slept while thousands of events went by

        async def scenario() -> FeedStatus:
            status = FeedStatus()
            await asyncio.sleep(0.5)
            client = FeedClient(
                ClientConfig(srv.url, srv.token, backoff_initial=0.05), store, status
            )
            client.start()
            try:
                assert await wait_until(
                    lambda: status.resyncs >= 1 and store.seq > old.seq + 1000, 15
                )
            finally:
                await client.stop()
            return status

        status = asyncio.run(scenario())
    assert status.quarantined_total == 0
    assert store.epoch == old.epoch


def test_a_new_server_history_is_detected_and_resnapshotted() -> None:
    port = free_port()
    cfg = dict(
        seed=5,
        history_hours=1,
        heartbeat_s=0.2,
        outline_path=False,
        port=port,
        tokens={"tok-e2e-0001": Role.DUTY_OFFICER},
    )
    store = Store()
    status = FeedStatus()
    first = EmbeddedServer(ServerConfig(**cfg)).start()
    epochs: list[str] = []

    async def scenario() -> None:
        client = FeedClient(
            ClientConfig(first.url, "tok-e2e-0001", backoff_initial=0.05, backoff_max=0.2),
            store,
            status,
        )
        client.start()
        try:
            assert await wait_until(lambda: bool(store.epoch), 10)
            epochs.append(store.epoch)
            await asyncio.to_thread(first.stop)
            second = EmbeddedServer(ServerConfig(**{**cfg, "seed": 6})).start()  # no state dir
            try:
                assert await wait_until(lambda: store.epoch and store.epoch != epochs[0], 15)
                epochs.append(store.epoch)
                assert await wait_until(lambda: status.state is LinkState.LIVE, 10)
            finally:
                await asyncio.to_thread(second.stop)
        finally:
            await client.stop()

    asyncio.run(scenario())
    assert len(set(epochs)) == 2 and status.resyncs >= 1


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_tls_is_verified_unless_the_operator_names_the_ca(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    with EmbeddedServer(
        ServerConfig(
            seed=2,
            history_hours=1,
            outline_path=False,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
        )
    ) as srv:
        assert srv.url.startswith("https://127.0.0.1:")

        async def attempt(ca: str | None) -> tuple[Store, FeedStatus]:
            store, status = Store(), FeedStatus()
            client = FeedClient(
                ClientConfig(srv.url, srv.token, ca_file=ca, backoff_initial=0.05, backoff_max=0.2),
                store,
                status,
            )
            client.start()
            try:
                await wait_until(lambda: status.errors["tls"] >= 2 or len(store) > 0, 10)
            finally:
                await client.stop()
            return store, status

        store, status = asyncio.run(attempt(None))
        assert status.errors["tls"] >= 2 and len(store) == 0, dict(status.errors)
        assert "CERTIFICATE_VERIFY_FAILED" in status.last_error
        store, status = asyncio.run(attempt(str(cert)))
        assert len(store) > 0 and status.errors["tls"] == 0
