"""Runs one probe: looks it up, owns its timeout, and turns any failure into a result.

As in blackbox_exporter, the runner (not the probe) owns the timeout and the overall
duration; probes add their own measurements. run_probe never raises (except to pass on
its caller's cancellation), and no secret leaves it, in the result or in a log line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import httpx

from probes.dialects import ProtocolError
from probes.receiver import reader_failed
from probes.redact import scrub
from probes.result import ErrorClass, ProbeResult
from probes.target import Target

logger = logging.getLogger(__name__)

ProbeFn = Callable[[Target, httpx.AsyncClient], Awaitable[ProbeResult]]

# httpx's message for a 200 response whose body stopped before its chunked terminator.
_MID_BODY_CLOSE = ("incomplete chunked read", "without sending complete message body")


async def run_probe(
    kind: str,
    target: Target,
    client: httpx.AsyncClient,
    registry: Mapping[str, ProbeFn] | None = None,
) -> ProbeResult:
    """Run probe `kind` against target within target.timeout_seconds; never raises."""
    started_at = datetime.now(UTC)
    started = perf_counter()
    try:
        result = await _run(kind, target, client, registry)
    except TimeoutError:
        result = ProbeResult.failure(
            kind, ErrorClass.TIMEOUT, f"no complete answer within {target.timeout_seconds:g} s"
        )
    except Exception as exc:  # classified below; the probe loop must survive anything
        result = _classify(kind, target, exc)
    result = _finish(result, target, started_at, perf_counter() - started)
    if not result.ok:
        logger.info(
            "%s probe of %s failed: %s: %s",
            kind,
            target.label,
            result.error_class,
            result.error_message,
            extra={"probe_kind": kind, "candidate": target.label,
                   "error_class": str(result.error_class)},
        )
    return result


async def _run(
    kind: str, target: Target, client: httpx.AsyncClient, registry: Mapping[str, ProbeFn] | None
) -> ProbeResult:
    if registry is None:
        from probes import PROBES  # late: the package imports this module

        registry = PROBES
    probe = registry.get(kind)
    if probe is None:
        return ProbeResult.failure(kind, ErrorClass.MALFORMED, f"unknown probe kind {kind!r}")
    async with asyncio.timeout(target.timeout_seconds):
        return await probe(target, client)


def _classify(kind: str, target: Target, exc: Exception) -> ProbeResult:
    message = f"{type(exc).__name__}: {exc}"
    if reader_failed(exc):
        error_class = ErrorClass.MONITOR  # our reading process died, not their API
    elif isinstance(exc, httpx.TimeoutException):
        error_class = ErrorClass.TIMEOUT
    elif isinstance(exc, httpx.RemoteProtocolError) and any(
        marker in str(exc) for marker in _MID_BODY_CLOSE
    ):
        error_class = ErrorClass.TRUNCATED  # the status line came, the body did not finish
    elif isinstance(exc, httpx.TransportError):
        error_class = ErrorClass.NETWORK
    elif isinstance(exc, ProtocolError | ValueError):  # also bad JSON, bad UTF-8
        error_class = ErrorClass.MALFORMED
    else:
        error_class = ErrorClass.MALFORMED
        trace = "".join(traceback.format_exception(exc))
        logger.error(
            "%s probe of %s raised unexpectedly: %s",
            kind,
            target.label,
            scrub(trace, target.api_key),
        )
    return ProbeResult.failure(kind, error_class, message)


def _scrubbed(value: Any, secret: str | None) -> Any:
    """Strings anywhere in a JSON-like value, scrubbed (model output can echo anything)."""
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, list):
        return [_scrubbed(v, secret) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, secret) for k, v in value.items()}
    return value


def _finish(
    result: ProbeResult, target: Target, started_at: datetime, elapsed: float
) -> ProbeResult:
    message = result.error_message
    if message is not None:
        message = scrub(message, target.api_key)
    extra = {key: _scrubbed(value, target.api_key) for key, value in result.extra.items()}
    return dataclasses.replace(
        result,
        started_at=started_at,
        total_seconds=result.total_seconds if result.total_seconds is not None else elapsed,
        error_message=message,
        extra=extra,
    )
