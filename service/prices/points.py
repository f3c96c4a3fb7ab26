"""Record price points as they change, seed the history, and read a candidate's history.

A point is added only when a candidate's price differs from the one in effect (history is
never rewritten); a change of figures saves a `price_change` event with the old and the new
figures in the same transaction. Seeded history (the bundled LiteLLM price history, and the
dated figures a candidate's config carries) is inserted as the past it is, without events.

Both decide what to insert from what is stored, and every replica seeds and records the
configured prices at start-up, so both first take the price-point lock (`lock_price_points`)
for the rest of their transaction: replicas starting together take turns, and the second
finds the first one's points instead of inserting them again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from probes.pricing.model import Price
from service.prices.queries import latest_prices
from service.prices.rows import as_price, as_row
from service.store.locks import PRICE_POINTS_KEY, lock_until_commit
from service.store.models import PricePoint
from service.store.outbox import record_event

log = logging.getLogger(__name__)

# Replicas' clocks need not agree (docs/deploy.md): a point another replica stamped this
# far ahead of our `now` is taken as in effect, not recorded again a moment earlier.
CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class Quoted:
    """What a source says a candidate costs now."""

    candidate_id: str
    price: Price  # its `source` is where the figures came from
    key: str | None = None  # the entry in the source's list


def _same(a: Price, b: Price) -> bool:
    def norm(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        return value

    return bool(norm(a.figures()) == norm(b.figures()))


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return round(a, 9) == round(b, 9)
    return bool(a == b)


@dataclass
class Recorded:
    sources: list[str]  # the source of each point added
    changed: list[str]  # candidates whose figures changed (a price_change event each)


def lock_price_points(session: Session) -> None:
    """Hold the price-point lock until the session's transaction ends (call before reading
    what decides the inserts): service/store/locks.py."""
    lock_until_commit(session, PRICE_POINTS_KEY, PricePoint.__table__)  # type: ignore[attr-defined]


def record_prices(session: Session, quotes: Iterable[Quoted], now: datetime) -> Recorded:
    """Add a point (from `now`) for every quote that differs from the price in effect."""
    quotes = list(quotes)
    lock_price_points(session)
    current = latest_prices(session, [q.candidate_id for q in quotes], now + CLOCK_SKEW)
    out = Recorded([], [])
    for q in quotes:
        last = current.get(q.candidate_id)
        same = last is not None and _same(last, q.price)
        if same and last is not None and last.source == q.price.source:
            continue
        session.add(as_row(q.candidate_id, q.price, now))
        out.sources.append(q.price.source)
        old, new = (last.figures() if last else {}), q.price.figures()
        # A first price, the same figures from another source, or figures known for the
        # first time (a list adds the batch price a seed lacked) are not a change.
        changed = [k for k, v in old.items() if v not in (None, []) and
                   not _same_value(v, new[k])]
        if last is None or not changed:
            continue
        out.changed.append(q.candidate_id)
        rising = any((new[k] or 0) > (old[k] or 0) for k in ("input_per_mtok", "output_per_mtok"))
        payload = {"candidate": q.candidate_id, "source": q.price.source, "key": q.key,
                   "old_source": last.source, "old": old, "new": new, "changed": changed,
                   "old_effective_at": last.effective_at.isoformat()
                   if last.effective_at else None, "effective_at": now.isoformat()}
        record_event(session, "price_change", f"price_change:{q.candidate_id}:{now.isoformat()}",
                     payload, now, severity="warning" if rising else "info")
        log.info("price of %s changed", q.candidate_id, extra={"old": old, "new": new})
    return out


def seed_points(session: Session, points: Iterable[tuple[str, Price]], *,
                only_if_unpriced: bool = False) -> int:
    """Insert past points (price.effective_at set) that are not stored yet; no events.

    With `only_if_unpriced`, a candidate that has any point already gets none.
    """
    points = [(cid, p) for cid, p in points if p.effective_at is not None]
    ids = sorted({cid for cid, _ in points})
    lock_price_points(session)
    stored = session.exec(select(PricePoint.candidate_id, PricePoint.source,
                                 PricePoint.effective_at)
                          .where(col(PricePoint.candidate_id).in_(ids))).all()
    seen = {(cid, src, at) for cid, src, at in stored}
    priced = {cid for cid, _, _ in stored}
    added = 0
    for cid, price in points:
        assert price.effective_at is not None
        if (cid, price.source, price.effective_at) in seen or (only_if_unpriced
                                                               and cid in priced):
            continue
        session.add(as_row(cid, price, price.effective_at))
        seen.add((cid, price.source, price.effective_at))
        added += 1
    return added


def price_history(session: Session, candidate_id: str, since: datetime, until: datetime
                  ) -> list[Price]:
    """The prices of `candidate_id` over [since, until], oldest first: the one in effect at
    `since` (its effective_at is earlier), then every one that took effect in the window."""
    in_window = session.exec(
        select(PricePoint).where(PricePoint.candidate_id == candidate_id,
                                 PricePoint.effective_at >= since,
                                 PricePoint.effective_at <= until)
        .order_by(col(PricePoint.effective_at), col(PricePoint.id))).all()
    before = session.exec(
        select(PricePoint).where(PricePoint.candidate_id == candidate_id,
                                 PricePoint.effective_at < since)
        .order_by(col(PricePoint.effective_at).desc(), col(PricePoint.id).desc()).limit(1)
    ).first()
    rows = ([before] if before is not None else []) + list(in_window)
    return [as_price(row) for row in rows]
