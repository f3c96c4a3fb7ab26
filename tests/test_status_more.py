"""The status pages of Azure (its RSS feed), DeepSeek (Flashduty) and Mistral (Rootly, and the
Checkly page before it), read from real samples (tests/fixtures/real, provenance in
SOURCES.md there): each is parsed whole, filtered as the built-in catalog filters it, polled
through the watcher against a real local server, and fed broken variants that must fail
clearly and lose nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from probes.status import ParseError, detect, matches_components, parse
from service.catalog import builtin_catalog
from service.store.models import Event, Incident
from service.watch.metrics import SourceMetrics
from service.watch.status import StatusPoller
from tests.clock import Clock
from tests.conftest import REAL_FIXTURES as REAL
from tests.source_server import Route, SourceServer

AZURE_WUS = "azure-rss-westus-20260723-wus.xml"
AZURE_EUS = "azure-rss-westus-20260723-eus.xml"
AZURE_EMPTY = "azure-rss-empty-20260801.xml"
AZURE_AFD = "azure-rss-afd-20251029-wayback.xml"
AZURE_CROWDSTRIKE = "azure-rss-crowdstrike-20240721-wayback.xml"
DS_INFO = "deepseek-flashduty-change-info.json"
DS_LIST = "deepseek-flashduty-change-list-2024-07.json"
DS_ACTIVE = "deepseek-flashduty-summary-active-empty.json"
CHECKLY_0723 = "mistral-checkly-unresolved-incidents-20260723.json"
CHECKLY_0727 = "mistral-checkly-unresolved-incidents-20260727.json"
CHECKLY_SUMMARY = "mistral-checkly-summary-TRIMMED-20260917.json"
ROOTLY = "mistral-rootly-status-json-TRIMMED-20260918.json"


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def catalog_source(provider: str) -> dict[str, Any]:
    (source,) = builtin_catalog()["providers"][provider]["status"]
    return dict(source)


# --- reading the real samples ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt", "count", "lists_all_open"), [
    (AZURE_WUS, "azure-status", 1, True),
    (AZURE_EUS, "azure-status", 1, True),
    (AZURE_EMPTY, "azure-status", 0, True),  # healthy: nothing open, so anything open ended
    (AZURE_AFD, "azure-status", 1, True),
    (AZURE_CROWDSTRIKE, "azure-status", 1, True),
    (DS_INFO, "flashduty", 1, False),
    (DS_LIST, "flashduty", 4, False),
    (DS_ACTIVE, "flashduty", 0, True),
    (CHECKLY_0723, "checkly", 1, True),
    (CHECKLY_0727, "checkly", 1, True),
    (CHECKLY_SUMMARY, "checkly", 1, True),
    (ROOTLY, "rootly", 0, True),
])
def test_real_sample_is_detected_and_read_whole(name: str, fmt: str, count: int,
                                                lists_all_open: bool) -> None:
    body = real(name)
    assert detect(body) == fmt
    report = parse(body, fmt)
    assert (report.format, len(report.incidents), report.lists_all_open) == (
        fmt, count, lists_all_open)
    assert report.warnings == ()
    for inc in report.incidents:
        assert inc.started_at.tzinfo is UTC
        assert (inc.resolved_at is None) == (inc.status != "resolved"), inc.external_id
        assert inc.resolved_at is None or inc.resolved_at >= inc.started_at
        assert inc.updates


def test_azure_item_is_open_with_its_services_and_regions_as_components() -> None:
    (inc,) = parse(real(AZURE_WUS)).incidents
    assert inc.external_id == "issues-connecting-to-resources-in-west-us@2026-07-23T16:29:09Z"
    assert inc.title == "Issues connecting to resources in West US"  # Azure's trailing space
    assert (inc.status, inc.impact, inc.resolved_at) == ("investigating", None, None)
    assert inc.started_at == utc("2026-07-23T16:29:09Z")  # pubDate, its bare "Z" zone
    assert len(inc.components) == 15
    assert {"Network Infrastructure", "West US", "Speech Services"} <= set(inc.components)
    (update,) = inc.updates
    assert update.at == utc("2026-07-23T18:12:58Z")  # the channel's lastBuildDate
    assert update.body.startswith("Starting at approximately 14:44 UTC on 23 July 2026")
    assert "<p>" not in update.body and "&nbsp;" not in update.body


def test_azure_revised_text_is_a_new_update_of_the_same_incident() -> None:
    (early,) = parse(real(AZURE_EUS)).incidents
    (late,) = parse(real(AZURE_WUS)).incidents
    assert early.external_id == late.external_id  # the same pubDate in both
    assert early.updates[0].at == utc("2026-07-23T16:49:55Z")
    assert early.updates[0].key != late.updates[0].key  # another text
    assert parse(real(AZURE_EUS)).incidents[0].updates[0].key == early.updates[0].key  # stable


def test_azure_component_filter_of_the_catalog() -> None:
    wanted = catalog_source("azure-openai")["components"]
    for name in (AZURE_WUS, AZURE_EUS, AZURE_AFD):  # both outages name Network Infrastructure
        (inc,) = parse(real(name)).incidents
        assert matches_components(inc, wanted) is True, name
    (crowdstrike,) = parse(real(AZURE_CROWDSTRIKE)).incidents
    assert crowdstrike.components == () and crowdstrike.text_only
    assert matches_components(crowdstrike, wanted) is False  # its text names neither
    assert matches_components(crowdstrike, ["CrowdStrike"]) is True
    (afd,) = parse(real(AZURE_AFD)).incidents
    assert matches_components(afd, ["Azure OpenAI Service", "Sweden Central"]) is False


def test_flashduty_change_info_lifecycle_times_and_impact() -> None:
    (inc,) = parse(real(DS_INFO)).incidents
    assert (inc.external_id, inc.status, inc.is_maintenance) == ("6843256773287", "resolved",
                                                                 False)
    assert inc.title == "搜索服务异常\uff08Search service error\uff09"  # full-width parentheses
    assert inc.started_at == datetime.fromtimestamp(1786689278, UTC)
    assert inc.resolved_at == datetime.fromtimestamp(1786689651, UTC)
    assert inc.impact == "major"  # a full outage of the search service at the first update
    assert inc.components == ("搜索服务(Search Service)",)
    assert [(u.status, u.id) for u in inc.updates] == [
        ("monitoring", "01KZZFNMWBY4Q8SEQ5WX5CXT5E"), ("monitoring", "01KZZFWVTCBNQMXJB6SZTVA620"),
        ("resolved", "01KZZG117ZY329NYQHWRQXMYF0")]
    assert inc.updates[0].components == ("搜索服务(Search Service)",)


def test_flashduty_change_list_holds_incidents_and_maintenances() -> None:
    report = parse(real(DS_LIST))
    by_id = {i.external_id: i for i in report.incidents}
    outage = by_id["4228535281227287"]
    assert (outage.status, outage.impact, outage.is_maintenance) == ("resolved", "major", False)
    assert [u.id for u in outage.updates] == [None, None, None]  # migrated: empty update_id
    maint = by_id["4017429048694287"]
    assert (maint.is_maintenance, maint.status, maint.impact) == (True, "resolved", None)
    assert [u.status for u in maint.updates] == ["scheduled", "in_progress", "resolved"]
    assert (maint.started_at, maint.resolved_at) == (
        datetime.fromtimestamp(1721884200, UTC), datetime.fromtimestamp(1721887800, UTC))


def test_flashduty_component_filter_of_the_catalog_keeps_the_api_only() -> None:
    wanted = catalog_source("deepseek")["components"]
    (search,) = parse(real(DS_INFO)).incidents
    assert matches_components(search, wanted) is False  # the chat website's search service
    outage = next(i for i in parse(real(DS_LIST)).incidents
                  if i.external_id == "4228535281227287")
    assert matches_components(outage, wanted) is True


def test_checkly_unresolved_incident_and_summary() -> None:
    (audio,) = parse(real(CHECKLY_0727)).incidents
    assert (audio.title, audio.status, audio.impact, audio.components) == (
        "Audio API Degraded", "investigating", "minor", ("Audio API",))
    assert audio.started_at == utc("2026-07-27T14:32:53.607Z")
    assert [(u.status, u.id) for u in audio.updates] == [
        ("investigating", "1013e42b-acb1-4026-bdf8-905de6aec21f")]
    (free,) = parse(real(CHECKLY_SUMMARY)).incidents
    assert (free.status, free.impact, free.components) == (
        "identified", "major", ("Chat Completions API",))
    assert free.url and free.url.endswith("/incident/44cb5e11-4736-4e6b-9198-97121820e15e")


# --- broken and changed bodies ----------------------------------------------------------------


def _cut(name: str, at: int) -> bytes:
    return real(name)[:at]


@pytest.mark.parametrize(("body", "fmt", "message"), [
    (_cut(AZURE_WUS, 1500), "azure-status", "not well-formed XML"),
    (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'></feed>", "azure-status",
     "expected <rss><channel>"),
    (b"<!DOCTYPE html><html><body>Just a moment...</body></html>", "azure-status",
     "an HTML page"),
    (b"", "azure-status", "empty response"),
    (b'{"request_id": "x", "error": {"code": "InvalidParameter", "message": "bad page_id"}}',
     "flashduty", "Flashduty answered an error: InvalidParameter: bad page_id"),
    (b'{"request_id": "x", "data": {"page": {}}}', "flashduty",
     "not a Flashduty status page answer"),
    (_cut(DS_ACTIVE, 300), "flashduty", "not JSON"),
    (b'{"hello": 1}', "checkly", "not a Checkly status page answer"),
    (b'{"page": {}, "incidents": []}', "rootly", "not a Rootly status.json"),
    (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>", "rootly",
     "an HTML page, not JSON"),
])
def test_bodies_that_are_not_the_format_raise_a_clear_parse_error(
        body: bytes, fmt: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, fmt)


def test_azure_item_that_cannot_be_read_is_skipped_and_ends_nothing() -> None:
    body = real(AZURE_EUS).replace(b"<pubDate>Thu, 23 Jul 2026 16:29:09 Z</pubDate>",
                                   b"<pubDate>yesterday</pubDate>")
    report = parse(body)
    assert report.incidents == ()
    assert report.warnings == ("skipped item 'Issues connecting to resources in West US': "
                               "no readable pubDate ('yesterday')",)
    assert not report.lists_all_open  # the item not read may still be open


def test_flashduty_bad_change_is_skipped_and_ends_nothing() -> None:
    doc = json.loads(real(DS_ACTIVE))
    change = json.loads(real(DS_INFO))["data"]
    doc["data"]["active_changes"] = [dict(change, status="investigating", close_at_seconds=0),
                                     {"title": "no id"}, dict(change, change_id=7,
                                                              start_at_seconds=None)]
    report = parse(json.dumps(doc).encode())
    (inc,) = report.incidents
    assert (inc.status, inc.resolved_at) == ("investigating", None)
    assert report.warnings == ("skipped a change: no change_id",
                               "skipped a change: change 7: no start_at_seconds")
    assert not report.lists_all_open


def test_rootly_incident_is_read_and_a_bad_one_ends_nothing() -> None:
    doc = json.loads(real(ROOTLY))
    doc["status"] = {"indicator": "minor", "description": "Partially Degraded Service"}
    doc["incidents"] = [{"id": "5e5018d9", "name": "Degraded OCR Availability",
                         "status": "investigating", "impact": "minor",
                         "started_at": "2026-09-18T10:00:00-07:00", "incident_updates": [
                             {"id": "u1", "status": "investigating", "body": "Looking",
                              "created_at": "2026-09-18T10:01:00-07:00"}]}]
    report = parse(json.dumps(doc).encode())
    assert report.format == "rootly" and report.lists_all_open
    (inc,) = report.incidents
    assert (inc.status, inc.impact, inc.started_at) == (
        "investigating", "minor", utc("2026-09-18T17:00:00Z"))
    doc["incidents"].append({"name": "no id"})
    broken = parse(json.dumps(doc).encode())
    assert len(broken.incidents) == 1 and len(broken.warnings) == 1
    assert not broken.lists_all_open


# --- polled through the watcher, against a real local server --------------------------------

T0 = datetime(2026, 7, 23, 16, 50, tzinfo=UTC)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the sources are under test; the store is held to both elsewhere


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    yield srv
    srv.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def poller(provider: str, server: SourceServer, engine: Engine, client: httpx.AsyncClient,
           registry: CollectorRegistry, clock: Clock[datetime]) -> StatusPoller:
    """A poller configured as the built-in catalog configures this provider's source."""
    source = catalog_source(provider)
    return StatusPoller(provider, server.url("/s"), fmt=source.get("format"),
                        components=source.get("components", []), stale_after=1800.0,
                        engine=engine, client=lambda: client,
                        metrics=SourceMetrics(registry), clock=clock)


def stored(engine: Engine) -> list[Incident]:
    with Session(engine) as session:
        return list(session.exec(select(Incident).order_by(Incident.started_at)).all())


def events(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [e.type for e in session.exec(select(Event).order_by(Event.id))]


def polls(registry: CollectorRegistry, p: StatusPoller, result: str) -> float | None:
    return registry.get_sample_value("factorwatch_source_polls_total", {
        "kind": "status", "source": p.url, "result": result})


@pytest.mark.integration
async def test_azure_feed_opens_updates_survives_a_broken_answer_then_ends(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    registry, clock = CollectorRegistry(), Clock(T0)
    p = poller("azure-openai", server, engine, client, registry, clock)
    server.routes["/s"] = Route(real(AZURE_EUS), "application/rss+xml")
    await p.poll()
    server.routes["/s"] = Route(real(AZURE_WUS), "application/rss+xml")  # the text revised
    clock.now += timedelta(minutes=80)
    await p.poll()
    # A cut answer, then a login wall: neither says the incident is over.
    for broken in (_cut(AZURE_WUS, 1500), b"<!DOCTYPE html><html>Just a moment</html>"):
        server.routes["/s"] = Route(broken, "text/html")
        clock.now += timedelta(minutes=2)
        await p.poll()
    assert polls(registry, p, "parse_error") == 2
    (row,) = stored(engine)
    assert (row.status, row.resolved_at) == ("investigating", None)
    assert [u["at"] for u in row.updates] == ["2026-07-23T16:49:55+00:00",
                                              "2026-07-23T18:12:58+00:00"]
    server.routes["/s"] = Route(real(AZURE_EMPTY), "application/rss+xml")  # healthy again
    clock.now += timedelta(minutes=2)
    await p.poll()
    (row,) = stored(engine)
    assert (row.status, row.resolved_at) == ("resolved", clock.now)
    assert events(engine) == ["incident_opened", "incident_updated", "incident_resolved"]


@pytest.mark.integration
async def test_deepseek_active_change_opens_then_ends_when_no_longer_listed(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    clock = Clock(T0)
    p = poller("deepseek", server, engine, client, CollectorRegistry(), clock)
    doc = json.loads(real(DS_ACTIVE))
    api_outage = next(c for c in json.loads(real(DS_LIST))["data"]["items"]
                      if c["change_id"] == 4228535281227287)
    search = json.loads(real(DS_INFO))["data"]
    open_ = {"status": "investigating", "close_at_seconds": 0}
    doc["data"]["active_changes"] = [
        dict(api_outage, **open_, updates=[]),  # none yet: it must still end
        dict(search, **open_, updates=search["updates"][:1])]  # not the API: not stored
    server.routes["/s"] = Route(json.dumps(doc).encode(), "application/json")
    await p.poll()
    (row,) = stored(engine)
    assert (row.external_id, row.status) == ("4228535281227287", "investigating")
    server.routes["/s"] = Route(real(DS_ACTIVE), "application/json")  # the sample: none open
    clock.now += timedelta(minutes=2)
    await p.poll()
    (row,) = stored(engine)
    assert (row.status, row.resolved_at) == ("resolved", clock.now)
    assert events(engine) == ["incident_opened", "incident_resolved"]


@pytest.mark.integration
async def test_mistral_rootly_incident_opens_then_ends_when_no_longer_listed(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    clock = Clock(T0)
    p = poller("mistral", server, engine, client, CollectorRegistry(), clock)
    doc = json.loads(real(ROOTLY))
    doc["incidents"] = [{"id": "r1", "name": "Audio API Degraded", "status": "investigating",
                         "impact": "minor", "started_at": "2026-07-23T15:07:51Z"}]
    server.routes["/s"] = Route(json.dumps(doc).encode(), "application/json")
    await p.poll()
    server.routes["/s"] = Route(real(ROOTLY), "application/json")
    clock.now += timedelta(minutes=2)
    await p.poll()
    (row,) = stored(engine)
    assert (row.external_id, row.status, row.resolved_at) == ("r1", "resolved", clock.now)
    assert events(engine) == ["incident_opened", "incident_resolved"]


def test_a_status_url_is_fetched_as_written_trailing_slash_included() -> None:
    from service.config.models import StatusSource

    url = catalog_source("azure-openai")["url"]
    assert url.endswith("/feed/")
    assert StatusSource(url=url, components=["X"]).url == url
    with pytest.raises(ValueError, match="expected an http"):
        StatusSource(url="rssfeed.azure.status.microsoft/feed/")


@pytest.mark.integration
async def test_azure_incident_ended_by_an_empty_answer_reopens_when_listed_again(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    # Azure serves its feed from several backends; one may answer an empty channel while
    # another still lists the incident (status.azure.com did so during the West US outage).
    clock = Clock(T0)
    p = poller("azure-openai", server, engine, client, CollectorRegistry(), clock)
    for body in (AZURE_WUS, AZURE_EMPTY, AZURE_WUS):
        server.routes["/s"] = Route(real(body), "application/rss+xml")
        clock.now += timedelta(minutes=2)
        await p.poll()
    (row,) = stored(engine)
    assert (row.status, row.resolved_at) == ("investigating", None)
    assert events(engine) == ["incident_opened", "incident_resolved", "incident_updated"]
    server.routes["/s"] = Route(real(AZURE_EMPTY), "application/rss+xml")
    clock.now += timedelta(minutes=2)
    await p.poll()
    (row,) = stored(engine)
    assert (row.status, row.resolved_at) == ("resolved", clock.now)
