"""Mirror the configured candidates into the store at start-up (prices: service/watch).

Every replica does this at start-up, deciding what to insert from what it reads, so it
first takes the candidates' lock (service/store/locks.py) for the rest of its transaction:
replicas starting together on a fresh database take turns, and the second updates the rows
the first inserted instead of inserting them again (an IntegrityError that stopped it).
Candidates are the only configured entities the store keeps rows of: providers and
workloads live in the config alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from service.store.locks import CANDIDATES_KEY, lock_until_commit
from service.store.models import Candidate


class Mirrored(Protocol):
    """What the store keeps of a configured candidate (config.CandidateConfig has it)."""

    provider: str
    api: str
    base_url: str
    model: str
    enabled: bool


def sync_candidates(session: Session, candidates: Mapping[str, Mirrored], now: datetime
                    ) -> None:
    """Upsert every configured candidate; candidates no longer configured are disabled."""
    lock_until_commit(session, CANDIDATES_KEY, Candidate.__table__)  # type: ignore[attr-defined]
    existing = {c.id: c for c in session.exec(select(Candidate)).all()}
    for cid, cand in candidates.items():
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
