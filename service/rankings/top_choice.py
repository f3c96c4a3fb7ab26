"""The announced top choice per workload, and the event saved when it changes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlmodel import Session, select

from service.scoring.flip import UNAVAILABLE, Change, TopChoiceState
from service.store.models import Event, TopChoice

EVENT_TYPE = "top_choice_changed"


def load_state(session: Session, workload: str) -> TopChoiceState:
    row = session.get(TopChoice, workload)
    if row is None:
        return TopChoiceState()
    return TopChoiceState(row.candidate, row.since, row.challenger, row.streak)


def save_state(session: Session, workload: str, state: TopChoiceState, now: datetime) -> None:
    row = session.get(TopChoice, workload) or TopChoice(workload=workload)
    if row.candidate != state.candidate or row.since is None:
        row.since = state.since or now
    row.candidate, row.challenger, row.streak = state.candidate, state.challenger, state.streak
    row.updated_at = now
    session.add(row)


def record_change(session: Session, change: Change, evaluated_at: datetime) -> Event:
    """Save the change as an outbox event (in the caller's transaction)."""
    urgent = change.immediate or change.cause == UNAVAILABLE
    event = Event(type=EVENT_TYPE, severity="warning" if urgent else "info",
                  dedup_key=f"{EVENT_TYPE}:{change.workload}:{evaluated_at.isoformat()}",
                  created_at=evaluated_at,
                  payload={**asdict(change), "evaluated_at": evaluated_at.isoformat()})
    session.add(event)
    return event


def current_top_choices(session: Session) -> dict[str, str | None]:
    return {row.workload: row.candidate for row in session.exec(select(TopChoice)).all()}
