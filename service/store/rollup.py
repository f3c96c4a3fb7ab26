"""Hourly rollups of probe results: kept in step with the rows, summed for long windows.

`apply_rollups` runs inside the writer's batch transaction. `window_totals` answers "what
happened between since and until" exactly: whole hours come from the rollup table, the
partial hours at either edge from the raw rows, both aggregated by the same code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.orm import Session

from probes.result import ErrorClass
from service.scoring.evidence import AvailabilityStats
from service.scoring.sketch import Sketch
from service.store.models import ProbeResultRow, ProbeRollup

HOUR = timedelta(hours=1)
# (candidate_id, kind, region, context_tokens, bucket_start)
Key = tuple[str, str, str, int, datetime]
# What windows are summed by: (candidate_id, kind, context_tokens), regions together.
WindowKey = tuple[str, str, int]
# Availability (docs/scoring.md): the probe kinds whose outcomes say whether the API serves.
AVAILABILITY_KINDS = ("latency", "uptime")
JUDGED_KINDS = ("tools", "long_context", "quality")  # results that carry a judgement
COUNTS = ("ok", "failed", "throttled", "config_errors", "judged_successes", "judged_trials",
          "judged_runs")
SKETCHES = ("ttft", "speed", "first_answer")  # quantile sketches, one column each
KEY_COLUMNS = ("candidate_id", "kind", "region", "context_tokens", "bucket_start")


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def ceil_hour(t: datetime) -> datetime:
    floor = floor_hour(t)
    return floor if floor == t else floor + HOUR


def judgement(row: Any) -> tuple[int, int] | None:
    """(successes, trials) a probe result carries for its kind, or None."""
    if not row.ok:
        return None
    extra = row.extra or {}
    if row.kind == "tools" and "tool_call_valid" in extra:
        return (1 if extra["tool_call_valid"] else 0), 1
    if row.kind == "long_context" and "facts_planted" in extra:
        return int(extra.get("facts_recalled") or 0), int(extra["facts_planted"])
    if row.kind == "quality" and "items" in extra:
        return int(extra.get("passed") or 0), int(extra["items"])
    return None


@dataclass
class Totals:
    ok: int = 0
    failed: int = 0
    throttled: int = 0
    config_errors: int = 0
    judged_successes: int = 0
    judged_trials: int = 0
    judged_runs: int = 0
    ttft: Sketch = field(default_factory=Sketch)
    speed: Sketch = field(default_factory=Sketch)
    first_answer: Sketch = field(default_factory=Sketch)  # reasoning models: first answer

    def add_row(self, row: Any) -> None:
        if row.ok:
            self.ok += 1
            timed = not (row.extra or {}).get("timing_unreliable")  # see docs/scoring.md
            if timed and row.ttft_seconds is not None:
                self.ttft.add(max(0.0, row.ttft_seconds))
            if timed and row.output_tokens_per_second is not None:
                self.speed.add(max(0.0, row.output_tokens_per_second))
            first_answer = getattr(row, "first_answer_seconds", None)  # absent before 0013
            if timed and first_answer is not None:
                self.first_answer.add(max(0.0, first_answer))
        elif row.error_class == ErrorClass.AUTH:
            self.config_errors += 1
        elif row.error_class == ErrorClass.RATE_LIMITED:
            self.throttled += 1
        else:
            self.failed += 1
        judged = judgement(row)
        if judged is not None:
            self.judged_successes += judged[0]
            self.judged_trials += judged[1]
            self.judged_runs += 1

    def merge_counts(self, counts: Sequence[int]) -> None:
        for name, value in zip(COUNTS, counts, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))


def context_tokens(row: Any) -> int:
    return int((row.extra or {}).get("context_tokens") or 0) if row.kind == "long_context" else 0


def aggregate(rows: Iterable[Any]) -> dict[Key, Totals]:
    out: dict[Key, Totals] = defaultdict(Totals)
    for row in rows:
        key = (row.candidate_id, row.kind, row.region, context_tokens(row),
               floor_hour(row.started_at))
        out[key].add_row(row)
    return out


def apply_rollups(conn: Connection, rows: Sequence[Any],
                  sketches: Sequence[str] = SKETCHES) -> None:
    """Add a batch of results to their hourly rollups (call inside the batch's transaction).
    `sketches`: the sketch columns to keep (an old migration's backfill names those of its
    time)."""
    table = ProbeRollup.__table__  # type: ignore[attr-defined]
    columns = [table.c[n] for n in (*KEY_COLUMNS, *COUNTS, *sketches)]
    for key, delta in sorted(aggregate(rows).items()):  # sorted: a stable lock order
        where = and_(*(table.c[n] == v for n, v in zip(KEY_COLUMNS, key, strict=True)))
        stmt = select(*columns).where(where)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        current = conn.execute(stmt).mappings().first()
        if current is None:
            conn.execute(table.insert().values(
                **dict(zip(KEY_COLUMNS, key, strict=True)),
                **{n: getattr(delta, n) for n in COUNTS},
                **{n: getattr(delta, n).to_json() for n in sketches}))
            continue
        values = {n: current[n] + getattr(delta, n) for n in COUNTS}
        merged = {n: Sketch.from_json(current[n]).merge(getattr(delta, n)).to_json()
                  for n in sketches}
        conn.execute(update(table).where(where).values(**values, **merged))


def availability(totals: Mapping[WindowKey, Totals]) -> dict[str, AvailabilityStats]:
    """Availability per candidate from window totals: every kind and size summed."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (candidate_id, _, _), t in totals.items():
        s = sums[candidate_id]
        s[0] += t.ok
        s[1] += t.failed
        s[2] += t.throttled
        s[3] += t.config_errors
    return {cid: AvailabilityStats(*s) for cid, s in sums.items()}


def window_totals(session: Session, ids: Sequence[str], since: datetime, until: datetime,
                  kinds: Sequence[str], sketches: bool = False,
                  region: str | None = None) -> dict[WindowKey, Totals]:
    """Totals per (candidate, kind, context size) for results started in [since, until].

    With `sketches`, the TTFT, speed and first-answer sketches are merged too (costlier:
    JSON per hour).
    With `region`, only that region's results count; otherwise every region's do.
    """
    out: dict[WindowKey, Totals] = defaultdict(Totals)
    first_full, last_full = ceil_hour(since), floor_hour(until)
    if first_full < last_full:
        _add_rollups(session, out, ids, kinds, first_full, last_full, sketches, region)
        edges = [(since, first_full), (last_full, until)]
    else:
        edges = [(since, until)]
    if sketches or any(k in JUDGED_KINDS for k in kinds):
        _add_raw(session, out, ids, kinds, edges, region)
    else:
        _count_raw(session, out, ids, kinds, edges, region)
    return out


def _add_rollups(session: Session, out: dict[WindowKey, Totals], ids: Sequence[str],
                 kinds: Sequence[str], start: datetime, end: datetime, sketches: bool,
                 region: str | None) -> None:
    r = ProbeRollup.__table__  # type: ignore[attr-defined]
    where = and_(r.c.candidate_id.in_(ids), r.c.kind.in_(kinds), r.c.bucket_start >= start,
                 r.c.bucket_start < end)
    if region is not None:
        where = and_(where, r.c.region == region)
    group = [r.c.candidate_id, r.c.kind, r.c.context_tokens]
    sums = session.execute(select(*group, *(func.sum(r.c[n]) for n in COUNTS))
                           .where(where).group_by(*group))
    for row in sums:
        out[(row[0], row[1], row[2])].merge_counts(row[3:])
    if not sketches:
        return
    for row in session.execute(select(*group, r.c.ttft, r.c.speed, r.c.first_answer)
                               .where(where)):
        totals = out[(row[0], row[1], row[2])]
        totals.ttft.merge(Sketch.from_json(row[3]))
        totals.speed.merge(Sketch.from_json(row[4]))
        totals.first_answer.merge(Sketch.from_json(row[5]))


def _span_filter(t: Any, ids: Sequence[str], kinds: Sequence[str], start: datetime,
                 end: datetime, last: bool, region: str | None) -> Any:
    # One query per span: an OR of two ranges keeps SQLite off the (candidate, kind,
    # started_at) index and scans the whole table. The last span includes its end.
    before_end = t.c.started_at <= end if last else t.c.started_at < end
    where = and_(t.c.candidate_id.in_(ids), t.c.kind.in_(kinds), t.c.started_at >= start,
                 before_end)
    return where if region is None else and_(where, t.c.region == region)


def _count_raw(session: Session, out: dict[WindowKey, Totals], ids: Sequence[str],
               kinds: Sequence[str], spans: list[tuple[datetime, datetime]],
               region: str | None) -> None:
    """Outcome counts of each span, counted by the database (no judgements, no sketches)."""
    t = ProbeResultRow.__table__  # type: ignore[attr-defined]
    group = (t.c.candidate_id, t.c.kind, t.c.ok, t.c.error_class)
    for i, (start, end) in enumerate(spans):
        rows = session.execute(select(*group, func.count()).where(
            _span_filter(t, ids, kinds, start, end, i == len(spans) - 1, region))
            .group_by(*group))
        for candidate_id, kind, ok, error_class, count in rows:
            totals = out[(candidate_id, kind, 0)]
            if ok:
                totals.ok += count
            elif error_class == ErrorClass.AUTH:
                totals.config_errors += count
            elif error_class == ErrorClass.RATE_LIMITED:
                totals.throttled += count
            else:
                totals.failed += count


def _add_raw(session: Session, out: dict[WindowKey, Totals], ids: Sequence[str],
             kinds: Sequence[str], spans: list[tuple[datetime, datetime]],
             region: str | None = None) -> None:
    """Add raw rows of each span; the last span includes its end (the window's `until`)."""
    t = ProbeResultRow.__table__  # type: ignore[attr-defined]
    columns = (t.c.candidate_id, t.c.kind, t.c.region, t.c.started_at, t.c.ok,
               t.c.error_class, t.c.ttft_seconds, t.c.output_tokens_per_second, t.c.extra,
               t.c.first_answer_seconds)
    for i, (start, end) in enumerate(spans):
        rows = session.execute(select(*columns).where(
            _span_filter(t, ids, kinds, start, end, i == len(spans) - 1, region)))
        for row in rows:
            out[(row.candidate_id, row.kind, context_tokens(row))].add_row(row)
