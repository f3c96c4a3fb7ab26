"""The one conversion between a Price and its table row (service/store/models.py PricePoint).

The row has a column for every figure of the Price, by the same name (tests/test_price_value.py
checks it), so a new figure needs no change here.
"""

from __future__ import annotations

from datetime import datetime

from probes.pricing.model import Price
from service.store.models import PricePoint


def as_row(candidate_id: str, price: Price, effective_at: datetime) -> PricePoint:
    return PricePoint(candidate_id=candidate_id, source=price.source, effective_at=effective_at,
                      **price.figures())


def as_price(row: PricePoint) -> Price:
    return Price.from_figures(row.model_dump(), row.source, row.effective_at)
