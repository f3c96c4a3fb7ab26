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
from service.scoring.states import StateRules
from service.scoring.stats import Z_95, RatePrior, rate_estimate, z_for

MEASURED, STATIC, MISSING = "measured", "static", "missing"
# How a weighted factor without evidence enters the composite (docs/scoring.md):
# worst: at the lowest score, so missing evidence never helps; prior: at the middle score;
# drop: not at all (its weight leaves the mean). Under worst and prior it widens the
# composite's interval to the whole 1-5 range of that factor.
MISSING_POLICIES = ("worst", "prior", "drop")

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
                         unit="1 - availability (estimate)"),
    "task_quality": scale([(0.5, 1), (0.7, 2), (0.8, 3), (0.9, 4), (0.97, 5)],
                          unit="eval pass rate (estimate)"),
    "tool_calling": scale([(0.5, 1), (0.8, 2), (0.9, 3), (0.95, 4), (0.99, 5)],
                          unit="valid tool-call rate (estimate)"),
    "long_context": scale([(0.5, 1), (0.7, 2), (0.85, 3), (0.95, 4), (0.99, 5)],
                          unit="fact recall rate (estimate)"),
    "pricing_trajectory": scale([(-0.5, 5), (-0.2, 4), (0, 3), (0.2, 2), (0.5, 1)],
                                unit="annualised change of the blended price"),
    "compliance": scale([(0, 1), (1, 5)], unit="share of the five compliance facts held"),
    "ecosystem": scale([(0, 1), (1, 2), (2, 3), (4, 4), (6, 5)], unit="official SDKs"),
    "stability": scale([(0, 1), (1, 2), (3, 3), (5, 4), (10, 5)], unit="years operating"),
}

# What a measured rate is taken to be before its first trial, worth 1 / (1 - rate) trials
# (service/scoring/stats.py, RatePrior): the rate the default scale scores 1.5. Low on
# purpose: a candidate earns its score with evidence, and a small sample lifts it part of
# the way (3 valid tool calls of 3 score 2.3, 30 of 30 score 4.5).
RATE_PRIORS: dict[str, RatePrior] = {
    "task_quality": RatePrior(0.6),
    "tool_calling": RatePrior(0.65),
    "long_context": RatePrior(0.6),
    "reliability": RatePrior(1 - 10 ** -1.5),  # unavailability 0.0316, between 0.1 and 0.01
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
    missing: str = "worst"  # one of MISSING_POLICIES
    max_throttled_share: float | None = None  # gate: 429 share in the scoring window
    confidence: float = 0.95  # the level of every interval
    tie_confidence: float = 0.9  # below this chance of being ahead, two candidates are tied
    states: StateRules = field(default_factory=StateRules)
    honesty_penalty: float = 0.0  # stability points a never-declaring provider loses; 0: off
    latency_measure: str = "ttft"  # ttft | first_answer | first_audio (LATENCY_MEASURES)

    def scale_for(self, name: str) -> Scale:
        return self.scales.get(name) or DEFAULT_SCALES[name]

    @property
    def z(self) -> float:
        return Z_95 if self.confidence == 0.95 else z_for(self.confidence)


@dataclass(frozen=True)
class FactorScore:
    """A factor's score with its interval (low, high) at the workload's confidence.

    Scores from facts and prices are exact: their interval is the score itself. A missing
    factor has no score; the composite decides what it counts as (MISSING_POLICIES).
    """

    score: float | None
    source: str  # measured | static | missing
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    low: float | None = None  # None: the score itself
    high: float | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.score is None:
            return None
        return (self.score if self.low is None else self.low,
                self.score if self.high is None else self.high)


FactorFn = Callable[[CandidateEvidence, WorkloadSpec, datetime], FactorScore]


def missing(reason: str, **evidence: Any) -> FactorScore:
    return FactorScore(None, MISSING, reason, evidence)


def rounded(value: float) -> float:
    return round(value, 3)


def scored_interval(scale: Scale, low_quantity: float, high_quantity: float
                    ) -> tuple[float, float]:
    """The scores at the two ends of a quantity's interval, lowest first (a scale may fall)."""
    a, b = scale.score(low_quantity), scale.score(high_quantity)
    return rounded(min(a, b)), rounded(max(a, b))


def rate_score(factor: str, successes: int, trials: int, samples: int, wl: WorkloadSpec,
               prior: RatePrior | None = None) -> tuple[float, float, float, dict[str, Any]]:
    """(score, low, high, evidence) of a rate-based factor (not reliability: its scale
    reads 1 - rate). The score is the scale at the rate's estimate (stats.rate_estimate),
    from `prior` or else the factor's RATE_PRIORS."""
    estimate, low, high = rate_estimate(successes, trials, prior or RATE_PRIORS[factor], wl.z)
    sc = wl.scale_for(factor)
    score_low, score_high = scored_interval(sc, low, high)
    return rounded(sc.score(estimate)), score_low, score_high, {
        "successes": successes, "trials": trials, "probe_runs": samples,
        "rate": round(successes / trials, 6) if trials else None,
        "rate_estimate": round(estimate, 6), "rate_low": round(low, 6),
        "rate_high": round(high, 6)}
