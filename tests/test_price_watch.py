"""Price polling against a real local server: history seeds, changes, bad entries, overrides."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.config import Settings, load_settings
from service.prices.points import price_history
from service.store.models import Event, PricePoint
from service.watch import Watch
from service.watch.metrics import SourceMetrics
from tests.clock import T0 as NOW
from tests.source_server import REAL, Route, SourceServer

pytestmark = pytest.mark.integration

LITELLM = json.loads((REAL / "litellm_model_prices_and_context_window.json").read_bytes())

CONFIG = """
builtin_catalog: false
providers: {{openai: {{}}, openrouter: {{}}}}
candidates:
  openai/gpt-4o-mini:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o-mini
    price: {{source: litellm, input_per_mtok: 0.15, output_per_mtok: 0.6, as_of: 2026-11-20}}
  openai/gpt-4o:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o
    price: {{source: litellm}}
  openai/custom:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: custom
    price: {{input_per_mtok: 1.0, output_per_mtok: 2.0}}
  openrouter/astra:
    provider: openrouter
    api: openai
    base_url: https://openrouter.ai/api/v1
    model: openai/gpt-6-astra
    price: {{source: openrouter}}
pricing:
  sources:
    - {{format: litellm, url: "{base}/litellm.json"}}
    - {{format: openrouter, url: "{base}/models"}}
    - {{format: yaml, url: "{negotiated}"}}
"""


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    srv.routes["/litellm.json"] = Route.fixture("litellm_model_prices_and_context_window.json",
                                                etag='"map-1"')
    srv.routes["/models"] = Route.fixture("openrouter_api_v1_models_excerpt.json")
    yield srv
    srv.close()


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: polling and parsing are under test; the price points it saves are held
    # to both backends in test_price_points.py and test_price_seed.py.
    return sqlite_url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def negotiated(tmp_path: Path) -> Path:
    path = tmp_path / "negotiated.yaml"
    path.write_text("prices: {}\n")
    return path


@pytest.fixture
def settings(server: SourceServer, negotiated: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(base=server.base, negotiated=negotiated))
    return load_settings(path, environ={})


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def watch(settings: Settings, engine: Engine, client: httpx.AsyncClient,
          registry: CollectorRegistry) -> Watch:
    w = Watch(settings, engine, registry, lambda: client)
    with Session(engine) as session, session.begin():
        w.prepare(session, NOW)
    return w


def pollers(watch: Watch) -> dict[str, object]:
    return {p.format: p for _, p in watch.pricing}


def latest(engine: Engine, cid: str) -> PricePoint:
    with Session(engine) as session:
        return session.exec(select(PricePoint).where(PricePoint.candidate_id == cid)
                            .order_by(PricePoint.effective_at.desc(),  # type: ignore[attr-defined]
                                      PricePoint.id.desc())).first()  # type: ignore[union-attr]


def events(engine: Engine) -> list[Event]:
    with Session(engine) as session:
        return list(session.exec(select(Event).where(Event.type == "price_change")).all())


async def poll(watch: Watch, fmt: str) -> None:
    await pollers(watch)[fmt].poll()  # type: ignore[attr-defined]


def test_first_start_seeds_history_and_static_prices_without_events(
        watch: Watch, engine: Engine) -> None:
    with Session(engine) as session:
        mini = price_history(session, "openai/gpt-4o-mini", NOW - timedelta(days=3 * 365), NOW)
        gpt4o = price_history(session, "openai/gpt-4o", NOW - timedelta(days=3 * 365), NOW)
    # gpt-4o-mini: the bundled history (from 2025-02-06), then the dated config figures.
    assert mini[0].effective_at == datetime(2025, 2, 6, 2, 56, 3, tzinfo=UTC)
    assert mini[-1].effective_at == datetime(2026, 11, 20, tzinfo=UTC)
    assert (mini[-1].input_per_mtok, mini[-1].output_per_mtok) == (0.15, 0.6)
    assert len(gpt4o) >= 1 and gpt4o[0].source == "litellm"
    assert latest(engine, "openai/custom").source == "static"
    assert events(engine) == []
    with Session(engine) as session, session.begin():  # a restart adds nothing
        before = len(session.exec(select(PricePoint)).all())
        watch.prepare(session, NOW + timedelta(hours=1))
        session.flush()
        assert len(session.exec(select(PricePoint)).all()) == before


async def test_live_lists_record_full_prices_and_a_repeat_poll_changes_nothing(
        watch: Watch, engine: Engine, server: SourceServer, registry: CollectorRegistry) -> None:
    await poll(watch, "litellm")
    await poll(watch, "openrouter")
    mini, astra = latest(engine, "openai/gpt-4o-mini"), latest(engine, "openrouter/astra")
    assert (mini.source, mini.batch_input_per_mtok, mini.batch_output_per_mtok) == (
        "litellm", 0.075, 0.3)
    assert (astra.input_per_mtok, astra.cache_write_per_mtok, astra.tiers[0]["above_input_tokens"]
            ) == (10.0, 12.5, 271999)
    with Session(engine) as session:
        count = len(session.exec(select(PricePoint)).all())
    await poll(watch, "litellm")  # 304
    await poll(watch, "openrouter")  # same body again
    with Session(engine) as session:
        assert len(session.exec(select(PricePoint)).all()) == count
    assert server.routes["/litellm.json"].conditional_hits == 1
    assert registry.get_sample_value("factorwatch_price_points_recorded_total",
                                     {"source": "openrouter"}) == 1


def _map_with(**entries: dict[str, object]) -> bytes:
    return json.dumps({**LITELLM, **entries}).encode()


async def test_price_change_saves_old_and_new_figures_and_bad_entries_keep_the_last_good(
        watch: Watch, engine: Engine, server: SourceServer, registry: CollectorRegistry) -> None:
    await poll(watch, "litellm")
    cheaper = {**LITELLM["gpt-4o-mini"], "input_cost_per_token": 1e-07}
    server.routes["/litellm.json"] = Route(_map_with(**{"gpt-4o-mini": cheaper}), etag='"2"')
    await poll(watch, "litellm")
    (event,) = events(engine)
    assert event.severity == "info"
    assert (event.payload["old"]["input_per_mtok"], event.payload["new"]["input_per_mtok"]) == (
        0.15, 0.1)
    assert latest(engine, "openai/gpt-4o-mini").input_per_mtok == 0.1
    negative = {**LITELLM["gpt-4o-mini"], "input_cost_per_token": -1e-07}
    server.routes["/litellm.json"] = Route(_map_with(**{"gpt-4o-mini": negative}), etag='"3"')
    await poll(watch, "litellm")
    assert latest(engine, "openai/gpt-4o-mini").input_per_mtok == 0.1  # the last good one
    assert len(events(engine)) == 1
    assert registry.get_sample_value("factorwatch_source_entries_rejected_total", {
        "kind": "pricing", "source": server.url("/litellm.json")}) == 1


async def test_negotiated_yaml_overrides_the_list_until_removed(
        watch: Watch, engine: Engine, negotiated: Path) -> None:
    await poll(watch, "litellm")
    negotiated.write_text("prices:\n  openai/gpt-4o:\n    input_per_mtok: 1.0\n"
                          "    output_per_mtok: 4.0\n")
    await poll(watch, "yaml")
    assert (latest(engine, "openai/gpt-4o").source,
            latest(engine, "openai/gpt-4o").input_per_mtok) == ("yaml", 1.0)
    await poll(watch, "litellm")  # the list does not win back the overridden candidate
    assert latest(engine, "openai/gpt-4o").source == "yaml"
    negotiated.write_text("prices:\n  openai/gpt-4o:\n    input_per_mtok: -1\n"
                          "    output_per_mtok: 4.0\n")
    await poll(watch, "yaml")  # a bad override keeps the last good price
    assert latest(engine, "openai/gpt-4o").input_per_mtok == 1.0
    negotiated.write_text("prices: {}\n")
    await poll(watch, "yaml")
    assert latest(engine, "openai/gpt-4o").source == "litellm"
    assert [e.payload["candidate"] for e in events(engine)] == ["openai/gpt-4o"] * 2


@pytest.mark.parametrize(("route", "result"), [
    pytest.param(Route(b"<html>rate limited</html>", "text/html"), "parse_error", id="html"),
    pytest.param(Route(b'{"gpt-4o": {"input_cost_per'), "parse_error", id="truncated-json"),
    pytest.param(Route(b"", status=404), "missing", id="list-moved-away"),
])
async def test_broken_list_leaves_prices_alone(
        route: Route, result: str, watch: Watch, engine: Engine, server: SourceServer,
        registry: CollectorRegistry) -> None:
    await poll(watch, "litellm")
    before = latest(engine, "openai/gpt-4o-mini").id
    server.routes["/litellm.json"] = route
    await poll(watch, "litellm")
    assert latest(engine, "openai/gpt-4o-mini").id == before
    assert registry.get_sample_value("factorwatch_source_polls_total", {
        "kind": "pricing", "source": server.url("/litellm.json"), "result": result}) == 1


def test_jobs_poll_every_source_and_check_outages(watch: Watch) -> None:
    assert sorted(j.name for j in watch.jobs()) == [
        "honesty", "outages", "pricing:litellm", "pricing:openrouter", "pricing:yaml"]


def test_metrics_registry_is_passed_in(registry: CollectorRegistry) -> None:
    SourceMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        SourceMetrics(registry)  # a fresh registry per daemon; nothing global
