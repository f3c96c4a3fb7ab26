"""Scales, cost, confidence bounds, composite arithmetic and gates: plain tables of cases."""

from __future__ import annotations

import pytest

from service.scoring.cost import Volume, estimate
from service.scoring.evidence import (
    AvailabilityStats,
    CandidateEvidence,
    FactValue,
    LatencyStats,
    Price,
    RecentProbes,
)
from service.scoring.factors import (
    BLENDED_PRICE,
    LATENCY_VS_BUDGET,
    FactorScore,
    WorkloadSpec,
    score_latency,
    score_reliability,
)
from service.scoring.ranking import composite, gate, rank
from service.scoring.scales import scale
from service.scoring.stats import quantile, wilson_lower_bound
from tests.clock import T0 as NOW


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(0.1, 5.0, id="below-first-anchor-clamps-to-5"),
    pytest.param(0.25, 5.0, id="at-first-anchor"),
    pytest.param(0.5, 4.0, id="at-anchor-half-budget"),
    pytest.param(1.0, 3.0, id="at-budget"),
    pytest.param(2 ** -0.5, 3.5, id="log-midpoint-between-0.5-and-1"),
    pytest.param(4.0, 1.0, id="at-last-anchor"),
    pytest.param(100.0, 1.0, id="beyond-last-anchor-clamps-to-1"),
])
def test_latency_scale_is_log_linear_between_anchors(value: float, expected: float) -> None:
    assert LATENCY_VS_BUDGET.score(value) == pytest.approx(expected)


@pytest.mark.parametrize(("anchors", "log", "value", "expected"), [
    pytest.param([(0, 1), (10, 5)], False, 5, 3.0, id="linear-midpoint"),
    pytest.param([(0, 1), (10, 5)], False, 2.5, 2.0, id="linear-quarter"),
    pytest.param([(1, 1), (100, 5)], True, 10, 3.0, id="log-midpoint-is-geometric"),
    pytest.param([(0.1, 5), (10, 1)], True, 0.0, 5.0, id="zero-on-log-scale-is-best-end"),
])
def test_scale_interpolates(anchors: list[tuple[float, float]], log: bool, value: float,
                            expected: float) -> None:
    assert scale(anchors, log=log).score(value) == pytest.approx(expected)


@pytest.mark.parametrize(("anchors", "log", "message"), [
    pytest.param([(1, 1)], False, "two or more anchors", id="one-anchor"),
    pytest.param([(2, 1), (1, 5)], False, "increasing", id="decreasing-x"),
    pytest.param([(0, 1), (1, 5)], True, "positive", id="log-with-zero"),
    pytest.param([(0, 0), (1, 5)], False, "between 1 and 5", id="score-out-of-range"),
])
def test_scale_rejects_bad_anchors(anchors: list[tuple[float, float]], log: bool,
                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scale(anchors, log=log)


@pytest.mark.parametrize(("ok", "n", "low", "high"), [
    pytest.param(3, 3, 0.43, 0.44, id="3-of-3-earns-little-trust"),
    pytest.param(990, 1000, 0.981, 0.982, id="990-of-1000"),
    pytest.param(0, 10, 0.0, 0.0, id="none-succeeded"),
    pytest.param(0, 0, 0.0, 0.0, id="no-trials"),
])
def test_wilson_lower_bound(ok: int, n: int, low: float, high: float) -> None:
    assert low <= wilson_lower_bound(ok, n) <= high


def test_few_perfect_samples_do_not_beat_many_good_ones() -> None:
    def reliability(ok: int, failed: int) -> float:
        ev = CandidateEvidence("c", "p", 3600, availability=AvailabilityStats(ok, failed))
        score = score_reliability(ev, _workload(), NOW).score
        assert score is not None
        return score

    assert reliability(990, 10) > reliability(3, 0)


@pytest.mark.parametrize(("values", "q", "expected"), [
    pytest.param([1.0], 0.99, 1.0, id="single"),
    pytest.param([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0, id="median-odd"),
    pytest.param([1.0, 2.0], 0.5, 1.5, id="median-even-interpolates"),
    pytest.param([float(i) for i in range(1, 101)], 0.99, 99.01, id="p99-of-100"),
])
def test_quantile_matches_numpy_linear(values: list[float], q: float, expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(("price", "volume", "monthly", "blended"), [
    pytest.param(Price(1.0, 2.0), Volume(1000, 1000, 1000), 3.0, 1.5, id="no-cache"),
    pytest.param(Price(1.0, 2.0, 0.5), Volume(1000, 1000, 0, 0.5), 0.75, 0.75,
                 id="half-cached-at-cached-price"),
    pytest.param(Price(1.0, 2.0), Volume(1000, 1000, 0, 0.5), 1.0, 1.0,
                 id="cached-share-without-cached-price-bills-input-price"),
    pytest.param(Price(0.15, 0.6), Volume(300_000, 1500, 150, 0.0), 94.5, 0.190909,
                 id="gpt-4o-mini-like-voice-volume"),
])
def test_monthly_cost(price: Price, volume: Volume, monthly: float, blended: float) -> None:
    cost = estimate(price, volume)
    assert cost.monthly_usd == pytest.approx(monthly)
    assert cost.blended_per_mtok == pytest.approx(blended, rel=1e-5)


def _f(score: float | None) -> FactorScore:
    return FactorScore(score, "missing" if score is None else "measured", "")


@pytest.mark.parametrize(("scores", "weights", "policy", "expected", "missing"), [
    pytest.param({"a": 5, "b": 1}, {"a": 1, "b": 1}, "worst", 3.0, (), id="equal-weights"),
    pytest.param({"a": 5, "b": 1}, {"a": 3, "b": 1}, "worst", 4.0, (), id="weighted"),
    pytest.param({"a": 5, "b": None}, {"a": 1, "b": 4}, "worst", 1.8, ("b",),
                 id="missing-factor-counts-as-the-worst-score"),
    pytest.param({"a": 5, "b": None}, {"a": 1, "b": 4}, "prior", 3.4, ("b",),
                 id="missing-factor-counts-as-the-middle-under-prior"),
    pytest.param({"a": 5, "b": None}, {"a": 1, "b": 4}, "drop", 5.0, ("b",),
                 id="missing-factor-drops-out-under-drop"),
    pytest.param({"a": 5, "b": 1}, {"a": 1, "b": 0}, "worst", 5.0, (), id="zero-weight-ignored"),
    pytest.param({"a": None}, {"a": 1}, "drop", None, ("a",), id="nothing-known-dropped"),
    pytest.param({"a": None}, {"a": 1}, "worst", 1.0, ("a",), id="nothing-known-worst"),
    pytest.param({"a": 2, "b": 4}, {"a": 2}, "worst", 2.0, (), id="unweighted-factor-ignored"),
])
def test_composite_arithmetic(scores: dict[str, float | None], weights: dict[str, float],
                              policy: str, expected: float | None,
                              missing: tuple[str, ...]) -> None:
    got = composite({k: _f(v) for k, v in scores.items()}, weights, policy)
    assert got.value == (pytest.approx(expected) if expected is not None else None)
    assert got.missing == missing
    assert got.partial is bool(missing)


def test_composite_interval_combines_factor_intervals_as_independent_errors() -> None:
    factors = {"a": FactorScore(4.0, "measured", "", low=3.0, high=4.5),
               "b": FactorScore(2.0, "measured", "", low=1.0, high=2.0)}
    got = composite(factors, {"a": 1, "b": 1})
    assert got.value == 3.0
    assert got.low == pytest.approx(3.0 - (1 ** 2 + 1 ** 2) ** 0.5 / 2, abs=1e-4)
    assert got.high == pytest.approx(3.0 + 0.5 / 2, abs=1e-4)


def test_missing_factor_widens_the_interval_to_the_whole_scale() -> None:
    got = composite({"a": FactorScore(4.0, "static", ""), "b": _f(None)}, {"a": 1, "b": 1})
    assert (got.value, got.low, got.high) == (2.5, 2.5, 4.5)  # b could be anything, 1 to 5


def _workload(**gates: object) -> WorkloadSpec:
    return WorkloadSpec(name="w", volume=Volume(1000, 1000, 100),
                        weights={"latency": 1, "cost": 1}, **gates)  # type: ignore[arg-type]


def _evidence(**kw: object) -> CandidateEvidence:
    base: dict[str, object] = {"candidate": "c", "provider": "p", "window_seconds": 3600}
    return CandidateEvidence(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("gates", "evidence", "reasons", "notes"), [
    pytest.param({"require": ("hipaa_baa",)}, {"facts": {"hipaa_baa": FactValue(True)}},
                 [], [], id="required-fact-held"),
    pytest.param({"require": ("hipaa_baa",)}, {"facts": {"hipaa_baa": FactValue(False)}},
                 ["requires hipaa_baa: not offered"], [], id="required-fact-not-offered"),
    pytest.param({"require": ("hipaa_baa",)}, {}, ["requires hipaa_baa: unknown"], [],
                 id="required-fact-unknown-excludes"),
    pytest.param({"min_availability": 0.99}, {"availability": AvailabilityStats(98, 2)},
                 ["availability 0.9800 below the floor 0.99"], [], id="availability-floor"),
    pytest.param({"min_availability": 0.99}, {"availability": AvailabilityStats(99, 1)},
                 [], [], id="availability-at-floor-passes"),
    pytest.param({"min_availability": 0.99}, {},
                 [], ["min_availability not checked: no probes in the window"],
                 id="availability-unknown-is-a-note-not-a-gate"),
    pytest.param({"max_ttft_p99_seconds": 0.8}, {"latency": LatencyStats(10, 0.2, 0.5, 0.9)},
                 ["TTFT p99 0.900s over the ceiling 0.8s"], [], id="ttft-ceiling"),
    pytest.param({"max_monthly_cost_usd": 50.0}, {"price": Price(40.0, 100.0)}, [], [],
                 id="cost-exactly-at-budget-passes"),
    pytest.param({"max_monthly_cost_usd": 49.0}, {"price": Price(40.0, 100.0)},
                 ["monthly cost $50.00 over the budget $49.00"], [], id="cost-over-budget"),
])
def test_gates(gates: dict[str, object], evidence: dict[str, object], reasons: list[str],
               notes: list[str]) -> None:
    got_reasons, got_notes = gate(_evidence(**evidence), _workload(**gates))
    assert got_reasons == reasons
    assert got_notes == notes


def test_candidate_without_hipaa_baa_never_wins_healthcare_voice() -> None:
    """The framework's worked example: no BAA, no win, whatever the other scores."""
    wl = WorkloadSpec(name="healthcare-voice", volume=Volume(300_000, 1500, 150, 0.6),
                      weights={"latency": 5, "cost": 5, "reliability": 4},
                      ttft_budget_seconds=0.8, require=("hipaa_baa",))
    brilliant = _evidence(candidate="fast-cheap", facts={"hipaa_baa": FactValue(False)},
                          latency=LatencyStats(1000, 0.05, 0.08, 0.1),
                          availability=AvailabilityStats(100_000, 0), price=Price(0.01, 0.02))
    mediocre = _evidence(candidate="slow-baa", facts={"hipaa_baa": FactValue(True)},
                         latency=LatencyStats(1000, 0.5, 0.7, 0.79),
                         availability=AvailabilityStats(990, 10), price=Price(5.0, 15.0))
    ranking = rank(wl, [brilliant, mediocre], NOW)
    assert ranking.leader == "slow-baa"
    gated = next(e for e in ranking.entries if e.candidate == "fast-cheap")
    assert gated.gated and gated.rank is None
    assert gated.gate_reasons == ("requires hipaa_baa: not offered",)
    leader_composite = ranking.entries[0].composite
    assert gated.composite is not None and leader_composite is not None
    assert gated.composite > leader_composite  # it scored higher, and still cannot win


def test_rank_orders_by_composite_and_breaks_ties_by_id() -> None:
    wl = _workload()
    fast = _evidence(candidate="b-fast", latency=LatencyStats(10, 0.1, 0.1, 0.1))
    slow = _evidence(candidate="a-slow", latency=LatencyStats(10, 2.0, 2.0, 2.0))
    twin = _evidence(candidate="a-fast", latency=LatencyStats(10, 0.1, 0.1, 0.1))
    ranking = rank(wl, [slow, fast, twin], NOW)
    assert [(e.candidate, e.rank) for e in ranking.entries] == [
        ("a-fast", 1), ("b-fast", 2), ("a-slow", 3)]


def test_latency_against_budget_uses_p99_and_keeps_its_evidence() -> None:
    wl = WorkloadSpec(name="w", volume=Volume(1, 1, 1), weights={"latency": 1},
                      ttft_budget_seconds=0.8)
    score = score_latency(_evidence(latency=LatencyStats(200, 0.2, 0.3, 0.4)), wl, NOW)
    assert score.source == "measured"
    assert score.score == pytest.approx(4.0)  # p99 is half the budget
    assert score.evidence["samples"] == 200
    assert score.evidence["ttft_p99_seconds"] == 0.4


def test_reliability_without_probes_is_missing_and_shows_the_sla_beside_it() -> None:
    """A published SLA is a promise, not a measurement: it must not score in its place."""
    score = score_reliability(_evidence(sla_availability=0.999), _workload(), NOW)
    assert score.source == "missing" and score.score is None
    assert score.evidence["committed_sla"] == 0.999
    assert "committed SLA 99.9000%" in score.reason


def test_reliability_of_a_throttled_candidate_says_so() -> None:
    throttled = _evidence(sla_availability=0.999,
                          availability_windows={"1h": AvailabilityStats(0, 0, throttled=40)})
    score = score_reliability(throttled, _workload(), NOW)
    assert score.score is None
    assert score.reason.startswith("every probe was throttled (40 answered 429)")


def test_cost_scale_prefers_cheaper_blended_price() -> None:
    assert BLENDED_PRICE.score(0.19) > BLENDED_PRICE.score(3.2) > BLENDED_PRICE.score(20)


def _down(candidate: str, provider: str) -> CandidateEvidence:
    return _evidence(candidate=candidate, provider=provider,
                     recent=RecentProbes(failed=5, first_failed_at=NOW))


@pytest.mark.parametrize(("others", "expected"), [
    pytest.param([_down("b/y", "b")], "unknown", id="two-providers-all-failing-is-the-monitor"),
    pytest.param([_down("a/z", "a")], "down", id="one-provider-all-failing-is-its-outage"),
    pytest.param([_down("b/y", "b"), _evidence(candidate="c/w", provider="c",
                                               recent=RecentProbes(ok=5))],
                 "down", id="someone-serving-means-the-failures-are-real"),
])
def test_everyone_failing_at_once_is_the_monitors_outage_not_theirs(
        others: list[CandidateEvidence], expected: str) -> None:
    ranking = rank(_workload(), [_down("a/x", "a"), *others], NOW)
    state = next(e for e in ranking.entries if e.candidate == "a/x")
    assert state.state == expected
    if expected == "unknown":
        assert "the monitor's own network" in state.state_reason
