"""Conditions: SLA burn rate (two windows), the 30-day budget, probes failing on our config.

The rules are pure and tested by table; the watch is tested on a real store, where each
change of state must save exactly one event and a resolution must follow every firing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.alerts.condition_watch import ConditionWatch, Watched
from service.alerts.conditions import (
    BurnRule,
    Counts,
    ProbeOutcome,
    budget_exhausted,
    failing_on_config,
    monitor_down,
    sla_burn,
)
from service.store.models import AlertCondition, Event, ProbeResultRow
from service.store.rollup import apply_rollups
from tests.clock import T0

PAGE = BurnRule(3600, 300, 14.4, "critical")
TICKET = BurnRule(21600, 1800, 6.0, "warning")
SLA = 0.999


def counts(long: tuple[int, int], short: tuple[int, int]) -> dict[float, Counts]:
    return {3600: Counts(*long), 300: Counts(*short), 21600: Counts(*long),
            1800: Counts(*short)}


@pytest.mark.parametrize(("windows", "fires"), [
    (counts((120, 0), (10, 0)), None),
    (counts((100, 20), (0, 10)), "critical"),  # 17% over 1h and 100% over 5m
    (counts((100, 20), (10, 0)), None),  # recovered: the short window says so at once
    (counts((119, 1), (9, 1)), "warning"),  # 0.8% (8x): over the ticket, under the page
    (counts((5, 3), (0, 1)), None),  # 8 probes in the long window: too few to judge
    (counts((120, 0), (0, 0)), None),  # nothing in the short window
])
def test_burn_rate_fires_only_when_both_windows_burn(windows: dict[float, Counts],
                                                     fires: str | None) -> None:
    got = sla_burn(windows, [TICKET, PAGE], SLA, min_probes=10)
    assert (got[0].severity if got else None) == fires


def test_burn_figures_name_both_windows() -> None:
    got = sla_burn(counts((100, 20), (0, 10)), [PAGE], SLA, 10)
    assert got is not None
    assert [(w["window"], w["probes"], w["burn_rate"]) for w in got[1]] == [
        ("1h", 120, 166.67), ("5m", 10, 1000.0)]


@pytest.mark.parametrize(("month", "sla", "exhausted"), [
    (Counts(995, 5), 0.995, False), (Counts(994, 6), 0.995, True),
    (Counts(5, 4), 0.995, False), (Counts(99, 1), 1.0, True),
])
def test_error_budget_is_exhausted_below_the_committed_availability(
        month: Counts, sla: float, exhausted: bool) -> None:
    assert budget_exhausted(month, sla, min_probes=10) is exhausted


def outcome(ok: bool, error_class: str | None = None) -> ProbeOutcome:
    return ProbeOutcome(ok, error_class, 401 if error_class == "auth" else None, None, None)


@pytest.mark.parametrize(("latest", "failing"), [
    ([outcome(False, "auth")] * 3, True),
    ([outcome(False, "auth"), outcome(False, "http_4xx"), outcome(False, "auth")], True),
    ([outcome(False, "auth")] * 2 + [outcome(True)], False),
    ([outcome(False, "auth")] * 2, False),  # not yet three
    ([outcome(False, "http_5xx")] * 3, False),  # the provider's failure, not our config
    ([outcome(False, "rate_limited")] * 3, False),
])
def test_probe_failing_needs_consecutive_config_errors(latest: list[ProbeOutcome],
                                                       failing: bool) -> None:
    assert (failing_on_config(latest, 3) is not None) is failing


def test_everyone_failing_at_once_is_the_monitors_outage() -> None:
    providers = {"a/x": "a", "b/y": "b", "a/z": "a"}
    assert monitor_down({"a/x": 50.0, "b/y": 80.0}, 14.4, providers)
    assert not monitor_down({"a/x": 50.0, "b/y": 1.0}, 14.4, providers)
    assert not monitor_down({"a/x": 50.0, "a/z": 90.0}, 14.4, providers)  # one provider


# --- the watch on a real store -------------------------------------------------------------

WATCHED = [Watched("a/x", "a", SLA), Watched("b/y", "b", SLA)]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: the watch's decisions are under test; the queries it reads are held
    # to both backends in test_store.py, test_retention.py and test_rollup.py.
    return sqlite_url


def probes(engine: Engine, candidate: str, end: datetime, minutes: int, ok: bool = True,
           error_class: str | None = None, per_minute: int = 2) -> None:
    """Probe results every 30 s over the `minutes` before `end`, with their rollups."""
    step = timedelta(seconds=60 / per_minute)
    rows = [ProbeResultRow(candidate_id=candidate, kind="uptime", ok=ok,
                           error_class=error_class, http_status=401 if error_class else None,
                           started_at=end - (i + 1) * step)
            for i in range(minutes * per_minute)]
    with Session(engine) as session, session.begin():
        session.add_all(rows)
        session.flush()
        apply_rollups(session.connection(), rows)


def watch(engine: Engine, at: datetime, rules: tuple[BurnRule, ...] = (PAGE, TICKET)
          ) -> list[tuple[str, str, str]]:
    """Evaluate at `at`; return the events saved by this evaluation."""
    with Session(engine) as session, session.begin():
        before = {e.id for e in session.exec(select(Event))}
        ConditionWatch(rules, 10, 3).evaluate(session, WATCHED, at)
    with Session(engine) as session:
        return [(e.type, e.severity, str(e.payload.get("candidate")))
                for e in session.exec(select(Event).order_by(Event.id)) if e.id not in before]


def test_breach_fires_once_then_resolves_once(engine: Engine) -> None:
    probes(engine, "a/x", T0 - timedelta(minutes=10), 50)
    probes(engine, "a/x", T0, 10, ok=False, error_class="http_5xx")
    probes(engine, "b/y", T0, 60)
    assert watch(engine, T0, (PAGE,)) == [("sla_breach", "critical", "a/x")]
    assert watch(engine, T0 + timedelta(seconds=30), (PAGE,)) == []
    probes(engine, "a/x", T0 + timedelta(minutes=6), 6)
    assert watch(engine, T0 + timedelta(minutes=6), (PAGE,)) == [
        ("sla_breach_resolved", "info", "a/x")]
    assert watch(engine, T0 + timedelta(minutes=7), (PAGE,)) == []
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(Event.id)).all()
        assert session.exec(select(AlertCondition)).all() == []
    fired, resolved = events
    assert resolved.payload["episode"] == fired.payload["episode"] == T0.isoformat()
    assert resolved.payload["severity_when_firing"] == "critical"


def test_a_warning_escalates_to_critical_and_does_not_step_down(engine: Engine) -> None:
    # 1 failure in 80 probes over the hour, 1 in 10 over the last 5 min: 12.5x, a ticket
    probes(engine, "a/x", T0 - timedelta(minutes=5), 35)
    probes(engine, "a/x", T0 - timedelta(seconds=30), 5, per_minute=2)
    probes(engine, "a/x", T0, 0)
    with Session(engine) as session, session.begin():
        row = ProbeResultRow(candidate_id="a/x", kind="uptime", ok=False,
                             error_class="timeout", started_at=T0 - timedelta(seconds=10))
        session.add(row)
        session.flush()
        apply_rollups(session.connection(), [row])
    assert watch(engine, T0) == [("sla_breach", "warning", "a/x")]
    probes(engine, "a/x", T0 + timedelta(minutes=3), 3, ok=False, error_class="timeout")
    assert watch(engine, T0 + timedelta(minutes=3)) == [("sla_breach", "critical", "a/x")]


def test_every_provider_failing_together_raises_no_breach(engine: Engine) -> None:
    for cand in ("a/x", "b/y"):
        probes(engine, cand, T0 - timedelta(minutes=10), 50)
        probes(engine, cand, T0, 10, ok=False, error_class="network")
    assert watch(engine, T0) == []


def test_auth_failures_raise_probe_failing_until_a_probe_succeeds(engine: Engine) -> None:
    probes(engine, "b/y", T0, 2, ok=False, error_class="auth")
    assert watch(engine, T0) == [("probe_failing", "warning", "b/y")]
    probes(engine, "b/y", T0 + timedelta(seconds=30), 0)
    with Session(engine) as session, session.begin():
        session.add(ProbeResultRow(candidate_id="b/y", kind="uptime", ok=True,
                                   started_at=T0 + timedelta(seconds=20)))
    assert watch(engine, T0 + timedelta(seconds=30)) == [
        ("probe_failing_resolved", "info", "b/y")]


def test_the_month_below_the_sla_exhausts_the_error_budget(engine: Engine) -> None:
    day = timedelta(days=1)
    probes(engine, "a/x", T0 - 20 * day, 60, per_minute=1)
    probes(engine, "a/x", T0 - 10 * day, 1, ok=False, error_class="http_5xx", per_minute=1)
    assert watch(engine, T0) == [("error_budget_exhausted", "warning", "a/x")]
    # 21 days on, the failure is more than 30 days old
    assert watch(engine, T0 + 21 * day) == [("error_budget_exhausted_resolved", "info", "a/x")]
