"""Simulated status pages and a price list, served by the fleet's own server (server.py).

    GET  /status/{page}/api/v2/summary.json   an Atlassian Statuspage v2 summary
    GET  /pricing/litellm.json                 a price map in LiteLLM's shape
    POST /hooks/alerts                         a webhook receiver: answers 200, keeps a count

A page's incidents open and close on a schedule in seconds after the server started, like
the fleet's outages (behaviour.Outage), so a poller sees incidents open, update and resolve.
The summary's shape follows a real one (Anthropic's, tests' fixtures/real).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

STATUS_PREFIX = "/status/"
SUMMARY_SUFFIX = "/api/v2/summary.json"
PRICES_PATH = "/pricing/litellm.json"
ALERTS_PATH = "/hooks/alerts"

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


def status_page_of(path: str) -> str | None:
    """The page a summary.json path names, or None when it is not one."""
    if path.startswith(STATUS_PREFIX) and path.endswith(SUMMARY_SUFFIX):
        page = path[len(STATUS_PREFIX):-len(SUMMARY_SUFFIX)]
        return page if page and "/" not in page else None
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)
