"""The SLA table: committed vs observed per window, and declared vs observed outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session

from service.api.deps import ApiContext, Ctx, Cursor, Db, Limit
from service.api.schemas import OutageOut, Page, SlaRowOut, SlaStatementOut, SlaTable
from service.outages.judge import OutageSummary
from service.outages.store import outage_summaries
from service.sla.figures import SlaRow, enabled_candidates, sla_rows
from service.sla.statements import stored_statements

router = APIRouter(prefix="/api/v1", tags=["sla"])


def sla_row_out(row: SlaRow) -> dict[str, Any]:
    return {"candidate": row.candidate, "provider": row.provider, "committed": row.committed,
            "windows": {name: {"ok": w.stats.ok, "failed": w.stats.failed,
                               "throttled": w.stats.throttled,
                               "config_errors": w.stats.config_errors,
                               "availability": w.availability,
                               "error_budget_remaining": w.error_budget_remaining,
                               "burn_rate": w.burn_rate}
                        for name, w in row.windows.items()}}


# Outage minutes need every probe of the window, minute by minute: seconds of work at a few
# hundred candidates over 24 hours. The outage check itself runs every 5 minutes, so a
# minute-old answer loses nothing, and a page reload or a poller costs nothing.
OUTAGE_CACHE_SECONDS = 60.0


def cached_outages(ctx: ApiContext, db: Session, hours: int, now: datetime
                   ) -> dict[str, OutageSummary]:
    """Declared vs observed outages over the last `hours`, at most a minute old."""
    return ctx.cached(("outages", hours), OUTAGE_CACHE_SECONDS, now, lambda: outage_summaries(
        db, enabled_candidates(ctx.settings), now - timedelta(hours=hours), now,
        ctx.settings.scoring.states.quorum))


def outage_out(s: OutageSummary) -> OutageOut:
    lead = s.median_lead_seconds
    return OutageOut(provider=s.provider, declared_minutes=round(s.declared_minutes, 1),
                     observed_minutes=s.observed_minutes,
                     undeclared_minutes=s.undeclared_minutes, outages=len(s.verdicts),
                     undeclared_outages=len(s.undeclared),
                     median_detection_lead_seconds=round(lead, 1) if lead is not None else None)


@router.get("/sla", summary="Committed SLA vs observed availability per window (1h, 24h, 7d, "
            "30d) with error budget and burn rate; declared vs observed outage minutes per "
            "provider over the last `outage_hours` (refreshed at most once a minute)")
def sla_table(ctx: Ctx, db: Db,
              outage_hours: Annotated[int, Query(ge=1, le=168)] = 24) -> SlaTable:
    now = datetime.now(UTC)
    rows = sla_rows(db, ctx.settings, now)
    summaries = cached_outages(ctx, db, outage_hours, now)
    return SlaTable(evaluated_at=now, candidates=[SlaRowOut(**sla_row_out(r)) for r in rows],
                    outage_window_hours=outage_hours,
                    outages=[outage_out(s) for s in summaries.values()])


MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


@router.get("/sla/statements", summary="Monthly statements under each provider's SLA contract "
            "(docs/sla.md): availability under the contract's own definition, coverage, "
            "whether a credit is due and its estimate; newest month first")
def sla_statements(db: Db, limit: Limit = 50, cursor: Cursor = None,
                   month: Annotated[str | None, Query(pattern=MONTH_PATTERN,
                                                      description="YYYY-MM")] = None,
                   provider: Annotated[str | None, Query(max_length=100)] = None
                   ) -> Page[SlaStatementOut]:
    docs = stored_statements(db, month, provider)
    if cursor is not None:  # the (month, provider) of the previous page's last item
        docs = [d for d in docs if (d["month"], d["provider"]) < tuple(cursor.split("/", 1))]
    page = docs[:limit]
    more = len(docs) > limit
    return Page[SlaStatementOut](
        items=[SlaStatementOut(**{k: v for k, v in d.items() if k != "days"}) for d in page],
        next_cursor=f"{page[-1]['month']}/{page[-1]['provider']}" if more else None)
