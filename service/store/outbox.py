"""Write events to the outbox (the `event` table) inside the caller's transaction.

An event is saved with the state change that caused it, in the same transaction, so a
crash can never leave one without the other. `dedup_key` is the event's stable identity:
recording the same key twice is a no-op, so a poll that sees the same change again does
not announce it again. Delivery (claim, send, retry) is the alert sender's job.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from service.store.models import Event

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "critical")


def record_event(session: Session, type_: str, dedup_key: str, payload: dict[str, Any],
                 now: datetime, severity: str = "info") -> bool:
    """Add the event unless one with `dedup_key` exists; True when it was added."""
    assert severity in SEVERITIES, severity
    key = dedup_key[:300]
    pending = any(isinstance(obj, Event) and obj.dedup_key == key for obj in session.new)
    if pending or session.exec(select(Event.id).where(Event.dedup_key == key)).first():
        return False
    session.add(Event(type=type_, severity=severity, dedup_key=key, created_at=now,
                      payload=payload))
    log.info("event %s", type_, extra={"event_type": type_, "dedup_key": key})
    return True
