"""Alembic environment for factorwatch.

Normally run through service.store.migrate, which passes an open, locked connection in
`config.attributes["connection"]`. From the alembic CLI (writing a revision) the URL comes
from `-x url=...`. Logging is left alone: the service configures it, not alembic.ini.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import service.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from service.store.db import make_engine
from service.store.migrate import locked_connection
from service.store.types import UTCDateTime

target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render app column types as plain SQLAlchemy ones: a revision must not import the
    app's code, which will change after the revision is written."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True,
                      render_item=render_item, **kwargs)


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # On SQLite our connection really does run DDL inside the transaction (BEGIN IMMEDIATE).
    _configure(connection=connection, render_as_batch=sqlite,
               transactional_ddl=True if sqlite else None)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database URL: alembic -x url=sqlite:///scratch.db ...")
    engine = make_engine(url, immediate=True)
    try:
        with locked_connection(engine) as conn:
            _run(conn)
    finally:
        engine.dispose()


def run_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite://")
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
               render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
