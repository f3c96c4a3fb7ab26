"""Azure's status RSS feed (rssfeed.azure.status.microsoft/en-us/status/feed/): what is wrong
with Azure now, every service and region in one channel.

The feed lists current events only: a healthy Azure serves an empty channel, and an item
carries no state, no end and no impact. So an item is open (`investigating`) while it is
listed, and the report is a snapshot of everything open (`lists_all_open`, an empty channel
included): an incident the feed stops listing has ended, at the poll that saw it gone.
An item's `<category>` tags name the affected services and regions ("Network
Infrastructure", "West US"): they are its components. An item without any (the CrowdStrike
notice of 2024) can only be matched on its text. `pubDate` is when the item was first posted
(every later capture of one incident repeats it) and is taken as the start; the text says
when impact began, which is not parsed. The guid is a slug of the title ("issues-connecting-
to-resources-in-west-us"), which a later incident may repeat: an incident is keyed by guid
and pubDate. The description is revised in place: each distinct text is one update, timed
by the channel's lastBuildDate, i.e. when it was first served.
"""

from __future__ import annotations

import hashlib
import html
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    clip,
    merge_duplicates,
)

NAME = "azure-status"
_SIGNATURE = re.compile(rb"<rss\b.*?<title>\s*Azure Status\s*</title>", re.S)


def sniff(body: bytes) -> bool:
    return _SIGNATURE.search(body.lstrip()[:4096]) is not None


def parse(body: bytes) -> StatusReport:
    if not body.strip():
        raise ParseError("empty response")
    if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise ParseError("an HTML page, not the Azure status feed (a login wall or error page?)")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        # A cut body must not read as "nothing open": that would end every open incident.
        raise ParseError(f"not well-formed XML (truncated?): {exc}"[:300]) from None
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise ParseError(f"not the Azure status RSS feed: expected <rss><channel>, got "
                         f"<{root.tag}>"[:300])
    built = _time(channel.findtext("lastBuildDate"))
    found: list[IncidentReport] = []
    warnings: list[str] = []
    for item in channel.findall("item"):
        try:
            found.append(_item(item, built))
        except ParseError as exc:
            warnings.append(f"skipped item {item.findtext('title', '').strip()!r}: {exc}")
    # An item not read may still be open: end nothing on this answer.
    return StatusReport(NAME, merge_duplicates(found), lists_all_open=not warnings,
                        warnings=tuple(warnings))


def _item(item: ET.Element, built: datetime | None) -> IncidentReport:
    title = clip(html.unescape(item.findtext("title") or "")).strip()
    slug = (item.findtext("guid") or "").strip() or title
    if not slug:
        raise ParseError("no guid and no title")
    posted = _time(item.findtext("pubDate"))
    if posted is None:
        raise ParseError(f"no readable pubDate ({item.findtext('pubDate')!r})")
    # The guid is a slug of the title, which a later incident may well repeat.
    ext_id = f"{slug}@{posted.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    text = clip(_plain(item.findtext("description") or ""))
    categories = tuple(dict.fromkeys(c.text.strip() for c in item.findall("category")
                                     if c.text and c.text.strip()))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    seen_at = max(posted, built) if built is not None else posted
    update = StatusUpdate("investigating", seen_at, text, f"text-{digest}", categories)
    link = (item.findtext("link") or "").strip()
    return IncidentReport(ext_id, title[:500] or "(untitled)", "investigating", posted,
                          components=categories, updates=(update,), url=link or None,
                          text_only=not categories)


def _time(raw: str | None) -> datetime | None:
    """An RFC 822 date; Azure writes the zone as a bare "Z"."""
    if not raw or not raw.strip():
        return None
    try:
        value = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError):
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))
