"""What discover derives from the config and the price data, in-process (service/discovery)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from probes.models import ListedModel
from service.config import load_settings
from service.discovery.access import DiscoverError, provider_access
from service.discovery.prices import BUNDLED, PriceSources
from service.discovery.report import as_json, as_yaml, discovery

TODAY = date(2026, 12, 8)
BUILTIN = load_settings(None, environ={})


@pytest.mark.parametrize(("provider", "api", "source", "prefix", "key_env"), [
    ("openai", "openai", "litellm", "", "OPENAI_API_KEY"),
    ("deepseek", "openai", "litellm", "deepseek/", "DEEPSEEK_API_KEY"),
    ("together", "openai", "litellm", "together_ai/", "TOGETHER_API_KEY"),
    ("google-ai-studio", "gemini", "litellm", "gemini/", "GEMINI_API_KEY"),
    ("anthropic", "anthropic", "litellm", "", "ANTHROPIC_API_KEY"),
    ("openrouter", "openai", "openrouter", "", "OPENROUTER_API_KEY"),
])
def test_a_provider_is_reached_and_priced_as_its_candidates(provider: str, api: str,
                                                            source: str, prefix: str,
                                                            key_env: str) -> None:
    access = provider_access(BUILTIN, provider)
    assert (access.api, access.price_source, access.key_prefix, access.api_key_env) == (
        api, source, prefix, key_env)


def test_a_provider_without_candidates_needs_its_api_and_url() -> None:
    with pytest.raises(DiscoverError, match="give --api and --base-url") as caught:
        provider_access(BUILTIN, "self-hosted")
    assert caught.value.kind == "config"
    with pytest.raises(DiscoverError, match="bedrock API has no model list"):
        provider_access(BUILTIN, "aws-bedrock")  # its candidates name the API
    with pytest.raises(DiscoverError, match="azure-openai API has no model list"):
        provider_access(BUILTIN, "azure-openai", api="azure-openai",
                        base_url="https://x.openai.azure.com")
    with pytest.raises(DiscoverError, match="unknown provider 'nope'") as caught:
        provider_access(BUILTIN, "nope")
    assert caught.value.kind == "unknown_provider"
    access = provider_access(BUILTIN, "self-hosted", api="openai",
                             base_url="http://127.0.0.1:8000/v1")
    assert (access.price_source, access.key_prefix, access.api_key_env) == ("litellm", "", None)


def listed(*ids: str, chat: bool | None = None) -> list[ListedModel]:
    return [ListedModel(i, None, chat) for i in ids]


def test_models_priced_from_the_bundled_map_and_candidates_marked() -> None:
    access = provider_access(BUILTIN, "openai")
    found = discovery(BUILTIN, access, listed("gpt-6-luna", "gpt-6-astra", "gpt-4o",
                                              "text-embedding-3-large", "brand-new"),
                      PriceSources(), TODAY)
    by_model = {f.model: f for f in found.models}
    assert list(by_model) == ["gpt-6-luna", "gpt-6-astra", "gpt-4o", "brand-new"]  # no embedding
    assert by_model["gpt-6-luna"].candidate == "openai/gpt-6-luna"
    assert by_model["gpt-6-luna"].config is None
    astra = by_model["gpt-6-astra"]
    assert astra.quote is not None and astra.quote.where == BUNDLED
    assert (astra.quote.price.input_per_mtok, astra.quote.price.output_per_mtok) == (10.0, 50.0)
    assert astra.config is not None and astra.config["price"] == {
        "source": "litellm", "key": "gpt-6-astra", "input_per_mtok": 10.0,
        "output_per_mtok": 50.0, "cached_input_per_mtok": 1.0, "as_of": date(2026, 11, 20)}
    old = by_model["gpt-4o"]
    assert (old.deprecation_date, old.successor) == ("2027-01-14", "gpt-6-luna")
    new = by_model["brand-new"]
    assert (new.quote, new.chat) == (None, None)
    assert new.config is not None and new.config["price"] == {"source": "litellm",
                                                              "key": "brand-new"}
    everything = discovery(BUILTIN, access, listed("text-embedding-3-large"), PriceSources(),
                           TODAY, everything=True)
    assert [(f.model, f.chat) for f in everything.models] == [("text-embedding-3-large", False)]


def test_the_yaml_is_a_candidates_block_the_config_accepts(tmp_path: Path) -> None:
    access = provider_access(BUILTIN, "deepseek")
    found = discovery(BUILTIN, access, listed("deepseek-v4-flash", "deepseek-v4-pro"),
                      PriceSources(), TODAY)
    text = as_yaml(found)
    block = yaml.safe_load(text)["candidates"]
    assert list(block) == ["deepseek/deepseek-v4-pro"]  # v4-flash is a candidate: a comment
    assert "# deepseek-v4-flash: already candidate deepseek/deepseek-v4-flash" in text
    assert block["deepseek/deepseek-v4-pro"]["price"]["key"] == "deepseek/deepseek-v4-pro"
    pasted = tmp_path / "factorwatch.yaml"
    pasted.write_text(text)  # the block as printed is a config file of its own
    cand = load_settings(pasted, environ={}).candidates["deepseek/deepseek-v4-pro"]
    assert (cand.provider, cand.model, cand.api_key_env) == ("deepseek", "deepseek-v4-pro",
                                                             "DEEPSEEK_API_KEY")
    doc = as_json(found)
    assert doc["models"][1]["config"]["price"]["as_of"] == "2026-11-20"
    assert doc["models"][1]["priced_from"] == BUNDLED
