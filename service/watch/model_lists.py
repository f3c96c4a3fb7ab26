"""Read each provider's model list on the lease holder and keep it (service/discovery).

One job reads, one after another, the model list of every provider with a probed candidate
(enabled, with probes) whose API has one (openai, anthropic, gemini), with the key its
candidates use. A provider
whose key is not set is skipped (the probes' log already says so); a list that cannot be read
is logged and tried again at the next run, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.models import ModelListError, list_models
from service.config import Settings
from service.discovery.access import Access, DiscoverError, provider_access
from service.discovery.listings import Watched, note_model_list
from service.discovery.run import TIMEOUT_SECONDS, api_key
from service.watch.sources import ClientGetter, utcnow

log = logging.getLogger(__name__)

FIRST_DELAY = 30.0  # seconds after start-up, or `every` if shorter


class ModelListWatch:
    def __init__(self, settings: Settings, engine: Engine, client: ClientGetter,
                 environ: Mapping[str, str], clock: Callable[[], datetime] = utcnow) -> None:
        self.every = settings.model_lists.every
        self._engine = engine
        self._client = client
        self._environ = environ
        self._clock = clock
        self.watched: dict[str, dict[str, list[Watched]]] = {}  # provider -> model -> who
        self.access: dict[str, Access] = {}
        for cid, cand in sorted(settings.candidates.items()):
            if not cand.enabled or not cand.probes:
                continue  # what the daemon does not probe, it does not watch either
            try:
                access = self.access.get(cand.provider) or provider_access(settings,
                                                                           cand.provider)
            except DiscoverError:
                continue  # an API without a model list (azure-openai)
            self.access[cand.provider] = access
            self.watched.setdefault(cand.provider, {}).setdefault(cand.model, []).append(
                Watched(cid, cand.provider, cand.model))

    @property
    def first_delay(self) -> float:
        return min(FIRST_DELAY, self.every)

    async def run(self) -> None:
        for provider in sorted(self.access):
            client = self._client()
            if client is None:
                return  # the daemon is not running yet (or any more)
            await self.read(client, provider)

    async def read(self, client: httpx.AsyncClient, provider: str) -> None:
        access = self.access[provider]
        try:
            key = api_key(access, self._environ)
        except DiscoverError:
            return
        try:
            models = await list_models(client, access.api, access.base_url, key,
                                       timeout=TIMEOUT_SECONDS)
        except ModelListError as exc:
            log.warning("model list of %s not read: %s", provider, exc,
                        extra={"provider": provider, "result": exc.kind})
            return
        now = self._clock()
        await asyncio.to_thread(self._store, provider, [m.id for m in models], now)

    def _store(self, provider: str, models: list[str], now: datetime) -> None:
        with Session(self._engine) as session, session.begin():
            retired = note_model_list(session, provider, models, self.watched[provider], now)
        log.debug("model list of %s read: %d models", provider, len(models),
                  extra={"provider": provider, "retired": retired})
