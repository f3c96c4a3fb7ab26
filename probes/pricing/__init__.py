"""Price-list readers: one module per format, the same pure parse, one registry by name.

    parse(body: bytes, keys: Collection[str] | None = None) -> PriceList

`keys` names the entries wanted (every entry when None); each one missing or refused is in
PriceList.errors with its reason, so a bad entry never hides the good ones. A body that is
not the format at all raises ParseError. Fetching is probes/fetch.py. Config validation
checks `pricing.sources[].format` and a candidate's `price.source` against READERS.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from probes.pricing import genai_prices, litellm, models_dev, negotiated, openrouter
from probes.pricing.model import (
    FIGURES,
    MAX_PER_MTOK,
    BadPrice,
    ParseError,
    Price,
    PriceList,
    PriceTier,
)

Parse = Callable[[bytes, Collection[str] | None], PriceList]

READERS: dict[str, Parse] = {
    litellm.NAME: litellm.parse,
    openrouter.NAME: openrouter.parse,
    negotiated.NAME: negotiated.parse,
    genai_prices.NAME: genai_prices.parse,
    models_dev.NAME: models_dev.parse,
}
LOCAL_FORMATS = frozenset({negotiated.NAME})  # may be read from a local path

__all__ = ["FIGURES", "LOCAL_FORMATS", "MAX_PER_MTOK", "READERS", "BadPrice", "ParseError",
           "Price", "PriceList", "PriceTier"]
