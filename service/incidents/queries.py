"""Read the incidents providers declared: the queries scoring and the outage watch call.

An incident's interval is [started_at, resolved_at]; an open one runs to the end of the
window asked about. Scheduled maintenance rows (is_maintenance) are excluded from declared
incident minutes unless asked for, so SLA figures can leave them out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from service.incidents.spans import DeclaredSpan, union_minutes
from service.store.models import Incident


def incidents_between(session: Session, provider: str, since: datetime, until: datetime
                      ) -> list[Incident]:
    """Incidents and maintenances of `provider` whose interval overlaps [since, until],
    oldest first. Callers that want incidents only filter on `is_maintenance`."""
    return list(session.exec(
        select(Incident).where(
            Incident.provider == provider, Incident.started_at <= until,
            or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= since))
        .order_by(col(Incident.started_at), col(Incident.id))).all())


def declared_incident_minutes(session: Session, provider: str, since: datetime,
                              until: datetime, include_maintenance: bool = False) -> float:
    """Minutes of [since, until] covered by at least one declared incident (overlapping
    incidents count once; an open incident runs to `until`)."""
    spans = [(i.started_at, i.resolved_at)
             for i in incidents_between(session, provider, since, until)
             if include_maintenance or not i.is_maintenance]
    return union_minutes(spans, since, until)


def declared_spans(session: Session, provider: str, since: datetime, until: datetime
                   ) -> list[DeclaredSpan]:
    return [DeclaredSpan(i.external_id, i.started_at, i.resolved_at, i.is_maintenance)
            for i in incidents_between(session, provider, since, until)]


def open_incident_counts(session: Session) -> dict[str, int]:
    """Open incidents (maintenance excluded) per provider."""
    rows = session.exec(
        select(Incident.provider, func.count()).where(
            col(Incident.resolved_at).is_(None),
            Incident.is_maintenance == False)  # noqa: E712 (SQL expression)
        .group_by(col(Incident.provider))).all()
    return {provider: count for provider, count in rows}
