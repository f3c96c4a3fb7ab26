"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from sqlalchemy.engine import make_url

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
