"""Routing from the store: the routing_changed event saved with the ranking that changed the
order (SQLite and PostgreSQL), GET /api/v1/workloads/{w}/routing with its ETag, and
`factorwatch route`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from devtools.receiver import Receiver, always
from service.app import create_app
from service.config import Settings, load_settings
from service.rankings.evaluation import evaluate_and_save
from service.rankings.routing import render
from service.rankings.routing_store import latest_routing
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import Evaluation, Event, ProbeResultRow
from service.store.rollup import apply_rollups
from tests.alert_helpers import pump, sender
from tests.clock import T0

KEY_VALUE = "sk-fw-routing-store-KEYVALUE-0123456789"
CONFIG = """
builtin_catalog: false
database: {database}
alerts: {{flip: {{confirmations: 1}}}}
providers:
  p: {{facts: {{founded_year: 2015}}}}
  q: {{facts: {{founded_year: 2015}}}}
candidates:
  p/a: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: a,
        api_key_env: FW_ROUTING_STORE_KEY}}
  p/b: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: b}}
  q/c: {{provider: q, api: anthropic, base_url: "http://127.0.0.1:9/v1", model: c}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    latency_budget: {{ttft_p99: 1s}}
    weights: {{latency: 5}}
  later:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{latency: 1}}
"""
START = T0 + timedelta(hours=1)
FAST = {"p/a": 0.1, "p/b": 0.4, "q/c": 0.8}


def settings_for(tmp_path: Path, database_url: str) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(database=database_url))
    return load_settings(path, environ={})


def probes(engine: Engine, until: datetime, ttft: dict[str, float | None]) -> None:
    """Eight latency probes each over the four minutes before `until`; None: all failed."""
    rows = [ProbeResultRow(candidate_id=cid, kind="latency",
                           started_at=until - timedelta(seconds=30 * i), ok=value is not None,
                           error_class=None if value is not None else "http_5xx",
                           ttft_seconds=value, total_seconds=None if value is None else value + 1)
            for cid, value in ttft.items() for i in range(1, 9)]
    with engine.begin() as conn:
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)


def routing_events(engine: Engine, workload: str = "chat") -> list[Event]:
    with Session(engine) as session:
        found = session.exec(select(Event).where(Event.type == "routing_changed")
                             .order_by(col(Event.id))).all()
    return [e for e in found if e.payload["workload"] == workload]


def order(engine: Engine, workload: str = "chat") -> list[str]:
    with Session(engine) as session:
        routing = latest_routing(session, workload)
    assert routing is not None
    return [r.candidate for r in routing.order]


# --- the event, on both backends --------------------------------------------------------------

def test_routing_changed_once_per_change_never_on_the_first_or_an_unchanged_pass(
        engine: Engine, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    probes(engine, START, FAST)
    evaluate_and_save(engine, settings, START)
    assert order(engine) == ["p/a", "p/b", "q/c"] and routing_events(engine) == []  # first
    evaluate_and_save(engine, settings, START + timedelta(seconds=10))
    assert routing_events(engine) == []  # the same order

    later = START + timedelta(minutes=10)  # the first probes are out of the state window
    probes(engine, later, {**FAST, "p/a": None})
    evaluate_and_save(engine, settings, later)
    evaluate_and_save(engine, settings, later + timedelta(seconds=10))
    assert order(engine) == ["p/b", "q/c"]
    (event,) = routing_events(engine)
    assert (event.severity, event.created_at) == ("warning", later)  # a new first candidate
    payload = event.payload
    assert [r["candidate"] for r in payload["old_order"]] == ["p/a", "p/b", "q/c"]
    assert [r["candidate"] for r in payload["new_order"]] == ["p/b", "q/c"]
    left = next(c for c in payload["changes"] if c["candidate"] == "p/a")
    assert left["was"] == 1 and left["now"] is None and left["why"].startswith("left: down: ")
    with Session(engine) as session:  # it names the evaluation it was saved with
        evaluation = session.get(Evaluation, payload["evaluation_id"])
        assert evaluation is not None and evaluation.evaluated_at == later
    assert payload["old_version"] != payload["new_version"]


def test_routing_changed_is_saved_with_its_ranking_or_not_at_all(
        engine: Engine, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    probes(engine, START, FAST)
    evaluate_and_save(engine, settings, START)
    later = START + timedelta(minutes=10)
    probes(engine, later, {**FAST, "p/a": None})
    with Session(engine) as session:  # the pass's top-choice event will collide with this
        session.add(Event(type="top_choice_changed",
                          dedup_key=f"top_choice_changed:chat:{later.isoformat()}"))
        session.commit()
        evaluations = len(session.exec(select(Evaluation)).all())
    with pytest.raises(IntegrityError):
        evaluate_and_save(engine, settings, later)
    with Session(engine) as session:
        assert len(session.exec(select(Evaluation)).all()) == evaluations
    assert routing_events(engine) == []  # rolled back with the ranking
    evaluate_and_save(engine, settings, later + timedelta(seconds=1))
    assert len(routing_events(engine)) == 1


# --- the API: unit tests on SQLite in this process ------------------------------------------------

@pytest.fixture
def seeded(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Settings, Engine]]:
    monkeypatch.setenv("FW_ROUTING_STORE_KEY", KEY_VALUE)
    settings = settings_for(tmp_path, sqlite_url)
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    probes(engine, START, FAST)
    evaluate_and_save(engine, settings, START)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def client(seeded: tuple[Settings, Engine]) -> Iterator[TestClient]:
    settings, engine = seeded
    app = create_app(version="test", engine=engine, registry=CollectorRegistry(),
                     readiness=lambda: {"database": True}, settings=settings,
                     workloads=lambda: ["chat", "later", "never"])
    with TestClient(app) as c:
        yield c


URL = "/api/v1/workloads/chat/routing"


def test_api_json_is_the_documents_with_the_evaluation(client: TestClient,
                                                       seeded: tuple[Settings, Engine]) -> None:
    answer = client.get(URL)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    doc = answer.json()
    assert [c["candidate"] for c in doc["candidates"]] == ["p/a", "p/b", "q/c"]
    with Session(seeded[1]) as session:
        latest = session.exec(select(Evaluation).where(Evaluation.workload == "chat")).one()
    assert doc["evaluation_id"] == latest.id
    assert datetime.fromisoformat(doc["evaluated_at"]) == START
    assert doc["candidates"][0]["endpoint"]["api_key_env"] == "FW_ROUTING_STORE_KEY"


def test_api_each_format_as_the_cli_prints_it(client: TestClient,
                                              seeded: tuple[Settings, Engine]) -> None:
    settings, engine = seeded
    with Session(engine) as session:
        routing = latest_routing(session, "chat")
    assert routing is not None
    for fmt, media in (("litellm", "application/yaml"), ("openrouter", "application/json"),
                       ("json", "application/json")):
        answer = client.get(URL, params={"format": fmt})
        assert answer.status_code == 200 and answer.headers["content-type"] == media
        assert answer.text == render(routing, settings.candidates, fmt)[0]
    fragment = yaml.safe_load(client.get(URL, params={"format": "litellm"}).text)
    assert [d["litellm_params"]["order"] for d in fragment["model_list"]] == [1, 2, 3]
    provider = client.get(URL, params={"format": "openrouter"}).json()["provider"]
    assert provider == {"order": [], "allow_fallbacks": False}  # p and q have no slug


def test_api_no_secret_in_any_format(client: TestClient) -> None:
    assert os.environ["FW_ROUTING_STORE_KEY"] == KEY_VALUE
    for fmt in ("litellm", "openrouter", "json"):
        assert KEY_VALUE not in client.get(URL, params={"format": fmt}).text


def test_api_etag_answers_304_until_the_document_changes(
        client: TestClient, seeded: tuple[Settings, Engine]) -> None:
    settings, engine = seeded
    tags = {}
    for fmt in ("litellm", "json"):
        first = client.get(URL, params={"format": fmt})
        tags[fmt] = first.headers["etag"]
        again = client.get(URL, params={"format": fmt},
                           headers={"If-None-Match": tags[fmt]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tags[fmt]
        other = client.get(URL, params={"format": fmt}, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200 and other.headers["etag"] == tags[fmt]
    # Another scoring pass, the same order: the fragment a gateway applies is unchanged; the
    # JSON document names the new evaluation, so it changed.
    evaluate_and_save(engine, settings, START + timedelta(seconds=10))
    assert client.get(URL, params={"format": "litellm"},
                      headers={"If-None-Match": tags["litellm"]}).status_code == 304
    assert client.get(URL, params={"format": "json"},
                      headers={"If-None-Match": tags["json"]}).status_code == 200
    # The order changes: so does the fragment.
    later = START + timedelta(minutes=10)
    probes(engine, later, {**FAST, "p/a": None})
    evaluate_and_save(engine, settings, later)
    changed = client.get(URL, params={"format": "litellm"},
                         headers={"If-None-Match": tags["litellm"]})
    assert changed.status_code == 200 and changed.headers["etag"] != tags["litellm"]


def test_api_unknown_workload_not_scored_and_bad_format(client: TestClient) -> None:
    assert client.get("/api/v1/workloads/nope/routing").status_code == 404
    answer = client.get("/api/v1/workloads/never/routing")  # listed, never scored
    assert answer.status_code == 404 and "not been scored yet" in answer.json()["detail"]
    assert client.get(URL, params={"format": "yaml"}).status_code == 422


# --- the webhook sink delivers it like every event ------------------------------------------------

@pytest.mark.integration
async def test_webhook_sink_delivers_routing_changed(seeded: tuple[Settings, Engine]) -> None:
    settings, engine = seeded
    later = START + timedelta(minutes=10)
    probes(engine, later, {**FAST, "p/a": None})
    evaluate_and_save(engine, settings, later)
    with Receiver(always(200)) as rx:
        s = sender(engine, [{"type": "webhook", "name": "hook", "webhook_url_env": "URL_HOOK",
                             "secret_env": "HOOK_SECRET", "group_wait": 0,
                             "events": ["routing_changed"], "workloads": ["chat"]}],
                   {"URL_HOOK": rx.url, "HOOK_SECRET": "s"},
                   delivery={"max_age": "3650d"})  # the test's clock is not the sender's
        await pump(s, lambda: len(rx.requests) == 1)
    (sent,) = rx.requests[0].json()["events"]
    assert (sent["type"], sent["family"], sent["workload"]) == ("routing_changed", "routing",
                                                                "chat")
    assert sent["summary"] == "chat: routing p/a, p/b, q/c → p/b, q/c"
    assert "p/a left: down: 8 of 8 probes failed" in sent["reasons"][0]


# --- `factorwatch route`: a real process ----------------------------------------------------------

def factorwatch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    return subprocess.run([sys.executable, "-m", "service.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.integration
def test_cli_route_prints_each_format(seeded: tuple[Settings, Engine], tmp_path: Path) -> None:
    settings, engine = seeded
    with Session(engine) as session:
        routing = latest_routing(session, "chat")
    assert routing is not None
    config = str(tmp_path / "fw.yaml")
    for fmt in ("litellm", "openrouter", "json"):
        out = factorwatch("route", "-w", "chat", "--format", fmt, "--config", config)
        assert out.returncode == 0, out.stderr
        assert out.stdout == render(routing, settings.candidates, fmt)[0]
    default = factorwatch("route", "-w", "chat", "--config", config)
    assert json.loads(default.stdout)["version"] == routing.version


@pytest.mark.integration
def test_cli_route_clear_errors(seeded: tuple[Settings, Engine], tmp_path: Path) -> None:
    config = str(tmp_path / "fw.yaml")
    unknown = factorwatch("route", "-w", "nope", "--config", config)
    assert unknown.returncode == 2 and "unknown workload 'nope' (known: chat, later)" in \
        unknown.stderr
    missing = tmp_path / "none"
    missing.mkdir()
    (missing / "fw.yaml").write_text(CONFIG.format(database=f"sqlite:///{missing / 'x.db'}"))
    nodb = factorwatch("route", "-w", "chat", "--config", str(missing / "fw.yaml"))
    assert nodb.returncode == 1 and "factorwatch db upgrade" in nodb.stderr
    assert not (missing / "x.db").exists()
    upgrade(f"sqlite:///{missing / 'x.db'}")
    unscored = factorwatch("route", "-w", "chat", "--config", str(missing / "fw.yaml"))
    assert unscored.returncode == 1 and "has not been scored yet" in unscored.stderr
