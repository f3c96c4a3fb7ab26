"""The HTTP side on one port: health, /metrics, the JSON API (/api/v1) and the overview page.

One router per resource; this module only assembles them. Every list is `{items,
next_cursor}` (schemas.Page): the ones that grow are paginated with `limit` and an opaque
`cursor` (the previous page's `next_cursor`), newest first; the ones the config fixes come
whole. Endpoints that change state need `Authorization: Bearer $FACTORWATCH_API_TOKEN`
(service/api/auth.py). /docs (Swagger UI) loads its JS and CSS from this port (the
fastapi-offline package ships them), so it renders on a network without a CDN. No /redoc:
ReDoc always loads its logo from its CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from service.api import (
    alerts,
    candidates,
    events,
    health,
    honesty,
    incidents,
    prices,
    providers,
    routing,
    sla,
)
from service.api import workloads as workload_routes
from service.api.deps import ApiContext
from service.config import Settings
from service.discovery.report import Discovery
from service.store.queries import CursorError
from service.web import overview

DESCRIPTION = """Live, evidence-based ranking of LLM providers per workload.

Every list returns `{items, next_cursor}`. Lists that grow (events, incidents, price
history, ranking history, silences) come newest first a page at a time: pass `next_cursor`
back as `cursor` for the next page (`limit` sets the page size, at most 500). Lists the
config fixes (workloads, candidates, prices) come whole, sorted by name, with `next_cursor`
null. Endpoints that change state need
`Authorization: Bearer <token>` with the token the daemon was given in
`FACTORWATCH_API_TOKEN`; without one configured they are refused."""


def create_app(*, version: str, engine: Engine, registry: CollectorRegistry,
               readiness: Callable[[], dict[str, bool]], settings: Settings,
               workloads: Callable[[], list[str]] | None = None,
               rescore: Callable[[], Awaitable[bool]] | None = None,
               api_token: str | None = None,
               discover: Callable[[str, bool], Awaitable[Discovery]] | None = None) -> FastAPI:
    app = FastAPIOffline(title="factorwatch", version=version, description=DESCRIPTION,
                         static_url="/docs/assets", redoc_url=None)
    app.state.ctx = ApiContext(
        version=version, engine=engine, registry=registry, settings=settings,
        readiness=readiness, rescore=rescore, discover=discover,
        workloads=workloads or (lambda: sorted(settings.workloads)))
    app.state.api_token = api_token
    for module in (health, workload_routes, routing, candidates, sla, honesty, incidents, prices,
                   events, alerts, providers, overview):
        app.include_router(module.router)

    @app.exception_handler(CursorError)
    async def bad_cursor(request: Request, exc: CursorError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app
