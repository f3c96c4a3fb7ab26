"""Status-page honesty per provider: how late outages were declared, how many never were,
incidents with no observed impact, how early or late "resolved" came (docs/alerts.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from service.api.deps import ApiContext, Ctx, Db
from service.api.schemas import Page
from service.outages.honesty import (
    IMPACT_NONE,
    IMPACT_OBSERVED,
    IMPACT_UNKNOWN,
    Honesty,
    by_month,
    quantile,
)
from service.outages.store import honesty_figures
from service.sla.figures import enabled_candidates

router = APIRouter(prefix="/api/v1", tags=["honesty"])

DEFAULT_DAYS = 30
MAX_DAYS = 90
# Thirty days of probes, minute by minute: seconds of work. Declarations come minutes apart,
# so a five-minute-old answer loses nothing.
HONESTY_CACHE_SECONDS = 300.0

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="The window: the last `days` days "
                            "(raw probe results must reach that far: `retention`).")]


class SecondsSummary(BaseModel):
    count: int
    median_seconds: float | None = Field(description="null with no value")
    p90_seconds: float | None = Field(description="linear interpolation between closest ranks")


class LagSummary(SecondsSummary):
    early: int = Field(description="resolutions posted before the probes saw recovery")


class IncidentCounts(BaseModel):
    declared: int = Field(description="declared incidents in the window, maintenance excluded")
    impact_observed: int
    no_impact: int = Field(description="no down minute, probes covering half the span or more")
    unknown: int = Field(description="no down minute, probes covering less than half the span")


class HonestyOut(BaseModel):
    provider: str
    since: datetime
    until: datetime
    outages: int = Field(description="observed outages judged (pending ones left out)")
    undeclared_outages: int
    undeclared_share: float | None = Field(description="null with no observed outage")
    declaration_delay: SecondsSummary = Field(description="declared start - observed start, "
                                              "per declared incident (negative: declared first)")
    resolution_lag: LagSummary = Field(description="declared resolution - observed recovery")
    incidents: IncidentCounts


class DeclarationOut(BaseModel):
    incident: str = Field(description="the incident's external id")
    declared_at: datetime
    resolved_at: datetime | None
    outage_started_at: datetime = Field(description="the first outage assigned to it")
    outage_ended_at: datetime = Field(description="the last outage assigned to it")
    outages: int
    delay_seconds: float
    resolution_lag_seconds: float | None = Field(description="null while either is still open")


class UndeclaredOut(BaseModel):
    started_at: datetime
    ended_at: datetime
    down_minutes: int


class IncidentImpactOut(BaseModel):
    incident: str
    declared_at: datetime
    resolved_at: datetime | None
    impact: str = Field(description="observed | none | unknown")
    covered_share: float = Field(description="share of its minutes in the window with probes")


class ProviderHonestyOut(HonestyOut):
    months: list[HonestyOut] = Field(description="the same figures per calendar month (UTC)")
    declarations: list[DeclarationOut] = Field(description="oldest first: the distribution")
    undeclared: list[UndeclaredOut]
    declared_incidents: list[IncidentImpactOut]


def seconds_summary(values: list[float]) -> SecondsSummary:
    return SecondsSummary(count=len(values), median_seconds=_round(quantile(values, 0.5)),
                          p90_seconds=_round(quantile(values, 0.9)))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def honesty_out(h: Honesty) -> HonestyOut:
    lags = h.resolution_lags
    share = h.undeclared_share
    return HonestyOut(
        provider=h.provider, since=h.since, until=h.until, outages=len(h.outages),
        undeclared_outages=len(h.undeclared),
        undeclared_share=None if share is None else round(share, 4),
        declaration_delay=seconds_summary(h.delays),
        resolution_lag=LagSummary(**seconds_summary(lags).model_dump(),
                                  early=sum(1 for lag in lags if lag < 0)),
        incidents=IncidentCounts(declared=len(h.incidents),
                                 impact_observed=h.impact_count(IMPACT_OBSERVED),
                                 no_impact=h.impact_count(IMPACT_NONE),
                                 unknown=h.impact_count(IMPACT_UNKNOWN)))


def provider_honesty_out(h: Honesty) -> ProviderHonestyOut:
    return ProviderHonestyOut(
        **honesty_out(h).model_dump(), months=[honesty_out(m) for m in by_month(h)],
        declarations=[DeclarationOut(
            incident=d.incident.external_id, declared_at=d.incident.start,
            resolved_at=d.incident.end, outage_started_at=d.outages[0].start,
            outage_ended_at=d.outages[-1].end, outages=len(d.outages),
            delay_seconds=d.delay_seconds, resolution_lag_seconds=d.resolution_lag_seconds)
            for d in h.declarations],
        undeclared=[UndeclaredOut(started_at=e.start, ended_at=e.end, down_minutes=e.minutes)
                    for e in h.undeclared],
        declared_incidents=[IncidentImpactOut(
            incident=i.incident.external_id, declared_at=i.incident.start,
            resolved_at=i.incident.end, impact=i.impact,
            covered_share=round(i.covered_share, 4)) for i in h.incidents])


def cached_honesty(ctx: ApiContext, db: Session, days: int, now: datetime
                   ) -> dict[str, Honesty]:
    """Every provider's honesty over the last `days`, at most five minutes old."""
    return ctx.cached(("honesty", days), HONESTY_CACHE_SECONDS, now, lambda: honesty_figures(
        db, enabled_candidates(ctx.settings), now - timedelta(days=days), now,
        ctx.settings.scoring.states.quorum))


@router.get("/honesty", summary="Status-page honesty of every provider with candidates over "
            "the last `days` (the whole list, sorted by provider; at most 5 minutes old)")
def list_honesty(ctx: Ctx, db: Db, days: Days = DEFAULT_DAYS) -> Page[HonestyOut]:
    figures = cached_honesty(ctx, db, days, datetime.now(UTC))
    return Page[HonestyOut](items=[honesty_out(h) for _, h in sorted(figures.items())],
                            next_cursor=None)


@router.get("/providers/{provider}/honesty",
            summary="One provider's status-page honesty over the last `days`: the figures, "
            "per calendar month, and every declaration, undeclared outage and declared "
            "incident behind them")
def provider_honesty(ctx: Ctx, db: Db, provider: Annotated[str, Path(max_length=100)],
                     days: Days = DEFAULT_DAYS) -> ProviderHonestyOut:
    figures = cached_honesty(ctx, db, days, datetime.now(UTC))
    if provider not in figures:
        raise HTTPException(404, f"no candidate of provider {provider!r} is enabled")
    return provider_honesty_out(figures[provider])
