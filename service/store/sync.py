"""Mirror the configured candidates into the store at start-up (prices: service/watch)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from service.config import Settings
from service.store.models import Candidate


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
