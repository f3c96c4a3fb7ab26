"""Composite, gates, states and ranking for one workload: pure, given every candidate's evidence.

- Composite: the weighted mean of the factor scores. A weighted factor without evidence
  counts as the workload's `missing` policy says (worst by default: the lowest score, so
  absence of evidence never helps), and the candidate is marked partial with the factor
  named. The composite's interval combines the factors' intervals (composite_interval).
- Gates are not weights: a candidate that fails one is excluded whatever its score, and the
  reasons are kept. Gates that need evidence that does not exist yet are not failed; the
  candidate carries a note instead, so a missing measurement never excludes silently.
- State: serving, degraded, throttled, down or unknown, from the last minutes' probes
  (states.py). Down and throttled candidates rank after every other, so rank 1 is a
  candidate that can take traffic whenever one exists.
- Rank: then by composite, highest first; equal composites go to the candidate with fewer
  weighted factors missing, then to the lower candidate id, so the order is stable. A
  candidate is `tied` with the one above when the chance that the one above is truly ahead
  is below the workload's tie confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from service.scoring.cost import estimate
from service.scoring.evidence import CandidateEvidence
from service.scoring.factors import FACTOR_FUNCTIONS, FactorScore, WorkloadSpec
from service.scoring.performance import measured_timing
from service.scoring.quorum import regional_states
from service.scoring.scales import MAX_SCORE, MIN_SCORE
from service.scoring.states import (
    DOWN,
    MONITOR_OUTAGE,
    UNAVAILABLE,
    UNKNOWN,
    judge_state,
    monitor_outage,
)
from service.scoring.stats import Estimate, probability_ahead

MIDDLE_SCORE = (MIN_SCORE + MAX_SCORE) / 2


@dataclass(frozen=True)
class RankedCandidate:
    candidate: str
    rank: int | None  # None when gated
    composite: float | None
    partial: bool
    gated: bool
    gate_reasons: tuple[str, ...]
    notes: tuple[str, ...]
    factors: dict[str, FactorScore]
    weights: dict[str, float]
    composite_low: float | None = None
    composite_high: float | None = None
    missing: tuple[str, ...] = ()  # weighted factors without evidence
    state: str = "unknown"
    state_reason: str = ""
    tied: bool = False  # statistically tied with the candidate ranked just above
    regions: tuple[str, ...] = ()  # the regions that agree on the state (scoring/quorum.py)

    @property
    def estimate(self) -> Estimate | None:
        if self.composite is None:
            return None
        return Estimate(self.composite, _or(self.composite_low, self.composite),
                        _or(self.composite_high, self.composite))

    @property
    def available(self) -> bool:
        """May be the announced top choice: not down and not throttled."""
        return self.state not in UNAVAILABLE


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True)
class Ranking:
    workload: str
    evaluated_at: datetime
    entries: tuple[RankedCandidate, ...]
    confidence: float = 0.95
    missing_policy: str = "worst"

    @property
    def leader(self) -> str | None:
        """The candidate ranked first in this evaluation (not yet the announced top choice)."""
        return self.entries[0].candidate if self.entries and self.entries[0].rank == 1 else None


@dataclass(frozen=True)
class Composite:
    value: float | None
    low: float | None
    high: float | None
    partial: bool
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Counted:
    """How one weighted factor enters a composite: its weight, score and interval."""

    weight: float
    score: float
    low: float
    high: float
    missing: bool


def counted_factors(factors: dict[str, FactorScore], weights: dict[str, float],
                    policy: str = "worst") -> dict[str, Counted]:
    """The weighted factors as the composite counts them. A factor without a score counts as
    MIN_SCORE (`worst`) or MIDDLE_SCORE (`prior`), with the interval MIN_SCORE..MAX_SCORE,
    or is left out (`drop`)."""
    out: dict[str, Counted] = {}
    for name, weight in weights.items():
        if weight <= 0:
            continue
        factor = factors.get(name)
        interval = factor.interval if factor is not None else None
        if factor is not None and factor.score is not None and interval is not None:
            out[name] = Counted(weight, factor.score, interval[0], interval[1], False)
        elif policy != "drop":
            score = MIN_SCORE if policy == "worst" else MIDDLE_SCORE
            out[name] = Counted(weight, score, MIN_SCORE, MAX_SCORE, True)
    return out


def composite(factors: dict[str, FactorScore], weights: dict[str, float],
              policy: str = "worst") -> Composite:
    """The weighted mean of the counted factors (counted_factors), with its interval: the
    lower side is sqrt(sum((w * (score - low))^2)) / sum(w) below the mean, the upper side
    likewise with (high - score), the factors' errors taken as independent."""
    counted = counted_factors(factors, weights, policy)
    missing = tuple(n for n, w in weights.items() if w > 0
                    and (factors.get(n) is None or factors[n].score is None))
    total = sum(c.weight for c in counted.values())
    if not total:
        return Composite(None, None, None, bool(missing), missing)
    value = sum(c.weight * c.score for c in counted.values()) / total
    down = math.sqrt(sum((c.weight * (c.score - c.low)) ** 2 for c in counted.values()))
    up = math.sqrt(sum((c.weight * (c.high - c.score)) ** 2 for c in counted.values()))
    return Composite(round(value, 4), round(value - down / total, 4),
                     round(value + up / total, 4), bool(missing), missing)


def gate(ev: CandidateEvidence, wl: WorkloadSpec) -> tuple[list[str], list[str]]:
    """(reasons the candidate is excluded, notes on gates that could not be checked)."""
    reasons: list[str] = []
    notes: list[str] = []
    for fact_name in wl.require:
        fact = ev.facts.get(fact_name)
        value = None if fact is None else fact.value
        if value is not True:
            state = "unknown" if value is None else "not offered"
            reasons.append(f"requires {fact_name}: {state}")
    if wl.min_availability is not None:
        ratio = ev.availability.ratio if ev.availability else None
        if ratio is None:
            notes.append("min_availability not checked: no probes in the window")
        elif ratio < wl.min_availability:
            reasons.append(f"availability {ratio:.4f} below the floor {wl.min_availability}")
    if wl.max_throttled_share is not None:
        stats = ev.availability
        share = stats.throttled_share if stats else None
        if stats is None or share is None:
            notes.append("max_throttled_share not checked: no probes in the window")
        elif share > wl.max_throttled_share:
            reasons.append(f"{stats.throttled} of {stats.ok + stats.throttled} probes that did "
                           f"not fail answered 429 ({share:.0%}), over the limit "
                           f"{wl.max_throttled_share:.0%}")
    if wl.max_ttft_p99_seconds is not None:  # on the workload's latency measure
        timing = measured_timing(ev, wl.latency_measure)
        if isinstance(timing, str):
            notes.append(f"max_ttft_p99 not checked: {timing}")
        elif timing.p99 > wl.max_ttft_p99_seconds:
            reasons.append(f"{timing.label} p99 {timing.p99:.3f}s over the ceiling "
                           f"{wl.max_ttft_p99_seconds:g}s")
    if wl.max_monthly_cost_usd is not None:
        if ev.price is None:
            notes.append("max_monthly_cost not checked: no price known")
        else:
            monthly = estimate(ev.price, wl.volume).monthly_usd
            if monthly > wl.max_monthly_cost_usd:
                reasons.append(f"monthly cost ${monthly:,.2f} over the budget "
                               f"${wl.max_monthly_cost_usd:,.2f}")
    return reasons, notes


def score_candidate(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> RankedCandidate:
    factors = {name: fn(ev, wl, now) for name, fn in FACTOR_FUNCTIONS.items()}
    comp = composite(factors, wl.weights, wl.missing)
    reasons, notes = gate(ev, wl)
    state, state_reason = judge_state(ev.recent, wl.states, now)
    return RankedCandidate(
        candidate=ev.candidate, rank=None, composite=comp.value, partial=comp.partial,
        gated=bool(reasons), gate_reasons=tuple(reasons), notes=tuple(notes), factors=factors,
        weights=dict(wl.weights), composite_low=comp.low, composite_high=comp.high,
        missing=comp.missing, state=state, state_reason=state_reason)


def rank(wl: WorkloadSpec, evidence: list[CandidateEvidence], now: datetime) -> Ranking:
    scored = [score_candidate(ev, wl, now) for ev in evidence]
    regional = regional_states(evidence, wl.states, now)  # several regions: the quorum's say
    scored = [replace(c, state=r.state, state_reason=r.reason, regions=r.regions)
              if (r := regional.get(c.candidate)) is not None else c for c in scored]
    providers = {ev.candidate: ev.provider for ev in evidence}
    if monitor_outage({c.candidate: c.state for c in scored}, providers):
        why = MONITOR_OUTAGE.format(n=len({providers[c.candidate] for c in scored
                                           if c.state == DOWN}))
        scored = [replace(c, state=UNKNOWN, state_reason=why) if c.state == DOWN else c
                  for c in scored]
    # Equal composites go first to the candidate with fewer weighted factors missing, so a
    # missing factor never ranks above evidence that scores what it counts as; then by id.
    eligible = sorted((c for c in scored if not c.gated and c.composite is not None),
                      key=lambda c: (not c.available, -(c.composite or 0.0), len(c.missing),
                                     c.candidate))
    unranked = sorted((c for c in scored if c.gated or c.composite is None),
                      key=lambda c: c.candidate)
    ranked: list[RankedCandidate] = []
    for i, c in enumerate(eligible):
        above = ranked[-1] if ranked else None
        tied = above is not None and above.available == c.available and \
            is_tied(above, c, wl)
        ranked.append(replace(c, rank=i + 1, tied=tied))
    return Ranking(workload=wl.name, evaluated_at=now, entries=tuple(ranked + unranked),
                   confidence=wl.confidence, missing_policy=wl.missing)


def is_tied(above: RankedCandidate, below: RankedCandidate, wl: WorkloadSpec) -> bool:
    a, b = above.estimate, below.estimate
    return a is not None and b is not None and \
        probability_ahead(a, b, wl.z) < wl.tie_confidence


def factor_document(name: str, factor: FactorScore, weight: float) -> dict[str, Any]:
    interval = factor.interval
    return {"score": factor.score, "low": interval[0] if interval else None,
            "high": interval[1] if interval else None, "weight": weight,
            "source": factor.source, "reason": factor.reason, "evidence": factor.evidence}


def entry_document(c: RankedCandidate) -> dict[str, Any]:
    return {"candidate": c.candidate, "rank": c.rank, "composite": c.composite,
            "composite_low": c.composite_low, "composite_high": c.composite_high,
            "tied": c.tied, "state": c.state, "state_reason": c.state_reason,
            "partial": c.partial, "missing": list(c.missing), "gated": c.gated,
            "gate_reasons": list(c.gate_reasons), "notes": list(c.notes),
            "factors": {name: factor_document(name, f, c.weights.get(name, 0.0))
                        for name, f in c.factors.items()}}


def ranking_document(ranking: Ranking) -> dict[str, Any]:
    """The ranking JSON document (docs/scoring.md), shared by `score --json` and the API."""
    return {
        "workload": ranking.workload,
        "evaluated_at": ranking.evaluated_at.isoformat(),
        "leader": ranking.leader,
        "confidence": ranking.confidence,
        "missing_policy": ranking.missing_policy,
        "ranking": [entry_document(c) for c in ranking.entries],
    }
