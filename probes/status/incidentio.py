"""incident.io status pages (status.openai.com): their Statuspage-compatible JSON.

It differs from Atlassian's: ids are ULIDs, incidents carry no `started_at`, no `shortlink`
and no `components` (so a component filter cannot rule them out), and there are no
scheduled maintenances. A ULID's first 10 characters are its creation time in ms, which
is the incident's start (it equals `created_at` in every sample we have).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from probes.status import statuspage
from probes.status.model import StatusReport, load_json

NAME = "incidentio"

_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_time(value: Any) -> datetime | None:
    """The creation time encoded in a ULID; None for anything that is not one."""
    if not isinstance(value, str) or not _ULID.fullmatch(value):
        return None
    millis = 0
    for char in value[:10]:
        millis = millis * 32 + _CROCKFORD.index(char)
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def sniff(doc: Any) -> bool:
    return statuspage.sniff(doc) and ulid_time(doc["page"].get("id")) is not None


def parse(body: bytes) -> StatusReport:
    return statuspage.parse_document(load_json(body), NAME,
                                     fill_start=lambda raw: ulid_time(raw.get("id")))
