"""Routing: the candidates that may serve a workload now, in rank order, for a gateway
(LiteLLM, OpenRouter) or as plain JSON, with an ETag so polling costs a 304 (docs/routing.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response

from service.api.deps import Ctx, Db, known_workload
from service.api.schemas import OpenRouterRoutingOut, RoutingOut
from service.rankings.routing import etag, etag_matches, render
from service.rankings.routing_store import latest_routing

router = APIRouter(prefix="/api/v1", tags=["workloads"])

Format = Literal["litellm", "openrouter", "json"]

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The routing document in the asked format. `ETag` identifies it.",
          "model": RoutingOut | OpenRouterRoutingOut,
          "content": {"application/yaml": {"schema": {
              "type": "string", "description": "a LiteLLM proxy config fragment"}}}},
    304: {"description": "`If-None-Match` names the current ETag: nothing changed"},
    404: {"description": "unknown workload, or not scored yet"},
}


@router.get("/workloads/{workload}/routing",
            summary="The candidates that may serve a workload now, in rank order "
                    "(as `factorwatch route`)",
            description="Built from the latest saved ranking (the one `/ranking` serves): "
                        "candidates not gated, ranked, and serving or degraded, in rank order, "
                        "ties marked. `format=litellm`: a LiteLLM proxy config fragment "
                        "(YAML); `openrouter`: a request's `provider` object; `json` "
                        "(default): the plain document, with its version and the evaluation "
                        "it came from. Send the last `ETag` as `If-None-Match` to get a 304 "
                        "while it is unchanged. Keys appear only as variable names.",
            response_class=Response, responses=RESPONSES)
def workload_routing(
        ctx: Ctx, db: Db, workload: str,
        format_: Annotated[Format, Query(alias="format", description="litellm, openrouter "
                                         "or json")] = "json",
        if_none_match: Annotated[str | None, Header(max_length=2000)] = None) -> Response:
    known_workload(ctx, workload)
    routing = latest_routing(db, workload)
    if routing is None:
        raise HTTPException(404, f"workload {workload!r} has not been scored yet")
    body, media_type = render(routing, ctx.settings.candidates, format_)
    tag = etag(body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)

