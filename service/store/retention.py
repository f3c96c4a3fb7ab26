"""Retention of raw probe results: delete the rows older than `retention.probe_results`.

Hourly rollups, incidents, prices and events are kept: they are small, and the rollups are
what long windows are summed from once the raw rows are gone. Saved rankings are thinned in
the same job (service/rankings/retention.py).

- The cutoff is a whole UTC hour (`cutoff_for`), so an hour's raw rows go together and
  every window still finds whole hours in the rollups and raw rows at its edges.
- A row is deleted only when its rollup accounts for it: per rollup key (candidate, kind,
  region, context size, hour), the rollup's outcome count must be at least the raw rows
  still stored there. The writer
  adds rollups in the same transaction as the rows (rollup.apply_rollups), so this holds for
  every row it wrote; rows written some other way without a rollup are kept and reported.
- Deletes go by id, `batch_size` at a time, each batch its own short transaction: SQLite's
  write lock and PostgreSQL's transactions stay short. A run stops after `max_seconds` (less
  than the daemon's stop grace) and the next run carries on.
- Rows are found through the (candidate_id, kind, started_at) index: the candidates and
  kinds present are listed by seeking through it, one query each, never a table scan.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, null, select
from sqlalchemy.engine import Connection, Engine

from service.store.models import ProbeResultRow, ProbeRollup
from service.store.rollup import HOUR, context_tokens, floor_hour

log = logging.getLogger(__name__)

DEFAULT_BATCH = 2000  # rows per delete transaction
DEFAULT_MAX_SECONDS = 30.0  # per run; the daemon waits 35 s for jobs in flight when stopping

_RESULTS: Table = ProbeResultRow.__table__  # type: ignore[attr-defined]
_ROLLUPS: Table = ProbeRollup.__table__  # type: ignore[attr-defined]
BucketKey = tuple[str, int, datetime]  # (region, context_tokens, hour): a rollup's key


def cutoff_for(now: datetime, retention_seconds: float) -> datetime:
    """Rows started before this are due: the whole hour at or before now - retention."""
    return floor_hour(now - timedelta(seconds=retention_seconds))


@dataclass
class PruneReport:
    cutoff: datetime
    deleted: int = 0
    batches: int = 0
    kept: int = 0  # rows past the cutoff kept because no rollup accounts for them
    kept_buckets: list[str] = field(default_factory=list)  # a few of them, for the log
    finished: bool = True  # False: stopped at max_seconds with rows left to look at
    seconds: float = 0.0


def prune_probe_results(engine: Engine, cutoff: datetime, *, batch_size: int = DEFAULT_BATCH,
                        max_seconds: float = DEFAULT_MAX_SECONDS,
                        on_batch: Callable[[int], None] | None = None,
                        clock: Callable[[], float] = time.monotonic) -> PruneReport:
    """Delete the probe results started before `cutoff` (a whole hour) that their rollups
    account for. Blocking: run it in a worker thread. `on_batch` gets each batch's count."""
    if cutoff != floor_hour(cutoff):
        raise ValueError(f"the cutoff must be a whole hour, got {cutoff.isoformat()}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = clock()
    pruner = _Pruner(engine, PruneReport(cutoff), batch_size, started + max_seconds,
                     on_batch, clock)
    try:
        for candidate, kind in _pairs(engine):
            if not pruner.prune_pair(candidate, kind):
                pruner.report.finished = False
                break
    finally:
        pruner.report.seconds = clock() - started
    return pruner.report


def _pairs(engine: Engine) -> list[tuple[str, str]]:
    """Every (candidate_id, kind) with stored results, by seeking through the index."""
    t = _RESULTS
    out: list[tuple[str, str]] = []
    with engine.connect() as conn:
        for candidate in _seek(conn, t.c.candidate_id, []):
            out += [(candidate, kind)
                    for kind in _seek(conn, t.c.kind, [t.c.candidate_id == candidate])]
    return out


def _seek(conn: Connection, column: Any, where: list[Any]) -> Iterator[str]:
    """The distinct values of `column` in order, one indexed ORDER BY ... LIMIT 1 each."""
    value = None
    while True:
        after: list[Any] = [column > value] if value is not None else []
        value = conn.execute(select(column).where(*where, *after).order_by(column)
                             .limit(1)).scalar()
        if value is None:
            return
        yield value


class _Pruner:
    def __init__(self, engine: Engine, report: PruneReport, batch_size: int, deadline: float,
                 on_batch: Callable[[int], None] | None, clock: Callable[[], float]) -> None:
        self.engine, self.report, self.batch_size = engine, report, batch_size
        self.deadline, self.on_batch, self.clock = deadline, on_batch, clock

    def prune_pair(self, candidate: str, kind: str) -> bool:
        """Prune one candidate and kind; False when the time ran out first."""
        t, cutoff = _RESULTS, self.report.cutoff
        pair = [t.c.candidate_id == candidate, t.c.kind == kind]
        with self.engine.connect() as conn:
            oldest = conn.execute(select(t.c.started_at).where(*pair, t.c.started_at < cutoff)
                                  .order_by(t.c.started_at).limit(1)).scalar()
        start = floor_hour(oldest) if oldest is not None else cutoff
        while start < cutoff:
            if self.clock() >= self.deadline:
                return False
            with self.engine.connect() as conn:
                rows, end = self._whole_hours(conn, pair, kind, start)
                covered = _covered(conn, candidate, kind, rows, start, end)
            due = [r.id for r in rows if _bucket(r) in covered]
            self._note_kept(candidate, kind, rows, covered)
            for i in range(0, len(due), self.batch_size):
                if self.clock() >= self.deadline:
                    return False
                self._delete(due[i:i + self.batch_size])
            start = end
        return True

    def _whole_hours(self, conn: Connection, pair: list[Any], kind: str, start: datetime
                     ) -> tuple[Sequence[Any], datetime]:
        """Up to a batch of rows from `start` on, cut at an hour boundary so that every hour
        they touch is complete; and where the next batch starts."""
        t, cutoff = _RESULTS, self.report.cutoff
        # kind and extra: what rollup.context_tokens reads (extra matters for long_context)
        extra = t.c.extra if kind == "long_context" else null().label("extra")
        columns = (t.c.id, t.c.kind, t.c.region, t.c.started_at, extra)
        rows = conn.execute(select(*columns).where(*pair, t.c.started_at >= start,
                                                   t.c.started_at < cutoff)
                            .order_by(t.c.started_at).limit(self.batch_size + 1)).all()
        if len(rows) <= self.batch_size:
            return rows, cutoff
        last = floor_hour(rows[-1].started_at)  # this hour may go on past the batch
        whole = [r for r in rows if r.started_at < last]
        if whole:
            return whole, last
        # One hour holds more than a batch: take that hour whole (deleted in several batches).
        rows = conn.execute(select(*columns).where(*pair, t.c.started_at >= last,
                                                   t.c.started_at < last + HOUR)).all()
        return rows, last + HOUR

    def _delete(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            deleted = conn.execute(delete(_RESULTS).where(_RESULTS.c.id.in_(ids))).rowcount
        self.report.deleted += deleted
        self.report.batches += 1
        if self.on_batch is not None:
            self.on_batch(deleted)

    def _note_kept(self, candidate: str, kind: str, rows: Sequence[Any],
                   covered: set[BucketKey]) -> None:
        kept = Counter(_bucket(r) for r in rows if _bucket(r) not in covered)
        self.report.kept += sum(kept.values())
        for region, size, hour in sorted(kept)[:max(0, 5 - len(self.report.kept_buckets))]:
            self.report.kept_buckets.append(
                f"{candidate} {kind} {region}{f' {size} tokens' if size else ''} "
                f"{hour.isoformat()}")


def _bucket(row: Any) -> BucketKey:
    return row.region, context_tokens(row), floor_hour(row.started_at)


def _covered(conn: Connection, candidate: str, kind: str, rows: Sequence[Any],
             start: datetime, end: datetime) -> set[BucketKey]:
    """The rollup keys of `rows` whose rollup counts at least as many outcomes as there are
    raw rows (`rows` holds every raw row of the hours it touches)."""
    raw = Counter(_bucket(row) for row in rows)
    if not raw:
        return set()
    r = _ROLLUPS
    outcomes = r.c.ok + r.c.failed + r.c.throttled + r.c.config_errors
    # Every primary-key column constrained: an index range per region and size.
    found = conn.execute(select(r.c.region, r.c.context_tokens, r.c.bucket_start, outcomes)
                         .where(r.c.candidate_id == candidate, r.c.kind == kind,
                                r.c.region.in_(sorted({k[0] for k in raw})),
                                r.c.context_tokens.in_(sorted({k[1] for k in raw})),
                                r.c.bucket_start >= start, r.c.bucket_start < end))
    rolled = {(region, size, bucket): int(total or 0) for region, size, bucket, total in found}
    return {key for key, count in raw.items() if rolled.get(key, 0) >= count}


def run_retention(engine: Engine, retention_seconds: float, now: datetime, *,
                  on_batch: Callable[[int], None] | None = None,
                  batch_size: int = DEFAULT_BATCH,
                  max_seconds: float = DEFAULT_MAX_SECONDS) -> PruneReport:
    """One run of the daemon's retention job: prune, then say what it did in one line."""
    report = prune_probe_results(engine, cutoff_for(now, retention_seconds),
                                 batch_size=batch_size, max_seconds=max_seconds,
                                 on_batch=on_batch)
    fields = {"deleted": report.deleted, "batches": report.batches, "kept": report.kept,
              "cutoff": report.cutoff.isoformat(), "finished": report.finished,
              "seconds": round(report.seconds, 2)}
    # INFO when the run did something (about once an hour once caught up), else DEBUG.
    level = logging.INFO if report.deleted or report.kept or not report.finished else logging.DEBUG
    log.log(level, "retention: deleted %d probe results started before %s in %d batches "
            "(%.1fs)%s", report.deleted, report.cutoff.isoformat(), report.batches,
            report.seconds, "" if report.finished else "; more to delete at the next run",
            extra=fields)
    if report.kept:
        log.warning("retention: kept %d probe results past the cutoff that no hourly rollup "
                    "accounts for (e.g. %s)", report.kept, "; ".join(report.kept_buckets),
                    extra=fields)
    return report
