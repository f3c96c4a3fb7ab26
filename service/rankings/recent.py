"""The last few minutes of availability-counting probes per candidate: what states judge."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, null, select
from sqlmodel import Session

from probes.result import ErrorClass
from service.scoring.evidence import RecentProbes
from service.store.models import ProbeResultRow
from service.store.rollup import AVAILABILITY_KINDS

# How far back a 429's Retry-After is looked for: the daemon waits at most 600 s
# (service/probing/backoff.py), so a pause still running began no earlier than that.
BACKOFF_LOOKBACK = timedelta(seconds=600)


def recent_probes(session: Session, ids: Sequence[str], since: datetime, until: datetime
                  ) -> dict[str, RecentProbes]:
    """Per candidate, the outcomes of latency and uptime probes started in [since, until],
    counted by the database, with when the first failure and the first 429 came; and, when
    the latest answer (up to BACKOFF_LOOKBACK back) was a 429 with a Retry-After, until
    when the provider asked to be left alone."""
    return {cid: recent for (cid, _), recent in
            _recent(session, ids, since, until, by_region=False).items()}


def recent_probes_by_region(session: Session, ids: Sequence[str], since: datetime,
                            until: datetime) -> dict[str, dict[str, RecentProbes]]:
    """The same, per candidate and region: what the regional quorum judges. A region with
    no probe of a candidate in the window (silent) is absent."""
    out: dict[str, dict[str, RecentProbes]] = defaultdict(dict)
    for (cid, region), recent in _recent(session, ids, since, until, by_region=True).items():
        # A Retry-After pause still counts: the region waits it out instead of probing.
        if recent.answered or recent.config_errors or recent.throttled_until is not None:
            out[cid][str(region)] = recent
    return dict(out)


Key = tuple[str, str | None]  # (candidate, region); region None when not split by region


def _recent(session: Session, ids: Sequence[str], since: datetime, until: datetime,
            by_region: bool) -> dict[Key, RecentProbes]:
    t = ProbeResultRow.__table__  # type: ignore[attr-defined]
    start = min(since, until - BACKOFF_LOOKBACK)
    in_window = t.c.started_at >= since
    region = t.c.region if by_region else null()
    group = (t.c.candidate_id, region, t.c.ok, t.c.error_class, t.c.http_status)
    rows = session.execute(
        select(*group, func.sum(case((in_window, 1), else_=0)),
               func.min(case((in_window, t.c.started_at), else_=None)),
               func.max(t.c.started_at))
        .where(and_(t.c.candidate_id.in_(ids), t.c.kind.in_(AVAILABILITY_KINDS),
                    t.c.started_at >= start, t.c.started_at <= until))
        .group_by(*group[:1], *group[2:], *((t.c.region,) if by_region else ())))
    counts: dict[Key, dict[str, Any]] = defaultdict(lambda: {
        "ok": 0, "failed": 0, "throttled": 0, "config_errors": 0, "first_failed_at": None,
        "first_throttled_at": None, "errors": {}})
    latest: dict[Key, tuple[datetime, bool]] = {}  # key -> (last answer, was a 429)
    for candidate_id, region_name, ok, error_class, http_status, count, first, last in rows:
        key = (candidate_id, region_name)
        c = counts[key]
        count = int(count or 0)
        limited = not ok and error_class == ErrorClass.RATE_LIMITED
        if ok or error_class != ErrorClass.AUTH:
            seen = latest.get(key)
            if seen is None or last > seen[0] or (last == seen[0] and limited):
                latest[key] = (last, limited)
        if ok:
            c["ok"] += count
        elif error_class == ErrorClass.AUTH:
            c["config_errors"] += count
        elif limited:
            c["throttled"] += count
            c["first_throttled_at"] = _earliest(c["first_throttled_at"], first)
        elif count:
            c["failed"] += count
            c["first_failed_at"] = _earliest(c["first_failed_at"], first)
            name = f"{error_class} {http_status}" if http_status else str(error_class)
            c["errors"][name] = c["errors"].get(name, 0) + count
    paused = [key for key, (_, limited) in latest.items() if limited]
    for key, until_at in _pauses(session, paused, start).items():
        counts[key]["throttled_until"] = until_at
    return {key: RecentProbes(**c) for key, c in counts.items()}


def _pauses(session: Session, keys: list[Key], since: datetime) -> dict[Key, datetime]:
    """The end of the pause the latest 429 of each key asked for (its Retry-After)."""
    if not keys:
        return {}
    t = ProbeResultRow.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(t.c.candidate_id, t.c.region, t.c.started_at, t.c.retry_after_seconds)
        .where(and_(t.c.candidate_id.in_(sorted({cid for cid, _ in keys})),
                    t.c.kind.in_(AVAILABILITY_KINDS),
                    t.c.error_class == ErrorClass.RATE_LIMITED, t.c.started_at >= since))
        .order_by(t.c.started_at))
    wanted = set(keys)
    out: dict[Key, datetime] = {}
    for candidate_id, region, started_at, retry_after in rows:  # the latest row of each wins
        key = (candidate_id, region if (candidate_id, region) in wanted else None)
        if retry_after:
            out[key] = started_at + timedelta(seconds=retry_after)
        else:
            out.pop(key, None)
    return {key: at for key, at in out.items() if key in wanted}


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
