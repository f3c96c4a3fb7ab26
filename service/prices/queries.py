"""Read stored price points as the Price evidence scoring uses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from probes.pricing.model import Price
from service.prices.rows import as_price
from service.store.models import PricePoint


def price_histories(session: Session, ids: Sequence[str], until: datetime
                    ) -> dict[str, tuple[Price, ...]]:
    """Every candidate's price points that took effect by `until`, oldest first."""
    rows = session.exec(
        select(PricePoint).where(col(PricePoint.candidate_id).in_(ids),
                                 PricePoint.effective_at <= until)
        .order_by(col(PricePoint.candidate_id), col(PricePoint.effective_at), col(PricePoint.id))
    ).all()
    out: dict[str, list[Price]] = defaultdict(list)
    for row in rows:
        out[row.candidate_id].append(as_price(row))
    return {cid: tuple(points) for cid, points in out.items()}


def latest_prices(session: Session, ids: Sequence[str], at: datetime) -> dict[str, Price]:
    return {cid: history[-1] for cid, history in price_histories(session, ids, at).items()}
