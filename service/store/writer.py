"""Batched, non-blocking writes of probe results.

Probes call `add()` on the event loop that takes their timestamps; it only appends to a
buffer. `run()` (a background task) writes the buffer every `flush_interval` seconds, or as
soon as `batch_size` rows wait, each batch in one transaction in a worker thread. While the
database is unreachable the rows stay buffered and are retried at every interval, up to
`max_buffered` rows (plus, briefly, one batch being written); past that the oldest are
dropped (counted in `dropped`).

A batch holding a row the database refuses for good (a constraint or data error) is written
row by row instead, so one bad row costs only itself (counted in `rejected`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from service.store.models import ProbeResultRow

log = logging.getLogger(__name__)

FlushCallback = Callable[[list[ProbeResultRow]], None]
# Runs inside each batch's transaction, so what it writes commits with the rows or not at all.
TransactionHook = Callable[[Connection, Sequence[ProbeResultRow]], None]


@dataclass
class _Outcome:
    """What one batch write did: rows committed, rows to retry, rows refused for good."""

    written: list[ProbeResultRow] = field(default_factory=list)
    retry: list[ProbeResultRow] = field(default_factory=list)
    rejected: int = 0
    error: BaseException | None = None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _is_permanent(exc: BaseException) -> bool:
    """True when retrying the same row can never succeed."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    # A StatementError that is not a DBAPIError failed before reaching the database,
    # e.g. a naive datetime refused by UTCDateTime.
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


class ResultWriter:
    """Buffers ProbeResultRows and writes them in batches; see the module doc.

    `add()` must be called from the event loop thread; the rows' `id` is left to the database.
    """

    def __init__(self, engine: Engine, *, flush_interval: float = 1.0, batch_size: int = 200,
                 max_buffered: int = 100_000, on_flush: FlushCallback | None = None,
                 in_transaction: TransactionHook | None = None) -> None:
        if batch_size < 1 or max_buffered < batch_size:
            raise ValueError("need 1 <= batch_size <= max_buffered")
        self._engine = engine
        self._table: Table = ProbeResultRow.__table__  # type: ignore[attr-defined]
        self._columns = [c.key for c in self._table.columns if c.key != "id"]
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self._on_flush = on_flush
        self._in_transaction = in_transaction
        self._queue: deque[ProbeResultRow] = deque()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = False
        self._close_requested = asyncio.Event()
        self._running = False
        self._stopped = asyncio.Event()
        self._lock = asyncio.Lock()
        self._failing = False
        self._dropping = False
        self.dropped = 0  # rows discarded because the buffer was full
        self.rejected = 0  # rows the database refused for good
        self.written = 0  # rows committed
        self.failures = 0  # batch writes that failed and will be retried
        self.last_error: str | None = None

    @property
    def buffered(self) -> int:
        """Rows accepted but not yet committed (including the batch being written)."""
        return len(self._queue) + self._inflight

    def add(self, row: ProbeResultRow) -> None:
        if self._closed:  # a probe finishing after shutdown: nothing will write it
            self.dropped += 1
            log.warning("probe result added after the writer closed; dropped",
                        extra={"candidate_id": row.candidate_id, "kind": row.kind})
            return
        self._queue.append(row)
        # Rows of a batch in flight are older than any queued row; if that write fails they
        # come back to the front and the bound is applied to them then (_note_failure).
        overflow = len(self._queue) - self.max_buffered
        if overflow > 0:
            self._drop_oldest(overflow)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def _drop_oldest(self, count: int) -> None:
        count = min(count, len(self._queue))
        for _ in range(count):
            self._queue.popleft()
        self.dropped += count
        if not self._dropping:  # once per episode, not once per row
            self._dropping = True
            log.warning("result buffer full: dropping the oldest probe results",
                        extra={"max_buffered": self.max_buffered, "last_error": self.last_error})

    async def run(self) -> None:
        """Flush until `close()`; run it as a background task."""
        self._running = True
        try:
            while not self._closing:
                # While the database fails, retry once per interval, not at every add().
                event = self._close_requested if self._failing else self._wake
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=self.flush_interval)
                self._wake.clear()
                if not self._closing:
                    await self.flush()
        finally:
            self._running = False
            self._stopped.set()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop `run()` and write everything still buffered, retrying for up to `timeout` s."""
        self._closing = True
        self._close_requested.set()
        self._wake.set()
        if self._running:
            await self._stopped.wait()
        deadline = time.monotonic() + timeout
        try:
            while self.buffered and not await self.flush():
                if time.monotonic() >= deadline:
                    log.error("closing with probe results unwritten",
                              extra={"unwritten": self.buffered, "last_error": self.last_error})
                    return
                await asyncio.sleep(min(self.flush_interval, deadline - time.monotonic()))
        finally:
            self._closed = True

    async def flush(self) -> bool:
        """Write all buffered rows, batch by batch; False if the database failed."""
        async with self._lock:
            while self._queue:
                batch = [self._queue.popleft()
                         for _ in range(min(self.batch_size, len(self._queue)))]
                self._inflight = len(batch)
                task = asyncio.ensure_future(asyncio.to_thread(self._write, batch))
                try:
                    outcome = await asyncio.shield(task)
                except asyncio.CancelledError:
                    # Let the batch in flight finish so its rows are neither lost nor doubled.
                    self._apply(await task)
                    raise
                if not self._apply(outcome):
                    return False
            return True

    def _apply(self, outcome: _Outcome) -> bool:
        """Account for one batch's outcome (on the loop thread); False if rows must wait."""
        self._inflight = 0
        self.rejected += outcome.rejected
        if outcome.written:
            self._note_success(outcome.written)
        if outcome.retry:
            self._queue.extendleft(reversed(outcome.retry))  # retried first, next time
            self._note_failure(outcome.error)
            return False
        return True

    def _note_failure(self, exc: BaseException | None) -> None:
        self.failures += 1
        self.last_error = _describe(exc)
        if not self._failing:
            self._failing = True
            log.warning("writing probe results failed; keeping them to retry",
                        extra={"buffered": self.buffered, "error": self.last_error})
        overflow = self.buffered - self.max_buffered
        if overflow > 0:
            self._drop_oldest(overflow)

    def _note_success(self, written: list[ProbeResultRow]) -> None:
        self.written += len(written)
        if self._failing:
            self._failing = False
            log.info("writing probe results recovered", extra={"buffered": self.buffered})
        if self._dropping and self.buffered < self.max_buffered:
            self._dropping = False
        if self._on_flush is not None and written:
            try:
                self._on_flush(written)
            except Exception:
                log.exception("on_flush callback failed")

    # --- worker thread -------------------------------------------------------------------

    def _values(self, row: ProbeResultRow) -> dict[str, Any]:
        return {key: getattr(row, key) for key in self._columns}

    def _insert(self, rows: Sequence[ProbeResultRow]) -> None:
        with self._engine.begin() as conn:  # one transaction: all rows or none
            conn.execute(insert(self._table), [self._values(r) for r in rows])
            if self._in_transaction is not None:
                self._in_transaction(conn, rows)

    def _write(self, batch: list[ProbeResultRow]) -> _Outcome:
        """Insert the batch in one transaction; never raises."""
        try:
            self._insert(batch)
            return _Outcome(written=batch)
        except Exception as exc:
            if not _is_permanent(exc):
                return _Outcome(retry=batch, error=exc)
        return self._write_one_by_one(batch)

    def _write_one_by_one(self, batch: list[ProbeResultRow]) -> _Outcome:
        outcome = _Outcome()
        for i, row in enumerate(batch):
            try:
                self._insert([row])
            except Exception as exc:
                if not _is_permanent(exc):
                    outcome.retry, outcome.error = batch[i:], exc
                    return outcome
                outcome.rejected += 1
                log.error("probe result refused by the database; dropped",
                          extra={"candidate_id": row.candidate_id, "kind": row.kind,
                                 "error": _describe(exc)})
                continue
            outcome.written.append(row)
        return outcome
