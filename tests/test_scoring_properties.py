"""Properties of the pure scoring (service/scoring/), checked on generated evidence.

The tables in test_factors.py, test_scoring.py and test_flip.py pin single cases; these
tests state what must hold for every case: better evidence never hurts, missing evidence
never helps, names and weight units change nothing, a down or throttled candidate is never
chosen, scores and intervals stay in range, and noise between equal providers does not flip
the top choice while a real change does. Every object is built directly; no database.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

from service.scoring.base import DEFAULT_SCALES, MISSING_POLICIES, RATE_PRIORS, WorkloadSpec
from service.scoring.cost import Volume
from service.scoring.evidence import (
    AVAILABILITY_WINDOWS,
    AvailabilityStats,
    CandidateEvidence,
    FactValue,
    IncidentHistory,
    LatencyStats,
    Price,
    PriceTier,
    RateStats,
    RecentProbes,
)
from service.scoring.factors import FACTOR_FUNCTIONS, FactorScore
from service.scoring.flip import TopChoiceState, decide
from service.scoring.performance import score_latency
from service.scoring.provider_facts import COMPLIANCE_FACTS, FINE_TUNING_SCORES
from service.scoring.ranking import (
    RankedCandidate,
    Ranking,
    composite,
    counted_factors,
    gate,
    rank,
    score_candidate,
)
from service.scoring.states import STATES, StateRules
from service.scoring.stats import (
    lognormal_spread,
    quantile,
    quantile_interval,
    rate_estimate,
    wilson_interval,
)
from tests.clock import T0 as NOW

FACTORS = tuple(FACTOR_FUNCTIONS)
ME = "me"  # the candidate a property is about; the others are named o0, o1, ...

# Sized so that the module runs in well under a minute; derandomized and without an example
# database, so CI sees the same examples on every run. To search harder while changing the
# scoring, raise max_examples and set derandomize=False for a run.
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --- Strategies: evidence, workloads ----------------------------------------------------

def rate_stats(max_trials: int = 400, min_trials: int = 0) -> st.SearchStrategy[RateStats]:
    return st.integers(min_trials, max_trials).flatmap(
        lambda n: st.builds(RateStats, st.integers(0, n), st.just(n), st.integers(0, n)))


@st.composite
def latency_stats(draw: st.DrawFn) -> LatencyStats:
    p50 = draw(st.floats(0.02, 20))
    p95 = p50 * draw(st.floats(1, 10))
    p99 = p95 * draw(st.floats(1, 5))
    return LatencyStats(draw(st.integers(0, 3000)), p50, p95, p99)


# USD per million tokens: free, or between a tenth of a cent and $120 (below, a price
# history whose price moves by a factor of 1e25 or more in a year overflows: see the xfail).
money = st.just(0.0) | st.floats(0.001, 120)
cut = st.just(0.0) | st.floats(0.01, 1)  # a price cut: the new price over the old one


@st.composite
def prices(draw: st.DrawFn, effective_at: datetime | None = None) -> Price:
    input_price, output_price = draw(money), draw(money)
    cached = draw(st.none() | cut.map(lambda f: f * input_price))
    batch = draw(st.booleans())
    tiers = tuple(PriceTier(above, input_price * draw(st.floats(1, 3)),
                            output_price * draw(st.floats(1, 3)))
                  for above in draw(st.lists(st.sampled_from([32_000, 128_000, 200_000]),
                                             max_size=2, unique=True)))
    return Price(input_price, output_price, cached, effective_at=effective_at,
                 batch_input_per_mtok=input_price / 2 if batch else None,
                 batch_output_per_mtok=output_price / 2 if batch else None, tiers=tiers)


@st.composite
def price_histories(draw: st.DrawFn) -> tuple[Price, ...]:
    ages = sorted(draw(st.lists(st.integers(0, 800), max_size=4, unique=True)), reverse=True)
    return tuple(draw(prices(NOW - timedelta(days=age))) for age in ages)


band = st.builds(AvailabilityStats, st.integers(0, 400), st.integers(0, 40),
                 st.integers(0, 40), st.integers(0, 5))
WINDOW_NAMES = tuple(sorted(AVAILABILITY_WINDOWS, key=AVAILABILITY_WINDOWS.__getitem__))


def windows_of(bands: tuple[AvailabilityStats, ...]) -> dict[str, AvailabilityStats]:
    """Nested availability windows from per-age bands: band i holds the probes older than
    window i - 1 and within window i, so a window holds its band and every younger one, as
    the store counts them."""
    out: dict[str, AvailabilityStats] = {}
    total = AvailabilityStats(0, 0)
    for name, b in zip(WINDOW_NAMES, bands, strict=True):
        total = AvailabilityStats(total.ok + b.ok, total.failed + b.failed,
                                  total.throttled + b.throttled,
                                  total.config_errors + b.config_errors)
        out[name] = total
    return out


def bands_of(ev: CandidateEvidence) -> tuple[AvailabilityStats, ...]:
    windows = [ev.availability_windows.get(n, AvailabilityStats(0, 0)) for n in WINDOW_NAMES]
    return tuple(AvailabilityStats(w.ok - p.ok, w.failed - p.failed, w.throttled - p.throttled,
                                   w.config_errors - p.config_errors)
                 for w, p in zip(windows, [AvailabilityStats(0, 0), *windows[:-1]],
                                 strict=True))


def with_bands(ev: CandidateEvidence, bands: tuple[AvailabilityStats, ...]) -> CandidateEvidence:
    windows = windows_of(bands)
    # The scoring window (1 h here) is what the availability gates read.
    return replace(ev, availability_windows=windows, availability=windows["1h"])


def fact_values(values: st.SearchStrategy[Any]) -> st.SearchStrategy[FactValue | None]:
    return st.none() | values.map(lambda v: FactValue(v, "https://example.com/facts", "2026"))


tri = st.sampled_from([True, False, None])
IMPACTS = ("critical", "major", "minor", "none")
incident_counts = st.dictionaries(st.sampled_from(IMPACTS), st.integers(0, 12), max_size=4)
LONG_CONTEXT_SIZES = (8_000, 32_000, 128_000)


@st.composite
def evidence(draw: st.DrawFn, candidate: str = ME) -> CandidateEvidence:
    facts: dict[str, FactValue] = {}
    for name, values in [*((n, tri) for n in COMPLIANCE_FACTS),
                         ("official_sdks", st.none() | st.integers(0, 9)),
                         ("openai_compatible", tri), ("open_weights", tri),
                         ("fine_tuning", st.sampled_from([None, *FINE_TUNING_SCORES])),
                         ("founded_year", st.none() | st.integers(1980, 2027))]:
        value = draw(values)
        if value is not None or draw(st.booleans()):  # an unknown fact, stored or absent
            facts[name] = FactValue(value, "https://example.com/facts", "2026-11-01")
    ev = CandidateEvidence(
        candidate=candidate, provider=draw(st.sampled_from(["p1", "p2", "p3"])),
        window_seconds=3600.0, facts=facts,
        sla_availability=draw(st.none() | st.sampled_from([0.99, 0.999, 0.9999])),
        latency=draw(st.none() | latency_stats()),
        price=draw(st.none() | prices()),
        tool_calls=draw(st.none() | rate_stats()),
        long_context=draw(st.dictionaries(st.sampled_from(LONG_CONTEXT_SIZES), rate_stats(),
                                          max_size=3)),
        quality=draw(st.none() | rate_stats()),
        quality_prior=draw(fact_values(st.sampled_from([1.0, 2.0, 3.5, 5.0]))),
        incidents=draw(st.none() | st.builds(IncidentHistory, st.just({}), incident_counts,
                                             incident_counts)),
        price_history=draw(price_histories()),
        recent=draw(st.none() | st.builds(RecentProbes, st.integers(0, 6), st.integers(0, 6),
                                          st.integers(0, 6), st.integers(0, 2))))
    if draw(st.booleans()):
        ev = with_bands(ev, tuple(draw(band) for _ in WINDOW_NAMES))
    return ev


BOOLEAN_FACTS = (*COMPLIANCE_FACTS, "openai_compatible", "open_weights")


@st.composite
def workloads(draw: st.DrawFn, policy: str | None = None, gates: bool = True) -> WorkloadSpec:
    # Weights as a config gives them: none, or from a hundredth up (a weight of 1e-320 times
    # 0.001 underflows to 0, which is floating point, not scoring).
    weights = {name: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]) | st.floats(0.01, 5))
               for name in FACTORS}
    if not any(weights.values()):
        weights["latency"] = 1.0
    volume = Volume(draw(st.floats(1, 1e7)), draw(st.sampled_from([0, 500, 5_000, 150_000,
                                                                   250_000])),
                    draw(st.sampled_from([0, 200, 2_000])), draw(st.floats(0, 1)),
                    draw(st.floats(0, 1)), draw(st.floats(0, 1)))
    spec = WorkloadSpec(
        name="w", volume=volume, weights=weights,
        ttft_budget_seconds=draw(st.none() | st.sampled_from([0.3, 1.0, 4.0])),
        context_tokens=draw(st.none() | st.sampled_from([16_000, 100_000])),
        missing=policy or draw(st.sampled_from(MISSING_POLICIES)),
        confidence=draw(st.sampled_from([0.95, 0.8, 0.99])),
        tie_confidence=draw(st.sampled_from([0.9, 0.6])))
    if gates and draw(st.booleans()):
        spec = replace(
            spec, require=tuple(draw(st.lists(st.sampled_from(BOOLEAN_FACTS), max_size=2,
                                              unique=True))),
            min_availability=draw(st.none() | st.sampled_from([0.5, 0.9, 0.99])),
            max_ttft_p99_seconds=draw(st.none() | st.sampled_from([1.0, 5.0, 30.0])),
            max_monthly_cost_usd=draw(st.none() | st.sampled_from([100.0, 1e5])),
            max_throttled_share=draw(st.none() | st.sampled_from([0.1, 0.5])))
    return spec


def others(max_size: int = 4) -> st.SearchStrategy[list[CandidateEvidence]]:
    return st.integers(0, max_size).flatmap(
        lambda n: st.tuples(*(evidence(f"o{i}") for i in range(n))).map(list))


# --- Improvements: one piece of better evidence on one factor, all else equal -----------
# What "better" means, factor by factor: one more success or one fewer failure of a rate
# (eval items, tool calls, recalled facts at any context size; probes at any age, counted in
# every availability window reaching back that far), never leaving no trials; a lower TTFT
# p99 on the same sample, or every quantile lower; every price component cut alike; the
# current price cut with the history before it as it was; a compliance fact true; more SDKs
# or an OpenAI-compatible API; a richer fine-tuning offer or open weights; an earlier
# founding year or one fewer declared incident in the last 90 days; open weights or an
# OpenAI-compatible API for lock-in. A rate's first trial (from no evidence) counts too.

def _rate_success(stats: RateStats) -> RateStats:
    return replace(stats, successes=stats.successes + 1, trials=stats.trials + 1)


def _rate_fewer_failure(stats: RateStats) -> RateStats | None:
    if stats.trials - stats.successes < 1 or stats.trials < 2:
        return None  # nothing to take back, or taking it back leaves no evidence at all
    return replace(stats, trials=stats.trials - 1)


def _fact(ev: CandidateEvidence, name: str, value: Any) -> CandidateEvidence:
    return replace(ev, facts={**ev.facts, name: FactValue(value, "https://example.com", "2026")})


def _value(ev: CandidateEvidence, name: str) -> Any:
    f = ev.facts.get(name)
    return None if f is None else f.value


def _scaled(price: Price, c: float) -> Price:
    def s(x: float | None) -> float | None:
        return None if x is None else x * c
    return replace(price, input_per_mtok=price.input_per_mtok * c,
                   output_per_mtok=price.output_per_mtok * c,
                   cached_input_per_mtok=s(price.cached_input_per_mtok),
                   cache_write_per_mtok=s(price.cache_write_per_mtok),
                   batch_input_per_mtok=s(price.batch_input_per_mtok),
                   batch_output_per_mtok=s(price.batch_output_per_mtok),
                   tiers=tuple(replace(t, input_per_mtok=t.input_per_mtok * c,
                                       output_per_mtok=t.output_per_mtok * c,
                                       cached_input_per_mtok=s(t.cached_input_per_mtok))
                               for t in price.tiers))


Improve = Callable[[st.DataObject, CandidateEvidence], CandidateEvidence | None]


def improve_quality(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    q = ev.quality
    if q is None or q.trials == 0:
        if ev.quality_prior is not None:
            return None  # the first eval result replaces a configured prior: see the xfail
        return replace(ev, quality=RateStats(1, 1, 1))
    better = data.draw(st.sampled_from([_rate_success, _rate_fewer_failure]))(q)
    return None if better is None else replace(ev, quality=better)


def improve_tool_calling(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    t = ev.tool_calls or RateStats(0, 0)
    better = _rate_success(t) if t.trials == 0 else \
        data.draw(st.sampled_from([_rate_success, _rate_fewer_failure]))(t)
    return None if better is None else replace(ev, tool_calls=better)


def improve_long_context(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    size = data.draw(st.sampled_from(LONG_CONTEXT_SIZES))
    stats = ev.long_context.get(size, RateStats(0, 0))
    better = _rate_success(stats) if stats.trials == 0 else \
        data.draw(st.sampled_from([_rate_success, _rate_fewer_failure]))(stats)
    return None if better is None else replace(ev, long_context={**ev.long_context,
                                                                 size: better})


def improve_latency(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    lat = ev.latency
    if lat is None or lat.samples == 0:
        return None  # from no sample to some: the missing-evidence property covers it
    if data.draw(st.booleans()):  # a lower p99, the rest of the sample as it was
        return replace(ev, latency=replace(lat, ttft_p99=data.draw(
            st.floats(lat.ttft_p95, lat.ttft_p99))))
    c = data.draw(st.floats(0.05, 1))  # a faster provider: every quantile lower
    return replace(ev, latency=replace(lat, ttft_p50=lat.ttft_p50 * c, ttft_p95=lat.ttft_p95 * c,
                                       ttft_p99=lat.ttft_p99 * c))


def improve_cost(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    if ev.price is None:
        return None
    return replace(ev, price=_scaled(ev.price, data.draw(cut)))


def improve_pricing_trajectory(data: st.DataObject, ev: CandidateEvidence
                               ) -> CandidateEvidence | None:
    if not ev.price_history:
        return None
    *older, last = ev.price_history  # the current price lower, the history before it equal
    return replace(ev, price_history=(*older, _scaled(last, data.draw(cut))))


def improve_compliance(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    name = data.draw(st.sampled_from(COMPLIANCE_FACTS))
    return None if _value(ev, name) is True else _fact(ev, name, True)


def improve_ecosystem(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    if data.draw(st.booleans()):
        sdks = _value(ev, "official_sdks")
        return _fact(ev, "official_sdks", (sdks or 0) + data.draw(st.integers(1, 3)))
    return None if _value(ev, "openai_compatible") is True else \
        _fact(ev, "openai_compatible", True)


FINE_TUNING_ORDER = sorted(FINE_TUNING_SCORES, key=FINE_TUNING_SCORES.__getitem__)


def improve_fine_tuning(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    if data.draw(st.booleans()):
        return None if _value(ev, "open_weights") is True else _fact(ev, "open_weights", True)
    offer = _value(ev, "fine_tuning")
    better = FINE_TUNING_ORDER if offer not in FINE_TUNING_SCORES else \
        FINE_TUNING_ORDER[FINE_TUNING_ORDER.index(offer) + 1:]
    return _fact(ev, "fine_tuning", data.draw(st.sampled_from(better))) if better else None


def improve_stability(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    if data.draw(st.booleans()) or ev.incidents is None:
        founded = _value(ev, "founded_year")
        return _fact(ev, "founded_year", (NOW.year if founded is None else founded)
                     - data.draw(st.integers(1, 10)))
    recent = {k: v for k, v in ev.incidents.recent.items() if v > 0}
    if not recent:
        return None
    impact = data.draw(st.sampled_from(sorted(recent)))
    fewer = {**ev.incidents.recent, impact: recent[impact] - 1}
    return replace(ev, incidents=replace(ev.incidents, recent=fewer))


def improve_lock_in(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    name = data.draw(st.sampled_from(["open_weights", "openai_compatible"]))
    return None if _value(ev, name) is True else _fact(ev, name, True)


def improve_reliability(data: st.DataObject, ev: CandidateEvidence) -> CandidateEvidence | None:
    """One more successful probe, or one fewer failed one, at some age: it counts in every
    window that reaches back that far."""
    bands = list(bands_of(ev))
    i = data.draw(st.integers(0, len(bands) - 1))
    if data.draw(st.booleans()):
        bands[i] = replace(bands[i], ok=bands[i].ok + 1)
    else:
        if bands[i].failed == 0:
            return None
        bands[i] = replace(bands[i], failed=bands[i].failed - 1)
    return with_bands(ev, tuple(bands))


IMPROVEMENTS: dict[str, Improve] = {
    "task_quality": improve_quality, "latency": improve_latency, "cost": improve_cost,
    "tool_calling": improve_tool_calling, "long_context": improve_long_context,
    "compliance": improve_compliance, "reliability": improve_reliability,
    "ecosystem": improve_ecosystem, "fine_tuning": improve_fine_tuning,
    "stability": improve_stability, "pricing_trajectory": improve_pricing_trajectory,
    "lock_in": improve_lock_in}
assert set(IMPROVEMENTS) == set(FACTORS)


def improved(data: st.DataObject, ev: CandidateEvidence, factor: str | None = None
             ) -> CandidateEvidence:
    factor = factor or data.draw(st.sampled_from(FACTORS), label="factor")
    better = IMPROVEMENTS[factor](data, ev)
    assume(better is not None)
    assert better is not None
    return better


# --- Helpers ------------------------------------------------------------------------------

def scores(ev: CandidateEvidence, wl: WorkloadSpec) -> dict[str, FactorScore]:
    return {name: fn(ev, wl, NOW) for name, fn in FACTOR_FUNCTIONS.items()}


def position(ranking: Ranking, candidate: str) -> float:
    """The candidate's rank; infinity when it is gated or has no composite."""
    entry = next(e for e in ranking.entries if e.candidate == candidate)
    return math.inf if entry.rank is None else entry.rank


def entry_of(ranking: Ranking, candidate: str) -> RankedCandidate:
    return next(e for e in ranking.entries if e.candidate == candidate)


def gained_evidence(before: CandidateEvidence, after: CandidateEvidence, wl: WorkloadSpec
                    ) -> bool:
    """Whether some weighted factor without evidence before has evidence after."""
    a, b = scores(before, wl), scores(after, wl)
    return any(wl.weights[n] > 0 and a[n].score is None and b[n].score is not None
               for n in FACTORS)


# --- 1. Better evidence never lowers a score, a composite or a rank ------------------------

@PROPERTY
@given(st.data(), evidence(), workloads())
def test_better_evidence_never_lowers_a_factor_score(data: st.DataObject, ev: CandidateEvidence,
                                                     wl: WorkloadSpec) -> None:
    better = improved(data, ev)
    before, after = scores(ev, wl), scores(better, wl)
    for name in FACTORS:
        if before[name].score is not None:
            note(f"{name}: {before[name].reason} -> {after[name].reason}")
            assert after[name].score is not None, f"{name} lost its evidence"
            assert after[name].score >= before[name].score, name


@PROPERTY
@given(st.data(), evidence(), workloads(), others())
def test_better_evidence_never_lowers_the_composite_or_the_rank(
        data: st.DataObject, ev: CandidateEvidence, wl: WorkloadSpec,
        rivals: list[CandidateEvidence]) -> None:
    better = improved(data, ev)
    # Under `prior` and `drop`, evidence where there was none may score below what its
    # absence counted as: only `worst` promises that (property 3).
    assume(wl.missing == "worst" or not gained_evidence(ev, better, wl))
    before, after = score_candidate(ev, wl, NOW), score_candidate(better, wl, NOW)
    if before.composite is not None:
        assert after.composite is not None
        assert after.composite >= before.composite
    assert position(rank(wl, [*rivals, better], NOW), ME) <= \
        position(rank(wl, [*rivals, ev], NOW), ME)


@pytest.mark.parametrize("factor", sorted(DEFAULT_SCALES))
@PROPERTY
@given(x=st.floats(-1, 100), y=st.floats(-1, 100))
def test_every_default_scale_is_monotone_in_its_quantity(factor: str, x: float, y: float) -> None:
    sc = DEFAULT_SCALES[factor]
    lo, hi = sorted((x, y))
    if sc.log:
        lo, hi = max(lo, 0.0), max(hi, 0.0)
    rising = sc.anchors[-1][1] > sc.anchors[0][1]
    assert (sc.score(lo) <= sc.score(hi)) if rising else (sc.score(lo) >= sc.score(hi))


@pytest.mark.parametrize("factor", sorted(RATE_PRIORS))
@PROPERTY
@given(data=st.data(), trials=st.integers(1, 2000))
def test_a_rate_estimate_rises_with_successes_and_falls_with_failures(
        data: st.DataObject, factor: str, trials: int) -> None:
    successes = data.draw(st.integers(0, trials - 1))
    at = {(k, n): rate_estimate(k, n, RATE_PRIORS[factor])[0]
          for k, n in [(successes, trials), (successes + 1, trials), (successes + 1, trials + 1),
                       (successes, trials + 1)]}
    assert at[(successes + 1, trials)] > at[(successes, trials)]  # a failure turned success
    assert at[(successes + 1, trials + 1)] > at[(successes, trials)]  # one more success
    assert at[(successes, trials + 1)] < at[(successes, trials)]  # one more failure


@PROPERTY
@given(st.data(), evidence(), workloads(gates=False))
def test_one_more_failure_never_raises_a_rate_factor(data: st.DataObject, ev: CandidateEvidence,
                                                     wl: WorkloadSpec) -> None:
    """The mirror of one more success: adding a failure never raises a measured score."""
    factor = data.draw(st.sampled_from(["task_quality", "tool_calling", "reliability"]))
    if factor == "task_quality":
        assume(ev.quality is not None and ev.quality.trials > 0)
        assert ev.quality is not None
        worse = replace(ev, quality=replace(ev.quality, trials=ev.quality.trials + 1))
    elif factor == "tool_calling":
        assume(ev.tool_calls is not None and ev.tool_calls.trials > 0)
        assert ev.tool_calls is not None
        worse = replace(ev, tool_calls=replace(ev.tool_calls, trials=ev.tool_calls.trials + 1))
    else:
        assume(any(w.counted for w in ev.availability_windows.values()))
        bands = list(bands_of(ev))
        i = data.draw(st.integers(0, len(bands) - 1))
        bands[i] = replace(bands[i], failed=bands[i].failed + 1)
        worse = with_bands(ev, tuple(bands))
    before = FACTOR_FUNCTIONS[factor](ev, wl, NOW).score
    after = FACTOR_FUNCTIONS[factor](worse, wl, NOW).score
    assert before is not None and after is not None
    assert after <= before


# --- 2. A candidate at least as good everywhere never ranks below --------------------------

@PROPERTY
@given(st.data(), evidence("b"), workloads(), others(3))
def test_a_dominating_candidate_never_ranks_below(data: st.DataObject, b: CandidateEvidence,
                                                 wl: WorkloadSpec,
                                                 rivals: list[CandidateEvidence]) -> None:
    """A is B with better evidence on any number of factors (so at least as good on every
    factor, with evidence wherever B has it), in the same state. Under `prior` and `drop`
    only where both have evidence on the same factors (property 3 says why)."""
    a = replace(b, candidate=data.draw(st.sampled_from(["a", "c"]), label="a's id"))
    for _ in range(data.draw(st.integers(1, 5), label="improvements")):
        a = improved(data, a)
    assume(wl.missing == "worst" or not gained_evidence(b, a, wl))
    ranking = rank(wl, [*rivals, a, b], NOW)
    entry_a, entry_b = entry_of(ranking, a.candidate), entry_of(ranking, "b")
    assume(entry_b.rank is not None)  # not gated, and a composite (`drop` may leave none)
    assert entry_a.rank is not None
    assert entry_a.state == entry_b.state
    assert entry_a.composite is not None and entry_b.composite is not None
    assert entry_a.composite >= entry_b.composite
    if entry_a.composite > entry_b.composite:
        assert position(ranking, a.candidate) < position(ranking, "b")


factor_scores = st.builds(
    lambda s, d, u: FactorScore(s, "measured", "", {}, max(1.0, s - d), min(5.0, s + u)),
    st.floats(1, 5), st.floats(0, 4), st.floats(0, 4))
factor_dicts = st.fixed_dictionaries({n: st.none() | factor_scores for n in FACTORS}).map(
    lambda d: {n: f if f is not None else FactorScore(None, "missing", "") for n, f in d.items()})
weight_dicts = st.fixed_dictionaries({n: st.sampled_from([0.0, 1.0, 2.5]) | st.floats(0.01, 10)
                                      for n in FACTORS})


@PROPERTY
@given(st.data(), factor_dicts, weight_dicts, st.sampled_from(MISSING_POLICIES))
def test_the_composite_never_falls_when_a_factor_score_rises(
        data: st.DataObject, b: dict[str, FactorScore], weights: dict[str, float],
        policy: str) -> None:
    a = dict(b)
    for name, f in b.items():
        if f.score is not None and data.draw(st.booleans()):
            a[name] = replace(f, score=data.draw(st.floats(f.score, 5)))
        elif f.score is None and policy == "worst" and data.draw(st.booleans()):
            a[name] = data.draw(factor_scores)  # any evidence beats none under `worst`
    ca, cb = composite(a, weights, policy), composite(b, weights, policy)
    assert (ca.value is None) == (cb.value is None)
    if ca.value is not None and cb.value is not None:
        assert ca.value >= cb.value


# --- 3. Missing evidence never beats evidence ----------------------------------------------

def without(ev: CandidateEvidence, factor: str) -> CandidateEvidence:
    """The evidence with none left for `factor` (and for the factors sharing its facts)."""
    def facts_without(*names: str) -> dict[str, FactValue]:
        return {k: v for k, v in ev.facts.items() if k not in names}
    return {
        "task_quality": lambda: replace(ev, quality=None, quality_prior=None),
        "latency": lambda: replace(ev, latency=None),
        "cost": lambda: replace(ev, price=None),
        "tool_calling": lambda: replace(ev, tool_calls=None),
        "long_context": lambda: replace(ev, long_context={}),
        "compliance": lambda: replace(ev, facts=facts_without(*COMPLIANCE_FACTS)),
        "reliability": lambda: replace(ev, availability_windows={}, availability=None),
        "ecosystem": lambda: replace(ev, facts=facts_without("official_sdks",
                                                             "openai_compatible")),
        "fine_tuning": lambda: replace(ev, facts=facts_without("fine_tuning", "open_weights")),
        "stability": lambda: replace(ev, facts=facts_without("founded_year")),
        "pricing_trajectory": lambda: replace(ev, price_history=()),
        "lock_in": lambda: replace(ev, facts=facts_without("open_weights",
                                                           "openai_compatible")),
    }[factor]()


@PROPERTY
@given(factor_dicts, weight_dicts, st.sampled_from(FACTORS), st.floats(0.01, 10), factor_scores)
def test_any_evidence_in_place_of_none_never_lowers_the_composite(
        factors: dict[str, FactorScore], weights: dict[str, float], name: str, weight: float,
        evidence_score: FactorScore) -> None:
    weights = {**weights, name: weight}  # a weighted factor
    gap = {**factors, name: FactorScore(None, "missing", "")}
    filled = {**factors, name: evidence_score}
    assert composite(filled, weights).value is not None
    assert composite(filled, weights).value >= composite(gap, weights).value  # type: ignore[operator]


@PROPERTY
@given(st.data(), evidence("b"), workloads(policy="worst"), others(3))
def test_a_candidate_missing_a_factor_never_ranks_above_its_twin_with_evidence(
        data: st.DataObject, b: CandidateEvidence, wl: WorkloadSpec,
        rivals: list[CandidateEvidence]) -> None:
    have = [n for n, f in scores(b, wl).items() if wl.weights[n] > 0 and f.score is not None]
    assume(have)
    name = data.draw(st.sampled_from(have), label="factor")
    a = replace(without(b, name), candidate=data.draw(st.sampled_from(["a", "c"]), label="id"))
    assert FACTOR_FUNCTIONS[name](a, wl, NOW).score is None
    ranking = rank(wl, [*rivals, a, b], NOW)
    # A gate that needs the missing evidence is not failed for want of it (ranking.gate):
    # the twin with evidence may be gated where the one without is not. Compare ranked twins.
    assume(not entry_of(ranking, "b").gated)
    note(f"a: {entry_of(ranking, a.candidate)}\nb: {entry_of(ranking, 'b')}")
    assert position(ranking, a.candidate) > position(ranking, "b")


# --- 4. Names and order change nothing but tie-breaks --------------------------------------

def sort_key(e: RankedCandidate) -> tuple[bool, float]:
    return (not e.available, -(e.composite or 0.0))


@PROPERTY
@given(st.data(), st.lists(evidence(), min_size=1, max_size=6), workloads())
def test_renaming_or_reordering_candidates_changes_nothing_but_tie_breaks(
        data: st.DataObject, evs: list[CandidateEvidence], wl: WorkloadSpec) -> None:
    evs = [replace(ev, candidate=f"c{i}") for i, ev in enumerate(evs)]
    names = data.draw(st.lists(st.text("abcdxyz", min_size=1, max_size=4), min_size=len(evs),
                               max_size=len(evs), unique=True), label="new names")
    new_name = dict(zip([ev.candidate for ev in evs], names, strict=True))
    renamed = data.draw(st.permutations([replace(ev, candidate=new_name[ev.candidate])
                                         for ev in evs]), label="new order")
    reordered = data.draw(st.permutations(evs), label="order")

    original = rank(wl, evs, NOW)
    assert rank(wl, reordered, NOW) == original  # the order given changes nothing at all

    after = rank(wl, renamed, NOW)
    old_of = {v: k for k, v in new_name.items()}
    assert [(e.rank is None, sort_key(e)) for e in after.entries if e.rank is not None] == \
        [(e.rank is None, sort_key(e)) for e in original.entries if e.rank is not None]
    for e in after.entries:
        before = entry_of(original, old_of[e.candidate])
        # Everything but the name, the place among equals and the tie with the one above.
        assert replace(e, candidate=before.candidate, rank=before.rank, tied=before.tied) == before
        if e.rank is not None:
            assert before.rank is not None
            equals = [x.rank for x in original.entries
                      if x.rank is not None and sort_key(x) == sort_key(e)]
            assert min(equals) <= e.rank <= max(equals)  # only reordered among equals
            above_now = after.entries[e.rank - 2] if e.rank > 1 else None
            above_then = original.entries[before.rank - 2] if before.rank > 1 else None
            if above_now is not None and above_then is not None and \
                    old_of[above_now.candidate] == above_then.candidate:
                assert e.tied == before.tied  # same neighbour above, same verdict


# --- 5. Weights are relative -------------------------------------------------------------

@PROPERTY
@given(st.lists(evidence(), min_size=1, max_size=5), workloads(),
       st.floats(1e-3, 1e3) | st.sampled_from([0.1, 3.0, 7.0, 100.0]))
def test_multiplying_every_weight_by_a_constant_changes_nothing(
        evs: list[CandidateEvidence], wl: WorkloadSpec, c: float) -> None:
    evs = [replace(ev, candidate=f"c{i}") for i, ev in enumerate(evs)]
    scaled = replace(wl, weights={n: w * c for n, w in wl.weights.items()})
    one, other = rank(wl, evs, NOW), rank(scaled, evs, NOW)
    rounding = 1e-4 + 1e-9  # composites are rounded to 4 decimals
    for e in one.entries:
        f = entry_of(other, e.candidate)
        assert (e.composite is None) == (f.composite is None)
        for x, y in [(e.composite, f.composite), (e.composite_low, f.composite_low),
                     (e.composite_high, f.composite_high)]:
            if x is not None and y is not None:
                assert abs(x - y) <= rounding
        assert (e.gated, e.state, e.missing, e.partial) == (f.gated, f.state, f.missing,
                                                             f.partial)
    order_one = [e.candidate for e in one.entries]
    order_other = [e.candidate for e in other.entries]
    if order_one != order_other:
        # Only candidates whose composites a rounding step apart may trade places.
        composites = {e.candidate: e.composite for e in one.entries}
        for x, y in zip(order_one, order_other, strict=True):
            if x != y:
                cx, cy = composites[x], composites[y]
                assert cx is not None and cy is not None and abs(cx - cy) <= rounding


# --- Counterexamples the properties found, kept as plain examples ---------------------------

def test_a_twin_missing_a_factor_ranks_below_one_whose_evidence_scores_the_lowest() -> None:
    """Equal composites (the evidence scores 1, what `worst` counts the missing factor as):
    the candidate with the evidence ranks first, whatever the ids."""
    wl = WorkloadSpec("w", Volume(1, 0, 0), {"long_context": 0.5})
    measured = CandidateEvidence("b", "p", 3600.0, long_context={8000: RateStats(0, 1)})
    unmeasured = CandidateEvidence("a", "p", 3600.0)
    ranking = rank(wl, [unmeasured, measured], NOW)
    assert [(e.candidate, e.composite) for e in ranking.entries] == [("b", 1.0), ("a", 1.0)]


def test_a_price_that_stays_free_for_a_year_is_a_flat_trajectory() -> None:
    """Found by the better-evidence property: a price cut to 0 more than a year ago made the
    trajectory missing (scored as the worst) where the same price at $1 scored flat (3)."""
    wl = WorkloadSpec("w", Volume(1000, 1000, 1000), {"pricing_trajectory": 1.0})
    since = NOW - timedelta(days=400)
    paid = CandidateEvidence("c", "p", 3600.0, price_history=(Price(1, 1, effective_at=since),))
    free = replace(paid, price_history=(Price(0, 0, effective_at=since),))
    assert FACTOR_FUNCTIONS["pricing_trajectory"](paid, wl, NOW).score == 3.0
    assert FACTOR_FUNCTIONS["pricing_trajectory"](free, wl, NOW).score == 3.0


# --- 6. A down or throttled candidate is never chosen ------------------------------------

NAMES = ("a", "b", "c", "d")


@dataclass(frozen=True)
class Row:
    """One candidate in one generated ranking."""

    candidate: str
    composite: float
    spread_down: float
    spread_up: float
    state: str
    gated: bool


rows = st.builds(Row, st.sampled_from(NAMES), st.floats(1, 5), st.floats(0, 2), st.floats(0, 2),
                 st.sampled_from(STATES), st.integers(0, 5).map(lambda n: n == 0))


def ranking_of(at: int, given_rows: list[Row], order: list[int] | None = None) -> Ranking:
    """A ranking as ranking.rank orders one (available first, then by composite, then id),
    or in the order given (to drive flip.decide with rankings rank would never make)."""
    entries = [RankedCandidate(r.candidate, None, round(r.composite, 4), False, r.gated,
                               ("a gate",) if r.gated else (), (), {}, {},
                               composite_low=round(max(1.0, r.composite - r.spread_down), 4),
                               composite_high=round(min(5.0, r.composite + r.spread_up), 4),
                               state=r.state, state_reason="generated")
               for r in {r.candidate: r for r in given_rows}.values()]
    eligible = [e for e in entries if not e.gated]
    if order is None:
        eligible.sort(key=lambda e: (not e.available, -(e.composite or 0.0), e.candidate))
    else:
        eligible = [eligible[i] for i in order if i < len(eligible)] + \
            [e for i, e in enumerate(eligible) if i not in order]
    ranked = [replace(e, rank=i + 1) for i, e in enumerate(eligible)]
    return Ranking("w", NOW + timedelta(minutes=at), tuple(ranked + [e for e in entries
                                                                      if e.gated]))


@st.composite
def ranking_sequences(draw: st.DrawFn) -> list[Ranking]:
    as_ranked = draw(st.booleans())
    out = []
    for at in range(draw(st.integers(1, 25))):
        given_rows = draw(st.lists(rows, max_size=4))
        order = None if as_ranked else draw(st.permutations(range(4)))
        out.append(ranking_of(at, given_rows, order))
    return out


flip_settings = st.tuples(st.sampled_from([0.0, 0.1, 0.5]), st.integers(1, 4),
                          st.sampled_from([0.5, 0.9, 0.99]))


@PROPERTY
@given(ranking_sequences(), flip_settings)
def test_a_down_or_throttled_candidate_never_becomes_the_top_choice(
        sequence: list[Ranking], flip: tuple[float, int, float]) -> None:
    margin, confirmations, confidence = flip
    state = TopChoiceState()
    run, run_leader = 0, None  # evaluations the incumbent is unavailable, same leader each
    for ranking in sequence:
        before = state
        state, change = decide(state, ranking, margin, confirmations, confidence)
        if change is not None:
            assert change.new == state.candidate
        chosen = state.candidate != before.candidate or before.since is None
        if chosen and state.candidate is not None:
            entry = entry_of(ranking, state.candidate)
            assert entry.rank is not None and entry.available, entry
        # A down or throttled incumbent is replaced once the same available candidate has
        # led for `confirmations` evaluations.
        incumbent = next((e for e in ranking.entries if e.candidate == before.candidate),
                         None)
        leader = next((e for e in ranking.entries if e.candidate == ranking.leader), None)
        if before.since is not None and incumbent is not None and incumbent.rank is not None \
                and not incumbent.available and leader is not None and leader.available:
            run = run + 1 if leader.candidate == run_leader else 1
            run_leader = leader.candidate
            if state.candidate == before.candidate:
                assert run < confirmations
        else:
            run, run_leader = 0, None
        if state.candidate != before.candidate:
            run, run_leader = 0, None


def _serving(name: str, value: float, state: str = "serving") -> Row:
    return Row(name, value, 0.1, 0.1, state, False)


@PROPERTY
@given(ranking_sequences(), flip_settings)
@example([ranking_of(0, [_serving("a", 4.0), _serving("b", 3.0), _serving("c", 3.0)]),
          *(ranking_of(i, [_serving("a", 4.0, "down"), _serving("b", 3.01 - 0.02 * (i % 2)),
                           _serving("c", 3.0)]) for i in range(1, 5))],
         (0.1, 2, 0.9))
def test_a_down_incumbent_is_replaced_after_confirmations_whoever_leads(
        sequence: list[Ranking], flip: tuple[float, int, float]) -> None:
    """The stronger rule the brief states: after `confirmations` evaluations in which the
    incumbent is down or throttled and some candidate can serve, the incumbent is gone."""
    margin, confirmations, confidence = flip
    state, run = TopChoiceState(), 0
    for ranking in sequence:
        before = state
        state, _ = decide(state, ranking, margin, confirmations, confidence)
        incumbent = next((e for e in ranking.entries if e.candidate == before.candidate),
                         None)
        leader = next((e for e in ranking.entries if e.candidate == ranking.leader), None)
        if before.since is not None and incumbent is not None and incumbent.rank is not None \
                and not incumbent.available and leader is not None and leader.available \
                and state.candidate == before.candidate:
            run += 1
            assert run < confirmations, f"down for {run} evaluations, still the top choice"
        else:
            run = 0


# --- States and gates: a success never makes a candidate unavailable, a failure never helps

recent_probes = st.builds(RecentProbes, st.integers(0, 12), st.integers(0, 12),
                          st.integers(0, 12), st.integers(0, 3))
state_rules = st.builds(StateRules, st.just(300.0), st.integers(1, 5),
                        st.sampled_from([0.5, 0.9, 1.0]), st.sampled_from([0.1, 0.2, 0.5]),
                        st.sampled_from([0.3, 0.5, 0.8]))


def available(recent: RecentProbes, rules: StateRules) -> bool:
    """Whether the candidate may be the top choice, judged as a ranking judges it."""
    wl = WorkloadSpec("w", Volume(1, 1, 1), {"latency": 1.0}, states=rules)
    return score_candidate(CandidateEvidence(ME, "p", 3600.0, recent=recent), wl, NOW).available


@PROPERTY
@given(recent_probes, state_rules)
def test_one_more_successful_probe_never_makes_a_candidate_unavailable(
        recent: RecentProbes, rules: StateRules) -> None:
    if available(recent, rules):
        assert available(replace(recent, ok=recent.ok + 1), rules)


@PROPERTY
@given(recent_probes, state_rules)
@example(RecentProbes(ok=3, failed=0, throttled=3), StateRules())
def test_one_more_failed_probe_never_makes_a_candidate_available(
        recent: RecentProbes, rules: StateRules) -> None:
    if not available(recent, rules):
        assert not available(replace(recent, failed=recent.failed + 1), rules)


@PROPERTY
@given(band, st.sampled_from([0.1, 0.5]))
@example(AvailabilityStats(ok=0, failed=1, throttled=1), 0.5)
def test_one_fewer_failed_probe_never_gates_a_candidate_out(
        window: AvailabilityStats, limit: float) -> None:
    assume(window.failed > 0)
    wl = WorkloadSpec("w", Volume(1, 1, 1), {"latency": 1.0}, max_throttled_share=limit)
    ev = CandidateEvidence(ME, "p", 3600.0, availability=window)
    better = replace(ev, availability=replace(window, failed=window.failed - 1))
    if not gate(ev, wl)[0]:
        assert not gate(better, wl)[0]


@PROPERTY
@given(st.sampled_from([1.0, 2.0, 3.5, 5.0]))
@example(5.0)
def test_a_first_passed_eval_item_never_lowers_task_quality(prior: float) -> None:
    wl = WorkloadSpec("w", Volume(1, 1, 1), {"task_quality": 1.0})
    ev = CandidateEvidence(ME, "p", 3600.0, quality_prior=FactValue(prior, "config"))
    before = FACTOR_FUNCTIONS["task_quality"](ev, wl, NOW).score
    after = FACTOR_FUNCTIONS["task_quality"](replace(ev, quality=RateStats(1, 1, 1)), wl,
                                             NOW).score
    assert before is not None and after is not None
    assert after >= before


# --- 7. Scores and intervals stay in range; how intervals narrow --------------------------

@PROPERTY
@given(evidence(), workloads())
def test_every_score_and_interval_lies_in_range(ev: CandidateEvidence, wl: WorkloadSpec) -> None:
    entry = score_candidate(ev, wl, NOW)
    for name, f in entry.factors.items():
        if f.score is None:
            assert f.interval is None
            continue
        assert f.interval is not None
        low, high = f.interval
        assert 1.0 <= low <= f.score <= high <= 5.0, (name, low, f.score, high)
    for policy in MISSING_POLICIES:
        c = composite(entry.factors, wl.weights, policy)
        if c.value is not None:
            assert c.low is not None and c.high is not None
            assert 1.0 <= c.low <= c.value <= c.high <= 5.0, (policy, c)
        for counted in counted_factors(entry.factors, wl.weights, policy).values():
            assert 1.0 <= counted.low <= counted.score <= counted.high <= 5.0


def rate_interval(factor: str, successes: float, trials: float) -> tuple[float, float, float]:
    """(estimate, low, high) of a rate factor's rate; float counts are pseudo-counts."""
    return rate_estimate(successes, trials, RATE_PRIORS[factor])  # type: ignore[arg-type]


@PROPERTY
@given(st.floats(0, 1), st.floats(0.01, 1e5), st.floats(1, 100))
def test_at_a_fixed_rate_more_trials_give_a_nested_wilson_interval(
        p: float, trials: float, more: float) -> None:
    """The exact statement behind "more trials never widen": at a fixed rate of the counts
    the Wilson interval scores (the estimate, prior pseudo-counts included), more trials give
    an interval inside the one before."""
    low1, high1 = wilson_interval(p * trials, trials)
    low2, high2 = wilson_interval(p * trials * more, trials * more)
    assert low1 - 1e-12 <= low2 <= high2 <= high1 + 1e-12


@pytest.mark.parametrize(("factor", "successes", "trials"), [
    ("task_quality", 3, 5), ("tool_calling", 13, 20), ("long_context", 3, 5)])
@PROPERTY
@given(times=st.integers(1, 200), more=st.integers(1, 20))
def test_evidence_at_the_estimate_narrows_a_rate_factors_interval(
        factor: str, successes: int, trials: int, times: int, more: int) -> None:
    """When the observed rate equals the estimate (here, the prior's rate), more trials at
    that rate leave the score as it is and its interval nested in the one before."""
    fn = FACTOR_FUNCTIONS[factor]
    wl = WorkloadSpec("w", Volume(1, 1, 1), {factor: 1.0})

    def scored(k: int, n: int) -> FactorScore:
        stats = RateStats(k, n, 1)
        return fn(CandidateEvidence(ME, "p", 3600.0, tool_calls=stats, quality=stats,
                                    long_context={8000: stats}), wl, NOW)
    before = scored(successes * times, trials * times)
    after = scored(successes * times * (more + 1), trials * times * (more + 1))
    assert before.interval is not None and after.interval is not None
    assert after.score == before.score
    assert before.interval[0] <= after.interval[0] <= after.interval[1] <= before.interval[1]


@pytest.mark.parametrize("factor", sorted(RATE_PRIORS))
@PROPERTY
@given(data=st.data(), trials=st.integers(1, 500), more=st.integers(2, 50))
def test_at_a_fixed_observed_rate_more_trials_move_the_far_end_toward_it(
        data: st.DataObject, factor: str, trials: int, more: int) -> None:
    """At a fixed observed rate the estimate moves from the prior's rate toward the observed
    one, so the interval need not narrow (below); what holds: the end of the interval away
    from the observed rate only moves toward it, and when the observed rate is at least the
    prior's (above 1/2, so the estimate moves away from 1/2) the width never grows."""
    successes = data.draw(st.integers(0, trials))
    rate, prior = successes / trials, RATE_PRIORS[factor].mean
    e1, low1, high1 = rate_interval(factor, successes, trials)
    e2, low2, high2 = rate_interval(factor, successes * more, trials * more)
    eps = 1e-12  # floating point: 13 of 20 at the prior's 0.65 estimates 0.6499999999999999
    if rate >= prior:
        assert e1 - eps <= e2 <= rate + eps
        assert low2 >= low1 - eps
        assert high2 - low2 <= high1 - low1 + eps
    else:
        assert rate - eps <= e2 <= e1 + eps
        assert high2 <= high1 + eps


def test_at_a_fixed_observed_rate_more_trials_can_widen_the_interval() -> None:
    """Why the property above is not "never widens": the counterexamples, pinned."""
    # Rate level, reliability: 0 of 1 -> 0 of 2 moves the estimate from 0.94 toward 1/2.
    _, low1, high1 = rate_interval("reliability", 0, 1)
    _, low2, high2 = rate_interval("reliability", 0, 2)
    assert high2 - low2 > high1 - low1
    # Score level, every rate factor: 1 of 1 -> 2 of 2 raises the estimate and the high end
    # while the low end stays clamped at the scale's floor.
    wl = WorkloadSpec("w", Volume(1, 1, 1), {})
    for factor, field in [("task_quality", "quality"), ("tool_calling", "tool_calls")]:
        one, two = (FACTOR_FUNCTIONS[factor](CandidateEvidence(
            ME, "p", 3600.0, **{field: RateStats(n, n, n)}), wl, NOW).interval for n in (1, 2))
        assert one is not None and two is not None
        assert one[0] == two[0] == 1.0 and two[1] - two[0] > one[1] - one[0]


@PROPERTY
@given(st.floats(0.01, 30), st.floats(1, 20), st.integers(1, 10_000), st.integers(1, 100))
def test_a_p99_interval_narrows_nested_as_samples_grow(median: float, ratio: float, count: int,
                                                       more: int) -> None:
    p99 = median * ratio
    spread = max(lognormal_spread(median, p99, 0.99), 0.25)
    low1, high1 = quantile_interval(p99, count, 0.99, spread)
    low2, high2 = quantile_interval(p99, count * more, 0.99, spread)
    assert low1 <= low2 <= p99 <= high2 <= high1
    wl = WorkloadSpec("w", Volume(1, 1, 1), {"latency": 1.0}, ttft_budget_seconds=1.0)
    scored = [score_latency(CandidateEvidence(ME, "p", 3600.0, latency=LatencyStats(
        n, median, p99, p99)), wl, NOW).interval for n in (count, count * more)]
    assert scored[0] is not None and scored[1] is not None
    assert scored[0][0] <= scored[1][0] <= scored[1][1] <= scored[0][1]


# --- 8. Noise between equal providers does not flip the top choice; a real change does ----

@dataclass(frozen=True)
class Truth:
    """What a simulated candidate really does: its availability and lognormal TTFT."""

    availability: float = 0.999
    ttft_median: float = 0.4
    ttft_sigma: float = 0.5


# consumer-chat's weights (service/catalog/builtin.yaml) for the factors probes measure; the
# two candidates have the same price, so cost only dilutes the other two.
SIM_WORKLOAD = WorkloadSpec("chat", Volume(2e6, 800, 300),
                            {"latency": 5.0, "reliability": 3.0, "cost": 5.0},
                            ttft_budget_seconds=1.5)
DEFAULT_FLIP = (0.1, 3, 0.9)  # alerts.flip: margin, confirmations, confidence
HISTORY_MINUTES = 24 * 60  # a day of probes before the first evaluation
STATE_MINUTES = 5


class Fleet:
    """Candidates probed once a minute (one latency probe each: its outcome counts for
    availability, its TTFT for latency), their evidence as the store would gather it."""

    def __init__(self, truths: dict[str, Truth], seed: int) -> None:
        self.truths = dict(truths)
        self.rng = random.Random(seed)
        self.ok_sums: dict[str, list[int]] = {n: [0] for n in truths}  # running success count
        self.ttfts: dict[str, list[float | None]] = {n: [] for n in truths}
        for _ in range(HISTORY_MINUTES):
            self.minute()

    def minute(self) -> None:
        for name, truth in self.truths.items():
            # Draw both every minute, so that the same seed gives the same noise whatever
            # the truths are.
            ok = self.rng.random() < truth.availability
            ttft = truth.ttft_median * math.exp(truth.ttft_sigma * self.rng.gauss(0, 1))
            self.ok_sums[name].append(self.ok_sums[name][-1] + ok)
            self.ttfts[name].append(ttft if ok else None)

    def evidence(self, name: str) -> CandidateEvidence:
        sums = self.ok_sums[name]

        def last(minutes: int) -> AvailabilityStats:
            n = min(minutes, len(sums) - 1)
            ok = sums[-1] - sums[-1 - n]
            return AvailabilityStats(ok, n - ok)
        windows = {w: last(int(s // 60)) for w, s in AVAILABILITY_WINDOWS.items()}
        hour = sorted(t for t in self.ttfts[name][-60:] if t is not None)
        latency = LatencyStats(len(hour), quantile(hour, 0.5), quantile(hour, 0.95),
                               quantile(hour, 0.99)) if hour else None
        recent = last(STATE_MINUTES)
        return CandidateEvidence(name, f"provider-{name}", 3600.0, latency=latency,
                                 price=Price(1.0, 4.0), availability=windows["1h"],
                                 availability_windows=windows,
                                 recent=RecentProbes(ok=recent.ok, failed=recent.failed))


def simulate(truths: dict[str, Truth], seed: int, evaluations: int,
             flip: tuple[float, int, float],
             change: tuple[int, Callable[[Truth], Truth]] | None = None
             ) -> tuple[list[tuple[int, str | None, str | None]], str | None]:
    """Evaluate every minute; returns the announced changes (evaluation, old, new) and the
    candidate the change (at an evaluation, applied to the top choice then) was made to."""
    fleet, state = Fleet(truths, seed), TopChoiceState()
    flips, changed = [], None
    for minute in range(evaluations):
        if change is not None and minute == change[0] and state.candidate is not None:
            changed = state.candidate
            fleet.truths[changed] = change[1](fleet.truths[changed])
        fleet.minute()
        ranking = rank(SIM_WORKLOAD, [fleet.evidence(n) for n in fleet.truths],
                       NOW + timedelta(minutes=minute))
        state, announced = decide(state, ranking, *flip)
        if announced is not None:
            flips.append((minute, announced.old, announced.new))
    return flips, changed


SEEDS = range(8)
NOISE_EVALUATIONS = 360  # six hours of evaluations a minute apart, per seed
# The bound: on average at most 1.5 flips per six hours between two equal providers.
# Why: a challenger must look at least 90 % likely ahead (three evaluations running, but
# those share 57 of their 60 samples, so they are one look, not three). The window's TTFT
# p99 is about its second-largest sample, which changes as one enters or leaves, so six
# hours give about 12 fresh looks; at 10 % each, 1.2 false flips. Without the confidence
# and the margin, noise flips about five times as often (the xfail case shows it).
NOISE_BOUND = 1.5 * len(SEEDS)


@pytest.mark.parametrize("flip", [
    pytest.param(DEFAULT_FLIP, id="default-margin-confirmations-confidence"),
    pytest.param((0.0, 3, 0.5), id="no-margin-confidence-0.5-flips-on-noise",
                 marks=pytest.mark.xfail(strict=True, reason=(
                     "shows the bound can fail: with confidence 0.5 and margin 0, equal "
                     "providers trade the top choice about 5 times in 6 hours"))),
])
def test_noise_between_two_equal_providers_rarely_flips_the_top_choice(
        flip: tuple[float, int, float]) -> None:
    equal = {"a": Truth(), "b": Truth()}
    flips = [len(simulate(equal, seed, NOISE_EVALUATIONS, flip)[0]) for seed in SEEDS]
    assert sum(flips) <= NOISE_BOUND, flips


# How long a real change may take to flip the top choice, in evaluations, and why:
# - TTFT doubles: after one scoring window (60 evaluations) every sample in it is slow; a
#   doubled p99 is one step of the log scale, 5/13 = 0.38 composite points, four times the
#   margin and about three standard deviations of the noise between the two. A second
#   window allows for bad luck.
# - Availability drops from 99.9 % to 95 %: reliability reads the longest window (the day
#   of history here), so the estimate climbs as failures accumulate, 3 an hour against
#   about 2.4 (1.4 observed, 1 from the prior) in the day before. After six hours the
#   unavailability estimate is about 0.011 against 0.0016: 1.6 reliability points, 0.37
#   composite points.
REAL_CHANGES = {
    "ttft-doubles": (lambda t: replace(t, ttft_median=t.ttft_median * 2), 120),
    "availability-drops-to-95%": (lambda t: replace(t, availability=0.95), 360),
}
SETTLE = 30  # evaluations before the change


@pytest.mark.parametrize("change", sorted(REAL_CHANGES))
def test_a_real_change_flips_the_top_choice_within_a_bound(change: str) -> None:
    worse, bound = REAL_CHANGES[change]
    equal = {"a": Truth(), "b": Truth()}
    for seed in SEEDS:
        flips, changed = simulate(equal, seed, SETTLE + bound + 1, DEFAULT_FLIP,
                                  (SETTLE, worse))
        assert changed is not None
        away = [at for at, old, new in flips if at >= SETTLE and old == changed]
        assert away, f"seed {seed}: {changed} still the top choice {bound} evaluations on"
        assert away[0] - SETTLE <= bound


@pytest.mark.parametrize("samples", [60, 200, 1000])
def test_a_95_percent_p99_interval_holds_the_true_p99_at_least_90_percent_of_the_time(
        samples: int) -> None:
    rng, median, sigma = random.Random(samples), 0.4, 0.5
    true_p99 = median * math.exp(sigma * 2.3263478740408408)
    held, runs = 0, 400
    for _ in range(runs):
        sample = sorted(median * math.exp(sigma * rng.gauss(0, 1)) for _ in range(samples))
        spread = max(lognormal_spread(quantile(sample, 0.5), quantile(sample, 0.95), 0.95),
                     0.25)
        low, high = quantile_interval(quantile(sample, 0.99), samples, 0.99, spread)
        held += low <= true_p99 <= high
    assert held / runs >= 0.9, held / runs


def test_an_extreme_price_history_still_scores() -> None:
    wl = WorkloadSpec("w", Volume(1000, 1000, 1000), {"pricing_trajectory": 1.0})
    history = (Price(1e-150, 1e-150, effective_at=NOW - timedelta(days=40)),
               Price(1.0, 1.0, effective_at=NOW - timedelta(days=10)))
    ev = CandidateEvidence(ME, "p", 3600.0, price_history=history)
    assert FACTOR_FUNCTIONS["pricing_trajectory"](ev, wl, NOW).score == 1.0


@pytest.mark.xfail(strict=True, reason=(
    "Cutting one price can raise the cost (cost._batch): a batch request in a context tier "
    "pays the tier's prices times the batch discount, and the discount is read as the batch "
    "price over the standard one. Cut the standard input price from $2 to $1 with the batch "
    "input price at $1 and the discount vanishes: a 150k-token batch workload in the 128k "
    "tier ($4 / $16) goes from $2.04 to $4.03 per million tokens, and its cost score falls. "
    "The improvement property therefore cuts every component of a price alike."))
def test_cutting_the_standard_input_price_never_raises_the_cost() -> None:
    wl = WorkloadSpec("w", Volume(1, 150_000, 1_000, batch_share=1.0), {"cost": 1.0})
    price = Price(2.0, 8.0, batch_input_per_mtok=1.0, batch_output_per_mtok=4.0,
                  tiers=(PriceTier(128_000, 4.0, 16.0),))
    ev = CandidateEvidence(ME, "p", 3600.0, price=price)
    cheaper = replace(ev, price=replace(price, input_per_mtok=1.0))
    before = FACTOR_FUNCTIONS["cost"](ev, wl, NOW).score
    after = FACTOR_FUNCTIONS["cost"](cheaper, wl, NOW).score
    assert before is not None and after is not None
    assert after >= before
