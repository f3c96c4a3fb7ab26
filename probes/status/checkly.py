"""Checkly status pages (status.mistral.ai until 2026-09): their two public JSON answers.

- /api/status-page/{slug}/unresolved-incidents: {"incidents": [...]}, each with `name`,
  `severity`, `created_at`, `lastUpdateStatus`, `services` and `incidentUpdates` (`status`,
  `description`, `publicIncidentUpdateDate`);
- /api/v1/summary.json: {"page", "activeIncidents": [...]}, each with `name`, `startedAt`,
  `status`, `severity` and `affectedServices`.
Both list only what is unresolved (`lists_all_open`: an incident no longer listed has
ended). Statuses are Statuspage's words in capitals (INVESTIGATING ... RESOLVED); severity
MINOR and MEDIUM are a minor impact, MAJOR major, CRITICAL critical. The services are the
components.
"""

from __future__ import annotations

from typing import Any

from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    clip,
    lifecycle,
    load_json,
    merge_duplicates,
    normalize_status,
    parse_each,
    parse_time,
)

NAME = "checkly"

_IMPACT = {"MINOR": "minor", "MEDIUM": "minor", "MAJOR": "major", "CRITICAL": "critical"}


def sniff(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("activeIncidents"), list):
        return True
    incidents = doc.get("incidents")
    return (isinstance(incidents, list) and "page" not in doc
            and all(isinstance(i, dict) and "incidentUpdates" in i for i in incidents))


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not sniff(doc):
        raise ParseError("not a Checkly status page answer: expected `incidents` (with "
                         "`incidentUpdates`) or `activeIncidents`")
    items = doc["activeIncidents"] if "activeIncidents" in doc else doc["incidents"]
    # One not read may still be open: then nothing is ended on this answer.
    found, warnings = parse_each(items, _incident, "an incident")
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=not warnings,
                        warnings=warnings)


def _incident(raw: Any) -> IncidentReport:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise ParseError("no id")
    updates = tuple(sorted((u for u in map(_update, raw.get("incidentUpdates") or []) if u),
                           key=lambda u: u.at))
    start = (parse_time(raw.get("startedAt")) or parse_time(raw.get("created_at"))
             or (updates[0].at if updates else None))
    if start is None:
        raise ParseError(f"incident {raw['id']}: no start time")
    status = (normalize_status(raw.get("lastUpdateStatus") or raw.get("status"))
              or lifecycle(updates, "investigating"))
    if status == "update":
        status = lifecycle(updates, "investigating")
    services = raw.get("services") if "services" in raw else raw.get("affectedServices")
    components = tuple(dict.fromkeys(
        s["name"] for s in services or [] if isinstance(s, dict) and isinstance(s.get("name"),
                                                                                str)))
    if not updates:  # the summary carries none: one at its start says which source listed it
        updates = (StatusUpdate(status, start, clip(str(raw.get("name") or ""))),)
    resolved_at = None
    if status == "resolved":
        resolved_at = parse_time(raw.get("updatedAt") or raw.get("updated_at")) or start
    url = raw.get("url")
    return IncidentReport(
        external_id=raw["id"], title=clip(str(raw.get("name") or "(untitled)"))[:500],
        status=status, started_at=start, impact=_IMPACT.get(str(raw.get("severity"))),
        components=components, resolved_at=resolved_at, updates=updates,
        url=url if isinstance(url, str) else None)


def _update(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    at = parse_time(raw.get("publicIncidentUpdateDate")) or parse_time(raw.get("created_at"))
    status = normalize_status(raw.get("status"))
    if at is None or status is None:
        return None
    update_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return StatusUpdate(status, at, clip(str(raw.get("description") or "")), update_id)
