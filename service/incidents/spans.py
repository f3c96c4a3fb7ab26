"""Declared incident spans and the minutes they cover: pure, shared by the declared
incident minutes and by the declared-vs-observed outage judgement (service/outages)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DeclaredSpan:
    external_id: str
    start: datetime
    end: datetime | None  # None: still open
    is_maintenance: bool = False



def clipped_union(spans: Iterable[tuple[datetime, datetime | None]], since: datetime,
                  until: datetime) -> list[tuple[datetime, datetime]]:
    """The spans clipped to [since, until] and merged; an open span runs to `until`."""
    clipped = sorted((max(s, since), min(e or until, until)) for s, e in spans)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in clipped:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def union_minutes(spans: Iterable[tuple[datetime, datetime | None]], since: datetime,
                  until: datetime) -> float:
    return sum((e - s).total_seconds() for s, e in clipped_union(spans, since, until)) / 60
