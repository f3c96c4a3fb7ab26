"""The simulated fleet's status pages, price list and webhook: what the demo's watchers read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from probes.pricing import READERS as PRICE_READERS
from probes.status import parse
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.status_pages import (
    ALERTS_PATH,
    FORMAT_PATHS,
    PRICES_PATH,
    Incident,
    litellm_prices,
    status_document,
    status_path,
    summary,
)

STARTED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
FLAKY = (Incident("Elevated error rates", impact="minor", start=2.0),
         Incident("API unavailable", impact="major", start=60.0, duration=15.0, every=300.0))


def test_incidents_open_and_close_on_their_schedule() -> None:
    assert parse(json.dumps(summary("p", FLAKY, STARTED, 1.0)).encode()).incidents == ()
    report = parse(json.dumps(summary("p", FLAKY, STARTED, 61.0)).encode(), "statuspage")
    assert report.lists_all_open and report.component_status == {"API": "partial_outage"}
    assert [(i.title, i.impact, i.status) for i in report.incidents] == [
        ("Elevated error rates", "minor", "investigating"),
        ("API unavailable", "major", "investigating")]
    assert report.incidents[1].started_at == datetime(2026, 1, 5, 12, 1, tzinfo=UTC)
    later = parse(json.dumps(summary("p", FLAKY, STARTED, 80.0)).encode())
    assert [i.title for i in later.incidents] == ["Elevated error rates"]
    again = parse(json.dumps(summary("p", FLAKY, STARTED, 361.0)).encode())
    assert again.incidents[1].external_id != report.incidents[1].external_id  # a new one


@pytest.mark.parametrize("fmt", sorted(FORMAT_PATHS))
def test_every_format_serves_the_same_incidents(fmt: str) -> None:
    pages = {"p": FLAKY}
    served = status_document(status_path("p", fmt), pages, STARTED, 61.0)
    assert served is not None
    report = parse(served[1])  # detected, as a source without `format` would be
    assert report.format == fmt and report.lists_all_open
    assert [(i.title, i.status, i.started_at, i.components) for i in report.incidents] == [
        ("Elevated error rates", "investigating", datetime(2026, 1, 5, 12, 0, 2, tzinfo=UTC),
         ("API",)),
        ("API unavailable", "investigating", datetime(2026, 1, 5, 12, 1, tzinfo=UTC), ("API",))]
    if fmt != "azure-status":  # Azure's feed says nothing of impact
        assert [i.impact for i in report.incidents] == ["minor", "major"]
    quiet = status_document(status_path("p", fmt), pages, STARTED, 1.0)
    assert quiet is not None and parse(quiet[1], fmt).incidents == ()
    assert status_document(status_path("nobody", fmt), pages, STARTED, 1.0) is None


def test_the_price_list_reads_back_as_configured() -> None:
    body = json.dumps(litellm_prices({"m": (0.15, 0.6, 0.075), "n": (1.0, 2.0, None)}))
    prices = PRICE_READERS["litellm"](body.encode(), None)
    quote = prices.quotes["m"]
    assert (quote.input_per_mtok, quote.output_per_mtok, quote.cached_input_per_mtok) == (
        0.15, 0.6, 0.075)


@pytest.fixture
async def origin() -> AsyncIterator[tuple[SimServer, str]]:
    server = SimServer({"m": SimModel()}, status_pages={"p": FLAKY[:1]},
                       price_list=litellm_prices({"m": (1.0, 2.0, None)}))
    await server.start()
    assert server.origin
    yield server, server.origin
    await server.stop()


@pytest.mark.integration
async def test_the_server_serves_them(origin: tuple[SimServer, str]) -> None:
    server, url = origin
    async with httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/status/p/api/v2/summary.json")
        assert page.status_code == 200 and parse(page.content).format == "statuspage"
        assert (await client.get("/status/nobody/api/v2/summary.json")).status_code == 404
        feed = await client.get(status_path("p", "azure-status"))
        assert feed.headers["content-type"] == "application/rss+xml"
        assert parse(feed.content).format == "azure-status"
        assert (await client.get(PRICES_PATH)).json()["m"]["input_cost_per_token"] == 1e-6
        hook = await client.post(ALERTS_PATH, json={"version": 1, "events": []})
        assert hook.status_code == 200 and server.alerts_received == 1
