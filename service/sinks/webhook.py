"""Generic JSON webhook, signed: HMAC-SHA256 over the timestamp and the body.

Headers: `X-Factorwatch-Timestamp` (Unix seconds), `X-Factorwatch-Signature`
(`sha256=` + hex HMAC of `<timestamp>.<body>` keyed by the sink's secret) and
`Idempotency-Key` (the same on every attempt to send one message, so a receiver can drop a
repeat). A receiver checks the signature with `verify_signature`, refusing old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import model_validator

from service.secrets import EnvName, read_secret
from service.sinks.base import Message, SinkError, SinkSpec, check_url, iso, post
from service.sinks.config import SinkConfig
from service.sinks.render import headline, reasons, title

SIGNATURE_HEADER = "X-Factorwatch-Signature"
TIMESTAMP_HEADER = "X-Factorwatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PAYLOAD_VERSION = 1


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, given: str,
                     now: float | None = None, tolerance: float = 300.0) -> bool:
    """For receivers: the signature matches and the timestamp is recent (no replays)."""
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), given)


class WebhookConfig(SinkConfig):
    type: Literal["webhook"]
    secret_env: EnvName | None = None  # the HMAC key: required, from a variable or a file
    secret_file: str | None = None

    @model_validator(mode="after")
    def _one_secret_source(self) -> WebhookConfig:
        if self.secret_env and self.secret_file:
            raise ValueError("set only one of secret_env and secret_file")
        if not (self.secret_env or self.secret_file):
            raise ValueError("a webhook sink signs what it sends: set secret_env or secret_file")
        return self

    def resolve_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        return read_secret(self.secret_env, self.secret_file, environ)


class WebhookSink:
    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec

    def validate(self) -> None:
        check_url(self.spec)
        if not self.spec.secret:
            raise SinkError("no signing secret: its secret_env or secret_file is not set",
                            permanent=True)

    def build_payload(self, message: Message) -> dict[str, Any]:
        return {
            "version": PAYLOAD_VERSION,
            "idempotency_key": message.key,
            "events": [{
                "id": e.key, "type": e.type, "family": e.kind.family,
                "state": "resolved" if e.resolved else "firing", "severity": e.severity,
                "created_at": iso(e.created_at), "title": title(e), "summary": headline(e),
                "reasons": reasons(e), "workload": e.workload,
                "candidates": list(e.candidates), "providers": list(e.providers),
                "links": self.spec.links.for_event(e), "payload": dict(e.payload),
            } for e in message.events],
        }

    async def send(self, message: Message, client: httpx.AsyncClient) -> None:
        self.validate()
        assert self.spec.secret is not None
        body = json.dumps(self.build_payload(message), sort_keys=True,
                          separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        await post(client, self.spec, body, {
            "content-type": "application/json", TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.spec.secret, stamp, body),
            IDEMPOTENCY_HEADER: message.key})
