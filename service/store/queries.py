"""Read-only queries for the operator's views: /metrics, the JSON API and the overview page.

Nothing here writes. Lists are read newest first with keyset pagination on (time, id): a
cursor names the last row a page returned, so a page never repeats or skips rows when new
ones arrive between two requests (an offset would).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from service.scoring.evidence import AvailabilityStats
from service.store.models import ProbeResultRow, ProbeRollup
from service.store.rollup import AVAILABILITY_KINDS, availability, window_totals

T = TypeVar("T")


def availability_by_window(session: Session, ids: Sequence[str], since: datetime,
                           until: datetime, region: str | None = None
                           ) -> dict[str, AvailabilityStats]:
    """Availability-counting probe outcomes per candidate in [since, until], in one region
    or (by default) all of them."""
    return availability(window_totals(session, ids, since, until, AVAILABILITY_KINDS,
                                      region=region))


def regions_seen(session: Session, since: datetime) -> list[str]:
    """The regions whose replicas stored probe results since `since`."""
    table = ProbeRollup.__table__  # type: ignore[attr-defined]
    rows = session.execute(select(table.c.region).where(table.c.bucket_start >= since)
                           .distinct())
    return sorted(str(r[0]) for r in rows)


def last_probe_times(session: Session, pairs: Sequence[tuple[str, str]]
                     ) -> dict[tuple[str, str], datetime]:
    """When each (candidate, kind) was last probed. One indexed max() per pair: cheap on
    any table size, where a GROUP BY would scan every row."""
    out = {}
    for cid, kind in pairs:
        last = session.exec(select(func.max(ProbeResultRow.started_at)).where(
            ProbeResultRow.candidate_id == cid, ProbeResultRow.kind == kind)).first()
        if last is not None:
            out[(cid, kind)] = last
    return out


class CursorError(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError(f"not a cursor from this API: {cursor[:40]!r}") from exc


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def newest_first(session: Session, stmt: Any, time_col: Any, id_col: Any, limit: int,
                 cursor: str | None) -> Page[Any]:
    """One page of `stmt`'s rows, newest first by (time_col, id_col), after `cursor`."""
    if cursor:
        at, row_id = decode_cursor(cursor)
        stmt = stmt.where(or_(time_col < at, and_(time_col == at, id_col < row_id)))
    rows = list(session.exec(stmt.order_by(col(time_col).desc(), col(id_col).desc())
                             .limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = None
    if more and last is not None:
        next_cursor = encode_cursor(getattr(last, time_col.key), getattr(last, id_col.key))
    return Page(rows, next_cursor)
