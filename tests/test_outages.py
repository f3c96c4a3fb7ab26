"""Declared vs observed outages: the pure rules, then the store queries and events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.outages.judge import (
    DeclaredSpan,
    ProbeOutcome,
    down_minutes,
    episodes,
    overdue,
    summarize,
    union_minutes,
)
from service.outages.store import outage_summaries, record_undeclared
from service.store.models import Event, Incident, ProbeResultRow
from tests.clock import T0


def m(minute: int, second: int = 0) -> datetime:
    return T0 + timedelta(minutes=minute, seconds=second)


def probes(provider: str, candidate: str, pattern: str, second: int = 10) -> list[ProbeOutcome]:
    """One probe per minute from T0: '.' ok, 'x' failed, ' ' no probe."""
    return [ProbeOutcome(provider, candidate, m(i, second), c == ".")
            for i, c in enumerate(pattern) if c != " "]


@pytest.mark.parametrize(("outcomes", "expected_down", "expected_monitor"), [
    pytest.param(probes("a", "a/1", "..xx..") + probes("b", "b/1", "......"),
                 {"a": {2, 3}}, set(), id="one-provider-down"),
    pytest.param(probes("a", "a/1", "..xx..") + probes("b", "b/1", "...x.."),
                 {"a": {2}}, {3}, id="everyone-down-is-the-monitor"),
    pytest.param(probes("a", "a/1", "xxx"), {"a": {0, 1, 2}}, set(),
                 id="one-provider-alone-is-never-the-monitor"),
    pytest.param(probes("a", "a/1", "x.") + probes("a", "a/1", "..", second=40),
                 {}, set(), id="a-success-in-the-same-minute-means-up"),
    pytest.param(probes("a", "a/1", "x..") + probes("a", "a/2", "...") +
                 probes("b", "b/1", "..."), {"a": {0}}, set(),
                 id="one-candidate-down-is-the-provider-down"),
])
def test_down_minutes(outcomes: list[ProbeOutcome], expected_down: dict[str, set[int]],
                      expected_monitor: set[int]) -> None:
    down, monitor = down_minutes(outcomes)
    assert down == {p: {m(i) for i in mins} for p, mins in expected_down.items()}
    assert monitor == {m(i) for i in expected_monitor}


@pytest.mark.parametrize(("minutes", "spans"), [
    pytest.param([0, 1, 2], [(0, 3, 3)], id="consecutive"),
    pytest.param([0, 2, 4], [(0, 5, 3)], id="gaps-of-one-missed-minute-bridge"),
    pytest.param([0, 1, 5, 6], [(0, 2, 2), (5, 7, 2)], id="longer-gap-splits"),
    pytest.param([], [], id="none"),
])
def test_episodes(minutes: list[int], spans: list[tuple[int, int, int]]) -> None:
    got = episodes("a", [m(i) for i in minutes])
    assert [(e.start, e.end, e.minutes) for e in got] == [(m(s), m(e), n) for s, e, n in spans]


def test_union_minutes_clips_and_merges() -> None:
    spans = [(m(-10), m(10)), (m(5), m(20)), (m(50), None)]
    assert union_minutes(spans, m(0), m(60)) == pytest.approx(30.0)


@pytest.mark.parametrize(("declared", "declared_by", "lead"), [
    pytest.param([], None, None, id="undeclared"),
    pytest.param([DeclaredSpan("i", m(12), m(40))], "i", 600.0, id="declared-10-min-after"),
    pytest.param([DeclaredSpan("i", m(-5), None)], "i", -420.0, id="declared-before-us"),
    pytest.param([DeclaredSpan("i", m(60), m(70))], None, None, id="too-late-to-match"),
    pytest.param([DeclaredSpan("mx", m(0), m(30), True)], "mx", -120.0,
                 id="maintenance-declares-too"),
])
def test_outage_is_matched_to_the_declaration_and_lead_measured(
        declared: list[DeclaredSpan], declared_by: str | None, lead: float | None) -> None:
    down = {m(i) for i in range(2, 8)}
    summary = summarize("a", down, declared, m(0), m(120))
    (verdict,) = summary.verdicts
    assert (verdict.declared_by, verdict.lead_seconds) == (declared_by, lead)
    assert summary.observed_minutes == 6
    assert summary.undeclared_minutes == (6 if declared_by is None else 0)


def test_blips_are_observed_minutes_but_not_outages() -> None:
    summary = summarize("a", {m(3), m(30)}, [], m(0), m(60))
    assert summary.observed_minutes == 2 and summary.verdicts == ()


def test_undeclared_outage_is_overdue_only_after_the_grace_period() -> None:
    summary = summarize("a", {m(i) for i in range(5)}, [], m(0), m(60))
    assert overdue(summary, m(20)) == []
    assert [e.start for e in overdue(summary, m(31))] == [m(0)]


# --- store ----------------------------------------------------------------------------------

def test_store_outages_count_only_availability_probes_and_emit_once(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for i in range(10):
            session.add(ProbeResultRow(candidate_id="a/1", kind="latency", started_at=m(i, 5),
                                       ok=False, error_class="http_5xx"))
            session.add(ProbeResultRow(candidate_id="b/1", kind="latency", started_at=m(i, 5),
                                       ok=True))
            # Neither a 401 nor a tools probe says anything about availability.
            session.add(ProbeResultRow(candidate_id="b/1", kind="latency", started_at=m(i, 9),
                                       ok=False, error_class="auth"))
            session.add(ProbeResultRow(candidate_id="b/1", kind="tools", started_at=m(i, 7),
                                       ok=False, error_class="http_5xx"))
        session.add(Incident(provider="b", external_id="old", title="t", status="resolved",
                             started_at=m(0), resolved_at=m(15)))
    providers = {"a/1": "a", "b/1": "b"}
    for _ in range(2):
        with Session(engine) as session, session.begin():
            summaries = outage_summaries(session, providers, m(0), m(60))
            record_undeclared(session, summaries, m(60))
    assert summaries["a"].observed_minutes == 10 and summaries["a"].undeclared_minutes == 10
    assert summaries["b"].observed_minutes == 0
    assert summaries["b"].declared_minutes == pytest.approx(15.0)
    with Session(engine) as session:
        sent = session.exec(select(Event)).all()
    assert [(e.type, e.payload["provider"], e.payload["down_minutes"]) for e in sent] == [
        ("outage_undeclared", "a", 10)]
