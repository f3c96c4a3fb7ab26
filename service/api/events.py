"""Events: every change of state factorwatch saved (top choice changed, incident opened,
price changed, outage undeclared, ...), newest first, with its delivery status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from service.api.deps import Cursor, Db, Limit
from service.api.schemas import EventOut, Page
from service.store.models import Event
from service.store.queries import newest_first

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events", summary="Saved events, newest first")
def list_events(db: Db, limit: Limit = 50, cursor: Cursor = None,
                type: Annotated[str | None, Query(max_length=60, description="e.g. "
                                                  "top_choice_changed")] = None
                ) -> Page[EventOut]:
    stmt = select(Event)
    if type is not None:
        stmt = stmt.where(Event.type == type)
    page = newest_first(db, stmt, Event.created_at, Event.id, limit, cursor)
    return Page[EventOut](items=[EventOut.model_validate(e, from_attributes=True)
                                 for e in page.items], next_cursor=page.next_cursor)
