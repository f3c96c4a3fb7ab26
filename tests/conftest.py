"""Shared pytest fixtures, and the unit/integration marker every test gets."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from devtools.pgcluster import PostgresCluster

# Real recorded samples (streams, status pages, price lists), copied into the repository so
# a clean clone runs every test; tests/fixtures/real/SOURCES.md says where each came from.
REAL_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite file database in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'factorwatch.db'}"


# --- databases: every store test runs on SQLite and on a real PostgreSQL -------------------

def _no_postgres(reason: str) -> NoReturn:
    # CI installs PostgreSQL (devtools/install-system-packages): a missing server there is a
    # broken machine, and skipping would hide half of the store's contract tests.
    if os.environ.get("FACTORWATCH_CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {reason}")


def _start_cluster() -> PostgresCluster:
    from devtools.pgcluster import PostgresCluster

    cluster = PostgresCluster()
    try:
        return cluster.start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        cluster.stop()
        _no_postgres(f"cannot start a throwaway cluster: {getattr(exc, 'stderr', None) or exc}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for the whole session (any database on it).

    $FACTORWATCH_TEST_POSTGRES_URL when given, else one throwaway cluster started here:
    one per session keeps the overhead to about a second on a 2-core machine.
    """
    given = os.environ.get("FACTORWATCH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    cluster = _start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


def _admin(server_url: str, sql: str) -> None:
    import psycopg

    url = make_url(server_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # identifiers we generated


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"fw_test_{uuid.uuid4().hex[:16]}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(
            hide_password=False)
    finally:
        # FORCE: an engine a failed test left open must not make the drop fail.
        _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend in turn: the store's contract holds on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'factorwatch.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A throwaway cluster of the test's own, for tests that stop or restart the server."""
    cluster = _start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated, empty store on each backend in turn, disposed after the test.

    A module whose tests need SQLite only overrides `database_url` with `sqlite_url`.
    """
    from service.store.db import make_engine
    from service.store.migrate import upgrade

    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


# --- markers: every test is either `unit` or `integration` ---------------------------------
#
# Integration: the test starts a server or a process (PostgreSQL, a daemon, the simulator on a
# socket, Prometheus, Chromium, podman, any subprocess) or waits on real time. Unit: everything
# else, in this process; `pytest -m unit` runs in under a minute.
#
# A test is integration when it is marked so (its module's `pytestmark` or a decorator), is
# marked `container`, uses a fixture named in INTEGRATION_FIXTURES, or runs on PostgreSQL (a
# parameter "postgresql", as `database_url` and so `engine` give). Every other test is marked
# unit here, and a unit test that listens on a socket, starts a process or sleeps fails at
# teardown saying so: a new test gets the right marker, or is told which one it needs
# (tests/test_markers.py).

# By name: conftest's PostgreSQL fixtures, and the names the modules give the fixtures that
# start a simulator, another local server, the reading process or factorwatch itself.
INTEGRATION_FIXTURES = frozenset({
    "postgres_server", "postgres_url", "own_postgres", "postgres",
    "sim", "fleet", "failing_sim", "limited_sim", "slow_sim", "tls_sim",
    "server", "proxy", "receiver", "reading", "daemon", "demo", "stack",
})
POSTGRES_PARAM = "postgresql"
SLEEP_LIMIT = 0.1  # seconds: a sleep that lasts longer is waiting on real time
_GUARD = pytest.StashKey[pytest.MonkeyPatch]()
_SEEN = pytest.StashKey[list[str]]()


def is_integration(item: pytest.Item) -> bool:
    if item.get_closest_marker("integration") or item.get_closest_marker("container"):
        return True
    if INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and POSTGRES_PARAM in callspec.params.values()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        integration = is_integration(item)
        if integration and item.get_closest_marker("unit"):
            raise pytest.UsageError(f"{item.nodeid} is marked unit but starts a server or a "
                                    "process: leave `unit` to tests/conftest.py")
        item.add_marker(pytest.mark.integration if integration else pytest.mark.unit)


def _note_what_leaves_the_process(patch: pytest.MonkeyPatch, seen: list[str]) -> None:
    """Note every listening socket, process and sleep; each still happens as asked."""
    listen, popen_init = socket.socket.listen, subprocess.Popen.__init__
    sleep, async_sleep = time.sleep, asyncio.sleep

    def noted_listen(self: socket.socket, *args: Any) -> None:
        seen.append(f"listened on a socket ({self.family.name})")
        listen(self, *args)

    def noted_popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        seen.append(f"started a process ({args!r:.70})")
        popen_init(self, args, *rest, **kw)

    def noted_sleep(seconds: float) -> None:
        if seconds >= SLEEP_LIMIT:
            seen.append(f"slept {seconds:g} s")
        sleep(seconds)

    async def noted_async_sleep(seconds: float, result: Any = None) -> Any:
        started = time.monotonic()
        try:
            return await async_sleep(seconds, result)
        finally:  # a sleep cut short by a timeout lasts only as long as the timeout
            if (slept := time.monotonic() - started) >= SLEEP_LIMIT:
                seen.append(f"slept {slept:.2g} s")

    patch.setattr(socket.socket, "listen", noted_listen)
    patch.setattr(subprocess.Popen, "__init__", noted_popen_init)
    patch.setattr(time, "sleep", noted_sleep)
    patch.setattr(asyncio, "sleep", noted_async_sleep)


@pytest.hookimpl(tryfirst=True)  # before the fixtures, module- and session-scoped ones too
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("unit") is not None:
        item.stash[_GUARD], item.stash[_SEEN] = pytest.MonkeyPatch(), []
        _note_what_leaves_the_process(item.stash[_GUARD], item.stash[_SEEN])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    if _GUARD in item.stash:
        item.stash[_GUARD].undo()  # stopping a fixture's server is not the test's doing
    yield
    seen = item.stash.get(_SEEN, [])
    if seen:
        pytest.fail(f"{item.nodeid} is a unit test but {'; '.join(dict.fromkeys(seen))}: "
                    "mark it `pytest.mark.integration` (or its module's `pytestmark`)",
                    pytrace=False)
