"""Google Cloud's incidents.json (status.cloud.google.com): every product's incidents.

The file covers all of Google Cloud, so a source must name the products it cares about
(`components`, e.g. [Vertex Gemini API]); the products an incident lists are its
components. An incident is open until it has an `end`. Google's words map onto ours:
status_impact SERVICE_OUTAGE -> major, SERVICE_DISRUPTION -> minor, SERVICE_INFORMATION ->
none; an update whose status is AVAILABLE -> resolved, any other -> investigating.
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
    parse_each,
    parse_time,
)

NAME = "google-cloud"
BASE_URL = "https://status.cloud.google.com/"

IMPACT = {"SERVICE_OUTAGE": "major", "SERVICE_DISRUPTION": "minor",
          "SERVICE_INFORMATION": "none"}


def sniff(doc: Any) -> bool:
    return (isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
            and "affected_products" in doc[0] and "begin" in doc[0])


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not isinstance(doc, list) or (doc and not sniff(doc)):
        raise ParseError("not Google Cloud incidents.json: expected a list of incidents "
                         "with `begin` and `affected_products`")
    found, warnings = parse_each(doc, _incident, "an incident")
    return StatusReport(NAME, merge_duplicates(found), warnings=warnings)


def _incident(raw: Any) -> IncidentReport:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise ParseError("no id")
    begin = parse_time(raw.get("begin")) or parse_time(raw.get("created"))
    if begin is None:
        raise ParseError(f"incident {raw['id']}: no begin time")
    end = parse_time(raw.get("end"))
    # A product keeps its old `title` when renamed (`current_title`): match either.
    products = tuple(dict.fromkeys(
        str(p[k]) for p in raw.get("affected_products") or [] if isinstance(p, dict)
        for k in ("title", "current_title") if isinstance(p.get(k), str)))
    updates = tuple(sorted((u for u in map(_update, raw.get("updates") or []) if u),
                           key=lambda u: u.at))
    uri = raw.get("uri")
    return IncidentReport(
        external_id=raw["id"], title=str(raw.get("external_desc") or "(untitled)")[:500],
        status="resolved" if end else "investigating", started_at=begin,
        impact=IMPACT.get(str(raw.get("status_impact"))), components=products,
        resolved_at=end, updates=updates,
        url=BASE_URL + uri if isinstance(uri, str) else None)


def _update(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    at = parse_time(raw.get("when")) or parse_time(raw.get("created"))
    if at is None:
        return None
    status = "resolved" if raw.get("status") == "AVAILABLE" else "investigating"
    return StatusUpdate(status, at, clip(str(raw.get("text") or "")), None)
