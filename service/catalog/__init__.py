"""The built-in catalog: providers with their facts and sources, candidates, workloads.

It is plain config data (builtin.yaml, the same shape as the user's file) so that
service.config can merge it underneath the user's file and validate both in one pass.

litellm_models.json is the bundled price data `factorwatch discover` reads offline: every
entry of LiteLLM's map of 2026-11-20 (the litellm 1.110.2 wheel) whose `litellm_provider`
is one of BUNDLED_PROVIDERS, unchanged (tests/fixtures/real/SOURCES.md).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

import yaml

CATALOG_FILE = "builtin.yaml"
LITELLM_MODELS_FILE = "litellm_models.json"
LITELLM_MODELS_AS_OF = "2026-11-20"  # the map's date: the wheel's upload to PyPI
BUNDLED_PROVIDERS = ("openai", "text-completion-openai", "anthropic", "gemini", "mistral",
                     "deepseek", "groq", "together_ai", "bedrock_converse")


@cache
def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):  # a packaging mistake, not a user error
        raise RuntimeError(f"{CATALOG_FILE}: top level must be a mapping")
    return data


def builtin_catalog() -> dict[str, Any]:
    """Return a fresh copy of the raw catalog mapping (callers may mutate it)."""
    return copy.deepcopy(_load())


@cache
def bundled_litellm_models() -> dict[str, dict[str, Any]]:
    """The bundled LiteLLM entries by key (cached: callers must not mutate them)."""
    text = resources.files(__package__).joinpath(LITELLM_MODELS_FILE).read_text(
        encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):  # a packaging mistake, not a user error
        raise RuntimeError(f"{LITELLM_MODELS_FILE}: top level must be an object")
    return data
