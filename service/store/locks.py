"""Locks held to the end of a transaction, for writers that decide what to insert from
what they read (the one place their dialect differences live).

Replicas starting together run the same read-then-insert transactions (mirror the
candidates, seed the price history); without a lock taken before the read, each reads
"nothing yet" and each inserts. PostgreSQL: a transaction-level advisory lock, one key per
kind of writer, released at commit or rollback. SQLite: the database's write lock, taken by
an UPDATE that changes nothing (a read alone takes no lock a writer waits for); there is one
write lock per file, so the key does not matter there.

Keys are fixed numbers, never reused for another purpose: replicas of different versions
must agree on them during a rolling upgrade.
"""

from __future__ import annotations

from sqlalchemy import Table, false, text, update
from sqlmodel import Session

CANDIDATES_KEY = 0x6677636E64  # "fwcnd": mirroring the configured candidates at start-up
PRICE_POINTS_KEY = 0x6677707269  # "fwpri": every price-point writer


def lock_until_commit(session: Session, key: int, table: Table) -> None:
    """Hold the lock `key` until the session's transaction ends; call it before reading
    what decides the inserts. `table` is where SQLite's no-op UPDATE goes (any table the
    transaction writes will do). Other backends: no lock."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif conn.dialect.name == "sqlite":
        conn.execute(update(table).where(false()).values({table.c[0].name: table.c[0]}))
