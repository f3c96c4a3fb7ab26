"""The evidence scoring is given: plain data, gathered by the store, judged here.

Nothing in service/scoring/ does I/O. The store turns rows into these objects; the scoring
functions turn these objects into scores. That keeps every rule a plain unit test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The one price type (probes/pricing/model.py), under the names scoring has always used.
from probes.pricing.model import Price as Price
from probes.pricing.model import PriceTier as PriceTier


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
class TimingStats:
    """Quantiles of one timing over successful probes in the window, in seconds: the first
    answer token of latency probes, or the first non-silent audio of voice probes."""

    samples: int
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class VoicePipelineFacts:
    """A text model spoken through STT and TTS: the configured time they add before the
    first audio (not measured), with where the figure comes from."""

    overhead_seconds: float
    source: str | None = None


@dataclass(frozen=True)
class AvailabilityStats:
    """Probe outcomes in the window, split as availability needs (docs/scoring.md)."""

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

    @property
    def throttled_share(self) -> float | None:
        return throttled_share(self.ok, self.throttled)


def throttled_share(ok: int, throttled: int) -> float | None:
    """429s over successes and 429s. Failures stay out of it: they count against
    availability already, and counting them here would let one more failure make a
    throttling provider look less throttled."""
    return throttled / (ok + throttled) if ok + throttled else None


@dataclass(frozen=True)
class RecentProbes:
    """Availability-counting probes of the last few minutes: what the state is judged on."""

    ok: int = 0
    failed: int = 0
    throttled: int = 0  # 429
    config_errors: int = 0  # 401/403
    first_failed_at: datetime | None = None
    first_throttled_at: datetime | None = None
    errors: dict[str, int] = field(default_factory=dict)  # "http_5xx 503" -> failures
    # When the latest answer was a 429 with a Retry-After: the end of the pause it asked for.
    throttled_until: datetime | None = None

    @property
    def answered(self) -> int:
        """Probes that say something of the provider: successes, failures and 429s."""
        return self.ok + self.failed + self.throttled

    @property
    def throttled_share(self) -> float | None:
        return throttled_share(self.ok, self.throttled)


@dataclass(frozen=True)
class RateStats:
    """Successes out of trials: tool calls valid, facts recalled, eval items passed."""

    successes: int
    trials: int
    samples: int = 0  # probe runs the trials came from
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. context_tokens

    @property
    def ratio(self) -> float | None:
        return self.successes / self.trials if self.trials else None


@dataclass(frozen=True)
class IncidentHistory:
    """What the provider's status pages declared (maintenance excluded)."""

    declared_minutes: dict[str, float]  # per availability window name, e.g. "30d"
    recent: dict[str, int]  # incidents in the last 90 days, by impact
    prior: dict[str, int]  # incidents in the 90 days before that, by impact


@dataclass(frozen=True)
class HonestyFacts:
    """How the provider's status page declared the outages the probes saw, over 30 days
    (service/outages/honesty.py; docs/alerts.md, Status-page honesty)."""

    outages: int  # observed outages judged
    undeclared: int  # of them, declared by no incident
    median_delay_seconds: float | None  # declared start - observed start; None: none declared


# Availability windows of the reliability factor, name -> seconds.
AVAILABILITY_WINDOWS: dict[str, float] = {
    "1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


@dataclass(frozen=True)
class CandidateEvidence:
    candidate: str
    provider: str
    window_seconds: float
    facts: dict[str, FactValue] = field(default_factory=dict)
    sla_availability: float | None = None
    latency: LatencyStats | None = None
    availability: AvailabilityStats | None = None  # over the scoring window (gates)
    price: Price | None = None
    # Availability per window of AVAILABILITY_WINDOWS (the reliability factor).
    availability_windows: dict[str, AvailabilityStats] = field(default_factory=dict)
    tool_calls: RateStats | None = None
    long_context: dict[int, RateStats] = field(default_factory=dict)  # by context size sent
    quality: RateStats | None = None
    quality_prior: FactValue | None = None  # a configured 1-5 prior, used without evals
    incidents: IncidentHistory | None = None  # None: no status page is followed
    price_history: tuple[Price, ...] = ()  # oldest first
    recent: RecentProbes | None = None  # the state window (service/scoring/states.py)
    # The same probes per region that probed it (service/scoring/quorum.py).
    recent_by_region: dict[str, RecentProbes] = field(default_factory=dict)
    honesty: HonestyFacts | None = None  # None: not judged (yet)
    first_answer: TimingStats | None = None  # latency probes' first answer token
    first_speech: TimingStats | None = None  # voice probes' first non-silent audio
    voice_pipeline: VoicePipelineFacts | None = None  # configured, for first_audio workloads
