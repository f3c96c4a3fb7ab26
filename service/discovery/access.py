"""How to reach a provider's model list and how its models are priced, from its candidates.

A provider's API, base URL and key are its candidates' (the first by id, enabled ones
first); flags may set them for a provider without candidates. Its models are priced like its
candidates: the price list and key form of the first candidate whose `price.key` ends with
its model (`deepseek/` + model in LiteLLM's list), else LiteLLM's list under the bare model.
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.models import LISTERS
from probes.pricing import negotiated
from service.config import CandidateConfig, Settings

LITELLM = "litellm"


class DiscoverError(Exception):
    """Discovery cannot run or failed. `kind`: unknown_provider, config, no_key (the
    configuration's), auth, timeout, upstream (the provider's answer)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Access:
    provider: str
    api: str
    base_url: str
    api_key_env: str | None
    api_key_file: str | None
    price_source: str  # the price-list format its models are looked up in
    key_prefix: str  # a model's key in that list is key_prefix + model

    def price_key(self, model: str) -> str:
        return self.key_prefix + model


def candidates_of(settings: Settings, provider: str) -> list[tuple[str, CandidateConfig]]:
    """The provider's candidates, enabled ones first, each group by id."""
    found = [(cid, c) for cid, c in settings.candidates.items() if c.provider == provider]
    return sorted(found, key=lambda item: (not item[1].enabled, item[0]))


def provider_access(settings: Settings, provider: str, *, api: str | None = None,
                    base_url: str | None = None, api_key_env: str | None = None) -> Access:
    if provider not in settings.providers:
        known = ", ".join(sorted(settings.providers))
        raise DiscoverError("unknown_provider",
                            f"unknown provider {provider!r} (known: {known})")
    cands = candidates_of(settings, provider)
    first = cands[0][1] if cands else None
    api = api or (first.api if first else None)
    base_url = base_url or (str(first.base_url) if first else None)
    if api is None or base_url is None:
        raise DiscoverError("config", f"provider {provider!r} has no candidate to take its "
                            "API and base URL from: give --api and --base-url")
    if api not in LISTERS:
        raise DiscoverError("config", f"the {api} API has no model list (discover reads "
                            f"those of: {', '.join(sorted(LISTERS))})")
    key_env, key_file = ((api_key_env, None) if api_key_env
                         else (first.api_key_env, first.api_key_file) if first
                         else (None, None))
    source, prefix = _price_form(cands)
    return Access(provider, api, base_url, key_env, key_file, source, prefix)


def _price_form(cands: list[tuple[str, CandidateConfig]]) -> tuple[str, str]:
    for _, cand in cands:
        price = cand.price
        listed = price is not None and price.source not in ("static", negotiated.NAME)
        if listed and price and price.key and price.key.endswith(cand.model):
            return price.source, price.key[:len(price.key) - len(cand.model)]
    return LITELLM, ""
