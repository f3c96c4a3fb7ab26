"""A scoring pass on a real database (SQLite and PostgreSQL): replay, announced changes, and
one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service.config import Settings, load_settings
from service.rankings.evaluation import evaluate, evaluate_and_save
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import Evaluation, Event, ProbeResultRow, TopChoice
from service.store.rollup import apply_rollups
from tests.clock import T0

CONFIG = """
builtin_catalog: false
database: {db}
alerts: {{flip: {{margin: 0.1, confirmations: 2}}}}
providers:
  p: {{facts: {{founded_year: 2015}}}}
candidates:
  p/a: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: a}}
  p/b: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: b}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    latency_budget: {{ttft_p99: 1s}}
    weights: {{latency: 5, stability: 1}}
"""


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> tuple[Settings, object]:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=database_url))
    settings = load_settings(path, environ={})
    upgrade(settings.database)
    return settings, make_engine(settings.database)


def probes(engine: object, start: datetime, ttft: dict[str, float], count: int = 20) -> None:
    rows = [ProbeResultRow(candidate_id=cid, kind="latency", started_at=start
                           + timedelta(seconds=30 * i), ok=True, ttft_seconds=value,
                           total_seconds=value + 0.5)
            for cid, value in ttft.items() for i in range(count)]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)


def events(engine: object) -> list[Event]:
    with Session(engine) as session:  # type: ignore[arg-type]
        return list(session.exec(select(Event)).all())


def test_change_is_announced_after_confirmations_with_its_explanation(setup) -> None:  # type: ignore[no-untyped-def]
    settings, engine = setup
    probes(engine, T0, {"p/a": 0.1, "p/b": 0.9})
    rankings, changes = evaluate_and_save(engine, settings, T0 + timedelta(minutes=15))
    assert rankings[0].leader == "p/a" and changes == []  # the first pass announces nothing

    later = T0 + timedelta(hours=3)  # the 1 h window no longer sees the first probes
    probes(engine, later, {"p/a": 0.9, "p/b": 0.1})
    _, first = evaluate_and_save(engine, settings, later + timedelta(minutes=15))
    assert first == []  # b leads, but once is not yet a change
    _, second = evaluate_and_save(engine, settings, later + timedelta(minutes=16))
    assert [(c.old, c.new, c.immediate) for c in second] == [("p/a", "p/b", False)]
    assert second[0].explanation[0]["factor"] == "latency"

    stored = events(engine)
    assert [e.type for e in stored] == ["top_choice_changed"]
    assert stored[0].payload["new"] == "p/b" and stored[0].payload["old"] == "p/a"
    assert stored[0].payload["explanation"][0]["new_evidence"]["samples"] == 20
    with Session(engine) as session:  # type: ignore[arg-type]
        assert session.get(TopChoice, "chat").candidate == "p/b"  # type: ignore[union-attr]
    _, third = evaluate_and_save(engine, settings, later + timedelta(minutes=17))
    assert third == [] and len(events(engine)) == 1  # announced once


def test_replay_at_a_past_time_sees_only_what_was_known_then(setup) -> None:  # type: ignore[no-untyped-def]
    settings, engine = setup
    probes(engine, T0, {"p/a": 0.1, "p/b": 0.9})
    probes(engine, T0 + timedelta(hours=3), {"p/a": 0.9, "p/b": 0.1})
    with Session(engine) as session:
        then = evaluate(session, settings, T0 + timedelta(minutes=15))
        now = evaluate(session, settings, T0 + timedelta(hours=3, minutes=15))
    assert then[0].leader == "p/a" and now[0].leader == "p/b"
    samples = then[0].entries[0].factors["latency"].evidence["samples"]
    assert samples == 20


def test_ranking_and_event_commit_together_or_not_at_all(setup) -> None:  # type: ignore[no-untyped-def]
    settings, engine = setup
    probes(engine, T0, {"p/a": 0.1, "p/b": 0.9})
    evaluate_and_save(engine, settings, T0 + timedelta(minutes=15))
    later = T0 + timedelta(hours=3)
    probes(engine, later, {"p/a": 0.9, "p/b": 0.1})
    evaluate_and_save(engine, settings, later + timedelta(minutes=15))
    at = later + timedelta(minutes=16)
    with Session(engine) as session:  # an event with the same stable id is already there
        session.add(Event(type="top_choice_changed", dedup_key=f"top_choice_changed:chat:"
                          f"{at.isoformat()}"))
        session.commit()
        before = len(session.exec(select(Evaluation)).all())
    with pytest.raises(IntegrityError):
        evaluate_and_save(engine, settings, at)
    with Session(engine) as session:
        assert len(session.exec(select(Evaluation)).all()) == before  # no ranking without it
        assert session.get(TopChoice, "chat").candidate == "p/a"  # type: ignore[union-attr]


def test_declared_incidents_reach_stability_and_reliability(tmp_path: Path,
                                                          database_url: str) -> None:
    from service.store.models import Incident

    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=database_url).replace(
        "  p: {facts: {founded_year: 2015}}",
        "  p:\n    facts: {founded_year: 2015}\n"
        "    status: [{url: 'https://status.example.com/api/v2/summary.json'}]"))
    settings = load_settings(path, environ={})
    upgrade(settings.database)
    engine = make_engine(settings.database)
    now = T0 + timedelta(hours=1)
    probes(engine, T0, {"p/a": 0.1, "p/b": 0.2})
    with Session(engine) as session:
        session.add(Incident(provider="p", external_id="i1", title="Errors", status="resolved",
                             impact="major", started_at=now - timedelta(days=2),
                             resolved_at=now - timedelta(days=2) + timedelta(minutes=45)))
        session.add(Incident(provider="p", external_id="m1", title="Upgrade",
                             status="completed", impact="none", is_maintenance=True,
                             started_at=now - timedelta(days=1),
                             resolved_at=now - timedelta(days=1) + timedelta(hours=2)))
        session.commit()
        (ranking,) = evaluate(session, settings, now)
    entry = ranking.entries[0]
    assert entry.factors["reliability"].evidence["declared_incident_minutes"] == {
        "1h": 0.0, "24h": 0.0, "7d": 45.0, "30d": 45.0}  # maintenance left out
    stability = entry.factors["stability"]
    assert stability.source == "measured"
    assert stability.evidence["incidents_last_90d"] == {"major": 1}


def test_batch_share_reaches_the_cost_factor(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from service.store.models import PricePoint

    settings, engine = setup
    with Session(engine) as session:  # a price list's point, with batch prices
        session.add(PricePoint(candidate_id="p/a", source="litellm", effective_at=T0,
                               input_per_mtok=2, output_per_mtok=2, batch_input_per_mtok=1,
                               batch_output_per_mtok=1))
        session.commit()
    volume = settings.workloads["chat"].volume
    batched = settings.model_copy(deep=True)
    batched.workloads["chat"].volume = volume.model_copy(update={"batch_share": 1.0})
    with Session(engine) as session:
        full = evaluate(session, settings, T0 + timedelta(minutes=1))[0]
        half = evaluate(session, batched, T0 + timedelta(minutes=1))[0]
    cost = {e.candidate: e.factors["cost"].evidence for e in full.entries}
    cost_batched = {e.candidate: e.factors["cost"].evidence for e in half.entries}
    assert cost_batched["p/a"]["monthly_usd"] == pytest.approx(cost["p/a"]["monthly_usd"] / 2)
