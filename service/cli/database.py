"""Opening the database for a command that reads what the daemon wrote (score, route, sla
report): it must exist and be migrated, and a missing SQLite file must not be created."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def no_database(url: str) -> bool:
    """A SQLite file that does not exist: opening it would leave an empty one behind."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return (parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            and not Path(parsed.database).exists())


def open_existing(url: str) -> Engine | None:
    """The engine of an up-to-date factorwatch database, or None after saying on stderr what
    is wrong and what to run."""
    from service.store.db import DatabaseError, make_engine, safe_url
    from service.store.migrate import is_up_to_date

    try:
        if no_database(url) or not is_up_to_date(url):
            print(f"{safe_url(url)}: no up-to-date factorwatch database; run "
                  "`factorwatch db upgrade` (or start `factorwatch run`) first", file=sys.stderr)
            return None
        return make_engine(url)
    except DatabaseError as exc:
        print(exc, file=sys.stderr)
        return None
