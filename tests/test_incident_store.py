"""Incidents in the store: idempotent polls, lifecycle events, filters, declared minutes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from probes.status import IncidentReport, StatusReport, StatusUpdate, parse
from service.incidents.queries import (
    declared_incident_minutes,
    incidents_between,
    open_incident_counts,
)
from service.incidents.sync import sync_report
from service.store.models import Event, Incident
from tests.clock import T0
from tests.conftest import REAL_FIXTURES as REAL

SRC = "https://status.example/api/v2/summary.json"


def sync(engine: Engine, report: StatusReport, components: list[str] | None = None,
         now: datetime = T0, provider: str = "anthropic", source: str = SRC) -> None:
    with Session(engine) as session, session.begin():
        sync_report(session, provider, source, report, components or [], now)


def rows(engine: Engine) -> list[Incident]:
    with Session(engine) as session:
        return list(session.exec(select(Incident).order_by(Incident.external_id)).all())


def events(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(e.type, e.severity) for e in session.exec(select(Event).order_by(Event.id))]


def incident(ext: str = "inc1", status: str = "investigating", start: datetime = T0,
             end: datetime | None = None, updates: int = 1, **kw: object) -> IncidentReport:
    ups = tuple(StatusUpdate("investigating" if i < updates - 1 or status != "resolved"
                             else "resolved", start + timedelta(minutes=10 * i), f"u{i}",
                             f"{ext}-u{i}") for i in range(updates))
    return IncidentReport(ext, f"title {ext}", status, start, resolved_at=end, updates=ups,
                          **kw)  # type: ignore[arg-type]


def report(*incidents: IncidentReport, snapshot: bool = False) -> StatusReport:
    return StatusReport("statuspage", tuple(incidents), lists_all_open=snapshot)


def test_same_incident_polled_100_times_is_one_row_and_one_event(engine: Engine) -> None:
    body = (REAL / "anthropic_statuspage_summary.json").read_bytes()
    for _ in range(100):
        sync(engine, parse(body))
    (row,) = rows(engine)
    assert (row.external_id, row.status, row.impact) == ("978mjkgw6mh7", "monitoring", "major")
    assert len(row.updates) == 4
    assert events(engine) == [("incident_opened", "warning")]


def test_lifecycle_emits_opened_updated_resolved_once_each(engine: Engine) -> None:
    sync(engine, report(incident(updates=1)))
    sync(engine, report(incident(updates=2)))
    sync(engine, report(incident(updates=2)))
    sync(engine, report(incident(status="resolved", end=T0 + timedelta(minutes=20), updates=3)))
    sync(engine, report(incident(status="resolved", end=T0 + timedelta(minutes=20), updates=3)))
    assert [t for t, _ in events(engine)] == ["incident_opened", "incident_updated",
                                              "incident_resolved"]
    (row,) = rows(engine)
    assert row.resolved_at == T0 + timedelta(minutes=20) and len(row.updates) == 3


def test_incident_first_seen_resolved_is_history_without_events(engine: Engine) -> None:
    sync(engine, parse((REAL / "anthropic_status_claude_history.atom").read_bytes()))
    assert len(rows(engine)) == 25
    assert events(engine) == [("incident_opened", "info")]  # the one still open (monitoring)


def test_summary_and_feed_of_one_page_merge_into_one_incident(engine: Engine) -> None:
    sync(engine, parse((REAL / "anthropic_statuspage_summary.json").read_bytes()))
    sync(engine, parse((REAL / "anthropic_status_claude_history.atom").read_bytes()),
         source="https://status.example/history.atom")
    row = next(r for r in rows(engine) if r.external_id == "978mjkgw6mh7")
    # The feed's minute-precision copies of the JSON's four updates are the same updates.
    assert len(row.updates) == 4
    assert row.components == ["Claude Console (platform.claude.com)"]


def test_component_filter_skips_other_components_but_keeps_unknown_ones(engine: Engine) -> None:
    sync(engine, report(incident("api", components=("Claude API",)),
                        incident("sora", components=("Sora",)), incident("unknown")),
         components=["claude api"])
    assert [r.external_id for r in rows(engine)] == ["api", "unknown"]


def test_stored_incident_still_receives_its_resolution_when_filtered(engine: Engine) -> None:
    sync(engine, report(incident("x")), components=["Claude API"])  # components unknown: kept
    resolved = incident("x", "resolved", end=T0 + timedelta(hours=1), updates=2,
                        components=("Sora",))
    sync(engine, report(resolved), components=["Claude API"])
    (row,) = rows(engine)
    assert row.resolved_at == T0 + timedelta(hours=1)


def test_incident_missing_from_a_summary_snapshot_has_ended(engine: Engine) -> None:
    sync(engine, report(incident("a"), incident("b"), snapshot=True))
    later = T0 + timedelta(minutes=5)
    sync(engine, report(incident("b"), snapshot=True), now=later)
    a, b = rows(engine)
    assert (a.status, a.resolved_at) == ("resolved", later)
    assert b.resolved_at is None
    assert [t for t, _ in events(engine)].count("incident_resolved") == 1


def test_a_lagging_source_does_not_flip_the_status_back(engine: Engine) -> None:
    sync(engine, report(incident(updates=3)))  # investigating x3
    fresh = replace(incident(updates=3), status="monitoring",
                    updates=(*incident(updates=3).updates,
                             StatusUpdate("monitoring", T0 + timedelta(minutes=40), "m", "m")))
    sync(engine, report(fresh))
    sync(engine, report(replace(incident(updates=1), status="identified")))  # stale
    (row,) = rows(engine)
    assert row.status == "monitoring"


def test_resolved_incident_reopens_on_a_newer_update(engine: Engine) -> None:
    end = T0 + timedelta(minutes=10)
    sync(engine, report(incident(status="resolved", end=end, updates=2)))
    reopened = IncidentReport("inc1", "t", "investigating", T0, updates=(
        StatusUpdate("investigating", T0 + timedelta(hours=2), "again", "again"),))
    sync(engine, report(reopened))
    (row,) = rows(engine)
    assert row.resolved_at is None and row.status == "investigating"
    assert events(engine)[-1][0] == "incident_updated"


@pytest.mark.parametrize(("spans", "include_maintenance", "minutes"), [
    pytest.param([(0, 60, False)], False, 60.0, id="one-hour-incident"),
    pytest.param([(0, 60, False), (30, 90, False)], False, 90.0, id="overlap-counted-once"),
    pytest.param([(-60, 30, False)], False, 30.0, id="clipped-at-since"),
    pytest.param([(100, None, False)], False, 20.0, id="open-runs-to-until"),
    pytest.param([(0, 60, True)], False, 0.0, id="maintenance-excluded"),
    pytest.param([(0, 60, True)], True, 60.0, id="maintenance-included-on-request"),
    pytest.param([(130, 140, False)], False, 0.0, id="after-the-window"),
])
def test_declared_incident_minutes(engine: Engine, spans: list[tuple[int, int | None, bool]],
                                   include_maintenance: bool, minutes: float) -> None:
    with Session(engine) as session, session.begin():
        for n, (start, end, maint) in enumerate(spans):
            session.add(Incident(
                provider="p", external_id=f"i{n}", title="t",
                status="resolved" if end is not None else "investigating",
                started_at=T0 + timedelta(minutes=start),
                resolved_at=None if end is None else T0 + timedelta(minutes=end),
                is_maintenance=maint))
    with Session(engine) as session:
        got = declared_incident_minutes(session, "p", T0, T0 + timedelta(minutes=120),
                                        include_maintenance)
        assert got == pytest.approx(minutes)
        assert declared_incident_minutes(session, "other", T0, T0 + timedelta(hours=2)) == 0
        assert len(incidents_between(session, "p", T0, T0 + timedelta(minutes=120))) == sum(
            1 for s, e, _ in spans if s <= 120 and (e is None or e >= 0))


def test_open_incident_counts_leave_out_maintenance(engine: Engine) -> None:
    sync(engine, report(incident("a"), incident("m", is_maintenance=True)))
    with Session(engine) as session:
        assert open_incident_counts(session) == {"anthropic": 1}


def test_event_payload_names_the_incident(engine: Engine) -> None:
    sync(engine, parse((REAL / "openai_status_summary_incidentio.json").read_bytes()),
         provider="openai")
    with Session(engine) as session:
        payloads = [e.payload for e in session.exec(select(Event))]
    assert {p["external_id"] for p in payloads} == {"01M3Q4RK1SM4EMK445GGPG7C0N",
                                                   "01M3Q4HMNP8SZ27DTZKW6F5BJ4"}
    json.dumps(payloads)  # JSON-serialisable as stored
