"""What every factor function shares: its result type, the workload it is scored for, and
the default scales (the one place they are defined; a workload may override any of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.scoring.cost import Volume
from service.scoring.evidence import CandidateEvidence
from service.scoring.scales import Scale, scale
from service.scoring.stats import wilson_lower_bound

MEASURED, STATIC, MISSING = "measured", "static", "missing"

# Default scales, by factor (docs/scoring.md states each). Keys are factor names, except
# `latency_seconds`, the latency scale used when a workload sets no TTFT budget.
DEFAULT_SCALES: dict[str, Scale] = {
    "latency": scale([(0.25, 5), (0.5, 4), (1, 3), (2, 2), (4, 1)], log=True,
                     unit="TTFT p99 / budget"),
    "latency_seconds": scale([(0.25, 5), (0.5, 4), (1, 3), (2, 2), (4, 1)], log=True,
                             unit="TTFT p99 seconds"),
    "cost": scale([(0.1, 5), (0.5, 4), (2.5, 3), (10, 2), (40, 1)], log=True,
                  unit="USD per million tokens, blended"),
    "reliability": scale([(0.0001, 5), (0.001, 4), (0.005, 3), (0.01, 2), (0.1, 1)], log=True,
                         unit="1 - availability (95% lower bound)"),
    "task_quality": scale([(0.5, 1), (0.7, 2), (0.8, 3), (0.9, 4), (0.97, 5)],
                          unit="eval pass rate (95% lower bound)"),
    "tool_calling": scale([(0.5, 1), (0.8, 2), (0.9, 3), (0.95, 4), (0.99, 5)],
                          unit="valid tool-call rate (95% lower bound)"),
    "long_context": scale([(0.5, 1), (0.7, 2), (0.85, 3), (0.95, 4), (0.99, 5)],
                          unit="fact recall rate (95% lower bound)"),
    "pricing_trajectory": scale([(-0.5, 5), (-0.2, 4), (0, 3), (0.2, 2), (0.5, 1)],
                                unit="annualised change of the blended price"),
    "compliance": scale([(0, 1), (1, 5)], unit="share of the five compliance facts held"),
    "ecosystem": scale([(0, 1), (1, 2), (2, 3), (4, 4), (6, 5)], unit="official SDKs"),
    "stability": scale([(0, 1), (1, 2), (3, 3), (5, 4), (10, 5)], unit="years operating"),
}


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
    context_tokens: int | None = None  # the workload's operating context length
    scales: dict[str, Scale] = field(default_factory=dict)  # overrides of DEFAULT_SCALES

    def scale_for(self, name: str) -> Scale:
        return self.scales.get(name) or DEFAULT_SCALES[name]


@dataclass(frozen=True)
class FactorScore:
    score: float | None
    source: str  # measured | static | missing
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


FactorFn = Callable[[CandidateEvidence, WorkloadSpec, datetime], FactorScore]


def missing(reason: str, **evidence: Any) -> FactorScore:
    return FactorScore(None, MISSING, reason, evidence)


def rounded(value: float) -> float:
    return round(value, 3)


def rate_evidence(successes: int, trials: int, samples: int) -> tuple[float, dict[str, Any]]:
    """A rate's 95% Wilson lower bound and the evidence every rate-based factor keeps."""
    lower = wilson_lower_bound(successes, trials)
    return lower, {"successes": successes, "trials": trials, "probe_runs": samples,
                   "rate": round(successes / trials, 6) if trials else None,
                   "rate_lower_bound": round(lower, 6)}
