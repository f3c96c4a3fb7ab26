"""Mirror the configured candidates and their static prices into the store at start-up."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from service.config import Settings
from service.store.models import Candidate, PricePoint

log = logging.getLogger(__name__)


def sync_candidates(session: Session, settings: Settings, now: datetime) -> None:
    """Upsert every configured candidate; candidates no longer configured are disabled."""
    existing = {c.id: c for c in session.exec(select(Candidate)).all()}
    for cid, cand in settings.candidates.items():
        row = existing.pop(cid, None) or Candidate(id=cid, provider=cand.provider, api=cand.api,
                                                   base_url=cand.base_url, model=cand.model)
        row.provider, row.api, row.base_url, row.model = (cand.provider, cand.api,
                                                          cand.base_url, cand.model)
        row.enabled, row.updated_at = cand.enabled, now
        session.add(row)
    for row in existing.values():
        if row.enabled:
            row.enabled, row.updated_at = False, now
            session.add(row)


def sync_static_prices(session: Session, settings: Settings, now: datetime) -> int:
    """Record a price point for each static price that differs from the last one stored.

    Returns how many price points were added. History is kept: an old price is never
    overwritten, a new point takes effect from `now`.
    """
    added = 0
    for cid, cand in sorted(settings.candidates.items()):
        price = cand.price
        if price is None or price.source != "static":
            continue
        if price.input_per_mtok is None or price.output_per_mtok is None:
            continue
        last = session.exec(
            select(PricePoint).where(PricePoint.candidate_id == cid)
            .order_by(col(PricePoint.effective_at).desc(), col(PricePoint.id).desc()).limit(1)
        ).first()
        figures = (price.input_per_mtok, price.output_per_mtok, price.cached_input_per_mtok)
        if last and (last.input_per_mtok, last.output_per_mtok,
                     last.cached_input_per_mtok) == figures:
            continue
        session.add(PricePoint(candidate_id=cid, source="static", effective_at=now,
                               input_per_mtok=figures[0], output_per_mtok=figures[1],
                               cached_input_per_mtok=figures[2]))
        added += 1
    if added:
        log.info("recorded %d new static price points", added)
    return added
