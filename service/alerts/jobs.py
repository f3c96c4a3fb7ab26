"""The daemon's alert jobs: watch conditions (SLA burn, error budget, failing probes) and
send the outbox. Built from settings; the daemon adds `jobs()` to its periodic jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.alerts.condition_watch import ConditionWatch, Watched
from service.alerts.conditions import BurnRule
from service.alerts.metrics import AlertMetrics
from service.alerts.sender import AlertSender
from service.config import Settings
from service.scheduler import PeriodicJob

log = logging.getLogger(__name__)


def watched(settings: Settings) -> list[Watched]:
    """Enabled candidates that are probed, with their provider's committed availability."""
    out = []
    for cid, cand in sorted(settings.candidates.items()):
        if not cand.enabled or not cand.probes:
            continue
        sla = settings.providers[cand.provider].sla
        out.append(Watched(cid, cand.provider, sla.availability if sla else None))
    return out


class AlertJobs:
    def __init__(self, settings: Settings, engine: Engine, metrics: AlertMetrics | None,
                 environ: Mapping[str, str],
                 client: Callable[[], httpx.AsyncClient | None]) -> None:
        alerts = settings.alerts
        self.engine = engine
        self.settings = settings
        self._client = client
        provider_of = {cid: c.provider for cid, c in settings.candidates.items()}
        self.sender = AlertSender(engine, alerts, provider_of, environ, metrics)
        c = alerts.conditions
        self.watch = ConditionWatch([BurnRule(r.long, r.short, r.factor, r.severity)
                                     for r in c.burn_rates], c.min_probes, c.probe_failing_after)
        self.watched = watched(settings)

    def jobs(self) -> list[PeriodicJob]:
        alerts = self.settings.alerts
        out = [PeriodicJob("alert_conditions", alerts.conditions.every, self.evaluate)]
        if alerts.sinks:  # without sinks, events stay in the outbox for a sink added later
            out.append(PeriodicJob("alert_sender", alerts.delivery.every, self.send))
        return out

    async def send(self) -> None:
        client = self._client()
        if client is not None:
            await self.sender.run_once(client)

    async def evaluate(self) -> None:
        await asyncio.to_thread(self._evaluate, datetime.now(UTC))

    def _evaluate(self, now: datetime) -> None:
        with Session(self.engine) as session, session.begin():
            changes = self.watch.evaluate(session, self.watched, now)
        for key in changes.opened:
            log.warning("alert condition %s fires", key)
        for key in changes.resolved:
            log.info("alert condition %s cleared", key)
