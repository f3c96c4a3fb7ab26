"""Degraded by latency (service/scoring/baseline.py): examples, then the hysteresis and the
minimum samples as properties."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.scoring.baseline import (
    Degradation,
    LatencyFigure,
    LatencyRules,
    enter_level,
    exit_level,
    judge_latency,
    seconds,
    span,
)
from tests.clock import T0

RULES = LatencyRules()  # 15 min against 7 days, x2 to enter, x1.5 to leave, +250 ms floor
WEEK = LatencyFigure(0.9, 5000)
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def test_four_and_a_half_times_slower_is_degraded_and_the_reason_names_both_figures() -> None:
    verdict = judge_latency(LatencyFigure(4.1, 15), WEEK, None, RULES, T0)
    assert verdict.degraded and verdict.changed and verdict.since == T0
    assert verdict.reason == ("TTFT p95 4.1 s over the last 15 min against 0.9 s over 7 days "
                              "(x4.6, threshold x2)")


def test_a_fast_model_slower_by_less_than_the_floor_is_not_degraded() -> None:
    # 80 -> 200 ms is x2.5, but only +120 ms: below the 250 ms floor.
    verdict = judge_latency(LatencyFigure(0.2, 15), LatencyFigure(0.08, 5000), None, RULES, T0)
    assert not verdict.degraded and not verdict.changed
    # At +250 ms it is, and the reason names the floor, which set the level.
    entered = judge_latency(LatencyFigure(0.33, 15), LatencyFigure(0.08, 5000), None, RULES, T0)
    assert entered.degraded
    assert entered.reason.endswith("against 80 ms over 7 days (x4.1, threshold +0.25 s)")


def test_leaves_only_at_the_exit_level_against_the_baseline_it_entered_with() -> None:
    before = Degradation(T0, WEEK)
    later = T0 + timedelta(hours=2)
    # The fresh baseline passed in is ignored: the one kept from entry is compared with.
    still = judge_latency(LatencyFigure(1.5, 15), LatencyFigure(1.6, 5000), before, RULES, later)
    assert still.degraded and not still.changed and still.since == T0
    assert still.baseline == WEEK
    back = judge_latency(LatencyFigure(1.3, 15), LatencyFigure(1.6, 5000), before, RULES, later)
    assert not back.degraded and back.changed and back.since is None
    assert back.reason == ("TTFT p95 1.3 s over the last 15 min against 0.9 s over 7 days "
                           "(x1.4, back at or under 1.4 s)")


def test_thin_evidence_keeps_the_judgement_as_it_was() -> None:
    few = judge_latency(LatencyFigure(9.0, 9), WEEK, None, RULES, T0)
    assert not few.degraded and not few.changed
    assert few.reason == "9 latency probes in the last 15 min, fewer than 10"
    young = judge_latency(LatencyFigure(9.0, 15), LatencyFigure(0.9, 299), None, RULES, T0)
    assert not young.degraded
    assert young.reason == "299 latency probes in the 7 days baseline, fewer than 300"
    silent = judge_latency(None, WEEK, Degradation(T0, WEEK), RULES, T0 + timedelta(hours=1))
    assert silent.degraded and not silent.changed  # no probes: still degraded, no news


def test_levels_and_words() -> None:
    assert enter_level(0.9, RULES) == 1.8 and exit_level(0.9, RULES) == 0.9 * 1.5
    assert enter_level(0.1, RULES) == 0.35 and exit_level(0.1, RULES) == 0.225
    assert [seconds(v) for v in (0.08, 0.9, 0.95, 4.123, 12.0)] == [
        "80 ms", "0.9 s", "0.95 s", "4.1 s", "12.0 s"]
    assert [span(v) for v in (900, 3600, 86400, 7 * 86400, 90)] == [
        "15 min", "1 h", "1 day", "7 days", "90 s"]


# Properties --------------------------------------------------------------------------------

rules_st = st.builds(
    lambda enter, gap, floor, min_samples: LatencyRules(
        enter_ratio=enter, exit_ratio=max(1.0, enter - gap), min_increase_seconds=floor,
        min_samples=min_samples),
    st.floats(1.1, 10), st.floats(0.05, 5), st.floats(0, 2), st.integers(1, 50))
baseline_st = st.builds(LatencyFigure, st.floats(0.01, 20), st.integers(300, 100_000))


@PROPERTY
@given(rules_st, baseline_st, st.floats(0.001, 0.999), st.booleans(), st.integers(0, 200))
def test_a_latency_between_the_exit_and_enter_levels_never_changes_the_state(
        rules: LatencyRules, baseline: LatencyFigure, where: float, was: bool,
        extra: int) -> None:
    low, high = exit_level(baseline.p95, rules), enter_level(baseline.p95, rules)
    assert low < high
    current = LatencyFigure(low + where * (high - low), rules.min_samples + extra)
    previous = Degradation(T0, baseline) if was else None
    verdict = judge_latency(current, baseline, previous, rules, T0 + timedelta(minutes=5))
    assert verdict.degraded == was and not verdict.changed


@PROPERTY
@given(rules_st, baseline_st, st.floats(0, 1000), st.integers(0, 49))
def test_fewer_than_the_minimum_samples_never_makes_a_candidate_degraded(
        rules: LatencyRules, baseline: LatencyFigure, p95: float, samples: int) -> None:
    current = LatencyFigure(p95, min(samples, rules.min_samples - 1))
    assert not judge_latency(current, baseline, None, rules, T0).degraded
    thin_baseline = LatencyFigure(baseline.p95, rules.min_baseline_samples - 1)
    assert not judge_latency(LatencyFigure(p95, 10_000), thin_baseline, None, rules,
                             T0).degraded


@PROPERTY
@given(rules_st, baseline_st, st.lists(st.floats(0.001, 60), min_size=1, max_size=40))
def test_each_change_crosses_the_far_level_so_changes_alternate_and_never_jitter(
        rules: LatencyRules, baseline: LatencyFigure, p95s: list[float]) -> None:
    previous: Degradation | None = None
    for minute, p95 in enumerate(p95s):
        now = T0 + timedelta(minutes=minute)
        verdict = judge_latency(LatencyFigure(p95, 1000), baseline, previous, rules, now)
        if verdict.changed and verdict.degraded:
            assert previous is None and p95 >= enter_level(baseline.p95, rules)
            assert p95 >= baseline.p95 * rules.enter_ratio
            assert p95 - baseline.p95 >= rules.min_increase_seconds
        if verdict.changed and not verdict.degraded:
            assert previous is not None and p95 <= exit_level(baseline.p95, rules)
        if not verdict.changed:
            assert verdict.degraded == (previous is not None)
        previous = (Degradation(verdict.since, verdict.baseline)  # type: ignore[arg-type]
                    if verdict.degraded else None)
