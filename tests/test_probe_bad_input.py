"""Bad input, for every dialect, against the real simulated fleet on 127.0.0.1: each case
gives its error class, nothing raises, and the API key is in no result and no log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from probes import run_probe
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import Fault, SimModel
from service.sim.server import SimServer

SECRET = "sk-proj-FLEETKEY0123456789abcdefXYZ"
APIS = ("openai", "anthropic", "gemini", "azure-openai")
TIMEOUT = 0.4  # only trickle_forever runs into it
TTFT = 0.05

# fault -> the class every dialect must report (None: the probe succeeds)
FAULTS: dict[Fault, ErrorClass | None] = {
    "role_only_first": None,
    "keepalive": None,
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
    "status_500": ErrorClass.HTTP_5XX,
    "status_503": ErrorClass.HTTP_5XX,
    "redirect": ErrorClass.MALFORMED,  # not followed: the key must not travel elsewhere
}
MODELS = {
    "healthy": SimModel(ttft_seconds=TTFT, inter_token_seconds=0.005, output_tokens=6),
    **{fault: SimModel(ttft_seconds=TTFT, inter_token_seconds=0.005, output_tokens=6,
                       fault=fault) for fault in [*FAULTS, "tool_args_invalid_json"]},
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[SimServer]:
    server = SimServer(MODELS, seed=5, api_key=SECRET)
    server.start_in_thread()  # its own loop: one server for the whole table
    yield server
    server.stop_thread()


@pytest.fixture(params=["kernel", "loop"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    # The daemon's kernel-stamped reads (probes/arrival.py) and httpx's own network code.
    async with probe_client(stamped=request.param == "kernel") as c:
        yield c


def target(fleet: SimServer, api: str, model: str, key: str = SECRET) -> Target:
    return Target(api=api, base_url=fleet.url_for(api), model=model, api_key=key,
                  timeout_seconds=TIMEOUT, max_body_bytes=100_000)


def assert_no_key(result: ProbeResult, caplog: pytest.LogCaptureFixture) -> None:
    shown = json.dumps(result.to_json(), default=str) + caplog.text
    assert SECRET not in shown and SECRET[:12] not in shown


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("api", APIS)
async def test_fault_gives_its_error_class_without_leaking_the_key(
    fleet: SimServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture,
    api: str, fault: Fault,
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await run_probe("latency", target(fleet, api, fault), client)
    assert (result.ok, result.error_class) == (FAULTS[fault] is None, FAULTS[fault]), \
        result.error_message
    assert_no_key(result, caplog)
    if result.ok:  # empty chunks and keep-alives do not stop the TTFT clock
        assert result.ttft_seconds is not None and result.ttft_seconds >= TTFT * 0.9
    if fault == "status_429":
        assert result.retry_after_seconds == 7.0
    if fault == "status_401":
        assert result.error_message and "[REDACTED]" in result.error_message


@pytest.mark.parametrize("api", APIS)
async def test_wrong_key_is_auth_and_never_shown(
    fleet: SimServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, api: str
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-WRONGKEY0123456789abcdefghij"
    result = await run_probe("latency", target(fleet, api, "healthy", key=wrong), client)
    assert (result.error_class, result.http_status) == (ErrorClass.AUTH, 401)
    assert wrong not in json.dumps(result.to_json(), default=str) + caplog.text


@pytest.mark.parametrize("api", APIS)
async def test_healthy_stream_is_read_in_every_dialect(
    fleet: SimServer, client: httpx.AsyncClient, api: str
) -> None:
    result = await run_probe("latency", target(fleet, api, "healthy"), client)
    assert result.ok, result.error_message
    assert (result.output_tokens, result.output_tokens_estimated) == (6, False)
    record = fleet.records[-1]
    assert record.dialect == api and record.first_content_at is not None
    assert result.ttft_seconds == pytest.approx(record.first_content_at - record.received_at,
                                                abs=0.03)


@pytest.mark.parametrize(("api", "judged"), [
    ("openai", "arguments are not valid JSON"), ("anthropic", "arguments are not valid JSON"),
    ("azure-openai", "arguments are not valid JSON"),
    # Gemini sends arguments as a JSON object, never as text: broken JSON cannot occur, and
    # the nearest the simulator can send (no arguments) fails the schema instead.
    ("gemini", "is a required property"),
])
async def test_tool_call_with_invalid_json_arguments_is_an_invalid_call(
    fleet: SimServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, api: str,
    judged: str,
) -> None:
    t = target(fleet, api, "tool_args_invalid_json")
    result = await run_probe("tools", t, client)
    assert result.ok, result.error_message  # the API answered; the model's call is bad
    assert result.extra["tool_call_valid"] is False
    assert any(judged in e for e in result.extra["schema_errors"]), result.extra
    assert_no_key(result, caplog)
