"""models.dev's catalog, https://models.dev/api.json: providers, their models, USD per million.

An object of providers by id, each with `models` by id; a model's `cost` holds `input` and
`output` (required), `cache_read` and `cache_write`. Keys are "<provider id>/<model id>",
e.g. "moonshotai-cn/kimi-k2-thinking-turbo" (a model id may itself hold a "/").

What it adds to LiteLLM's map: providers and models that map lacks (Moonshot's own API,
self-hosted gateways, ...). Not read: `context_over_200k` (its shape differs between
versions of the file), reasoning and audio prices, and the model facts beside the prices
(limits, modalities, knowledge cut-off), which a Price does not carry. A price of 0 is read
as given: gateways that do not bill per token list their models at 0.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from probes.pricing.model import BadPrice, ParseError, Price, PriceList, per_mtok
from probes.status.model import load_json

NAME = "models-dev"


def parse(body: bytes, keys: Collection[str] | None = None) -> PriceList:
    try:
        doc = load_json(body)
    except ValueError as exc:
        raise ParseError(str(exc)) from None
    if not isinstance(doc, dict) or not any(
            isinstance(p, dict) and isinstance(p.get("models"), dict) for p in doc.values()):
        raise ParseError("not models.dev's api.json: expected an object of providers with "
                         "models")
    wanted = list(keys) if keys is not None else [
        f"{pid}/{mid}" for pid, p in doc.items()
        if isinstance(p, dict) and isinstance(p.get("models"), dict) for mid in p["models"]]
    quotes: dict[str, Price] = {}
    errors: dict[str, str] = {}
    missing: set[str] = set()  # not in the list at all (model_retired), not refused
    for key in wanted:
        pid, sep, mid = key.partition("/")
        provider = doc.get(pid) if sep else None
        models = provider.get("models") if isinstance(provider, dict) else None
        if not isinstance(models, dict):
            errors[key] = (f"no provider for {key!r} in models.dev's list: keys are "
                           "<provider>/<model>")
            missing.add(key)
            continue
        model = models.get(mid)
        if not isinstance(model, dict):
            errors[key] = f"no model {mid!r} of provider {pid!r} in models.dev's list"
            missing.add(key)
            continue
        try:
            quotes[key] = quote(model.get("cost"))
        except BadPrice as exc:
            errors[key] = f"{key}: {exc}"
    return PriceList(NAME, quotes, errors, missing=frozenset(missing))


def quote(cost: Any) -> Price:
    if not isinstance(cost, dict):
        raise BadPrice("no cost object")

    def get(name: str, required: bool = False) -> float | None:
        return per_mtok(cost.get(name), name, per_token=False, required=required)

    input_price, output_price = get("input", True), get("output", True)
    assert input_price is not None and output_price is not None
    return Price(source=NAME, input_per_mtok=input_price, output_per_mtok=output_price,
                 cached_input_per_mtok=get("cache_read"), cache_write_per_mtok=get("cache_write"))
