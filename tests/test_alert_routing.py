"""Routing is pure: who wants an event, silences and maintenance, repeats and groups."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from service.alerts.routing import (
    History,
    Maintenance,
    Matchers,
    Pending,
    Silence,
    SinkRule,
    plan,
    route,
)
from service.sinks.events import AlertEvent, event_type
from tests.clock import T0

PROVIDERS = {"openai/gpt-4o": "openai", "groq/llama": "groq"}
DAY = timedelta(days=1)


def ev(type_: str, severity: str = "warning", at: datetime = T0, id_: int = 1,
       **payload: Any) -> AlertEvent:
    return AlertEvent.of(id_, type_, severity, f"{type_}:{id_}", at, payload, PROVIDERS)


BREACH = ev("sla_breach", "critical", candidate="openai/gpt-4o", provider="openai")
BREACH_END = ev("sla_breach_resolved", "info", candidate="openai/gpt-4o", provider="openai")
FLIP = ev("top_choice_changed", "info", workload="chat", old="openai/gpt-4o", new="groq/llama")
INCIDENT = ev("incident_opened", "warning", provider="groq", external_id="i1")


@pytest.mark.parametrize(("rule", "event", "wanted"), [
    (SinkRule("all"), FLIP, True),
    (SinkRule("types", Matchers.of(types=["sla_breach"])), BREACH, True),
    (SinkRule("types", Matchers.of(types=["sla_breach"])), FLIP, False),
    # a listed firing type lets its resolution through
    (SinkRule("types", Matchers.of(types=["sla_breach"])), BREACH_END, True),
    (SinkRule("types", Matchers.of(types=["incident_opened"])), BREACH_END, False),
    (SinkRule("wl", Matchers.of(workloads=["chat"])), FLIP, True),
    (SinkRule("wl", Matchers.of(workloads=["voice"])), FLIP, False),
    (SinkRule("wl", Matchers.of(workloads=["chat"])), INCIDENT, False),  # names no workload
    # providers of a top-choice change: both candidates' providers
    (SinkRule("prov", Matchers.of(providers=["groq"])), FLIP, True),
    (SinkRule("prov", Matchers.of(providers=["groq"])), BREACH, False),
    (SinkRule("sev", min_severity="warning"), FLIP, False),
    (SinkRule("sev", min_severity="critical"), BREACH, True),
    (SinkRule("sev", min_severity="critical"), INCIDENT, False),
    # a resolution is news to whoever heard of the firing, whatever its own severity
    (SinkRule("sev", min_severity="critical"), BREACH_END, True),
])
def test_sink_filters(rule: SinkRule, event: AlertEvent, wanted: bool) -> None:
    assert rule.wants(event) is wanted


def test_unknown_event_type_is_still_delivered_generically() -> None:
    kind = event_type("quota_warning_resolved")
    assert (kind.family, kind.resolution) == ("quota_warning", True)
    assert route(ev("quota_warning"), SinkRule("all"), [], T0, DAY) == ("pending", None)


SILENCE = Silence(Matchers.of(providers=["openai"]), T0 - timedelta(hours=1),
                  T0 + timedelta(hours=1), "silence 7: provider migration")
# Saturdays and Sundays 11:30 for 1h, Berlin time (UTC+1 in November): 10:30-11:30 UTC
BERLIN = Maintenance(Matchers.of(), time(11, 30), timedelta(hours=1), "Europe/Berlin",
                     frozenset({"sat", "sun"}), "maintenance: weekend deploys")
# Every day 23:00 for 2h UTC: crosses midnight
NIGHTLY = Maintenance(Matchers.of(types=["probe_failing"]), time(23, 0), timedelta(hours=2))


@pytest.mark.parametrize(("quiet", "event", "expected"), [
    ([SILENCE], BREACH, ("silenced", "silence 7: provider migration")),
    ([SILENCE], INCIDENT, ("pending", None)),  # another provider
    ([SILENCE], ev("sla_breach", at=T0 + timedelta(hours=1), candidate="openai/gpt-4o"),
     ("pending", None)),  # the end is excluded
    ([BERLIN], ev("price_change", at=T0.replace(hour=10, minute=45)),
     ("silenced", "maintenance: weekend deploys")),
    ([BERLIN], ev("price_change", at=T0.replace(hour=11, minute=45)), ("pending", None)),
    ([BERLIN], ev("price_change", at=T0.replace(hour=10, minute=45) - 2 * DAY),
     ("pending", None)),  # a Thursday
    ([NIGHTLY], ev("probe_failing", at=T0.replace(hour=0, minute=30)),
     ("silenced", "maintenance")),
    ([NIGHTLY], ev("probe_failing", at=T0.replace(hour=1, minute=30)), ("pending", None)),
    ([NIGHTLY], ev("price_change", at=T0.replace(hour=0, minute=30)), ("pending", None)),
    ([], ev("price_change", at=T0 - 8 * DAY), ("expired", "older than 7d when routed")),
])
def test_silences_maintenance_and_age(quiet: list[Silence | Maintenance], event: AlertEvent,
                                      expected: tuple[str, str | None]) -> None:
    assert route(event, SinkRule("all"), quiet, T0, 7 * DAY) == expected


def test_maintenance_follows_daylight_saving_time() -> None:
    # 02:30 New York time on a Sunday, in summer (UTC-4) and in winter (UTC-5)
    window = Maintenance(Matchers.of(), time(2, 0), timedelta(hours=1), "America/New_York",
                         frozenset({"sun"}))
    assert window.active_at(datetime(2026, 7, 5, 6, 30, tzinfo=UTC))
    assert window.active_at(datetime(2026, 12, 6, 7, 30, tzinfo=UTC))
    assert not window.active_at(datetime(2026, 12, 6, 6, 30, tzinfo=UTC))


# --- plan: repeats, resolutions, groups ----------------------------------------------------

RULE = SinkRule("s", group_wait=timedelta(seconds=30), repeat_interval=timedelta(hours=1),
                max_group=3)


def pending(id_: int, event: AlertEvent, due: datetime = T0) -> Pending:
    return Pending(id_, event, due)


def flip(id_: int, minutes: int) -> AlertEvent:
    return ev("top_choice_changed", "info", T0 + timedelta(minutes=minutes), id_,
              workload="chat", new=f"c{id_}")


def breach(id_: int, minutes: int, resolved: bool = False) -> AlertEvent:
    return ev("sla_breach_resolved" if resolved else "sla_breach", "critical",
              T0 + timedelta(minutes=minutes), id_, candidate="openai/gpt-4o")


NOW = T0 + timedelta(minutes=10)
SENT_5_MIN_AGO = History(NOW - timedelta(minutes=5), open=True)
CLOSED_LONG_AGO = History(NOW - timedelta(hours=3), open=False)

PLAN_CASES: list[tuple[str, list[Pending], dict[str, History], dict[str, Any]]] = [
    ("the newest of one subject supersedes the older ones",
     [pending(1, flip(1, 0)), pending(2, flip(2, 1))], {},
     {"send": [2], "supersede": [1]}),
    ("a repeat within the interval is held until it ends",
     [pending(1, flip(1, 8))], {flip(1, 0).repeat_key: SENT_5_MIN_AGO},
     {"send": [], "defer": {1: NOW + timedelta(minutes=55)}}),
    ("a repeat after the interval goes",
     [pending(1, flip(1, 8))], {flip(1, 0).repeat_key: CLOSED_LONG_AGO}, {"send": [1]}),
    ("a resolution goes at once, even within the interval",
     [pending(1, breach(1, 8, resolved=True))], {breach(1, 0).repeat_key: SENT_5_MIN_AGO},
     {"send": [1]}),
    ("a resolution of a firing nobody was told of is dropped with it",
     [pending(1, breach(1, 1)), pending(2, breach(2, 2, resolved=True))], {},
     {"send": [], "supersede": [1, 2]}),
    ("a newer message waits while an older one about the same subject is being retried",
     [pending(1, breach(1, 8, resolved=True))],
     {breach(1, 0).repeat_key: History(NOW - timedelta(minutes=5), True, in_flight=True)},
     {"send": []}),
    ("nothing is sent before the first of the group is due",
     [pending(1, flip(1, 9), due=NOW + timedelta(seconds=20))], {}, {"send": []}),
    ("the first due releases those that came after it",
     [pending(1, breach(1, 9), due=NOW), pending(2, flip(2, 9), due=NOW + timedelta(seconds=29))],
     {}, {"send": [1, 2]}),
    ("a group is at most max_group, oldest first",
     [pending(i, ev("price_change", at=T0 + timedelta(minutes=i), id_=i, candidate=f"c{i}"))
      for i in (4, 1, 3, 2)], {}, {"send": [1, 2, 3]}),
]


@pytest.mark.parametrize(("rows", "history", "expected"), [c[1:] for c in PLAN_CASES],
                         ids=[c[0] for c in PLAN_CASES])
def test_plan(rows: list[Pending], history: dict[str, History],
              expected: dict[str, Any]) -> None:
    decided = plan(rows, history, RULE, NOW)
    assert decided.send == expected["send"]
    assert sorted(decided.supersede) == expected.get("supersede", [])
    assert decided.defer == expected.get("defer", {})
