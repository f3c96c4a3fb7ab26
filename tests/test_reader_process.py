"""The process that reads probe connections (probes/reader_process.py): if it dies, the
connections it read fail, the daemon does not count that against the provider, and the
next probe starts another; it never outlives the process it reads for."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes import run_probe
from probes.receiver import ReadingProcess
from probes.result import ErrorClass
from probes.target import Target
from service.probing.clients import probe_client
from service.scheduler import ProbePlan
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from tests.probe_daemon import probe_pipeline

pytestmark = pytest.mark.integration  # the reading process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def slow_sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.5, inter_token_seconds=0.01,
                                      output_tokens=3)}, seed=5)
    server.start_in_thread()
    yield server
    server.stop_thread()


def _target(server: SimServer) -> Target:
    assert server.base_url is not None
    return Target(api="openai", base_url=server.base_url, model="m", api_key="sk-reader-test",
                  timeout_seconds=10)


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for a parent that does not reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.startswith("State:") and "Z" in line.split()[1]
               for line in status.splitlines())


async def test_a_dead_reading_process_fails_its_probes_and_is_replaced(
        slow_sim: SimServer, caplog: pytest.LogCaptureFixture) -> None:
    reading = ReadingProcess()
    async with probe_client(reading=reading) as client:
        assert (await run_probe("latency", _target(slow_sim), client)).ok
        first = reading.pid
        assert first is not None
        probe = asyncio.create_task(run_probe("latency", _target(slow_sim), client))
        await asyncio.sleep(0.2)  # the request is out; its first token is 0.3 s away
        with caplog.at_level(logging.ERROR, logger="probes.receiver"):
            os.kill(first, signal.SIGKILL)
            failed = await probe
        after = await run_probe("latency", _target(slow_sim), client)
    reading.stop()

    # The monitor's own failure, not the provider's: an error class of its own.
    assert failed.error_class == ErrorClass.MONITOR
    assert "reading process exited" in (failed.error_message or "")
    assert "sk-reader-test" not in (failed.error_message or "")
    assert any("probe reading process exited" in r.getMessage() for r in caplog.records)
    assert after.ok, after.error_message  # a new reading process, on a new connection
    assert reading.exits == 1 and after.ok


def test_the_reading_process_ends_with_the_process_it_reads_for() -> None:
    """SIGKILL leaves no time for cleanup: the reader sees its control socket close."""
    script = ("from probes.receiver import ReadingProcess; import time; "
              "r = ReadingProcess(); r.receiver(); print(r.pid, flush=True); time.sleep(60)")
    prober = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE)
    try:
        assert prober.stdout is not None
        reader_pid = int(prober.stdout.readline())
        assert not _ended(reader_pid)
        prober.send_signal(signal.SIGKILL)
        prober.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _ended(reader_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _ended(reader_pid)
    finally:
        prober.kill()
        prober.wait(timeout=10)


async def test_the_daemon_does_not_record_a_failure_the_reading_process_caused(
        slow_sim: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Availability is the provider's: a connection lost because the monitor's own reading
    process died is not stored as a failed probe."""
    probing, rows = probe_pipeline(tmp_path, slow_sim.base_url, shards=1)
    plan = ProbePlan("sim/m", "latency", 3600)
    exits_before = probing.registry.get_sample_value("factorwatch_probe_reader_exits")
    try:
        await probing.run(plan)
        probe = asyncio.create_task(probing.run(plan))
        await asyncio.sleep(0.2)  # the request is out; its first token is 0.3 s away
        with caplog.at_level(logging.WARNING):
            os.kill(probing.clients.reading.pid, signal.SIGKILL)
            await probe
        await probing.run(plan)
    finally:
        await probing.aclose()

    assert [row.ok for row in rows] == [True, True]  # before and after; nothing between
    assert any("not recorded: the probe reading process exited" in r.getMessage()
               for r in caplog.records)
    assert exits_before is not None
    assert probing.registry.get_sample_value("factorwatch_probe_reader_exits") == exits_before + 1
