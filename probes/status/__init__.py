"""Status-page readers: one module per format, the same pure `parse(body)`, one registry.

    parse(body: bytes) -> StatusReport        (raises ParseError when the body is not it)

`fetch()` (probes/fetch.py) is the I/O; everything here is pure. A source's format is set
in the config or detected from the body (`detect`). Config validation checks format names
against READERS. Component filtering is the caller's (`matches_components`), since whether
an incident already stored keeps its updates is a storage decision.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from probes.status import (
    aws_health,
    azure,
    betterstack,
    checkly,
    datadog,
    feed,
    flashduty,
    gcp,
    incidentio,
    rootly,
    statuspage,
)
from probes.status.model import (
    IncidentReport,
    ParseError,
    StatusReport,
    StatusUpdate,
    json_text,
    matches_components,
)

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


@dataclass(frozen=True)
class Reader:
    parse: Callable[[bytes], StatusReport]
    sniff_json: Callable[[Any], bool] | None = None  # recognises a decoded JSON document
    sniff_bytes: Callable[[bytes], bool] | None = None  # recognises raw bytes (XML)


# Detection tries them in this order: incident.io and Rootly before Statuspage (they look
# like it), Azure's feed before the generic one.
READERS: dict[str, Reader] = {
    incidentio.NAME: Reader(incidentio.parse, sniff_json=incidentio.sniff),
    rootly.NAME: Reader(rootly.parse, sniff_json=rootly.sniff),
    statuspage.NAME: Reader(statuspage.parse, sniff_json=statuspage.sniff),
    datadog.NAME: Reader(datadog.parse, sniff_json=datadog.sniff),
    betterstack.NAME: Reader(betterstack.parse, sniff_json=betterstack.sniff),
    gcp.NAME: Reader(gcp.parse, sniff_json=gcp.sniff),
    aws_health.NAME: Reader(aws_health.parse, sniff_json=aws_health.sniff),
    flashduty.NAME: Reader(flashduty.parse, sniff_json=flashduty.sniff),
    checkly.NAME: Reader(checkly.parse, sniff_json=checkly.sniff),
    azure.NAME: Reader(azure.parse, sniff_bytes=azure.sniff),
    feed.NAME: Reader(feed.parse, sniff_bytes=feed.sniff),
}


def detect(body: bytes) -> str:
    """The format of `body`, or ParseError saying what it looks like instead."""
    stripped = body.lstrip()
    if not stripped:
        raise ParseError("empty response")
    doc: Any = None
    if stripped[:1] in (b"{", b"[") or stripped.startswith(_BOMS):
        try:
            doc = json.loads(json_text(stripped))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"not JSON: {exc}"[:200]) from None
    for name, reader in READERS.items():
        if doc is not None and reader.sniff_json and reader.sniff_json(doc):
            return name
        if doc is None and reader.sniff_bytes and reader.sniff_bytes(body):
            return name
    if stripped[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise ParseError("an HTML page, not a status feed (a login wall or error page?)")
    raise ParseError("unrecognised status format; set `format` "
                     f"(known: {', '.join(sorted(READERS))})")


def parse(body: bytes, fmt: str | None = None) -> StatusReport:
    """Parse `body` as `fmt`, or as the format it is detected to be."""
    return READERS[fmt or detect(body)].parse(body)


__all__ = ["READERS", "IncidentReport", "ParseError", "StatusReport", "StatusUpdate",
           "detect", "matches_components", "parse"]
