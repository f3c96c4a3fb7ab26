"""The sender: each pass routes new events, then sends every sink's due messages.

Database steps run in worker threads, one transaction each (service/alerts/outbox.py
says why that is safe to kill anywhere). Sinks are drained concurrently, so one slow
receiver does not hold up the others. Failures are retried with exponential backoff
(at least the receiver's Retry-After) until `alerts.delivery.max_age`; permanent ones
(404, 410, other 4xx but 408/425/429) are marked failed at once. Logs name the sink, never
its URL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.redact import scrub
from service.alerts import outbox
from service.alerts.metrics import AlertMetrics
from service.alerts.routing import SinkRule
from service.alerts.setup import configured_quiet, sink_rule, sink_spec
from service.alerts.silences import as_silence, silences_ending_after
from service.config.alerts import AlertsConfig
from service.sinks.base import REDACT, Message, Sink, SinkError, secrets_of
from service.sinks.registry import build_sink
from service.store.types import utcnow

log = logging.getLogger(__name__)

MESSAGES_PER_PASS = 20  # per sink; the rest waits for the next pass




def default_claimer() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlertSender:
    def __init__(self, engine: Engine, alerts: AlertsConfig, provider_of: Mapping[str, str],
                 environ: Mapping[str, str], metrics: AlertMetrics | None = None,
                 claimer: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.alerts = alerts
        self.provider_of = dict(provider_of)
        self.metrics = metrics
        self.claimer = claimer or default_claimer()
        self.clock = clock
        self.rng = rng or random.Random()
        d = alerts.delivery
        self.max_age = timedelta(seconds=d.max_age)
        self.rules = [sink_rule(cfg) for cfg in alerts.sinks]
        self.sinks: dict[str, Sink] = {}
        for cfg in alerts.sinks:
            sink = build_sink(sink_spec(cfg, alerts, environ))
            REDACT.add(secrets_of(sink.spec))
            try:
                sink.validate()
            except SinkError as err:  # its events are kept until it can send
                log.error("alert sink %s cannot send: %s; its deliveries wait", cfg.id, err)
                continue
            self.sinks[cfg.id] = sink

    async def run_once(self, client: httpx.AsyncClient) -> None:
        """One pass: recover dead claims, route new events, send what is due."""
        await asyncio.to_thread(self._route, self.clock())
        await asyncio.gather(*(self._drain(rule, client) for rule in self.rules
                               if rule.name in self.sinks))
        if self.metrics is not None:
            counts = await asyncio.to_thread(self._pending)
            for rule in self.rules:
                self.metrics.alerts_pending.labels(rule.name).set(counts.get(rule.name, 0))

    def _route(self, now: datetime) -> None:
        with Session(self.engine) as session, session.begin():
            released = outbox.release_stale(
                session, now, timedelta(seconds=self.alerts.delivery.claim_timeout))
        if released:
            log.warning("%d alert deliveries were claimed by a process that stopped answering;"
                        " sending them again with the same idempotency key", released)
        with Session(self.engine) as session, session.begin():
            quiet = configured_quiet(self.alerts) + [
                as_silence(row) for row in silences_ending_after(session, now - self.max_age)]
            counts = outbox.fan_out(session, self.rules, quiet, self.provider_of, self.claimer,
                                    now, self.max_age)
        self._count_outcomes(counts)

    def _pending(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return outbox.pending_counts(session)

    def _claim(self, rule: SinkRule) -> outbox.Claimed | None:
        tally: dict[str, int] = {}
        try:
            with Session(self.engine) as session, session.begin():
                claimed = outbox.claim(session, rule, self.claimer, self.clock(), self.max_age,
                                       self.provider_of, tally)
        except outbox.ClaimLost:
            log.info("alert sink %s: another replica claimed the same deliveries", rule.name)
            return None
        self._count_outcomes({f"{rule.name}:{k}": n for k, n in tally.items() if n})
        return claimed

    async def _drain(self, rule: SinkRule, client: httpx.AsyncClient) -> None:
        for _ in range(MESSAGES_PER_PASS):
            claimed = await asyncio.to_thread(self._claim, rule)
            if claimed is None:
                return
            await self._deliver(self.sinks[rule.name], claimed, client)

    async def _deliver(self, sink: Sink, claimed: outbox.Claimed,
                       client: httpx.AsyncClient) -> None:
        name = sink.spec.name
        status: str
        when: datetime | None
        note: str | None
        try:
            await sink.send(Message(claimed.batch, claimed.events), client)
        except SinkError as err:
            status, when, note = self._after_failure(claimed, err)
        except Exception as exc:  # a bug must not lose the delivery: retry it, say so
            text = scrub(str(exc), secrets_of(sink.spec))[:200]
            status, when, note = self._after_failure(
                claimed, SinkError(f"{type(exc).__name__}: {text}", permanent=False))
        else:
            status, when, note = "sent", None, None
        now = self.clock()
        ours = await asyncio.to_thread(self._record, claimed, status, now, when, note)
        result = {"sent": "ok", "pending": "retry"}.get(status, "failed")
        if self.metrics is not None:
            self.metrics.alerts_sent.labels(name, result).inc()
        extra = {"sink": name, "idempotency_key": claimed.batch,
                 "events": len(claimed.events), "attempt": claimed.attempts + 1}
        if not ours:
            log.warning("alert sink %s: the claim on %s expired before its outcome (%s) was "
                        "saved", name, claimed.batch, result, extra=extra)
        elif status == "sent":
            log.info("alert sink %s: sent %d events", name, len(claimed.events), extra=extra)
        elif status == "pending":
            log.warning("alert sink %s: %s; retrying at %s", name, note,
                        when.isoformat() if when else "once due", extra=extra)
        else:
            log.error("alert sink %s: %s; the message is given up", name, note, extra=extra)

    def _after_failure(self, claimed: outbox.Claimed, err: SinkError
                       ) -> tuple[str, datetime | None, str]:
        if err.permanent:
            return "failed", None, f"permanent failure: {err}"
        d = self.alerts.delivery
        backoff = min(d.retry_initial * 2 ** claimed.attempts, d.retry_max)
        delay = max(backoff * self.rng.uniform(0.8, 1.0), err.retry_after or 0.0)
        when = self.clock() + timedelta(seconds=delay)
        oldest = min(e.created_at for e in claimed.events)
        if when > oldest + self.max_age:
            return "failed", None, f"given up after {claimed.attempts + 1} attempts: {err}"
        return "pending", when, str(err)

    def _record(self, claimed: outbox.Claimed, status: str, now: datetime,
                when: datetime | None, note: str | None) -> bool:
        with Session(self.engine) as session, session.begin():
            return outbox.record(session, claimed, self.claimer, now, status, when, note)

    def _count_outcomes(self, counts: Mapping[str, int]) -> None:
        """`counts`: {"sink:outcome": n}."""
        if self.metrics is None:
            return
        for key, n in counts.items():
            name, outcome = key.split(":", 1)
            self.metrics.alert_deliveries.labels(name, outcome).inc(n)
