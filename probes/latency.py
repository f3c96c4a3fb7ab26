"""The `latency` probe: one cheap streamed completion, timed as bytes arrive.

Phases (DESIGN.md, Measurement definitions): connect = TCP (+TLS) setup, 0.0 on a reused
pooled connection; TTFT = from the request starting to be sent (after connect) to the
arrival of the first content token; total = from the call to the end-of-stream marker,
connect included. Chunks are timestamped before they are parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import perf_counter
from typing import Any

import httpx

from probes.dialects import (
    DIALECTS,
    ContentDelta,
    Dialect,
    Finish,
    ProtocolError,
    ResponseHeaders,
    StopReason,
    StreamError,
    StreamEvent,
    Usage,
)
from probes.result import ErrorClass, ProbeResult
from probes.runner import scrub_secrets
from probes.sse import SSEEvent, SSEParser
from probes.target import Target

logger = logging.getLogger(__name__)

KIND = "latency"
ERROR_BODY_LIMIT = 4096  # enough for a provider's error message, never a whole page
DRAIN_SECONDS = 1.0  # after [DONE], read the body's end so the connection can be reused


class _Phases:
    """httpx/httpcore `trace` extension: connect and request-send timestamps."""

    def __init__(self) -> None:
        self.connect_started: float | None = None
        self.connect_done: float | None = None
        self.request_sent_at: float | None = None

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        now = perf_counter()
        if name.endswith(".connect_tcp.started"):
            self.connect_started = now
        elif name.endswith((".connect_tcp.complete", ".start_tls.complete")):
            self.connect_done = now
        elif name.endswith(".send_request_headers.started") and self.request_sent_at is None:
            self.request_sent_at = now

    @property
    def reused(self) -> bool | None:
        if self.request_sent_at is None:
            return None  # a transport without tracing (e.g. a mock): unknown
        return self.connect_started is None

    @property
    def connect_seconds(self) -> float | None:
        if self.connect_started is not None and self.connect_done is not None:
            return self.connect_done - self.connect_started
        return 0.0 if self.reused else None


@dataclass
class _Tally:
    token_times: list[float] = field(default_factory=list)
    chars: int = 0
    usage: Usage | None = None
    stop_reason: str | None = None
    finished_at: float | None = None
    error: StreamError | None = None
    body_bytes: int = 0
    headers_at: float | None = None
    last_chunk_at: float | None = None

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, ContentDelta):
            self.token_times.append(event.at)
            self.chars += len(event.text)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, StopReason):
            self.stop_reason = event.reason
        elif isinstance(event, Finish):
            self.finished_at = event.at
        elif isinstance(event, StreamError):
            self.error = event
        elif isinstance(event, ResponseHeaders):
            self.headers_at = event.at


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    dialect = DIALECTS.get(target.api)
    if dialect is None:
        return ProbeResult.failure(KIND, ErrorClass.MALFORMED, f"unknown api {target.api!r}")
    request = dialect.build_request(target)
    phases, tally = _Phases(), _Tally()
    started = perf_counter()
    async with client.stream(
        request.method,
        request.url,
        # identity: timestamps must be taken on the bytes the server sent, not a decoder's
        headers={**request.headers, "Accept-Encoding": "identity"},
        json=request.json,
        extensions={"trace": phases.trace},
        follow_redirects=False,  # never carry the key elsewhere; a redirect is reported
    ) as response:
        tally.add(ResponseHeaders(response.status_code, dict(response.headers), perf_counter()))
        failure = await _check_response(response, target)
        if failure is None:
            failure = await _read_stream(response, dialect, target, tally)
    measured = _measurements(tally, phases, started, response.status_code)
    if failure is not None:
        error_class, message, retry_after = failure
        return ProbeResult.failure(
            KIND, error_class, message, retry_after_seconds=retry_after, **measured
        )
    return ProbeResult(kind=KIND, ok=True, **measured)


_Failure = tuple[ErrorClass, str, float | None]


async def _check_response(response: httpx.Response, target: Target) -> _Failure | None:
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status == 200 and content_type.lower().startswith("text/event-stream"):
        return None
    body = _error_text(await _read_limited(response), target.api_key)
    if status == 200:
        what = "an HTML page" if "html" in content_type.lower() else "not an event stream"
        message = f"HTTP 200 with {content_type or 'no content-type'} ({what}): {body}"
        return ErrorClass.MALFORMED, message, None
    message = f"HTTP {status}: {body}"
    if status in (401, 403):
        return ErrorClass.AUTH, message, None
    if status == 429:
        retry_after = _retry_after_seconds(response.headers.get("retry-after"))
        return ErrorClass.RATE_LIMITED, message, retry_after
    if 400 <= status < 500:
        return ErrorClass.HTTP_4XX, message, None
    if status >= 500:
        return ErrorClass.HTTP_5XX, message, None
    # 1xx/2xx other than 200, or a redirect we refuse to follow: not the streaming protocol.
    location = response.headers.get("location")
    where = f" to {scrub_secrets(location, target.api_key)}" if location else ""
    return ErrorClass.MALFORMED, f"unexpected HTTP {status}{where}: {body}", None


async def _read_stream(
    response: httpx.Response, dialect: Dialect, target: Target, tally: _Tally
) -> _Failure | None:
    parser = SSEParser()
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    chunks = response.aiter_raw() if encoding in ("", "identity") else response.aiter_bytes()
    try:
        async for chunk in chunks:
            at = perf_counter()  # arrival time, before any parsing
            tally.last_chunk_at = at
            tally.body_bytes += len(chunk)
            if tally.body_bytes > target.max_body_bytes:
                return ErrorClass.MALFORMED, f"body over {target.max_body_bytes} bytes", None
            failure = _apply(dialect, parser.feed(chunk, at), tally)
            if failure or tally.finished_at is not None:
                break
        else:
            failure = _apply(dialect, parser.flush(), tally)
    except httpx.TimeoutException:
        raise  # the runner classes every timeout the same way
    except httpx.TransportError as exc:
        # The status line said 200 and then the connection went away mid-body.
        return ErrorClass.TRUNCATED, f"connection lost mid-stream: {exc}", None
    if failure is not None:
        return failure
    if tally.finished_at is None:
        return ErrorClass.TRUNCATED, "stream ended without its end-of-stream marker", None
    await _drain(chunks)
    if not tally.token_times:
        return ErrorClass.EMPTY_RESPONSE, "stream finished without a content token", None
    return None


def _apply(dialect: Dialect, events: list[SSEEvent], tally: _Tally) -> _Failure | None:
    for sse_event in events:
        try:
            stream_events = dialect.parse_event(sse_event)
        except ProtocolError as exc:
            return ErrorClass.MALFORMED, str(exc), None
        for event in stream_events:
            tally.add(event)
            if tally.error is not None:
                code = f" ({tally.error.code})" if tally.error.code else ""
                return (
                    ErrorClass.STREAM_ERROR,
                    f"error in stream{code}: {tally.error.message}",
                    None,
                )
            if tally.finished_at is not None:
                return None
    return None


async def _drain(chunks: Any) -> None:
    """Read what follows the end marker (normally the chunked terminator) so httpx can
    return the connection to its pool; give up quickly on a server that keeps it open."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass


def _measurements(tally: _Tally, phases: _Phases, started: float, status: int) -> dict[str, Any]:
    sent_at = phases.request_sent_at if phases.request_sent_at is not None else started
    times = tally.token_times
    end = tally.finished_at or tally.last_chunk_at or perf_counter()
    output_tokens, estimated = _output_tokens(tally)
    speed = None
    if output_tokens is not None and output_tokens >= 2 and len(times) >= 2:
        span = times[-1] - times[0]
        speed = (output_tokens - 1) / span if span > 0 else None
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    extra: dict[str, Any] = {
        "connection_reused": phases.reused,
        # the server's think time before its status line (blackbox's "processing" phase)
        "headers_seconds": tally.headers_at - sent_at if tally.headers_at else None,
        "itl_p50_seconds": _percentile(gaps, 0.50),
        "itl_p99_seconds": _percentile(gaps, 0.99),
        "finish_reason": tally.stop_reason,
    }
    return {
        "http_status": status,
        "connect_seconds": phases.connect_seconds,
        "ttft_seconds": times[0] - sent_at if times else None,
        "total_seconds": end - started,
        "input_tokens": tally.usage.input_tokens if tally.usage else None,
        "output_tokens": output_tokens,
        "output_tokens_estimated": estimated,
        "output_tokens_per_second": speed,
        "extra": extra,
    }


def _output_tokens(tally: _Tally) -> tuple[int | None, bool]:
    if tally.usage is not None and tally.usage.output_tokens is not None:
        return tally.usage.output_tokens, False
    if not tally.token_times:
        return None, False
    # No usage report: about four characters per token for English text, marked estimated.
    return max(1, round(tally.chars / 4)), True


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


async def _read_limited(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= ERROR_BODY_LIMIT:
            break
    return bytes(body[:ERROR_BODY_LIMIT])


def _error_text(body: bytes, secret: str | None) -> str:
    """The provider's own error message when the body is JSON, else the compacted text."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        obj = json.loads(text)
        error = obj.get("error") if isinstance(obj, dict) else None
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        elif isinstance(error, str):
            text = error
    text = " ".join(scrub_secrets(text, secret).split())
    return text[:300] or "(empty body)"


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
