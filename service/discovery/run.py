"""One discovery: the provider's key, its model list, the price lists, the report.

The CLI runs it once; the daemon keeps a Discoverer, which reuses what it read for a while
(the price lists for an hour, a provider's report for a minute), so the API cannot be used
to make the daemon fetch 3.5 MB or call a provider on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx

from probes.models import ListedModel, ModelListError, list_models
from service.config import Settings
from service.discovery.access import Access, DiscoverError, provider_access
from service.discovery.prices import PriceSources, read_price_sources
from service.discovery.report import Discovery, discovery
from service.secrets import read_secret

TIMEOUT_SECONDS = 20.0


def api_key(access: Access, environ: Mapping[str, str]) -> str | None:
    """The provider's key; DiscoverError naming the variable or file when it is not set."""
    key = read_secret(access.api_key_env, access.api_key_file, environ)
    if key is None and access.api_key_env:
        raise DiscoverError("no_key", f"{access.api_key_env} is not set (the API key of "
                            f"provider {access.provider})")
    if key is None and access.api_key_file:
        raise DiscoverError("no_key", f"key file {access.api_key_file} of provider "
                            f"{access.provider} is not readable")
    return key  # None: no key configured (a local server needs none)


async def listed_models(client: httpx.AsyncClient, access: Access, key: str | None, *,
                        timeout: float) -> list[ListedModel]:
    try:
        return list(await list_models(client, access.api, access.base_url, key,
                                      timeout=timeout))
    except ModelListError as exc:
        where = f" ({access.api_key_env})" if access.api_key_env else ""
        if exc.kind == "auth":
            raise DiscoverError("auth", f"{access.provider} refused the key{where}: "
                                f"{exc}") from None
        kind = "timeout" if exc.kind == "timeout" else "upstream"
        raise DiscoverError(kind, f"{access.provider}'s model list: {exc}") from None


async def discover(settings: Settings, provider: str, environ: Mapping[str, str],
                   client: httpx.AsyncClient, *, live_prices: bool = True,
                   everything: bool = False, timeout: float = TIMEOUT_SECONDS,
                   api: str | None = None, base_url: str | None = None,
                   api_key_env: str | None = None,
                   prices: PriceSources | None = None) -> Discovery:
    access = provider_access(settings, provider, api=api, base_url=base_url,
                             api_key_env=api_key_env)
    key = api_key(access, environ)
    if prices is None:
        prices = (await read_price_sources(client, settings.pricing.sources, timeout=timeout)
                  if live_prices else PriceSources())
    models = await listed_models(client, access, key, timeout=timeout)
    return discovery(settings, access, models, prices, datetime.now(UTC).date(),
                     everything=everything)


class Discoverer:
    """The daemon's: discover with its settings and keys, reusing recent reads."""

    def __init__(self, settings: Settings, environ: Mapping[str, str],
                 client: Callable[[], httpx.AsyncClient | None], *,
                 prices_for: float = 3600.0, report_for: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._environ = environ
        self._client = client
        self._prices_for, self._report_for = prices_for, report_for
        self._clock = clock
        self._prices: tuple[float, PriceSources] | None = None
        self._reports: dict[tuple[str, bool], tuple[float, Discovery]] = {}
        self._lock = asyncio.Lock()

    async def __call__(self, provider: str, everything: bool = False) -> Discovery:
        async with self._lock:  # one read at a time: concurrent requests share its result
            now = self._clock()
            cached = self._reports.get((provider, everything))
            if cached is not None and now - cached[0] < self._report_for:
                return cached[1]
            client = self._client()
            if client is None:
                raise DiscoverError("upstream", "the daemon is not running")
            # What the config decides fails before anything is fetched.
            api_key(provider_access(self.settings, provider), self._environ)
            if self._prices is None or now - self._prices[0] >= self._prices_for:
                sources = await read_price_sources(client, self.settings.pricing.sources,
                                                   timeout=TIMEOUT_SECONDS)
                self._prices = (now, sources)
            found = await discover(self.settings, provider, self._environ, client,
                                   everything=everything, prices=self._prices[1])
            self._reports[(provider, everything)] = (now, found)
            return found
