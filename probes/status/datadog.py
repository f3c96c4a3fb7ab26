"""Datadog Status Pages: the one `config.json` a hosted page renders from (status.openrouter.ai).

The document holds the component tree (`ComponentGroup`s of `Component`s, each with its
current status), `incidents` and `maintenances` (a Go list: null when there are none). Each
incident carries `publishedDate`, a `resolved` flag with `resolvedDate`, and a `timeline` of
updates whose `startedAt` is when the update applies (`createdAt` is when it was typed in:
a back-filled incident shares one for every update). An incident's own `componentsAffected`
holds each component's status *now* (operational once resolved), so its impact is read from
the timeline. An incident's components are the affected components and the groups above
them, so a source can follow a whole group (`API - Gateway`). An entry with `deletedAt` was
withdrawn and is left out. Maintenances (`startDate`, `completedDate`, `currentStatus`
scheduled | in_progress | completed | canceled) were null in every sample seen.
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
    parse_time,
)

NAME = "datadog"

# Component status -> incident impact (a degraded component is a minor incident).
_IMPACT = {"degraded": "minor", "partial_outage": "minor", "major_outage": "major",
           "operational": "none", "maintenance": "none"}
_RANK = {None: -1, "none": 0, "minor": 1, "major": 2}


def sniff(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("components"), list)
            and "incidents" in doc and "page" not in doc
            and any(k in doc for k in ("pageUrl", "domainPrefix", "visualizationType")))


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not sniff(doc):
        raise ParseError("not a Datadog status page config.json: expected an object with "
                         "`components`, `incidents` and `pageUrl`")
    groups: dict[str, tuple[str, ...]] = {}  # component id -> names of the groups above it
    page: dict[str, str] = {}
    _walk(doc["components"], (), groups, page)
    warnings: list[str] = []
    found: list[IncidentReport] = []
    for key, maintenance in (("incidents", False), ("maintenances", True)):
        raw_list = doc.get(key)
        if raw_list is None:
            continue  # Go's empty list
        if not isinstance(raw_list, list):
            raise ParseError(f"`{key}` is {type(raw_list).__name__}, not a list")
        for raw in raw_list:
            if isinstance(raw, dict) and raw.get("deletedAt"):
                continue  # withdrawn by the page
            try:
                found.append(_incident(raw, maintenance, groups))
            except ParseError as exc:
                warnings.append(f"{key}: skipped an entry: {exc}")
    return StatusReport(NAME, merge_duplicates(found), warnings=tuple(warnings),
                        component_status=page)


def _walk(entries: list[Any], above: tuple[str, ...], groups: dict[str, tuple[str, ...]],
          page: dict[str, str]) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        if isinstance(entry.get("components"), list):  # a ComponentGroup
            _walk(entry["components"], (*above, entry["name"]), groups, page)
            continue
        if isinstance(entry.get("id"), str):
            groups[entry["id"]] = above
        if isinstance(entry.get("status"), str):
            page[entry["name"]] = entry["status"]


def _affected(raw: Any, groups: dict[str, tuple[str, ...]]) -> list[tuple[str, str | None]]:
    """(name, status) of each affected component, then the groups above them (no status)."""
    names: list[tuple[str, str | None]] = []
    above: list[str] = []
    for comp in raw if isinstance(raw, list) else []:
        if isinstance(comp, dict) and isinstance(comp.get("name"), str):
            status = comp.get("status") if isinstance(comp.get("status"), str) else None
            names.append((comp["name"], status))
            above.extend(groups.get(str(comp.get("id")), ()))
    return names + [(g, None) for g in dict.fromkeys(above)]


def _incident(raw: Any, maintenance: bool, groups: dict[str, tuple[str, ...]]
              ) -> IncidentReport:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise ParseError("no id")
    ext_id = raw["id"]
    start = parse_time(raw.get("startDate") if maintenance else None) or parse_time(
        raw.get("publishedDate"))
    if start is None:
        raise ParseError(f"incident {ext_id}: no publishedDate")
    if maintenance:  # no sample had one: its words are Datadog's (completed, canceled)
        over = raw.get("resolved") is True or raw.get("currentStatus") in ("completed",
                                                                           "canceled")
        raw = {**raw, "resolved": over,
               "resolvedDate": raw.get("completedDate") or raw.get("resolvedDate")}
    if not isinstance(raw.get("resolved"), bool):
        raise ParseError(f"incident {ext_id}: `resolved` is not true or false")
    updates: list[StatusUpdate] = []
    impact: str | None = None
    components: list[str] = []
    timeline = raw.get("timeline")
    for entry in timeline if isinstance(timeline, list) else []:
        if not isinstance(entry, dict):
            continue
        at = parse_time(entry.get("startedAt"))
        status = normalize_status(entry.get("status")) or "update"
        if at is None:
            continue  # `createdAt` is the filing time, not when it happened
        affected = _affected(entry.get("componentsAffected"), groups)
        for _, comp_status in affected:
            level = _IMPACT.get(comp_status or "")
            impact = level if _RANK[level] > _RANK[impact] else impact
        names = tuple(name for name, _ in affected)
        components.extend(names)
        update_id = entry.get("id") if isinstance(entry.get("id"), str) else None
        updates.append(StatusUpdate(status, at, clip(str(entry.get("description") or "")),
                                    update_id, names))
    components.extend(name for name, _ in _affected(raw.get("componentsAffected"), groups))
    updates.sort(key=lambda u: u.at)
    if not updates:  # every incident gets one, so the store knows which source listed it
        updates.append(StatusUpdate("scheduled" if maintenance else "investigating", start,
                                    clip(str(raw.get("description") or raw.get("title") or ""))))
    status = "resolved" if raw["resolved"] else (
        normalize_status(raw.get("currentStatus")) or lifecycle(tuple(updates),
                                                                "investigating"))
    if status == "resolved" and not raw["resolved"]:
        status = lifecycle(tuple(u for u in updates if u.status != "resolved"), "investigating")
    resolved_at = None
    if raw["resolved"]:
        resolved_at = (parse_time(raw.get("resolvedDate"))
                       or next((u.at for u in reversed(updates) if u.status == "resolved"),
                               None) or (updates[-1].at if updates else start))
    return IncidentReport(
        external_id=ext_id, title=str(raw.get("title") or "(untitled)")[:500], status=status,
        started_at=min([start, *(u.at for u in updates[:1])]),
        impact=None if maintenance else impact,
        components=tuple(dict.fromkeys(components)), resolved_at=resolved_at,
        updates=tuple(updates), is_maintenance=maintenance)
