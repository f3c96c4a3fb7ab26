"""The API wired into a running daemon: the token from its environment, rescore by the
leader, the store-backed metrics on /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.demo import free_port
from service.config import load_settings
from service.daemon import Daemon
from service.sim.behaviour import SimModel
from service.sim.server import SimServer

pytestmark = pytest.mark.integration

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
listen: 127.0.0.1:{port}
scoring: {{every: 60s, window: 10m}}
providers:
  fastco: {{sla: {{availability: 0.99}}}}
candidates:
  fastco/quick:
    provider: fastco
    api: openai
    base_url: {base_url}
    model: quick
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 500, output_tokens: 200}}
    weights: {{latency: 3, cost: 3}}
"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    sim = SimServer({"quick": SimModel(ttft_seconds=0.02, inter_token_seconds=0.002)})
    sim.start_in_thread()
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(),
                                  base_url=sim.url_for("openai")))
    yield Daemon(load_settings(path, environ={}), environ={"FACTORWATCH_API_TOKEN": "tok"})
    sim.stop_thread()


async def test_rescore_with_the_token_scores_now(daemon: Daemon) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        await asyncio.wait_for(daemon.started.wait(), 20)
        async with httpx.AsyncClient(base_url=f"http://{daemon.settings.listen}") as http:
            for _ in range(50):  # the first scoring pass runs a few seconds after start
                first = await http.get("/api/v1/workloads/chat/history")
                if first.json()["items"]:
                    break
                await asyncio.sleep(0.2)
            assert (await http.post("/api/v1/rescore")).status_code == 401
            r = await http.post("/api/v1/rescore", headers={"Authorization": "Bearer tok"})
            assert r.status_code == 200, r.text
            history = (await http.get("/api/v1/workloads/chat/history")).json()["items"]
            metrics = (await http.get("/metrics")).text
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    assert len(history) == len(first.json()["items"]) + 1
    assert history[0]["evaluated_at"].startswith(r.json()["evaluated_at"]["chat"][:19])
    assert 'factorwatch_availability_window_ratio{candidate="fastco/quick"' in metrics
    assert "factorwatch_event_loop_lag_seconds_count" in metrics
