"""RSS and Atom incident-history feeds, read with feedparser.

Dates come from each entry (feedparser turns every zone into UTC), never from the feed's own
<updated>, which only says when the feed was rebuilt. Three flavours:
- Statuspage (history.atom / history.rss): one entry per incident, its timeline in the HTML
  content ("Oct 7, 21:23 UTC  Resolved - ..."), dates without a year (taken from the entry's
  date), the incident code in the link, which is also its id in Statuspage JSON.
- incident.io (generator incident.io): one entry per incident with its current
  "Status: X" and "Affected components"; the ULID in the link gives the start time.
- anything else: one entry is one incident, resolved when its text says so, or when it is
  no longer listed.
"""

from __future__ import annotations

import html
import re
from calendar import timegm
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from probes.status.incidentio import ulid_time
from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    clip,
    lifecycle,
    merge_duplicates,
    normalize_status,
    parse_time,
)

NAME = "feed"

_TIMELINE = re.compile(  # feedparser's sanitizer drops the <var data-var=...> attributes
    r"<small>\s*(?P<month>[A-Z][a-z]{2})\s*<var[^>]*>\s*(?P<day>\d{1,2})\s*</var>\s*,?\s*"
    r"(?:<var[^>]*>\s*(?P<year>\d{4})\s*</var>\s*[,-]?\s*)?"
    r"<var[^>]*>\s*(?P<time>\d{1,2}:\d{2})\s*</var>\s*(?P<zone>[A-Z]{1,5})?"
    r"\s*</small>\s*<br\s*/?>\s*<strong>\s*(?P<status>[^<]+?)\s*</strong>\s*-?\s*"
    r"(?P<body>.*?)(?=<small>|</p>|$)", re.S)
_AFFECTED = re.compile(r"This (?:incident|scheduled maintenance) affected:\s*([^<]+?)\.?\s*<", re.S)
_IO_STATUS = re.compile(r"<b>\s*Status:\s*([^<]+?)\s*</b>", re.I)
_IO_COMPONENT = re.compile(r"<li>\s*([^<]+?)\s*(?:\([^()<]*\))?\s*</li>")
_TRUNCATED = re.compile(r"unclosed token|no element found|unexpected end", re.I)
_RESOLVED_WORDS = re.compile(r"\b(resolved|completed|operating normally|recovered)\b", re.I)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"), start=1)}
# Zones Statuspage writes after a timeline time (the page's display zone).
_ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
          "MDT": -6, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "BST": 1, "JST": 9}


def sniff(body: bytes) -> bool:
    head = body.lstrip()[:2048].lower()
    return head.startswith(b"<?xml") or b"<feed" in head or b"<rss" in head or b"<rdf" in head


def parse(body: bytes) -> StatusReport:
    if not body.strip():
        raise ParseError("empty response")
    doc = feedparser.parse(body)
    if not doc.get("version") and not doc.entries:
        reason = doc.get("bozo_exception")
        if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            raise ParseError("an HTML page, not a feed (a login wall or error page?)")
        raise ParseError(f"not an RSS or Atom feed{f': {reason}' if reason else ''}"[:300])
    reason = str(doc.get("bozo_exception") or "")
    if doc.get("bozo") and _TRUNCATED.search(reason):
        # The last entry may be cut mid-timeline and look open: keep the previous state.
        raise ParseError(f"truncated feed ({reason})"[:300])
    warnings = []
    if doc.get("bozo") and doc.entries:
        warnings.append(f"feed is not well-formed ({doc.get('bozo_exception')}); read "
                        f"{len(doc.entries)} entries anyway"[:300])
    incident_io = "incident.io" in str(doc.feed.get("generator", "")).lower()
    found: list[IncidentReport] = []
    for entry in doc.entries:
        try:
            found.append(_entry(entry, incident_io))
        except ParseError as exc:
            warnings.append(f"skipped entry {entry.get('id') or entry.get('link')!r}: {exc}")
    # A feed of unknown structure only shows what it still lists: an open incident that
    # drops out of it has ended (else an update-per-item feed would keep one open forever).
    generic = bool(found) and all(i.text_only for i in found)
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=generic,
                        warnings=tuple(warnings))


def _entry(entry: Any, incident_io: bool) -> IncidentReport:
    when = _entry_time(entry)
    link = str(entry.get("link") or "")
    ext_id = link.rstrip("/").rsplit("/", 1)[-1] if "/incidents/" in link else None
    ext_id = ext_id or str(entry.get("id") or link)
    if not ext_id:
        raise ParseError("no id or link")
    if when is None:
        raise ParseError("no date")
    text = _html(entry)
    title = clip(html.unescape(str(entry.get("title") or "(untitled)")))[:500]
    if incident_io or (ulid_time(ext_id) is not None and _IO_STATUS.search(text)):
        return _incident_io(ext_id, title, link, when, text)
    updates = _timeline(text, when)
    if updates:
        return _from_updates(ext_id, title, link, when, text, updates)
    status = "resolved" if _RESOLVED_WORDS.search(text + " " + title) else "investigating"
    update = StatusUpdate(status, when, clip(_plain(text)))
    return IncidentReport(ext_id, title, status, when, updates=(update,), url=link or None,
                          resolved_at=when if status == "resolved" else None, text_only=True)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        # Atom dates are ISO 8601 (keep their milliseconds); RSS dates are RFC 822, which
        # feedparser has parsed into UTC.
        exact = parse_time(entry.get(key))
        parsed = entry.get(f"{key}_parsed")
        if exact is not None or parsed:
            return exact or datetime.fromtimestamp(timegm(parsed), UTC)
    return None


def _html(entry: Any) -> str:
    content = entry.get("content")
    if content:
        return str(content[0].get("value") or "")
    return str(entry.get("summary") or entry.get("description") or "")


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _timeline(text: str, published: datetime) -> list[StatusUpdate]:
    updates = []
    for m in _TIMELINE.finditer(text):
        status = normalize_status(m["status"])
        month = _MONTHS.get(m["month"])
        if status is None or month is None:
            continue
        hour, minute = (int(x) for x in m["time"].split(":"))
        offset = timedelta(hours=_ZONES.get(m["zone"] or "UTC", 0))
        year = int(m["year"]) if m["year"] else published.year
        try:
            at = datetime(year, month, int(m["day"]), hour, minute, tzinfo=UTC) - offset
            if not m["year"] and at > published + timedelta(days=1):
                at = at.replace(year=year - 1)  # a December update in a January entry
        except ValueError:
            continue
        updates.append(StatusUpdate(status, at, clip(_plain(m["body"]))))
    return sorted(updates, key=lambda u: u.at)


def _from_updates(ext_id: str, title: str, link: str, when: datetime, text: str,
                  updates: list[StatusUpdate]) -> IncidentReport:
    status = lifecycle(tuple(updates), "investigating")
    affected = _AFFECTED.search(text)
    components = (tuple(c.strip() for c in re.split(r",\s*|\s+and\s+", _plain(affected[1]))
                        if c.strip()) if affected else ())
    maintenance = any(u.status in ("scheduled", "in_progress", "verifying") for u in updates) \
        or "scheduled maintenance" in text.lower()
    resolved = next((u.at for u in reversed(updates) if u.status == "resolved"), when)
    return IncidentReport(ext_id, title, status, updates[0].at, components=components,
                          resolved_at=resolved if status == "resolved" else None,
                          updates=tuple(updates), is_maintenance=maintenance, url=link or None)


def _incident_io(ext_id: str, title: str, link: str, when: datetime, text: str
                 ) -> IncidentReport:
    found = _IO_STATUS.search(text)
    status = normalize_status(found[1]) if found else None
    status = status if status and status != "update" else (
        "resolved" if _RESOLVED_WORDS.search(text) else "investigating")
    components = tuple(dict.fromkeys(html.unescape(c) for c in _IO_COMPONENT.findall(text)))
    start = ulid_time(ext_id)
    start = start if start is not None and start <= when else when
    body = clip(_plain(_IO_STATUS.sub("", text).split("Affected components")[0]))
    update = StatusUpdate(status, when, body, components=components)
    return IncidentReport(ext_id, title, status, start, components=components,
                          resolved_at=when if status == "resolved" else None, updates=(update,),
                          is_maintenance=status in ("scheduled", "in_progress", "verifying"),
                          url=link or None)
