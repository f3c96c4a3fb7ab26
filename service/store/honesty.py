"""Saved status-page honesty figures: the hourly honesty job writes them, scoring reads them
(the stability factor's `honesty_penalty`, docs/scoring.md)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from service.store.models import ProviderHonestyRow

# The job runs hourly: a figure older than two runs is from a lease holder that stopped.
MAX_AGE = timedelta(hours=2)


def save_honesty(session: Session, rows: Iterable[ProviderHonestyRow]) -> None:
    """Replace each provider's figures with the new ones."""
    for row in rows:
        session.merge(row)


def latest_honesty(session: Session, now: datetime, max_age: timedelta = MAX_AGE
                   ) -> dict[str, ProviderHonestyRow]:
    """Per provider, the saved figures computed in (now - max_age, now]: none for a past `now`
    the job had not judged yet, or a job that stopped."""
    rows = session.exec(select(ProviderHonestyRow).where(
        col(ProviderHonestyRow.computed_at) > now - max_age,
        col(ProviderHonestyRow.computed_at) <= now)).all()
    return {row.provider: row for row in rows}
