"""End to end: the daemon follows a status page and a price list served on 127.0.0.1, keeps
going when they break, and shows both in /metrics and the store."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from service.config import load_settings
from service.daemon import Daemon
from service.store.models import Incident, PricePoint
from tests.source_server import Route, SourceServer

pytestmark = pytest.mark.integration

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
listen: 127.0.0.1:{port}
scoring: {{every: 1s}}
providers:
  anthropic:
    status:
      - {{url: "{base}/status.json", every: 1s, components: [Claude Console (platform.claude.com)]}}
candidates:
  anthropic/claude-sonnet-4-5:
    provider: anthropic
    api: anthropic
    base_url: https://api.anthropic.com/v1
    model: claude-sonnet-4-5
    price: {{source: litellm}}
pricing:
  sources:
    - {{format: litellm, url: "{base}/prices.json", every: 1s}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    srv.routes["/status.json"] = Route.fixture("anthropic_statuspage_summary.json", etag='"a"')
    srv.routes["/prices.json"] = Route.fixture("litellm_model_prices_and_context_window.json")
    yield srv
    srv.close()


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


async def test_daemon_follows_status_and_prices_and_survives_them_breaking(
        server: SourceServer, tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(), base=server.base))
    settings = load_settings(path, environ={})
    daemon = Daemon(settings, environ={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    status_url = server.url("/status.json")
    try:
        await asyncio.wait_for(daemon.started.wait(), 15)
        async with httpx.AsyncClient(base_url=f"http://{settings.listen}") as http:
            async def metric(name: str, **labels: str) -> float | None:
                return sample((await http.get("/metrics")).text, name, **labels)

            async def followed() -> bool:
                up = await metric("factorwatch_source_up", kind="status", source=status_url)
                price = await metric("factorwatch_price_points_recorded_total",
                                     source="litellm")
                return up == 1 and price == 1

            await wait_for(followed)
            server.routes["/status.json"] = Route(b"<html>502</html>", "text/html")

            async def parse_error_seen() -> bool:
                return await metric("factorwatch_source_polls_total", kind="status",
                                    source=status_url, result="parse_error") is not None

            await wait_for(parse_error_seen)
            assert await metric("factorwatch_source_up", kind="status", source=status_url) == 0
            assert (await http.get("/healthz")).status_code == 200
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    with Session(daemon.engine) as session:
        (incident,) = session.exec(select(Incident)).all()
        point = session.exec(select(PricePoint)).one()
    assert incident.external_id == "978mjkgw6mh7"
    assert (point.source, point.input_per_mtok, point.cache_write_per_mtok) == (
        "litellm", 3.0, 3.75)
