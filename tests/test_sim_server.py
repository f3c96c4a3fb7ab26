"""The simulated OpenAI-compatible server: wire format, timing truth, determinism, threads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from probes.sse import SSEParser
from service.sim.openai_server import SimModel, SimServer

pytestmark = pytest.mark.integration  # every test serves the simulator on a socket

MODELS = {
    "m": SimModel(ttft_seconds=0.05, inter_token_seconds=0.005, output_tokens=4),
    "flaky": SimModel(ttft_seconds=0.0, inter_token_seconds=0.0, output_tokens=1, error_rate=0.5),
    "401": SimModel(fault="status_401"),
    "429": SimModel(fault="status_429"),
}


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(MODELS, seed=3)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def chat(model: str, **extra: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "Count to ten."}]}
    return {**body, "stream": True, "stream_options": {"include_usage": True}, **extra}


async def stream_data(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> list[str]:
    parser = SSEParser()
    events = []
    async with client.stream("POST", f"{url}/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_raw():
            events += parser.feed(chunk, 0.0)
    return [e.data for e in events + parser.flush()]


async def test_stream_looks_like_openai(sim: SimServer, client: httpx.AsyncClient) -> None:
    assert sim.base_url and sim.base_url.startswith("http://127.0.0.1:")
    data = await stream_data(client, sim.base_url, chat("m"))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    words = [c["choices"][0]["delta"].get("content") for c in chunks[1:5]]
    assert words == ["tok1 ", "tok2 ", "tok3 ", "tok4 "]
    assert chunks[5]["choices"][0]["finish_reason"] == "stop"
    assert chunks[6]["choices"] == []
    assert chunks[6]["usage"]["completion_tokens"] == 4
    assert chunks[6]["usage"]["prompt_tokens"] > 0


async def test_max_tokens_caps_the_answer(sim: SimServer, client: httpx.AsyncClient) -> None:
    assert sim.base_url
    data = await stream_data(client, sim.base_url, chat("m", max_tokens=2))
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 2


async def test_records_when_the_first_content_chunk_was_written(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    assert sim.base_url
    await stream_data(client, sim.base_url, chat("m"))
    (record,) = sim.records
    assert sim.first_content_times == [record.first_content_at]
    assert record.first_content_at is not None and record.last_content_at is not None
    assert record.first_content_at - record.received_at == pytest.approx(0.05, abs=0.03)
    assert record.last_content_at - record.first_content_at == pytest.approx(0.015, abs=0.03)
    assert (record.status, record.content_tokens) == (200, 4)


async def test_keep_alive_serves_sequential_requests_on_one_connection(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    assert sim.base_url
    for _ in range(3):
        await stream_data(client, sim.base_url, chat("m", max_tokens=1))
    assert len({record.connection for record in sim.records}) == 1


async def statuses(seed: int, n: int = 12) -> list[int]:
    server = SimServer(MODELS, seed=seed)
    url = await server.start()
    try:
        async with httpx.AsyncClient() as client:
            body = chat("flaky", stream=False)
            return [
                (await client.post(f"{url}/chat/completions", json=body)).status_code
                for _ in range(n)
            ]
    finally:
        await server.stop()


async def test_error_rate_is_deterministic_for_a_seed() -> None:
    first, again, other = await statuses(7), await statuses(7), await statuses(8)
    assert first == again
    assert set(first) == {200, 500}
    assert first != other


async def test_non_streaming_request_gets_a_completion(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{sim.base_url}/chat/completions", json=chat("m", stream=False))
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "tok1 tok2 tok3 tok4 "
    assert body["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/chat/completions", {"model": "nope"}, 404, "model_not_found"),
        ("/chat/completions", {"no": "model"}, 400, "invalid_request_error"),
        ("/embeddings", {"model": "m"}, 404, "not_found"),
    ],
)
async def test_errors_use_the_openai_error_shape(
    sim: SimServer, client: httpx.AsyncClient, path: str, body: Any, status: int, code: str
) -> None:
    response = await client.post(f"{sim.base_url}{path}", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_status_401_echoes_the_authorization_header(
    sim: SimServer, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        f"{sim.base_url}/chat/completions", json=chat("401"), headers={"Authorization": "Bearer k"}
    )
    assert response.status_code == 401
    assert "Bearer k" in response.json()["error"]["message"]


async def test_status_429_sends_retry_after(sim: SimServer, client: httpx.AsyncClient) -> None:
    response = await client.post(f"{sim.base_url}/chat/completions", json=chat("429"))
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")


async def test_models_endpoint_lists_the_models(sim: SimServer, client: httpx.AsyncClient) -> None:
    response = await client.get(f"{sim.base_url}/models")
    assert [m["id"] for m in response.json()["data"]] == list(MODELS)


def test_runs_on_its_own_thread_and_stops() -> None:
    server = SimServer(MODELS)
    url = server.start_in_thread()
    try:
        with httpx.Client() as client:
            response = client.post(f"{url}/chat/completions", json=chat("m", stream=False))
            assert response.status_code == 200
    finally:
        server.stop_thread()
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(f"{url}/models")
