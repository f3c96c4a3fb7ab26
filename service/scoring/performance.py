"""Factors measured by probes: task quality, latency, tool calling, long context, reliability.

Each reports a score and an interval at the workload's confidence, both from the sample it
was measured on: rates (passes, valid calls, recalled facts, successful probes) through
stats.rate_estimate, TTFT p99 through stats.quantile_interval. The score is the best
estimate, not the pessimistic bound; the interval says how sure it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.scoring.base import (
    MEASURED,
    RATE_PRIORS,
    STATIC,
    FactorScore,
    WorkloadSpec,
    missing,
    rate_score,
    rounded,
    scored_interval,
)
from service.scoring.evidence import (
    AVAILABILITY_WINDOWS,
    AvailabilityStats,
    CandidateEvidence,
    FactValue,
    TimingStats,
)
from service.scoring.stats import (
    RatePrior,
    lognormal_spread,
    quantile_interval,
    rate_estimate,
)

# The least lognormal spread assumed of a timing, so that a few identical samples cannot
# claim a narrow interval for the p99 (service/scoring/stats.py, quantile_interval).
MIN_TTFT_SPREAD = 0.25

# What a workload's latency factor may score (`latency_budget.measure`, docs/scoring.md).
LATENCY_MEASURES = ("ttft", "first_answer", "first_audio")


@dataclass(frozen=True)
class Timing:
    """The timing a workload's latency factor scores, as found in a candidate's evidence."""

    key: str  # names its evidence keys: ttft_p99_seconds, first_audio_p99_seconds, ...
    label: str  # how the explanation names it
    stats: TimingStats
    probes: str  # what the samples are: "probes", "voice probes"
    # A text pipeline's configured seconds (STT + TTS), added to every quantile; None: all
    # of the timing is measured.
    overhead: float | None = None
    overhead_source: str | None = None

    @property
    def p99(self) -> float:
        return self.stats.p99 + (self.overhead or 0.0)


def measured_timing(ev: CandidateEvidence, measure: str) -> Timing | str:
    """The candidate's timing for `measure`, or why there is none."""
    if measure == "first_answer":
        if ev.first_answer is None or ev.first_answer.samples == 0:
            return "no successful latency probe with a first answer token in the window"
        return Timing("first_answer", "first answer", ev.first_answer, "probes")
    if measure == "first_audio":
        if ev.first_speech is not None and ev.first_speech.samples > 0:
            return Timing("first_audio", "first speech", ev.first_speech, "voice probes")
        pipeline = ev.voice_pipeline
        if pipeline is None:
            return ("no successful voice probe in the window, and no voice_pipeline overhead "
                    "configured to speak its text answers")
        if ev.first_answer is None or ev.first_answer.samples == 0:
            return ("no successful latency probe with a first answer token in the window "
                    "(its voice_pipeline adds to the first answer)")
        return Timing("first_audio", "first audio", ev.first_answer, "probes",
                      pipeline.overhead_seconds, pipeline.source)
    lat = ev.latency
    if lat is None or lat.samples == 0:
        return "no successful latency probe in the window"
    return Timing("ttft", "TTFT", TimingStats(lat.samples, lat.ttft_p50, lat.ttft_p95,
                                               lat.ttft_p99), "probes")


def score_latency(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    timing = measured_timing(ev, wl.latency_measure)
    if isinstance(timing, str):
        return missing(timing, measure=wl.latency_measure)
    st, key, extra = timing.stats, timing.key, timing.overhead or 0.0
    # The spread from p50 and p95, which a small sample pins down far better than its p99.
    spread = max(lognormal_spread(st.p50, st.p95, 0.95), MIN_TTFT_SPREAD)
    p99_low, p99_high = quantile_interval(st.p99, st.samples, 0.99, spread, wl.z)
    p99, p99_low, p99_high = timing.p99, p99_low + extra, p99_high + extra
    evidence: dict[str, Any] = {
        f"{key}_p50_seconds": _plus(st.p50, extra), f"{key}_p95_seconds": _plus(st.p95, extra),
        f"{key}_p99_seconds": _plus(st.p99, extra), f"{key}_p99_low_seconds": round(p99_low, 6),
        f"{key}_p99_high_seconds": round(p99_high, 6), "samples": st.samples,
        "window_seconds": ev.window_seconds, "measure": wl.latency_measure}
    what = f"{timing.label} p99 {p99:.3f}s"
    if key == "ttft" and ev.latency is not None:
        evidence["output_tokens_per_second_p50"] = ev.latency.output_tokens_per_second_p50
    if timing.overhead is not None:
        # Partly configured: the first answer is measured, the pipeline's overhead is not.
        evidence.update({"first_answer_p99_seconds": st.p99, "pipeline_overhead_seconds": extra,
                         "pipeline_overhead_source": timing.overhead_source,
                         "partly_configured": True})
        what += (f" (measured first answer {st.p99:.3f}s + configured voice pipeline "
                 f"overhead {extra:g}s)")
    count = f"{st.samples} {timing.probes}"
    if wl.ttft_budget_seconds:
        budget = wl.ttft_budget_seconds
        sc, ratio = wl.scale_for("latency"), p99 / budget
        evidence[f"{key}_p99_budget_seconds"] = budget
        low, high = scored_interval(sc, p99_low / budget, p99_high / budget)
        return FactorScore(rounded(sc.score(ratio)), MEASURED,
                           f"{what} is {ratio:.2f}x the {budget:g}s budget ({count})",
                           evidence, low, high)
    sc = wl.scales.get("latency") or wl.scale_for("latency_seconds")
    low, high = scored_interval(sc, p99_low, p99_high)
    return FactorScore(rounded(sc.score(p99)), MEASURED,
                       f"{what} ({count}, no budget set)", evidence, low, high)


def _plus(seconds: float, overhead: float) -> float:
    return round(seconds + overhead, 6) if overhead else seconds


def score_task_quality(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    q = ev.quality
    prior = ev.quality_prior
    if q is not None and q.trials > 0:
        score, low, high, evidence = rate_score("task_quality", q.successes, q.trials,
                                                q.samples, wl, configured_prior(prior, wl))
        evidence.update(q.detail)
        return FactorScore(score, MEASURED, f"passed {q.successes}/{q.trials} eval items "
                           f"(estimate {evidence['rate_estimate']:.3f})", evidence, low, high)
    if prior is not None and isinstance(prior.value, int | float):
        return FactorScore(float(prior.value), STATIC,
                           f"no eval results; configured prior {prior.value}",
                           {"prior": prior.value, "source": prior.source, "as_of": prior.as_of})
    return missing("no eval-set results in the window and no configured quality prior")


def configured_prior(prior: FactValue | None, wl: WorkloadSpec) -> RatePrior | None:
    """A configured 1-5 quality prior as the pass rate's prior: the rate the workload's scale
    gives that score, so the first eval results update it rather than replace it. None (the
    default prior) without one, or on a scale that does not only rise."""
    if prior is None or not isinstance(prior.value, int | float):
        return None
    rate = wl.scale_for("task_quality").quantity_at(float(prior.value))
    return None if rate is None else RatePrior(min(max(rate, 0.01), 0.999))


def score_tool_calling(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    t = ev.tool_calls
    if t is None or t.trials == 0:
        return missing("no tools probe results in the window")
    score, low, high, evidence = rate_score("tool_calling", t.successes, t.trials, t.samples, wl)
    return FactorScore(score, MEASURED, f"{t.successes}/{t.trials} tool calls named the right "
                       f"tool with valid arguments (estimate {evidence['rate_estimate']:.3f})",
                       evidence, low, high)


def score_long_context(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    """Recall at the workload's operating context length or longer (any length if unset)."""
    floor = wl.context_tokens or 0
    sizes = sorted(size for size in ev.long_context if size >= floor)
    at = f" at >= {wl.context_tokens} tokens" if wl.context_tokens else ""
    successes = sum(ev.long_context[s].successes for s in sizes)
    trials = sum(ev.long_context[s].trials for s in sizes)
    if trials == 0:
        return missing(f"no long-context probe results{at} in the rate window",
                       context_sizes_probed=sorted(ev.long_context))
    score, low, high, evidence = rate_score(
        "long_context", successes, trials, sum(ev.long_context[s].samples for s in sizes), wl)
    evidence.update({"context_tokens": sizes, "workload_context_tokens": wl.context_tokens})
    return FactorScore(score, MEASURED, f"recalled {successes}/{trials} planted facts{at} "
                       f"(estimate {evidence['rate_estimate']:.3f})", evidence, low, high)


def _window_evidence(stats: AvailabilityStats, sla: float | None) -> dict[str, Any]:
    share = stats.throttled_share
    out: dict[str, Any] = {"ok": stats.ok, "failed": stats.failed, "throttled": stats.throttled,
                           "config_errors": stats.config_errors, "availability": stats.ratio,
                           "throttled_share": None if share is None else round(share, 6)}
    if sla is not None and sla < 1 and stats.ratio is not None:
        # Burn rate: how fast this window spends the error budget; 1 spends it exactly.
        out["burn_rate"] = round((1 - stats.ratio) / (1 - sla), 4)
    return out


def score_reliability(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    """Availability over the longest window with probes (the longest record is the most
    trustworthy); the committed SLA is shown beside it, never scored in its place."""
    all_windows = dict(ev.availability_windows)
    if not all_windows and ev.availability is not None:
        all_windows = {"window": ev.availability}
    sla = ev.sla_availability
    declared = ev.incidents.declared_minutes if ev.incidents else None
    windows = {name: s for name, s in all_windows.items() if s.counted > 0}
    if not windows:
        throttled = max((s.throttled for s in all_windows.values()), default=0)
        why = (f"every probe was throttled ({throttled} answered 429)" if throttled
               else "no availability-counting probe yet")
        return missing(f"{why}; committed SLA "
                       + (f"{sla:.4%}" if sla is not None else "not published"),
                       committed_sla=sla, declared_incident_minutes=declared,
                       windows={n: _window_evidence(s, sla) for n, s in all_windows.items()})
    name = max(windows, key=lambda n: AVAILABILITY_WINDOWS.get(n, ev.window_seconds))
    stats = windows[name]
    estimate, low, high = rate_estimate(stats.ok, stats.counted, RATE_PRIORS["reliability"],
                                        wl.z)
    sc = wl.scale_for("reliability")
    score_low, score_high = scored_interval(sc, 1 - low, 1 - high)
    evidence: dict[str, Any] = {
        "scored_window": name, "availability_estimate": round(estimate, 6),
        "availability_low": round(low, 6), "availability_high": round(high, 6),
        "committed_sla": sla, "windows": {n: _window_evidence(s, sla) for n, s in windows.items()},
        "declared_incident_minutes": declared,
        # The scoring window's availability, as the min_availability gate reads it.
        "availability": ev.availability.ratio if ev.availability else None}
    reason = (f"{stats.ratio:.4%} available over {name} ({stats.ok}/{stats.counted} probes, "
              f"estimate {estimate:.4%})")
    if sla is not None and sla < 1 and stats.ratio is not None:
        remaining = 1 - (1 - stats.ratio) / (1 - sla)
        evidence["error_budget_remaining"] = round(remaining, 4)
        reason += (f"; SLA {sla:.2%}, error budget "
                   + (f"{remaining:.0%} left" if remaining > 0 else "exhausted"))
    return FactorScore(rounded(sc.score(1 - estimate)), MEASURED, reason, evidence, score_low,
                       score_high)
