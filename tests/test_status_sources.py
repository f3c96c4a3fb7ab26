"""The status sources of the built-in catalog, read from real samples (tests/fixtures/status,
provenance in SOURCES.md there): Datadog (OpenRouter), Better Stack (Together) and AWS Health
(Bedrock). Each is parsed whole, filtered to the LLM service, polled through the watcher
against a real local server, and fed broken variants that must fail clearly."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from tests.source_server import Route, SourceServer

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "status"
OPENROUTER = "datadog_openrouter_config.json"
TOGETHER = "betterstack_together_index.json"
AWS = "aws_health_currentevents.json"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def utf16(body: bytes) -> bytes:
    """As AWS serves currentevents: UTF-16 big-endian behind a byte-order mark."""
    return codecs.BOM_UTF16_BE + body.decode("utf-8").encode("utf-16-be")


def catalog_source(provider: str) -> dict[str, Any]:
    (source,) = builtin_catalog()["providers"][provider]["status"]
    return dict(source)


# --- reading the real samples ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt", "count", "lists_all_open"), [
    (OPENROUTER, "datadog", 4, False),
    (TOGETHER, "betterstack", 1, True),
    (AWS, "aws-health", 3, True),
])
def test_real_sample_is_detected_and_read_whole(name: str, fmt: str, count: int,
                                                lists_all_open: bool) -> None:
    body = sample(name)
    assert detect(body) == fmt
    report = parse(body)
    assert (report.format, len(report.incidents), report.lists_all_open) == (
        fmt, count, lists_all_open)
    assert report.warnings == ()
    for inc in report.incidents:
        assert inc.started_at.tzinfo is UTC
        assert (inc.resolved_at is None) == (inc.status != "resolved"), inc.external_id
        assert inc.resolved_at is None or inc.resolved_at >= inc.started_at
        assert [u.at for u in inc.updates] == sorted(u.at for u in inc.updates)


def test_datadog_incident_runs_from_its_first_update_to_its_resolution() -> None:
    report = parse(sample(OPENROUTER))
    inc = next(i for i in report.incidents if i.title == "Degraded video generation API")
    assert inc.external_id == "2a3d415a-1eed-417f-b269-6e308a7f7990"
    assert (inc.status, inc.impact, inc.is_maintenance) == ("resolved", "minor", False)
    assert (inc.started_at, inc.resolved_at) == (utc("2026-09-04T18:27:00Z"),
                                                 utc("2026-09-04T21:12:00Z"))
    # The timeline comes newest first; updates are dated by startedAt, not the shared
    # createdAt of a back-filled incident (2026-09-11 for all of them).
    assert [(u.status, u.at) for u in inc.updates] == [
        ("investigating", utc("2026-09-04T18:27:00Z")), ("resolved", utc("2026-09-04T21:12:00Z"))]
    assert inc.updates[0].id == "0e1f8339-4c5d-40d6-9d65-af81d15d7f74"
    assert inc.components == ("Video (/api/v1/videos)", "API - Gateway")
    assert report.component_status["Chat (/api/v1/chat/completions)"] == "operational"
    assert "API - Gateway" not in report.component_status  # a group has no status of its own


def test_datadog_filter_keeps_chat_incidents_only() -> None:
    report = parse(sample(OPENROUTER))
    chat = catalog_source("openrouter")["components"]
    kept = [i.title for i in report.incidents if matches_components(i, chat)]
    assert kept == ["Elevated 429s on Anthropic and OpenAI"]
    group = [i.title for i in report.incidents if matches_components(i, ["api - gateway"])]
    assert group == ["Elevated 429s on Anthropic and OpenAI", "Degraded video generation API"]


def test_betterstack_report_is_a_maintenance_with_its_resources_and_sections() -> None:
    report = parse(sample(TOGETHER))
    (maint,) = report.incidents
    assert maint.external_id == "941865"
    assert (maint.title, maint.is_maintenance, maint.status, maint.impact) == (
        "Scheduled network maintenance", True, "resolved", None)
    assert (maint.started_at, maint.resolved_at) == (utc("2026-07-03T04:00:59Z"),
                                                     utc("2026-07-03T06:59:00Z"))
    # Six of its eight resources are no longer on the page: only the listed ones are named.
    assert maint.components == ("MiniMax M3", "Inference - Chat", "GLM 5.2")
    assert [(u.at, u.body[:17]) for u in maint.updates] == [
        (utc("2026-07-03T04:00:59Z"), "We will be perfor"),
        (utc("2026-07-03T06:59:00Z"), "Maintenance ended")]
    assert len(report.component_status) == 22
    assert report.component_status["Meta Llama 3.3 70B Instruct Turbo"] == "operational"
    assert matches_components(maint, catalog_source("together")["components"]) is True
    assert matches_components(maint, ["Website"]) is False


def test_aws_event_for_bedrock_is_kept_other_services_are_not() -> None:
    report = parse(sample(AWS))
    bedrock = catalog_source("aws-bedrock")["components"]
    kept = [i for i in report.incidents if matches_components(i, bedrock)]
    assert [i.external_id.split("::")[0] for i in kept] == [
        "arn:aws:health:me-central-1", "arn:aws:health:me-south-1"]
    uae = kept[0]
    assert (uae.status, uae.impact, uae.resolved_at) == ("investigating", "major", None)
    assert uae.started_at == utc("2026-03-01T12:51:25Z")  # `date`, Unix seconds
    assert uae.title == "Increased Error Rates"
    assert {"bedrock-me-central-1", "Amazon Bedrock", "Multiple services"} <= set(
        uae.components)
    assert [(u.status, u.body) for u in uae.updates] == [
        ("investigating", "We are investigating issues with AWS services in the ME-CENTRAL-1 "
                          "Region.")]
    assert matches_components(uae, ["bedrock-me-central-1"]) is True
    assert matches_components(uae, ["bedrock-us-east-1"]) is False


def test_aws_resolved_event_stays_resolved() -> None:
    report = parse(sample(AWS))
    sts = next(i for i in report.incidents if "us-west-2" in i.external_id)
    assert (sts.status, sts.impact) == ("resolved", "none")  # worst was "1", informational
    assert sts.title == "Increased API Error Rates"  # "[RESOLVED] " is the status, not a name
    assert (sts.started_at, sts.resolved_at) == (utc("2026-09-03T21:49:58Z"),
                                                 utc("2026-09-04T00:07:54Z"))
    assert matches_components(sts, ["Amazon Bedrock"]) is False


@pytest.mark.parametrize("encode", [utf16, lambda b: codecs.BOM_UTF16_LE + b.decode().encode(
    "utf-16-le"), lambda b: codecs.BOM_UTF8 + b], ids=["utf-16-be", "utf-16-le", "utf-8-bom"])
def test_aws_body_is_read_in_any_unicode_encoding_with_a_bom(encode: Any) -> None:
    body = encode(sample(AWS))
    assert detect(body) == "aws-health"
    assert parse(body) == parse(sample(AWS))


def test_aws_status_zero_without_end_time_is_resolved_at_its_last_update() -> None:
    event = {"arn": "arn:aws:health:us-east-1::event/BEDROCK/X/1", "date": "1788000000",
             "status": "0", "service": "bedrock-us-east-1", "service_name": "Amazon Bedrock",
             "summary": "[RESOLVED] Increased Latency",
             "event_log": [{"summary": "Increased Latency", "message": "<b>Looking</b>",
                            "timestamp": 1788000000},
                           {"summary": "[RESOLVED] Increased Latency", "message": "Fixed.",
                            "timestamp": 1788003600}]}
    (inc,) = parse(json.dumps([event]).encode(), "aws-health").incidents
    assert inc.status == "resolved"
    assert inc.resolved_at == datetime.fromtimestamp(1788003600, UTC)
    assert [(u.status, u.body) for u in inc.updates] == [("investigating", "Looking"),
                                                         ("resolved", "Fixed.")]


# --- bad input -------------------------------------------------------------------------------


def _edit(name: str, change: Any) -> bytes:
    doc = json.loads(sample(name))
    change(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("body", "fmt", "message"), [
    (sample(OPENROUTER)[:3000], None, "not JSON"),
    (sample(TOGETHER)[:-40], "betterstack", "not JSON"),
    (utf16(sample(AWS))[:1001], "aws-health", "not JSON"),  # cut inside a UTF-16 pair
    (b'{"components": [], "incidents": "none", "pageUrl": "x"}', "datadog",
     "`incidents` is str, not a list"),
    (b'{"hello": 1}', "datadog", "not a Datadog status page"),
    (b'{"data": {"type": "incident"}, "included": []}', "betterstack", "not a Better Stack"),
    (b'{"arn": "x"}', "aws-health", "not AWS Health currentevents"),
    (b"[1, 2]", "aws-health", "not AWS Health currentevents"),
    (b"<!DOCTYPE html><html><body>Just a moment...</body></html>", "datadog", "an HTML page"),
    (codecs.BOM_UTF16_BE + b"\x00", "aws-health", "not JSON"),
])
def test_bodies_that_are_not_the_format_raise_a_clear_parse_error(
        body: bytes, fmt: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, fmt)


def test_datadog_bad_entries_are_skipped_with_warnings() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["incidents"][0]["resolved"] = "yes"
        doc["incidents"][1]["deletedAt"] = "2026-09-12T00:00:00Z"
        doc["incidents"][2]["timeline"] = [{"status": "investigating"}, "junk", None]
        doc["incidents"].append({"title": "no id"})
        doc["incidents"].append("not an object")
        doc["maintenances"] = [{"id": "m1", "title": "DB", "currentStatus": "completed",
                                "startDate": "2026-09-10T01:00:00Z",
                                "completedDate": "2026-09-10T03:00:00Z", "timeline": []}]
    report = parse(_edit(OPENROUTER, change))
    titles = [i.title for i in report.incidents]
    assert "Degraded video generation API" not in titles  # `resolved` unreadable
    assert "Web application degraded" not in titles  # withdrawn
    chat = next(i for i in report.incidents if i.title.startswith("Elevated 429s"))
    assert chat.status == "resolved"  # no readable update: one at its start stands in
    assert [(u.status, u.at) for u in chat.updates] == [("investigating",
                                                         utc("2026-08-28T02:15:00Z"))]
    maint = next(i for i in report.incidents if i.external_id == "m1")
    assert (maint.is_maintenance, maint.status, maint.resolved_at) == (
        True, "resolved", utc("2026-09-10T03:00:00Z"))
    assert len(report.warnings) == 3
    assert "`resolved` is not true or false" in report.warnings[0]


def test_datadog_open_incident_keeps_its_lifecycle() -> None:
    def change(doc: dict[str, Any]) -> None:
        inc = doc["incidents"][0]
        inc.update(resolved=False, resolvedDate=None, currentStatus="monitoring")
        inc["timeline"] = inc["timeline"][1:]  # drop the resolution
        inc["timeline"][0]["componentsAffected"][0]["status"] = "major_outage"
    inc = parse(_edit(OPENROUTER, change)).incidents[-1]
    assert (inc.status, inc.resolved_at, inc.impact) == ("monitoring", None, "major")


def test_betterstack_open_report_and_bad_entries() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["included"].append({"id": "9", "type": "status_report", "attributes": {
            "title": "Slow Kimi", "report_type": "manual", "aggregate_state": "downtime",
            "starts_at": "2026-09-04T10:00:00Z", "ends_at": None,
            "affected_resources": [{"status_page_resource_id": "8978884", "status": "downtime"},
                                   "junk"]}})
        doc["included"].append({"id": "10", "type": "status_report", "attributes": {
            "title": "no start"}})
        doc["included"].append(["not", "an", "object"])
    report = parse(_edit(TOGETHER, change))
    slow = next(i for i in report.incidents if i.external_id == "9")
    assert (slow.status, slow.impact, slow.resolved_at, slow.is_maintenance) == (
        "investigating", "major", None, False)
    assert slow.components == ("Kimi K3", "Inference - Chat")
    assert report.warnings == ("status_report 10: skipped: no starts_at",)


def test_aws_bad_events_are_skipped_with_warnings() -> None:
    doc = json.loads(sample(AWS))
    doc.append({"arn": "arn:aws:health:us-east-1::event/X", "date": "soon", "event_log": []})
    doc.append("junk")
    report = parse(json.dumps(doc).encode(), "aws-health")
    assert len(report.incidents) == 3
    assert report.warnings == ("skipped an event: event arn:aws:health:us-east-1::event/X: "
                               "no date", "skipped an event: no arn")
    assert parse(b"[]", "aws-health").incidents == ()  # a quiet day


# --- polled through the watcher, against a real local server --------------------------------

# Not tests.clock.T0: the samples' own day (the Together report below starts 2026-09-14).
T0 = datetime(2026, 9, 15, 0, 0, tzinfo=UTC)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: the sources are under test; the incidents they save are held to both
    # backends in test_incident_store.py.
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


@pytest.mark.integration
async def test_aws_bedrock_events_are_polled_from_utf16_stored_and_ended(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    registry, clock = CollectorRegistry(), Clock(T0)
    server.routes["/s"] = Route(utf16(sample(AWS)), "application/json", etag='"a"')
    p = poller("aws-bedrock", server, engine, client, registry, clock)
    await p.poll()
    await p.poll()  # unchanged: a 304, nothing new
    assert registry.get_sample_value("factorwatch_source_polls_total", {
        "kind": "status", "source": p.url, "result": "not_modified"}) == 1
    rows = stored(engine)
    assert [(r.external_id.split("::")[0], r.status, r.resolved_at) for r in rows] == [
        ("arn:aws:health:me-central-1", "investigating", None),
        ("arn:aws:health:me-south-1", "investigating", None)]  # the STS-only event is not ours
    assert events(engine) == ["incident_opened", "incident_opened"]
    # The UAE event closes: AWS lists it with status "0" and an end_time.
    doc = json.loads(sample(AWS))
    doc[1].update(status="0", end_time="1772400000", summary="[RESOLVED] Increased Error Rates")
    server.routes["/s"] = Route(utf16(json.dumps(doc).encode()), "application/json")
    clock.now += timedelta(minutes=2)
    await p.poll()
    # Then Bahrain's drops out of the list altogether: it has ended too.
    del doc[2]
    server.routes["/s"] = Route(utf16(json.dumps(doc).encode()), "application/json")
    clock.now += timedelta(minutes=2)
    await p.poll()
    rows = stored(engine)
    assert [r.status for r in rows] == ["resolved", "resolved"]
    assert rows[0].resolved_at == datetime.fromtimestamp(1772400000, UTC)  # its end_time
    assert rows[1].resolved_at == clock.now  # when it was seen gone
    assert events(engine) == ["incident_opened", "incident_opened", "incident_resolved",
                              "incident_resolved"]


@pytest.mark.integration
async def test_aws_resolved_event_seen_first_is_history_not_an_opened_incident(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    doc = json.loads(sample(AWS))
    doc[2]["impacted_services"]["bedrock-me-south-1"]["current"] = "0"
    doc[2].update(status="0", end_time="1772500000")
    server.routes["/s"] = Route(utf16(json.dumps(doc[2:]).encode()), "application/json")
    await poller("aws-bedrock", server, engine, client, CollectorRegistry(), Clock(T0)).poll()
    (row,) = stored(engine)
    assert (row.status, row.resolved_at is not None) == ("resolved", True)
    assert events(engine) == []


@pytest.mark.integration
async def test_openrouter_config_is_polled_and_only_chat_incidents_are_stored(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    server.routes["/s"] = Route(sample(OPENROUTER), "application/json")
    await poller("openrouter", server, engine, client, CollectorRegistry(), Clock(T0)).poll()
    (row,) = stored(engine)
    assert (row.external_id, row.status, row.impact) == (
        "a80f04f9-7b2a-4094-bd45-e42dd5c2ed8a", "resolved", "minor")
    assert [u["status"] for u in row.updates] == ["investigating", "resolved"]
    assert events(engine) == []  # history: first seen resolved


@pytest.mark.integration
async def test_together_index_is_polled_and_an_open_report_opens_then_ends(
        server: SourceServer, engine: Engine, client: httpx.AsyncClient) -> None:
    clock = Clock(T0)
    p = poller("together", server, engine, client, CollectorRegistry(), clock)
    server.routes["/s"] = Route(sample(TOGETHER), "application/json")
    await p.poll()
    assert [(r.external_id, r.is_maintenance, r.status) for r in stored(engine)] == [
        ("941865", True, "resolved")]
    doc = json.loads(sample(TOGETHER))
    doc["included"].append({"id": "77", "type": "status_report", "attributes": {
        "title": "Llama errors", "report_type": "manual", "aggregate_state": "degraded",
        "starts_at": "2026-09-14T23:50:00Z", "ends_at": None, "affected_resources": [
            {"status_page_resource_id": "8568824", "status": "degraded"}]}})
    server.routes["/s"] = Route(json.dumps(doc).encode(), "application/json")
    clock.now += timedelta(minutes=2)
    await p.poll()
    server.routes["/s"] = Route(sample(TOGETHER), "application/json")  # no longer listed
    clock.now += timedelta(minutes=2)
    await p.poll()
    row = next(r for r in stored(engine) if r.external_id == "77")
    assert (row.status, row.impact) == ("resolved", "minor")
    assert events(engine) == ["incident_opened", "incident_resolved"]


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value
    return change


@pytest.mark.parametrize(("name", "path", "value"), [
    (OPENROUTER, ("incidents", 0, "timeline"), True),
    (OPENROUTER, ("incidents", 0, "componentsAffected"), 7),
    (OPENROUTER, ("components", 0, "components"), "x"),
    (OPENROUTER, ("incidents", 1, "publishedDate"), "2026-13-45T00:00:00Z"),
    (TOGETHER, ("included", -1, "relationships", "status_updates"), 1),
    (TOGETHER, ("included", -1, "attributes", "affected_resources"), "x"),
    (TOGETHER, ("included", -1, "relationships"), None),
    (AWS, (1, "event_log"), 2.5),
    (AWS, (1, "date"), "1e400"),
    (AWS, (1, "impacted_services"), ["bedrock-me-central-1"]),
    (AWS, (0, "end_time"), "nan"),
], ids=lambda v: repr(v)[:30])
def test_odd_shapes_give_warnings_or_errors_never_a_crash(name: str, path: tuple[Any, ...],
                                                          value: Any) -> None:
    body = _edit(name, _set(path, value))
    try:
        report = parse(body)
    except ParseError:
        return
    assert all(inc.started_at.tzinfo is UTC for inc in report.incidents)
