"""The composition root: builds the daemon from settings and runs it until told to stop.

Start-up order: open and migrate the store, mirror the config into it, bind the HTTP port
(a port in use fails before anything runs), start the writer, the scheduler and the server.
Stop order: no new probes; wait for in-flight probes; write every buffered result; stop
the server. A stop therefore never leaves half-written results behind.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from sqlmodel import Session

from service import __version__
from service.alerts.jobs import AlertJobs
from service.alerts.metrics import AlertMetrics
from service.api.auth import api_token_from
from service.app import create_app
from service.cluster import Cluster, ClusterMetrics, default_replica_id
from service.config import Settings
from service.discovery.run import Discoverer
from service.metrics import new_registry
from service.probing.budget import ProbeBudget
from service.probing.clients import ProbeClients
from service.probing.looplag import loop_lag_histogram, monitor_loop_lag
from service.probing.metrics import ProbeMetrics
from service.probing.pipeline import ProbePipeline, build_targets
from service.probing.watched import EVERY as WATCHED_EVERY
from service.probing.watched import WatchedRefresh
from service.rankings.evidence import latest_prices
from service.rankings.job import ScoringJob
from service.rankings.metrics import RankingMetrics, StoreCollector, latest_rankings_reader
from service.retention import EVERY as RETENTION_EVERY
from service.retention import RetentionJob
from service.retention import wanted as retention_wanted
from service.scheduler import PeriodicJob, Scheduler
from service.sla.metrics import OperationsCollector, operations_reader
from service.sla.statements import REFRESH_EVERY as SLA_STATEMENTS_EVERY
from service.sla.statements import StatementJob
from service.store.db import make_engine, ping
from service.store.metrics import StoreMetrics
from service.store.migrate import is_up_to_date, upgrade
from service.store.rollup import apply_rollups
from service.store.sync import sync_candidates
from service.store.writer import ResultWriter
from service.telemetry import TelemetryError, configured_telemetry
from service.watch import Watch

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 35.0  # longer than the default probe timeout: let probes finish


class StartupError(RuntimeError):
    """The daemon cannot start; the message says why and what to do."""


class _Server(uvicorn.Server):
    # The daemon owns SIGTERM/SIGINT; uvicorn must not take them over.
    def capture_signals(self) -> Any:
        return nullcontext()


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    def __init__(self, settings: Settings, *, environ: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self._transport = transport
        self.engine = make_engine(settings.database)
        self.registry = new_registry(__version__)
        self.store_metrics = StoreMetrics(self.registry)
        self.ranking_metrics = RankingMetrics(self.registry, list(settings.workloads))
        committed = {pid: p.sla.availability for pid, p in settings.providers.items()
                     if p.sla is not None}
        self.registry.register(StoreCollector(latest_rankings_reader(self.engine), committed))
        # Status pages and price lists; their polls use the daemon's HTTP client.
        self.watch = Watch(settings, self.engine, self.registry, lambda: self._http,
                           self._environ)
        self.registry.register(OperationsCollector(operations_reader(self.engine, settings)))
        self.loop_lag = loop_lag_histogram(self.registry)
        self.alerts = AlertJobs(settings, self.engine, AlertMetrics(self.registry),
                                self._environ, lambda: self._http)
        self.writer = ResultWriter(self.engine, in_transaction=apply_rollups)
        # Read when scraped, so they are right after a flush too, not only after an add.
        self.store_metrics.writer_buffered.set_function(lambda: self.writer.buffered)
        self.store_metrics.writer_dropped.set_function(lambda: self.writer.dropped)
        self.store_metrics.writer_buffer_limit.set(self.writer.max_buffered)
        self.cluster = Cluster(self.engine, settings.cluster.replica_id or default_replica_id(),
                               settings.region, settings.cluster.lease_ttl,
                               ClusterMetrics(self.registry))
        self.scoring = ScoringJob(self.engine, settings, self.ranking_metrics)
        self.sla_statements = StatementJob(settings, self.engine)  # monthly SLA statements
        self.retention = RetentionJob(self.engine, settings.retention, self.store_metrics,
                                      self.ranking_metrics)
        # OpenTelemetry export, when the config asks for it: each result the pipeline writes
        # is recorded too (service/telemetry/).
        try:
            self.telemetry = configured_telemetry(
                settings, self._environ, latest_rankings_reader(self.engine), self.registry,
                self.cluster.replica_id)
        except TelemetryError as exc:
            raise StartupError(str(exc)) from None
        write = self.telemetry.recording(self.writer.add) if self.telemetry else self.writer.add
        targets, self.skipped = build_targets(settings, self._environ)
        probe_metrics = ProbeMetrics(self.registry)
        # The probes' own, sharded pools with their reading process (made in run(); a test
        # may drive the pipeline with the daemon's one client instead).
        self.probe_clients: ProbeClients | None = None
        probe_metrics.reader_exits.set_function(
            lambda: self.probe_clients.reading.exits if self.probe_clients else 0)
        self.probing = ProbePipeline(
            settings, targets, probe_metrics, ProbeBudget(settings.probe_budget, probe_metrics),
            write, self.cluster.owns, self._client_for)
        self.scheduler = Scheduler(self.probing.run, interval_of=self.probing.interval)
        # GET /api/v1/providers/{p}/models: the daemon's keys, its HTTP client.
        self.discoverer = Discoverer(settings, self._environ, lambda: self._http)
        self._http: httpx.AsyncClient | None = None
        self._server: _Server | None = None
        self.started = asyncio.Event()

    def _client_for(self, candidate: str) -> httpx.AsyncClient:
        client = self.probe_clients.for_key(candidate) if self.probe_clients else self._http
        assert client is not None, "probes run once run() has made the clients"
        return client

    # --- start-up -------------------------------------------------------------------------

    def prepare_store(self) -> None:
        url = self.settings.database
        if self.engine.dialect.name == "sqlite":
            upgrade(url)  # an embedded database upgrades itself
        elif not is_up_to_date(url):
            raise StartupError("the database schema is not up to date: "
                               "run `factorwatch db upgrade` first")
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            sync_candidates(session, self.settings.candidates, now)
            self.watch.prepare(session, now)  # price history seeds, static and negotiated
        with Session(self.engine) as session:
            self.probing.prices = latest_prices(session, list(self.settings.candidates), now)
        self.probing.budget.seed(self.engine)  # today's spend survives a restart

    def bind(self) -> socket.socket:
        host, port = parse_listen(self.settings.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise StartupError(f"listen: cannot bind {host}:{port}: {exc.strerror}") from exc
        sock.listen(128)
        sock.setblocking(False)
        return sock

    def periodic_jobs(self) -> list[PeriodicJob]:
        """The cluster heartbeat on every replica; every other job on the lease holder only."""
        heartbeat = PeriodicJob("cluster", self.settings.cluster.lease_ttl / 3,
                                self._cluster_tick, first_delay=0)
        return [heartbeat, *self._adaptive_jobs(),
                *(replace(job, run=self._on_lease_holder(job.run))
                  for job in self._lease_holder_jobs())]

    def _adaptive_jobs(self) -> list[PeriodicJob]:
        """Adaptive probing's watch list (open incidents, flips), on every replica that has
        an adaptive probe: every replica probes."""
        if not self.probing.pacer.has_probes:
            return []
        providers = {cid: self.settings.candidates[cid].provider for cid in self.probing.targets}
        refresh = WatchedRefresh(self.engine, self.probing.pacer, providers)
        return [PeriodicJob("adaptive-watch", WATCHED_EVERY, refresh.run, first_delay=0)]

    def _lease_holder_jobs(self) -> list[PeriodicJob]:
        retention = ([PeriodicJob("retention", RETENTION_EVERY, self.retention.run)]
                     if retention_wanted(self.settings.retention) else [])
        statements = ([PeriodicJob("sla_statements", SLA_STATEMENTS_EVERY,
                                   self.sla_statements.run, first_delay=30.0)]
                      if self.sla_statements.wanted else [])
        return [PeriodicJob("scoring", self.settings.scoring.every, self.scoring.run),
                *self.alerts.jobs(),
                *self.watch.jobs(),
                *statements,
                *retention]

    # --- run ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.prepare_store)
        sock = self.bind()
        if self.telemetry is not None:
            self.telemetry.start()
        for reason in self.skipped:
            log.warning("candidate not probed: %s", reason)
        if not self.probing.targets:
            log.warning("no candidate can be probed: set an API key (e.g. OPENAI_API_KEY) or "
                        "try `factorwatch demo`")
        self._http = httpx.AsyncClient(transport=self._transport, follow_redirects=False)
        self.probe_clients = ProbeClients(transport=self._transport)
        writer_task = asyncio.create_task(self.writer.run(), name="result-writer")
        app = create_app(version=__version__, engine=self.engine, registry=self.registry,
                         readiness=self.readiness,
                         workloads=lambda: sorted(self.settings.workloads),
                         settings=self.settings, rescore=self._rescore,
                         api_token=api_token_from(self._environ),
                         discover=self.discoverer)
        self._server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                              access_log=False))
        server_task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http")
        await self._cluster_tick()  # know the replicas before the first probe is due
        await self.probe_clients.warm_up()  # its reading process reads before the 1st probe
        self.scheduler.start(self.probing.plans(), self.periodic_jobs())
        host, port = sock.getsockname()[:2]
        log.info("factorwatch %s serving on http://%s:%d (%d candidates probed, %d workloads)",
                 __version__, host, port, len(self.probing.targets), len(self.settings.workloads))
        lag_task = asyncio.create_task(monitor_loop_lag(self.loop_lag,
                                                        window=self.probing.lag_window),
                                       name="loop-lag")
        # Everything made at start-up lives as long as the process: out of the collector's
        # sight, a full collection (which holds the GIL and the loop with it) has less to
        # walk: 54 ms instead of 90 ms at the median with 1,000 candidates.
        gc.collect()
        gc.freeze()
        self.started.set()
        try:
            await stop.wait()
        finally:
            lag_task.cancel()
            await self._shutdown(writer_task, server_task)
            gc.unfreeze()  # collectable again (a process that runs more than one daemon)

    async def _shutdown(self, writer_task: asyncio.Task[None],
                        server_task: asyncio.Task[None]) -> None:
        log.info("stopping: waiting for in-flight probes")
        cancelled = await self.scheduler.stop(STOP_GRACE_SECONDS)
        await asyncio.to_thread(self.cluster.stop)
        if cancelled:
            log.warning("%d probes did not finish within %gs and were abandoned unrecorded",
                        cancelled, STOP_GRACE_SECONDS)
        await self.writer.close()
        await writer_task
        if self._server is not None:
            self._server.should_exit = True
        await server_task
        if self._http is not None:
            await self._http.aclose()
        if self.probe_clients is not None:
            await self.probe_clients.aclose()
        if self.telemetry is not None:  # every result is recorded: export them, and the scores
            await asyncio.to_thread(self.telemetry.shutdown)
        self.engine.dispose()
        log.info("stopped cleanly")

    # --- jobs -----------------------------------------------------------------------------

    async def _cluster_tick(self) -> None:
        await asyncio.to_thread(self.cluster.tick)

    def _on_lease_holder(self, job: Callable[[], Awaitable[None]]
                         ) -> Callable[[], Awaitable[None]]:
        async def run_if_lease_holder() -> None:
            if self.cluster.is_leader:
                await job()
        run_if_lease_holder.__name__ = getattr(job, "__name__", "job")
        return run_if_lease_holder

    async def _rescore(self) -> bool:
        """POST /api/v1/rescore: only the lease holder scores (two scorers would race the
        top-choice state); False tells the caller to ask the lease holder."""
        if not self.cluster.is_leader:
            return False
        await self.scoring.run()
        return True

    # --- read side ------------------------------------------------------------------------

    def readiness(self) -> dict[str, bool]:
        return {"database": ping(self.engine), "scheduler": self.scheduler.running}
