"""A small, known store for the API, metrics and page tests: two providers, three candidates,
probe results over the last hours, an incident, price changes, events, scored rankings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.app import create_app
from service.config import Settings, load_settings
from service.rankings.evaluation import evaluate_and_save
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import Event, Incident, PricePoint, ProbeResultRow
from service.store.rollup import apply_rollups
from service.store.sync import sync_candidates

CONFIG = """
builtin_catalog: false
database: {database}
scoring: {{every: 60s, window: 2h}}
providers:
  acme:
    sla: {{availability: 0.99}}
    facts: {{hipaa_baa: true, founded_year: 2015, openai_compatible: true}}
  zeta:
    facts: {{hipaa_baa: false, founded_year: 2022}}
candidates:
  acme/fast:
    provider: acme
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: fast
    price: {{input_per_mtok: 0.5, output_per_mtok: 1.5}}
    probes: {{latency: {{every: 60s}}}}
  acme/big:
    provider: acme
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: big
    price: {{input_per_mtok: 5, output_per_mtok: 15}}
    probes: {{latency: {{every: 60s}}}}
  zeta/cheap:
    provider: zeta
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: cheap
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.2}}
    probes: {{latency: {{every: 30s}}}}
workloads:
  chat:
    description: Customer chat <b>escaped</b>
    volume: {{requests_per_month: 100000, input_tokens: 1000, output_tokens: 200}}
    weights: {{latency: 3, cost: 3, reliability: 2}}
  clinic:
    volume: {{requests_per_month: 1000, input_tokens: 1000, output_tokens: 200}}
    weights: {{latency: 1, compliance: 5}}
    gates: {{require: [hipaa_baa]}}
"""

# acme/fast: 30 probes, 3 failed (90%, the 99% SLA's budget 10x overspent)
# acme/big: 20 probes, all ok; zeta/cheap: 10 ok and 2 rate-limited (not counted)
OUTCOMES = {"acme/fast": [True] * 27 + [False] * 3, "acme/big": [True] * 20,
            "zeta/cheap": [True] * 10 + [None] * 2}


@dataclass
class Seeded:
    settings: Settings
    engine: Engine
    now: datetime


def probe_rows(now: datetime) -> list[ProbeResultRow]:
    rows = []
    for cid, outcomes in OUTCOMES.items():
        for i, ok in enumerate(outcomes):
            at = now - timedelta(minutes=50) + timedelta(seconds=30 * i)
            rows.append(ProbeResultRow(
                candidate_id=cid, kind="latency", started_at=at, ok=bool(ok),
                error_class=None if ok else ("rate_limited" if ok is None else "http_5xx"),
                ttft_seconds=0.2 if ok else None, total_seconds=0.5 if ok else None,
                output_tokens_per_second=80.0 if ok else None))
    return rows


def seed(tmp_path: Path, now: datetime | None = None) -> Seeded:
    now = now or datetime.now(UTC)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(database=url), encoding="utf-8")
    settings = load_settings(path, environ={})
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_candidates(session, settings.candidates, now - timedelta(days=3))
        rows = probe_rows(now)
        session.add_all(rows)
        apply_rollups(session.connection(), rows)
        for days, price in ((3, 0.8), (1, 0.5)):  # acme/fast got cheaper a day ago
            session.add(PricePoint(candidate_id="acme/fast", source="litellm",
                                   effective_at=now - timedelta(days=days),
                                   input_per_mtok=price, output_per_mtok=1.5))
        session.add(Incident(provider="acme", external_id="inc-1", title="Elevated errors",
                             status="investigating", impact="major",
                             started_at=now - timedelta(minutes=20)))
        session.add(Incident(provider="zeta", external_id="inc-0", title="Old one",
                             status="resolved", started_at=now - timedelta(days=2),
                             resolved_at=now - timedelta(days=2) + timedelta(hours=1)))
        for i in range(5):
            session.add(Event(type="price_change" if i % 2 else "top_choice_changed",
                              dedup_key=f"seed:{i}", created_at=now - timedelta(minutes=i),
                              payload={"workload": "chat", "old": "acme/big",
                                       "new": "acme/fast", "reason": f"seeded {i}"}))
    for minutes in (10, 5, 0):  # three evaluations: a history to page through
        evaluate_and_save(engine, settings, now - timedelta(minutes=minutes))
    return Seeded(settings, engine, now)


def app_for(seeded: Seeded, token: str | None = None, rescore: object = None) -> FastAPI:
    return create_app(version="test", engine=seeded.engine, registry=CollectorRegistry(),
                      readiness=lambda: {"database": True}, settings=seeded.settings,
                      rescore=rescore, api_token=token)  # type: ignore[arg-type]
