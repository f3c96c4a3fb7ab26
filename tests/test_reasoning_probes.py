"""Probes of reasoning models against the simulator's reasoning streams: the first answer
token timed against the server's truth in every dialect, reasoning counted, a refused
max_tokens classed as a failure, reasoning caps reaching the server, and every probe kind
on the OpenAI Responses API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from probes import PROBES, run_probe
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import SimModel
from service.sim.server import SimServer

KEY = "sk-test-0123456789reasoning"
APIS = ["openai", "anthropic", "gemini", "openai-responses"]
THINKER = SimModel(ttft_seconds=0.05, inter_token_seconds=0.01, output_tokens=8,
                   reasoning_tokens=20)
MODELS = {
    "thinker": THINKER,
    "plain": SimModel(ttft_seconds=0.05, inter_token_seconds=0.01, output_tokens=8),
    "picky": SimModel(ttft_seconds=0.01, inter_token_seconds=0.001, reasoning_tokens=4,
                      min_max_tokens=64),
}


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(MODELS, seed=3)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client(stamped=True) as c:
        yield c


def target(sim: SimServer, api: str, model: str, **options: Any) -> Target:
    options.setdefault("max_tokens", 64)  # as the config sets it: every kind reads it
    return Target(api=api, base_url=sim.url_for(api), model=model, api_key=KEY,
                  timeout_seconds=5, max_tokens=options["max_tokens"],
                  options=MappingProxyType(options))


async def latency(sim: SimServer, client: httpx.AsyncClient, api: str, model: str,
                  **options: Any) -> ProbeResult:
    return await run_probe("latency", target(sim, api, model, **options), client)


@pytest.mark.parametrize("api", APIS)
async def test_first_answer_is_timed_after_the_reasoning_against_the_truth(
        sim: SimServer, client: httpx.AsyncClient, api: str) -> None:
    result = await latency(sim, client, api, "thinker")
    assert result.ok, result.error_message
    (record,) = sim.records
    assert record.first_reasoning_at is not None and record.first_answer_at is not None
    truth_first = record.first_content_at - record.received_at  # type: ignore[operator]
    truth_answer = record.first_answer_at - record.received_at
    assert result.ttft_seconds == pytest.approx(truth_first, abs=0.02)
    assert result.first_answer_seconds == pytest.approx(truth_answer, abs=0.02)
    # 20 reasoning tokens 10 ms apart came first: the answer is ~0.2 s after the first token
    assert result.first_answer_seconds - result.ttft_seconds == pytest.approx(0.2, abs=0.05)
    assert result.output_tokens == 8 + 20
    if api == "anthropic":  # not counted apart by the API: output less the answer's estimate
        assert result.reasoning_tokens_estimated and result.reasoning_tokens == 28 - 10
    else:
        assert (result.reasoning_tokens, result.reasoning_tokens_estimated) == (20, False)
    # the answer's own speed: 8 tokens, 10 ms apart
    assert result.answer_tokens_per_second == pytest.approx(100, rel=0.5)
    assert result.extra["finish_reason"] in ("stop", "end_turn", "STOP", "completed")


@pytest.mark.parametrize("api", APIS)
async def test_plain_model_answers_first(sim: SimServer, client: httpx.AsyncClient,
                                         api: str) -> None:
    result = await latency(sim, client, api, "plain")
    assert result.ok, result.error_message
    assert result.first_answer_seconds == result.ttft_seconds
    assert result.reasoning_tokens in (None, 0)


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini"])
async def test_a_refused_max_tokens_is_a_failed_probe(sim: SimServer, client: httpx.AsyncClient,
                                                      api: str) -> None:
    result = await run_probe("uptime", target(sim, api, "picky", max_tokens=1), client)
    assert (result.ok, result.error_class) == (False, ErrorClass.HTTP_4XX)
    assert result.http_status == 400
    assert "max_tokens is too small" in (result.error_message or "")
    assert result.error_message.endswith(  # type: ignore[union-attr]
        "(a reasoning model may refuse this output cap: see docs/config.md, Reasoning models)")
    ok = await run_probe("uptime", target(sim, api, "picky", max_tokens=64), client)
    assert ok.ok, ok.error_message


async def test_reasoning_that_fills_max_tokens_leaves_no_answer(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await latency(sim, client, "openai", "thinker", max_tokens=16)
    assert result.ok, result.error_message  # the API served: reasoning tokens arrived
    assert result.first_answer_seconds is None and result.ttft_seconds is not None
    assert result.reasoning_tokens == 16 and result.extra["finish_reason"] == "length"


@pytest.mark.parametrize(("api", "cap", "reasoned"), [
    ("openai", {"effort": "low"}, 10),
    ("openai-responses", {"effort": "minimal"}, 2),
    ("anthropic", {"budget_tokens": 5}, 5),
    ("gemini", {"budget_tokens": 0}, 0),
    ("gemini", {"effort": "high"}, 40),
])
async def test_reasoning_cap_reaches_the_server(sim: SimServer, client: httpx.AsyncClient,
                                                api: str, cap: dict[str, Any],
                                                reasoned: int) -> None:
    result = await latency(sim, client, api, "thinker", reasoning=cap)
    assert result.ok, result.error_message
    assert sim.records[-1].reasoning_tokens == reasoned
    assert result.output_tokens == reasoned + 8


@pytest.mark.parametrize("kind", sorted(set(PROBES) - {"voice"}))  # voice: realtime APIs
async def test_every_probe_kind_works_on_the_responses_api(
        sim: SimServer, client: httpx.AsyncClient, kind: str) -> None:
    result = await run_probe(kind, Target(api="openai-responses",
                                          base_url=sim.url_for("openai-responses"),
                                          model="thinker", api_key=KEY, timeout_seconds=10),
                             client)
    assert result.ok, result.error_message
    assert result.reasoning_tokens  # within each kind's max_tokens
    if kind == "tools":
        assert result.extra["tool_call_valid"], result.extra
    if kind == "long_context":
        assert result.extra["facts_recalled"] == result.extra["facts_planted"]
    if kind == "quality":
        assert result.extra["passed"] == result.extra["items"]


@pytest.mark.parametrize("api", APIS)
async def test_a_tool_call_after_reasoning_is_judged_and_timed(
        sim: SimServer, client: httpx.AsyncClient, api: str) -> None:
    result = await run_probe("tools", target(sim, api, "thinker", max_tokens=256), client)
    assert result.ok, result.error_message
    assert result.extra["tool_call_valid"], result.extra
    record = sim.records[-1]
    assert record.first_answer_at is not None and record.first_reasoning_at is not None
    assert result.first_answer_seconds == pytest.approx(
        record.first_answer_at - record.received_at, abs=0.02)
    assert result.first_answer_seconds > result.ttft_seconds  # type: ignore[operator]
