"""The last few minutes of availability-counting probes per candidate: what states judge."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from probes.result import ErrorClass
from service.scoring.evidence import RecentProbes
from service.store.models import ProbeResultRow
from service.store.rollup import AVAILABILITY_KINDS


def recent_probes(session: Session, ids: Sequence[str], since: datetime, until: datetime
                  ) -> dict[str, RecentProbes]:
    """Per candidate, the outcomes of latency and uptime probes started in [since, until],
    counted by the database, with when the first failure and the first 429 came."""
    t = ProbeResultRow.__table__  # type: ignore[attr-defined]
    group = (t.c.candidate_id, t.c.ok, t.c.error_class, t.c.http_status)
    rows = session.execute(
        select(*group, func.count(), func.min(t.c.started_at))
        .where(and_(t.c.candidate_id.in_(ids), t.c.kind.in_(AVAILABILITY_KINDS),
                    t.c.started_at >= since, t.c.started_at <= until))
        .group_by(*group))
    counts: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "ok": 0, "failed": 0, "throttled": 0, "config_errors": 0, "first_failed_at": None,
        "first_throttled_at": None, "errors": {}})
    for candidate_id, ok, error_class, http_status, count, first in rows:
        c = counts[candidate_id]
        if ok:
            c["ok"] += count
        elif error_class == ErrorClass.AUTH:
            c["config_errors"] += count
        elif error_class == ErrorClass.RATE_LIMITED:
            c["throttled"] += count
            c["first_throttled_at"] = _earliest(c["first_throttled_at"], first)
        else:
            c["failed"] += count
            c["first_failed_at"] = _earliest(c["first_failed_at"], first)
            name = f"{error_class} {http_status}" if http_status else str(error_class)
            c["errors"][name] = c["errors"].get(name, 0) + count
    return {cid: RecentProbes(**c) for cid, c in counts.items()}


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
