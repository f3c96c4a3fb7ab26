"""Reasoning caps: how much a reasoning model may think during a probe, per candidate.

A probe of a reasoning model can cost 50 times a plain one: the model thinks before it
answers, and thinking is billed as output. The probe option `reasoning: {effort,
budget_tokens}` caps it; each dialect writes the cap in its API's own parameter
(docs/config.md, Reasoning caps) and says which of the two it takes (`REASONING_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from probes.target import Target

Effort = Literal["none", "minimal", "low", "medium", "high"]
EFFORTS: tuple[str, ...] = get_args(Effort)


@dataclass(frozen=True)
class ReasoningCap:
    effort: str | None = None  # one of EFFORTS
    budget_tokens: int | None = None  # 0 turns thinking off where the API allows it


def reasoning_cap(target: Target) -> ReasoningCap | None:
    """The candidate's cap for this probe (the `reasoning` probe option), if any."""
    value: Any = target.options.get("reasoning")
    if not value:
        return None
    return ReasoningCap(effort=value.get("effort"), budget_tokens=value.get("budget_tokens"))
