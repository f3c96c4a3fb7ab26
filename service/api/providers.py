"""Providers' model lists: what the daemon's keys can call, priced, as candidate config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from service.api.deps import Ctx
from service.api.schemas import Page
from service.discovery.access import DiscoverError
from service.discovery.report import model_json

router = APIRouter(prefix="/api/v1", tags=["providers"])

# What the config must fix answers 4xx; what the provider answered, 5xx.
_STATUS = {"unknown_provider": 404, "config": 422, "no_key": 409, "auth": 502,
           "timeout": 504, "upstream": 502}


class DiscoveredModelOut(BaseModel):
    model: str = Field(description="the id the provider's API expects")
    name: str | None = Field(description="the provider's display name, where it gives one")
    chat: bool | None = Field(description="answers chat requests; null when nothing says")
    candidate: str | None = Field(description="the configured candidate that is this model")
    candidate_id: str | None = Field(description="the id `config` is for, when no candidate is")
    price: dict[str, Any] | None = Field(description="USD per million tokens, by figure")
    price_source: str | None
    price_key: str | None
    priced_from: str | None = Field(description="the price list's URL, or the bundled map")
    deprecation_date: str | None = Field(description="from the bundled LiteLLM map")
    successor: str | None
    config: dict[str, Any] | None = Field(description="`candidates.<candidate_id>` config")


@router.get("/providers/{provider}/models",
            summary="The models the daemon's key for the provider can call, priced, with the "
            "candidate config of each that is no candidate yet (the whole list, one page; "
            "read again at most once a minute)")
async def provider_models(
        ctx: Ctx, provider: Annotated[str, Path(max_length=100)],
        everything: Annotated[bool, Query(alias="all", description="also models that do not "
                                          "answer chat")] = False,
) -> Page[DiscoveredModelOut]:
    if ctx.discover is None:
        raise HTTPException(404, "model discovery is not part of this app")
    try:
        found = await ctx.discover(provider, everything)
    except DiscoverError as exc:
        raise HTTPException(_STATUS.get(exc.kind, 502), str(exc)) from None
    return Page[DiscoveredModelOut](
        items=[DiscoveredModelOut(**model_json(m)) for m in found.models], next_cursor=None)
