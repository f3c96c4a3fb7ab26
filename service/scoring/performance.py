"""Factors measured by probes: task quality, latency, tool calling, long context, reliability.

Each reports a score and an interval at the workload's confidence, both from the sample it
was measured on: rates (passes, valid calls, recalled facts, successful probes) through
stats.rate_estimate, TTFT p99 through stats.quantile_interval. The score is the best
estimate, not the pessimistic bound; the interval says how sure it is.
"""

from __future__ import annotations

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
)
from service.scoring.stats import (
    RatePrior,
    lognormal_spread,
    quantile_interval,
    rate_estimate,
)

# The least lognormal spread assumed of TTFT, so that a few identical samples cannot claim
# a narrow interval for the p99 (service/scoring/stats.py, quantile_interval).
MIN_TTFT_SPREAD = 0.25


def score_latency(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    lat = ev.latency
    if lat is None or lat.samples == 0:
        return missing("no successful latency probe in the window")
    # The spread from p50 and p95, which a small sample pins down far better than its p99.
    spread = max(lognormal_spread(lat.ttft_p50, lat.ttft_p95, 0.95), MIN_TTFT_SPREAD)
    p99_low, p99_high = quantile_interval(lat.ttft_p99, lat.samples, 0.99, spread, wl.z)
    evidence: dict[str, Any] = {
        "ttft_p50_seconds": lat.ttft_p50, "ttft_p95_seconds": lat.ttft_p95,
        "ttft_p99_seconds": lat.ttft_p99, "ttft_p99_low_seconds": round(p99_low, 6),
        "ttft_p99_high_seconds": round(p99_high, 6), "samples": lat.samples,
        "window_seconds": ev.window_seconds,
        "output_tokens_per_second_p50": lat.output_tokens_per_second_p50}
    if wl.ttft_budget_seconds:
        budget = wl.ttft_budget_seconds
        sc, ratio = wl.scale_for("latency"), lat.ttft_p99 / budget
        evidence["ttft_p99_budget_seconds"] = budget
        low, high = scored_interval(sc, p99_low / budget, p99_high / budget)
        return FactorScore(rounded(sc.score(ratio)), MEASURED,
                           f"TTFT p99 {lat.ttft_p99:.3f}s is {ratio:.2f}x the "
                           f"{budget:g}s budget ({lat.samples} probes)", evidence, low, high)
    sc = wl.scales.get("latency") or wl.scale_for("latency_seconds")
    low, high = scored_interval(sc, p99_low, p99_high)
    return FactorScore(rounded(sc.score(lat.ttft_p99)), MEASURED,
                       f"TTFT p99 {lat.ttft_p99:.3f}s ({lat.samples} probes, no budget set)",
                       evidence, low, high)


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
