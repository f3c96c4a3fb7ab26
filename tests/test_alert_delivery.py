"""The sender against real HTTP receivers on 127.0.0.1: once, retried, given up, grouped.

Receivers: one that answers 200, one 429 then 200 (Retry-After), one 500 for a while, one
404. Every message carries an idempotency key; retries carry the same one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.engine import Engine

from devtools.receiver import Receiver, always, failing_for, sequence
from service.alerts.metrics import AlertMetrics
from service.sinks.base import Message
from service.sinks.webhook import verify_signature
from tests.alert_helpers import add_event, deliveries, pump, sender

pytestmark = pytest.mark.integration
SECRET = "hmac-key"
FAST = {"retry_initial": "50ms", "retry_max": "200ms"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # SQLite only: delivery to the receivers is under test; the outbox it reads is held
    # to both backends in test_alert_outbox.py.
    return sqlite_url


def webhook(name: str = "hook", **kw: object) -> dict[str, object]:
    return {"type": "webhook", "name": name, "webhook_url_env": f"URL_{name.upper()}",
            "secret_env": "HOOK_SECRET", "group_wait": 0, **kw}


async def test_each_event_reaches_a_healthy_receiver_once_signed(engine: Engine) -> None:
    with Receiver(always(200)) as rx:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        s = sender(engine, [webhook()], {"URL_HOOK": rx.url + "/in", "HOOK_SECRET": SECRET})
        await pump(s, lambda: len(rx.requests) == 1)
        for _ in range(3):
            async with httpx.AsyncClient() as client:
                await s.run_once(client)
    assert len(rx.requests) == 1
    got = rx.requests[0]
    assert verify_signature(SECRET, got.headers["x-factorwatch-timestamp"], got.body,
                            got.headers["x-factorwatch-signature"])
    assert got.json()["idempotency_key"] == got.headers["idempotency-key"]
    assert [e["id"] for e in got.json()["events"]] == ["p1"]
    assert [(d.status, d.attempts) for d in deliveries(engine)] == [("sent", 1)]


async def test_429_waits_for_retry_after_then_sends_with_the_same_key(engine: Engine) -> None:
    script = sequence([(429, {"Retry-After": "1"})])
    with Receiver(script) as rx:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        s = sender(engine, [webhook()], {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET},
                   delivery=FAST)
        await pump(s, lambda: any(r.status == 200 for r in rx.requests))
    first, second = rx.requests
    assert second.at - first.at >= 0.95  # Retry-After, not the 50 ms backoff
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert [(d.status, d.attempts) for d in deliveries(engine)] == [("sent", 2)]


async def test_500_is_retried_with_backoff_until_it_answers(engine: Engine) -> None:
    registry = CollectorRegistry()
    metrics = AlertMetrics(registry)
    with Receiver(failing_for(1.0, 500)) as rx:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        s = sender(engine, [webhook()], {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET},
                   delivery=FAST)
        s.metrics = metrics
        await pump(s, lambda: any(r.status == 200 for r in rx.requests))
    statuses = [r.status for r in rx.requests]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {500} and len(statuses) >= 4
    gaps = [b.at - a.at for a, b in zip(rx.requests, rx.requests[1:], strict=False)]
    assert max(gaps) < 0.5  # capped by retry_max, not ever longer
    assert len({r.headers["idempotency-key"] for r in rx.requests}) == 1
    value = registry.get_sample_value
    assert value("factorwatch_alerts_sent_total", {"sink": "hook", "result": "ok"}) == 1
    assert value("factorwatch_alerts_sent_total", {"sink": "hook", "result": "retry"}) == \
        len(statuses) - 1


async def test_404_is_permanent_and_never_retried(engine: Engine) -> None:
    registry = CollectorRegistry()
    with Receiver(always(404)) as rx:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        s = sender(engine, [webhook()], {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET},
                   delivery=FAST)
        s.metrics = AlertMetrics(registry)
        await pump(s, lambda: deliveries(engine)[0].status == "failed")
        for _ in range(3):
            async with httpx.AsyncClient() as client:
                await s.run_once(client)
    assert len(rx.requests) == 1
    assert deliveries(engine)[0].last_error == "permanent failure: HTTP 404: no"
    assert registry.get_sample_value("factorwatch_alerts_sent_total",
                                     {"sink": "hook", "result": "failed"}) == 1


async def test_one_failing_sink_does_not_hold_up_another(engine: Engine) -> None:
    with Receiver(always(500)) as down, Receiver(always(200)) as up:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        s = sender(engine, [webhook("down"), webhook("up")],
                   {"URL_DOWN": down.url, "URL_UP": up.url, "HOOK_SECRET": SECRET},
                   delivery=FAST)
        await pump(s, lambda: len(up.requests) == 1)
    statuses = {d.sink: d.status for d in deliveries(engine)}
    assert statuses == {"down": "pending", "up": "sent"}


async def test_events_that_arrive_together_go_in_one_message(engine: Engine) -> None:
    with Receiver(always(200)) as rx:
        s = sender(engine, [webhook(group_wait="300ms")],
                   {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET})
        add_event(engine, "incident_opened", "i1", provider="openai", external_id="a")
        async with httpx.AsyncClient() as client:
            await s.run_once(client)  # routed, waiting for its group
            add_event(engine, "price_change", "p1", candidate="groq/llama")
            await s.run_once(client)
        await pump(s, lambda: len(rx.requests) == 1)
    assert [e["id"] for e in rx.requests[0].json()["events"]] == ["i1", "p1"]


async def test_repeats_within_the_interval_are_held_then_the_newest_is_sent(
        engine: Engine) -> None:
    with Receiver(always(200)) as rx:
        s = sender(engine, [webhook(repeat_interval="600ms")],
                   {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET})
        add_event(engine, "top_choice_changed", "t0", "info", workload="chat", new="c0")
        await pump(s, lambda: len(rx.requests) == 1)
        for n in (1, 2):  # within the interval: held, and t2 makes t1 pointless
            add_event(engine, "top_choice_changed", f"t{n}", "info", workload="chat",
                      new=f"c{n}")
            async with httpx.AsyncClient() as client:
                await s.run_once(client)
        assert len(rx.requests) == 1
        await pump(s, lambda: len(rx.requests) == 2)
    sent = [[e["id"] for e in r.json()["events"]] for r in rx.requests]
    assert sent == [["t0"], ["t2"]]
    assert rx.requests[1].at - rx.requests[0].at >= 0.55
    assert [d.status for d in deliveries(engine)] == ["sent", "superseded", "sent"]


async def test_silenced_events_are_recorded_not_sent(engine: Engine) -> None:
    now = datetime.now(UTC)
    silence = {"providers": ["openai"], "starts_at": now - timedelta(hours=1),
               "ends_at": now + timedelta(hours=1), "comment": "migration"}
    with Receiver(always(200)) as rx:
        add_event(engine, "incident_opened", "i1", provider="openai", external_id="a")
        add_event(engine, "incident_opened", "i2", provider="groq", external_id="b")
        s = sender(engine, [webhook()], {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET},
                   silences=[silence])
        await pump(s, lambda: len(rx.requests) == 1)
    assert [e["id"] for e in rx.requests[0].json()["events"]] == ["i2"]
    rows = {d.event_id: (d.status, d.last_error) for d in deliveries(engine)}
    assert rows[1] == ("silenced", "alerts.silences[0]: migration")


async def test_sink_url_never_appears_in_logs_errors_metrics_or_the_database(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    token = "T0KEN-9f8e7d6c5b4a"
    url = f"http://127.0.0.1:9/services/{token}?sig={token}"

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url} ({url})", request=request)

    registry = CollectorRegistry()
    caplog.set_level(logging.DEBUG)
    add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
    s = sender(engine, [webhook()], {"URL_HOOK": url, "HOOK_SECRET": SECRET}, delivery=FAST)
    s.metrics = AlertMetrics(registry)
    async with httpx.AsyncClient(transport=httpx.MockTransport(boom)) as client:
        await pump(s, lambda: deliveries(engine)[0].attempts >= 2, client=client)
    with Receiver(always(404), echo_path=True) as rx:
        add_event(engine, "price_change", "p2", candidate="openai/gpt-4o")
        s2 = sender(engine, [webhook("echo")], {"URL_ECHO": f"{rx.url}/services/{token}",
                                                "HOOK_SECRET": SECRET})
        await pump(s2, lambda: any(d.status == "failed" for d in deliveries(engine)))
    errors = " ".join(str(d.last_error) for d in deliveries(engine))
    assert "ConnectError" in errors and "HTTP 404" in errors
    for text in (caplog.text, errors, generate_latest(registry).decode(),
                 json.dumps([repr(r.__dict__) for r in caplog.records])):
        assert token not in text


async def test_a_send_never_recorded_is_repeated_once_with_the_same_key(engine: Engine) -> None:
    """The one repeat allowed: the sender died after sending, before recording."""
    with Receiver(always(200)) as rx:
        add_event(engine, "price_change", "p1", candidate="openai/gpt-4o")
        environ = {"URL_HOOK": rx.url, "HOOK_SECRET": SECRET}
        fast = {"claim_timeout": "300ms"}
        dying = sender(engine, [webhook(timeout="100ms")], environ, delivery=fast)
        await asyncio.to_thread(dying._route, datetime.now(UTC))
        claimed = await asyncio.to_thread(dying._claim, dying.rules[0])
        assert claimed is not None
        async with httpx.AsyncClient() as client:  # sent; then the process "dies"
            await dying.sinks["hook"].send(Message(claimed.batch, claimed.events), client)
        heir = sender(engine, [webhook(timeout="100ms")], environ, delivery=fast)
        await pump(heir, lambda: deliveries(engine)[0].status == "sent")
        for _ in range(2):
            async with httpx.AsyncClient() as client:
                await heir.run_once(client)
    first, repeat = rx.requests
    assert first.headers["idempotency-key"] == repeat.headers["idempotency-key"]
    assert first.json()["events"] == repeat.json()["events"]
