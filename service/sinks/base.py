"""What every sink shares: the interface, the message it sends, its error, one HTTP POST.

A sink turns a Message (the events grouped into one notification, with the idempotency
key that a repeat carries again) into its receiver's format with a pure `build_payload`,
and `send`s it. Failures raise SinkError, which says whether trying again can help and how
long the receiver asked us to wait. The URL is a secret: it never appears in an error.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from probes.redact import scrub
from service import __version__
from service.sinks.config import SinkConfig
from service.sinks.events import AlertEvent
from service.sinks.render import Links

USER_AGENT = f"factorwatch/{__version__}"
MAX_RETRY_AFTER = 86400.0
# Statuses worth trying again: timeouts, too early, throttled, and every server error.
TEMPORARY_4XX = frozenset({408, 425, 429})


class SinkError(Exception):
    """A failed delivery. `permanent`: the same request will never work (404, 410, 400)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class SinkSpec:
    """A configured sink with its secrets resolved (they are left out of repr)."""

    name: str
    type: str
    url: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)  # HMAC key of the webhook sink
    links: Links = field(default_factory=Links)
    timeout: float = 10.0
    # The sink's validated config entry, its own model: where a sink reads its own options.
    config: SinkConfig | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Message:
    key: str  # the idempotency key: the same on every attempt to send this message
    events: tuple[AlertEvent, ...]


class Sink(Protocol):
    spec: SinkSpec

    def validate(self) -> None:
        """Raise SinkError(permanent=True) if this sink cannot send at all."""

    def build_payload(self, message: Message) -> Any:
        """The body to send: pure, so a retry sends the same thing."""

    async def send(self, message: Message, client: httpx.AsyncClient) -> None:
        """Deliver, or raise SinkError."""


def check_url(spec: SinkSpec) -> None:
    if not spec.url:
        raise SinkError("no URL: its webhook_url_env or webhook_url_file is not set",
                        permanent=True)
    parts = urlsplit(spec.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SinkError("the URL is not an http(s) URL", permanent=True)


def secrets_of(spec: SinkSpec) -> list[str]:
    """Every piece of the sink's secrets that could show up in a message."""
    out = [spec.secret] if spec.secret else []
    if spec.url:
        parts = urlsplit(spec.url)
        out += [spec.url, spec.url.split("?")[0], parts.netloc + parts.path, parts.path,
                parts.query, *(seg for seg in parts.path.split("/") if len(seg) >= 8)]
        if parts.password:
            out.append(parts.password)
    return sorted({s for s in out if s and s != "/"}, key=len, reverse=True)


class RedactFilter(logging.Filter):
    """Scrubs registered secrets from log records, e.g. httpx's `HTTP Request: POST <url>`."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets |= {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        with self._lock:
            secrets = list(self._secrets)
        clean = scrub(text, secrets)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


# httpx logs every request's full URL at INFO on its own logger, whichever client sends it;
# loggers are process-wide, so this filter is too. Sinks register their URLs with it.
REDACT = RedactFilter()
logging.getLogger("httpx").addFilter(REDACT)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def check_response(response: httpx.Response, spec: SinkSpec) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    body = scrub(response.text[:200].strip(), secrets_of(spec))
    message = f"HTTP {status}" + (f": {body}" if body else "")
    if status == 429:
        raise SinkError(message, permanent=False, status=status,
                        retry_after=retry_after_seconds(response.headers.get("retry-after")))
    if 300 <= status < 400:
        raise SinkError(f"{message} (a redirect: the URL has moved)", permanent=True,
                        status=status)
    permanent = status < 500 and status not in TEMPORARY_4XX
    raise SinkError(message, permanent=permanent, status=status,
                    retry_after=retry_after_seconds(response.headers.get("retry-after")))


async def post(client: httpx.AsyncClient, spec: SinkSpec, body: bytes,
               headers: dict[str, str]) -> None:
    """POST `body` to the sink's URL; any failure becomes a SinkError without the URL."""
    check_url(spec)
    assert spec.url is not None
    try:
        response = await client.post(spec.url, content=body, timeout=spec.timeout,
                                     headers={"user-agent": USER_AGENT, **headers})
    except httpx.TimeoutException:
        raise SinkError(f"no answer within {spec.timeout:g}s", permanent=False) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = scrub(str(exc), secrets_of(spec)) or "no detail"
        raise SinkError(f"{type(exc).__name__}: {reason}", permanent=False) from None
    check_response(response, spec)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
