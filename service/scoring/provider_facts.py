"""Factors about the provider rather than the model: compliance, ecosystem, fine-tuning,
stability and lock-in. Their evidence is catalog facts, each with its source and date;
stability also reads the provider's declared incidents when a status page is followed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.scoring.base import MEASURED, STATIC, FactorScore, WorkloadSpec, missing, rounded
from service.scoring.evidence import CandidateEvidence, IncidentHistory
from service.scoring.honesty import honesty_adjustment

COMPLIANCE_FACTS = ("hipaa_baa", "soc2_type2", "iso27001", "eu_data_residency", "eu_ai_act")
FINE_TUNING_SCORES = {"none": 1.0, "supervised": 3.0, "preference": 4.0}

# Declared incidents weigh by impact; a month with this much weight costs one point.
IMPACT_WEIGHTS = {"critical": 3.0, "major": 2.0, "minor": 1.0, "none": 0.5}
WEIGHT_PER_MONTH_FOR_ONE_POINT = 4.0
MAX_INCIDENT_PENALTY = 2.0
TREND_STEP = 0.25  # a worsening (or improving) trend moves the score this much


def fact(ev: CandidateEvidence, name: str) -> Any:
    value = ev.facts.get(name)
    return None if value is None else value.value


def fact_evidence(ev: CandidateEvidence, names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        f = ev.facts.get(name)
        out[name] = {"value": None if f is None else f.value,
                     "source": None if f is None else f.source,
                     "as_of": None if f is None else f.as_of}
    return out


def score_compliance(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    values = {name: fact(ev, name) for name in COMPLIANCE_FACTS}
    if all(v is None for v in values.values()):
        return missing("no compliance facts known for this provider")
    held = [name for name, v in values.items() if v is True]
    share = len(held) / len(COMPLIANCE_FACTS)
    unknown = [name for name, v in values.items() if v is None]
    reason = f"holds {len(held)} of {len(COMPLIANCE_FACTS)}: {', '.join(held) or 'none'}"
    if unknown:
        reason += f" (unknown: {', '.join(unknown)})"
    return FactorScore(rounded(wl.scale_for("compliance").score(share)), STATIC, reason,
                       fact_evidence(ev, COMPLIANCE_FACTS))


def score_ecosystem(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    sdks, compatible = fact(ev, "official_sdks"), fact(ev, "openai_compatible")
    if sdks is None and compatible is None:
        return missing("no ecosystem facts known for this provider")
    score = wl.scale_for("ecosystem").score(float(sdks or 0))
    if compatible is True:
        score = min(5.0, score + 1)  # any OpenAI client and framework works against it
    return FactorScore(rounded(score), STATIC,
                       f"{_count(sdks, 'official SDK') if sdks is not None else 'unknown'}"
                       f", OpenAI-compatible API: {compatible}",
                       fact_evidence(ev, ("official_sdks", "openai_compatible")))


def score_fine_tuning(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    offer, open_weights = fact(ev, "fine_tuning"), fact(ev, "open_weights")
    evidence = fact_evidence(ev, ("fine_tuning", "open_weights"))
    if open_weights is True:
        return FactorScore(5.0, STATIC, "open weights: tune it any way you like", evidence)
    if offer is None or offer not in FINE_TUNING_SCORES:
        return missing("fine-tuning offer unknown", **evidence)
    return FactorScore(FINE_TUNING_SCORES[offer], STATIC, f"fine-tuning offered: {offer}",
                       evidence)


def _count(n: object, noun: str) -> str:
    """`1 official SDK`, `2 official SDKs`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def incident_weight(counts: dict[str, int]) -> float:
    return sum(IMPACT_WEIGHTS.get(impact, 1.0) * n for impact, n in counts.items())


def incident_adjustment(history: IncidentHistory) -> tuple[float, str, dict[str, Any]]:
    """(score change, reason, evidence) from the last 90 days of declared incidents."""
    recent, prior = incident_weight(history.recent), incident_weight(history.prior)
    per_month = recent / 3
    penalty = min(MAX_INCIDENT_PENALTY, per_month / WEIGHT_PER_MONTH_FOR_ONE_POINT)
    trend = "steady"
    if recent > 1.5 * prior and recent - prior >= 2:
        trend = "worsening"
    elif prior > 1.5 * recent and prior - recent >= 2:
        trend = "improving"
    change = -penalty + {"worsening": -TREND_STEP, "improving": TREND_STEP}.get(trend, 0.0)
    evidence = {"incidents_last_90d": history.recent, "incidents_prior_90d": history.prior,
                "weighted_incidents_per_month": round(per_month, 2), "trend": trend}
    return change, f"{_count(sum(history.recent.values()), 'declared incident')} in 90 days " \
        f"({trend})", evidence


def score_stability(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    founded = fact(ev, "founded_year")
    if founded is None:
        return missing("founding year unknown")
    years = max(0, now.year - int(founded))
    score = wl.scale_for("stability").score(years)
    reason = f"operating for {years} years (founded {founded})"
    evidence = fact_evidence(ev, ("founded_year",))
    source = STATIC
    if ev.incidents is not None:
        change, incident_reason, incident_evidence = incident_adjustment(ev.incidents)
        score = max(1.0, min(5.0, score + change))
        reason += f"; {incident_reason}"
        evidence.update(incident_evidence)
        source = MEASURED
    if wl.honesty_penalty > 0 and ev.honesty is not None:  # opt-in: service/scoring/honesty.py
        change, honesty_reason, honesty_evidence = honesty_adjustment(ev.honesty,
                                                                      wl.honesty_penalty)
        score = max(1.0, min(5.0, score + change))
        reason += f"; {honesty_reason}"
        evidence.update(honesty_evidence)
        source = MEASURED
    return FactorScore(rounded(score), source, reason, evidence)


def score_lock_in(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    open_weights, compatible = fact(ev, "open_weights"), fact(ev, "openai_compatible")
    evidence = fact_evidence(ev, ("open_weights", "openai_compatible"))
    if open_weights is True:
        return FactorScore(5.0, STATIC, "open weights: can be self-hosted or moved", evidence)
    if compatible is True:
        return FactorScore(4.0, STATIC, "OpenAI-compatible API: switching is a URL change",
                           evidence)
    if compatible is False:
        return FactorScore(2.0, STATIC, "proprietary API and weights", evidence)
    return missing("lock-in facts unknown", **evidence)
