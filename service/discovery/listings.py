"""What the watched lists held, and `model_retired` when a candidate's model leaves one.

Two kinds of list, both in the `listed_model` table so a restart forgets nothing:
- a provider's model list (`models:<provider>`): every model on it;
- a price list (`prices:<format>`): the entries the candidates read.
A model seen before and missing now is marked gone, once; each enabled candidate that uses it
gets one `model_retired` event, saved in the same transaction. A model that comes back is
seen again (and may retire again later). A model list that shares nothing with the last one
(an empty answer, another provider's list behind a wrong URL) retires nothing: that is more
likely a broken source than every model retired at once. A price list is read only when it
is the format (probes/pricing), so an entry it lacks is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from service.store.models import ListedModelRow
from service.store.outbox import record_event

log = logging.getLogger(__name__)

EVENT = "model_retired"


@dataclass(frozen=True)
class Watched:
    """A candidate that would break if the entry left the list."""

    candidate: str
    provider: str
    model: str


def models_list(provider: str) -> str:
    return f"models:{provider}"


def prices_list(fmt: str) -> str:
    return f"prices:{fmt}"


def note_model_list(session: Session, provider: str, models: Collection[str],
                    watched: Mapping[str, Sequence[Watched]], now: datetime) -> list[str]:
    """Record a provider's whole model list; the candidates whose model left it."""
    name = models_list(provider)
    rows = _rows(session, name)
    present = set(models)
    gone = {m for m, row in rows.items() if row.gone_at is None and m not in present}
    if rows and not present & set(rows):
        log.warning("%s's model list shares no model with the last one (%d models now): "
                    "nothing is marked retired", provider, len(present))
        return []
    _seen(session, name, rows, present, now)
    return _retire(session, name, rows, gone, watched, now,
                   {"list": "models", "source": f"{provider}'s model list"})


def note_price_list(session: Session, fmt: str, present: Collection[str],
                    missing: Collection[str], watched: Mapping[str, Sequence[Watched]],
                    now: datetime) -> list[str]:
    """Record which of the entries candidates read a price list has; the candidates whose
    entry left it."""
    name = prices_list(fmt)
    rows = _rows(session, name)
    _seen(session, name, rows, set(present), now)
    gone = {key for key in missing if key in rows and rows[key].gone_at is None}
    return _retire(session, name, rows, gone, watched, now,
                   {"list": "prices", "source": f"the {fmt} price list"})


def _rows(session: Session, name: str) -> dict[str, ListedModelRow]:
    stmt = select(ListedModelRow).where(ListedModelRow.list_name == name)
    return {row.model: row for row in session.exec(stmt)}


def _seen(session: Session, name: str, rows: dict[str, ListedModelRow], present: set[str],
          now: datetime) -> None:
    for model in present:
        row = rows.get(model)
        if row is None:
            session.add(ListedModelRow(list_name=name, model=model, first_seen_at=now,
                                       last_seen_at=now))
        else:
            row.last_seen_at, row.gone_at = now, None


def _retire(session: Session, name: str, rows: dict[str, ListedModelRow], gone: set[str],
            watched: Mapping[str, Sequence[Watched]], now: datetime,
            about: dict[str, str]) -> list[str]:
    retired = []
    for entry in sorted(gone):
        row = rows[entry]
        row.gone_at = now
        for who in watched.get(entry, ()):
            payload = {"candidate": who.candidate, "provider": who.provider,
                       "model": who.model, "entry": entry, **about,
                       "last_seen_at": row.last_seen_at.isoformat(),
                       "missing_since": now.isoformat()}
            key = f"{EVENT}:{name}:{entry}:{who.candidate}:{row.last_seen_at.isoformat()}"
            if record_event(session, EVENT, key, payload, now, severity="warning"):
                retired.append(who.candidate)
        log.warning("%s is no longer on %s (last seen %s)", entry, about["source"],
                    row.last_seen_at.isoformat(), extra={"list": name, "entry": entry})
    return retired
