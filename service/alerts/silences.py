"""Silences added through the API, kept in the store so every replica honours them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.alerts.routing import Matchers, Silence
from service.store.models import AlertSilence

MATCHER_KEYS = ("types", "workloads", "providers", "candidates")


def add_silence(session: Session, matchers: dict[str, list[str]], starts_at: datetime,
                ends_at: datetime, comment: str, now: datetime) -> AlertSilence:
    row = AlertSilence(matchers={k: sorted(set(matchers.get(k) or [])) for k in MATCHER_KEYS},
                       starts_at=starts_at, ends_at=ends_at, comment=comment[:500],
                       created_at=now)
    session.add(row)
    session.flush()
    return row


def silences_ending_after(session: Session, after: datetime) -> list[AlertSilence]:
    return list(session.exec(select(AlertSilence).where(AlertSilence.ends_at > after)
                             .order_by(col(AlertSilence.starts_at), col(AlertSilence.id))))


def end_silence(session: Session, silence_id: int, now: datetime) -> AlertSilence | None:
    """End it now (kept, so what it silenced stays explained); None if there is no such id."""
    row = session.get(AlertSilence, silence_id)
    if row is not None and row.ends_at > now:
        row.ends_at = max(now, row.starts_at)
        session.add(row)
    return row


def as_silence(row: AlertSilence) -> Silence:
    m: dict[str, Any] = row.matchers or {}
    return Silence(Matchers.of(*(m.get(k) or () for k in MATCHER_KEYS)), row.starts_at,
                   row.ends_at, f"silence {row.id}: {row.comment}".rstrip(": "))
