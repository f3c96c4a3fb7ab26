"""Column types whose behaviour must not depend on the database backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Now, in UTC: the clock every job reads unless a test hands it another."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as a tz-aware UTC datetime.

    SQLite has no time-zone type: `DateTime(timezone=True)` silently drops the offset on
    write and returns naive values. Here every value is converted to UTC before it is
    stored (SQLite keeps it naive, so text order is time order) and tagged UTC when read.
    Naive datetimes are refused: their zone is a guess, and a wrong guess shifts
    latency windows by hours without any error.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone "
                             "(e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC without an offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
