"""Status-page honesty: the pure judgement (service/outages/honesty.py) as stories, then a
property."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.incidents.spans import DeclaredSpan
from service.outages.honesty import (
    IMPACT_NONE,
    IMPACT_OBSERVED,
    IMPACT_UNKNOWN,
    Honesty,
    by_month,
    judge_honesty,
    observe,
    quantile,
)
from service.outages.judge import ProbeOutcome
from tests.clock import T0

SINCE, UNTIL = T0, T0 + timedelta(days=1)


def m(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def mins(first: int, last: int) -> set[datetime]:
    """Minutes first..last, inclusive."""
    return {m(i) for i in range(first, last + 1)}


ALL_DAY = mins(0, 24 * 60 - 1)


def honesty(down: set[datetime], declared: list[DeclaredSpan],
            covered: set[datetime] = ALL_DAY, until: datetime = UNTIL) -> Honesty:
    return judge_honesty("openai", down, covered, declared, SINCE, until)


def test_an_outage_declared_12_minutes_late() -> None:
    h = honesty(mins(60, 89), [DeclaredSpan("inc-1", m(72), m(95))])
    assert h.undeclared == ()
    [d] = h.declarations
    assert d.incident.external_id == "inc-1"
    assert d.delay_seconds == 12 * 60
    # Down 60..89, so recovered at minute 90; resolved at 95: five minutes after.
    assert d.resolution_lag_seconds == 5 * 60
    assert h.undeclared_share == 0.0
    assert [i.impact for i in h.incidents] == [IMPACT_OBSERVED]


def test_an_outage_never_declared() -> None:
    h = honesty(mins(300, 309), [])
    assert [e.start for e in h.undeclared] == [m(300)]
    assert h.undeclared_share == 1.0
    assert h.declarations == () and h.delays == []


def test_a_declaration_far_after_the_outage_does_not_match_it() -> None:
    # The outage ended at 310; an incident 16 minutes later is about something else.
    h = honesty(mins(300, 309), [DeclaredSpan("later", m(326), m(340))])
    assert len(h.undeclared) == 1
    assert [i.impact for i in h.incidents] == [IMPACT_NONE]


def test_a_declared_incident_with_no_observed_impact() -> None:
    h = honesty(set(), [DeclaredSpan("quiet", m(100), m(160))])
    [i] = h.incidents
    assert (i.impact, i.covered_share) == (IMPACT_NONE, 1.0)
    assert h.outages == () and h.undeclared_share is None


def test_a_declared_incident_without_probe_coverage_is_unknown() -> None:
    # Probes covered 10 of its 60 minutes: too few to say it had no impact.
    h = honesty(set(), [DeclaredSpan("dark", m(100), m(160))], covered=mins(100, 109))
    [i] = h.incidents
    assert i.impact == IMPACT_UNKNOWN
    assert i.covered_share == pytest.approx(10 / 60)


def test_a_short_blip_inside_an_incident_is_impact_but_not_an_outage() -> None:
    h = honesty(mins(120, 120), [DeclaredSpan("blip", m(100), m(160))])
    assert h.outages == ()
    assert [i.impact for i in h.incidents] == [IMPACT_OBSERVED]


def test_a_resolution_posted_early() -> None:
    # Down 200..239 (recovered at 240); "resolved" at 225: a quarter of an hour early.
    h = honesty(mins(200, 239), [DeclaredSpan("early", m(195), m(225))])
    [d] = h.declarations
    assert d.delay_seconds == -5 * 60  # declared before we saw it
    assert d.resolution_lag_seconds == -15 * 60


def test_an_incident_covering_two_outages_is_judged_once() -> None:
    h = honesty(mins(10, 19) | mins(40, 49), [DeclaredSpan("long", m(15), m(55))])
    [d] = h.declarations
    assert len(d.outages) == 2
    assert d.delay_seconds == 5 * 60  # against the first outage
    assert d.resolution_lag_seconds == 5 * 60  # against the last one's recovery at 50


def test_maintenance_declares_an_outage_but_is_no_incident() -> None:
    h = honesty(mins(10, 19), [DeclaredSpan("mx", m(0), m(30), is_maintenance=True)])
    assert h.undeclared == () and len(h.declarations) == 1
    assert h.incidents == ()


def test_an_outage_still_going_has_no_resolution_lag_and_a_new_one_is_pending() -> None:
    until = m(100)
    still_down = honesty(mins(50, 99), [DeclaredSpan("open", m(55), None)], until=until)
    assert still_down.declarations[0].resolution_lag_seconds is None
    # Began 10 minutes before the window's end, nobody declared it yet: not judged.
    pending = honesty(mins(90, 99), [], until=until)
    assert pending.outages == () and pending.undeclared_share is None


def test_observe_leaves_the_monitors_own_outage_out_of_coverage() -> None:
    outcomes = [ProbeOutcome("a", "a/1", m(0), True), ProbeOutcome("b", "b/1", m(0), True),
                ProbeOutcome("a", "a/1", m(1), False), ProbeOutcome("b", "b/1", m(1), False),
                ProbeOutcome("a", "a/1", m(2), False), ProbeOutcome("b", "b/1", m(2), True)]
    seen = observe(outcomes)
    assert seen.down == {"a": {m(2)}}
    assert seen.covered == {"a": {m(0), m(2)}, "b": {m(0), m(2)}}


def test_observe_counts_an_outage_only_where_the_regional_quorum_agrees() -> None:
    """Honesty judges the outages the outage job counts: down in one region of two is no
    outage at quorum 2, so the provider is not blamed for leaving it undeclared."""
    outcomes = [ProbeOutcome("a", "a/1", m(i), region == "us", region)
                for i in range(3) for region in ("eu", "us")]
    outcomes += [ProbeOutcome("b", "b/1", m(i), True, region)
                 for i in range(3) for region in ("eu", "us")]
    assert observe(outcomes, quorum=1).down == {"a": {m(0), m(1), m(2)}}
    assert observe(outcomes, quorum=2).down == {}


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 0.5, None), ([7.0], 0.9, 7.0), ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
    ([float(v) for v in range(1, 11)], 0.9, 9.1), ([3.0, 1.0, 2.0], 0.5, 2.0),
])
def test_quantile_interpolates_between_closest_ranks(values: list[float], q: float,
                                                     expected: float | None) -> None:
    assert quantile(values, q) == (None if expected is None else pytest.approx(expected))


def test_by_month_splits_on_calendar_months() -> None:
    since = datetime(2026, 10, 30, tzinfo=T0.tzinfo)
    until = datetime(2026, 11, 2, tzinfo=T0.tzinfo)
    oct_outage = {since + timedelta(minutes=i) for i in range(10)}
    nov_outage = {until - timedelta(days=1) + timedelta(minutes=i) for i in range(10)}
    h = judge_honesty("a", oct_outage | nov_outage, set(),
                      [DeclaredSpan("nov", until - timedelta(days=1, minutes=-3),
                                    until - timedelta(hours=23))], since, until)
    october, november = by_month(h)
    assert (october.since, october.until) == (since, datetime(2026, 11, 1, tzinfo=T0.tzinfo))
    assert (len(october.outages), october.undeclared_share) == (1, 1.0)
    assert (len(november.outages), november.undeclared_share, november.delays) == (1, 0.0,
                                                                                   [180.0])


# Outages as (start minute, length) on a day; declarations as (start, length) offsets.
outage_lists = st.lists(st.tuples(st.integers(0, 1300), st.integers(3, 60)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(outages=outage_lists, incidents=outage_lists,
       extra=st.tuples(st.integers(0, 1300), st.integers(3, 60)))
def test_adding_an_undeclared_outage_never_makes_a_provider_look_more_honest(
        outages: list[tuple[int, int]], incidents: list[tuple[int, int]],
        extra: tuple[int, int]) -> None:
    declared = [DeclaredSpan(f"i{n}", m(s), m(s + length)) for n, (s, length)
                in enumerate(incidents)]
    down = set().union(*(mins(s, s + length - 1) for s, length in outages))
    start, length = extra
    new = mins(start, start + length - 1)
    # Not next to another outage (it would join it), and no declaration matches it.
    assume(not new & {x + timedelta(minutes=k) for x in down for k in range(-3, 4)})
    assume(not any(d.start <= m(start + length + 16) and d.end is not None
                   and d.end >= m(start - 16) for d in declared))
    before, after = honesty(down, declared), honesty(down | new, declared)
    assert len(after.undeclared) == len(before.undeclared) + 1
    assert after.undeclared_share is not None
    assert before.undeclared_share is None or after.undeclared_share >= before.undeclared_share
    assert after.delays == before.delays
