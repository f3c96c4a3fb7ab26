"""Every factor's rule, as named tables: evidence in, score, source and reason out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.scoring.base import DEFAULT_SCALES, WorkloadSpec
from service.scoring.cost import Volume
from service.scoring.evidence import (
    AvailabilityStats,
    CandidateEvidence,
    FactValue,
    IncidentHistory,
    Price,
    RateStats,
)
from service.scoring.factors import FACTOR_FUNCTIONS, FactorScore
from service.scoring.scales import scale
from tests.clock import T0 as NOW


def wl(**kw: object) -> WorkloadSpec:
    base: dict[str, object] = {"name": "w", "volume": Volume(1000, 1000, 1000),
                               "weights": {"latency": 1}}
    return WorkloadSpec(**{**base, **kw})  # type: ignore[arg-type]


def ev(**kw: object) -> CandidateEvidence:
    base: dict[str, object] = {"candidate": "c", "provider": "p", "window_seconds": 3600}
    return CandidateEvidence(**{**base, **kw})  # type: ignore[arg-type]


def score(factor: str, evidence: CandidateEvidence, workload: WorkloadSpec | None = None
          ) -> tuple[float | None, str, str]:
    result = FACTOR_FUNCTIONS[factor](evidence, workload or wl(), NOW)
    return result.score, result.source, result.reason


@pytest.mark.parametrize(("factor", "evidence", "expected", "source"), [
    pytest.param("task_quality", {"quality": RateStats(1000, 1000, 50)}, 5.0, "measured",
                 id="quality-perfect-record"),
    pytest.param("task_quality", {"quality": RateStats(3, 3, 1)}, 3.182, "measured",
                 id="quality-3-of-3-earns-part-of-the-way"),
    pytest.param("task_quality", {"quality_prior": FactValue(3.5, "https://x", "2026-11-01")},
                 3.5, "static", id="quality-prior-without-evals"),
    pytest.param("task_quality", {}, None, "missing", id="quality-nothing"),
    pytest.param("tool_calling", {"tool_calls": RateStats(990, 1000, 990)}, 4.976, "measured",
                 id="tools-990-of-1000"),
    pytest.param("tool_calling", {"tool_calls": RateStats(0, 20, 20)}, 1.0, "measured",
                 id="tools-all-wrong"),
    pytest.param("tool_calling", {}, None, "missing", id="tools-no-probe"),
    pytest.param("long_context", {"long_context": {32000: RateStats(500, 500, 100)}}, 5.0,
                 "measured", id="long-context-all-recalled"),
    pytest.param("lock_in", {"facts": {"open_weights": FactValue(True)}}, 5.0, "static",
                 id="lock-in-open-weights"),
    pytest.param("lock_in", {"facts": {"openai_compatible": FactValue(False)}}, 2.0, "static",
                 id="lock-in-proprietary"),
    pytest.param("fine_tuning", {"facts": {"fine_tuning": FactValue("supervised")}}, 3.0,
                 "static", id="fine-tuning-supervised"),
    pytest.param("compliance", {"facts": {"hipaa_baa": FactValue(True),
                                          "soc2_type2": FactValue(True)}}, 2.6, "static",
                 id="compliance-two-of-five"),
    pytest.param("stability", {"facts": {"founded_year": FactValue(2016)}}, 5.0, "static",
                 id="stability-ten-years"),
    pytest.param("stability", {"facts": {"founded_year": FactValue(2024)}}, 2.5, "static",
                 id="stability-two-years-interpolates"),
    pytest.param("stability", {}, None, "missing", id="stability-unknown-founding"),
    pytest.param("ecosystem", {"facts": {"official_sdks": FactValue(4)}}, 4.0, "static",
                 id="ecosystem-four-sdks"),
    pytest.param("ecosystem", {"facts": {"official_sdks": FactValue(4),
                                         "openai_compatible": FactValue(True)}}, 5.0, "static",
                 id="ecosystem-openai-compatible-adds-one"),
    pytest.param("ecosystem", {"facts": {"official_sdks": FactValue(6),
                                         "openai_compatible": FactValue(True)}}, 5.0, "static",
                 id="ecosystem-capped-at-5"),
    pytest.param("ecosystem", {}, None, "missing", id="ecosystem-unknown"),
    pytest.param("fine_tuning", {"facts": {"fine_tuning": FactValue("preference")}}, 4.0,
                 "static", id="fine-tuning-preference"),
    pytest.param("fine_tuning", {"facts": {"fine_tuning": FactValue("none")}}, 1.0,
                 "static", id="fine-tuning-none"),
    pytest.param("fine_tuning", {"facts": {"fine_tuning": FactValue("none"),
                                           "open_weights": FactValue(True)}}, 5.0,
                 "static", id="fine-tuning-open-weights-wins"),
    pytest.param("lock_in", {"facts": {"openai_compatible": FactValue(True)}}, 4.0, "static",
                 id="lock-in-openai-compatible"),
    pytest.param("lock_in", {}, None, "missing", id="lock-in-unknown"),
    pytest.param("compliance", {"facts": {name: FactValue(True) for name in (
        "hipaa_baa", "soc2_type2", "iso27001", "eu_data_residency", "eu_ai_act")}}, 5.0,
                 "static", id="compliance-all-five"),
    pytest.param("compliance", {"facts": {"hipaa_baa": FactValue(False)}}, 1.0, "static",
                 id="compliance-known-none-held"),
    pytest.param("compliance", {}, None, "missing", id="compliance-all-unknown"),
    pytest.param("cost", {"price": Price(0.1, 0.1)}, 5.0, "static", id="cost-cheap-static"),
    pytest.param("cost", {"price": Price(40.0, 40.0, source="litellm")}, 1.0, "measured",
                 id="cost-expensive-from-a-price-list"),
    pytest.param("cost", {}, None, "missing", id="cost-no-price"),
    pytest.param("long_context", {}, None, "missing", id="long-context-no-probe"),
])
def test_factor_table(factor: str, evidence: dict[str, object], expected: float | None,
                      source: str) -> None:
    got, got_source, reason = score(factor, ev(**evidence))
    assert got == (pytest.approx(expected, abs=0.01) if expected is not None else None)
    assert got_source == source
    assert reason


def test_long_context_counts_only_probes_at_the_operating_length() -> None:
    evidence = ev(long_context={8000: RateStats(100, 100, 10), 64000: RateStats(30, 100, 10)})
    short, _, _ = score("long_context", evidence, wl(context_tokens=4000))
    long, _, reason = score("long_context", evidence, wl(context_tokens=32000))
    none, source, _ = score("long_context", evidence, wl(context_tokens=100000))
    assert short is not None and long is not None and long < short
    assert "at >= 32000 tokens" in reason
    assert none is None and source == "missing"


def test_reliability_scores_the_longest_window_and_reports_budget_and_burn() -> None:
    windows = {"1h": AvailabilityStats(50, 10), "30d": AvailabilityStats(99_900, 100)}
    result = FACTOR_FUNCTIONS["reliability"](
        ev(availability_windows=windows, sla_availability=0.999), wl(), NOW)
    assert result.evidence["scored_window"] == "30d"
    assert result.evidence["error_budget_remaining"] == pytest.approx(0.0, abs=1e-9)
    assert result.evidence["windows"]["1h"]["burn_rate"] == pytest.approx(166.6667, rel=1e-4)
    assert "error budget exhausted" in result.reason


def test_reliability_keeps_declared_incident_minutes_as_a_second_view() -> None:
    incidents = IncidentHistory({"30d": 42.0}, {}, {})
    result = FACTOR_FUNCTIONS["reliability"](
        ev(availability_windows={"30d": AvailabilityStats(100, 0)}, incidents=incidents),
        wl(), NOW)
    assert result.evidence["declared_incident_minutes"] == {"30d": 42.0}


@pytest.mark.parametrize(("recent", "prior", "expected", "trend"), [
    pytest.param({}, {}, 5.0, "steady", id="no-incidents"),
    pytest.param({"major": 6}, {"major": 6}, 4.0, "steady", id="twelve-weight-a-month-costs-1"),
    pytest.param({"minor": 6}, {"minor": 1}, 4.25, "worsening", id="worsening-trend"),
    pytest.param({"minor": 1}, {"minor": 6}, 5.0, "improving", id="improving-capped-at-5"),
    pytest.param({"critical": 40}, {}, 2.75, "worsening", id="penalty-capped-at-two"),
])
def test_stability_reads_declared_incidents(recent: dict[str, int], prior: dict[str, int],
                                            expected: float, trend: str) -> None:
    evidence = ev(facts={"founded_year": FactValue(2010)},
                  incidents=IncidentHistory({}, recent, prior))
    result = FACTOR_FUNCTIONS["stability"](evidence, wl(), NOW)
    assert result.score == pytest.approx(expected)
    assert result.source == "measured" and result.evidence["trend"] == trend


@pytest.mark.parametrize(("sdks", "incidents", "sdk_words", "incident_words"), [
    pytest.param(1, {"minor": 1}, "1 official SDK,", "1 declared incident in", id="one"),
    pytest.param(2, {"minor": 2}, "2 official SDKs,", "2 declared incidents in", id="two"),
    pytest.param(0, {}, "0 official SDKs,", "0 declared incidents in", id="none"),
])
def test_reasons_count_in_words_that_agree(sdks: int, incidents: dict[str, int],
                                           sdk_words: str, incident_words: str) -> None:
    facts = {"official_sdks": FactValue(sdks), "founded_year": FactValue(2010)}
    evidence = ev(facts=facts, incidents=IncidentHistory({}, incidents, {}))
    assert sdk_words in FACTOR_FUNCTIONS["ecosystem"](evidence, wl(), NOW).reason
    assert incident_words in FACTOR_FUNCTIONS["stability"](evidence, wl(), NOW).reason


def _history(*points: tuple[int, float, float]) -> tuple[Price, ...]:
    return tuple(Price(inp, out, effective_at=NOW - timedelta(days=days_ago))
                 for days_ago, inp, out in points)


@pytest.mark.parametrize(("history", "expected_change", "score_value"), [
    pytest.param(_history((365, 2.0, 2.0), (0, 1.0, 1.0)), -0.5, 5.0, id="halved-in-a-year"),
    pytest.param(_history((200, 1.0, 1.0)), 0.0, 3.0, id="unchanged-for-200-days"),
    pytest.param(_history((400, 1.0, 1.0), (100, 1.2, 1.2)), 0.2, 2.0,
                 id="up-20-percent-in-the-last-year"),
    pytest.param(_history((10, 1.0, 1.0)), None, None, id="history-too-short"),
])
def test_pricing_trajectory(history: tuple[Price, ...], expected_change: float | None,
                            score_value: float | None) -> None:
    result = FACTOR_FUNCTIONS["pricing_trajectory"](ev(price_history=history), wl(), NOW)
    if expected_change is None:
        assert result.score is None and result.source == "missing"
        return
    assert result.evidence["annualised_change"] == pytest.approx(expected_change, abs=1e-3)
    assert result.score == pytest.approx(score_value, abs=0.01)


def test_workload_scale_override_changes_the_score() -> None:
    evidence = ev(tool_calls=RateStats(990, 1000, 990))
    default, _, _ = score("tool_calling", evidence)
    strict = wl(scales={"tool_calling": scale([(0.99, 1), (0.999, 5)])})
    overridden, _, _ = score("tool_calling", evidence, strict)
    assert default == pytest.approx(4.976) and overridden == 1.0


def test_every_factor_has_a_function_and_every_scale_a_unit() -> None:
    assert len(FACTOR_FUNCTIONS) == 12
    assert all(s.unit for s in DEFAULT_SCALES.values())


@pytest.mark.parametrize(("factor", "successes", "trials", "expected"), [
    # docs/scoring.md, "How sure is a score": (score, low, high), to one decimal there.
    pytest.param("tool_calling", 0, 11, (1.0, 1.0, 1.0), id="tools-0-of-11"),
    pytest.param("tool_calling", 3, 3, (2.29, 1.0, 4.48), id="tools-3-of-3"),
    pytest.param("tool_calling", 30, 30, (4.49, 2.46, 5.0), id="tools-30-of-30"),
    pytest.param("tool_calling", 990, 1000, (4.98, 4.76, 5.0), id="tools-990-of-1000"),
    pytest.param("reliability", 3, 3, (1.54, 1.0, 2.97), id="availability-3-of-3"),
    pytest.param("reliability", 990, 1000, (1.97, 1.72, 2.75), id="availability-990-of-1000"),
    pytest.param("reliability", 1000, 1000, (4.01, 2.87, 4.77), id="availability-1000"),
    pytest.param("reliability", 10_000, 10_000, (5.0, 4.25, 5.0), id="availability-10000"),
])
def test_documented_estimates_and_intervals(factor: str, successes: int, trials: int,
                                            expected: tuple[float, float, float]) -> None:
    evidence = (ev(tool_calls=RateStats(successes, trials, trials)) if factor == "tool_calling"
                else ev(availability_windows={"30d": AvailabilityStats(successes,
                                                                       trials - successes)}))
    got = FACTOR_FUNCTIONS[factor](evidence, wl(), NOW)
    assert (got.score, got.low, got.high) == pytest.approx(expected, abs=0.01)


def test_small_samples_rank_between_failure_and_a_long_record() -> None:
    """3/3 above 0/11 and below 990/1000, and the long record is the more certain."""
    def tools(ok: int, n: int) -> FactorScore:
        return FACTOR_FUNCTIONS["tool_calling"](ev(tool_calls=RateStats(ok, n, n)), wl(), NOW)

    broken, new, proven = tools(0, 11), tools(3, 3), tools(990, 1000)
    assert broken.score is not None and new.score is not None and proven.score is not None
    assert broken.score < new.score < proven.score
    assert all(f.low is not None and f.high is not None for f in (new, proven))
    assert proven.high - proven.low < new.high - new.low  # type: ignore[operator]
