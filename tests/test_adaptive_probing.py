"""Adaptive probing's policy: faster when something looks wrong, slower when calm, within
[min_every, max_every] and the daily budget (service/probing/adaptive.py)."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.result import ErrorClass, ProbeResult
from service.probing.adaptive import (
    ANOMALY,
    CALM_AFTER,
    CLEAN,
    NEUTRAL,
    AdaptivePacer,
    AdaptiveRules,
    Pace,
    budget_floor,
    outcome_of,
    step,
)
from service.probing.watched import WatchedRefresh, watched_candidates
from service.store.models import Incident, TopChoice
from tests.clock import T0

RULES = AdaptiveRules(min_every=10, max_every=300, every=60, alert_runs=30)


def ok(ttft: float = 0.4) -> ProbeResult:
    return ProbeResult(kind="latency", ok=True, ttft_seconds=ttft, total_seconds=ttft + 0.2)


def failed(error: ErrorClass = ErrorClass.HTTP_5XX) -> ProbeResult:
    return ProbeResult(kind="latency", ok=False, error_class=error)


def test_a_failure_snaps_to_min_every_at_once() -> None:
    assert step(Pace(300, calm=40), ANOMALY, RULES) == Pace(10, calm=0, failing=1)


def test_once_the_state_window_is_full_of_failures_the_pace_is_every_again() -> None:
    assert AdaptiveRules.for_window(10, 300, 60, window_seconds=300).alert_runs == 30
    pace, seen = Pace(300), []
    for _ in range(32):
        pace = step(pace, ANOMALY, RULES)
        seen.append(pace.every)
    assert seen == [10] * 30 + [60] * 2  # 30 x 10 s fill the 5-minute window: down
    assert step(pace, CLEAN, RULES) == Pace(60, calm=1)  # it answers again
    assert step(step(pace, CLEAN, RULES), ANOMALY, RULES).every == 10  # a new failure


def test_calm_stretches_after_a_streak_up_to_max_every() -> None:
    pace, seen = Pace(10), []
    for _ in range(15):
        pace = step(pace, CLEAN, RULES)
        seen.append(pace.every)
    assert seen[:CALM_AFTER] == [10] * CALM_AFTER  # a streak first
    assert seen[CALM_AFTER:CALM_AFTER + 3] == [15, 22.5, 33.75]
    assert seen[-1] == 300


def test_a_probe_that_says_nothing_keeps_the_pace() -> None:
    assert step(Pace(45, calm=2), NEUTRAL, RULES) == Pace(45, calm=2)


def test_watched_candidates_are_probed_at_least_every_every() -> None:
    assert step(Pace(300, calm=20), CLEAN, RULES, watched=True).every == 60
    assert step(Pace(20, calm=0), CLEAN, RULES, watched=True).every == 20  # not slower


def test_the_budget_floor_slows_down_and_caps_at_max_every() -> None:
    assert step(Pace(10), ANOMALY, RULES, floor=40).every == 40
    assert step(Pace(10), ANOMALY, RULES, floor=math.inf).every == 300


def test_budget_floor_spreads_what_is_left_over_the_rest_of_the_day() -> None:
    # 0.01 USD left, 0.0001 USD a round, 1 h left: 100 rounds, one every 36 s.
    assert budget_floor(3600, 0.01, 0.0001) == 36
    assert budget_floor(3600, None, 0.0001) == 0  # no cap
    assert budget_floor(3600, 0.01, 0.0) == 0  # cost not known (yet)
    assert budget_floor(3600, 0.0, 0.0001) == math.inf  # spent


def test_outcomes_failures_count_throttling_and_our_key_do_not() -> None:
    assert outcome_of(failed(), []) == ANOMALY
    assert outcome_of(failed(ErrorClass.TIMEOUT), []) == ANOMALY
    assert outcome_of(failed(ErrorClass.RATE_LIMITED), []) == NEUTRAL  # Retry-After rules
    assert outcome_of(failed(ErrorClass.AUTH), []) == NEUTRAL
    assert outcome_of(ok(), []) == CLEAN


def test_a_latency_jump_against_the_recent_median_is_an_anomaly() -> None:
    recent = [0.4, 0.5, 0.45, 0.42, 0.48]
    assert outcome_of(ok(0.85), recent) == CLEAN  # under twice the median (0.45)
    assert outcome_of(ok(0.95), recent) == ANOMALY
    assert outcome_of(ok(5.0), recent[:4]) == CLEAN  # too few to judge


def test_the_pacer_follows_a_failure_then_calm() -> None:
    pacer = AdaptivePacer()
    pacer.add("a/x", "latency", RULES)
    assert pacer.every("a/x", "latency") == 60
    assert pacer.observe("a/x", "latency", failed()) == 10
    intervals = [pacer.observe("a/x", "latency", ok()) for _ in range(12)]
    assert intervals[0] == 10 and intervals[-1] == 300
    assert pacer.observe("a/x", "latency", None) == 300  # skipped: kept
    pacer.watched = frozenset({"a/x"})  # its provider declared an incident
    assert pacer.observe("a/x", "latency", ok()) == 60


def test_the_pacer_sees_a_latency_jump_once_it_knows_the_usual() -> None:
    pacer = AdaptivePacer()
    pacer.add("a/x", "latency", RULES)
    for _ in range(12):
        pacer.observe("a/x", "latency", ok(0.4))
    assert pacer.every("a/x", "latency") == 300
    assert pacer.observe("a/x", "latency", ok(2.0)) == 10


def test_cost_per_round_sums_the_latest_cost_of_each_probe() -> None:
    pacer = AdaptivePacer()
    pacer.add("a/x", "latency", RULES)
    pacer.add("a/x", "tools", RULES)
    pacer.add("b/y", "latency", RULES)
    pacer.cost("a/x", "latency", 0.001)
    pacer.cost("a/x", "tools", 0.002)
    pacer.cost("b/y", "latency", 0.004)
    pacer.cost("a/x", "latency", None)  # no usage: the last known stays
    assert math.isclose(pacer.cost_per_round("a/x"), 0.003)
    assert math.isclose(pacer.cost_per_round(), 0.007)


# --- properties --------------------------------------------------------------------------

durations = st.floats(min_value=1, max_value=86400, allow_nan=False)


@st.composite
def rules(draw: st.DrawFn) -> AdaptiveRules:
    low, high = sorted((draw(durations), draw(durations)))
    return AdaptiveRules(low, high, draw(st.floats(min_value=low, max_value=high)),
                         draw(st.integers(min_value=1, max_value=100)))


@st.composite
def paces(draw: st.DrawFn, r: AdaptiveRules) -> Pace:
    return Pace(draw(st.floats(min_value=r.min_every, max_value=r.max_every)),
                draw(st.integers(min_value=0, max_value=50)),
                draw(st.integers(min_value=0, max_value=200)))


outcomes = st.sampled_from([ANOMALY, CLEAN, NEUTRAL])
floors = st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e6), st.just(math.inf))


@given(st.data(), rules(), st.lists(st.tuples(outcomes, st.booleans(), floors), max_size=40))
def test_the_interval_always_stays_within_min_and_max_every(
        data: st.DataObject, r: AdaptiveRules, runs: list[tuple[str, bool, float]]) -> None:
    pace = data.draw(paces(r))
    for outcome, watched, floor in runs:
        pace = step(pace, outcome, r, watched=watched, floor=floor)
        assert r.min_every <= pace.every <= r.max_every


@given(st.data(), rules(), outcomes, st.booleans(), floors)
def test_a_failure_never_lengthens_the_interval(
        data: st.DataObject, r: AdaptiveRules, other: str, watched: bool, floor: float) -> None:
    pace = data.draw(paces(r))
    after_failure = step(pace, ANOMALY, r, watched=watched, floor=floor).every
    if pace.failing < r.alert_runs:  # still filling the state window: only the budget may
        assert after_failure <= max(min(pace.every, r.every), r.clamp(floor))  # slow it,
        assert after_failure <= step(pace, other, r, watched=watched, floor=floor).every
    else:  # the window is full of failures (down): back to no slower than `every`
        assert after_failure <= max(r.every, r.clamp(floor))


@given(st.data(), rules(), floors)
def test_a_calm_streak_never_shortens_the_interval(
        data: st.DataObject, r: AdaptiveRules, floor: float) -> None:
    pace = data.draw(paces(r))
    for _ in range(CALM_AFTER + 5):
        after = step(pace, CLEAN, r, floor=floor)
        assert after.every >= pace.every
        pace = after


# --- what is watched: open incidents and flips under way, from the store -----------------

def test_watched_candidates_come_from_open_incidents_and_flips(engine: Engine) -> None:
    providers = {"a/x": "acme", "a/y": "acme", "z/q": "zeta", "z/r": "zeta", "o/p": "omni"}
    with Session(engine) as session, session.begin():
        assert watched_candidates(session, providers) == frozenset()
        session.add(Incident(provider="acme", external_id="i1", title="Elevated errors",
                             status="investigating", started_at=T0))
        session.add(Incident(provider="omni", external_id="i2", title="Over", status="resolved",
                             started_at=T0, resolved_at=T0 + timedelta(hours=1)))
        session.add(Incident(provider="omni", external_id="m1", title="Upgrade",
                             status="in_progress", started_at=T0, is_maintenance=True))
        session.add(TopChoice(workload="chat", candidate="z/q", challenger="z/r", streak=1,
                              since=T0, updated_at=T0))
        session.add(TopChoice(workload="batch", candidate="o/p", since=T0, updated_at=T0))
    with Session(engine) as session:
        assert watched_candidates(session, providers) == {"a/x", "a/y", "z/q", "z/r"}


async def test_the_refresh_job_sets_what_the_pacer_watches(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Incident(provider="acme", external_id="i1", title="Elevated errors",
                             status="investigating", started_at=T0))
    pacer = AdaptivePacer()
    await WatchedRefresh(engine, pacer, {"a/x": "acme", "z/q": "zeta"}).run()
    assert pacer.watched == {"a/x"}
