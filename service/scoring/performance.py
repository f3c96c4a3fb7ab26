"""Factors measured by probes: task quality, latency, tool calling, long context, reliability.

Rates from probes (passes, valid calls, recalled facts, successful probes) are scored on
their 95% Wilson lower bound, so a handful of lucky samples cannot outscore a long record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.scoring.base import (
    MEASURED,
    STATIC,
    FactorScore,
    WorkloadSpec,
    missing,
    rate_evidence,
    rounded,
)
from service.scoring.evidence import AVAILABILITY_WINDOWS, AvailabilityStats, CandidateEvidence
from service.scoring.stats import wilson_lower_bound


def score_latency(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    lat = ev.latency
    if lat is None or lat.samples == 0:
        return missing("no successful latency probe in the window")
    evidence = {"ttft_p50_seconds": lat.ttft_p50, "ttft_p95_seconds": lat.ttft_p95,
                "ttft_p99_seconds": lat.ttft_p99, "samples": lat.samples,
                "window_seconds": ev.window_seconds,
                "output_tokens_per_second_p50": lat.output_tokens_per_second_p50}
    if wl.ttft_budget_seconds:
        ratio = lat.ttft_p99 / wl.ttft_budget_seconds
        evidence["ttft_p99_budget_seconds"] = wl.ttft_budget_seconds
        return FactorScore(rounded(wl.scale_for("latency").score(ratio)), MEASURED,
                           f"TTFT p99 {lat.ttft_p99:.3f}s is {ratio:.2f}x the "
                           f"{wl.ttft_budget_seconds:g}s budget ({lat.samples} probes)", evidence)
    seconds_scale = wl.scales.get("latency") or wl.scale_for("latency_seconds")
    return FactorScore(rounded(seconds_scale.score(lat.ttft_p99)), MEASURED,
                       f"TTFT p99 {lat.ttft_p99:.3f}s ({lat.samples} probes, no budget set)",
                       evidence)


def score_task_quality(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    q = ev.quality
    if q is not None and q.trials > 0:
        lower, evidence = rate_evidence(q.successes, q.trials, q.samples)
        evidence.update(q.detail)
        return FactorScore(rounded(wl.scale_for("task_quality").score(lower)), MEASURED,
                           f"passed {q.successes}/{q.trials} eval items "
                           f"(95% lower bound {lower:.3f})", evidence)
    prior = ev.quality_prior
    if prior is not None and isinstance(prior.value, int | float):
        return FactorScore(float(prior.value), STATIC,
                           f"no eval results; configured prior {prior.value}",
                           {"prior": prior.value, "source": prior.source, "as_of": prior.as_of})
    return missing("no eval-set results in the window and no configured quality prior")


def score_tool_calling(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    t = ev.tool_calls
    if t is None or t.trials == 0:
        return missing("no tools probe results in the window")
    lower, evidence = rate_evidence(t.successes, t.trials, t.samples)
    return FactorScore(rounded(wl.scale_for("tool_calling").score(lower)), MEASURED,
                       f"{t.successes}/{t.trials} tool calls named the right tool with valid "
                       f"arguments (95% lower bound {lower:.3f})", evidence)


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
    lower, evidence = rate_evidence(successes, trials,
                                    sum(ev.long_context[s].samples for s in sizes))
    evidence.update({"context_tokens": sizes, "workload_context_tokens": wl.context_tokens})
    return FactorScore(rounded(wl.scale_for("long_context").score(lower)), MEASURED,
                       f"recalled {successes}/{trials} planted facts{at} "
                       f"(95% lower bound {lower:.3f})", evidence)


def _window_evidence(stats: AvailabilityStats, sla: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": stats.ok, "failed": stats.failed, "throttled": stats.throttled,
                           "config_errors": stats.config_errors, "availability": stats.ratio}
    if sla is not None and sla < 1 and stats.ratio is not None:
        # Burn rate: how fast this window spends the error budget; 1 spends it exactly.
        out["burn_rate"] = round((1 - stats.ratio) / (1 - sla), 4)
    return out


def score_reliability(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    windows = {name: s for name, s in ev.availability_windows.items() if s.counted > 0}
    if not windows and ev.availability is not None and ev.availability.counted > 0:
        windows = {"window": ev.availability}
    sla = ev.sla_availability
    declared = ev.incidents.declared_minutes if ev.incidents else None
    if not windows:
        if sla is not None:
            return FactorScore(rounded(wl.scale_for("reliability").score(1 - sla)), STATIC,
                               f"no probes yet; committed SLA {sla:.4%}",
                               {"committed_sla": sla, "declared_incident_minutes": declared})
        return missing("no probes and no published SLA", declared_incident_minutes=declared)
    # Score on the longest window with data: the longest record is the most trustworthy.
    name = max(windows, key=lambda n: AVAILABILITY_WINDOWS.get(n, ev.window_seconds))
    stats = windows[name]
    lower = wilson_lower_bound(stats.ok, stats.counted)
    evidence: dict[str, Any] = {
        "scored_window": name, "availability_lower_bound": round(lower, 6),
        "committed_sla": sla, "windows": {n: _window_evidence(s, sla) for n, s in windows.items()},
        "declared_incident_minutes": declared}
    reason = (f"{stats.ratio:.4%} available over {name} ({stats.ok}/{stats.counted} probes, "
              f"95% lower bound {lower:.4f})")
    if sla is not None and sla < 1 and stats.ratio is not None:
        remaining = 1 - (1 - stats.ratio) / (1 - sla)
        evidence["error_budget_remaining"] = round(remaining, 4)
        reason += (f"; SLA {sla:.2%}, error budget "
                   + (f"{remaining:.0%} left" if remaining > 0 else "exhausted"))
    return FactorScore(rounded(wl.scale_for("reliability").score(1 - lower)), MEASURED, reason,
                       evidence)
