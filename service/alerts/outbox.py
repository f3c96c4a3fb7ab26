"""The alert outbox's delivery side: fan events out to sinks, claim, record, recover.

Every state change is a conditional UPDATE (`... WHERE status = 'pending'`) whose row count
says whether this process won it, so two replicas on one PostgreSQL database never send the
same delivery twice; each step is one transaction, so a process killed anywhere leaves rows
that the next pass (or another replica) picks up:
- fan_out: a pending event becomes one alert_delivery row per sink that wants it (or none);
- claim: due rows become one message, fixed in `batch`, which is the idempotency key;
- record: the outcome of a send, only if the claim is still ours;
- release_stale: a claim older than the claim timeout (its holder died) is pending again,
  in the same batch: the repeat carries the same idempotency key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, func, select, update
from sqlmodel import Session

from service.alerts.routing import History, Maintenance, Pending, Silence, SinkRule, plan, route
from service.sinks.events import AlertEvent, event_type
from service.sinks.render import span
from service.store.models import AlertDelivery, Event

FINAL = ("sent", "failed", "silenced", "superseded", "expired")
FAN_OUT_BATCH = 500
PLAN_WINDOW = 500  # pending rows of one sink looked at per claim
D: Table = AlertDelivery.__table__  # type: ignore[attr-defined]
E: Table = Event.__table__  # type: ignore[attr-defined]
_EVENT_COLS = (E.c.id, E.c.type, E.c.severity, E.c.dedup_key, E.c.created_at, E.c.payload)


class ClaimLost(Exception):
    """Another replica changed the rows first; this transaction must roll back."""


@dataclass(frozen=True)
class Claimed:
    sink: str
    batch: str  # the idempotency key
    delivery_ids: tuple[int, ...]
    events: tuple[AlertEvent, ...]
    attempts: int  # sends already tried for this batch


def _rowcount(session: Session, stmt: object) -> int:
    return int(session.connection().execute(stmt).rowcount)  # type: ignore[call-overload]


def to_alert(row: Row[Any], provider_of: Mapping[str, str]) -> AlertEvent:
    """An AlertEvent from a row holding _EVENT_COLS."""
    return AlertEvent.of(row.id, row.type, row.severity, row.dedup_key, row.created_at,
                         row.payload, provider_of)


def fan_out(session: Session, rules: Sequence[SinkRule], quiet: Sequence[Silence | Maintenance],
            provider_of: Mapping[str, str], claimer: str, now: datetime,
            max_age: timedelta) -> dict[str, int]:
    """Route pending events to sinks; returns {"sink:status": how many deliveries}."""
    counts: dict[str, int] = {}
    rows = session.execute(select(*_EVENT_COLS).where(E.c.status == "pending")
                           .order_by(E.c.id).limit(FAN_OUT_BATCH)).all()
    for row in rows:
        won = _rowcount(session, update(E).where(E.c.id == row.id, E.c.status == "pending")
                        .values(status="claimed", claimed_by=claimer, claimed_at=now))
        if not won:
            continue
        event = to_alert(row, provider_of)
        statuses = []
        for rule in rules:
            routed = route(event, rule, quiet, now, max_age)
            if routed is None:
                continue
            status, note = routed
            statuses.append(status)
            session.add(AlertDelivery(event_id=event.id, sink=rule.name, status=status,
                                      repeat_key=event.repeat_key, last_error=note,
                                      next_attempt_at=now + rule.group_wait))
            counts[f"{rule.name}:{status}"] = counts.get(f"{rule.name}:{status}", 0) + 1
        if all(s in FINAL for s in statuses):  # nothing to send: the event is done
            session.execute(update(E).where(E.c.id == row.id).values(status="sent"))
    session.flush()
    return counts


def batch_key(sink: str, events: Sequence[AlertEvent]) -> str:
    digest = hashlib.sha256("\n".join([sink, *sorted(e.key for e in events)]).encode())
    return "fw-" + digest.hexdigest()[:40]


def _claim_retry(session: Session, sink: str, claimer: str, now: datetime,
                 provider_of: Mapping[str, str]) -> Claimed | None:
    batch = session.execute(
        select(D.c.batch).where(D.c.sink == sink, D.c.status == "pending",
                                D.c.batch.is_not(None), D.c.next_attempt_at <= now)
        .order_by(D.c.next_attempt_at).limit(1)).scalar()
    if batch is None:
        return None
    total = session.execute(select(func.count()).select_from(D).where(
        D.c.sink == sink, D.c.batch == batch, D.c.status.not_in(FINAL))).scalar_one()
    won = _rowcount(session, update(D).where(D.c.sink == sink, D.c.batch == batch,
                                             D.c.status == "pending")
                    .values(status="claimed", claimed_by=claimer, claimed_at=now))
    if won != total:
        raise ClaimLost(batch)
    return _load(session, sink, batch, provider_of)


def _load(session: Session, sink: str, batch: str, provider_of: Mapping[str, str]) -> Claimed:
    rows = session.execute(
        select(D.c.id.label("delivery_id"), D.c.attempts, *_EVENT_COLS)
        .join_from(D, E, E.c.id == D.c.event_id)
        .where(D.c.sink == sink, D.c.batch == batch, D.c.status == "claimed")
        .order_by(E.c.created_at, E.c.id)).all()
    return Claimed(sink, batch, tuple(r.delivery_id for r in rows),
                   tuple(to_alert(r, provider_of) for r in rows),
                   max((r.attempts for r in rows), default=0))


def history(session: Session, sink: str, keys: Sequence[str]) -> dict[str, History]:
    """Per repeat key, what the sink last told (sent rows, oldest first), and whether a
    message about it is still being sent or retried."""
    rows = session.execute(
        select(D.c.repeat_key, E.c.type, D.c.sent_at).join_from(D, E, E.c.id == D.c.event_id)
        .where(D.c.sink == sink, D.c.status == "sent", D.c.repeat_key.in_(keys))
        .order_by(D.c.sent_at, E.c.created_at, E.c.id)).all()
    out: dict[str, History] = {}
    for key, type_, sent_at in rows:
        resolved = event_type(type_).resolution
        last = out.get(key, History(None, False))
        out[key] = History(last.last_firing_at if resolved else sent_at, not resolved)
    busy = session.execute(
        select(D.c.repeat_key).distinct().where(
            D.c.sink == sink, D.c.repeat_key.in_(keys), D.c.batch.is_not(None),
            D.c.status.in_(("pending", "claimed")))).scalars()
    for key in busy:
        last = out.get(key, History(None, False))
        out[key] = History(last.last_firing_at, last.open, in_flight=True)
    return out


def claim(session: Session, rule: SinkRule, claimer: str, now: datetime, max_age: timedelta,
          provider_of: Mapping[str, str], tally: dict[str, int] | None = None
          ) -> Claimed | None:
    """Claim the sink's next message: a batch due for a retry, else a new one. Raises
    ClaimLost when another replica got there first (roll back and try again later).
    `tally` receives how many rows were expired and superseded on the way."""
    tally = {} if tally is None else tally
    retry = _claim_retry(session, rule.name, claimer, now, provider_of)
    if retry is not None:
        return retry
    rows = session.execute(
        select(D.c.id.label("delivery_id"), D.c.next_attempt_at, *_EVENT_COLS)
        .join_from(D, E, E.c.id == D.c.event_id)
        .where(D.c.sink == rule.name, D.c.status == "pending", D.c.batch.is_(None))
        .order_by(E.c.created_at, E.c.id).limit(PLAN_WINDOW)).all()
    pending = [Pending(r.delivery_id, to_alert(r, provider_of), r.next_attempt_at)
               for r in rows]
    old = {p.delivery_id for p in pending if p.event.created_at < now - max_age}
    age = span(max_age.total_seconds())
    tally["expired"] = _set(session, sorted(old), status="expired",
                            last_error=f"older than {age} before it was sent")
    pending = [p for p in pending if p.delivery_id not in old]
    decided = plan(pending, history(session, rule.name, [p.event.repeat_key for p in pending]),
                   rule, now)
    tally["superseded"] = _set(session, decided.supersede, status="superseded",
                               last_error="a newer event of the same subject replaced it")
    for delivery_id, not_before in decided.defer.items():
        _set(session, [delivery_id], next_attempt_at=not_before)
    if not decided.send:
        return None
    chosen = {p.delivery_id: p.event for p in pending}
    key = batch_key(rule.name, [chosen[i] for i in decided.send])
    if _set(session, decided.send, status="claimed", batch=key, claimed_by=claimer,
            claimed_at=now) != len(decided.send):
        raise ClaimLost(key)
    return _load(session, rule.name, key, provider_of)


def _set(session: Session, ids: Sequence[int], **values: object) -> int:
    """Update unbatched pending rows by id; the condition is what makes a claim exclusive."""
    if not ids:
        return 0
    return _rowcount(session, update(D).where(D.c.id.in_(ids), D.c.status == "pending",
                                              D.c.batch.is_(None)).values(**values))


def record(session: Session, claimed: Claimed, claimer: str, now: datetime, status: str,
           next_attempt_at: datetime | None = None, error: str | None = None) -> bool:
    """Save a send's outcome (sent, pending for a retry, or failed) if the claim is still
    ours; False when it was not (it expired and another process took the batch)."""
    values: dict[str, object] = {"status": status, "attempts": D.c.attempts + 1,
                                 "last_error": error[:300] if error else None}
    if status == "sent":
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    won = _rowcount(session, update(D).where(
        D.c.sink == claimed.sink, D.c.batch == claimed.batch, D.c.status == "claimed",
        D.c.claimed_by == claimer).values(**values))
    if won:
        finish_events(session, [e.id for e in claimed.events])
    return bool(won)


def finish_events(session: Session, event_ids: Sequence[int]) -> None:
    """An event whose deliveries are all final is `sent`, or `failed` if one failed."""
    for event_id in event_ids:
        rows = session.execute(select(D.c.status, D.c.attempts)
                               .where(D.c.event_id == event_id)).all()
        statuses = {r.status for r in rows}
        status = ("failed" if "failed" in statuses else "sent") if statuses <= set(FINAL) \
            else "claimed"
        session.execute(update(E).where(E.c.id == event_id).values(
            status=status, attempts=max((r.attempts for r in rows), default=0)))


def release_stale(session: Session, now: datetime, claim_timeout: timedelta) -> int:
    """Claims older than the timeout belong to a process that died: pending again, same
    batch (so the same idempotency key), due at once."""
    return _rowcount(session, update(D).where(
        D.c.status == "claimed", D.c.claimed_at < now - claim_timeout).values(
        status="pending", next_attempt_at=now))


def pending_counts(session: Session) -> dict[str, int]:
    """Deliveries not yet final, per sink."""
    rows = session.execute(select(D.c.sink, func.count()).where(D.c.status.not_in(FINAL))
                           .group_by(D.c.sink)).all()
    return {sink: int(n) for sink, n in rows}
