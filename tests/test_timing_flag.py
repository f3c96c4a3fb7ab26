"""A probe whose timing reads came late is flagged timing_unreliable: late from the reading
process (kernel-stamped reads), or late from the event loop (behind a proxy, where the loop
reads); a loop held up while the reading process is not flags nothing. Scoring leaves a
flagged result's timing out."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from probes.stream import LATE_READ_SECONDS
from service.probing import looplag
from service.probing.looplag import LagWindow, monitor_loop_lag
from service.scheduler import ProbePlan
from service.sim.openai_server import SimModel, SimServer
from service.store.rollup import Totals
from tests.probe_daemon import probe_pipeline


class _Null:
    def observe(self, amount: float) -> None:
        pass


@pytest.fixture
async def window() -> AsyncIterator[LagWindow]:
    window = LagWindow()
    task = asyncio.create_task(monitor_loop_lag(_Null(), interval=0.02, window=window))
    await asyncio.sleep(0.05)
    yield window
    task.cancel()


@pytest.mark.integration  # stalls the loop for real
async def test_the_window_sees_a_stall_after_since_only(window: LagWindow) -> None:
    before = window.now()
    time.sleep(0.2)  # blocks the loop, as a synchronous call in a handler would
    await asyncio.sleep(0.05)
    after = window.now()
    await asyncio.sleep(0.05)
    assert window.worst_since(before) >= 0.15
    assert window.worst_since(after) < 0.1  # the stall ended before `after`


@pytest.mark.integration  # stalls the loop for real
async def test_a_stall_not_yet_seen_by_the_monitor_counts(window: LagWindow) -> None:
    since = window.now()
    time.sleep(0.15)
    assert window.worst_since(since) >= 0.1  # the monitor's wake-up is overdue right now


@pytest.fixture
def sim() -> Iterator[SimServer]:
    # Its own thread and loop: the stall below blocks the daemon's loop, not the server.
    server = SimServer({"m": SimModel(ttft_seconds=0.3, inter_token_seconds=0.05,
                                      output_tokens=4)}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


async def test_a_stalled_loop_does_not_flag_kernel_stamped_timing(
        sim: SimServer, tmp_path: Path) -> None:
    probing, rows = probe_pipeline(tmp_path, sim.base_url, shards=2)
    monitor = asyncio.create_task(monitor_loop_lag(probing.loop_lag,
                                                   window=probing.pipeline.lag_window))
    plan = ProbePlan("sim/m", "latency", 3600)
    try:
        await probing.run(plan)  # warms the connection; a loop left alone
        probe = asyncio.create_task(probing.run(plan))
        await asyncio.sleep(0.05)  # the request is out, its first token 0.3 s away
        time.sleep(0.4)  # a blocking call on the daemon's loop
        await probe
    finally:
        monitor.cancel()
        await probing.aclose()

    calm, stalled = rows
    assert calm.ok and stalled.ok
    # The first token was parsed only after the stall (>= 0.45 s after the request), but
    # its bytes were read and stamped on arrival by the reading process (probes/arrival.py):
    # the TTFT is the server's, not the loop's, and nothing flags it.
    record = sim.records[-1]
    assert record.first_content_at is not None
    assert abs(stalled.ttft_seconds - (record.first_content_at - record.received_at)) < 0.01
    for row in rows:
        assert "timing_unreliable" not in row.extra, row.extra
        assert 0 <= row.extra["read_late_seconds"] < LATE_READ_SECONDS
    lag_sum = probing.registry.get_sample_value("factorwatch_event_loop_lag_seconds_sum")
    assert lag_sum is not None and lag_sum >= 0.3  # the stall is still seen as loop lag


async def test_a_probe_whose_reading_process_was_held_up_is_flagged(
        sim: SimServer, tmp_path: Path) -> None:
    probing, rows = probe_pipeline(tmp_path, sim.base_url, shards=2)
    plan = ProbePlan("sim/m", "latency", 3600)
    try:
        await probing.run(plan)  # warms the connection and the reading process
        reader = probing.clients.reading.pid
        probe = asyncio.create_task(probing.run(plan))
        await asyncio.sleep(0.05)  # the request is out, its first token 0.3 s away
        os.kill(reader, signal.SIGSTOP)  # no CPU for the reading process: tokens wait
        try:
            await asyncio.sleep(0.4)
        finally:
            os.kill(reader, signal.SIGCONT)
        await probe
    finally:
        await probing.aclose()

    calm, held = rows
    assert calm.ok and held.ok
    assert "timing_unreliable" not in calm.extra
    # The tokens that came 50 ms apart meanwhile were read together and share the newest
    # stamp: the TTFT is late, and the result says so.
    record = sim.records[-1]
    assert record.first_content_at is not None
    assert held.ttft_seconds - (record.first_content_at - record.received_at) > 0.04
    assert held.extra["timing_unreliable"] is True
    assert held.extra["read_late_seconds"] >= 0.2


async def test_a_late_read_that_brought_one_token_alone_is_not_flagged(
        sim: SimServer, tmp_path: Path) -> None:
    """A segment left unread keeps its own arrival stamp: only later bytes read with it
    (merged into the newest stamp) make it wrong."""
    probing, rows = probe_pipeline(tmp_path, sim.base_url, shards=2)
    plan = ProbePlan("sim/m", "latency", 3600)
    try:
        await probing.run(plan)
        reader = probing.clients.reading.pid
        probe = asyncio.create_task(probing.run(plan))
        await asyncio.sleep(0.05)
        os.kill(reader, signal.SIGSTOP)  # resumed between the 1st token (0.3 s) and the 2nd
        try:
            await asyncio.sleep(0.275)
        finally:
            os.kill(reader, signal.SIGCONT)
        await probe
    finally:
        await probing.aclose()

    late = rows[-1]
    record = sim.records[-1]
    assert record.first_content_at is not None
    assert abs(late.ttft_seconds - (record.first_content_at - record.received_at)) < 0.002
    assert "timing_unreliable" not in late.extra
    assert late.extra["read_late_seconds"] < LATE_READ_SECONDS  # the late read was alone


async def test_behind_a_proxy_a_stalled_loop_still_flags(
        sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the reading process (an HTTP proxy set in the environment), the event loop
    reads and stamps: its lag is what makes those stamps late."""
    monkeypatch.setattr(looplag, "UNRELIABLE_SECONDS", 0.1)  # only the stall below counts
    probing, rows = probe_pipeline(tmp_path, sim.base_url, shards=2, stamped=False)
    monitor = asyncio.create_task(monitor_loop_lag(probing.loop_lag,
                                                   window=probing.pipeline.lag_window))
    plan = ProbePlan("sim/m", "latency", 3600)
    try:
        await probing.run(plan)
        probe = asyncio.create_task(probing.run(plan))
        await asyncio.sleep(0.05)
        time.sleep(0.4)
        await probe
    finally:
        monitor.cancel()
        await probing.aclose()

    calm, stalled = rows
    assert "timing_unreliable" not in calm.extra and "read_late_seconds" not in calm.extra
    assert stalled.extra["timing_unreliable"] is True
    assert stalled.extra["loop_lag_seconds"] >= 0.3


def _row(ttft: float, extra: dict[str, Any]) -> Any:
    return SimpleNamespace(ok=True, kind="latency", ttft_seconds=ttft,
                           output_tokens_per_second=50.0, extra=extra, error_class=None)


def test_scoring_counts_a_flagged_result_but_not_its_timing() -> None:
    totals = Totals()
    totals.add_row(_row(0.2, {}))
    totals.add_row(_row(5.0, {"timing_unreliable": True, "loop_lag_seconds": 4.8}))
    assert totals.ok == 2  # availability: it did succeed
    assert totals.ttft.count == 1 and totals.speed.count == 1
    assert totals.ttft.quantile(0.99) == pytest.approx(0.2, rel=0.02)

