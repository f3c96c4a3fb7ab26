"""Engines and sessions. The engine is built by the caller and passed in; nothing is global.

SQLite files get WAL (readers never wait for the writer), synchronous=NORMAL (a commit is
durable once the WAL is synced at checkpoint; a power cut can lose the last commits but
never corrupts the file), a 5 s busy timeout and enforced foreign keys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from probes.redact import scrub, url_without_password

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000


class DatabaseError(RuntimeError):
    """The database cannot be opened or reached; the message never holds a password."""


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs, with any password replaced by the redaction marker."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except Exception:  # unparsable: hide the password by its place in the text
        return url_without_password(str(url))
    # Rendered in full, the password is %-escaped: nothing in it ends the user:password@.
    return url_without_password(parsed.render_as_string(hide_password=False))


def open_error(url: str | URL, exc: BaseException, action: str = "open") -> DatabaseError:
    """A DatabaseError for `exc` whose text is scrubbed of the URL's password."""
    reason = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
    try:
        password = (url if isinstance(url, URL) else make_url(url)).password
    except Exception:
        password = None
    reason = scrub(reason, str(password) if password else None)  # also any URL quoted in it
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    return DatabaseError(f"database: cannot {action} {safe_url(url)!r}: {reason}")


def is_sqlite(engine_or_url: Engine | URL) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """Build an engine for `url`, raising DatabaseError with a clear, password-free message.

    SQLite files are opened once here so a bad path fails at start-up, not at the first
    write. Server databases are not contacted (they may come up later; see `ping`).
    `immediate` (SQLite only): start every transaction with BEGIN IMMEDIATE, taking the
    write lock up front so concurrent read-modify-write transactions queue on the busy
    timeout instead of failing; migrations use it.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise open_error(url, exc) from None
    try:
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, pool_pre_ping=True)
        _make_parent_dir(parsed)
        engine = create_engine(parsed)
        _configure_sqlite(engine, immediate=immediate)
        with engine.connect():
            pass
        return engine
    except (SQLAlchemyError, OSError, ImportError) as exc:
        raise open_error(parsed, exc) from None


def _make_parent_dir(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        if immediate:
            # Driver-level autocommit: SQLAlchemy's "begin" event below then issues BEGIN,
            # so DDL is transactional too (pysqlite otherwise only begins before DML).
            dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    if immediate:
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> bool:
    """True when the database answers SELECT 1; never raises (for /readyz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.debug("database ping failed", extra={"url": safe_url(engine.url),
                                                 "error": type(exc).__name__})
        return False
