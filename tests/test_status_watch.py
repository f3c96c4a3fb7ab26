"""Status polling against a real local server: good sources, broken ones, 304s, staleness."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.store.models import Event, Incident
from service.watch.metrics import SourceMetrics
from service.watch.status import StatusPoller
from tests.clock import Clock
from tests.source_server import REAL, Route, SourceServer

pytestmark = pytest.mark.integration

# Not tests.clock.T0: just after the recorded pages were fetched (fixtures/real/SOURCES.md).
T0 = datetime(2026, 10, 8, 0, 0, tzinfo=UTC)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: polling is under test; the incidents it saves are held to both backends
    # in test_incident_store.py.
    return sqlite_url


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    yield srv
    srv.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> SourceMetrics:
    return SourceMetrics(registry)


def poller(server: SourceServer, engine: Engine, client: httpx.AsyncClient,
           metrics: SourceMetrics, path: str = "/s", clock: Clock[datetime] | None = None,
           **kw: object) -> StatusPoller:
    args: dict[str, object] = {"fmt": None, "components": [], "stale_after": 1800.0}
    args.update(kw)
    return StatusPoller("anthropic", server.url(path), engine=engine, client=lambda: client,
                        metrics=metrics, clock=clock or Clock(T0),
                        **args)  # type: ignore[arg-type]


def polls(registry: CollectorRegistry, url: str, result: str) -> float:
    return registry.get_sample_value("factorwatch_source_polls_total",
                                     {"kind": "status", "source": url, "result": result}) or 0


def incidents(engine: Engine) -> list[Incident]:
    with Session(engine) as session:
        return list(session.exec(select(Incident)).all())


def events(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [e.type for e in session.exec(select(Event).order_by(Event.id))]


@pytest.mark.parametrize("name", [
    "anthropic_statuspage_summary.json", "anthropic_statuspage_scheduled_maintenances.json",
    "openai_status_summary_incidentio.json", "anthropic_status_claude_history.atom",
    "openai_status_history_excerpt.atom", "gcp_status_incidents_excerpt.json",
])
async def test_each_real_format_is_detected_polled_and_stored(
        name: str, server: SourceServer, engine: Engine, client: httpx.AsyncClient,
        registry: CollectorRegistry, metrics: SourceMetrics) -> None:
    server.routes["/s"] = Route.fixture(name)
    p = poller(server, engine, client, metrics)
    await p.poll()
    assert polls(registry, p.url, "ok") == 1
    assert registry.get_sample_value("factorwatch_source_up",
                                     {"kind": "status", "source": p.url}) == 1
    assert registry.get_sample_value("factorwatch_source_last_success_timestamp_seconds",
                                     {"kind": "status", "source": p.url}) == T0.timestamp()
    assert len(incidents(engine)) >= 1


async def test_conditional_get_turns_repeat_polls_into_304s(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient,
        registry: CollectorRegistry, metrics: SourceMetrics) -> None:
    server.routes["/s"] = Route.fixture("anthropic_statuspage_summary.json", etag='"v1"')
    server.routes["/m"] = Route.fixture("anthropic_statuspage_summary.json",
                                        last_modified="Wed, 07 Oct 2026 23:44:53 GMT")
    for path in ("/s", "/m"):
        p = poller(server, engine, client, metrics, path)
        for _ in range(3):
            await p.poll()
        assert polls(registry, p.url, "ok") == 1
        assert polls(registry, p.url, "not_modified") == 2
        assert server.routes[path].conditional_hits == 2
    assert len(incidents(engine)) == 1 and events(engine) == ["incident_opened"]


def _truncated() -> bytes:
    body = (REAL / "anthropic_status_claude_history.atom").read_bytes()
    return body[: len(body) // 2]


@pytest.mark.parametrize(("route", "result", "fmt"), [
    pytest.param(Route(b"<html><body>Sign in</body></html>", "text/html"), "parse_error",
                 None, id="html-login-page"),
    pytest.param(Route(b""), "parse_error", None, id="empty-body"),
    pytest.param(Route(_truncated(), "application/atom+xml"), "parse_error", "feed",
                 id="truncated-xml"),
    pytest.param(Route(b'{"status": "all good", "version": 2}'), "parse_error", None,
                 id="json-of-another-shape"),
    pytest.param(Route(b"oops", status=503), "http_status", None, id="server-error"),
    pytest.param(Route(b"gone", status=404), "missing", None, id="source-disappeared"),
    pytest.param(Route(b"x" * 5000), "too_large", None, id="huge-declared-length"),
    pytest.param(Route(b"x" * 5000, chunked=True), "too_large", None, id="huge-chunked-body"),
    pytest.param(Route(b"{}", delay=1.0), "timeout", None, id="hangs"),
])
async def test_bad_source_is_counted_logged_and_changes_nothing(
        route: Route, result: str, fmt: str | None, server: SourceServer, engine: Engine,
        client: httpx.AsyncClient, registry: CollectorRegistry, metrics: SourceMetrics,
        caplog: pytest.LogCaptureFixture) -> None:
    server.routes["/s"] = Route.fixture("anthropic_statuspage_summary.json")
    p = poller(server, engine, client, metrics, fmt=fmt)
    await p.poll()
    before = [(i.external_id, i.status, len(i.updates)) for i in incidents(engine)]
    server.routes["/s"] = route
    p.max_bytes, p.timeout = 4096, 0.3
    with caplog.at_level(logging.WARNING, logger="service.watch"):
        await p.poll()  # never raises
    assert polls(registry, p.url, result) == 1
    assert registry.get_sample_value("factorwatch_source_up",
                                     {"kind": "status", "source": p.url}) == 0
    assert f"failed: {result}" in caplog.text
    assert [(i.external_id, i.status, len(i.updates)) for i in incidents(engine)] == before


async def test_unreachable_host_is_a_network_failure(
        engine: Engine, client: httpx.AsyncClient, registry: CollectorRegistry,
        metrics: SourceMetrics) -> None:
    p = StatusPoller("x", "http://127.0.0.1:9/status.json", fmt=None, components=[],
                     stale_after=60, engine=engine, client=lambda: client, metrics=metrics)
    await p.poll()
    assert polls(registry, p.url, "network") == 1


async def test_source_unreadable_past_stale_after_raises_one_event_per_episode(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient,
        registry: CollectorRegistry, metrics: SourceMetrics,
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    server.routes["/s"] = Route.fixture("anthropic_statuspage_summary.json")
    p = poller(server, engine, client, metrics, clock=clock, stale_after=600.0)
    await p.poll()
    server.routes["/s"] = Route(b"<html>maintenance</html>", "text/html")
    for minutes in (5, 11, 20):  # stale from minute 10 on: told once
        clock.now = T0 + timedelta(minutes=minutes)
        await p.poll()
    assert events(engine) == ["incident_opened", "status_source_stale"]
    assert "has not been readable" in caplog.text
    server.routes["/s"] = Route.fixture("anthropic_statuspage_summary.json")
    clock.now = T0 + timedelta(minutes=30)
    await p.poll()  # recovers
    server.routes["/s"] = Route(b"", status=500)
    clock.now = T0 + timedelta(minutes=45)
    await p.poll()  # a new episode: told again
    assert events(engine).count("status_source_stale") == 2


async def test_component_filter_keeps_only_the_followed_products(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient,
        registry: CollectorRegistry, metrics: SourceMetrics) -> None:
    server.routes["/gcp"] = Route.fixture("gcp_status_incidents_excerpt.json")
    vertex = poller(server, engine, client, metrics, "/gcp", components=["Vertex Gemini API"])
    await vertex.poll()
    assert incidents(engine) == []
    compute = poller(server, engine, client, metrics, "/gcp",
                     components=["Google Compute Engine"])
    await compute.poll()
    assert [i.external_id for i in incidents(engine)] == ["J5ia5t9p3g9Q5Wi7r8Ev"]
