"""Status-page readers: the real samples in tests/fixtures/real, and broken variants of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from probes.status import READERS, ParseError, detect, matches_components, parse
from probes.status.incidentio import ulid_time
from tests.conftest import REAL_FIXTURES as REAL


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(("name", "fmt", "count", "lists_all_open"), [
    ("anthropic_statuspage_summary.json", "statuspage", 1, True),
    ("anthropic_statuspage_scheduled_maintenances.json", "statuspage", 2, False),
    ("openai_status_summary_incidentio.json", "incidentio", 2, True),
    ("gcp_status_incidents_excerpt.json", "google-cloud", 1, False),
    ("anthropic_status_claude_history.atom", "feed", 25, False),
    ("openai_status_history_excerpt.atom", "feed", 15, False),
])
def test_real_sample_is_detected_and_read_whole(name: str, fmt: str, count: int,
                                                lists_all_open: bool) -> None:
    body = real(name)
    assert detect(body) == fmt
    report = parse(body)
    assert (report.format, len(report.incidents), report.lists_all_open) == (
        fmt, count, lists_all_open)
    assert report.warnings == ()
    for inc in report.incidents:
        assert inc.started_at.tzinfo is UTC
        assert (inc.resolved_at is None) == (inc.status != "resolved"), inc.external_id
        assert inc.resolved_at is None or inc.resolved_at >= inc.started_at


def test_statuspage_summary_open_incident_with_components_and_updates() -> None:
    (inc,) = parse(real("anthropic_statuspage_summary.json")).incidents
    assert inc.external_id == "978mjkgw6mh7"
    assert (inc.status, inc.impact, inc.is_maintenance) == ("monitoring", "major", False)
    assert inc.started_at == utc("2026-10-07T13:25:04.155Z")
    assert inc.components == ("Claude Console (platform.claude.com)",)
    # The API records the status at each update; the feed shows the same note as "Update".
    assert [u.status for u in inc.updates] == ["investigating", "investigating", "identified",
                                               "monitoring"]
    assert inc.updates[-1].id == "1nnyzdbn2qkg"


def test_maintenance_runs_from_its_scheduled_start_not_its_announcement() -> None:
    report = parse(real("anthropic_statuspage_scheduled_maintenances.json"))
    maint = next(i for i in report.incidents if i.external_id == "x017628t2rl5")
    assert maint.is_maintenance and maint.status == "resolved"
    assert maint.started_at == utc("2025-08-29T01:25:00Z")
    assert maint.resolved_at == utc("2025-08-29T02:40:21.277Z")
    assert [u.status for u in maint.updates] == ["scheduled", "in_progress", "verifying",
                                                 "resolved"]


def test_incident_io_start_comes_from_the_ulid() -> None:
    report = parse(real("openai_status_summary_incidentio.json"))
    inc = next(i for i in report.incidents if i.external_id == "01M3Q4RK1SM4EMK445GGPG7C0N")
    assert inc.started_at == utc("2026-09-29T17:52:52.793Z")  # created_at is 17:52:52Z
    assert inc.components == ()  # incident.io does not say: a filter cannot rule it out
    assert ulid_time("not-a-ulid") is None


def test_google_cloud_incident_maps_products_impact_and_end() -> None:
    (inc,) = parse(real("gcp_status_incidents_excerpt.json")).incidents
    assert inc.external_id == "J5ia5t9p3g9Q5Wi7r8Ev"
    assert (inc.status, inc.impact) == ("resolved", "minor")
    assert (inc.started_at, inc.resolved_at) == (utc("2026-09-01T14:44:00+00:00"),
                                                 utc("2026-09-01T18:52:00+00:00"))
    assert "Google Compute Engine" in inc.components and len(inc.components) == 15
    assert len(inc.updates) == 8 and inc.updates[-1].status == "resolved"
    assert matches_components(inc, ["google compute engine"]) is True
    assert matches_components(inc, ["Vertex Gemini API"]) is False


def test_component_filter_uses_what_each_format_can_tell() -> None:
    summary = parse(real("openai_status_summary_incidentio.json"))
    inc = summary.incidents[0]  # incident.io names no component on its incidents
    page = summary.component_status
    assert page["Chat Completions"] == "degraded_performance"
    assert matches_components(inc, ["Chat Completions"], page) is None  # cannot rule out
    assert matches_components(inc, ["Ads API", "Decisions"], page) is False  # all operational
    assert matches_components(inc, []) is True
    generic = parse(_feed(_entry_xml("g1", "2026-03-03T10:00:00Z", "Azure OpenAI degraded")))
    assert matches_components(generic.incidents[0], ["azure openai"]) is True
    assert matches_components(generic.incidents[0], ["Cosmos DB"]) is False


def test_statuspage_atom_timeline_uses_entry_dates_for_the_year() -> None:
    report = parse(real("anthropic_status_claude_history.atom"))
    inc = next(i for i in report.incidents if i.external_id == "978mjkgw6mh7")
    assert inc.status == "monitoring" and inc.resolved_at is None
    assert inc.started_at == utc("2026-10-07T13:25:00Z")  # "Oct 7, 13:25 UTC"; year from entry
    assert [u.status for u in inc.updates] == ["investigating", "update", "identified",
                                               "monitoring"]


def test_incident_io_atom_reads_status_and_affected_components() -> None:
    report = parse(real("openai_status_history_excerpt.atom"))
    inc = next(i for i in report.incidents if i.external_id == "01M27VK1VN54RQJGJEHB5JTQJJ")
    assert inc.components == ("Chat Completions", "Responses")
    assert inc.status == "resolved"
    assert inc.resolved_at == utc("2026-09-11T11:21:43.949Z")
    assert inc.started_at == utc("2026-09-11T09:08:15.861Z")  # the ULID's time


def test_feed_entry_in_january_with_a_december_update_goes_back_a_year() -> None:
    entry = ("<small>Dec <var>31</var>, <var>23:50</var> UTC</small><br><strong>Investigating"
             "</strong> - looking</p><p><small>Jan <var>1</var>, <var>00:20</var> UTC</small>"
             "<br><strong>Resolved</strong> - fixed")
    report = parse(_atom(entry, published="2027-01-01T00:21:00Z"))
    (inc,) = report.incidents
    assert inc.started_at == utc("2026-12-31T23:50:00Z")
    assert inc.resolved_at == utc("2027-01-01T00:20:00Z")


def test_feed_timeline_in_a_named_zone_is_converted_to_utc() -> None:
    entry = ("<small>Mar <var>3</var>, <var>09:00</var> PST</small><br><strong>Resolved</strong>"
             " - fixed")
    (inc,) = parse(_atom(entry, published="2026-03-03T17:05:00Z")).incidents
    assert inc.started_at == utc("2026-03-03T17:00:00Z")


def test_entry_dates_with_offsets_are_read_as_utc_instants() -> None:
    (inc,) = parse(_atom("something broke", published="2026-03-03T10:00:00+05:30")).incidents
    assert inc.started_at == utc("2026-03-03T04:30:00Z")
    assert inc.status == "investigating"


def test_duplicate_and_reordered_entries_make_one_incident() -> None:
    one = _entry_xml("x1", "2026-03-03T10:00:00Z", "Resolved: all good")
    two = _entry_xml("x2", "2026-03-02T10:00:00Z", "investigating")
    report = parse(_feed(two + one + one))
    assert [i.external_id for i in report.incidents] == ["x2", "x1"]


def test_entry_without_a_date_is_skipped_with_a_warning() -> None:
    body = _feed("<entry><id>tag:x</id><title>t</title><link href='https://s/incidents/abc'/>"
                 "<content type='html'>x</content></entry>"
                 + _entry_xml("ok", "2026-03-03T10:00:00Z", "x"))
    report = parse(body)
    assert [i.external_id for i in report.incidents] == ["ok"]
    assert report.warnings and "no date" in report.warnings[0]


def test_bozo_feed_with_entries_is_read_with_a_warning() -> None:
    body = _feed(_entry_xml("ok", "2026-03-03T10:00:00Z", "x")).replace(b"</feed>", b"&bogus;")
    report = parse(body, "feed")
    assert len(report.incidents) == 1
    assert "not well-formed" in report.warnings[0]


@pytest.mark.parametrize(("body", "fmt", "message"), [
    (b"", None, "empty response"),
    (b"   \n", "feed", "empty response"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", None, "an HTML page"),
    (b"<html><body>502 Bad Gateway</body></html>", "feed", "an HTML page"),
    (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry><ti", "feed",
     "truncated feed"),
    (b"plain words, no markup at all", "feed", "not an RSS or Atom feed"),
    (b'{"page": {"id": "x"}, "incid', None, "not JSON"),
    (b'{"hello": "world"}', None, "unrecognised status format"),
    (b'{"hello": "world"}', "statuspage", "not Statuspage JSON"),
    (b"[1, 2]", "google-cloud", "not Google Cloud incidents.json"),
    (b"<!DOCTYPE html><html></html>", "statuspage", "an HTML page, not JSON"),
])
def test_bodies_that_are_not_the_format_raise_a_clear_parse_error(
        body: bytes, fmt: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, fmt)


def test_unknown_fields_and_bad_entries_are_tolerated() -> None:
    doc = json.loads(real("anthropic_statuspage_summary.json"))
    doc["brand_new_field"] = {"x": 1}
    doc["incidents"][0]["mystery"] = [1, 2]
    doc["incidents"].append({"name": "no id"})
    doc["incidents"].append("not an object")
    report = parse(json.dumps(doc).encode())
    assert [i.external_id for i in report.incidents] == ["978mjkgw6mh7"]
    assert len(report.warnings) == 2


def test_every_reader_is_registered_under_its_name() -> None:
    assert sorted(READERS) == ["aws-health", "azure-status", "betterstack", "checkly",
                               "datadog", "feed", "flashduty", "google-cloud", "incidentio",
                               "rootly", "statuspage"]


def _entry_xml(ext_id: str, published: str, text: str) -> str:
    return (f"<entry><id>tag:{ext_id}</id><published>{published}</published>"
            f"<link href='https://status.example/incidents/{ext_id}'/><title>{ext_id}</title>"
            f"<content type='html'>{text}</content></entry>")


def _feed(entries: str) -> bytes:
    return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            "<id>tag:s</id><title>S</title><updated>2030-01-01T00:00:00Z</updated>"
            f"{entries}</feed>").encode()


def _atom(html_text: str, published: str) -> bytes:
    from xml.sax.saxutils import escape

    return _feed(_entry_xml("inc1", published, escape(html_text)))
