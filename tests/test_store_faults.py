"""Store faults on a real PostgreSQL server that goes away while probe results keep coming.

The server is stopped (as a crash or a failover would) between batches, results keep arriving
for a second, then it comes back: the writer keeps them, bounded by `max_buffered`, says so
in the log, and writes them all once it can. (Two replicas running `factorwatch db upgrade`
at once is a contract test in test_store.py, run on both backends.)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.rollup import apply_rollups
from service.store.writer import ResultWriter

if TYPE_CHECKING:
    from devtools.pgcluster import PostgresCluster

pytestmark = pytest.mark.integration


@pytest.fixture
def server(own_postgres: PostgresCluster) -> Iterator[tuple[PostgresCluster, Engine]]:
    upgrade(own_postgres.url)
    engine = make_engine(own_postgres.url)
    yield own_postgres, engine
    engine.dispose()


def result(i: int) -> ProbeResultRow:
    return ProbeResultRow(candidate_id=f"c-{i % 7}", kind="latency", ok=True,
                          ttft_seconds=0.1 + (i % 10) / 100, extra={"i": i})


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def pour(writer: ResultWriter, first: int, count: int, seconds: float) -> None:
    """Add results first..first+count-1 at a steady rate, as the probe scheduler would."""
    for i in range(first, first + count):
        writer.add(result(i))
        if i % 20 == 0:
            await asyncio.sleep(seconds * 20 / count)


def stored(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(int(v) for v in conn.execute(text(
            "SELECT (extra->>'i')::int FROM probe_result")).scalars())


def stored_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM probe_result")).scalars())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rolled_up(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(sum(ok), 0) FROM probe_rollup")).scalar()
                   or 0)


@pytest.mark.parametrize(("max_buffered", "kept_from_outage"), [
    pytest.param(5000, 1000, id="buffer-holds-the-outage"),
    pytest.param(400, 400, id="buffer-full-keeps-the-newest"),
])
async def test_results_survive_a_postgresql_restart_under_load(
        server: tuple[PostgresCluster, Engine], caplog: pytest.LogCaptureFixture,
        max_buffered: int, kept_from_outage: int) -> None:
    cluster, engine = server
    writer = ResultWriter(engine, flush_interval=0.05, batch_size=50, max_buffered=max_buffered,
                          in_transaction=apply_rollups)
    task = asyncio.create_task(writer.run())
    with caplog.at_level(logging.INFO, logger="service.store.writer"):
        await pour(writer, 0, 300, 0.5)
        await eventually(lambda: writer.written == 300)

        await asyncio.to_thread(cluster.pause)
        await pour(writer, 300, 1000, 1.0)  # 1000 results while the server is down
        seen = writer.failures
        # Tried again after the last result came in: a failed try is when the buffer is
        # trimmed to its bound, so before it the newest results may still be over it.
        await eventually(lambda: writer.failures >= max(2, seen + 1))
        assert writer.buffered == kept_from_outage <= max_buffered
        assert writer.dropped == 1000 - kept_from_outage

        await asyncio.to_thread(cluster.resume)
        await pour(writer, 1300, 300, 0.5)
        await eventually(lambda: writer.buffered == 0)
        await writer.close()
        await task

    outage_kept = range(1300 - kept_from_outage, 1300)  # the oldest are dropped first
    assert stored(engine) == [*range(300), *outage_kept, *range(1300, 1600)]
    assert rolled_up(engine) == 600 + kept_from_outage  # rollups committed with their rows
    assert writer.rejected == 0

    messages = [(r.levelname, r.getMessage(), getattr(r, "buffered", None))
                for r in caplog.records]
    failed = [m for m in messages if m[1].startswith("writing probe results failed")]
    assert len(failed) == 1 and failed[0][0] == "WARNING" and failed[0][2] >= 1  # once
    assert any(m[1] == "writing probe results recovered" for m in messages)
    full = [m for m in messages if m[1].startswith("result buffer full")]
    assert len(full) == (1 if writer.dropped else 0)


# --- the daemon through the same restart -------------------------------------------------------

DAEMON_CONFIG = """
builtin_catalog: false
database: {url}
listen: 127.0.0.1:{port}
scoring: {{every: 2s, window: 10m}}
cluster: {{lease_ttl: 3s}}
providers:
  p: {{facts: {{founded_year: 2020}}}}
candidates:
{candidates}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{latency: 3}}
"""


def metric(text_: str, name: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(s.value for family in text_string_to_metric_families(text_)
               for s in family.samples if s.name == name)


async def test_daemon_probes_through_a_postgresql_restart_and_reports_its_backlog(
        server: tuple[PostgresCluster, Engine], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    from service.config import load_settings
    from service.daemon import Daemon
    from service.sim.behaviour import SimModel
    from service.sim.server import SimServer

    cluster, engine = server
    sim = SimServer({f"m{i}": SimModel(ttft_seconds=0.02, inter_token_seconds=0.002)
                     for i in range(3)}, seed=1)
    base_url = sim.start_in_thread()
    candidates = "\n".join(
        f"  p/m{i}: {{provider: p, api: openai, base_url: '{base_url}', model: m{i}, "
        f"probes: {{latency: {{every: 1s, timeout: 5s}}}}}}" for i in range(3))
    path = tmp_path / "fw.yaml"
    path.write_text(DAEMON_CONFIG.format(url=cluster.url, port=free_port(),
                                         candidates=candidates))
    settings = load_settings(path, environ={})
    daemon = Daemon(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        with caplog.at_level(logging.INFO, logger="service.store.writer"):
            async with httpx.AsyncClient(base_url=f"http://{settings.listen}") as http:
                await asyncio.wait_for(daemon.started.wait(), 30)
                await eventually(lambda: len(stored_ids(engine)) >= 3)

                await asyncio.to_thread(cluster.pause)
                await asyncio.sleep(4)  # a dozen probes while the server is down
                backlog = metric((await http.get("/metrics")).text,
                                 "factorwatch_store_buffered_results")
                ready = await http.get("/readyz")
                assert not task.done()
                assert backlog >= 6, backlog
                assert ready.status_code == 503
                assert ready.json()["checks"]["database"] is False

                await asyncio.to_thread(cluster.resume)
                await eventually(lambda: daemon.writer.buffered == 0, timeout=30)
                assert (await http.get("/readyz")).status_code == 200
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        sim.stop_thread()

    # Every probe the daemon ran is stored: none was lost to the restart.
    assert daemon.writer.dropped == 0 and daemon.writer.rejected == 0
    assert len(stored_ids(engine)) == daemon.writer.written
    assert daemon.writer.failures >= 1
    assert any(r.getMessage().startswith("writing probe results failed")
               for r in caplog.records)
