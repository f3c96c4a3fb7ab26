"""Credentials that sign each request (probes/auth.py), against the real simulated server:
their headers reach the provider, their failure is `auth`, their own wait is not latency,
and they never show in a target's repr."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from probes import run_probe
from probes.auth import CREDENTIALS, CredentialsError, with_credentials
from probes.dialects import HttpRequest
from probes.result import ErrorClass
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.openai_server import SimModel, SimServer

TOKEN = "ya29.TESTTOKEN0123456789abcdef"
FAST = SimModel(ttft_seconds=0.02, inter_token_seconds=0.005, output_tokens=6)


class BearerToken:
    """A token 'fetched' before each request, taking `fetch_seconds`."""

    def __init__(self, token: str | None, fetch_seconds: float = 0.0) -> None:
        self._token = token
        self.fetch_seconds = fetch_seconds
        self.bodies: list[bytes] = []

    async def authorize(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        await asyncio.sleep(self.fetch_seconds)
        if self._token is None:
            raise CredentialsError("the token endpoint answered 400")
        self.bodies.append(body)
        return {"Authorization": f"Bearer {self._token}"}


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer({"m": FAST}, api_key=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client(stamped=True) as c:
        yield c


@pytest.fixture
def registered() -> Iterator[list[BearerToken]]:
    """A credentials factory for the openai dialect, as a cloud dialect registers one."""
    made: list[BearerToken] = []

    def factory(target: Target) -> BearerToken:
        made.append(BearerToken(TOKEN))
        return made[-1]

    CREDENTIALS["openai"] = factory
    yield made
    del CREDENTIALS["openai"]


def target(sim: SimServer, **fields: object) -> Target:
    assert sim.base_url
    return Target(api="openai", base_url=sim.base_url, model="m", timeout_seconds=5.0,
                  **fields)  # type: ignore[arg-type]


async def test_the_credentials_headers_reach_the_provider(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    assert (await run_probe("latency", target(sim), client)).error_class == ErrorClass.AUTH
    token = BearerToken(TOKEN)
    result = await run_probe("latency", target(sim, credentials=token), client)
    assert result.ok, result.error_message
    (body,) = token.bodies  # signed over the body that was sent: the request's JSON
    assert json.loads(body)["model"] == "m"


async def test_no_credentials_is_an_auth_failure_without_a_request(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await run_probe("latency", target(sim, credentials=BearerToken(None)), client)
    assert (result.ok, result.error_class) == (False, ErrorClass.AUTH)
    assert result.error_message == "no credentials: the token endpoint answered 400"
    assert sim.records == []


async def test_a_slow_token_fetch_is_not_the_providers_latency(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await run_probe("latency", target(sim, credentials=BearerToken(TOKEN, 0.5)),
                             client)
    assert result.ok and result.ttft_seconds is not None and result.total_seconds is not None
    assert result.ttft_seconds < 0.4 and result.total_seconds < 0.5


def test_with_credentials_makes_them_once_and_keeps_them_out_of_repr(
        registered: list[BearerToken]) -> None:
    made = with_credentials(Target(api="openai", base_url="http://127.0.0.1:9", model="m"))
    assert made.credentials is registered[0]
    assert with_credentials(made) is made and len(registered) == 1
    assert "credentials" not in repr(made) and TOKEN not in repr(made)
    other = Target(api="anthropic", base_url="http://127.0.0.1:9", model="m")
    assert with_credentials(other) is other
