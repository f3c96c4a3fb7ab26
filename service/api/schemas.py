"""Response shapes of the JSON API: what /openapi.json documents and clients rely on.

The ranking document itself (docs/architecture.md) stays a plain object: its factor evidence differs
per factor and is documented in docs/scoring.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass `next_cursor` back as `cursor` for the next."""

    items: list[T]
    next_cursor: str | None = Field(description="null on the last page")


class WorkloadList(BaseModel):
    workloads: list[str]


class HistoryEntry(BaseModel):
    candidate: str
    rank: int | None
    composite: float | None
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
    tiers: list[dict[str, Any]] = []


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


class CandidateDetail(CandidateOut):
    open_incidents: int
    last_probe: dict[str, datetime]
    sla: SlaRowOut | None
    rankings: list[CandidateRank]
