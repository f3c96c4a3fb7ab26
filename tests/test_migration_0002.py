"""Revision 0002 adds price columns without losing the price points already stored."""

from __future__ import annotations

import sqlite3

from alembic import command
from sqlalchemy.engine import make_url

from service.store.db import make_engine
from service.store.migrate import alembic_config, locked_connection, upgrade


def _to(url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(url, immediate=True)
    try:
        with locked_connection(engine) as conn:
            (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)
    finally:
        engine.dispose()


def test_0002_keeps_old_price_points_with_empty_tiers_and_downgrades(sqlite_url: str) -> None:
    _to(sqlite_url, "0001")
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO price_point (candidate_id, source, effective_at, "
                     "input_per_mtok, output_per_mtok) VALUES ('a/x', 'static', "
                     "'2026-01-01 00:00:00.000000', 1.0, 2.0)")
    upgrade(sqlite_url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT input_per_mtok, tiers, cache_write_per_mtok, "
                            "batch_input_per_mtok FROM price_point").fetchall() == [
            (1.0, "[]", None, None)]
    _to(sqlite_url, "0001", down=True)
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(price_point)")}
        assert "tiers" not in columns
        assert conn.execute("SELECT count(*) FROM price_point").fetchone() == (1,)
