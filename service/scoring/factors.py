"""The 12 factors of the LLM-selection framework: one function each, one registry.

Each function takes a candidate's evidence, the workload and the evaluation time, and
returns a FactorScore (1-5, or missing) with its source, a one-line reason and its
evidence. docs/scoring.md states every rule; the modules below hold them.
"""

from __future__ import annotations

from service.scoring.base import (
    DEFAULT_SCALES,
    MEASURED,
    MISSING,
    STATIC,
    FactorFn,
    FactorScore,
    WorkloadSpec,
    missing,
)
from service.scoring.economics import score_cost, score_pricing_trajectory
from service.scoring.factors_names import FACTORS
from service.scoring.performance import (
    score_latency,
    score_long_context,
    score_reliability,
    score_task_quality,
    score_tool_calling,
)
from service.scoring.provider_facts import (
    score_compliance,
    score_ecosystem,
    score_fine_tuning,
    score_lock_in,
    score_stability,
)

FACTOR_FUNCTIONS: dict[str, FactorFn] = {
    "task_quality": score_task_quality,
    "latency": score_latency,
    "cost": score_cost,
    "tool_calling": score_tool_calling,
    "long_context": score_long_context,
    "compliance": score_compliance,
    "reliability": score_reliability,
    "ecosystem": score_ecosystem,
    "fine_tuning": score_fine_tuning,
    "stability": score_stability,
    "pricing_trajectory": score_pricing_trajectory,
    "lock_in": score_lock_in,
}
assert tuple(FACTOR_FUNCTIONS) == tuple(FACTORS), "one function per factor, in table order"

# Kept for callers and tests that name the default scales directly.
LATENCY_VS_BUDGET = DEFAULT_SCALES["latency"]
BLENDED_PRICE = DEFAULT_SCALES["cost"]
UNAVAILABILITY = DEFAULT_SCALES["reliability"]

__all__ = [
    "BLENDED_PRICE", "DEFAULT_SCALES", "FACTOR_FUNCTIONS", "LATENCY_VS_BUDGET", "MEASURED",
    "MISSING", "STATIC", "UNAVAILABILITY", "FactorFn", "FactorScore", "WorkloadSpec", "missing",
    "score_cost", "score_latency", "score_reliability",
]
