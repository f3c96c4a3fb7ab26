"""Membership and named leases in the database, timed by the database's own clock.

Every time here is the database server's `now()` (SQLite has no server: there it is this
machine's clock, and every replica shares the machine). A replica whose own clock is off
therefore cannot keep a lease past its expiry, nor take one early.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from service.store.models import Lease, Replica

REPLICA = Replica.__table__  # type: ignore[attr-defined]
LEASE = Lease.__table__  # type: ignore[attr-defined]


def db_now(conn: Connection) -> datetime:
    if conn.dialect.name == "postgresql":
        value = conn.execute(text("SELECT now()")).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


def heartbeat(conn: Connection, replica_id: str, region: str) -> datetime:
    """Renew this replica's membership; returns the database time it was renewed at."""
    now = db_now(conn)
    renewed = conn.execute(update(REPLICA).where(REPLICA.c.id == replica_id)
                           .values(heartbeat_at=now, region=region)).rowcount
    if not renewed:
        conn.execute(insert(REPLICA).values(id=replica_id, region=region, heartbeat_at=now,
                                            started_at=now))
    return now


def live_replicas(conn: Connection, region: str, ttl: timedelta, now: datetime) -> list[str]:
    rows = conn.execute(select(REPLICA.c.id).where(
        REPLICA.c.region == region, REPLICA.c.heartbeat_at > now - ttl)).scalars()
    return sorted(rows)


def leave(conn: Connection, replica_id: str) -> None:
    conn.execute(delete(REPLICA).where(REPLICA.c.id == replica_id))


def acquire(conn: Connection, name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder`; True if `holder` holds it now.

    A conditional update: it succeeds only for the current holder or once the lease has
    expired, so two replicas racing for it cannot both win.
    """
    now = db_now(conn)
    won = conn.execute(update(LEASE).where(
        LEASE.c.name == name, (LEASE.c.holder == holder) | (LEASE.c.expires_at <= now))
        .values(holder=holder, expires_at=now + ttl)).rowcount
    if won:
        return True
    exists = conn.execute(select(LEASE.c.name).where(LEASE.c.name == name)).first()
    if exists:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(LEASE).values(name=name, holder=holder, expires_at=now + ttl,
                                              acquired_at=now))
    except IntegrityError:
        return False  # another replica inserted it first
    return True


def release(conn: Connection, name: str, holder: str) -> None:
    """Give the lease up at once (on a clean stop), so another replica need not wait."""
    conn.execute(update(LEASE).where(LEASE.c.name == name, LEASE.c.holder == holder)
                 .values(expires_at=db_now(conn)))


def holder_of(conn: Connection, name: str) -> str | None:
    now = db_now(conn)
    row = conn.execute(select(LEASE.c.holder).where(
        LEASE.c.name == name, LEASE.c.expires_at > now)).first()
    return row[0] if row else None
