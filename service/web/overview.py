"""The overview page at `/`: what an operator wants on one screen, server-rendered.

Per workload the ranking with its top reasons and gates; the SLA table; open incidents;
recent top-choice changes and price changes; status-page honesty (the hourly job's saved
figures). Plain HTML and CSS, no script, no build step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from service.api.deps import ApiContext, Ctx, Db
from service.api.sla import cached_outages
from service.outages.judge import OutageSummary
from service.rankings.saved import latest_rankings
from service.rankings.top_choice import EVENT_TYPE as TOP_CHOICE_CHANGED
from service.sla.figures import SlaRow, sla_rows
from service.sla.statements import stored_statements
from service.store.honesty import latest_honesty
from service.store.models import Event, Incident, PricePoint, ProviderHonestyRow
from service.web.render import render_overview

router = APIRouter(tags=["overview"])

RECENT = 10
OUTAGE_HOURS = 24


@dataclass(frozen=True)
class Overview:
    version: str
    generated_at: datetime
    rankings: list[dict[str, Any]]
    descriptions: dict[str, str]
    sla: list[SlaRow]
    outages: dict[str, OutageSummary]
    open_incidents: list[Incident]
    top_choice_changes: list[Event]
    price_changes: list[tuple[PricePoint, PricePoint | None]]  # (new, the one it replaced)
    # Saved monthly statements under SLA contracts, the two newest months (docs/sla.md).
    sla_statements: list[dict[str, Any]] = field(default_factory=list)
    # Per provider, the hourly honesty job's latest 30-day figures.
    honesty: dict[str, ProviderHonestyRow] = field(default_factory=dict)


def price_changes(session: Session, limit: int = RECENT
                  ) -> list[tuple[PricePoint, PricePoint | None]]:
    newest = session.exec(select(PricePoint).order_by(col(PricePoint.effective_at).desc(),
                                                      col(PricePoint.id).desc())
                          .limit(limit)).all()
    out = []
    for point in newest:
        before = session.exec(
            select(PricePoint).where(PricePoint.candidate_id == point.candidate_id,
                                     PricePoint.effective_at < point.effective_at)
            .order_by(col(PricePoint.effective_at).desc()).limit(1)).first()
        out.append((point, before))
    return out


def gather_overview(session: Session, ctx: ApiContext, now: datetime) -> Overview:
    settings = ctx.settings
    return Overview(
        version=ctx.version, generated_at=now, rankings=latest_rankings(session),
        descriptions={n: w.description for n, w in settings.workloads.items()},
        sla=sla_rows(session, settings, now),
        outages=cached_outages(ctx, session, OUTAGE_HOURS, now),
        open_incidents=list(session.exec(
            select(Incident).where(col(Incident.resolved_at).is_(None))
            .order_by(col(Incident.started_at).desc())).all()),
        top_choice_changes=list(session.exec(
            select(Event).where(Event.type == TOP_CHOICE_CHANGED)
            .order_by(col(Event.created_at).desc(), col(Event.id).desc()).limit(RECENT)).all()),
        price_changes=price_changes(session),
        sla_statements=recent_statements(session),
        honesty=latest_honesty(session, now))


def recent_statements(session: Session, months: int = 2) -> list[dict[str, Any]]:
    docs = stored_statements(session)
    newest = sorted({d["month"] for d in docs}, reverse=True)[:months]
    return [d for d in docs if d["month"] in newest]


@router.get("/", response_class=HTMLResponse, summary="The overview page (HTML)")
def overview_page(ctx: Ctx, db: Db) -> HTMLResponse:
    return HTMLResponse(render_overview(gather_overview(db, ctx, datetime.now(UTC))))
