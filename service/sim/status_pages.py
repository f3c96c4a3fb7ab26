"""Simulated status pages and a price list, served by the fleet's own server (server.py).

    GET  /status/{page}/api/v2/summary.json   an Atlassian Statuspage v2 summary
    GET  /status/{page}/<path of a format>     the same incidents in another format
                                               (FORMAT_PATHS: Azure's RSS, Flashduty,
                                               Checkly, Rootly)
    GET  /pricing/litellm.json                 a price map in LiteLLM's shape
    POST /hooks/alerts                         a webhook receiver: answers 200, keeps a count

A page's incidents open and close on a schedule in seconds after the server started, like
the fleet's outages (behaviour.Outage), so a poller sees incidents open, update and resolve.
The summary's shape follows a real one (Anthropic's, tests' fixtures/real); so do the
other formats (the samples of Azure, DeepSeek and Mistral there).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

STATUS_PREFIX = "/status/"
SUMMARY_SUFFIX = "/api/v2/summary.json"
PRICES_PATH = "/pricing/litellm.json"
ALERTS_PATH = "/hooks/alerts"
# Where each format is served, after /status/{page}: the paths the real pages use.
FORMAT_PATHS = {"statuspage": SUMMARY_SUFFIX, "azure-status": "/en-us/status/feed/",
                "flashduty": "/api/status-page/1/summary/active",
                "checkly": "/api/status-page/sim/unresolved-incidents",
                "rootly": "/api/v1/status.json"}

# impact -> (component status, page indicator, page description)
_IMPACT = {"none": ("operational", "none", "All Systems Operational"),
           "minor": ("degraded_performance", "minor", "Partially Degraded Service"),
           "major": ("partial_outage", "major", "Partial System Outage"),
           "critical": ("major_outage", "critical", "Major System Outage")}
_ORDER = list(_IMPACT)


@dataclass(frozen=True)
class Incident:
    """Open from `start` seconds after the server started for `duration` seconds (None: until
    it stops), again every `every` seconds if set; each occurrence is its own incident."""

    name: str
    impact: str = "minor"  # minor | major | critical
    start: float = 0.0
    duration: float | None = None
    every: float | None = None

    def opened_at(self, elapsed: float) -> tuple[int, float] | None:
        """(occurrence number, its start) when one is open at `elapsed`, else None."""
        if elapsed < self.start:
            return None
        n = int((elapsed - self.start) // self.every) if self.every else 0
        began = self.start + n * (self.every or 0.0)
        if self.duration is not None and elapsed - began >= self.duration:
            return None
        return n, began


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _id(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12]


def summary(page: str, incidents: tuple[Incident, ...], started: datetime,
            elapsed: float) -> dict[str, Any]:
    """The page's summary.json `elapsed` seconds after the server started at `started`."""
    now = started + timedelta(seconds=elapsed)
    page_id = _id(page)
    open_ = [(inc, *found) for inc in incidents if (found := inc.opened_at(elapsed))]
    worst = max((inc.impact for inc, *_ in open_), key=_ORDER.index, default="none")
    component_status, indicator, description = _IMPACT[worst]
    component = {"created_at": _iso(started), "description": None, "group": False,
                 "group_id": None, "id": _id(page, "api"), "name": "API",
                 "only_show_if_degraded": False, "page_id": page_id, "position": 1,
                 "showcase": True, "start_date": started.date().isoformat(),
                 "status": component_status, "updated_at": _iso(now)}
    out = []
    for inc, n, began in open_:
        at = _iso(started + timedelta(seconds=began))
        incident_id = _id(page, inc.name, n)
        status = _IMPACT[inc.impact][0]
        update = {"affected_components": [{"code": component["id"], "name": "API",
                                           "new_status": status, "old_status": "operational"}],
                  "body": f"We are investigating: {inc.name.lower()}.", "created_at": at,
                  "custom_tweet": None, "deliver_notifications": True, "display_at": at,
                  "id": _id(incident_id, "update"), "incident_id": incident_id,
                  "status": "investigating", "tweet_id": None, "updated_at": at}
        out.append({"components": [{**component, "status": status}], "created_at": at,
                    "id": incident_id, "impact": inc.impact, "incident_updates": [update],
                    "monitoring_at": None, "name": inc.name, "page_id": page_id,
                    "reminder_intervals": None, "resolved_at": None,
                    "shortlink": f"https://status.example.invalid/{incident_id}",
                    "started_at": at, "status": "investigating", "updated_at": at})
    return {"page": {"id": page_id, "name": f"{page} (simulated)", "time_zone": "Etc/UTC",
                     "updated_at": _iso(now), "url": f"https://status.example.invalid/{page}"},
            "status": {"description": description, "indicator": indicator},
            "components": [component], "incidents": out, "scheduled_maintenances": []}


def status_path(page: str, fmt: str = "statuspage") -> str:
    """The path a page is served at in a format (a key of FORMAT_PATHS)."""
    return f"{STATUS_PREFIX}{page}{FORMAT_PATHS[fmt]}"


def status_document(path: str, pages: Mapping[str, tuple[Incident, ...]], started: datetime,
                    elapsed: float) -> tuple[str, bytes] | None:
    """(content type, body) of the page and format `path` names, or None for other paths."""
    if not path.startswith(STATUS_PREFIX):
        return None
    page, _, rest = path[len(STATUS_PREFIX):].partition("/")
    fmt = next((f for f, suffix in FORMAT_PATHS.items() if "/" + rest == suffix), None)
    if fmt is None or page not in pages:
        return None
    doc = summary(page, pages[page], started, elapsed)
    if fmt == "azure-status":
        return "application/rss+xml", azure_feed(doc, started + timedelta(seconds=elapsed))
    other = {"statuspage": lambda: doc, "flashduty": lambda: flashduty_active(doc),
             "checkly": lambda: checkly_unresolved(doc), "rootly": lambda: rootly_status(doc)}
    return "application/json", json.dumps(other[fmt]()).encode()


# As probes/status/flashduty.py reads them back: a full outage is a major incident.
_COMPONENT_STATUS = {"minor": "degraded", "major": "full_outage", "critical": "full_outage"}
_SEVERITY = {"minor": "MINOR", "major": "MAJOR", "critical": "CRITICAL"}


def _seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def azure_feed(doc: dict[str, Any], now: datetime) -> bytes:
    """Azure's status RSS: one item per open incident, the component as its category."""
    rfc822 = "%a, %d %b %Y %H:%M:%S Z"
    items = "".join(
        f"<item><guid isPermaLink=\"false\">{escape(inc['id'])}</guid>"
        f"<link>https://status.example.invalid/</link><category>API</category>"
        f"<title>{escape(inc['name'])} </title>"
        f"<description>{escape('<p>' + inc['incident_updates'][0]['body'] + '</p>')}"
        f"</description><pubDate>{datetime.fromisoformat(inc['started_at']):{rfc822}}"
        f"</pubDate></item>" for inc in doc["incidents"])
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Azure Status</title><link>https://status.example.invalid/</link>"
            f"<description>Azure Status</description><language>en-us</language>"
            f"<lastBuildDate>{now:{rfc822}}</lastBuildDate>{items}</channel></rss>").encode()


def flashduty_active(doc: dict[str, Any]) -> dict[str, Any]:
    """Flashduty's summary/active: the open incidents as `active_changes`."""
    api = {"component_id": doc["components"][0]["id"], "name": "API"}
    changes = [{"change_id": int(inc["id"], 16), "page_id": 1, "type": "incident",
                "title": inc["name"], "status": "investigating",
                "affected_components": [api], "start_at_seconds": _seconds(inc["started_at"]),
                "close_at_seconds": 0,
                "updates": [{"update_id": inc["incident_updates"][0]["id"],
                             "at_seconds": _seconds(inc["started_at"]),
                             "status": "investigating",
                             "description": inc["incident_updates"][0]["body"],
                             "component_changes": [{"component_id": api["component_id"],
                                                    "component_name": "API",
                                                    "status": _COMPONENT_STATUS[inc["impact"]]}]}]}
               for inc in doc["incidents"]]
    return {"request_id": doc["page"]["id"],
            "data": {"page": {"page_id": 1, "name": doc["page"]["name"],
                              "components": [api]}, "active_changes": changes}}


def checkly_unresolved(doc: dict[str, Any]) -> dict[str, Any]:
    """Checkly's unresolved-incidents: the open incidents and their updates."""
    return {"incidents": [
        {"id": inc["id"], "name": inc["name"], "severity": _SEVERITY[inc["impact"]],
         "duration": 0, "created_at": inc["started_at"], "updated_at": inc["updated_at"],
         "lastUpdateStatus": "INVESTIGATING",
         "services": [{"id": doc["components"][0]["id"], "name": "API"}],
         "incidentUpdates": [{"id": u["id"], "status": u["status"].upper(),
                              "description": u["body"], "publicIncidentUpdateDate":
                              u["display_at"], "created_at": u["created_at"]}
                             for u in inc["incident_updates"]]}
        for inc in doc["incidents"]]}


def rootly_status(doc: dict[str, Any]) -> dict[str, Any]:
    """Rootly's status.json: the page, its indicator and the open incidents."""
    return {"page": doc["page"], "status": doc["status"], "incidents": doc["incidents"]}


def litellm_prices(prices: Mapping[str, tuple[float, float, float | None]]
                   ) -> dict[str, Any]:
    """model -> (input, output, cached input) USD per million tokens, as LiteLLM writes it."""
    doc: dict[str, Any] = {}
    for model, (inp, out, cached) in prices.items():
        entry: dict[str, Any] = {"input_cost_per_token": inp / 1e6,
                                 "output_cost_per_token": out / 1e6,
                                 "litellm_provider": "factorwatch-sim", "mode": "chat"}
        if cached is not None:
            entry["cache_read_input_token_cost"] = cached / 1e6
        doc[model] = entry
    return doc


def now_utc() -> datetime:
    return datetime.now(UTC)
