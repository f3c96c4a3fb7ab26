"""The outbox's claims on SQLite and PostgreSQL: every delivery claimed exactly once, by
one of several concurrent senders, and a dead sender's claim taken over with the same key."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.alerts import outbox
from service.alerts.routing import SinkRule
from service.store.models import AlertDelivery, Event
from tests.alert_helpers import PROVIDERS, add_event
from tests.clock import T0

DAY = timedelta(days=1)
ONE_AT_A_TIME = SinkRule("hook", group_wait=timedelta(0), repeat_interval=timedelta(0),
                         max_group=1)


def fan_out(engine: Engine, rules: list[SinkRule], claimer: str = "r1",
            now: datetime = T0) -> dict[str, int]:
    with Session(engine) as session, session.begin():
        return outbox.fan_out(session, rules, [], PROVIDERS, claimer, now, DAY)


def claim(engine: Engine, rule: SinkRule, claimer: str,
          now: datetime = T0) -> outbox.Claimed | None:
    with Session(engine) as session, session.begin():
        return outbox.claim(session, rule, claimer, now, DAY, PROVIDERS)


def statuses(engine: Engine) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        return [(d.event_id, d.sink, d.status) for d in session.exec(
            select(AlertDelivery).order_by(AlertDelivery.event_id, AlertDelivery.sink))]


def run_together(n: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def guarded(i: int) -> None:
        try:
            start.wait()
            work(i)  # type: ignore[operator]
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_fan_outs_route_each_event_once_per_sink(engine: Engine) -> None:
    for i in range(30):
        add_event(engine, "price_change", f"p{i}", at=T0, candidate="openai/gpt-4o")
    rules = [SinkRule("a"), SinkRule("b")]
    errors = run_together(4, lambda i: fan_out(engine, rules, claimer=f"r{i}"))
    assert errors == []
    rows = statuses(engine)
    assert len(rows) == 60 and len(set(rows)) == 60
    with Session(engine) as session:
        assert {e.status for e in session.exec(select(Event))} == {"claimed"}


def test_concurrent_senders_claim_every_delivery_exactly_once(engine: Engine) -> None:
    for i in range(40):
        add_event(engine, "price_change", f"p{i}", at=T0, candidate=f"c{i}")
    fan_out(engine, [ONE_AT_A_TIME])
    claimed: dict[int, list[str]] = {}
    lock = threading.Lock()

    def sender(i: int) -> None:
        while True:
            try:
                got = claim(engine, ONE_AT_A_TIME, f"r{i}")
            except outbox.ClaimLost:
                continue
            if got is None:
                return
            with lock:
                for d in got.delivery_ids:
                    claimed.setdefault(d, []).append(got.batch)

    assert run_together(4, sender) == []
    assert len(claimed) == 40
    assert all(len(batches) == 1 for batches in claimed.values())


def test_a_dead_senders_claim_is_taken_over_with_the_same_idempotency_key(
        engine: Engine) -> None:
    add_event(engine, "price_change", "p1", at=T0, candidate="openai/gpt-4o")
    add_event(engine, "price_change", "p2", at=T0, candidate="groq/llama")
    rule = SinkRule("hook", group_wait=timedelta(0))
    fan_out(engine, [rule])
    first = claim(engine, rule, "dead")
    assert first is not None and len(first.events) == 2
    assert claim(engine, rule, "alive") is None  # claimed: nothing else to send
    later = T0 + timedelta(minutes=6)
    with Session(engine) as session, session.begin():
        assert outbox.release_stale(session, later, timedelta(minutes=5)) == 2
    again = claim(engine, rule, "alive", later)
    assert again is not None
    assert (again.batch, again.delivery_ids) == (first.batch, first.delivery_ids)
    with Session(engine) as session, session.begin():
        # the dead sender's late record is refused; the new holder's is kept
        assert not outbox.record(session, first, "dead", later, "sent")
        assert outbox.record(session, again, "alive", later, "sent")
    assert [s for _, _, s in statuses(engine)] == ["sent", "sent"]
    with Session(engine) as session:
        assert {(e.status, e.attempts) for e in session.exec(select(Event))} == {("sent", 1)}


def test_a_retry_keeps_its_group_and_key_while_new_events_form_their_own(
        engine: Engine) -> None:
    rule = SinkRule("hook", group_wait=timedelta(0))
    add_event(engine, "price_change", "p1", at=T0, candidate="openai/gpt-4o")
    fan_out(engine, [rule])
    first = claim(engine, rule, "r1")
    assert first is not None
    with Session(engine) as session, session.begin():
        outbox.record(session, first, "r1", T0, "pending", T0 + timedelta(seconds=30), "HTTP 500")
    add_event(engine, "price_change", "p2", at=T0, candidate="groq/llama")
    fan_out(engine, [rule])
    fresh = claim(engine, rule, "r1")
    assert fresh is not None and [e.key for e in fresh.events] == ["p2"]
    retry = claim(engine, rule, "r1", T0 + timedelta(seconds=31))
    assert retry is not None
    assert (retry.batch, [e.key for e in retry.events], retry.attempts) == \
        (first.batch, ["p1"], 1)


def test_a_permanent_failure_marks_the_event_failed(engine: Engine) -> None:
    rule = SinkRule("hook", group_wait=timedelta(0))
    add_event(engine, "price_change", "p1", at=T0, candidate="openai/gpt-4o")
    fan_out(engine, [rule, SinkRule("other", min_severity="critical")])
    got = claim(engine, rule, "r1")
    assert got is not None
    with Session(engine) as session, session.begin():
        outbox.record(session, got, "r1", T0, "failed", error="permanent failure: HTTP 410")
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
    assert (event.status, event.attempts) == ("failed", 1)
    assert statuses(engine) == [(1, "hook", "failed")]  # `other` never wanted it


def test_events_no_sink_wants_are_done_at_once(engine: Engine) -> None:
    add_event(engine, "price_change", "p1", severity="info", at=T0, candidate="x")
    assert fan_out(engine, [SinkRule("pager", min_severity="critical")]) == {}
    with Session(engine) as session:
        assert session.exec(select(Event.status)).one() == "sent"


def test_a_newer_event_waits_while_an_older_one_of_its_subject_is_retried(
        engine: Engine) -> None:
    rule = SinkRule("hook", group_wait=timedelta(0), repeat_interval=timedelta(0))
    add_event(engine, "price_change", "p1", at=T0, candidate="openai/gpt-4o")
    fan_out(engine, [rule])
    first = claim(engine, rule, "r1")
    assert first is not None
    retry_at = T0 + timedelta(seconds=30)
    with Session(engine) as session, session.begin():
        outbox.record(session, first, "r1", T0, "pending", retry_at, "HTTP 503")
    add_event(engine, "price_change", "p2", at=T0, candidate="openai/gpt-4o")
    fan_out(engine, [rule])
    assert claim(engine, rule, "r1", T0 + timedelta(seconds=1)) is None  # not before p1
    retry = claim(engine, rule, "r1", retry_at)
    assert retry is not None and [e.key for e in retry.events] == ["p1"]
    with Session(engine) as session, session.begin():
        outbox.record(session, retry, "r1", retry_at, "sent")
    after = claim(engine, rule, "r1", retry_at)
    assert after is not None and [e.key for e in after.events] == ["p2"]
