"""What a status reader returns: incidents as the provider declared them, in one vocabulary.

Every format is mapped onto Statuspage's words, which most providers use: an incident's
lifecycle is investigating -> identified -> monitoring -> resolved; a maintenance's is
scheduled -> in_progress -> verifying -> resolved (Statuspage's "completed"); impact is
none | minor | major | critical (None when the format does not say). Times are tz-aware UTC.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying")
IMPACTS = ("none", "minor", "major", "critical")
_STATUS_ALIASES = {"postmortem": "resolved", "completed": "resolved", "in progress": "in_progress",
                   "update": "update"}  # "update": a note that does not change the status
MAX_BODY_CHARS = 2000  # an update's text kept; incident reports can run to 30 KB


class ParseError(ValueError):
    """The body is not the format it should be: the source changed shape or is broken."""


@dataclass(frozen=True)
class StatusUpdate:
    status: str  # a lifecycle status, or "update"
    at: datetime
    body: str = ""
    id: str | None = None
    components: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable identity across polls: the provider's id, else status and time."""
        return self.id or f"{self.status}@{self.at.isoformat()}"


@dataclass(frozen=True)
class IncidentReport:
    external_id: str
    title: str
    status: str
    started_at: datetime
    impact: str | None = None
    components: tuple[str, ...] = ()  # empty: the format did not say
    resolved_at: datetime | None = None
    updates: tuple[StatusUpdate, ...] = ()
    is_maintenance: bool = False
    url: str | None = None
    # A feed of unknown structure: components can only be looked for in the text.
    text_only: bool = False


@dataclass(frozen=True)
class StatusReport:
    format: str
    incidents: tuple[IncidentReport, ...]
    # True for a snapshot of everything unresolved (summary.json): an open incident that
    # is missing from the next snapshot has ended.
    lists_all_open: bool = False
    warnings: tuple[str, ...] = field(default=())
    # The page's components and their status at this moment (summary.json), by name.
    component_status: dict[str, str] = field(default_factory=dict)


def normalize_status(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip().lower().replace("-", " ")
    text = _STATUS_ALIASES.get(text, text).replace(" ", "_")
    known = (*INCIDENT_STATUSES, *MAINTENANCE_STATUSES, "update")
    return text if text in known else None


def normalize_impact(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw in IMPACTS else None


def parse_time(raw: Any) -> datetime | None:
    """An ISO 8601 time as aware UTC; a time without a zone is taken as UTC (API times are)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)


def json_text(body: bytes) -> str:
    """The text of a JSON body. AWS Health serves UTF-16 with a byte-order mark; JSON's own
    rule (RFC 8259) is UTF-8, which a BOM may precede."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_BE, "utf-16"),
                       (codecs.BOM_UTF16_LE, "utf-16")):
        if body.startswith(bom):
            return body.decode(codec)
    return body.decode("utf-8")


def load_json(body: bytes) -> Any:
    if not body.strip():
        raise ParseError("empty response")
    try:
        return json.loads(json_text(body))
    except (ValueError, UnicodeDecodeError) as exc:
        head = body.lstrip()[:15].decode("utf-8", "replace").lower()
        if head.startswith(("<!doctype html", "<html")):
            raise ParseError("an HTML page, not JSON (a login wall or error page?)") from None
        raise ParseError(f"not JSON: {exc}"[:200]) from None


def clip(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= MAX_BODY_CHARS else text[: MAX_BODY_CHARS - 1] + "…"


def lifecycle(updates: tuple[StatusUpdate, ...], fallback: str) -> str:
    """The status of the latest update that changed the status."""
    for update in sorted(updates, key=lambda u: u.at, reverse=True):
        if update.status != "update":
            return update.status
    return fallback


def parse_each(items: list[Any], parse_one: Callable[[Any], IncidentReport], noun: str
               ) -> tuple[list[IncidentReport], tuple[str, ...]]:
    """Every item parsed; one that cannot be is skipped with a warning naming why, so a bad
    entry never costs the rest of the page."""
    found: list[IncidentReport] = []
    warnings: list[str] = []
    for raw in items:
        try:
            found.append(parse_one(raw))
        except ParseError as exc:
            warnings.append(f"skipped {noun}: {exc}")
    return found, tuple(warnings)


def merge_duplicates(incidents: list[IncidentReport]) -> tuple[IncidentReport, ...]:
    """One report per external id (a feed may repeat an entry); updates are unioned."""
    by_id: dict[str, IncidentReport] = {}
    for inc in incidents:
        seen = by_id.get(inc.external_id)
        if seen is None:
            by_id[inc.external_id] = inc
            continue
        updates = {u.key: u for u in (*seen.updates, *inc.updates)}
        newer = inc if _last_time(inc) >= _last_time(seen) else seen
        by_id[inc.external_id] = IncidentReport(
            external_id=inc.external_id, title=newer.title, status=newer.status,
            started_at=min(seen.started_at, inc.started_at),
            impact=newer.impact or seen.impact or inc.impact,
            components=tuple(dict.fromkeys((*seen.components, *inc.components))),
            resolved_at=newer.resolved_at, is_maintenance=seen.is_maintenance or
            inc.is_maintenance, url=newer.url or seen.url,
            updates=tuple(sorted(updates.values(), key=lambda u: u.at)))
    return tuple(sorted(by_id.values(), key=lambda i: (i.started_at, i.external_id)))


def _last_time(inc: IncidentReport) -> datetime:
    return max([inc.started_at, *(u.at for u in inc.updates)])


def matches_components(incident: IncidentReport, wanted: list[str],
                       page: Mapping[str, str] | None = None) -> bool | None:
    """Whether an incident touches a wanted component (names compare case-insensitively).

    None means it cannot be told: the incident names no component. Two things still tell:
    a feed of unknown structure matches when its text names a wanted component; and a
    summary whose wanted components are all operational at this moment rules it out.
    """
    if not wanted:
        return True
    folded = [w.strip().casefold() for w in wanted]
    if incident.components:
        names = {c.strip().casefold() for c in incident.components}
        return any(w in names for w in folded)
    if incident.text_only:
        text = " ".join([incident.title, *(u.body for u in incident.updates)]).casefold()
        return any(w in text for w in folded)
    statuses = {k.strip().casefold(): v for k, v in (page or {}).items()}
    shown = [statuses[w] for w in folded if w in statuses]
    if shown and all(status == "operational" for status in shown):
        return False
    return None
