"""Prices: what each candidate costs now, and every recorded change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from service.api.deps import Ctx, Cursor, Db, Limit
from service.api.schemas import Page, PriceOut
from service.prices.queries import latest_prices
from service.prices.rows import as_price
from service.store.models import PricePoint
from service.store.queries import newest_first

router = APIRouter(prefix="/api/v1", tags=["prices"])


@router.get("/prices", summary="The current price of every candidate (USD per million "
            "tokens; the whole list, one page)")
def current_prices(ctx: Ctx, db: Db) -> Page[PriceOut]:
    prices = latest_prices(db, sorted(ctx.settings.candidates), datetime.now(UTC))
    return Page[PriceOut](items=[PriceOut.of(cid, p) for cid, p in sorted(prices.items())],
                          next_cursor=None)


@router.get("/prices/history", summary="Recorded price points, newest first (a point is "
            "recorded when a price changes or first becomes known)")
def price_history(db: Db, limit: Limit = 50, cursor: Cursor = None,
                  candidate: Annotated[str | None, Query(max_length=200)] = None
                  ) -> Page[PriceOut]:
    stmt = select(PricePoint)
    if candidate is not None:
        stmt = stmt.where(PricePoint.candidate_id == candidate)
    page = newest_first(db, stmt, PricePoint.effective_at, PricePoint.id, limit, cursor)
    return Page[PriceOut](items=[PriceOut.of(r.candidate_id, as_price(r)) for r in page.items],
                          next_cursor=page.next_cursor)
