"""The HTTP side on one port: health, readiness, /metrics and the JSON API.

Handlers are thin: they read what the store holds and return it. Reads run in a worker
thread so a slow database never stalls the event loop that times the probes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.store.rankings import latest_ranking


def create_app(*, version: str, engine: Engine, registry: CollectorRegistry,
               readiness: Callable[[], dict[str, bool]], workloads: Callable[[], list[str]]
               ) -> FastAPI:
    app = FastAPI(title="factorwatch", version=version,
                  description="Live, evidence-based ranking of LLM providers per workload.")

    @app.get("/healthz", summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The database answers and the scheduler runs")
    def readyz(response: Response) -> dict[str, Any]:
        checks = readiness()
        ready = all(checks.values())
        response.status_code = 200 if ready else 503
        return {"ready": ready, "checks": checks}

    @app.get("/metrics", summary="Prometheus exposition", response_class=Response)
    async def metrics() -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(content=body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/workloads", summary="Configured workloads")
    def list_workloads() -> dict[str, list[str]]:
        return {"workloads": workloads()}

    @app.get("/api/v1/workloads/{workload}/ranking",
             summary="The latest ranking of a workload (as `factorwatch score --json`)")
    def workload_ranking(workload: str) -> dict[str, Any]:
        if workload not in workloads():
            raise HTTPException(404, f"unknown workload {workload!r}")
        with Session(engine) as session:
            doc = latest_ranking(session, workload)
        if doc is None:
            raise HTTPException(404, f"workload {workload!r} has not been scored yet")
        return doc

    return app
