"""AWS Health Dashboard's public current events: health.aws.amazon.com/public/currentevents.

One JSON list (served as UTF-16 with a byte-order mark) of the events open now or lately
closed, across every AWS service and region. An event has an `arn` (its id), `date` (its
start, Unix seconds as a string), `status` ("0" operating normally, "1" informational, "2"
degraded, "3" disrupted), `service` (a key such as bedrock-us-east-1) and `service_name`,
an `event_log` of updates, an `end_time` once closed, and, for a "Multiple services" event,
`impacted_services` with each service's key, name and worst status. An event's components
are its own and the impacted services' keys and names, so a source follows a product with
`components: [Amazon Bedrock]` (every region) or one key (`bedrock-us-east-1`).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
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
)

NAME = "aws-health"

_IMPACT = {"3": "major", "2": "minor", "1": "none"}
_RANK = {None: -1, "none": 0, "minor": 1, "major": 2}
_RESOLVED = re.compile(r"^\s*\[RESOLVED\]\s*", re.I)


def sniff(doc: Any) -> bool:
    return (isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
            and str(doc[0].get("arn", "")).startswith("arn:aws:health:")
            and "service" in doc[0])


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not isinstance(doc, list) or (doc and not sniff(doc)):
        raise ParseError("not AWS Health currentevents: expected a list of events with "
                         "`arn` and `service`")
    found, warnings = parse_each(doc, _event, "an event")
    # A list of what is open now (and lately closed): an open event no longer listed ended.
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=True, warnings=warnings)


def _epoch(raw: Any) -> datetime | None:
    try:
        value = float(raw)
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _event(raw: Any) -> IncidentReport:
    if not isinstance(raw, dict) or not isinstance(raw.get("arn"), str) or not raw["arn"]:
        raise ParseError("no arn")
    log = raw.get("event_log")
    log = [e for e in log if isinstance(e, dict)] if isinstance(log, list) else []
    updates = []
    for entry in log:
        at = _epoch(entry.get("timestamp"))
        if at is None:
            continue
        summary = str(entry.get("summary") or "")
        status = "resolved" if _RESOLVED.match(summary) else "update"
        text = html.unescape(re.sub(r"<[^>]+>", " ", str(entry.get("message") or summary)))
        updates.append(StatusUpdate(status, at, clip(text)))
    updates.sort(key=lambda u: u.at)
    if updates and updates[0].status == "update":
        updates[0] = StatusUpdate("investigating", updates[0].at, updates[0].body)
    start = _epoch(raw.get("date")) or (updates[0].at if updates else None)
    if start is None:
        raise ParseError(f"event {raw['arn']}: no date")
    if not updates:  # every event gets one, so the store knows which source listed it
        updates.append(StatusUpdate("investigating", start, clip(str(raw.get("summary") or ""))))
    end = _epoch(raw.get("end_time"))
    resolved = end is not None or str(raw.get("status")) == "0"
    impact = _IMPACT.get(str(raw.get("status")))
    components = [str(raw[k]) for k in ("service", "service_name") if raw.get(k)]
    impacted = raw.get("impacted_services")
    for key, svc in (impacted.items() if isinstance(impacted, dict) else []):
        components.append(str(key))
        if isinstance(svc, dict):
            if svc.get("service_name"):
                components.append(str(svc["service_name"]))
            level = _IMPACT.get(str(svc.get("max")))
            impact = level if _RANK[level] > _RANK[impact] else impact
    title = _RESOLVED.sub("", str(raw.get("summary") or "")) or "(untitled)"
    resolved_at = None
    if resolved:
        resolved_at = end or next((u.at for u in reversed(updates) if u.status == "resolved"),
                                  updates[-1].at if updates else start)
    return IncidentReport(
        external_id=raw["arn"], title=clip(title)[:500],
        status="resolved" if resolved else "investigating", started_at=start, impact=impact,
        components=tuple(dict.fromkeys(components)), resolved_at=resolved_at,
        updates=tuple(updates))
