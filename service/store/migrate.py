"""Schema migrations (Alembic), run in code: `factorwatch db upgrade` and start-up call these.

The scripts live in this package (migrations/), so an installed wheel can upgrade its
database without a source checkout; the URL is always set here, never read from alembic.ini.

Two processes upgrading at once (two replicas starting together) must not both apply a
revision. All pending revisions run in ONE transaction that first takes a lock:
- SQLite: the transaction starts with BEGIN IMMEDIATE (driver autocommit + explicit BEGIN,
  so the DDL is inside it too). The second process waits for the write lock, then reads
  alembic_version at head and does nothing. Foreign keys are off while migrating, as
  batch ("copy and move") table rebuilds require, and checked before commit.
- PostgreSQL: DDL is transactional; pg_advisory_xact_lock serialises the upgraders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service.store.db import is_sqlite, make_engine, open_error, safe_url

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
PG_LOCK_KEY = 0x66776D6967  # "fwmig": the advisory lock all upgraders share
SQLITE_MIGRATION_BUSY_MS = 60_000  # wait longer than the app: another upgrade may be running


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the packaged scripts; env.py uses `connection` when given."""
    cfg = Config(str(PACKAGE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def locked_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction holding the migration lock (see module doc)."""
    sqlite = is_sqlite(engine)
    raw: Any = None
    with engine.connect() as conn:
        if sqlite:
            # PRAGMAs are no-ops inside a transaction: set them on the raw connection first.
            raw = conn.connection.driver_connection
            raw.execute(f"PRAGMA busy_timeout={SQLITE_MIGRATION_BUSY_MS}")
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if not sqlite and engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
                yield conn
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if bad:
        raise RuntimeError(f"migration left {len(bad)} rows breaking foreign keys, e.g. {bad[0]}")


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest revision; a no-op when it is already there."""
    engine = make_engine(url, immediate=True)
    try:
        with locked_connection(engine) as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(alembic_config(conn), "head")
            after = MigrationContext.configure(conn).get_current_revision()
        if before != after:
            log.info("database upgraded", extra={"url": safe_url(url), "from_revision": before,
                                                 "to_revision": after})
    except SQLAlchemyError as exc:
        raise open_error(url, exc, action="upgrade") from None
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise open_error(url, exc) from None
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this version of factorwatch."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(url: str) -> bool:
    return current_revision(url) == head_revision()
