"""Which candidates adaptive probing watches: their provider has an open declared incident,
or a top-choice change hangs on them (the incumbent or the challenger of a workload whose
challenger is working its way up). Read from the store on every replica, since every
replica probes; the pacer keeps the interval of their probes at most their `every`
(service/probing/adaptive.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.incidents.queries import open_incident_counts
from service.probing.adaptive import AdaptivePacer
from service.store.models import TopChoice

EVERY = 30.0  # seconds between reads: a new incident or flip is followed within this


def watched_candidates(session: Session, providers: Mapping[str, str]) -> frozenset[str]:
    """Candidates (of `providers`: candidate -> provider) watched now."""
    open_incidents = open_incident_counts(session)
    watched = {cid for cid, provider in providers.items() if open_incidents.get(provider)}
    for incumbent, challenger in session.exec(
            select(TopChoice.candidate, TopChoice.challenger)
            .where(col(TopChoice.challenger).is_not(None))):
        watched.update(c for c in (incumbent, challenger) if c is not None and c in providers)
    return frozenset(watched)


class WatchedRefresh:
    """The periodic job that keeps `pacer.watched` current."""

    def __init__(self, engine: Engine, pacer: AdaptivePacer, providers: Mapping[str, str]
                 ) -> None:
        self._engine = engine
        self._pacer = pacer
        self._providers = dict(providers)

    async def run(self) -> None:
        self._pacer.watched = await asyncio.to_thread(self._read)

    def _read(self) -> frozenset[str]:
        with Session(self._engine) as session:
            return watched_candidates(session, self._providers)
