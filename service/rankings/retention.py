"""Retention of saved rankings: every scoring pass for `retention.rankings_full`, then the
first ranking of each UTC hour per workload until `retention.rankings`, then none.

Whatever their age, these are kept (`protected`):
- the latest ranking of every workload, by id as `latest_ranking` reads it (the ranking
  endpoint, `explain`, the overview page and /metrics read nothing else);
- the ranking a `top_choice_changed` event was saved with: the same workload, evaluated at
  the event's `created_at` (service/rankings/top_choice.py saves both in one transaction);
- the ranking the announced top choice dates from (`top_choice.since`): the pass that
  announced it, or the workload's first.
Nothing else refers to a saved ranking: no foreign key points at `evaluation` but its own
entries' and factor scores'; `score --at` and `explain --at` evaluate the stored evidence
afresh, and the flip streak lives in `top_choice`.

- Cutoffs are whole UTC hours (`ranking_cutoffs`), so an hour is thinned whole, and the
  ranking kept for it never changes from one run to the next.
- Evaluations are read through the `evaluated_at` index, whole hours at a time, oldest
  first; their ids go `batch_size` evaluations per transaction, factor scores and entries
  first (the foreign keys), so SQLite's write lock and PostgreSQL's transactions stay short.
  A run stops after `max_seconds` and the next carries on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection, Engine

from service.rankings.top_choice import EVENT_TYPE
from service.store.models import Evaluation, Event, FactorScoreRow, RankingEntry, TopChoice
from service.store.rollup import HOUR, floor_hour

log = logging.getLogger(__name__)

DEFAULT_BATCH = 20  # evaluations per delete transaction, each with its entries and scores
DEFAULT_MAX_SECONDS = 30.0  # per run, like the probe results' (service/store/retention.py)
READ_ROWS = 5000  # evaluation rows (id, workload, time) read at a time

_EVALUATIONS: Table = Evaluation.__table__  # type: ignore[attr-defined]
_CHILDREN: tuple[Table, ...] = (FactorScoreRow.__table__,  # type: ignore[attr-defined]
                                RankingEntry.__table__)  # type: ignore[attr-defined]
_EVENTS: Table = Event.__table__  # type: ignore[attr-defined]
_TOP_CHOICE: Table = TopChoice.__table__  # type: ignore[attr-defined]

THINNED, EXPIRED = "thinned", "expired"  # why a ranking went: the metric's `reason`


def ranking_cutoffs(now: datetime, full_seconds: float, keep_seconds: float
                    ) -> tuple[datetime | None, datetime | None]:
    """(thin before, delete before): whole hours; None where nothing is thinned or deleted.
    `full_seconds` 0 thins nothing; `keep_seconds` 0 deletes nothing."""
    delete_before = floor_hour(now - timedelta(seconds=keep_seconds)) if keep_seconds else None
    thin_before = (floor_hour(now - timedelta(seconds=full_seconds)) if full_seconds
                   else delete_before)
    return thin_before, delete_before


@dataclass
class RankingPruneReport:
    thin_before: datetime | None
    delete_before: datetime | None
    thinned: int = 0  # rankings deleted for not being the first of their hour
    expired: int = 0  # rankings deleted for being older than delete_before
    protected: int = 0  # rankings past a cutoff kept because something refers to them
    batches: int = 0
    finished: bool = True  # False: stopped at max_seconds with rankings left to look at
    seconds: float = 0.0


def prune_rankings(engine: Engine, thin_before: datetime | None,
                   delete_before: datetime | None, *, batch_size: int = DEFAULT_BATCH,
                   max_seconds: float = DEFAULT_MAX_SECONDS,
                   on_batch: Callable[[str, int], None] | None = None,
                   clock: Callable[[], float] = time.monotonic) -> RankingPruneReport:
    """Thin the rankings evaluated before `thin_before` to the first of each hour per
    workload, delete those evaluated before `delete_before`; keep the protected ones.
    Blocking: run it in a worker thread. `on_batch` gets each batch's reason and count."""
    for cutoff in (thin_before, delete_before):
        if cutoff is not None and cutoff != floor_hour(cutoff):
            raise ValueError(f"a cutoff must be a whole hour, got {cutoff.isoformat()}")
    if thin_before is not None and delete_before is not None and thin_before < delete_before:
        raise ValueError("rankings are thinned before they are deleted: thin_before must not "
                         "be earlier than delete_before")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = clock()
    report = RankingPruneReport(thin_before, delete_before)
    end = thin_before or delete_before
    try:
        if end is not None:
            report.finished = _Thinner(engine, report, end, batch_size, started + max_seconds,
                                       on_batch, clock).run()
    finally:
        report.seconds = clock() - started
    return report


class _Thinner:
    def __init__(self, engine: Engine, report: RankingPruneReport, end: datetime,
                 batch_size: int, deadline: float, on_batch: Callable[[str, int], None] | None,
                 clock: Callable[[], float]) -> None:
        self.engine, self.report, self.end, self.batch_size = engine, report, end, batch_size
        self.deadline, self.on_batch, self.clock = deadline, on_batch, clock

    def run(self) -> bool:
        """Walk the hours before `end`, oldest first; False when the time ran out first."""
        t = _EVALUATIONS
        with self.engine.connect() as conn:
            oldest = conn.execute(select(t.c.evaluated_at).where(t.c.evaluated_at < self.end)
                                  .order_by(t.c.evaluated_at).limit(1)).scalar()
            if oldest is None:
                return True
            latest, referenced = _protected(conn, self.end)
        start = floor_hour(oldest)
        while start < self.end:
            if self.clock() >= self.deadline:
                return False
            with self.engine.connect() as conn:
                rows, start = _whole_hours(conn, start, self.end)
            due = self._due(rows, latest, referenced)
            for reason, ids in due.items():
                for i in range(0, len(ids), self.batch_size):
                    if self.clock() >= self.deadline:
                        return False
                    self._delete(reason, ids[i:i + self.batch_size])
        return True

    def _due(self, rows: Sequence[Any], latest: set[int],
             referenced: set[tuple[str, datetime]]) -> dict[str, list[int]]:
        """The ids of `rows` (whole hours, in time order) that go, by reason."""
        delete_before = self.report.delete_before
        due: dict[str, list[int]] = {EXPIRED: [], THINNED: []}
        first: set[tuple[str, datetime]] = set()  # (workload, hour) whose first is kept
        for row in rows:
            hour = floor_hour(row.evaluated_at)
            if delete_before is not None and row.evaluated_at < delete_before:
                reason: str | None = EXPIRED
            elif (row.workload, hour) not in first:
                first.add((row.workload, hour))
                reason = None
            else:
                reason = THINNED
            if reason is None:
                continue
            if row.id in latest or (row.workload, row.evaluated_at) in referenced:
                self.report.protected += 1
                continue
            due[reason].append(row.id)
        return due

    def _delete(self, reason: str, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for child in _CHILDREN:
                conn.execute(delete(child).where(child.c.evaluation_id.in_(ids)))
            deleted = conn.execute(delete(_EVALUATIONS).where(
                _EVALUATIONS.c.id.in_(ids))).rowcount
        if reason == EXPIRED:
            self.report.expired += deleted
        else:
            self.report.thinned += deleted
        self.report.batches += 1
        if self.on_batch is not None:
            self.on_batch(reason, deleted)


def _whole_hours(conn: Connection, start: datetime, end: datetime
                 ) -> tuple[Sequence[Any], datetime]:
    """Up to READ_ROWS evaluations from `start` on, cut at an hour boundary so that every
    hour they touch is complete; and where the next read starts."""
    t = _EVALUATIONS
    columns = (t.c.id, t.c.workload, t.c.evaluated_at)
    order = (t.c.evaluated_at, t.c.id)
    rows = conn.execute(select(*columns).where(t.c.evaluated_at >= start,
                                               t.c.evaluated_at < end)
                        .order_by(*order).limit(READ_ROWS + 1)).all()
    if len(rows) <= READ_ROWS:
        return rows, end
    last = floor_hour(rows[-1].evaluated_at)  # this hour may go on past the read
    whole = [r for r in rows if r.evaluated_at < last]
    if whole:
        return whole, last
    # One hour holds more than a read: take that hour whole.
    rows = conn.execute(select(*columns).where(t.c.evaluated_at >= last,
                                               t.c.evaluated_at < last + HOUR)
                        .order_by(*order)).all()
    return rows, last + HOUR


def _protected(conn: Connection, before: datetime
               ) -> tuple[set[int], set[tuple[str, datetime]]]:
    """(the latest evaluation id of every workload, the (workload, evaluated_at) of every
    ranking an event or the announced top choice refers to, from before `before`)."""
    t = _EVALUATIONS
    latest = set(conn.execute(select(func.max(t.c.id)).group_by(t.c.workload)).scalars())
    e, top = _EVENTS, _TOP_CHOICE
    referenced = {(str(payload.get("workload")), at) for payload, at in conn.execute(
        select(e.c.payload, e.c.created_at).where(e.c.type == EVENT_TYPE,
                                                  e.c.created_at < before))}
    referenced |= {(workload, since) for workload, since in conn.execute(
        select(top.c.workload, top.c.since).where(top.c.since < before))}
    return latest, referenced


def run_ranking_retention(engine: Engine, full_seconds: float, keep_seconds: float,
                          now: datetime, *, on_batch: Callable[[str, int], None] | None = None,
                          batch_size: int = DEFAULT_BATCH,
                          max_seconds: float = DEFAULT_MAX_SECONDS) -> RankingPruneReport:
    """The saved rankings' part of the daemon's retention job: prune, then one log line."""
    thin_before, delete_before = ranking_cutoffs(now, full_seconds, keep_seconds)
    report = prune_rankings(engine, thin_before, delete_before, batch_size=batch_size,
                            max_seconds=max_seconds, on_batch=on_batch)
    iso = {"thin_before": thin_before.isoformat() if thin_before else None,
           "delete_before": delete_before.isoformat() if delete_before else None}
    fields = {"thinned": report.thinned, "expired": report.expired,
              "protected": report.protected, "batches": report.batches, **iso,
              "finished": report.finished, "seconds": round(report.seconds, 2)}
    deleted = report.thinned + report.expired
    # INFO when the run deleted something (every hour or so once caught up), else DEBUG.
    level = logging.INFO if deleted or not report.finished else logging.DEBUG
    log.log(level, "retention: deleted %d saved rankings (%d thinned to the first of each "
            "hour before %s, %d evaluated before %s) in %d batches (%.1fs)%s", deleted,
            report.thinned, iso["thin_before"] or "-", report.expired,
            iso["delete_before"] or "-", report.batches, report.seconds,
            "" if report.finished else "; more to delete at the next run", extra=fields)
    return report
