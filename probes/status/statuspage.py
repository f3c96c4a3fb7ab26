"""Atlassian Statuspage v2 JSON: summary.json, incidents.json, scheduled-maintenances.json.

All three hold incident objects (id, name, status, impact, started_at, resolved_at,
components, incident_updates); summary.json lists only what is unresolved, so it is flagged
`lists_all_open`. A maintenance runs from `scheduled_for` (not from when it was announced)
to `resolved_at`. incident.io's Statuspage-compatible JSON goes through here too
(probes/status/incidentio.py), with its quirks handled by `fill_start`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
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
    normalize_impact,
    normalize_status,
    parse_time,
)

NAME = "statuspage"

StartFiller = Callable[[dict[str, Any]], datetime | None]


def sniff(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("page"), dict)
            and any(isinstance(doc.get(k), list) for k in ("incidents", "scheduled_maintenances")))


def parse(body: bytes) -> StatusReport:
    return parse_document(load_json(body), NAME)


def parse_document(doc: Any, fmt: str, fill_start: StartFiller | None = None) -> StatusReport:
    if not sniff(doc):
        raise ParseError("not Statuspage JSON: expected an object with `page` and an "
                         "`incidents` or `scheduled_maintenances` list")
    warnings: list[str] = []
    found: list[IncidentReport] = []
    for key, maintenance in (("incidents", False), ("scheduled_maintenances", True)):
        for raw in doc.get(key) or []:
            try:
                found.append(incident(raw, maintenance, fill_start))
            except ParseError as exc:
                warnings.append(f"{key}: skipped an entry: {exc}")
    summary = isinstance(doc.get("components"), list) and isinstance(doc.get("status"), dict)
    page = {c["name"]: str(c.get("status")) for c in doc.get("components") or []
            if isinstance(c, dict) and isinstance(c.get("name"), str)} if summary else {}
    return StatusReport(fmt, merge_duplicates(found), lists_all_open=summary,
                        warnings=tuple(warnings), component_status=page)


def incident(raw: Any, maintenance: bool, fill_start: StartFiller | None = None
             ) -> IncidentReport:
    if not isinstance(raw, dict):
        raise ParseError(f"expected an object, got {type(raw).__name__}")
    ext_id = raw.get("id")
    if not isinstance(ext_id, str) or not ext_id:
        raise ParseError("no id")
    updates = tuple(sorted((u for u in map(_update, raw.get("incident_updates") or [])
                            if u is not None), key=lambda u: u.at))
    maintenance = maintenance or raw.get("impact") == "maintenance" or "scheduled_for" in raw
    start = ((parse_time(raw.get("scheduled_for")) if maintenance else None)
             or parse_time(raw.get("started_at")) or (fill_start(raw) if fill_start else None)
             or parse_time(raw.get("created_at"))
             or (updates[0].at if updates else None))
    if start is None:
        raise ParseError(f"incident {ext_id}: no start time")
    status = normalize_status(raw.get("status")) or lifecycle(updates, "investigating")
    resolved_at = None
    if status == "resolved":
        resolved_at = (parse_time(raw.get("resolved_at"))
                       or next((u.at for u in reversed(updates) if u.status == "resolved"), None)
                       or parse_time(raw.get("updated_at")) or start)
    components = [c.get("name") for c in raw.get("components") or [] if isinstance(c, dict)]
    for update in updates:
        components.extend(update.components)
    return IncidentReport(
        external_id=ext_id, title=str(raw.get("name") or "(untitled)")[:500], status=status,
        started_at=start, impact=normalize_impact(raw.get("impact")),
        components=tuple(dict.fromkeys(c for c in components if isinstance(c, str) and c)),
        resolved_at=resolved_at, updates=updates, is_maintenance=maintenance,
        url=raw.get("shortlink") if isinstance(raw.get("shortlink"), str) else None)


def _update(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    at = parse_time(raw.get("display_at")) or parse_time(raw.get("created_at"))
    status = normalize_status(raw.get("status"))
    if at is None or status is None:
        return None
    affected = raw.get("affected_components") or []
    names = tuple(a["name"] for a in affected
                  if isinstance(a, dict) and isinstance(a.get("name"), str))
    update_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return StatusUpdate(status, at, clip(str(raw.get("body") or "")), update_id, names)
