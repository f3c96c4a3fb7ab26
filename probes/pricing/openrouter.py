"""OpenRouter's /api/v1/models: `data[].pricing` as strings of USD per token.

prompt and completion are required; input_cache_read and input_cache_write are the cache
prices; `overrides[]` with `min_prompt_tokens` are context tiers (applying from that many
prompt tokens, i.e. above one fewer). A model's batch prices are those of its `<id>:batch`
entry. Routers (openrouter/auto) price at "-1" (variable), which is refused as negative.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from probes.pricing.model import BadPrice, ParseError, Price, PriceList, PriceTier, per_mtok
from probes.status.model import load_json

NAME = "openrouter"
BATCH_SUFFIX = ":batch"


def parse(body: bytes, keys: Collection[str] | None = None) -> PriceList:
    try:
        doc = load_json(body)
    except ValueError as exc:
        raise ParseError(str(exc)) from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise ParseError("not OpenRouter's model list: expected an object with a `data` list")
    models = {m["id"]: m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)}
    wanted = list(keys) if keys is not None else [k for k in models
                                                   if not k.endswith(BATCH_SUFFIX)]
    quotes: dict[str, Price] = {}
    errors: dict[str, str] = {}
    missing = set()
    for key in wanted:
        model = models.get(key)
        if model is None:
            errors[key] = f"no model {key!r} in OpenRouter's list"
            missing.add(key)
            continue
        try:
            quotes[key] = quote(model.get("pricing"), models.get(key + BATCH_SUFFIX))
        except BadPrice as exc:
            errors[key] = f"{key}: {exc}"
    return PriceList(NAME, quotes, errors, missing=frozenset(missing))


def quote(pricing: Any, batch_model: dict[str, Any] | None = None) -> Price:
    if not isinstance(pricing, dict):
        raise BadPrice("no pricing object")

    def get(src: dict[str, Any], name: str, required: bool = False) -> float | None:
        return per_mtok(src.get(name), name, per_token=True, required=required)

    prompt, completion = get(pricing, "prompt", True), get(pricing, "completion", True)
    assert prompt is not None and completion is not None
    tiers = []
    for override in pricing.get("overrides") or []:
        if not isinstance(override, dict) or not isinstance(override.get("min_prompt_tokens"),
                                                            int):
            raise BadPrice("an override without min_prompt_tokens")
        t_in, t_out = get(override, "prompt"), get(override, "completion")
        tiers.append(PriceTier(max(0, override["min_prompt_tokens"] - 1),
                               prompt if t_in is None else t_in,
                               completion if t_out is None else t_out,
                               get(override, "input_cache_read")))
    batch = batch_model.get("pricing") if batch_model else None
    batch = batch if isinstance(batch, dict) else {}
    return Price(
        source=NAME, input_per_mtok=prompt, output_per_mtok=completion,
        cached_input_per_mtok=get(pricing, "input_cache_read"),
        cache_write_per_mtok=get(pricing, "input_cache_write"),
        batch_input_per_mtok=get(batch, "prompt"), batch_output_per_mtok=get(batch, "completion"),
        tiers=tuple(sorted(tiers, key=lambda t: t.above_input_tokens)))
