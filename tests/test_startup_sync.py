"""Replicas starting together on a fresh database mirror the candidates once, without error.

Every replica runs the same start-up transaction (Daemon.prepare_store): mirror the
configured candidates (sync_candidates), then seed and record the prices. Two replicas that
both read "no candidates yet" both inserted the same ids, and the second failed with an
IntegrityError and did not start. Each replica here has its own engine, as a separate
process would, and they start at one moment (a barrier), on a real SQLite file and a real
PostgreSQL, several times over, since a race does not lose every time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from service.config import Settings, load_settings
from service.daemon import Daemon
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import Candidate
from service.store.sync import sync_candidates
from tests.clock import T0 as NOW
from tests.conftest import _admin

HOLD = 0.3  # seconds a replica keeps its sync transaction open: the others run meanwhile
ROUNDS = 5  # fresh databases per case: the failure reported was 2 starts in 5

CANDIDATES = "".join(f"""
  p/m{i}:
    provider: p
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: m{i}
    price: {{input_per_mtok: {i + 1}, output_per_mtok: 2}}
    probes: {{latency: {{every: 1m}}}}""" for i in range(8))
CONFIG = f"""
builtin_catalog: false
providers: {{p: {{facts: {{founded_year: 2015}}}}}}
candidates:{CANDIDATES}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{latency: 1}}
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG)
    return load_settings(path, environ={})


def at_once(replicas: int, start: Callable[[int], None]) -> list[BaseException]:
    """Run `start(n)` for each replica in its own thread, all released together."""
    barrier = threading.Barrier(replicas)
    failures: list[BaseException] = []

    def replica(n: int) -> None:
        try:
            barrier.wait()
            start(n)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return failures


def summary(failures: list[BaseException]) -> list[str]:
    return [f"{type(exc).__name__}: {str(exc).splitlines()[0]}" for exc in failures]


def mirrored(url: str) -> list[tuple[str, bool]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return sorted((c.id, c.enabled) for c in session.exec(select(Candidate)).all())
    finally:
        engine.dispose()


@pytest.fixture
def fresh_databases(request: pytest.FixtureRequest, tmp_path: Path
                    ) -> Callable[[], Iterator[str]]:
    """A new, upgraded, empty database of the test's backend for each round."""
    backend = request.param

    def make() -> Iterator[str]:
        for n in range(ROUNDS):
            url = (f"sqlite:///{tmp_path / f'round{n}.db'}" if backend == "sqlite"
                   else new_postgres_database(request))
            upgrade(url)  # `factorwatch db upgrade`, done before the replicas start
            yield url

    return make


def new_postgres_database(request: pytest.FixtureRequest) -> str:
    """A fresh database on the session's PostgreSQL server, dropped after the test."""
    server = str(request.getfixturevalue("postgres_server"))
    name = f"fw_test_{uuid.uuid4().hex[:16]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    request.addfinalizer(lambda: _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return make_url(server).set(database=name).render_as_string(hide_password=False)


BACKENDS = pytest.mark.parametrize("fresh_databases", ["sqlite", "postgresql"], indirect=True)
EXPECTED = [(f"p/m{i}", True) for i in range(8)]


@BACKENDS
@pytest.mark.integration  # replicas hold their transactions open
@pytest.mark.parametrize("replicas", [2, 3])
def test_syncs_started_together_all_succeed(fresh_databases: Callable[[], Iterator[str]],
                                            settings: Settings, replicas: int) -> None:
    """The sync transaction alone, held open a moment: every replica reads before any
    commits unless the sync serialises them."""
    failed = {}
    for url in fresh_databases():
        def start(n: int, url: str = url) -> None:
            engine = make_engine(url)
            try:
                with Session(engine) as session, session.begin():
                    sync_candidates(session, settings.candidates, NOW + timedelta(seconds=n))
                    session.flush()
                    time.sleep(HOLD)
            finally:
                engine.dispose()

        started = time.monotonic()
        if failures := at_once(replicas, start):
            failed[url] = summary(failures)
        else:
            assert mirrored(url) == EXPECTED
            # Serialised: each replica waited for the one before it to commit.
            assert time.monotonic() - started >= replicas * HOLD
    assert failed == {}, f"{len(failed)} of {ROUNDS} rounds failed"


@BACKENDS
@pytest.mark.parametrize("replicas", [2, 3])
def test_daemons_prepare_the_store_together(fresh_databases: Callable[[], Iterator[str]],
                                            settings: Settings, replicas: int) -> None:
    """What `factorwatch run` does before it serves: the whole start-up transaction."""
    failed = {}
    for url in fresh_databases():
        daemons = [Daemon(settings.model_copy(update={"database": url}), environ={})
                   for _ in range(replicas)]
        try:
            failures = at_once(replicas, lambda n, ds=daemons: ds[n].prepare_store())
        finally:
            for d in daemons:
                d.engine.dispose()
        if failures:
            failed[url] = summary(failures)
        else:
            assert mirrored(url) == EXPECTED
    assert failed == {}, f"{len(failed)} of {ROUNDS} rounds failed"


def test_a_candidate_dropped_from_the_config_is_disabled_not_deleted(
        database_url: str, settings: Settings) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            sync_candidates(session, settings.candidates, NOW)
        fewer = settings.model_copy(update={"candidates": {
            cid: c for cid, c in settings.candidates.items() if cid != "p/m0"}})
        with Session(engine) as session, session.begin():
            sync_candidates(session, fewer.candidates, NOW + timedelta(minutes=1))
    finally:
        engine.dispose()
    assert mirrored(database_url) == [("p/m0", False), *EXPECTED[1:]]
