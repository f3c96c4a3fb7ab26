"""Alert silences: list them, add one, end one. Changes need the bearer token.

A silence is stored, so every replica's sender honours it; events created inside it that
match are recorded as silenced and never sent (docs/alerts.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlmodel import select

from service.alerts.silences import add_silence, end_silence
from service.api.auth import require_token
from service.api.deps import Ctx, Cursor, Db, Limit
from service.api.schemas import Page
from service.sinks.events import EVENT_TYPES
from service.store.models import AlertSilence
from service.store.queries import newest_first

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                  Field(max_length=100)]
TOKEN: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong token"},
    403: {"description": "no token configured on the daemon"}}


class SilenceIn(BaseModel):
    """Matchers (each empty list matches everything) and when; at least one matcher."""

    types: Names = []
    workloads: Names = []
    providers: Names = []
    candidates: Names = []
    starts_at: AwareDatetime | None = Field(None, description="default: now")
    ends_at: AwareDatetime
    comment: str = Field("", max_length=500)

    @model_validator(mode="after")
    def _some_matcher(self) -> SilenceIn:
        if not (self.types or self.workloads or self.providers or self.candidates):
            raise ValueError("name at least one of types, workloads, providers, candidates: "
                             "a silence of everything is better done by removing the sinks")
        return self


class SilenceOut(BaseModel):
    id: int
    types: list[str]
    workloads: list[str]
    providers: list[str]
    candidates: list[str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_at: datetime
    active: bool


def _out(row: AlertSilence, now: datetime) -> SilenceOut:
    assert row.id is not None
    m = row.matchers or {}
    return SilenceOut(id=row.id, types=m.get("types", []), workloads=m.get("workloads", []),
                      providers=m.get("providers", []), candidates=m.get("candidates", []),
                      starts_at=row.starts_at, ends_at=row.ends_at, comment=row.comment,
                      created_at=row.created_at, active=row.starts_at <= now < row.ends_at)


def _check_names(ctx: Ctx, body: SilenceIn) -> None:
    known = {"types": set(EVENT_TYPES), "workloads": set(ctx.settings.workloads),
             "providers": set(ctx.settings.providers),
             "candidates": set(ctx.settings.candidates)}
    for field, names in known.items():
        unknown = sorted(set(getattr(body, field)) - names)
        if unknown:
            raise HTTPException(422, f"{field}: unknown {', '.join(map(repr, unknown))}")


@router.get("/silences", summary="Silences that have not ended, newest first (all=true: "
            "every one)")
def list_silences(db: Db, limit: Limit = 50, cursor: Cursor = None,
                  all: Annotated[bool, Query(description="include ended ones")] = False
                  ) -> Page[SilenceOut]:
    now = datetime.now(UTC)
    stmt = select(AlertSilence)
    if not all:
        stmt = stmt.where(AlertSilence.ends_at > now)
    page = newest_first(db, stmt, AlertSilence.created_at, AlertSilence.id, limit, cursor)
    return Page[SilenceOut](items=[_out(r, now) for r in page.items],
                            next_cursor=page.next_cursor)


@router.post("/silences", status_code=201, dependencies=[Depends(require_token)],
             summary="Add a silence (needs the bearer token)",
             responses={**TOKEN, 422: {"description": "unknown name or bad times"}})
def create_silence(ctx: Ctx, db: Db, body: SilenceIn) -> SilenceOut:
    _check_names(ctx, body)
    now = datetime.now(UTC)
    starts = body.starts_at or now
    if body.ends_at <= starts or body.ends_at <= now:
        raise HTTPException(422, "ends_at must be in the future and after starts_at")
    row = add_silence(db, {"types": body.types, "workloads": body.workloads,
                           "providers": body.providers, "candidates": body.candidates},
                      starts.astimezone(UTC), body.ends_at.astimezone(UTC), body.comment, now)
    db.commit()
    db.refresh(row)
    return _out(row, now)


@router.delete("/silences/{silence_id}", dependencies=[Depends(require_token)],
               summary="End a silence now (it stays listed with all=true)",
               responses={**TOKEN, 404: {"description": "no such silence"}})
def delete_silence(db: Db, silence_id: int) -> SilenceOut:
    now = datetime.now(UTC)
    row = end_silence(db, silence_id, now)
    if row is None:
        raise HTTPException(404, f"no silence {silence_id}")
    db.commit()
    db.refresh(row)
    return _out(row, now)
