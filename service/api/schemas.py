"""Response shapes of the JSON API: what /openapi.json documents and clients rely on.

In the ranking document only each factor's evidence stays a plain object: it differs per
factor and is documented in docs/scoring.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from probes.pricing.model import Price

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Every list, in one shape. A list that grows (events, history, ...) comes a page at a
    time, newest first: pass `next_cursor` back as `cursor` for the next. A list the config
    fixes (workloads, candidates, prices) comes whole, sorted by name, `next_cursor` null."""

    items: list[T]
    next_cursor: str | None = Field(description="null on the last page")


class FactorOut(BaseModel):
    score: float | None = Field(description="1-5; null when the factor has no evidence")
    low: float | None = Field(description="the score's interval at the ranking's confidence")
    high: float | None
    weight: float
    source: Literal["measured", "static", "missing"]
    reason: str
    evidence: dict[str, Any] = Field(description="differs per factor: docs/scoring.md")


class RankingEntryOut(BaseModel):
    candidate: str
    rank: int | None = Field(description="null when gated or without a composite")
    composite: float | None
    composite_low: float | None
    composite_high: float | None
    tied: bool = Field(description="statistically tied with the entry ranked just above")
    state: Literal["serving", "degraded", "throttled", "down", "unknown"]
    state_reason: str
    partial: bool = Field(description="some weighted factors have no evidence")
    missing: list[str] = Field(description="the weighted factors without evidence")
    gated: bool
    gate_reasons: list[str]
    notes: list[str]
    factors: dict[str, FactorOut]


class RankingOut(BaseModel):
    """A workload's ranking: `factorwatch score --json` prints the same document."""

    workload: str
    evaluated_at: datetime
    leader: str | None = Field(description="the candidate ranked first in this evaluation")
    top_choice: str | None = Field(default=None, description="the announced top choice now")
    confidence: float | None = Field(description="the level of every interval in it")
    missing_policy: str | None = Field(description="how weighted factors without evidence "
                                       "count: worst, prior or drop")
    ranking: list[RankingEntryOut]


class ExplainOut(RankingEntryOut):
    workload: str
    evaluated_at: datetime


class HistoryEntry(BaseModel):
    candidate: str
    rank: int | None
    composite: float | None
    composite_low: float | None = None
    composite_high: float | None = None
    tied: bool = False
    state: str | None = Field(default=None, description="null in rankings saved before states")
    gated: bool


class HistoryItem(BaseModel):
    evaluation_id: int
    workload: str
    evaluated_at: datetime
    leader: str | None
    ranking: list[HistoryEntry]


class Rescored(BaseModel):
    workloads: list[str]
    evaluated_at: dict[str, datetime | None]


class EndpointOut(BaseModel):
    provider: str
    api: str
    model: str
    base_url: str = Field(description="without user:password@ or query parameters other "
                          "than api-version")
    api_key_env: str | None = Field(description="the variable holding the key (its name, "
                                    "never its value)")
    api_key_from_file: bool


class RoutedOut(BaseModel):
    candidate: str
    position: int = Field(description="1 = tried first")
    rank: int
    tied: bool = Field(description="statistically tied with the entry ranked just above it")
    state: Literal["serving", "degraded", "unknown"] = Field(
        description="unknown only in a monitor outage (docs/routing.md)")
    endpoint: EndpointOut | None = Field(description="null when no longer in the config")


class ExcludedOut(BaseModel):
    candidate: str
    reason: str


class RoutingOut(BaseModel):
    """`?format=json`: the candidates that may serve the workload now, in order."""

    workload: str
    version: str = Field(description="changes exactly when the order or a tie mark does")
    evaluation_id: int | None
    evaluated_at: datetime
    candidates: list[RoutedOut]
    excluded: list[ExcludedOut]


class OpenRouterProviderOut(BaseModel):
    order: list[str] = Field(description="OpenRouter provider slugs")
    allow_fallbacks: bool


class SkippedOut(BaseModel):
    candidate: str
    why: str


class OpenRouterRoutingOut(BaseModel):
    """`?format=openrouter`: `provider` goes into the chat request's body."""

    workload: str
    version: str
    provider: OpenRouterProviderOut
    not_on_openrouter: list[SkippedOut]


class PriceOut(BaseModel):
    candidate: str
    source: str
    effective_at: datetime
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    batch_input_per_mtok: float | None = None
    batch_output_per_mtok: float | None = None
    audio_input_per_mtok: float | None = None
    audio_output_per_mtok: float | None = None
    tiers: list[dict[str, Any]] = []

    @classmethod
    def of(cls, candidate: str, price: Price) -> PriceOut:
        """The one conversion from the price value type: its figures go across by name."""
        return cls(candidate=candidate, source=price.source,
                   effective_at=price.effective_at or datetime.fromtimestamp(0, UTC),
                   **price.figures())


class WindowOut(BaseModel):
    ok: int
    failed: int
    throttled: int
    config_errors: int
    availability: float | None
    error_budget_remaining: float | None
    burn_rate: float | None


class SlaRowOut(BaseModel):
    candidate: str
    provider: str
    committed: float | None
    windows: dict[str, WindowOut]


class OutageOut(BaseModel):
    provider: str
    declared_minutes: float
    observed_minutes: int
    undeclared_minutes: int
    outages: int
    undeclared_outages: int
    median_detection_lead_seconds: float | None


class SlaTable(BaseModel):
    evaluated_at: datetime
    candidates: list[SlaRowOut]
    outage_window_hours: int
    outages: list[OutageOut]


class SlaStatementOut(BaseModel):
    """A provider's month under its SLA contract; every figure is defined in docs/sla.md."""

    provider: str
    month: str = Field(description="YYYY-MM (UTC)")
    state: Literal["final", "in_progress"]
    computed_at: datetime
    terms: dict[str, Any] = Field(description="the contract terms it was computed under")
    intervals: dict[str, int] = Field(description="month, elapsed, excluded, covered, down, "
                                      "uncovered")
    down_minutes: float
    uncovered_minutes: float
    coverage: float | None = Field(description="covered / elapsed eligible intervals")
    availability: float | None = Field(description="1 - down / covered")
    availability_lowest: float | None
    availability_highest: float | None
    verdict: Literal["due", "none", "undetermined"]
    credit_share: float | None = Field(description="null unless the verdict is determined")
    credit_range: list[float] | None
    reason: str
    spend_usd: float | None
    spend_basis: str
    credit_usd: float | None
    budget: dict[str, Any]
    data: str = Field(description="what the statement was computed from")


class IncidentOut(BaseModel):
    id: int
    provider: str
    external_id: str
    title: str
    status: str
    impact: str | None
    components: list[str]
    started_at: datetime
    resolved_at: datetime | None
    is_maintenance: bool


class EventOut(BaseModel):
    id: int
    type: str
    severity: str
    created_at: datetime
    status: str
    payload: dict[str, Any]


class CandidateRank(BaseModel):
    workload: str
    evaluated_at: datetime
    rank: int | None
    composite: float | None
    composite_low: float | None
    composite_high: float | None
    tied: bool
    state: str
    state_reason: str
    partial: bool
    missing: list[str]
    gated: bool
    gate_reasons: list[str]
    top_choice: bool


class CandidateOut(BaseModel):
    id: str
    provider: str
    api: str
    model: str
    enabled: bool
    probes: dict[str, float] = Field(description="probe kind -> seconds between probes")
    committed_sla: float | None
    price: PriceOut | None


class VoiceOut(BaseModel):
    """The latest successful voice probe (docs/architecture.md, Voice): seconds from the
    user's turn leaving."""

    started_at: datetime
    first_audio_seconds: float | None
    first_speech_seconds: float | None
    first_transcript_seconds: float | None
    realtime_factor: float | None
    playback_stall_seconds: float | None
    total_seconds: float | None
    audio_input_tokens: int | None
    audio_output_tokens: int | None


class CandidateDetail(CandidateOut):
    open_incidents: int
    last_probe: dict[str, datetime]
    voice: VoiceOut | None = Field(
        default=None, description="the latest successful voice probe, for candidates with one")
    sla: SlaRowOut | None
    rankings: list[CandidateRank]
