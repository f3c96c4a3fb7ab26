"""Two replicas starting together seed the bundled price history once, not twice.

Each seeder is what `factorwatch run` does at start-up (Watch.prepare in the store's
transaction), with its own engine, as a second replica would have; both start at one
moment and hold their transaction open a while, so without serialisation both would read
"nothing stored yet" and both insert.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import Session, select

from service.config import Settings, load_settings
from service.prices.bundled import bundled_history
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import Event, PricePoint
from service.watch import Watch
from tests.clock import T0 as NOW

pytestmark = pytest.mark.integration  # replicas hold their transactions open

HOLD = 0.5  # seconds each seeder keeps its transaction open after seeding

CONFIG = """
builtin_catalog: false
providers: {openai: {}, google: {}, deepseek: {}}
candidates:
  google/gemini-2.5-pro:
    provider: google
    api: gemini
    base_url: https://generativelanguage.googleapis.com/v1beta
    model: gemini-2.5-pro
    price: {source: litellm, input_per_mtok: 1.25, output_per_mtok: 10, as_of: 2026-11-20}
  deepseek/deepseek-chat:
    provider: deepseek
    api: openai
    base_url: https://api.deepseek.com/v1
    model: deepseek-chat
    price: {source: litellm, input_per_mtok: 0.27, output_per_mtok: 1.1}
  openai/custom:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: custom
    price: {input_per_mtok: 1.0, output_per_mtok: 2.0}
pricing:
  sources: [{format: litellm, url: "http://127.0.0.1:9/litellm.json"}]
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG)
    return load_settings(path, environ={})


def seed_concurrently(url: str, settings: Settings, seeders: int) -> list[BaseException]:
    """Run `seeders` start-up seedings at once, each replica on its own engine and clock."""
    barrier = threading.Barrier(seeders)
    failures: list[BaseException] = []

    def replica(n: int) -> None:
        engine = make_engine(url)
        try:
            watch = Watch(settings, engine, CollectorRegistry(), lambda: None)
            barrier.wait()
            with Session(engine) as session, session.begin():
                watch.prepare(session, NOW + timedelta(seconds=n))  # replicas' clocks differ
                time.sleep(HOLD)  # the other replica runs meanwhile
        except BaseException as exc:
            failures.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(seeders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return failures


def stored(url: str) -> list[PricePoint]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(PricePoint)).all())
    finally:
        engine.dispose()


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    upgrade(database_url)
    yield database_url


@pytest.mark.parametrize("seeders", [2, 3])
def test_replicas_starting_together_seed_one_copy(url: str, settings: Settings,
                                                  seeders: int) -> None:
    started = time.monotonic()
    assert seed_concurrently(url, settings, seeders) == []
    # Serialised: each seeder waited for the one before it to commit.
    assert time.monotonic() - started >= seeders * HOLD
    points = stored(url)
    twice = [k for k, n in Counter((p.candidate_id, p.source, p.effective_at)
                                   for p in points).items() if n > 1]
    assert twice == []
    by_candidate = Counter(p.candidate_id for p in points)
    history = Counter(p.key for p in bundled_history())
    assert history["gemini-2.5-pro"] == 3 and history["deepseek-chat"] == 2
    # The bundled history, plus the config's figures (dated, or from the first start).
    assert by_candidate == {"google/gemini-2.5-pro": 3 + 1, "deepseek/deepseek-chat": 2 + 1,
                            "openai/custom": 1}
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            assert session.exec(select(Event)).all() == []  # seeds are the past: no events
    finally:
        engine.dispose()


def test_a_later_start_adds_nothing(url: str, settings: Settings) -> None:
    assert seed_concurrently(url, settings, 1) == []
    first = len(stored(url))
    assert seed_concurrently(url, settings, 2) == []
    assert len(stored(url)) == first
