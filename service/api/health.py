"""/healthz, /readyz and /metrics: what Kubernetes and Prometheus ask."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import Ctx

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the scheduler runs",
            responses={503: {"description": "not ready; `checks` says what fails"}})
def readyz(ctx: Ctx, response: Response) -> dict[str, Any]:
    checks = ctx.readiness()
    ready = all(checks.values())
    response.status_code = 200 if ready else 503
    return {"ready": ready, "checks": checks}


@router.get("/metrics", summary="Prometheus exposition (docs/metrics.md)",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(ctx: Ctx) -> Response:
    body = await run_in_threadpool(generate_latest, ctx.registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
