"""Every few minutes: declared vs observed outages per provider, and the undeclared ones.

Figures cover the last 24 hours (factorwatch_outage_seconds); an outage that nobody declared
within the grace period saves one `outage_undeclared` event (service/outages/store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.outages.judge import OutageSummary
from service.outages.metrics import OutageMetrics
from service.outages.store import outage_check, record_undeclared
from service.store.types import utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)


class OutageWatch:
    def __init__(self, providers: Mapping[str, str], engine: Engine, metrics: OutageMetrics,
                 clock: Callable[[], datetime] = utcnow, quorum: int = 1) -> None:
        self.providers = dict(providers)  # candidate -> provider
        self.quorum = quorum  # regions that must agree (service/outages/regions.py)
        self._engine = engine
        self._metrics = metrics
        self._clock = clock

    async def run(self) -> None:
        now = self._clock()
        summaries, added = await asyncio.to_thread(self.check, now)
        for provider, s in summaries.items():
            for measure, value in (("declared", s.declared_minutes),
                                   ("observed", s.observed_minutes),
                                   ("undeclared", s.undeclared_minutes)):
                self._metrics.outage_seconds.labels(provider, measure).set(value * 60)
            lead = s.median_lead_seconds
            if lead is not None:
                self._metrics.detection_lead.labels(provider).set(lead)
            else:  # no declared outage in the window: no figure, rather than an old one
                with contextlib.suppress(KeyError):
                    self._metrics.detection_lead.remove(provider)
        if added:
            log.warning("%d outages observed that the providers have not declared", added)

    def check(self, now: datetime) -> tuple[dict[str, OutageSummary], int]:
        with Session(self._engine) as session, session.begin():
            summaries, regions = outage_check(session, self.providers, now - WINDOW, now,
                                              self.quorum)
            return summaries, record_undeclared(session, summaries, now, regions=regions)
