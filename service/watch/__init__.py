"""The outside sources the probes cannot see: status pages and price lists, and the outage
comparison between what providers declare and what the probes observe.

Watch is built by the daemon (the composition root) from the settings; it owns its pollers
and hands the scheduler one periodic job per source, plus the outage check and the read of
the providers' model lists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.fetch import is_http
from probes.pricing import READERS as PRICE_READERS
from service.config import Settings
from service.outages.honesty_job import HonestyWatch
from service.outages.job import OutageWatch
from service.outages.metrics import HonestyMetrics, OutageMetrics
from service.scheduler import PeriodicJob
from service.watch.metrics import SourceMetrics
from service.watch.model_lists import ModelListWatch
from service.watch.pricing import NEGOTIATED, PriceBook, PricePoller
from service.watch.sources import ClientGetter
from service.watch.status import StatusPoller

OUTAGE_CHECK_EVERY = 300.0  # seconds
OUTAGE_FIRST_DELAY = 60.0  # seconds after start-up, or the scoring interval if shorter
HONESTY_CHECK_EVERY = 3600.0  # seconds: 30-day figures (service/outages/honesty_job.py)


class Watch:
    def __init__(self, settings: Settings, engine: Engine, registry: CollectorRegistry,
                 client: ClientGetter, environ: Mapping[str, str] | None = None) -> None:
        self.metrics = SourceMetrics(registry)
        self.status = [
            (source.every, StatusPoller(pid, source.url, fmt=source.format,
                                        components=source.components,
                                        stale_after=source.stale_after, engine=engine,
                                        client=client, metrics=self.metrics))
            for pid, provider in sorted(settings.providers.items())
            for source in provider.status]
        self.book = PriceBook(settings.candidates, engine, self.metrics,
                              [source.format for source in settings.pricing.sources])
        self.pricing = [(source.every, PricePoller(source.format, source.url, self.book, client,
                                                   self.metrics))
                        for source in settings.pricing.sources]
        self.outages = OutageWatch({cid: c.provider for cid, c in settings.candidates.items()
                                    if c.enabled}, engine, OutageMetrics(registry),
                                   quorum=settings.scoring.states.quorum)
        self.honesty = HonestyWatch(self.outages.providers, engine, HonestyMetrics(registry),
                                    quorum=settings.scoring.states.quorum)
        self.model_lists = (ModelListWatch(settings, engine, client, environ or {})
                            if settings.model_lists.enabled else None)
        # A setup that scores every few seconds (the demo) has its outage figures as soon.
        self.outage_first_delay = min(OUTAGE_FIRST_DELAY, settings.scoring.every)

    def prepare(self, session: Session, now: datetime) -> None:
        """At start-up, in the store's transaction: seed the price history, then record the
        configured prices (static ones, and a local negotiated file's overrides)."""
        self.book.seed(session, now)
        for _, poller in self.pricing:
            if poller.format == NEGOTIATED and not is_http(poller.url):
                path = Path(urlsplit(poller.url).path if poller.url.startswith("file://")
                            else poller.url).expanduser()
                # Unreadable: its poll reports why, in the log and the metrics.
                with contextlib.suppress(OSError, ValueError):
                    self.book.lists[NEGOTIATED] = PRICE_READERS[NEGOTIATED](path.read_bytes(),
                                                                            None)
        self.book.apply(session, now)

    def jobs(self) -> list[PeriodicJob]:
        jobs = [PeriodicJob(f"status:{p.provider}:{n}", every, p.poll)
                for n, (every, p) in enumerate(self.status)]
        jobs += [PeriodicJob(f"pricing:{p.format}", every, p.poll,
                             first_delay=1.0 if p.format == NEGOTIATED else 5.0)
                 for every, p in self.pricing]
        if self.model_lists is not None and self.model_lists.access:
            jobs.append(PeriodicJob("model_lists", self.model_lists.every, self.model_lists.run,
                                    first_delay=self.model_lists.first_delay))
        if self.outages.providers:
            jobs.append(PeriodicJob("outages", OUTAGE_CHECK_EVERY, self.outages.run,
                                    first_delay=self.outage_first_delay))
            jobs.append(PeriodicJob("honesty", HONESTY_CHECK_EVERY, self.honesty.run,
                                    first_delay=self.outage_first_delay))
        return jobs
