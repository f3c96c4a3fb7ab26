"""A local YAML file of negotiated prices (USD per million tokens), which override the lists.

    prices:
      openai/gpt-4o:                 # a candidate id, or the key a candidate's price names
        input_per_mtok: 2.0
        output_per_mtok: 8.0
        cached_input_per_mtok: 1.0   # optional, as are the cache-write and batch prices
        tiers: [{above_input_tokens: 200000, input_per_mtok: 4.0, output_per_mtok: 16.0}]

An entry takes every figure of probes/pricing/model.py Price, by name. An entry with an
unknown field or a bad figure is refused on its own, with the reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import Any

import yaml

from probes.pricing.model import (
    FIGURES,
    BadPrice,
    ParseError,
    Price,
    PriceList,
    PriceTier,
    per_mtok,
)

NAME = "yaml"

_FIELDS = (*FIGURES, "tiers")
_TIER_FIELDS = tuple(f.name for f in fields(PriceTier))
_REQUIRED = ("input_per_mtok", "output_per_mtok")


def parse(body: bytes, keys: Collection[str] | None = None) -> PriceList:
    try:
        doc = yaml.safe_load(body) if body.strip() else None
    except yaml.YAMLError as exc:
        raise ParseError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    prices = doc.get("prices") if isinstance(doc, dict) else None
    if not isinstance(prices, dict):
        raise ParseError("expected a mapping with a `prices` mapping of entries")
    quotes: dict[str, Price] = {}
    errors: dict[str, str] = {}
    for key, entry in prices.items():
        key = str(key)
        if keys is not None and key not in keys:
            continue
        try:
            quotes[key] = quote(entry)
        except BadPrice as exc:
            errors[key] = f"{key}: {exc}"
    return PriceList(NAME, quotes, errors)


def quote(entry: Any) -> Price:
    if not isinstance(entry, dict):
        raise BadPrice("expected a mapping of prices")
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise BadPrice(f"unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")

    def get(src: dict[str, Any], name: str, required: bool = False) -> float | None:
        return per_mtok(src.get(name), name, per_token=False, required=required)

    # Input and output are required, so get() refuses them missing rather than give None.
    figures: dict[str, Any] = {name: get(entry, name, name in _REQUIRED) for name in FIGURES}
    return Price(**figures, source=NAME, tiers=_tiers(entry.get("tiers"), get))


def _tiers(raw: Any, get: Any) -> tuple[PriceTier, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BadPrice("tiers must be a list")
    tiers = []
    for tier in raw:
        if not isinstance(tier, dict) or any(k not in _TIER_FIELDS for k in tier):
            raise BadPrice(f"a tier has fields other than {', '.join(_TIER_FIELDS)}")
        above = tier.get("above_input_tokens")
        if isinstance(above, bool) or not isinstance(above, int) or above < 0:
            raise BadPrice("a tier's above_input_tokens must be a whole number >= 0")
        tiers.append(PriceTier(above, get(tier, "input_per_mtok", True),
                               get(tier, "output_per_mtok", True),
                               get(tier, "cached_input_per_mtok")))
    return tuple(sorted(tiers, key=lambda t: t.above_input_tokens))
