"""The Alertmanager sink against a real Alertmanager whose Slack receiver is a local server.

Fires an incident, shows a repeated POST (the one allowed after a crash) makes no second
alert, and that the resolution ends the alert: Alertmanager sends "resolved" to Slack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.engine import Engine

from devtools.alertmanager import Alertmanager
from devtools.receiver import Receiver, always
from service.sinks.alertmanager import AlertmanagerSink, idempotency_key
from service.sinks.base import Message, SinkSpec
from tests.alert_helpers import add_event, deliveries, pump, sender, stored_events
from tests.needs import binary as need

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: the sink and a real Alertmanager are under test; the outbox is held to
    # both backends in test_alert_outbox.py.
    return sqlite_url


def slack_texts(slack: Receiver) -> list[str]:
    return [str(r.json()["attachments"][0]["text"]) for r in slack.requests]


async def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("Alertmanager did not notify in time")
        await asyncio.sleep(0.05)


async def test_alertmanager_notifies_once_and_then_resolves(engine: Engine) -> None:
    need("prometheus-alertmanager", "prometheus-alertmanager")  # fails in CI if missing
    with Receiver(always(200)) as slack, Alertmanager(slack.url + "/slack") as am:
        s = sender(engine, [{"type": "alertmanager", "webhook_url_env": "AM_URL",
                             "group_wait": 0}], {"AM_URL": am.url})
        add_event(engine, "incident_opened", "i1", "warning", provider="openai",
                  external_id="inc-7", title="Errors", status="investigating")
        await pump(s, lambda: [d.status for d in deliveries(engine)] == ["sent"])
        await wait_for(lambda: len(slack.requests) >= 1)
        key = deliveries(engine)[0].batch
        assert key is not None

        # The repeat allowed after a crash between send and record: same message, same key.
        sink = AlertmanagerSink(SinkSpec("am", "alertmanager", am.url))
        async with httpx.AsyncClient() as client:
            await sink.send(Message(key, stored_events(engine)), client)
            alerts = (await client.get(f"{am.url}/api/v2/alerts")).json()
        label = idempotency_key(stored_events(engine)[0])
        assert [a["labels"]["idempotency_key"] for a in alerts] == [label]
        assert alerts[0]["status"]["state"] == "active"

        add_event(engine, "incident_resolved", "i1-end", "info", provider="openai",
                  external_id="inc-7", title="Errors", status="resolved")
        await pump(s, lambda: [d.status for d in deliveries(engine)] == ["sent", "sent"])
        await wait_for(lambda: any("[resolved" in t for t in slack_texts(slack)))
    texts = slack_texts(slack)
    firing = [t for t in texts if "[firing" in t]
    assert len(firing) == 1 and label in firing[0]
    assert all(label in t for t in texts)
