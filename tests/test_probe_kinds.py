"""uptime, tools, long_context and quality against the simulated fleet in every dialect:
each measures the rate the simulator was configured with, and fills the scoring contract."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from probes import run_probe
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.sim.behaviour import SimModel
from service.sim.server import SimServer

APIS = ("openai", "anthropic", "gemini", "azure-openai", "bedrock", "bedrock-invoke")
FAST = {"ttft_seconds": 0.005, "inter_token_seconds": 0.0}
MODELS = {
    "perfect": SimModel(**FAST),
    "hopeless": SimModel(**FAST, tool_accuracy=0.0, recall_rate=0.0, quality_rate=0.0),
    "middling": SimModel(**FAST, tool_accuracy=0.6, recall_rate=0.5, quality_rate=0.5),
    "empty": SimModel(**FAST, fault="empty"),
    "flaky": SimModel(**FAST, error_rates={"status_429": 1.0}),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[SimServer]:
    server = SimServer(MODELS, seed=11, api_key="k-123")
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def run(fleet: SimServer, client: httpx.AsyncClient, kind: str, api: str, model: str,
              **options: Any) -> ProbeResult:
    target = Target(api=api, base_url=fleet.url_for(api), model=model, api_key="k-123",
                    timeout_seconds=5, options=MappingProxyType(options))
    return await run_probe(kind, target, client)


@pytest.mark.parametrize("api", APIS)
async def test_uptime_asks_for_one_token(fleet: SimServer, client: httpx.AsyncClient,
                                         api: str) -> None:
    result = await run(fleet, client, "uptime", api, "perfect")
    assert result.ok and result.output_tokens == 1, result.error_message
    assert result.extra["empty_answer"] is False and result.extra["finish_reason"]


async def test_uptime_counts_a_complete_empty_answer_as_serving(
        fleet: SimServer, client: httpx.AsyncClient) -> None:
    result = await run(fleet, client, "uptime", "openai", "empty", prompt="Are you up?")
    assert result.ok and result.extra["empty_answer"] is True


@pytest.mark.parametrize("api", APIS)
async def test_tools_perfect_model_makes_a_valid_call(fleet: SimServer,
                                                      client: httpx.AsyncClient,
                                                      api: str) -> None:
    result = await run(fleet, client, "tools", api, "perfect")
    assert result.ok, result.error_message
    extra = result.extra
    assert extra["tool_call_valid"] is True and extra["schema_errors"] == []
    assert extra["called_tool"] == extra["expected_tool"]


async def test_tools_hopeless_model_is_judged_invalid_with_reasons(
        fleet: SimServer, client: httpx.AsyncClient) -> None:
    for _ in range(4):
        result = await run(fleet, client, "tools", "anthropic", "hopeless")
        assert result.ok and result.extra["tool_call_valid"] is False
        assert 1 <= len(result.extra["schema_errors"]) <= 5


async def test_tools_measures_the_configured_accuracy(fleet: SimServer,
                                                      client: httpx.AsyncClient) -> None:
    runs = [await run(fleet, client, "tools", "openai", "middling") for _ in range(40)]
    share = sum(r.extra["tool_call_valid"] for r in runs) / len(runs)
    assert 0.4 <= share <= 0.8  # configured 0.6; 40 Bernoulli draws


async def test_tools_reads_a_catalog_in_anthropic_form(fleet: SimServer,
                                                       client: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    catalog = {"tools": [{"name": "lookup_invoice", "description": "Look up an invoice",
                          "input_schema": {"type": "object", "required": ["number"],
                                           "properties": {"number": {"type": "integer"}}}}],
               "cases": [{"prompt": "Look up invoice 42.", "expected_tool": "lookup_invoice"}]}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    result = await run(fleet, client, "tools", "gemini", "perfect", catalog=str(path))
    assert result.extra["expected_tool"] == "lookup_invoice"
    assert result.extra["tool_call_valid"] is True


@pytest.mark.parametrize("api", APIS)
async def test_long_context_recalls_every_fact_at_every_depth(
        fleet: SimServer, client: httpx.AsyncClient, api: str) -> None:
    depths = [0.0, 0.25, 0.5, 0.75, 1.0]
    result = await run(fleet, client, "long_context", api, "perfect", context_tokens=2000,
                       depths=depths)
    assert result.ok, result.error_message
    extra = result.extra
    assert (extra["facts_planted"], extra["facts_recalled"]) == (5, 5)
    assert extra["depths"] == extra["recalled_depths"] == depths
    assert extra["context_tokens"] == 2000
    assert result.input_tokens is not None and 1800 < result.input_tokens < 2600


async def test_long_context_measures_the_configured_recall(
        fleet: SimServer, client: httpx.AsyncClient) -> None:
    runs = [await run(fleet, client, "long_context", "openai", "middling", context_tokens=500)
            for _ in range(10)]
    planted = sum(r.extra["facts_planted"] for r in runs)
    recalled = sum(r.extra["facts_recalled"] for r in runs)
    assert planted == 30 and 0.3 <= recalled / planted <= 0.7  # configured 0.5
    assert all(set(r.extra["recalled_depths"]) <= {0.1, 0.5, 0.9} for r in runs)


@pytest.mark.parametrize("api", APIS)
async def test_quality_perfect_model_passes_the_default_eval_set(
        fleet: SimServer, client: httpx.AsyncClient, api: str) -> None:
    result = await run(fleet, client, "quality", api, "perfect", sample=8)
    assert result.ok, result.error_message
    assert result.extra["eval_set"] == "eval.jsonl"
    assert (result.extra["items"], result.extra["passed"]) == (8, 8), result.extra["failures"]
    assert result.input_tokens and result.output_tokens  # summed over the items: the cost


async def test_quality_failures_are_bounded_and_say_why(fleet: SimServer,
                                                        client: httpx.AsyncClient) -> None:
    result = await run(fleet, client, "quality", "anthropic", "hopeless", sample=8)
    assert (result.extra["items"], result.extra["passed"]) == (8, 0)
    failures = result.extra["failures"]
    assert len(failures) == 5
    assert all(set(f) == {"id", "grader", "reason"} and f["reason"] for f in failures)


async def test_quality_measures_the_configured_pass_rate(fleet: SimServer,
                                                         client: httpx.AsyncClient) -> None:
    runs = [await run(fleet, client, "quality", "gemini", "middling", sample=8)
            for _ in range(5)]
    share = sum(r.extra["passed"] for r in runs) / sum(r.extra["items"] for r in runs)
    assert 0.3 <= share <= 0.7  # configured 0.5; 40 items


async def test_quality_api_failure_ends_the_run_as_a_failed_probe(
        fleet: SimServer, client: httpx.AsyncClient) -> None:
    result = await run(fleet, client, "quality", "openai", "flaky", sample=3)
    assert (result.ok, result.error_class) == (False, ErrorClass.RATE_LIMITED)
    assert result.extra["items"] == 0
