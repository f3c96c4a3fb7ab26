"""Store what a status source reported: one row per incident, its updates merged in.

Polling is idempotent: an incident is keyed by (provider, external id), an update by its id
(or status and time), so the same report read 100 times changes nothing after the first.
Several sources of one provider (summary.json and history.atom of the same page) merge into
the same rows: an update already known within a minute under the same status is the same
update. Events go to the outbox in the caller's transaction:
- incident_opened: first seen while open (an incident first seen resolved is history);
- incident_updated: a new update, a status change, or a reopening (also when a snapshot that
  ended it by no longer listing it lists it open again);
- incident_resolved: it became resolved (or left a snapshot of everything unresolved).
The component filter decides which incidents get a row; an incident that already has one
always receives its updates, so a resolution is never filtered away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from probes.status import IncidentReport, StatusReport, StatusUpdate, matches_components
from service.store.models import Incident
from service.store.outbox import record_event

SAME_UPDATE_WITHIN = timedelta(seconds=60)  # feeds give minutes, the JSON milliseconds
_SEVERITY = {"critical": "critical", "major": "warning"}


@dataclass
class SyncResult:
    stored: int = 0  # new rows
    skipped: int = 0  # outside the component filter
    events: int = 0


def sync_report(session: Session, provider: str, source: str, report: StatusReport,
                components: list[str], now: datetime) -> SyncResult:
    result = SyncResult()
    ids = [i.external_id for i in report.incidents]
    rows = {r.external_id: r for r in session.exec(select(Incident).where(
        Incident.provider == provider, col(Incident.external_id).in_(ids))).all()}
    for inc in report.incidents:
        row = rows.get(inc.external_id)
        if row is None:
            if matches_components(inc, components, report.component_status) is False:
                result.skipped += 1
                continue
            row = _new_row(provider, source, inc)
            session.add(row)
            result.stored += 1
            if row.resolved_at is None:
                result.events += _event(session, "incident_opened", row, now,
                                        f"{provider}:{row.external_id}")
            continue
        result.events += _merge(session, row, inc, source, now)
    if report.lists_all_open:
        result.events += _end_missing(session, provider, source, set(ids), now)
    return result


def _update_dict(update: StatusUpdate, source: str) -> dict[str, Any]:
    return {"key": update.key, "id": update.id, "status": update.status,
            "at": update.at.isoformat(), "body": update.body,
            "components": list(update.components), "source": source}


def _new_row(provider: str, source: str, inc: IncidentReport) -> Incident:
    return Incident(provider=provider, external_id=inc.external_id[:200], title=inc.title,
                    status=inc.status, impact=inc.impact, components=list(inc.components),
                    started_at=inc.started_at, resolved_at=inc.resolved_at,
                    updates=[_update_dict(u, source) for u in inc.updates],
                    is_maintenance=inc.is_maintenance)


def _is_known(update: StatusUpdate, known: list[dict[str, Any]]) -> bool:
    for seen in known:
        if seen.get("key") == update.key:
            return True
        if update.id is None or seen.get("id") is None:
            at = datetime.fromisoformat(seen["at"])
            # A feed shows a note that kept the status as "Update"; the JSON gives the status.
            same = seen.get("status") == update.status or "update" in (seen.get("status"),
                                                                       update.status)
            if same and abs(at - update.at) <= SAME_UPDATE_WITHIN:
                return True
    return False


def _merge(session: Session, row: Incident, inc: IncidentReport, source: str,
           now: datetime) -> int:
    known = list(row.updates)
    new = [u for u in inc.updates if not _is_known(u, known)]
    if new:
        row.updates = sorted(known + [_update_dict(u, source) for u in new],
                             key=lambda u: u["at"])
    row.title = inc.title or row.title
    row.impact = inc.impact or row.impact
    row.components = list(dict.fromkeys([*row.components, *inc.components]))
    row.started_at = min(row.started_at, inc.started_at)
    row.is_maintenance = row.is_maintenance or inc.is_maintenance
    key = f"{row.provider}:{row.external_id}"
    if inc.status == "resolved" and row.resolved_at is None:
        row.status, row.resolved_at = "resolved", inc.resolved_at or now
        return _event(session, "incident_resolved", row, now,
                      f"{key}:{row.resolved_at.isoformat()}")
    newest = max((u.at for u in new), default=None)
    reopened = (inc.status != "resolved" and row.resolved_at is not None and newest is not None
                and newest > row.resolved_at + SAME_UPDATE_WITHIN)
    # Ended because this snapshot source stopped listing it, and now it lists it open again
    # (Azure's feed is served by several backends, which may disagree for a while).
    if (inc.status != "resolved" and row.resolved_at is not None and not reopened and known
            and known[-1].get("unlisted") and known[-1].get("source") == source):
        note = StatusUpdate(inc.status, now, f"listed as unresolved again by {source}")
        row.updates = [*row.updates, _update_dict(note, source)]
        new, reopened = [*new, note], True
    # A source that lags another (an older status) must not flip the status back.
    current = (inc.updates[-1].at if inc.updates else inc.started_at) + SAME_UPDATE_WITHIN
    changed = (row.resolved_at is None and inc.status not in (row.status, "resolved")
               and current >= _latest_at(known, row.started_at))
    if reopened or changed:
        row.status, row.resolved_at = inc.status, None
    if new or reopened or changed:
        latest = max(new, key=lambda u: u.at).key if new else f"{row.status}@{now.isoformat()}"
        return _event(session, "incident_updated", row, now, f"{key}:{latest}",
                      reopened=reopened)
    return 0


def _latest_at(updates: list[dict[str, Any]], default: datetime) -> datetime:
    return max((datetime.fromisoformat(u["at"]) for u in updates), default=default)


def _end_missing(session: Session, provider: str, source: str, listed: set[str],
                 now: datetime) -> int:
    """Open incidents this snapshot source reported before and no longer lists have ended."""
    events = 0
    rows = session.exec(select(Incident).where(Incident.provider == provider,
                                               col(Incident.resolved_at).is_(None))).all()
    for row in rows:
        if row.external_id in listed or not any(u.get("source") == source
                                                for u in row.updates):
            continue
        note = StatusUpdate("resolved", now, f"no longer listed as unresolved by {source}")
        row.updates = [*row.updates, {**_update_dict(note, source), "unlisted": True}]
        row.status, row.resolved_at = "resolved", now
        events += _event(session, "incident_resolved", row, now,
                         f"{provider}:{row.external_id}:{now.isoformat()}")
    return events


def _event(session: Session, type_: str, row: Incident, now: datetime, key: str,
           **extra: Any) -> int:
    latest = row.updates[-1] if row.updates else None
    payload = {"provider": row.provider, "external_id": row.external_id, "title": row.title,
               "status": row.status, "impact": row.impact, "components": list(row.components),
               "started_at": row.started_at.isoformat(), "is_maintenance": row.is_maintenance,
               "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
               "latest_update": latest, **extra}
    severity = ("info" if type_ == "incident_resolved" or row.is_maintenance
                else _SEVERITY.get(row.impact or "", "info"))
    return int(record_event(session, type_, f"{type_}:{key}", payload, now, severity))
