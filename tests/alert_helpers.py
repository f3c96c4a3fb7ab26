"""Shared by the alert tests: a migrated store, events in its outbox, a sender to drive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.alerts import outbox
from service.alerts.sender import AlertSender
from service.config.alerts import AlertsConfig
from service.sinks.events import AlertEvent
from service.store.models import AlertDelivery
from service.store.outbox import record_event

PROVIDERS = {"openai/gpt-4o": "openai", "groq/llama": "groq"}


def add_event(engine: Engine, type_: str, key: str, severity: str = "warning",
              at: datetime | None = None, **payload: Any) -> None:
    with Session(engine) as session, session.begin():
        record_event(session, type_, key, payload, at or datetime.now(UTC), severity)


def sender(engine: Engine, sinks: list[dict[str, Any]], environ: dict[str, str],
           **alerts: Any) -> AlertSender:
    config = AlertsConfig.model_validate({"sinks": sinks, **alerts})
    return AlertSender(engine, config, PROVIDERS, environ)


def deliveries(engine: Engine) -> list[AlertDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(AlertDelivery).order_by(AlertDelivery.id)))


async def pump(s: AlertSender, until: Callable[[], bool], timeout: float = 10.0,
               client: httpx.AsyncClient | None = None) -> None:
    """Run sender passes until `until()` holds."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as own:
        while True:
            await s.run_once(client or own)
            if until():
                return
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.05)


def stored_events(engine: Engine) -> tuple[AlertEvent, ...]:
    """Every event in the outbox, as the sinks see them."""
    with Session(engine) as session:
        rows = session.execute(sa_select(*outbox._EVENT_COLS).order_by(outbox.E.c.id)).all()
    return tuple(outbox.to_alert(r, PROVIDERS) for r in rows)
