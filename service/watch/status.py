"""Poll one provider's status source into the incident store.

A source that has not answered, or not been readable, for `stale_after` saves one
`status_source_stale` event per episode instead of letting the last answer stand for "all
clear"; the error log and factorwatch_source_up say so too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.status import StatusReport, parse
from service.incidents.sync import sync_report
from service.store.outbox import record_event
from service.watch.metrics import SourceMetrics
from service.watch.sources import ClientGetter, SourcePoller, utcnow

log = logging.getLogger(__name__)


class StatusPoller(SourcePoller[StatusReport]):
    kind = "status"
    max_bytes = 16 * 1024 * 1024  # Google Cloud's incidents.json runs to a few MB

    def __init__(self, provider: str, url: str, *, fmt: str | None, components: list[str],
                 stale_after: float, engine: Engine, client: ClientGetter,
                 metrics: SourceMetrics, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(url, client, metrics, clock)
        self.provider = provider
        self.format = fmt
        self.components = components
        self.stale_after = timedelta(seconds=stale_after)
        self._engine = engine
        self.stale_since: datetime | None = None  # the last success when staleness was told

    def read(self, body: bytes) -> StatusReport:
        return parse(body, self.format)

    def store(self, result: StatusReport, now: datetime) -> None:
        for warning in result.warnings:
            log.warning("status source %s: %s", self.url, warning)
        self.rejected(len(result.warnings))
        with Session(self._engine) as session, session.begin():
            synced = sync_report(session, self.provider, self.url, result, self.components, now)
        self.stale_since = None
        log.debug("status source %s read", self.url,
                  extra={"format": result.format, "incidents": len(result.incidents),
                         "stored": synced.stored, "skipped": synced.skipped,
                         "events": synced.events})

    def on_failure(self, now: datetime) -> None:
        since = self.last_success or self.started
        if now - since < self.stale_after or self.stale_since == since:
            return
        payload = {"provider": self.provider, "source": self.url, "failure": self.failure,
                   "last_success": self.last_success.isoformat() if self.last_success
                   else None, "stale_for_seconds": round((now - since).total_seconds())}
        with Session(self._engine) as session, session.begin():
            record_event(session, "status_source_stale",
                         f"status_source_stale:{self.provider}:{self.url}:{since.isoformat()}",
                         payload, now, severity="warning")
        self.stale_since = since
        log.error("status source %s of %s has not been readable for %s: its last answer no "
                  "longer says anything about the provider", self.url, self.provider,
                  now - since, extra={"source": self.url, "failure": self.failure})
