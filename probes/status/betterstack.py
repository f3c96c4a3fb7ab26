"""Better Stack status pages: `index.json`, the JSON:API document a page is built from
(status.together.ai/index.json).

`data` is the page (its `aggregate_state`); `included` holds its sections, its resources
(the monitored services, `public_name` and current `status`: operational, degraded,
downtime, maintenance, not_monitored), the recent status reports and their updates. A
report is an incident, or a maintenance when `report_type` is `maintenance`; it runs from
`starts_at` to `ends_at` and says it is over with `aggregate_state: resolved`. Its
components are the affected resources and their sections. Updates carry no lifecycle
status, only a message (a report without one gets one at its start, so that the store
can tell which source listed it). Resource downtime that no report was written for is not an
incident here (it is in the resources' status and history, not read).
"""

from __future__ import annotations

from typing import Any

from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    clip,
    load_json,
    merge_duplicates,
    parse_time,
)

NAME = "betterstack"

_IMPACT = {"downtime": "major", "degraded": "minor"}
_RANK = {None: 0, "minor": 1, "major": 2}


def sniff(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("data"), dict)
            and doc["data"].get("type") == "status_page" and isinstance(doc.get("included"),
                                                                        list))


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not sniff(doc):
        raise ParseError("not a Better Stack index.json: expected `data` of type status_page "
                         "and an `included` list")
    by_type: dict[str, dict[str, dict[str, Any]]] = {}
    for item in doc["included"]:
        if (isinstance(item, dict) and isinstance(item.get("type"), str)
                and isinstance(item.get("attributes"), dict) and item.get("id") is not None):
            by_type.setdefault(item["type"], {})[str(item["id"])] = item
    sections = {k: str(v["attributes"].get("name") or "")
                for k, v in by_type.get("status_page_section", {}).items()}
    resources: dict[str, tuple[str, ...]] = {}  # resource id -> its name and section's
    page: dict[str, str] = {}
    for rid, item in by_type.get("status_page_resource", {}).items():
        attrs = item["attributes"]
        name = attrs.get("public_name")
        if not isinstance(name, str) or not name:
            continue
        section = sections.get(str(attrs.get("status_page_section_id")), "")
        resources[rid] = (name, section) if section else (name,)
        if isinstance(attrs.get("status"), str):
            page[name] = attrs["status"]
    warnings: list[str] = []
    found: list[IncidentReport] = []
    for rid, item in by_type.get("status_report", {}).items():
        try:
            found.append(_report(rid, item, resources, by_type.get("status_update", {})))
        except ParseError as exc:
            warnings.append(f"status_report {rid}: skipped: {exc}")
    # The page shows what is going on now and lately: an open report no longer listed ended.
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=True,
                        warnings=tuple(warnings), component_status=page)


def _report(rid: str, item: dict[str, Any], resources: dict[str, tuple[str, ...]],
            all_updates: dict[str, dict[str, Any]]) -> IncidentReport:
    attrs = item["attributes"]
    start = parse_time(attrs.get("starts_at"))
    if start is None:
        raise ParseError("no starts_at")
    ends = parse_time(attrs.get("ends_at"))
    maintenance = attrs.get("report_type") == "maintenance"
    state = attrs.get("aggregate_state")
    resolved = state == "resolved" or (state is None and ends is not None)
    components: list[str] = []
    impact: str | None = None
    affected_list = attrs.get("affected_resources")
    for affected in affected_list if isinstance(affected_list, list) else []:
        if not isinstance(affected, dict):
            continue
        components.extend(resources.get(str(affected.get("status_page_resource_id")), ()))
        level = _IMPACT.get(str(affected.get("status")))
        impact = level if _RANK[level] > _RANK[impact] else impact
    rel = item.get("relationships")
    linked = rel.get("status_updates") if isinstance(rel, dict) else None
    linked = linked.get("data") if isinstance(linked, dict) else None
    updates = []
    for ref in linked if isinstance(linked, list) else []:
        update = all_updates.get(str(ref.get("id"))) if isinstance(ref, dict) else None
        at = parse_time(update["attributes"].get("published_at")) if update else None
        if update is None or at is None:
            continue
        updates.append(StatusUpdate("update", at, clip(str(update["attributes"].get("message")
                                                            or "")), f"update-{ref['id']}"))
    updates.sort(key=lambda u: u.at)
    if maintenance:
        status = "resolved" if resolved else ("in_progress" if state == "maintenance"
                                              else "scheduled")
    else:
        status = "resolved" if resolved else "investigating"
    if not updates:  # every report gets one, so the store knows which source listed it
        updates.append(StatusUpdate("scheduled" if maintenance else "investigating", start,
                                    clip(str(attrs.get("title") or ""))))
    resolved_at = (ends or updates[-1].at) if resolved else None
    return IncidentReport(
        external_id=rid, title=str(attrs.get("title") or "(untitled)")[:500], status=status,
        started_at=start, impact=None if maintenance else impact,
        components=tuple(dict.fromkeys(components)), resolved_at=resolved_at,
        updates=tuple(updates), is_maintenance=maintenance)
