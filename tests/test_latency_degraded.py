"""Degraded by latency, told as stories over a real store (SQLite and PostgreSQL): a week of
baseline, then a slowdown; one alert in, one alert out, none for the jitter in between."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.config import Settings, load_settings
from service.rankings.evaluation import evaluate_and_save
from service.rankings.latency import latency_rules, ttft_p95
from service.rankings.saved import latest_ranking
from service.sinks.events import AlertEvent
from service.sinks.render import headline, reasons, title
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import AlertCondition, Event, ProbeResultRow
from service.store.rollup import apply_rollups
from tests.clock import T0

CONFIG = """
builtin_catalog: false
database: {db}
providers:
  p: {{facts: {{founded_year: 2015}}}}
candidates:
  p/a: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: a,
         probes: {{latency: {{every: 60s}}}}}}
  p/b: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: b,
         probes: {{latency: {{every: 60s}}}}}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{latency: 5, stability: 1}}
{extra}"""

WEEK_TTFT = (0.5, 0.6, 0.7, 0.8, 0.9)  # the baseline's p95 is 0.9 s
START = T0 + timedelta(days=7)  # the week of baseline ends here; the story starts


def make(tmp_path: Path, url: str, extra: str = "") -> tuple[Settings, Engine]:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=url, extra=extra))
    settings = load_settings(path, environ={})
    upgrade(settings.database)
    return settings, make_engine(settings.database)


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> tuple[Settings, Engine]:
    return make(tmp_path, database_url)


def write(engine: Engine, rows: list[ProbeResultRow]) -> None:
    with engine.begin() as conn:
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)


def probe(candidate: str, at: datetime, ttft: float) -> ProbeResultRow:
    return ProbeResultRow(candidate_id=candidate, kind="latency", started_at=at, ok=True,
                          ttft_seconds=ttft, total_seconds=ttft + 0.5)


def week_then(engine: Engine, start: datetime, minutes: int,
              ttft: dict[str, Callable[[int], float]]) -> None:
    """A week of baseline before `start` (a probe every 10 min), then one probe a minute for
    `minutes`, minute m taking ttft[candidate](m)."""
    rows = [probe(c, start - timedelta(days=7) + timedelta(minutes=10 * i),
                  WEEK_TTFT[i % len(WEEK_TTFT)])
            for c in ttft for i in range(7 * 144)]
    rows += [probe(c, start + timedelta(minutes=m), f(m)) for c, f in ttft.items()
             for m in range(minutes)]
    write(engine, rows)


def events(engine: Engine) -> list[Event]:
    with Session(engine) as session:
        return list(session.exec(select(Event).where(
            Event.type.startswith("latency_degraded")).order_by(Event.id)).all())  # type: ignore[attr-defined]


def states(engine: Engine) -> dict[str, tuple[str, str]]:
    with Session(engine) as session:
        ranking = latest_ranking(session, "chat")
    assert ranking is not None
    return {e["candidate"]: (e["state"], e["state_reason"]) for e in ranking["ranking"]}


def at_minute(m: int) -> datetime:
    return START + timedelta(minutes=m, seconds=30)


def test_five_times_slower_for_twenty_minutes_is_one_alert_in_and_one_out(
        store: tuple[Settings, Engine]) -> None:
    settings, engine = store
    week_then(engine, START, 70, {"p/a": lambda m: 4.5 if 20 <= m < 40 else 0.9,
                                  "p/b": lambda m: 0.9})
    seen: dict[int, str] = {}
    for m in range(10, 70):
        evaluate_and_save(engine, settings, at_minute(m))
        seen[m] = states(engine)["p/a"][0]
        if m == 30:
            a, b = states(engine)["p/a"], states(engine)["p/b"]
            # x5 within the sketches' 1 % on each figure
            assert a[0] == "degraded" and re.fullmatch(
                r"TTFT p95 4\.5 s over the last 15 min against 0\.9 s over 7 days "
                r"\(x5\.[01], threshold x2\)", a[1]), a
            assert b[0] == "serving"
    # In when two of the window's 15 probes are slow (its p95), out when at most one is.
    assert [m for m in seen if seen[m] == "degraded"] == list(range(21, 53))

    fired, resolved = events(engine)
    assert (fired.type, fired.severity, fired.created_at) == (
        "latency_degraded", "warning", at_minute(21))
    assert fired.payload["candidate"] == "p/a" and fired.payload["provider"] == "p"
    assert fired.payload["current_p95_seconds"] == pytest.approx(4.5, rel=0.01)
    assert fired.payload["baseline_p95_seconds"] == pytest.approx(0.9, rel=0.01)
    assert fired.payload["baseline"]["samples"] == 7 * 144  # the week's hours, not the window
    assert fired.payload["current"] == {"p95_seconds": fired.payload["current_p95_seconds"],
                                        "samples": 15, "window_seconds": 900.0}
    assert "4.5 s" in fired.payload["reason"] and "0.9 s" in fired.payload["reason"]
    assert (resolved.type, resolved.severity, resolved.created_at) == (
        "latency_degraded_resolved", "info", at_minute(53))
    assert resolved.payload["episode"] == fired.payload["episode"]
    assert resolved.payload["current_p95_seconds"] == pytest.approx(0.9, rel=0.01)
    assert states(engine)["p/a"][0] == "serving"
    with Session(engine) as session:
        assert session.exec(select(AlertCondition)).all() == []
    # What a sink says: both figures in the headline, the windows in the reasons.
    told = [AlertEvent.of(e.id or 0, e.type, e.severity, e.dedup_key, e.created_at, e.payload,
                          {"p/a": "p"}) for e in (fired, resolved)]
    assert re.fullmatch(r"p/a: TTFT p95 at 4\.5 s, x5\.[01] its baseline 0\.9 s",
                        headline(told[0])), headline(told[0])
    assert re.fullmatch(r"p/a: TTFT p95 back to 0\.9 s, x1\.0 its baseline 0\.9 s",
                        headline(told[1])), headline(told[1])
    assert reasons(told[0]) == [fired.payload["reason"]]
    assert title(told[1]) == "Latency back near its baseline"


def test_a_latency_jittering_across_the_threshold_is_one_alert_not_a_storm(
        store: tuple[Settings, Engine]) -> None:
    settings, engine = store

    def jitter(m: int) -> float:
        if m < 20 or m >= 50:
            return 0.9
        return 1.9 if m % 20 in (0, 1) else 1.5  # bursts over x2, between them x1.7

    week_then(engine, START, 75, {"p/a": jitter})
    rules = latency_rules(settings)
    window_p95 = []
    for m in range(10, 75):
        now = at_minute(m)
        evaluate_and_save(engine, settings, now)
        with Session(engine) as session:
            figure = ttft_p95(session, ["p/a"], now - timedelta(seconds=rules.window_seconds),
                              now)["p/a"]
        window_p95.append(figure.p95)
    level = 0.9 * rules.enter_ratio
    crossings = sum((a >= level) != (b >= level) for a, b in pairwise(window_p95))
    assert crossings >= 4  # the window's p95 went over and under the enter level, twice
    assert [e.type for e in events(engine)] == ["latency_degraded",
                                                "latency_degraded_resolved"]
    assert events(engine)[1].created_at == at_minute(63)  # once the x1.7 stretch left the window


def test_a_young_candidate_is_not_judged_and_judgement_can_be_turned_off(
        tmp_path: Path, database_url: str) -> None:
    settings, engine = make(tmp_path, database_url)
    # Two days of history: 288 probes, under the 300 a baseline needs.
    rows = [probe("p/a", START - timedelta(days=2) + timedelta(minutes=10 * i), 0.9)
            for i in range(288)]
    rows += [probe("p/a", START + timedelta(minutes=m), 9.0) for m in range(30)]
    write(engine, rows)
    evaluate_and_save(engine, settings, at_minute(29))
    assert states(engine)["p/a"][0] == "serving" and events(engine) == []

    off, _ = make(tmp_path, database_url, "scoring: {states: {latency: {enabled: false}}}")
    week_then(engine, START + timedelta(days=7), 30, {"p/b": lambda m: 9.0})
    evaluate_and_save(engine, settings, START + timedelta(days=7, minutes=29))
    assert states(engine)["p/b"][0] == "degraded" and len(events(engine)) == 1
    evaluate_and_save(engine, off, START + timedelta(days=7, minutes=30))
    assert states(engine)["p/b"][0] == "serving"
    closed = events(engine)[-1]
    assert closed.type == "latency_degraded_resolved"
    assert closed.payload["reason"].startswith("latency judgement turned off")


@pytest.mark.integration  # a webhook receiver on 127.0.0.1
async def test_candidates_degraded_in_one_pass_reach_a_sink_as_one_message(
        tmp_path: Path, sqlite_url: str) -> None:
    from devtools.receiver import Receiver, always
    from tests.alert_helpers import pump, sender

    settings, engine = make(tmp_path, sqlite_url)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    week_then(engine, start, 30, {"p/a": lambda m: 5.0, "p/b": lambda m: 6.0})
    evaluate_and_save(engine, settings, start + timedelta(minutes=29, seconds=30))
    assert [e.type for e in events(engine)] == ["latency_degraded"] * 2
    with Receiver(always(200)) as rx:
        s = sender(engine, [{"type": "webhook", "name": "hook", "webhook_url_env": "URL_HOOK",
                             "secret_env": "HOOK_SECRET", "group_wait": 0}],
                   {"URL_HOOK": rx.url, "HOOK_SECRET": "hmac-key"})
        await pump(s, lambda: len(rx.requests) >= 1)
    (message,) = rx.requests
    told = message.json()["events"]
    assert sorted(e["payload"]["candidate"] for e in told) == ["p/a", "p/b"]
    assert {e["type"] for e in told} == {"latency_degraded"}
