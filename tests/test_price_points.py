"""Price points in the store: when a point and an event are recorded, and the history read."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.prices.points import Quoted, price_history, record_prices, seed_points
from service.scoring.evidence import Price, PriceTier
from service.store.models import Event, PricePoint
from tests.clock import T0


def record(engine: Engine, price: Price, at: datetime) -> list[str]:
    with Session(engine) as session, session.begin():
        return record_prices(session, [Quoted("a/x", price, "x")], at).changed


def counts(engine: Engine) -> tuple[int, list[str]]:
    with Session(engine) as session:
        points = len(session.exec(select(PricePoint)).all())
        return points, [e.severity for e in session.exec(select(Event).order_by(Event.id))]


@pytest.mark.parametrize(("second", "points", "severities"), [
    pytest.param(Price(1.0, 2.0, source="litellm"), 1, [], id="same-price-again"),
    pytest.param(Price(1.0, 2.0, source="yaml"), 2, [], id="same-figures-other-source"),
    pytest.param(Price(1.0, 2.0, 0.5, source="litellm", batch_input_per_mtok=0.5), 2, [],
                 id="figures-known-for-the-first-time"),
    pytest.param(Price(0.5, 2.0, source="litellm"), 2, ["info"], id="cheaper"),
    pytest.param(Price(1.0, 3.0, source="litellm"), 2, ["warning"], id="dearer"),
    pytest.param(Price(1.0, 2.0, source="litellm", tiers=(PriceTier(1000, 2.0, 4.0),)), 2, [],
                 id="tier-added"),
])
def test_a_point_is_added_when_the_price_differs_and_an_event_when_it_changed(
        engine: Engine, second: Price, points: int, severities: list[str]) -> None:
    assert record(engine, Price(1.0, 2.0, source="litellm"), T0) == []  # the first price
    record(engine, second, T0 + timedelta(days=1))
    assert counts(engine) == (points, severities)


def test_price_change_event_holds_old_and_new_figures(engine: Engine) -> None:
    record(engine, Price(1.0, 2.0, 0.5, source="litellm"), T0)
    assert record(engine, Price(1.0, 2.0, 0.25, source="litellm"), T0 + timedelta(days=1)) == [
        "a/x"]
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
    assert event.type == "price_change" and event.payload["changed"] == ["cached_input_per_mtok"]
    assert (event.payload["old"]["cached_input_per_mtok"],
            event.payload["new"]["cached_input_per_mtok"]) == (0.5, 0.25)


def test_seeded_points_are_inserted_once_and_history_starts_with_the_price_in_effect(
        engine: Engine) -> None:
    points = [("a/x", Price(float(n), 2.0, source="litellm",
                            effective_at=T0 + timedelta(days=30 * n))) for n in range(1, 5)]
    for _ in range(2):
        with Session(engine) as session, session.begin():
            seed_points(session, points)
    with Session(engine) as session:
        assert len(session.exec(select(PricePoint)).all()) == 4
        history = price_history(session, "a/x", T0 + timedelta(days=75),
                                T0 + timedelta(days=200))
        assert price_history(session, "b/y", T0, T0 + timedelta(days=400)) == []
    # In effect at `since` (day 60), then what took effect in the window (days 90 and 120).
    assert [p.input_per_mtok for p in history] == [2.0, 3.0, 4.0]
    assert history[0].effective_at == T0 + timedelta(days=60)


def test_seed_only_if_unpriced_leaves_priced_candidates_alone(engine: Engine) -> None:
    record(engine, Price(1.0, 2.0, source="static"), T0)
    with Session(engine) as session, session.begin():
        added = seed_points(session, [("a/x", Price(9.0, 9.0, source="litellm",
                                                    effective_at=T0 - timedelta(days=1)))],
                            only_if_unpriced=True)
    assert added == 0
