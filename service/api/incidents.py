"""Incidents providers declared on their status pages, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlmodel import col, select

from service.api.deps import Cursor, Db, Limit
from service.api.schemas import IncidentOut, Page
from service.store.models import Incident
from service.store.queries import newest_first

router = APIRouter(prefix="/api/v1", tags=["incidents"])


@router.get("/incidents", summary="Declared incidents and maintenances, newest first")
def list_incidents(db: Db, limit: Limit = 50, cursor: Cursor = None,
                   provider: Annotated[str | None, Query(max_length=100)] = None,
                   state: Literal["open", "resolved", "all"] = "all",
                   maintenance: bool = True) -> Page[IncidentOut]:
    stmt = select(Incident)
    if provider is not None:
        stmt = stmt.where(Incident.provider == provider)
    if state == "open":
        stmt = stmt.where(col(Incident.resolved_at).is_(None))
    elif state == "resolved":
        stmt = stmt.where(col(Incident.resolved_at).is_not(None))
    if not maintenance:
        stmt = stmt.where(Incident.is_maintenance == False)  # noqa: E712 (SQL expression)
    page = newest_first(db, stmt, Incident.started_at, Incident.id, limit, cursor)
    return Page[IncidentOut](items=[IncidentOut.model_validate(i, from_attributes=True)
                                    for i in page.items], next_cursor=page.next_cursor)
