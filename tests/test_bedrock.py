"""The Bedrock dialects end to end against the simulator, which verifies every request's
SigV4 signature: credentials from botocore's chain (environment, a shared credentials file),
Bedrock API keys, every probe kind, throttling, and streams cut or corrupted on the wire."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from probes import PROBES, run_probe
from probes.auth import with_credentials
from probes.aws_auth import AwsSigV4, region_of
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import SimModel
from service.sim.http11 import (
    Request,
    read_request,
    send_body,
    serve_connection,
    write_chunk,
    write_head,
)
from service.sim.server import SimServer
from service.sim.wire_bedrock import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from tests.conftest import REAL_FIXTURES

pytestmark = pytest.mark.integration

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # an inference profile id: ':' in it
FAST: dict[str, Any] = {"ttft_seconds": 0.02, "inter_token_seconds": 0.002, "output_tokens": 6}
API_KEY = "ABSKQmVkcm9ja0FQSUtleS10ZXN0MDEyMzQ1Njc4OQ=="
WRONG_SECRET = "wrong/secret/0123456789abcdefghijklmnopqrstu"
NOVA = REAL_FIXTURES / "bedrock" / "bedrock_converse_stream_nova_micro_text.eventstream.bin"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS settings of the machine's own: an empty HOME, no metadata service."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def test_keys(aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
    aws_env.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer({MODEL: SimModel(**FAST),
                        "throttled": SimModel(**FAST, fault="status_429"),
                        "cut": SimModel(**FAST, fault="close_mid_stream"),
                        "failing": SimModel(**FAST, fault="error_in_stream")},
                       api_key=API_KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client(stamped=True) as c:
        yield c


def target(base_url: str, model: str = MODEL, api: str = "bedrock", **fields: Any) -> Target:
    return with_credentials(Target(api=api, base_url=base_url, model=model,
                                   timeout_seconds=5.0, **fields))


@pytest.mark.parametrize("api", ["bedrock", "bedrock-invoke"])
async def test_a_signed_probe_is_let_in_and_timed(sim: SimServer, client: httpx.AsyncClient,
                                                  test_keys: None, api: str) -> None:
    result = await run_probe("latency", target(sim.url_for(api), api=api), client)
    assert result.ok, result.error_message
    assert (result.output_tokens, result.input_tokens) == (6, 10)  # the prompt, 40 chars
    assert result.extra["finish_reason"] == "end_turn"
    (record,) = sim.records
    assert record.dialect == api and record.status == 200 and record.model == MODEL
    assert result.ttft_seconds is not None and record.first_content_at is not None
    assert 0.02 <= result.ttft_seconds < 0.5


@pytest.mark.parametrize("kind", sorted(set(PROBES) - {"voice"}))  # voice: realtime APIs
async def test_every_probe_kind_works_signed(sim: SimServer, client: httpx.AsyncClient,
                                             test_keys: None, kind: str) -> None:
    options = {"sample": 2, "context_tokens": 600, "depths": (0.5,)}
    result = await run_probe(kind, target(sim.url_for("bedrock"),
                                          options=MappingProxyType(options)), client)
    assert result.ok, (kind, result.error_message)
    assert {r.status for r in sim.records} == {200}


async def test_tools_arrive_as_a_converse_tool_use(sim: SimServer, client: httpx.AsyncClient,
                                                   test_keys: None) -> None:
    result = await run_probe("tools", target(sim.url_for("bedrock")), client)
    assert result.ok and result.extra["tool_call_valid"] is True, result.extra
    assert result.extra["finish_reason"] == "tool_use"


async def test_a_wrong_secret_is_auth_and_the_secret_is_never_said(
        sim: SimServer, client: httpx.AsyncClient, test_keys: None,
        aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    result = await run_probe("latency", target(sim.url_for("bedrock")), client)
    assert (result.ok, result.error_class, result.http_status) == (False, ErrorClass.AUTH, 403)
    assert result.error_message is not None
    assert "InvalidSignatureException" in result.error_message
    assert WRONG_SECRET not in str(result.to_json())
    assert TEST_SECRET_ACCESS_KEY not in str(result.to_json())


async def test_an_unsigned_request_is_refused_in_aws_shape(sim: SimServer) -> None:
    async with httpx.AsyncClient() as plain:
        answer = await plain.post(f"{sim.url_for('bedrock')}/model/{MODEL}/converse-stream",
                                  json={"messages": [], "inferenceConfig": {"maxTokens": 1}})
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "IncompleteSignatureException"
    assert "message" in answer.json()


async def test_a_body_changed_after_signing_is_refused(sim: SimServer, test_keys: None) -> None:
    signed = target(sim.url_for("bedrock"))
    assert signed.credentials is not None
    from probes.dialects import DIALECTS

    request = DIALECTS["bedrock"].build_request(signed)
    headers = await signed.credentials.authorize(request, b'{"signed":"this"}')
    async with httpx.AsyncClient() as plain:
        answer = await plain.post(request.url, content=b'{"sent":"that"}',
                                  headers={**request.headers, **headers})
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "InvalidSignatureException"


async def test_credentials_are_resolved_once_per_target(
        sim: SimServer, client: httpx.AsyncClient, test_keys: None,
        aws_env: pytest.MonkeyPatch) -> None:
    signed = target(sim.url_for("bedrock"))
    assert (await run_probe("latency", signed, client)).ok
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)  # read again, it would fail
    result = await run_probe("latency", signed, client)
    assert result.ok, result.error_message


async def test_credentials_from_a_shared_file_in_home(
        sim: SimServer, client: httpx.AsyncClient, aws_env: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        f"[probe]\naws_access_key_id = {TEST_ACCESS_KEY_ID}\n"
        f"aws_secret_access_key = {TEST_SECRET_ACCESS_KEY}\n")
    (tmp_path / ".aws" / "config").write_text("[profile probe]\nregion = us-east-1\n")
    aws_env.setenv("AWS_PROFILE", "probe")
    result = await run_probe("latency", target(sim.url_for("bedrock")), client)
    assert result.ok, result.error_message


class FakeSts:
    """A local STS answering AssumeRoleWithWebIdentity with the simulator's test keys and
    a new session token each time, expiring `lifetime` from now."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.calls: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def respond(request: Request) -> bool:
            self.calls.append(request.body)
            expires = (datetime.now(UTC) + self.lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = (
                '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/'
                '2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials>'
                f"<AccessKeyId>{TEST_ACCESS_KEY_ID}</AccessKeyId>"
                f"<SecretAccessKey>{TEST_SECRET_ACCESS_KEY}</SecretAccessKey>"
                f"<SessionToken>session-{len(self.calls)}</SessionToken>"
                f"<Expiration>{expires}</Expiration></Credentials><AssumedRoleUser>"
                "<Arn>arn:aws:sts::123456789012:assumed-role/probe/s</Arn>"
                "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>"
                "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
                "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>")
            return await send_body(writer, 200, "text/xml", body.encode())

        await serve_connection(reader, writer, respond)


@pytest.mark.parametrize(("lifetime", "sts_calls"), [
    (timedelta(hours=1), 1),  # resolved once, reused
    (timedelta(minutes=5), 3),  # inside botocore's refresh window: refreshed before each
])
async def test_web_identity_as_kubernetes_service_accounts_get_it(
        sim: SimServer, client: httpx.AsyncClient, aws_env: pytest.MonkeyPatch,
        tmp_path: Path, lifetime: timedelta, sts_calls: int) -> None:
    sts = FakeSts(lifetime)
    proxy = await asyncio.start_server(sts.handle, "127.0.0.1", 0)
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.service-account.token")
    aws_env.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/probe")
    aws_env.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    aws_env.setenv("AWS_ENDPOINT_URL_STS",
                   f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}")
    aws_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        signed = target(sim.url_for("bedrock"))
        for _ in range(3):
            result = await run_probe("latency", signed, client)
            assert result.ok, result.error_message
    finally:
        proxy.close()
        await proxy.wait_closed()
    assert len(sts.calls) == sts_calls
    assert b"AssumeRoleWithWebIdentity" in sts.calls[0]


async def test_session_tokens_are_signed_too(sim: SimServer, client: httpx.AsyncClient,
                                             test_keys: None,
                                             aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLEsessiontoken")
    result = await run_probe("latency", target(sim.url_for("bedrock")), client)
    assert result.ok, result.error_message


async def test_no_credentials_is_auth_without_a_request(
        sim: SimServer, client: httpx.AsyncClient, aws_env: pytest.MonkeyPatch) -> None:
    aws_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = await run_probe("latency", target(sim.url_for("bedrock")), client)
    assert (result.ok, result.error_class) == (False, ErrorClass.AUTH)
    assert result.error_message is not None and "no AWS credentials" in result.error_message
    assert sim.records == []


async def test_no_region_is_auth_with_a_clear_message(
        sim: SimServer, client: httpx.AsyncClient, test_keys: None,
        aws_env: pytest.MonkeyPatch) -> None:
    aws_env.delenv("AWS_DEFAULT_REGION")
    result = await run_probe("latency", target(sim.url_for("bedrock")), client)
    assert result.error_class == ErrorClass.AUTH
    assert result.error_message is not None and "no AWS region" in result.error_message


def test_debug_logging_never_shows_botocores_signing() -> None:
    import logging

    from service.cli.main import setup_logging

    root, botocore = logging.getLogger(), logging.getLogger("botocore")
    levels = root.level, botocore.level
    try:
        root.setLevel(logging.DEBUG)  # what basicConfig does outside pytest
        setup_logging("DEBUG")
        assert not logging.getLogger("botocore.auth").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(levels[0])
        botocore.setLevel(levels[1])


def test_the_region_comes_from_the_endpoint_and_the_keys_stay_out_of_repr(
        test_keys: None) -> None:
    assert region_of("https://bedrock-runtime.eu-central-1.amazonaws.com") == "eu-central-1"
    assert region_of("https://bedrock-runtime-fips.us-west-2.amazonaws.com/") == "us-west-2"
    assert region_of("http://127.0.0.1:8080") is None
    made = target("https://bedrock-runtime.eu-central-1.amazonaws.com")
    assert isinstance(made.credentials, AwsSigV4)
    assert repr(made.credentials) == "AwsSigV4(region='eu-central-1')"
    assert TEST_SECRET_ACCESS_KEY not in repr(made) + repr(made.credentials)
    # An API key is sent as a bearer token: no AWS credentials are made.
    assert target("https://x", api_key=API_KEY).credentials is None


@pytest.mark.parametrize("api", ["bedrock", "bedrock-invoke"])
async def test_the_api_key_bearer_path(sim: SimServer, client: httpx.AsyncClient,
                                       aws_env: pytest.MonkeyPatch, api: str) -> None:
    result = await run_probe("latency", target(sim.url_for(api), api=api, api_key=API_KEY),
                             client)
    assert result.ok, result.error_message
    wrong = "ABSKd3Jvbmcta2V5LTAxMjM0NTY3ODlhYmNkZWY="
    result = await run_probe("latency", target(sim.url_for(api), api=api, api_key=wrong),
                             client)
    assert (result.error_class, result.http_status) == (ErrorClass.AUTH, 403)
    assert wrong not in str(result.to_json())


async def test_throttling_is_rate_limited(sim: SimServer, client: httpx.AsyncClient,
                                          test_keys: None) -> None:
    result = await run_probe("latency", target(sim.url_for("bedrock"), "throttled"), client)
    assert (result.error_class, result.http_status) == (ErrorClass.RATE_LIMITED, 429)
    assert result.error_message is not None and "ThrottlingException" in result.error_message
    assert result.retry_after_seconds == 7.0


@pytest.mark.parametrize("api", ["bedrock", "bedrock-invoke"])
async def test_an_exception_in_the_stream_is_a_stream_error(
        sim: SimServer, client: httpx.AsyncClient, test_keys: None, api: str) -> None:
    result = await run_probe("latency", target(sim.url_for(api), "failing", api=api), client)
    assert result.error_class == ErrorClass.STREAM_ERROR
    assert result.error_message is not None
    assert "modelStreamErrorException" in result.error_message


async def test_a_connection_cut_mid_stream_is_truncated(
        sim: SimServer, client: httpx.AsyncClient, test_keys: None) -> None:
    result = await run_probe("latency", target(sim.url_for("bedrock"), "cut"), client)
    assert result.error_class == ErrorClass.TRUNCATED


# --- real captured bytes, served as they were, cut, or corrupted ---------------------------


@contextlib.asynccontextmanager
async def serving(body: bytes, cut: bool = False) -> AsyncIterator[str]:
    """A server answering every request with `body` as an event stream in 97-byte chunks;
    `cut`: the connection is dropped where the body ends, without the chunked end."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is None:
            return
        await write_head(writer, 200, {"content-type": "application/vnd.amazon.eventstream",
                                       "transfer-encoding": "chunked"})
        for i in range(0, len(body), 97):
            await write_chunk(writer, body[i:i + 97])
        if cut:
            writer.transport.abort()
            return
        await write_chunk(writer, b"")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def probe_real(body: bytes, client: httpx.AsyncClient, cut: bool = False
                     ) -> ProbeResult:
    async with serving(body, cut) as url:
        return await run_probe("latency", target(url, api_key=API_KEY), client)


@pytest.fixture
def server() -> Iterator[bytes]:  # the name marks these tests integration: they listen
    yield NOVA.read_bytes()


async def test_a_real_bedrock_body_is_read_whole(server: bytes,
                                                 client: httpx.AsyncClient) -> None:
    result = await probe_real(server, client)
    assert result.ok, result.error_message
    assert (result.input_tokens, result.output_tokens) == (13, 82)


async def test_a_real_body_cut_mid_message_is_truncated(server: bytes,
                                                        client: httpx.AsyncClient) -> None:
    result = await probe_real(server[:-40], client, cut=True)
    assert result.error_class == ErrorClass.TRUNCATED
    # Ended cleanly but mid-message: the end marker never came.
    result = await probe_real(server[:-40], client)
    assert result.error_class == ErrorClass.TRUNCATED


async def test_a_bad_crc_is_malformed(server: bytes, client: httpx.AsyncClient) -> None:
    corrupt = bytearray(server)
    corrupt[600] ^= 0xFF  # a payload byte: the message CRC no longer matches
    result = await probe_real(bytes(corrupt), client)
    assert result.error_class == ErrorClass.MALFORMED
    assert result.error_message is not None and "Checksum" in result.error_message
