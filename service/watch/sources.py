"""What every status-page and price-list poll shares: fetch, read, store, and account for it.

A poll never raises: every failure (no answer, an error status, a body too large, a body
that is not the format, a store that refuses it) is logged, counted in
factorwatch_source_polls_total{result} and leaves the previous state as it was. Validators
are only kept after the body was read and stored, so a failure is retried in full.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import httpx

from probes.fetch import FetchError, Validators, fetch
from service.store.types import utcnow
from service.watch.metrics import SourceMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")
ClientGetter = Callable[[], httpx.AsyncClient | None]




class SourcePoller(ABC, Generic[T]):
    """One source: `read(body)` turns a body into T (pure), `store(T, now)` saves it."""

    kind = "source"  # status | pricing
    max_bytes = 16 * 1024 * 1024
    timeout = 20.0

    def __init__(self, url: str, client: ClientGetter, metrics: SourceMetrics,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.url = url
        self._client = client
        self.metrics = metrics
        self._clock = clock
        self.validators = Validators()
        self.started = clock()
        self.last_success: datetime | None = None
        self.failure: str | None = None  # what is wrong now, None while healthy

    @abstractmethod
    def read(self, body: bytes) -> T: ...

    @abstractmethod
    def store(self, result: T, now: datetime) -> None: ...

    def on_failure(self, now: datetime) -> None:
        """Called after each failed poll (status sources check staleness here)."""

    async def poll(self) -> None:
        now = self._clock()
        client = self._client()
        if client is None:
            return  # the daemon is not running yet (or any more)
        try:
            fetched = await fetch(client, self.url, self.validators, timeout=self.timeout,
                                  max_bytes=self.max_bytes)
        except FetchError as exc:
            return await self._failed(exc.kind, str(exc), now)
        if fetched.body is None:
            return self._succeeded("not_modified", now)
        try:
            result = await asyncio.to_thread(self.read, fetched.body)
        except ValueError as exc:  # ParseError: the source is not (or no longer) the format
            return await self._failed("parse_error", str(exc), now)
        try:
            await asyncio.to_thread(self.store, result, now)
        except Exception as exc:
            log.exception("%s source %s: storing what it said failed", self.kind, self.url)
            return await self._failed("store_error", type(exc).__name__, now)
        self.validators = fetched.validators
        self._succeeded("ok", now)

    def _labels(self) -> tuple[str, str]:
        return self.kind, self.url

    def _succeeded(self, result: str, now: datetime) -> None:
        self.metrics.polls.labels(*self._labels(), result).inc()
        self.metrics.up.labels(*self._labels()).set(1)
        self.metrics.last_success.labels(*self._labels()).set(now.timestamp())
        if self.failure is not None:
            log.info("%s source %s answers again", self.kind, self.url)
        self.last_success, self.failure = now, None

    async def _failed(self, result: str, reason: str, now: datetime) -> None:
        self.metrics.polls.labels(*self._labels(), result).inc()
        self.metrics.up.labels(*self._labels()).set(0)
        message = f"{result}: {reason}"
        # Once per change of reason, not at every poll of a source that stays down.
        level = logging.WARNING if message != self.failure else logging.DEBUG
        log.log(level, "%s source %s failed: %s", self.kind, self.url, message,
                extra={"source": self.url, "result": result})
        self.failure = message
        try:
            await asyncio.to_thread(self.on_failure, now)
        except Exception:
            log.exception("%s source %s: handling the failure failed", self.kind, self.url)

    def rejected(self, count: int) -> None:
        if count:
            self.metrics.rejected.labels(*self._labels()).inc(count)
