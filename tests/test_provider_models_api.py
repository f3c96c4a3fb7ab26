"""GET /api/v1/providers/{p}/models on a running daemon: its own keys, the simulator's model
list and price list, every answer an error names what to fix and never shows a key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devtools.demo import free_port
from service.config import load_settings
from service.daemon import Daemon
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.status_pages import PRICES_PATH, litellm_prices

pytestmark = pytest.mark.integration

KEY = "sk-proj-APIDISCOVERKEY0123456789abcd"
CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
listen: 127.0.0.1:{port}
scoring: {{every: 60s}}
model_lists: {{enabled: false}}
providers:
  p: {{}}
  q: {{}}
candidates:
  p/m:
    provider: p
    api: anthropic
    base_url: {base_url}
    model: m
    api_key_env: P_KEY
    price: {{source: litellm, key: m}}
  q/m:
    provider: q
    api: openai
    base_url: {base_url}
    model: m
    api_key_env: Q_KEY
    price: {{source: litellm, key: m}}
pricing:
  sources: [{{format: litellm, url: "{prices}"}}]
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 500, output_tokens: 200}}
    weights: {{cost: 3}}
"""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(), "new-one": SimModel()}, api_key=KEY,
                       price_list=litellm_prices({"m": (1, 2, None), "new-one": (3, 4, None)}))
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
async def daemon(tmp_path: Path, sim: SimServer) -> AsyncIterator[Daemon]:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(),
                                  base_url=sim.url_for("anthropic"),
                                  prices=f"{sim.origin}{PRICES_PATH}"))
    daemon = Daemon(load_settings(path, environ={}),
                    environ={"P_KEY": KEY, "Q_KEY": "sk-proj-NOTTHEKEY0123456789abcdef"})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.started.wait(), 20)
    yield daemon
    stop.set()
    await asyncio.wait_for(task, 60)


async def test_the_daemons_key_lists_the_providers_models(daemon: Daemon) -> None:
    async with httpx.AsyncClient(base_url=f"http://{daemon.settings.listen}") as http:
        page = (await http.get("/api/v1/providers/p/models")).json()
        refused = await http.get("/api/v1/providers/q/models")
        unknown = await http.get("/api/v1/providers/nope/models")
    assert page["next_cursor"] is None
    items = {item["model"]: item for item in page["items"]}
    assert items["m"]["candidate"] == "p/m" and items["m"]["config"] is None
    new = items["new-one"]
    assert new["candidate_id"] == "p/new-one"
    assert new["price"]["input_per_mtok"] == 3.0
    assert new["config"]["api_key_env"] == "P_KEY"  # the variable's name, never its value
    assert new["config"]["price"] == {"source": "litellm", "key": "new-one",
                                      "input_per_mtok": 3.0, "output_per_mtok": 4.0,
                                      "as_of": new["config"]["price"]["as_of"]}
    assert refused.status_code == 502
    assert refused.json()["detail"].startswith("q refused the key (Q_KEY): HTTP 401 from ")
    assert unknown.status_code == 404
    for text in (str(page), refused.text):
        assert KEY not in text and "NOTTHEKEY" not in text


async def test_a_key_the_daemon_lacks_is_named(tmp_path: Path, sim: SimServer) -> None:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(),
                                  base_url=sim.url_for("anthropic"),
                                  prices=f"{sim.origin}{PRICES_PATH}"))
    daemon = Daemon(load_settings(path, environ={}), environ={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        await asyncio.wait_for(daemon.started.wait(), 20)
        async with httpx.AsyncClient(base_url=f"http://{daemon.settings.listen}") as http:
            missing = await http.get("/api/v1/providers/p/models")
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    assert missing.status_code == 409
    assert missing.json()["detail"] == "P_KEY is not set (the API key of provider p)"
