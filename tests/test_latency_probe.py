"""The latency probe and the runner, against the real simulated server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from probes import PROBES, ProbeFn, run_probe
from probes.dialects import ProtocolError
from probes.redact import scrub
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.openai_server import Fault, SimModel, SimServer

SECRET = "sk-proj-TESTKEY0123456789abcdefABCDEF"


def fast(fault: Fault | None = None, error_rate: float = 0.0) -> SimModel:
    return SimModel(
        ttft_seconds=0.02,
        inter_token_seconds=0.005,
        output_tokens=6,
        fault=fault,
        error_rate=error_rate,
    )


HEALTHY = SimModel(ttft_seconds=0.15, inter_token_seconds=0.02, output_tokens=10)

FAULT_CLASSES: dict[Fault, ErrorClass] = {
    "error_in_stream": ErrorClass.STREAM_ERROR,
    "close_mid_stream": ErrorClass.TRUNCATED,
    "trickle_forever": ErrorClass.TIMEOUT,
    "invalid_json": ErrorClass.MALFORMED,
    "html_200": ErrorClass.MALFORMED,
    "wrong_content_type": ErrorClass.MALFORMED,
    "oversized": ErrorClass.MALFORMED,
    "no_done": ErrorClass.TRUNCATED,
    "empty": ErrorClass.EMPTY_RESPONSE,
    "status_401": ErrorClass.AUTH,
    "status_429": ErrorClass.RATE_LIMITED,
    "redirect": ErrorClass.MALFORMED,  # not followed: the key must not travel elsewhere
}
MODELS: dict[str, SimModel] = {
    "healthy": HEALTHY,
    "role_only_first": fast("role_only_first"),
    "no_usage": fast("no_usage"),
    "always_500": fast(error_rate=1.0),
    **{fault: fast(fault) for fault in FAULT_CLASSES},
}
TIMEOUT = 0.4  # only trickle_forever runs into it


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(MODELS, seed=1)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(params=["kernel", "loop"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    # The daemon's kernel-stamped reads (probes/arrival.py) and httpx's own network code.
    async with probe_client(stamped=request.param == "kernel") as c:
        yield c


def target_for(base_url: str, model: str, **overrides: object) -> Target:
    fields: dict[str, object] = {
        "api": "openai",
        "base_url": base_url,
        "model": model,
        "api_key": SECRET,
        "timeout_seconds": TIMEOUT,
        "max_body_bytes": 100_000,
    }
    return Target(**{**fields, **overrides})  # type: ignore[arg-type]


async def probe(sim: SimServer, client: httpx.AsyncClient, model: str) -> ProbeResult:
    assert sim.base_url
    return await run_probe("latency", target_for(sim.base_url, model), client)


@pytest.mark.parametrize(("fault", "error_class"), FAULT_CLASSES.items())
async def test_fault_gives_its_error_class(
    sim: SimServer, client: httpx.AsyncClient, fault: str, error_class: ErrorClass
) -> None:
    result = await probe(sim, client, fault)
    assert (result.ok, result.error_class) == (False, error_class), result.error_message
    assert result.error_message


async def test_healthy_model_ttft_matches_server_truth(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    result = await probe(sim, client, "healthy")
    (record,) = sim.records
    assert result.ok, result.error_message
    assert record.first_content_at is not None
    server_ttft = record.first_content_at - record.received_at
    assert result.ttft_seconds is not None
    assert abs(result.ttft_seconds - server_ttft) < 0.05
    # Against the configured value only loosely: the server may run late on a busy machine.
    assert abs(result.ttft_seconds - HEALTHY.ttft_seconds) < 0.15
    assert (result.output_tokens, result.output_tokens_estimated) == (10, False)
    assert result.input_tokens and result.input_tokens > 0
    assert result.output_tokens_per_second is not None
    assert 25 < result.output_tokens_per_second < 100  # configured: one token per 20 ms
    assert result.extra["itl_p50_seconds"] == pytest.approx(0.02, abs=0.03)
    assert result.extra["itl_p99_seconds"] >= result.extra["itl_p50_seconds"]
    assert result.total_seconds and result.total_seconds > result.ttft_seconds
    assert result.http_status == 200 and result.extra["finish_reason"] == "stop"
    assert 0 < result.extra["headers_seconds"] < result.ttft_seconds


async def test_first_probe_times_connect_and_second_reuses_the_connection(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    first = await probe(sim, client, "role_only_first")
    second = await probe(sim, client, "role_only_first")
    assert first.ok and second.ok
    assert first.extra["connection_reused"] is False
    assert first.connect_seconds is not None and 0 < first.connect_seconds < 0.5
    assert second.extra["connection_reused"] is True
    assert second.connect_seconds == 0.0
    assert sim.records[0].connection == sim.records[1].connection


async def test_role_only_first_chunk_does_not_stop_the_ttft_clock(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    result = await probe(sim, client, "role_only_first")
    assert result.ttft_seconds is not None and result.ttft_seconds >= 0.015


async def test_rate_limited_keeps_retry_after(sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await probe(sim, client, "status_429")
    assert (result.http_status, result.retry_after_seconds) == (429, 7.0)


async def test_server_error_is_http_5xx(sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await probe(sim, client, "always_500")
    assert (result.error_class, result.http_status) == (ErrorClass.HTTP_5XX, 500)
    assert result.error_message and "server had an error" in result.error_message


async def test_unknown_model_is_http_4xx(sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await probe(sim, client, "no-such-model")
    assert (result.error_class, result.http_status) == (ErrorClass.HTTP_4XX, 404)


async def test_without_usage_output_tokens_are_estimated(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    result = await probe(sim, client, "no_usage")
    assert result.ok and result.output_tokens_estimated
    assert result.output_tokens == round(len("tok1 " * 6) / 4)


async def test_trickle_forever_times_out_within_the_budget(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    started = time.perf_counter()
    result = await probe(sim, client, "trickle_forever")
    elapsed = time.perf_counter() - started
    assert result.error_class is ErrorClass.TIMEOUT
    assert TIMEOUT <= elapsed < TIMEOUT + 0.3
    assert result.total_seconds == pytest.approx(TIMEOUT, abs=0.1)


async def test_oversized_body_is_cut_at_max_body_bytes(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    result = await probe(sim, client, "oversized")
    assert result.error_message == "body over 100000 bytes"


@pytest.mark.integration  # the kernel client starts the reading process
async def test_connection_refused_is_network(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await run_probe("latency", target_for(f"http://127.0.0.1:{port}/v1", "m"), client)
    assert result.error_class is ErrorClass.NETWORK


@pytest.mark.parametrize("model", MODELS)
async def test_api_key_never_appears_in_result_or_logs(
    sim: SimServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, model: str
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await probe(sim, client, model)
    assert SECRET not in json.dumps(result.to_json(), default=str)
    assert SECRET not in caplog.text
    assert SECRET[:12] not in caplog.text + json.dumps(result.to_json(), default=str)
    if model == "status_401":
        assert result.error_message and "[REDACTED]" in result.error_message


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("1.5", 1.5), ("soon", None), (None, None)],
)
async def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    headers = {"retry-after": header} if header else {}
    result = await _mock_probe(httpx.Response(429, headers=headers, json={"error": {}}))
    assert (result.error_class, result.retry_after_seconds) == (ErrorClass.RATE_LIMITED, expected)


async def test_retry_after_as_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    result = await _mock_probe(httpx.Response(429, headers={"retry-after": when}))
    assert result.retry_after_seconds == pytest.approx(30, abs=2)


@pytest.mark.parametrize(("status", "error_class"), [(403, ErrorClass.AUTH), (400, "http_4xx")])
async def test_status_line_classes(status: int, error_class: str) -> None:
    result = await _mock_probe(httpx.Response(status, text="nope"))
    assert result.error_class == error_class and result.http_status == status


async def test_huge_error_body_is_read_only_in_part_and_scrubbed() -> None:
    body = ("x" * 5000 + f" Bearer {SECRET}").encode()
    result = await _mock_probe(httpx.Response(502, content=body))
    assert result.error_message and len(result.error_message) < 400
    assert SECRET[:8] not in result.error_message


async def test_unknown_dialect_is_a_failed_result(client: httpx.AsyncClient) -> None:
    result = await run_probe("latency", target_for("http://x", "m", api="carrier-pigeon"), client)
    assert (result.ok, result.error_class) == (False, ErrorClass.MALFORMED)


async def _mock_probe(response: httpx.Response) -> ProbeResult:
    transport = httpx.MockTransport(lambda request: response)
    async with httpx.AsyncClient(transport=transport) as client:
        return await run_probe("latency", target_for("http://sim.test/v1", "m"), client)


# --- The runner: timeouts and exceptions become classified results, never raises. ---


def _raising(exc: BaseException) -> ProbeFn:
    async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
        raise exc

    return probe


@pytest.mark.parametrize(
    ("exc", "error_class"),
    [
        (httpx.ConnectError("connection refused"), ErrorClass.NETWORK),
        (httpx.ReadError("reset by peer"), ErrorClass.NETWORK),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "network"),
        (
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                "(incomplete chunked read)"
            ),
            ErrorClass.TRUNCATED,
        ),
        (httpx.ReadTimeout("read timed out"), ErrorClass.TIMEOUT),
        (httpx.ConnectTimeout("connect timed out"), ErrorClass.TIMEOUT),
        (ProtocolError("invalid JSON"), ErrorClass.MALFORMED),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), ErrorClass.MALFORMED),
    ],
)
async def test_runner_classifies_exceptions(
    client: httpx.AsyncClient, exc: Exception, error_class: str
) -> None:
    result = await run_probe("x", target_for("http://x", "m"), client, {"x": _raising(exc)})
    assert (result.ok, result.error_class, result.kind) == (False, error_class, "x")
    assert result.total_seconds is not None


async def test_runner_logs_unexpected_exception_without_the_key(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    probe = _raising(RuntimeError(f"bug while using Bearer {SECRET}"))
    result = await run_probe("x", target_for("http://x", "m"), client, {"x": probe})
    assert result.error_class is ErrorClass.MALFORMED
    assert "RuntimeError" in caplog.text and "Traceback" in caplog.text
    assert SECRET not in caplog.text and SECRET not in str(result.error_message)


async def test_runner_scrubs_the_key_from_nested_extra_fields(
    client: httpx.AsyncClient,
) -> None:
    async def echoes(target: Target, client: httpx.AsyncClient) -> ProbeResult:
        reason = f"got 'Bearer {SECRET}'"
        return ProbeResult("x", True, extra={"failures": [{"id": "1", "reason": reason}]})

    result = await run_probe("x", target_for("http://x", "m"), client, {"x": echoes})
    assert SECRET not in json.dumps(result.to_json())
    assert result.extra["failures"] == [{"id": "1", "reason": "got 'Bearer [REDACTED]'"}]


async def test_runner_owns_the_timeout(client: httpx.AsyncClient) -> None:
    async def hangs(target: Target, client: httpx.AsyncClient) -> ProbeResult:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    target = target_for("http://x", "m", timeout_seconds=0.05)
    result = await run_probe("x", target, client, {"x": hangs})
    assert result.error_class is ErrorClass.TIMEOUT
    assert result.total_seconds == pytest.approx(0.05, abs=0.05)


async def test_runner_unknown_kind_is_a_failed_result(client: httpx.AsyncClient) -> None:
    result = await run_probe("nope", target_for("http://x", "m"), client)
    assert (result.ok, result.kind) == (False, "nope")


def test_registry_has_every_probe_kind() -> None:
    assert set(PROBES) == {"latency", "uptime", "tools", "long_context", "quality", "voice"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {SECRET} here", "key [REDACTED] here"),
        (f"Authorization: Bearer {SECRET}", "Authorization: Bearer [REDACTED]"),
        (f"cut off at {SECRET[:10]}", "cut off at [REDACTED]"),
        ("Authorization: Bearer other-token", "Authorization: Bearer [REDACTED]"),
        ('{"x-api-key": "abc123"}', '{"x-api-key": "[REDACTED]"}'),
        ("GET /v1beta/models?key=AIzaSyABC&alt=sse", "GET /v1beta/models?key=[REDACTED]&alt=sse"),
        ("nothing secret", "nothing secret"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text, SECRET) == expected
