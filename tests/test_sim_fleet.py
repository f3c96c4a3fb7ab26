"""The simulated fleet: distributions, error rates, outages, truth records, each API's key
header, determinism by seed."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from probes import run_probe
from probes.result import ErrorClass
from probes.target import Target
from service.sim.behaviour import Outage, SimModel
from service.sim.server import SimServer


@pytest.mark.parametrize(("outage", "elapsed", "active"), [
    (Outage(start=10, duration=5), 9.9, False),
    (Outage(start=10, duration=5), 12, True),
    (Outage(start=10, duration=5), 15.1, False),
    (Outage(start=10, duration=5, every=60), 71, True),
    (Outage(start=10, duration=5, every=60), 76, False),
])
def test_outage_windows(outage: Outage, elapsed: float, active: bool) -> None:
    assert outage.active(elapsed) is active


def test_ttft_is_lognormal_around_its_median() -> None:
    model = SimModel(ttft_seconds=0.2, ttft_sigma=0.5)
    rng = random.Random(1)
    draws = [model.ttft(rng) for _ in range(4000)]
    assert statistics.median(draws) == pytest.approx(0.2, rel=0.05)
    assert max(draws) > 0.6  # a real tail, not a fixed delay


def test_error_rates_are_drawn_in_their_shares_and_reproducibly() -> None:
    model = SimModel(error_rate=0.1, error_rates={"status_429": 0.2, "error_in_stream": 0.1})

    def draws(seed: int) -> list[str | None]:
        return [model.draw_fault(random.Random(f"{seed}:{i}")) for i in range(3000)]

    counts = Counter(draws(1))
    assert counts["status_500"] / 3000 == pytest.approx(0.1, abs=0.02)
    assert counts["status_429"] / 3000 == pytest.approx(0.2 * 0.9, abs=0.03)
    assert counts["error_in_stream"] / 3000 == pytest.approx(0.1 * 0.9, abs=0.02)
    assert draws(1) == draws(1) and draws(1) != draws(2)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def probe_all(server: SimServer, client: httpx.AsyncClient, model: str, n: int,
                    api: str = "openai", key: str | None = None) -> list[ErrorClass | None]:
    target = Target(api=api, base_url=server.url_for(api), model=model, api_key=key,
                    timeout_seconds=2)
    return [(await run_probe("latency", target, client)).error_class for _ in range(n)]


@pytest.mark.integration
async def test_outage_fails_every_request_in_its_window(client: httpx.AsyncClient) -> None:
    models = {"down": SimModel(ttft_seconds=0, inter_token_seconds=0,
                               outages=(Outage(start=0, duration=60),)),
              "dropped": SimModel(outages=(Outage(start=0, duration=60, status=0),)),
              "later": SimModel(ttft_seconds=0, inter_token_seconds=0,
                                outages=(Outage(start=60, duration=60),))}
    server = SimServer(models)
    await server.start()
    try:
        assert await probe_all(server, client, "down", 3) == [ErrorClass.HTTP_5XX] * 3
        assert await probe_all(server, client, "dropped", 2) == [ErrorClass.NETWORK] * 2
        assert await probe_all(server, client, "later", 2) == [None, None]
        assert [r.outcome for r in server.records[:3]] == ["outage"] * 3
    finally:
        await server.stop()


@pytest.mark.integration
async def test_same_seed_same_outcomes_and_truth(client: httpx.AsyncClient) -> None:
    model = SimModel(ttft_seconds=0.01, ttft_sigma=0.8, inter_token_seconds=0.001,
                     output_tokens=3, error_rates={"status_500": 0.3, "close_mid_stream": 0.2})

    async def outcomes(seed: int) -> list[str]:
        server = SimServer({"m": model}, seed=seed)
        await server.start()
        try:
            await probe_all(server, client, "m", 15)
            return [r.outcome for r in server.records]
        finally:
            await server.stop()

    first = await outcomes(4)
    assert first == await outcomes(4) and first != await outcomes(5)
    assert {"ok", "status_500", "close_mid_stream"} <= set(first)


@pytest.mark.integration
@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini", "azure-openai"])
async def test_each_api_checks_its_own_key_header_and_records_truth(
        client: httpx.AsyncClient, api: str) -> None:
    server = SimServer({"m": SimModel(ttft_seconds=0.02, inter_token_seconds=0.004,
                                      output_tokens=5)}, api_key="right")
    await server.start()
    try:
        assert await probe_all(server, client, "m", 1, api, key="right") == [None]
        assert await probe_all(server, client, "m", 1, api, key="wrong") == [ErrorClass.AUTH]
        ok, refused = server.records
        assert (ok.dialect, ok.status, ok.content_tokens, len(ok.token_times)) == (api, 200, 5, 5)
        assert ok.first_content_at is not None
        # It waits at least the configured TTFT (how much longer depends on the machine's load).
        assert 0.019 <= ok.first_content_at - ok.received_at < 1.0
        assert refused.status == 401
    finally:
        await server.stop()


@pytest.mark.integration
async def test_azure_path_needs_an_api_version(client: httpx.AsyncClient) -> None:
    server = SimServer({"dep": SimModel()})
    await server.start()
    try:
        url = f"{server.url_for('azure-openai')}/openai/deployments/dep/chat/completions"
        assert (await client.post(url, json={})).status_code == 404
    finally:
        await server.stop()
