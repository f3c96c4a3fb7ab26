"""Rootly status pages (status.mistral.ai since 2026-09): /api/v1/status.json.

{"page", "status": {"indicator", "description"}, "incidents": [...]}: Rootly documents it as
the page's status with its active incidents (docs.rootly.com, Status Page Public API), so it
is a snapshot of everything open (`lists_all_open`: an incident no longer listed has
ended). The only sample found lists none; an incident is read with Statuspage's fields
(`id`, `name`, `status`, `impact`, `started_at`/`created_at`, `incident_updates`,
`components`), which Rootly's page and status objects follow. An incident that cannot be
read is a warning, and then nothing is ended on that answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probes.status import statuspage
from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    load_json,
    parse_each,
)

NAME = "rootly"


def sniff(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("page"), dict)
            and isinstance(doc.get("status"), dict) and "indicator" in doc["status"]
            and isinstance(doc.get("incidents"), list)
            and "components" not in doc and "scheduled_maintenances" not in doc)


def parse(body: bytes) -> StatusReport:
    doc = load_json(body)
    if not sniff(doc):
        raise ParseError("not a Rootly status.json: expected `page`, `status` with an "
                         "`indicator` and an `incidents` list")
    # One not read may still be open: then nothing is ended on this answer.
    found, warnings = parse_each(doc["incidents"], _incident, "an incident")
    return StatusReport(NAME, tuple(found), lists_all_open=not warnings, warnings=warnings)


def _incident(raw: Any) -> IncidentReport:
    inc = statuspage.incident(raw, False)
    if inc.updates:
        return inc
    # One at its start, so that the store knows this source listed it (and may end it).
    return replace(inc, updates=(StatusUpdate(inc.status, inc.started_at, inc.title),))
