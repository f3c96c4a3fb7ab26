"""One streamed exchange with a model, timed as bytes arrive: the core every probe uses.

Phases (docs/architecture.md, Measurement definitions): connect = TCP (+TLS) setup, 0.0 on a reused
pooled connection; TTFT = from the request starting to be sent (after connect) to the
arrival of the first content token, reasoning included; first answer = the same to the first
content token that is not reasoning; total = from the call to the end-of-stream marker,
connect included. Chunks carry the time their bytes reached the machine (probes/arrival.py),
however long the loop took to parse them; on other transports, the time they were read.

A read's stamp is the arrival of its newest bytes. It is wrong for what it times only when
bytes that came later were read with it, which a reading process on time does not let
happen. So a result is flagged timing_unreliable (docs/scoring.md) when one read brought
two of the moments it times (the status line and the first token, or the first two tokens:
they share a stamp) and the reading process was late on it by more than LATE_READ_SECONDS.
A read that brought one of them alone keeps its right stamp however late it was made.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import httpx

from probes.auth import CredentialsError
from probes.dialects import (
    DIALECTS,
    Chat,
    Dialect,
    Finish,
    ProtocolError,
    ResponseHeaders,
    StreamError,
    StreamEvent,
)
from probes.eventstream import EventStreamError, EventStreamParser
from probes.http_errors import Failure, check_response
from probes.receiver import reader_failed
from probes.result import ErrorClass, ProbeResult
from probes.sse import SSEEvent, SSEParser
from probes.tally import Tally, ToolCall
from probes.target import Target

DRAIN_SECONDS = 1.0  # after the end marker, read the body's end so the connection is reused
# A read that brought two timed moments, made later than this, may carry a stamp up to that
# much late (bench/RESULTS.md, Timing unreliable). Below it: a server that wrote them
# together, or an error too small to matter.
LATE_READ_SECONDS = 0.001

__all__ = ["Exchange", "ToolCall", "exchange"]


class _Lateness:
    """How late the reading process made the reads of the status line and of the first
    token (None: this transport does not say, e.g. behind a proxy)."""

    def __init__(self) -> None:
        self.headers: float | None = None
        self.first_token: float | None = None

    def of_merged_reads(self, tally: Tally) -> float | None:
        """The lateness of a read that brought the status line with the first token, or
        the first token with the second; 0.0 when no read did."""
        if self.headers is None:
            return None
        times = tally.token_times
        merged = [late for late, same in (
            (self.headers, bool(times) and tally.headers_at == times[0]),
            (self.first_token, len(times) > 1 and times[0] == times[1])) if same]
        return max((late for late in merged if late is not None), default=0.0)


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

    def sent_through(self, network: Any) -> None:
        """Where the connection knows when the request's first byte went to the kernel
        (probes/arrival.py), that is when it started being sent: the trace event comes
        before httpcore has even encoded the request."""
        sent_at = getattr(network, "request_sent_at", None)
        if sent_at is not None and self.request_sent_at is not None:
            self.request_sent_at = sent_at

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
class Exchange:
    """What one request produced: a failure or none, the timings, and the answer."""

    failure: Failure | None
    measured: dict[str, Any] = field(default_factory=dict)  # ProbeResult keyword arguments
    text: str = ""  # the generated text (not reasoning, not tool arguments)
    tool_calls: list[ToolCall] = field(default_factory=list)

    def result(self, kind: str, extra: dict[str, Any] | None = None) -> ProbeResult:
        measured = dict(self.measured)
        measured["extra"] = {**measured.get("extra", {}), **(extra or {})}
        if self.failure is not None:
            error_class, message, retry_after = self.failure
            return ProbeResult.failure(
                kind, error_class, message, retry_after_seconds=retry_after, **measured
            )
        return ProbeResult(kind=kind, ok=True, **measured)


async def exchange(target: Target, client: httpx.AsyncClient, chat: Chat | None = None
                   ) -> Exchange:
    """Send one streaming request for `chat` and read the answer to its end marker."""
    dialect = DIALECTS.get(target.api)
    if dialect is None:
        return Exchange((ErrorClass.MALFORMED, f"unknown api {target.api!r}", None))
    request = dialect.build_request(target, chat)
    # The body as httpx would encode it, so that credentials can sign these exact bytes.
    body = json.dumps(request.json, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()
    headers = dict(request.headers)
    secrets: list[str | None] = [target.api_key]  # scrubbed from any error text
    if target.credentials is not None:
        try:  # before the clock starts: a token refresh is not the provider's latency
            signed = await target.credentials.authorize(request, body)
        except CredentialsError as exc:
            return Exchange((ErrorClass.AUTH, f"no credentials: {exc}", None))
        headers.update(signed)
        # each header's value and its last word (the token of "Bearer <token>"); short
        # values (a date, a flag) are no secret, and scrubbing them would garble messages
        secrets += [p for value in signed.values() for p in (value, *value.split()[-1:])
                    if len(p) >= 8]
    phases, tally, late = _Phases(), Tally(), _Lateness()
    started = perf_counter()
    async with client.stream(
        request.method,
        request.url,
        # identity: timestamps must be taken on the bytes the server sent, not a decoder's
        headers={**headers, "Content-Type": "application/json", "Accept-Encoding": "identity"},
        content=body,
        extensions={"trace": phases.trace},
        follow_redirects=False,  # never carry the key elsewhere; a redirect is reported
    ) as response:
        network = response.extensions.get("network_stream")
        phases.sent_through(network)
        tally.add(ResponseHeaders(response.status_code, dict(response.headers),
                                  _arrived_at(network)))
        late.headers = _read_late(network)
        # A dialect with its own error shapes or stream type checks the answer itself.
        check = getattr(dialect, "check_response", check_response)
        failure = _explained(await check(response, secrets), dialect, target)
        if failure is None:
            failure = await _read_stream(response, dialect, target, tally, network, late)
    return Exchange(
        failure=failure,
        measured=_measurements(tally, phases, started, response.status_code, late),
        text=tally.text(),
        tool_calls=tally.tool_calls,
    )


async def _read_stream(
    response: httpx.Response, dialect: Dialect, target: Target, tally: Tally, network: Any,
    late: _Lateness,
) -> Failure | None:
    # The body's framing: SSE unless the dialect says event stream (AWS's binary framing).
    parser: SSEParser | EventStreamParser = (
        EventStreamParser() if getattr(dialect, "framing", "sse") == "eventstream"
        else SSEParser())
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    chunks = response.aiter_raw() if encoding in ("", "identity") else response.aiter_bytes()
    try:
        async for chunk in chunks:
            at = _arrived_at(network)  # before any parsing
            tally.last_chunk_at = at
            tally.body_bytes += len(chunk)
            if tally.body_bytes > target.max_body_bytes:
                return ErrorClass.MALFORMED, f"body over {target.max_body_bytes} bytes", None
            tokens = len(tally.token_times)
            failure = _apply(dialect, parser.feed(chunk, at), tally)
            if tokens == 0 and tally.token_times:  # the read that brought the first token
                late.first_token = _read_late(network)
            if failure or tally.finished_at is not None:
                break
        else:
            failure = _apply(dialect, parser.flush(), tally)
    except EventStreamError as exc:
        return ErrorClass.MALFORMED, str(exc), None
    except httpx.TimeoutException:
        raise  # the runner classes every timeout the same way
    except httpx.TransportError as exc:
        if reader_failed(exc):
            return ErrorClass.MONITOR, f"the probe reading process exited: {exc}", None
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


def _explained(failure: Failure | None, dialect: Dialect, target: Target) -> Failure | None:
    """A 404 told in the dialect's terms where it has them (Vertex: model not offered in
    the location), since the provider's own message rarely says which setting is wrong."""
    explain = getattr(dialect, "explain_404", None)
    if failure is None or explain is None or not failure[1].startswith("HTTP 404"):
        return failure
    error_class, message, retry_after = failure
    return error_class, f"{message} ({explain(target)})", retry_after


def _arrived_at(network: Any) -> float:
    """When the bytes just read arrived: the kernel's stamp where the connection has one
    (probes/arrival.py), else now, before any parsing."""
    at = getattr(network, "arrived_at", None)
    return at if at is not None else perf_counter()


def _read_late(network: Any) -> float | None:
    """How late the reading process made the read just taken (probes/reader_process.py)."""
    return getattr(network, "read_late", None)


def _apply(dialect: Dialect, events: list[SSEEvent], tally: Tally) -> Failure | None:
    for sse_event in events:
        try:
            stream_events: list[StreamEvent] = dialect.parse_event(sse_event)
        except ProtocolError as exc:
            return ErrorClass.MALFORMED, str(exc), None
        for event in stream_events:
            tally.add(event)
            if isinstance(event, StreamError):
                code = f" ({event.code})" if event.code else ""
                return event.error_class, f"error in stream{code}: {event.message}", None
            if isinstance(event, Finish):
                return None
    return None


async def _drain(chunks: Any) -> None:
    """Read what follows the end marker (normally the chunked terminator) so httpx can
    return the connection to its pool; give up quickly on a server that keeps it open."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass


def _measurements(tally: Tally, phases: _Phases, started: float, status: int,
                  late: _Lateness) -> dict[str, Any]:
    sent_at = phases.request_sent_at if phases.request_sent_at is not None else started
    times = tally.token_times
    end = tally.finished_at or tally.last_chunk_at or perf_counter()
    output_tokens, estimated = tally.output_tokens()
    speed = None
    if output_tokens is not None and output_tokens >= 2 and len(times) >= 2:
        span = times[-1] - times[0]
        speed = (output_tokens - 1) / span if span > 0 else None
    reasoning_tokens, reasoning_estimated = tally.reasoning_tokens()
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    extra: dict[str, Any] = {
        "connection_reused": phases.reused,
        # the server's think time before its status line (blackbox's "processing" phase)
        "headers_seconds": tally.headers_at - sent_at if tally.headers_at else None,
        "itl_p50_seconds": _percentile(gaps, 0.50),
        "itl_p99_seconds": _percentile(gaps, 0.99),
        "finish_reason": tally.stop_reason,
    }
    if (worst := late.of_merged_reads(tally)) is not None:
        extra["read_late_seconds"] = round(worst, 6)
        if worst > LATE_READ_SECONDS:
            extra["timing_unreliable"] = True
    return {
        "http_status": status,
        "connect_seconds": phases.connect_seconds,
        "ttft_seconds": times[0] - sent_at if times else None,
        "total_seconds": end - started,
        "input_tokens": tally.usage.input_tokens if tally.usage else None,
        "output_tokens": output_tokens,
        "output_tokens_estimated": estimated,
        "output_tokens_per_second": speed,
        "first_answer_seconds": tally.answer_times[0] - sent_at if tally.answer_times else None,
        "reasoning_tokens": reasoning_tokens,
        "reasoning_tokens_estimated": reasoning_estimated,
        "answer_tokens_per_second": _answer_speed(tally),
        "extra": extra,
    }


def _answer_speed(tally: Tally) -> float | None:
    """(answer tokens - 1) / (last answer token's arrival - first answer token's arrival)."""
    times, tokens = tally.answer_times, tally.answer_tokens()
    if tokens is None or tokens < 2 or len(times) < 2 or times[-1] <= times[0]:
        return None
    return (tokens - 1) / (times[-1] - times[0])


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)
