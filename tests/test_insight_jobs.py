"""The insights worker's Job: a result that comes back at once is never lost."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from widgets.insights import common


class _Inline:
    """An executor that has already finished the job when ``submit`` returns: the timing
    of a quick job on an idle worker, made certain (``add_done_callback`` on a finished
    future runs the callback at once, on the calling thread)."""

    def submit(self, fn: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn())
        except Exception as err:
            fut.set_exception(err)
        return fut


@pytest.fixture
def inline_worker(qapp, monkeypatch):
    monkeypatch.setattr(common, "_executor", _Inline())
    return common


def test_a_result_back_before_submit_returns_is_applied(inline_worker) -> None:
    got: list[int] = []
    job = common.Job(got.append)
    common.relay().done.connect(job.on_done)
    try:
        job.request(lambda: lambda: 41)
        job.request(lambda: lambda: 42)
        assert got == [41, 42], "each result applied, none waiting for ever"
        assert not job.busy and job.runs == 2
    finally:
        common.relay().done.disconnect(job.on_done)

