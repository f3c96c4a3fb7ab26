"""What discover reports for each listed model, and the candidate config it suggests. Pure.

A model is shown when it answers chat: the list says so (Anthropic, Gemini, Mistral,
Together), or the bundled LiteLLM map's entry has mode `chat`; a model neither says anything
about is shown too (it may be new). `everything` shows the rest (embeddings, speech, images).
A model that is already a candidate of the provider says which; the others come with the
config that makes them one: the provider's API, base URL and key variable, the price list
and key its candidates use, with the figures found and their date, and a latency probe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from probes.models import ListedModel
from service.catalog import LITELLM_MODELS_AS_OF
from service.config import Settings
from service.discovery.access import Access, candidates_of
from service.discovery.prices import BUNDLED, PriceSources, Quote, bundled_entry

SEED_FIGURES = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")


@dataclass(frozen=True)
class Found:
    model: str
    name: str | None
    chat: bool | None
    candidate: str | None  # the candidate that already is this model, if any
    quote: Quote | None
    deprecation_date: str | None  # from the bundled LiteLLM entry
    successor: str | None
    config: dict[str, Any] | None  # the candidate config, when it is no candidate yet

    @property
    def candidate_id(self) -> str | None:
        return None if self.config is None else self.config["id"]


@dataclass(frozen=True)
class Discovery:
    access: Access
    listed: int  # models on the provider's list
    models: tuple[Found, ...]  # those shown
    notes: tuple[str, ...]


def discovery(settings: Settings, access: Access, listed: Iterable[ListedModel],
              prices: PriceSources, today: date, *, everything: bool = False) -> Discovery:
    listed = list(listed)
    existing = {c.model: cid for cid, c in candidates_of(settings, access.provider)}
    configured = {s.format for s in settings.pricing.sources}
    shown = []
    for model in listed:
        quote = _quote(settings, access, prices, model.id, existing.get(model.id))
        entry = bundled_entry(access.price_key(model.id)) if access.price_source == "litellm" \
            else {}
        chat = model.chat if model.chat is not None else (
            entry["mode"] == "chat" if isinstance(entry.get("mode"), str) else None)
        if chat is False and not everything:
            continue
        candidate = existing.get(model.id)
        config = None if candidate else candidate_config(access, model.id, quote, configured,
                                                          today)
        shown.append(Found(model.id, model.name, chat, candidate, quote,
                           _text(entry.get("deprecation_date")),
                           _text(entry.get("successor_model")), config))
    return Discovery(access, len(listed), tuple(shown), prices.notes)


def _quote(settings: Settings, access: Access, prices: PriceSources, model: str,
           candidate: str | None) -> Quote | None:
    """A candidate's price from its own price config; another model's as its siblings'."""
    cfg = settings.candidates[candidate].price if candidate else None
    if cfg is not None and cfg.source == "static":
        static = cfg.as_price()
        return Quote(static, "static", cfg.key or model, "the config") if static else None
    if cfg is not None:
        return prices.quote(cfg.source, cfg.key or model)
    return prices.quote(access.price_source, access.price_key(model))


def candidate_config(access: Access, model: str, quote: Quote | None, configured: set[str],
                     today: date) -> dict[str, Any]:
    """The config of candidate `<provider>/<model>`, with `id` for its key."""
    config: dict[str, Any] = {"id": f"{access.provider}/{model}", "provider": access.provider,
                              "api": access.api, "base_url": access.base_url, "model": model}
    if access.api_key_env:
        config["api_key_env"] = access.api_key_env
    elif access.api_key_file:
        config["api_key_file"] = access.api_key_file
    price: dict[str, Any] = {}
    if access.price_source in configured:
        price = {"source": access.price_source, "key": access.price_key(model)}
    if quote is not None:  # without a configured list to follow, the figures stand alone
        figures = quote.price.figures()
        price |= {name: figures[name] for name in SEED_FIGURES if figures[name] is not None}
        price["as_of"] = (date.fromisoformat(LITELLM_MODELS_AS_OF) if quote.where == BUNDLED
                          else today)
    if price:
        config["price"] = price
    config["probes"] = {"latency": {"every": "60s"}}  # the built-in candidates' schedule
    return config


def as_yaml(found: Discovery) -> str:
    """The `candidates:` block to paste: one entry per model that is no candidate yet, each
    after a comment saying what it is; candidates already configured as comments."""
    lines = [f"# {found.access.provider}: {len(found.models)} of the {found.listed} models "
             f"its key can call ({found.access.base_url})", "candidates:"]
    for model in found.models:
        lines.append(f"  # {_summary(model)}")
        if model.config is None:
            continue
        body = {k: v for k, v in model.config.items() if k != "id"}
        text = yaml.safe_dump({model.config["id"]: body}, sort_keys=False)
        lines += ["  " + line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _summary(found: Found) -> str:
    head = found.model + (f" ({found.name})" if found.name and found.name != found.model
                          else "")
    if found.candidate:
        head += f": already candidate {found.candidate}"
    if found.quote is None:
        head += "; no price found"
    else:
        p = found.quote.price
        head += (f"; ${p.input_per_mtok:g} in / ${p.output_per_mtok:g} out per million tokens"
                 f" ({found.quote.source} {found.quote.key}, {found.quote.where})")
    if found.deprecation_date:
        head += f"; deprecated {found.deprecation_date}"
        if found.successor:
            head += f", successor {found.successor}"
    if found.chat is None:
        head += "; chat not known"
    elif not found.chat:
        head += "; not a chat model"
    return head


def as_json(found: Discovery) -> dict[str, Any]:
    access = found.access
    return {"provider": access.provider, "api": access.api, "base_url": access.base_url,
            "api_key_env": access.api_key_env, "listed": found.listed,
            "models": [model_json(m) for m in found.models], "notes": list(found.notes)}


def model_json(found: Found) -> dict[str, Any]:
    quote = found.quote
    config = None if found.config is None else {k: v for k, v in found.config.items()
                                                 if k != "id"}
    return {"model": found.model, "name": found.name, "chat": found.chat,
            "candidate": found.candidate, "candidate_id": found.candidate_id,
            "price": None if quote is None else _figures(quote.price.figures()),
            "price_source": quote.source if quote else None,
            "price_key": quote.key if quote else None,
            "priced_from": quote.where if quote else None,
            "deprecation_date": found.deprecation_date, "successor": found.successor,
            "config": _plain(config)}


def _figures(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if v is not None and v != []}


def _plain(value: Any) -> Any:
    """Dates as ISO text, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, date) else value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
