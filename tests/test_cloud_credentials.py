"""The cloud dialects end to end against the simulator and its token issuer, with the real
credential libraries: google-auth signs a service account's assertion with a test RSA key
and trades it at the simulator's token endpoint; azure-identity's DefaultAzureCredential
gets an Entra token from the simulator's managed-identity endpoint (App Service's, the one
that speaks http on localhost). Tokens are refreshed before they expire, the refresh is not
latency, every probe kind runs on every new dialect, and no token reaches a log line, a
result or an error message."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from probes import run_probe
from probes.auth import with_credentials
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.tokens import TokenIssuer

FAST = {"ttft_seconds": 0.01, "inter_token_seconds": 0.0}
MODELS = {"gemini-2.5-flash": SimModel(**FAST), "claude-sonnet-4-5": SimModel(**FAST),
          "Mistral-Large-2411": SimModel(**FAST), "gpt-4o": SimModel(**FAST),
          "busy": SimModel(**FAST, error_rates={"status_429": 1.0})}
MODEL_OF = {"vertex": "gemini-2.5-flash", "vertex-anthropic": "claude-sonnet-4-5",
            "azure-ai-inference": "Mistral-Large-2411", "azure-openai": "gpt-4o"}
IDENTITY_HEADER = "sim-identity-HEADER-5f3a"  # App Service's secret header value
AZURE_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                   "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
                   "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def sim(rsa_key: rsa.RSAPrivateKey, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SimServer]:
    public = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    server = SimServer(MODELS, api_key="k-unused-by-token-routes",
                       tokens=TokenIssuer(identity_header=IDENTITY_HEADER,
                                          google_public_key_pem=public))
    await server.start()
    assert server.origin
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "sim-project", "private_key_id": "test-1",
        "private_key": rsa_key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
        "client_email": "prober@sim-project.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": server.origin + "/oauth2/token"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    for name in AZURE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", server.origin + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def cloud_target(sim: SimServer, api: str, model: str | None = None,
                 **options: Any) -> Target:
    return with_credentials(Target(api=api, base_url=sim.url_for(api),
                                   model=model or MODEL_OF[api], timeout_seconds=10,
                                   options=MappingProxyType(options)))


def assert_no_token(sim: SimServer, *texts: str) -> None:
    assert sim.tokens is not None and sim.tokens.issued
    for token in sim.tokens.issued:
        for text in texts:
            assert token not in text
            assert token[-12:] not in text  # nor a cut-off piece of one


def everything_said(result: ProbeResult) -> str:
    return json.dumps(result.__dict__, default=str) + repr(result)


KINDS: dict[str, dict[str, Any]] = {
    "latency": {}, "uptime": {}, "tools": {},
    "long_context": {"context_tokens": 400, "depths": [0.5]}, "quality": {"sample": 2},
}


@pytest.mark.parametrize("api", MODEL_OF)
async def test_every_probe_kind_runs_with_tokens_from_the_clouds_chain(
        sim: SimServer, client: httpx.AsyncClient, api: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    target = cloud_target(sim, api)
    said = []
    for kind, options in KINDS.items():
        result = await run_probe(kind, cloud_target(sim, api, **options)
                                 if options else target, client)
        assert result.ok, (kind, result.error_class, result.error_message)
        said.append(everything_said(result))
    assert target.credentials is not None and "fetches=1" in repr(target.credentials)
    assert_no_token(sim, caplog.text, *said)
    assert {r.dialect for r in sim.records} == {api}


async def test_an_expired_token_is_refreshed_before_the_next_probe_and_not_timed(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    assert sim.tokens is not None
    sim.tokens.lifetime_seconds = 1.0  # refreshed after half its life
    sim.tokens.delay_seconds = 0.4  # each fetch takes this long
    for api in ("vertex", "azure-openai"):
        target = cloud_target(sim, api)
        first = await run_probe("latency", target, client)
        await asyncio.sleep(1.1)  # the first token has expired: the provider refuses it
        second = await run_probe("latency", target, client)
        for result in (first, second):
            assert result.ok, result.error_message
            assert result.total_seconds is not None and result.total_seconds < 0.3
        assert "fetches=2" in repr(target.credentials)
    assert len(sim.tokens.issued) == 4


async def test_a_refused_grant_is_auth_with_no_secret_in_the_message(
        sim: SimServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert sim.tokens is not None
    sim.tokens.refuse = True
    for api in ("vertex-anthropic", "azure-ai-inference"):
        result = await run_probe("latency", cloud_target(sim, api), client)
        assert (result.ok, result.error_class) == (False, ErrorClass.AUTH)
        assert result.error_message and result.error_message.startswith("no credentials: ")
        assert IDENTITY_HEADER not in result.error_message + caplog.text
        assert "PRIVATE KEY" not in result.error_message + caplog.text
    assert sim.records == []  # no request went to the provider without a token


async def test_a_token_the_provider_refuses_is_auth_and_scrubbed_from_its_echo(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    assert sim.tokens is not None
    target = cloud_target(sim, "vertex")
    assert (await run_probe("latency", target, client)).ok
    issued = dict(sim.tokens.issued)
    sim.tokens.issued.clear()  # revoked: the sim answers 401 echoing the token it was shown
    result = await run_probe("latency", target, client)
    assert (result.ok, result.error_class) == (False, ErrorClass.AUTH)
    assert result.error_message and "Incorrect API key provided: [REDACTED]" in \
        result.error_message
    sim.tokens.issued.update(issued)
    assert_no_token(sim, everything_said(result))


async def test_vertex_quota_and_unknown_model_in_the_taxonomy(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    busy = await run_probe("latency", cloud_target(sim, "vertex", "busy"), client)
    assert (busy.error_class, busy.retry_after_seconds) == (ErrorClass.RATE_LIMITED, 7.0)
    missing = await run_probe("latency", cloud_target(sim, "vertex-anthropic", "claude-9"),
                              client)
    assert missing.error_class == ErrorClass.HTTP_4XX and missing.error_message
    assert "model 'claude-9' not found in location us-central1 of project sim-project" in \
        missing.error_message
