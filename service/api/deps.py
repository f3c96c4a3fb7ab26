"""What every router is handed: the daemon's parts, as FastAPI dependencies.

Handlers are plain `def`s: FastAPI runs them in a worker thread, so a slow database never
stalls the event loop that times the probes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.discovery.report import Discovery

MAX_LIMIT = 500
T = TypeVar("T")


@dataclass(frozen=True)
class ApiContext:
    version: str
    engine: Engine
    registry: CollectorRegistry
    settings: Settings
    readiness: Callable[[], dict[str, bool]]
    workloads: Callable[[], list[str]]
    rescore: Callable[[], Awaitable[bool]] | None = None  # False: not the leader
    # provider, with non-chat models -> what its key can call (service/discovery/run.py)
    discover: Callable[[str, bool], Awaitable[Discovery]] | None = None
    cache: dict[Any, Any] = field(default_factory=dict)  # slow reads, per app (api/sla.py)

    def cached(self, key: Any, max_age_seconds: float, now: datetime,
               compute: Callable[[], dict[str, T]]) -> dict[str, T]:
        """compute() at most every max_age_seconds per key, for reads that take seconds."""
        hit = self.cache.get(key)
        if hit is not None and (now - hit[0]).total_seconds() < max_age_seconds:
            return dict(hit[1])
        value = compute()
        self.cache[key] = (now, value)
        return value


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def _session(ctx: Annotated[ApiContext, Depends(_context)]) -> Iterator[Session]:
    with Session(ctx.engine) as session:
        yield session


Ctx = Annotated[ApiContext, Depends(_context)]
Db = Annotated[Session, Depends(_session)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the "
                                     "previous page; omit for the first (newest) page.")]


def known_workload(ctx: ApiContext, workload: str) -> str:
    if workload not in ctx.workloads():
        raise HTTPException(404, f"unknown workload {workload!r}")
    return workload


def known_candidate(ctx: ApiContext, candidate: str) -> str:
    if candidate not in ctx.settings.candidates:
        raise HTTPException(404, f"unknown candidate {candidate!r}")
    return candidate
