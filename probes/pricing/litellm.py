"""LiteLLM's model_prices_and_context_window.json: USD per token, keyed by model.

Read per entry: input_cost_per_token, output_cost_per_token (required),
cache_read_input_token_cost, cache_creation_input_token_cost, input/output_cost_per_token_
batches, input/output_cost_per_audio_token, and context tiers `*_above_<N>k_tokens` (128k,
200k, 272k, ...). Old files (the 2025 layout, `0.0000` literals) read the same way. Only
the keys asked for are read, so one bad entry among 4,000 costs only itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from probes.pricing.model import BadPrice, ParseError, Price, PriceList, PriceTier, per_mtok
from probes.status.model import load_json

NAME = "litellm"

_TIER = re.compile(r"input_cost_per_token_above_(\d+)k_tokens")


def parse(body: bytes, keys: Collection[str] | None = None) -> PriceList:
    try:
        doc = load_json(body)
    except ValueError as exc:
        raise ParseError(str(exc)) from None
    if not isinstance(doc, dict) or not any(
            isinstance(v, dict) and "input_cost_per_token" in v for v in doc.values()):
        raise ParseError("not a LiteLLM price map: expected an object of models with "
                         "input_cost_per_token")
    wanted = list(keys) if keys is not None else [k for k in doc if k != "sample_spec"]
    quotes: dict[str, Price] = {}
    errors: dict[str, str] = {}
    missing = set()
    for key in wanted:
        entry = doc.get(key)
        if not isinstance(entry, dict):
            errors[key] = f"no entry {key!r} in the LiteLLM map"
            missing.add(key)
            continue
        try:
            quotes[key] = quote(entry)
        except BadPrice as exc:
            errors[key] = f"{key}: {exc}"
    return PriceList(NAME, quotes, errors, missing=frozenset(missing))


def quote(entry: dict[str, Any]) -> Price:
    def get(name: str, required: bool = False) -> float | None:
        return per_mtok(entry.get(name), name, per_token=True, required=required)

    input_price, output_price = get("input_cost_per_token", True), get("output_cost_per_token",
                                                                        True)
    assert input_price is not None and output_price is not None
    tiers = []
    for name in entry:
        found = _TIER.fullmatch(name)
        if not found:
            continue
        size = found[1]
        tier_out = get(f"output_cost_per_token_above_{size}k_tokens")
        tier_in = get(name)
        if tier_in is None or tier_out is None:
            raise BadPrice(f"tier above {size}k tokens has no output price")
        tiers.append(PriceTier(int(size) * 1000, tier_in, tier_out,
                               get(f"cache_read_input_token_cost_above_{size}k_tokens")))
    return Price(
        source=NAME, input_per_mtok=input_price, output_per_mtok=output_price,
        cached_input_per_mtok=get("cache_read_input_token_cost"),
        cache_write_per_mtok=get("cache_creation_input_token_cost"),
        batch_input_per_mtok=get("input_cost_per_token_batches"),
        batch_output_per_mtok=get("output_cost_per_token_batches"),
        audio_input_per_mtok=get("input_cost_per_audio_token"),
        audio_output_per_mtok=get("output_cost_per_audio_token"),
        tiers=tuple(sorted(tiers, key=lambda t: t.above_input_tokens)))
