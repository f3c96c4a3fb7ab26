"""The price lists discover prices models from: the configured lists, read now, and the
bundled LiteLLM map underneath, so discover works offline and when a list does not answer.

A configured list is read whole (every entry: discover prices models that are no candidate
yet). The negotiated YAML is left out: it is keyed by candidate id. Reading a list never
fails the discovery: what went wrong becomes a note, and the bundled map answers instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx

from probes.fetch import FetchError, fetch
from probes.pricing import READERS, ParseError, Price, PriceList, litellm, negotiated
from service.catalog import LITELLM_MODELS_AS_OF, bundled_litellm_models
from service.config import PricingSource

MAX_BYTES = 32 * 1024 * 1024  # LiteLLM's map is 3.5 MB and growing
BUNDLED = f"the bundled LiteLLM map of {LITELLM_MODELS_AS_OF}"


@dataclass(frozen=True)
class Quote:
    price: Price
    source: str  # the list's format, e.g. litellm
    key: str  # the entry
    where: str  # the list's URL, or BUNDLED


@dataclass(frozen=True)
class PriceSources:
    lists: Mapping[str, tuple[str, PriceList]] = field(default_factory=dict)  # format -> url
    notes: tuple[str, ...] = ()

    def quote(self, source: str, key: str) -> Quote | None:
        """The entry `key` of the list `source`: the list read now, else the bundled map."""
        read = self.lists.get(source)
        if read is not None and key in read[1].quotes:
            return Quote(read[1].quotes[key], source, key, read[0])
        if source == litellm.NAME and key in bundled_prices().quotes:
            return Quote(bundled_prices().quotes[key], source, key, BUNDLED)
        return None


@cache
def bundled_prices() -> PriceList:
    body = json.dumps(bundled_litellm_models()).encode()
    return litellm.parse(body, None)


def bundled_entry(key: str) -> Mapping[str, Any]:
    """The bundled LiteLLM entry (mode, deprecation_date, successor_model ...), or {}."""
    return bundled_litellm_models().get(key) or {}


async def read_price_sources(client: httpx.AsyncClient, sources: list[PricingSource], *,
                             timeout: float) -> PriceSources:
    wanted = [s for s in sources if s.format != negotiated.NAME]
    read = await asyncio.gather(*(_read(client, s, timeout) for s in wanted))
    lists = {s.format: (s.url, found) for s, found in zip(wanted, read, strict=True)
             if isinstance(found, PriceList)}
    notes = tuple(f"price list {s.url} not read ({found}): "
                  + (f"prices from {BUNDLED}" if s.format == litellm.NAME else "no prices from it")
                  for s, found in zip(wanted, read, strict=True) if isinstance(found, str))
    return PriceSources(lists, notes)


async def _read(client: httpx.AsyncClient, source: PricingSource, timeout: float
                ) -> PriceList | str:
    try:
        fetched = await fetch(client, source.url, timeout=timeout, max_bytes=MAX_BYTES)
        assert fetched.body is not None  # no validators sent: never "not modified"
        return await asyncio.to_thread(READERS[source.format], fetched.body, None)
    except FetchError as exc:
        return f"{exc.kind}: {exc}"
    except ParseError as exc:
        return f"not a {source.format} list: {exc}"[:200]
