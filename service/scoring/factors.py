"""One function per factor: evidence and workload in, a 1-5 score with its evidence out.

First slice of the 12-factor engine: latency, cost and reliability from measurements and
prices; compliance, ecosystem, fine-tuning, stability and lock-in from catalog facts. The
factors whose probes or histories do not exist yet (task quality, tool calling, long
context, pricing trajectory) report `missing` with the reason, so they drop out of the
weights and the composite says it is partial. docs/scoring.md states every rule below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.scoring.cost import Volume, estimate
from service.scoring.evidence import CandidateEvidence
from service.scoring.scales import scale
from service.scoring.stats import wilson_lower_bound

MEASURED, STATIC, MISSING = "measured", "static", "missing"

# Default scales (docs/scoring.md). Decreasing quantities score higher.
LATENCY_VS_BUDGET = scale([(0.25, 5), (0.5, 4), (1, 3), (2, 2), (4, 1)], log=True,
                          unit="TTFT p99 / budget")
LATENCY_SECONDS = scale([(0.25, 5), (0.5, 4), (1, 3), (2, 2), (4, 1)], log=True,
                        unit="TTFT p99 seconds")
BLENDED_PRICE = scale([(0.1, 5), (0.5, 4), (2.5, 3), (10, 2), (40, 1)], log=True,
                      unit="USD per million tokens")
UNAVAILABILITY = scale([(0.0001, 5), (0.001, 4), (0.005, 3), (0.01, 2), (0.1, 1)], log=True,
                       unit="1 - availability")
YEARS_OPERATING = scale([(0, 1), (1, 2), (3, 3), (5, 4), (10, 5)], unit="years")
OFFICIAL_SDKS = scale([(0, 1), (1, 2), (2, 3), (4, 4), (6, 5)], unit="official SDKs")

COMPLIANCE_FACTS = ("hipaa_baa", "soc2_type2", "iso27001", "eu_data_residency", "eu_ai_act")
FINE_TUNING_SCORES = {"none": 1.0, "supervised": 3.0, "preference": 4.0}


@dataclass(frozen=True)
class WorkloadSpec:
    """What scoring needs to know of a workload (built from the config by the caller)."""

    name: str
    volume: Volume
    weights: dict[str, float]
    ttft_budget_seconds: float | None = None
    require: tuple[str, ...] = ()
    min_availability: float | None = None
    max_ttft_p99_seconds: float | None = None
    max_monthly_cost_usd: float | None = None


@dataclass(frozen=True)
class FactorScore:
    score: float | None
    source: str  # measured | static | missing
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def missing(reason: str, **evidence: Any) -> FactorScore:
    return FactorScore(None, MISSING, reason, evidence)


def _rounded(value: float) -> float:
    return round(value, 3)


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
        return FactorScore(_rounded(LATENCY_VS_BUDGET.score(ratio)), MEASURED,
                           f"TTFT p99 {lat.ttft_p99:.3f}s is {ratio:.2f}x the "
                           f"{wl.ttft_budget_seconds:g}s budget ({lat.samples} probes)", evidence)
    return FactorScore(_rounded(LATENCY_SECONDS.score(lat.ttft_p99)), MEASURED,
                       f"TTFT p99 {lat.ttft_p99:.3f}s ({lat.samples} probes, no budget set)",
                       evidence)


def score_cost(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    if ev.price is None:
        return missing("no price known for this candidate")
    cost = estimate(ev.price, wl.volume)
    evidence = {"monthly_usd": round(cost.monthly_usd, 2),
                "blended_usd_per_mtok": round(cost.blended_per_mtok, 4),
                "input_usd_per_mtok": ev.price.input_per_mtok,
                "output_usd_per_mtok": ev.price.output_per_mtok,
                "cached_input_usd_per_mtok": ev.price.cached_input_per_mtok,
                "price_source": ev.price.source,
                "requests_per_month": wl.volume.requests_per_month}
    source = STATIC if ev.price.source == "static" else MEASURED
    return FactorScore(_rounded(BLENDED_PRICE.score(cost.blended_per_mtok)), source,
                       f"${cost.monthly_usd:,.2f}/month at this volume "
                       f"(${cost.blended_per_mtok:.3f} per million tokens blended)", evidence)


def score_reliability(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    av = ev.availability
    if av is not None and av.counted > 0:
        lower = wilson_lower_bound(av.ok, av.counted)
        evidence = {"ok": av.ok, "failed": av.failed, "throttled": av.throttled,
                    "config_errors": av.config_errors, "availability": av.ratio,
                    "availability_lower_bound": round(lower, 6),
                    "committed_sla": ev.sla_availability, "window_seconds": ev.window_seconds}
        return FactorScore(_rounded(UNAVAILABILITY.score(1 - lower)), MEASURED,
                           f"{av.ok}/{av.counted} probes succeeded "
                           f"(95% lower bound {lower:.4f})", evidence)
    if ev.sla_availability is not None:
        return FactorScore(_rounded(UNAVAILABILITY.score(1 - ev.sla_availability)), STATIC,
                           f"no probes yet; committed SLA {ev.sla_availability:.4%}",
                           {"committed_sla": ev.sla_availability})
    return missing("no probes in the window and no published SLA")


def _fact(ev: CandidateEvidence, name: str) -> Any:
    fact = ev.facts.get(name)
    return None if fact is None else fact.value


def _fact_evidence(ev: CandidateEvidence, names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        fact = ev.facts.get(name)
        out[name] = {"value": None if fact is None else fact.value,
                     "source": None if fact is None else fact.source,
                     "as_of": None if fact is None else fact.as_of}
    return out


def score_compliance(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    values = {name: _fact(ev, name) for name in COMPLIANCE_FACTS}
    known = [v for v in values.values() if v is not None]
    if not known:
        return missing("no compliance facts known for this provider")
    held = [name for name, v in values.items() if v is True]
    score = 1 + 4 * len(held) / len(COMPLIANCE_FACTS)
    unknown = [name for name, v in values.items() if v is None]
    reason = f"holds {len(held)} of {len(COMPLIANCE_FACTS)}: {', '.join(held) or 'none'}"
    if unknown:
        reason += f" (unknown: {', '.join(unknown)})"
    return FactorScore(_rounded(score), STATIC, reason, _fact_evidence(ev, COMPLIANCE_FACTS))


def score_ecosystem(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    sdks, compatible = _fact(ev, "official_sdks"), _fact(ev, "openai_compatible")
    if sdks is None and compatible is None:
        return missing("no ecosystem facts known for this provider")
    score = OFFICIAL_SDKS.score(float(sdks or 0))
    if compatible is True:
        score = min(5.0, score + 1)  # any OpenAI client and framework works against it
    return FactorScore(_rounded(score), STATIC,
                       f"{sdks if sdks is not None else 'unknown'} official SDKs, "
                       f"OpenAI-compatible API: {compatible}",
                       _fact_evidence(ev, ("official_sdks", "openai_compatible")))


def score_fine_tuning(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    offer, open_weights = _fact(ev, "fine_tuning"), _fact(ev, "open_weights")
    evidence = _fact_evidence(ev, ("fine_tuning", "open_weights"))
    if open_weights is True:
        return FactorScore(5.0, STATIC, "open weights: tune it any way you like", evidence)
    if offer is None or offer not in FINE_TUNING_SCORES:
        return missing("fine-tuning offer unknown", **evidence)
    return FactorScore(FINE_TUNING_SCORES[offer], STATIC, f"fine-tuning offered: {offer}",
                       evidence)


def score_stability(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    founded = _fact(ev, "founded_year")
    if founded is None:
        return missing("founding year unknown")
    years = max(0, now.year - int(founded))
    return FactorScore(_rounded(YEARS_OPERATING.score(years)), STATIC,
                       f"operating for {years} years (founded {founded})",
                       _fact_evidence(ev, ("founded_year",)))


def score_lock_in(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    open_weights, compatible = _fact(ev, "open_weights"), _fact(ev, "openai_compatible")
    evidence = _fact_evidence(ev, ("open_weights", "openai_compatible"))
    if open_weights is True:
        return FactorScore(5.0, STATIC, "open weights: can be self-hosted or moved", evidence)
    if compatible is True:
        return FactorScore(4.0, STATIC, "OpenAI-compatible API: switching is a URL change",
                           evidence)
    if compatible is False:
        return FactorScore(2.0, STATIC, "proprietary API and weights", evidence)
    return missing("lock-in facts unknown", **evidence)


def _not_measured_yet(what: str) -> Callable[[CandidateEvidence, WorkloadSpec, datetime],
                                             FactorScore]:
    def factor(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
        return missing(f"no {what} evidence collected")
    return factor


FactorFn = Callable[[CandidateEvidence, WorkloadSpec, datetime], FactorScore]

FACTOR_FUNCTIONS: dict[str, FactorFn] = {
    "task_quality": _not_measured_yet("task-quality"),
    "latency": score_latency,
    "cost": score_cost,
    "tool_calling": _not_measured_yet("function-calling"),
    "long_context": _not_measured_yet("long-context"),
    "compliance": score_compliance,
    "reliability": score_reliability,
    "ecosystem": score_ecosystem,
    "fine_tuning": score_fine_tuning,
    "stability": score_stability,
    "pricing_trajectory": _not_measured_yet("price-history"),
    "lock_in": score_lock_in,
}

