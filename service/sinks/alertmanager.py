"""Alertmanager's v2 API: POST /api/v2/alerts, one alert per event.

Alertmanager knows an alert by its labels, so the labels are built from what the event is
about, never from when it was sent: a repeated POST updates the same alert instead of adding
one. `idempotency_key` (a hash of the event's identity) ties a condition's firing and its
resolution; a resolution is posted once per severity with `endsAt` set, so it ends the alert
whatever severity it fired with (Alertmanager never announces the end of an alert it did
not announce). Firing alerts carry an `endsAt` too, since factorwatch does not re-send them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any, Literal

import httpx

from service.sinks.base import Message, SinkSpec, check_url, iso, post
from service.sinks.config import SinkConfig
from service.sinks.events import SEVERITIES, AlertEvent
from service.sinks.render import headline, reasons, title

PATH = "/api/v2/alerts"
CONDITION_TTL = timedelta(hours=24)  # a condition not resolved by then ends on its own
EVENT_TTL = timedelta(hours=1)  # one-off events (a price change) stay visible this long
MAX_LABEL = 200


def idempotency_key(event: AlertEvent) -> str:
    return hashlib.sha256(event.identity.encode()).hexdigest()[:24]


def labels(event: AlertEvent, severity: str) -> dict[str, str]:
    out = {"alertname": f"factorwatch_{event.kind.family}", "severity": severity,
           "app": "factorwatch", "idempotency_key": idempotency_key(event)}
    for name in event.kind.subject:
        value = event.payload.get(name)
        if value is not None:
            out[name] = str(value)[:MAX_LABEL]
    if "provider" not in out and event.providers:
        out["provider"] = ",".join(event.providers)[:MAX_LABEL]
    return out


def _alerts(event: AlertEvent, links: dict[str, str]) -> list[dict[str, Any]]:
    annotations = {"summary": title(event),
                   "description": "\n".join([headline(event), *reasons(event)]),
                   "event_id": event.key, **links}
    base = {"annotations": annotations, "startsAt": iso(event.created_at),
            "generatorURL": links.get("dashboard") or links.get("api") or ""}
    if event.resolved:
        return [{**base, "labels": labels(event, sev), "endsAt": iso(event.created_at)}
                for sev in SEVERITIES]
    ttl = CONDITION_TTL if event.kind.condition else EVENT_TTL
    return [{**base, "labels": labels(event, event.severity),
             "endsAt": iso(event.created_at + ttl)}]


class AlertmanagerConfig(SinkConfig):
    type: Literal["alertmanager"]


class AlertmanagerSink:
    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec

    def validate(self) -> None:
        check_url(self.spec)

    def build_payload(self, message: Message) -> list[dict[str, Any]]:
        return [alert for e in message.events
                for alert in _alerts(e, self.spec.links.for_event(e))]

    async def send(self, message: Message, client: httpx.AsyncClient) -> None:
        self.validate()
        assert self.spec.url is not None
        base = self.spec.url.rstrip("/")
        target = base if base.endswith(PATH) else base + PATH
        spec = SinkSpec(self.spec.name, self.spec.type, target, None, self.spec.links,
                        self.spec.timeout)
        body = json.dumps(self.build_payload(message), sort_keys=True).encode()
        await post(client, spec, body, {"content-type": "application/json"})
