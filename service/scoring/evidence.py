"""The evidence scoring is given: plain data, gathered by the store, judged here.

Nothing in service/scoring/ does I/O. The store turns rows into these objects; the scoring
functions turn these objects into scores. That keeps every rule a plain unit test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FactValue:
    value: Any  # None means unknown
    source: str | None = None
    as_of: str | None = None


@dataclass(frozen=True)
class LatencyStats:
    """TTFT of successful latency probes in the window, in seconds."""

    samples: int
    ttft_p50: float
    ttft_p95: float
    ttft_p99: float
    output_tokens_per_second_p50: float | None = None


@dataclass(frozen=True)
class AvailabilityStats:
    """Probe outcomes in the window, split the way DESIGN.md's availability definition needs."""

    ok: int
    failed: int  # failures that count against the provider
    throttled: int = 0  # 429s: reported apart, not an outage
    config_errors: int = 0  # 401/403: our key, not their outage

    @property
    def counted(self) -> int:
        return self.ok + self.failed

    @property
    def ratio(self) -> float | None:
        return self.ok / self.counted if self.counted else None


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply when a request's input is above `above_input_tokens`."""

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    source: str = "static"
    effective_at: datetime | None = None
    cache_write_per_mtok: float | None = None
    batch_input_per_mtok: float | None = None
    batch_output_per_mtok: float | None = None
    tiers: tuple[PriceTier, ...] = ()


@dataclass(frozen=True)
class CandidateEvidence:
    candidate: str
    provider: str
    window_seconds: float
    facts: dict[str, FactValue] = field(default_factory=dict)
    sla_availability: float | None = None
    latency: LatencyStats | None = None
    availability: AvailabilityStats | None = None
    price: Price | None = None
