"""Composite, gates and ranking for one workload: pure, given evidence for every candidate.

- Composite: the weighted mean of the factor scores that have evidence. A factor with no
  evidence drops out of the weights and the candidate's composite is marked partial.
- Gates are not weights: a candidate that fails one is excluded whatever its score, and the
  reasons are kept. Gates that need evidence that does not exist yet are not failed; the
  candidate carries a note instead, so a missing measurement never excludes silently.
- Rank: by composite, highest first; ties broken by candidate id so the order is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.scoring.cost import estimate
from service.scoring.evidence import CandidateEvidence
from service.scoring.factors import FACTOR_FUNCTIONS, FactorScore, WorkloadSpec


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


@dataclass(frozen=True)
class Ranking:
    workload: str
    evaluated_at: datetime
    entries: tuple[RankedCandidate, ...]

    @property
    def leader(self) -> str | None:
        return self.entries[0].candidate if self.entries and self.entries[0].rank == 1 else None


def composite(factors: dict[str, FactorScore], weights: dict[str, float]) -> tuple[float | None,
                                                                                   bool]:
    """Weighted mean of the scores with evidence; partial when a weighted factor had none."""
    total = weighted = 0.0
    partial = False
    for name, weight in weights.items():
        if weight <= 0:
            continue
        factor = factors.get(name)
        if factor is None or factor.score is None:
            partial = True
            continue
        total += weight
        weighted += weight * factor.score
    return (round(weighted / total, 4) if total else None), partial


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
    if wl.max_ttft_p99_seconds is not None:
        if ev.latency is None or ev.latency.samples == 0:
            notes.append("max_ttft_p99 not checked: no latency probes in the window")
        elif ev.latency.ttft_p99 > wl.max_ttft_p99_seconds:
            reasons.append(f"TTFT p99 {ev.latency.ttft_p99:.3f}s over the ceiling "
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
    value, partial = composite(factors, wl.weights)
    reasons, notes = gate(ev, wl)
    return RankedCandidate(candidate=ev.candidate, rank=None, composite=value, partial=partial,
                           gated=bool(reasons), gate_reasons=tuple(reasons), notes=tuple(notes),
                           factors=factors, weights=dict(wl.weights))


def rank(wl: WorkloadSpec, evidence: list[CandidateEvidence], now: datetime) -> Ranking:
    scored = [score_candidate(ev, wl, now) for ev in evidence]
    eligible = sorted((c for c in scored if not c.gated and c.composite is not None),
                      key=lambda c: (-(c.composite or 0.0), c.candidate))
    unranked = sorted((c for c in scored if c.gated or c.composite is None),
                      key=lambda c: c.candidate)
    entries = [_with_rank(c, i + 1) for i, c in enumerate(eligible)] + unranked
    return Ranking(workload=wl.name, evaluated_at=now, entries=tuple(entries))


def _with_rank(c: RankedCandidate, position: int) -> RankedCandidate:
    return RankedCandidate(c.candidate, position, c.composite, c.partial, c.gated,
                           c.gate_reasons, c.notes, c.factors, c.weights)


def factor_document(name: str, factor: FactorScore, weight: float) -> dict[str, Any]:
    return {"score": factor.score, "weight": weight, "source": factor.source,
            "reason": factor.reason, "evidence": factor.evidence}


def ranking_document(ranking: Ranking) -> dict[str, Any]:
    """The ranking document (docs/architecture.md), shared by `score --json` and the API."""
    return {
        "workload": ranking.workload,
        "evaluated_at": ranking.evaluated_at.isoformat(),
        "leader": ranking.leader,
        "ranking": [
            {"candidate": c.candidate, "rank": c.rank, "composite": c.composite,
             "partial": c.partial, "gated": c.gated, "gate_reasons": list(c.gate_reasons),
             "notes": list(c.notes),
             "factors": {name: factor_document(name, f, c.weights.get(name, 0.0))
                         for name, f in c.factors.items()}}
            for c in ranking.entries
        ],
    }
