"""Flashduty (Flashcat) status pages (status.deepseek.com): their JSON API.

Every answer is {"request_id", "data"}. Three endpoints under
/api/status-page/{page_id}/, all holding the same "change" objects:
- summary/active: the page, its components and `active_changes`, everything open now
  (`lists_all_open`: a change no longer listed has ended);
- change/list?start_at_seconds=&end_at_seconds=: `items`, the changes of a time window;
- change/info?change_id=: one change.
A change is an incident or a maintenance (`type`), with `status` (incidents: investigating,
identified, monitoring, resolved; maintenances: scheduled, ongoing, completed), times in Unix
seconds (`start_at_seconds`, `close_at_seconds`), `affected_components` and `updates`. An
update's `component_changes` set the components' status (operational, degraded,
partial_outage, full_outage): the worst of them is the impact. Records migrated from the page's
Statuspage days have an empty update_id.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
)

NAME = "flashduty"

_STATUS = {"ongoing": "in_progress"}  # a maintenance's word; the rest are Statuspage's
_IMPACT = {"degraded": "minor", "partial_outage": "minor", "full_outage": "major",
           "operational": "none"}
_RANK = {None: -1, "none": 0, "minor": 1, "major": 2}


def sniff(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    data = doc.get("data")
    return ("request_id" in doc and isinstance(data, dict)
            and (isinstance(data.get("active_changes"), list)
                 or isinstance(data.get("items"), list) or "change_id" in data))


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        error = doc["error"]
        raise ParseError(f"Flashduty answered an error: {error.get('code')}: "
                         f"{error.get('message')}"[:300])
    if not sniff(doc):
        raise ParseError("not a Flashduty status page answer: expected `data` with "
                         "`active_changes`, `items` or one change")
    data = doc["data"]
    snapshot = isinstance(data.get("active_changes"), list)
    if snapshot:
        items = data["active_changes"]
    elif isinstance(data.get("items"), list):
        items = data["items"]
    else:
        items = [data]  # change/info: one change
    # One not read may still be open: then nothing is ended on this answer.
    found, warnings = parse_each(items, _change, "a change")
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=snapshot and not warnings,
                        warnings=warnings)


def _change(raw: Any) -> IncidentReport:
    if not isinstance(raw, dict) or raw.get("change_id") in (None, ""):
        raise ParseError("no change_id")
    ext_id = str(raw["change_id"])
    start = _seconds(raw.get("start_at_seconds"))
    if start is None:
        raise ParseError(f"change {ext_id}: no start_at_seconds")
    maintenance = raw.get("type") == "maintenance"
    updates = tuple(sorted((u for u in map(_update, raw.get("updates") or []) if u),
                           key=lambda u: u.at))
    raw_status = str(raw.get("status") or "")
    status = normalize_status(_STATUS.get(raw_status, raw_status))
    if status is None or status == "update":
        status = lifecycle(updates, "scheduled" if maintenance else "investigating")
    resolved_at = None
    if status == "resolved":
        resolved_at = (_seconds(raw.get("close_at_seconds"))
                       or next((u.at for u in reversed(updates) if u.status == "resolved"),
                               None) or start)
    components = [c.get("name") for c in raw.get("affected_components") or []
                  if isinstance(c, dict)]
    impact: str | None = None
    for item in raw.get("updates") or []:
        for change in item.get("component_changes") or [] if isinstance(item, dict) else []:
            level = _IMPACT.get(str(change.get("status"))) if isinstance(change, dict) else None
            impact = level if _RANK[level] > _RANK[impact] else impact
    title = clip(str(raw.get("title") or "(untitled)"))[:500]
    if not updates:  # one at its start, so that the store knows which source listed it
        updates = (StatusUpdate(status, start, title),)
    return IncidentReport(
        external_id=ext_id, title=title,
        status=status, started_at=start, impact=None if maintenance else impact,
        components=tuple(dict.fromkeys(c for c in components if isinstance(c, str) and c)),
        resolved_at=resolved_at, updates=updates, is_maintenance=maintenance)


def _update(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    at = _seconds(raw.get("at_seconds"))
    raw_status = str(raw.get("status") or "")
    status = normalize_status(_STATUS.get(raw_status, raw_status))
    if at is None or status is None:
        return None
    names = tuple(c["component_name"] for c in raw.get("component_changes") or []
                  if isinstance(c, dict) and isinstance(c.get("component_name"), str))
    update_id = raw.get("update_id") if isinstance(raw.get("update_id"), str) else None
    return StatusUpdate(status, at, clip(str(raw.get("description") or "")),
                        update_id or None, names)


def _seconds(raw: Any) -> datetime | None:
    """Unix seconds; 0 or absent is no time (an open change has no close)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        return None
    try:
        return datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        return None
