"""Price-list readers against the real LiteLLM and OpenRouter files, and bad entries."""

from __future__ import annotations

import json

import pytest

from probes.pricing import READERS, ParseError, Price, PriceTier
from tests.conftest import REAL_FIXTURES as REAL

LITELLM = (REAL / "litellm_model_prices_and_context_window.json").read_bytes()
LITELLM_2025 = (REAL / "litellm_model_prices_2025-02-06_snapshot.json").read_bytes()
OPENROUTER = (REAL / "openrouter_api_v1_models_excerpt.json").read_bytes()


def _listed(source: str, inp: float, out: float, cached: float | None = None,
            write: float | None = None, batch: tuple[float, float] | None = None,
            tiers: tuple[PriceTier, ...] = ()) -> Price:
    b_in, b_out = batch or (None, None)
    return Price(inp, out, cached, source, cache_write_per_mtok=write, batch_input_per_mtok=b_in,
                 batch_output_per_mtok=b_out, tiers=tiers)


@pytest.mark.parametrize(("body", "key", "expected"), [
    pytest.param(LITELLM, "gpt-4o-mini",
                 _listed("litellm", 0.15, 0.6, 0.075, batch=(0.075, 0.3)),
                 id="litellm-cache-and-batch"),
    pytest.param(LITELLM, "gemini-2.5-pro",
                 _listed("litellm", 1.25, 10.0, 0.125, batch=(0.625, 5.0),
                         tiers=(PriceTier(200_000, 2.5, 15.0, 0.25),)), id="litellm-200k-tier"),
    pytest.param(LITELLM, "claude-sonnet-4-5",
                 _listed("litellm", 3.0, 15.0, 0.3, 3.75, (1.5, 7.5)), id="litellm-cache-write"),
    pytest.param(LITELLM_2025, "gpt-4o-mini",
                 _listed("litellm", 0.15, 0.6, 0.075, batch=(0.075, 0.3)),
                 id="litellm-2025-layout"),
    pytest.param(OPENROUTER, "openai/gpt-6-astra",
                 _listed("openrouter", 10.0, 50.0, 1.0, 12.5, (5.0, 25.0),
                         (PriceTier(271_999, 20.0, 75.0, 2.0),)),
                 id="openrouter-overrides-and-batch-sibling"),
    pytest.param(OPENROUTER, "inclusionai/ling-3.0-flash-sante:free",
                 _listed("openrouter", 0.0, 0.0), id="openrouter-free-model"),
    pytest.param(OPENROUTER, "google/gemini-3.8-flash",
                 _listed("openrouter", 0.75, 3.75, 0.075, 0.041666667, (0.375, 1.875)),
                 id="openrouter-long-decimal-string"),
])
def test_real_price_entry_reads_as_usd_per_million_tokens(body: bytes, key: str,
                                                          expected: Price) -> None:
    fmt = "openrouter" if body is OPENROUTER else "litellm"
    prices = READERS[fmt](body, [key])
    assert prices.errors == {}
    assert prices.quotes[key] == expected


def test_litellm_whole_map_reads_every_priced_chat_model() -> None:
    prices = READERS["litellm"](LITELLM, None)
    assert len(prices.quotes) > 3800
    assert all(q.input_per_mtok >= 0 for q in prices.quotes.values())
    assert "sample_spec" not in prices.quotes


def _litellm(entry: dict[str, object]) -> bytes:
    return json.dumps({"good": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
                       "bad": entry}).encode()


@pytest.mark.parametrize(("entry", "reason"), [
    ({"output_cost_per_token": 2e-6}, "input_cost_per_token is missing"),
    ({"input_cost_per_token": -1e-6, "output_cost_per_token": 2e-6},
     "input_cost_per_token is negative"),
    ({"input_cost_per_token": 2.5, "output_cost_per_token": 10},
     "input_cost_per_token is absurd: $2,500,000 per million tokens"),
    ({"input_cost_per_token": "cheap", "output_cost_per_token": 1e-6},
     "input_cost_per_token is not a number: 'cheap'"),
    ({"input_cost_per_token": True, "output_cost_per_token": 1e-6},
     "input_cost_per_token is not a number: True"),
    ({"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6,
      "input_cost_per_token_above_200k_tokens": 2e-6}, "tier above 200k tokens has no output"),
])
def test_bad_entry_is_refused_with_its_reason_and_others_still_read(
        entry: dict[str, object], reason: str) -> None:
    prices = READERS["litellm"](_litellm(entry), ["good", "bad", "absent"])
    assert list(prices.quotes) == ["good"]
    assert prices.errors["bad"].startswith(f"bad: {reason}")
    assert prices.errors["absent"] == "no entry 'absent' in the LiteLLM map"
    assert prices.missing == {"absent"}  # gone from the list, not refused (model_retired)


def test_openrouter_variable_price_router_is_refused() -> None:
    body = json.dumps({"data": [{"id": "openrouter/auto",
                                 "pricing": {"prompt": "-1", "completion": "-1"}}]}).encode()
    prices = READERS["openrouter"](body, ["openrouter/auto", "gone/model"])
    assert prices.errors == {"openrouter/auto": "openrouter/auto: prompt is negative: '-1'",
                             "gone/model": "no model 'gone/model' in OpenRouter's list"}
    assert prices.missing == {"gone/model"}


NEGOTIATED = b"""
prices:
  openai/gpt-4o:
    input_per_mtok: 2.0
    output_per_mtok: 8.0
    batch_input_per_mtok: 1.0
    tiers: [{above_input_tokens: 128000, input_per_mtok: 4, output_per_mtok: 16}]
  typo/model:
    input_per_mtok: 1
    output_per_mtok: 1
    cached_input: 0.5
  missing/output:
    input_per_mtok: 1
"""


def test_negotiated_yaml_reads_good_entries_and_refuses_bad_ones() -> None:
    prices = READERS["yaml"](NEGOTIATED, None)
    assert prices.quotes == {"openai/gpt-4o": Price(
        2.0, 8.0, source="yaml", batch_input_per_mtok=1.0,
        tiers=(PriceTier(128000, 4.0, 16.0),))}
    assert prices.errors["typo/model"].startswith("typo/model: unknown field 'cached_input'")
    assert prices.errors["missing/output"] == "missing/output: output_per_mtok is missing"


@pytest.mark.parametrize(("fmt", "body", "message"), [
    ("litellm", b"", "empty response"),
    ("litellm", b"<html>oops</html>", "an HTML page"),
    ("litellm", b'{"gpt-4o": {"input_cost_per_tok', "not JSON"),
    ("litellm", b'{"data": []}', "not a LiteLLM price map"),
    ("openrouter", b'{"models": []}', "not OpenRouter's model list"),
    ("yaml", b"prices: [1, 2", "invalid YAML"),
    ("yaml", b"just: words", "expected a mapping with a `prices` mapping"),
])
def test_body_that_is_not_the_format_raises(fmt: str, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        READERS[fmt](body, None)


def test_readers_are_registered_by_name() -> None:
    assert sorted(READERS) == ["genai-prices", "litellm", "models-dev", "openrouter", "yaml"]
