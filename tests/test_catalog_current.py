"""The built-in candidates are the models the bundled price data shows as current.

Current: in LiteLLM's map of 2026-11-20 (tests/fixtures/real, SOURCES.md) the candidate's
entry is a chat model with function calling, neither deprecated nor pointing at a successor,
and the catalog's seed figures are that entry's. The OpenRouter candidate is checked against
OpenRouter's own list. The bundled copy that `factorwatch discover` reads offline
(service/catalog/litellm_models.json) is that map's entries of its providers, unchanged.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from probes.pricing import READERS
from service.catalog import (
    BUNDLED_PROVIDERS,
    LITELLM_MODELS_AS_OF,
    builtin_catalog,
    bundled_litellm_models,
)
from tests.conftest import REAL_FIXTURES

LITELLM_MAP = REAL_FIXTURES / "litellm_model_prices_and_context_window.json"
OPENROUTER_LIST = REAL_FIXTURES / "openrouter_api_v1_models_excerpt.json"
OPENROUTER_AS_OF = date(2026, 9, 5)  # when that list was captured (SOURCES.md)
CANDIDATES: dict[str, Any] = builtin_catalog()["candidates"]
CLOUD_APIS = {"vertex", "vertex-anthropic", "azure-openai", "azure-ai-inference"}


def litellm_map() -> dict[str, Any]:
    return json.loads(LITELLM_MAP.read_bytes())


def by_source(source: str) -> list[str]:
    return sorted(cid for cid, c in CANDIDATES.items() if c["price"]["source"] == source)


def test_the_bundled_copy_is_the_maps_entries_of_its_providers_unchanged() -> None:
    wanted = {key: entry for key, entry in litellm_map().items()
              if isinstance(entry, dict) and entry.get("litellm_provider") in BUNDLED_PROVIDERS}
    assert bundled_litellm_models() == wanted
    assert len(wanted) > 500


@pytest.mark.parametrize("cid", by_source("litellm"))
def test_a_litellm_candidate_is_current_in_the_map(cid: str) -> None:
    cand = CANDIDATES[cid]
    entry = litellm_map().get(cand["price"]["key"])
    assert entry is not None, f"{cid}: {cand['price']['key']} is not in the map"
    # A realtime model speaks: it is probed by the voice probe, and only by it.
    mode = "realtime" if "voice" in cand["probes"] else "chat"
    assert entry["mode"] == mode and entry.get("supports_function_calling") is True, cid
    assert mode == "chat" or set(cand["probes"]) == {"voice"}, cid
    as_of = date.fromisoformat(LITELLM_MODELS_AS_OF)
    assert "successor_model" not in entry, cid
    # Azure dates every model version's retirement when it ships: one after the map's date
    # is a current model there.
    retires = entry.get("deprecation_date")
    assert retires is None or (cand["api"] == "azure-openai"
                               and date.fromisoformat(retires) > as_of), cid
    assert cand["price"]["as_of"] == as_of
    if cand["api"] not in CLOUD_APIS:  # the clouds' listings are not in the offline bundle
        assert entry["litellm_provider"] in BUNDLED_PROVIDERS  # discover prices it offline
    quoted = READERS["litellm"](LITELLM_MAP.read_bytes(), [cand["price"]["key"]])
    assert_seed_figures(cid, quoted.quotes[cand["price"]["key"]])


@pytest.mark.parametrize("cid", by_source("openrouter"))
def test_an_openrouter_candidate_is_in_openrouters_list(cid: str) -> None:
    cand = CANDIDATES[cid]
    quoted = READERS["openrouter"](OPENROUTER_LIST.read_bytes(), [cand["price"]["key"]])
    assert cand["price"]["key"] in quoted.quotes, quoted.errors
    assert cand["price"]["as_of"] == OPENROUTER_AS_OF
    assert_seed_figures(cid, quoted.quotes[cand["price"]["key"]])


def assert_seed_figures(cid: str, price: Any) -> None:
    figures = CANDIDATES[cid]["price"]
    assert figures["input_per_mtok"] == pytest.approx(price.input_per_mtok), cid
    assert figures["output_per_mtok"] == pytest.approx(price.output_per_mtok), cid
    for name in ("cached_input_per_mtok", "audio_input_per_mtok", "audio_output_per_mtok"):
        quoted = getattr(price, name)
        assert figures.get(name) == (None if quoted is None else pytest.approx(quoted)), (
            cid, name)


def test_every_candidate_is_priced_from_a_list_the_test_checks() -> None:
    assert sorted(by_source("litellm") + by_source("openrouter")) == sorted(CANDIDATES)
    providers = {c["provider"] for c in CANDIDATES.values()}
    assert {"openai", "anthropic", "google-ai-studio", "mistral", "deepseek", "groq",
            "together", "openrouter"} <= providers


def test_the_realtime_candidates_are_openai_realtime_and_gemini_live() -> None:
    voiced = {cid: c["api"] for cid, c in CANDIDATES.items() if "voice" in c["probes"]}
    assert voiced == {"openai/gpt-realtime-2.1": "openai",
                      "google-ai-studio/gemini-3.8-live": "gemini"}
