"""Monthly SLA statements from stored probes, on SQLite and PostgreSQL: the verdict, coverage,
exclusions, frozen days, the at-risk event; then the API and `factorwatch sla report` as a
real subprocess (docs/sla.md)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from service.app import create_app
from service.config import Settings, load_settings
from service.sla.statements import refresh, statement, statements_for
from service.store.models import (
    Event,
    Incident,
    PricePoint,
    ProbeResultRow,
    SlaStatementRow,
    TopChoice,
)

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
HOURS = 30 * 24  # one-hour intervals in November
SECRET = "sk-sla-test-not-a-real-key"

CONFIG = """
builtin_catalog: false
database: {database}
providers:
  acme:
    sla:
      availability: 0.999
      contract:
        source: https://acme.example/sla
        as_of: 2026-11-30
        interval: 1h
        exclude: [{exclude}]
        {spend}
        tiers:
          - {{below: 0.999, at_least: 0.99, credit: 0.10}}
          - {{below: 0.99, credit: 0.25}}
  other: {{}}
candidates:
  acme/m:
    provider: acme
    api: openai
    base_url: https://api.acme.example/v1
    model: m
    api_key_env: ACME_KEY
  other/m:
    provider: other
    api: openai
    base_url: https://api.other.example/v1
    model: m
workloads:
  chat:
    volume: {{requests_per_month: 1000000, input_tokens: 1000, output_tokens: 1000}}
    weights: {{cost: 1}}
"""


def settings_for(tmp_path: Path, database: str = "sqlite:///unused.db",
                 exclude: str = "rate_limited", spend: str = "monthly_spend_usd: 1000"
                 ) -> tuple[Settings, Path]:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(database=database, exclude=exclude, spend=spend),
                    encoding="utf-8")
    return load_settings(path, environ={"ACME_KEY": SECRET}), path


def hourly(candidate: str, pattern: Iterable[str], start: datetime = NOV
           ) -> list[ProbeResultRow]:
    """One probe at :10 of each hour from `start`: '.' ok, 'x' 5xx, 'r' 429, 'a' 401,
    ' ' none."""
    errors = {"x": ("http_5xx", 500), "r": ("rate_limited", 429), "a": ("auth", 401)}
    rows = []
    for hour, c in enumerate(pattern):
        if c == " ":
            continue
        error, status = errors.get(c, (None, 200))
        rows.append(ProbeResultRow(candidate_id=candidate, kind="latency",
                                   started_at=start + timedelta(hours=hour, minutes=10),
                                   ok=c == ".", error_class=error, http_status=status))
    return rows


def month(down_hours: dict[int, str] | None = None, missing: range = range(0)) -> str:
    cells = ["."] * HOURS
    for hour, c in (down_hours or {}).items():
        cells[hour] = c
    for hour in missing:
        cells[hour] = " "
    return "".join(cells)


def add(engine: Engine, rows: Iterable[object]) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(rows)


def test_a_closed_month_below_the_commitment_earns_its_credit(engine: Engine,
                                                             tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})) + hourly("other/m", month()))
    with Session(engine) as session, session.begin():
        saved = refresh(session, settings, DEC + timedelta(hours=2))
    nov = next(d for d in saved if d["month"] == "2026-11")
    assert nov["state"] == "final"
    assert nov["intervals"] == {"month": HOURS, "elapsed": HOURS, "excluded": 0,
                                "covered": HOURS, "down": 2, "uncovered": 0}
    assert nov["availability"] == pytest.approx(1 - 2 / HOURS, abs=1e-6)  # 99.72%
    assert nov["verdict"] == "due" and nov["credit_share"] == 0.10
    assert nov["spend_usd"] == 1000 and nov["credit_usd"] == 100.0
    assert nov["coverage"] == 1.0 and nov["down_minutes"] == 120
    with Session(engine) as session:
        row = session.get(SlaStatementRow, ("acme", "2026-11"))
        assert row is not None and row.final
        assert session.get(SlaStatementRow, ("other", "2026-11")) is None  # no contract
        stored = [r.body for r in session.exec(select(SlaStatementRow)).all()]
    assert SECRET not in json.dumps(stored)  # the candidate's key never reaches the store


def test_a_final_statement_is_not_recomputed(engine: Engine, tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({5: "x"})))
    with Session(engine) as session, session.begin():
        refresh(session, settings, DEC + timedelta(hours=2))
    add(engine, hourly("acme/m", "x" * 24, start=NOV + timedelta(days=3, minutes=20)))
    with Session(engine) as session, session.begin():
        saved = refresh(session, settings, DEC + timedelta(hours=3))
    assert [d["month"] for d in saved] == ["2026-12"]
    with Session(engine) as session:
        row = session.get(SlaStatementRow, ("acme", "2026-11"))
        assert row is not None and row.body["intervals"]["down"] == 1


def test_gaps_never_claim_a_credit_and_say_how_much_is_covered(engine: Engine,
                                                               tmp_path: Path) -> None:
    """Nine hours without a probe could be 99.9% or 98.6%: undetermined, never due."""
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({100: "x"}, missing=range(200, 209)))
        + hourly("other/m", month()))
    with Session(engine) as session:
        doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
    assert doc["intervals"]["uncovered"] == 9 and doc["uncovered_minutes"] == 540
    assert doc["coverage"] == pytest.approx((HOURS - 9) / HOURS, abs=1e-6)
    assert doc["verdict"] == "undetermined" and doc["credit_share"] is None
    assert doc["credit_usd"] is None
    assert "9 of 720 elapsed intervals have no probe coverage" in doc["reason"]


def test_429s_count_only_when_the_contract_does_not_exclude_them(engine: Engine,
                                                                 tmp_path: Path) -> None:
    add(engine, hourly("acme/m", month({1: "r", 2: "r", 3: "a"})))
    # excluded 429s leave their hours without a counted probe: not covered, not down
    for exclude, down, covered in (("rate_limited", 0, HOURS - 3), ("", 2, HOURS - 1)):
        settings, _ = settings_for(tmp_path, exclude=exclude)
        with Session(engine) as session:
            doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
        assert doc["intervals"]["down"] == down, exclude
        assert doc["intervals"]["covered"] == covered  # a 401 is ours: never counted


def test_declared_maintenance_is_excluded_when_the_contract_says_so(engine: Engine,
                                                                    tmp_path: Path) -> None:
    add(engine, hourly("acme/m", month({10: "x", 11: "x", 50: "x"})))
    add(engine, [Incident(provider="acme", external_id="m1", title="Planned work",
                          status="resolved", started_at=NOV + timedelta(hours=10, minutes=5),
                          resolved_at=NOV + timedelta(hours=11, minutes=30),
                          is_maintenance=True)])
    settings, _ = settings_for(tmp_path, exclude="rate_limited, maintenance")
    with Session(engine) as session:
        doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
    assert doc["intervals"]["excluded"] == 2 and doc["intervals"]["down"] == 1
    assert doc["availability_highest"] == pytest.approx(1 - 1 / (HOURS - 2), abs=1e-6)


def test_the_monitors_own_outage_is_not_the_providers(engine: Engine, tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({7: "x", 8: "x"})) + hourly("other/m", month({7: "x"})))
    with Session(engine) as session:
        doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
    assert doc["intervals"]["down"] == 1 and doc["intervals"]["uncovered"] == 1


def test_days_already_counted_survive_their_raw_results(engine: Engine,
                                                        tmp_path: Path) -> None:
    """Raw results may be kept less than a month: a past day is counted once and kept."""
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({3: "x", 30: "x"})))
    with Session(engine) as session, session.begin():
        refresh(session, settings, NOV + timedelta(days=5))
    with Session(engine) as session, session.begin():  # retention deletes the first 3 days
        session.exec(delete(ProbeResultRow).where(
            col(ProbeResultRow.started_at) < NOV + timedelta(days=3)))
    with Session(engine) as session, session.begin():
        saved = refresh(session, settings, DEC + timedelta(hours=2))
    nov = next(d for d in saved if d["month"] == "2026-11")
    assert nov["intervals"]["down"] == 2 and nov["intervals"]["uncovered"] == 0
    assert "4 days counted earlier and kept in this statement" in nov["data"]  # 1-4 Nov


def test_changed_terms_recount_what_is_left(engine: Engine, tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({3: "x"})))
    with Session(engine) as session, session.begin():
        refresh(session, settings, NOV + timedelta(days=5))
    with Session(engine) as session, session.begin():
        session.exec(delete(ProbeResultRow))
    settings, _ = settings_for(tmp_path, exclude="")
    with Session(engine) as session:
        row = session.get(SlaStatementRow, ("acme", "2026-11"))
        assert row is not None
        doc = statement(session, settings, "acme", NOV.date(), NOV + timedelta(days=5),
                        row.body)
    assert doc["intervals"]["covered"] == 0  # the old counts were under other terms


def test_a_month_on_course_to_breach_saves_one_event(engine: Engine, tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    now = NOV + timedelta(days=10)
    # 2 down hours in 10 days: 6 by month end, 0.72 allowed
    add(engine, hourly("acme/m", month({30: "x", 100: "x"})[:240]))
    for later in (0, 1, 2):
        with Session(engine) as session, session.begin():
            refresh(session, settings, now + timedelta(hours=later))
    with Session(engine) as session:
        events = session.exec(select(Event).where(Event.type == "sla_month_at_risk")).all()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["provider"] == "acme" and payload["month"] == "2026-11"
    assert payload["down_minutes"] == 120 and payload["allowed_minutes"] == 43.2
    assert payload["projected_down_minutes"] > payload["allowed_minutes"]
    assert SECRET not in json.dumps(payload)


def test_spend_from_volume_and_price_when_none_is_configured(engine: Engine,
                                                             tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path, spend="")
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})))
    with Session(engine) as session:
        doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
    assert doc["spend_usd"] is None and doc["credit_usd"] is None
    assert "no workload's top choice is on this provider" in doc["spend_basis"]
    add(engine, [TopChoice(workload="chat", candidate="acme/m"),
                 PricePoint(candidate_id="acme/m", source="static", effective_at=NOV,
                            input_per_mtok=1.0, output_per_mtok=2.0)])
    with Session(engine) as session:
        doc = statement(session, settings, "acme", NOV.date(), DEC + timedelta(hours=2))
    # 1e6 requests x (1000 x 1 + 1000 x 2) / 1e6 USD = 3000 USD; 10% of it
    assert doc["spend_usd"] == 3000.0 and doc["credit_usd"] == 300.0
    assert doc["spend_basis"] == "volume x price: chat on acme/m"


# --- the API and the CLI -------------------------------------------------------------------


def test_statements_api_pages_newest_month_first(engine: Engine, tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})))
    with Session(engine) as session, session.begin():
        refresh(session, settings, DEC + timedelta(hours=2))
    app = create_app(version="test", engine=engine, registry=CollectorRegistry(),
                     readiness=lambda: {"database": True}, settings=settings)
    with TestClient(app) as client:
        first = client.get("/api/v1/sla/statements", params={"limit": 1}).json()
        assert [i["month"] for i in first["items"]] == ["2026-12"]
        assert first["items"][0]["state"] == "in_progress"
        second = client.get("/api/v1/sla/statements",
                            params={"limit": 1, "cursor": first["next_cursor"]}).json()
        assert [i["month"] for i in second["items"]] == ["2026-11"]
        assert second["next_cursor"] is None
        nov = second["items"][0]
        assert nov["verdict"] == "due" and nov["credit_usd"] == 100.0 and "days" not in nov
        only = client.get("/api/v1/sla/statements", params={"month": "2026-11"}).json()
        assert [i["provider"] for i in only["items"]] == ["acme"]
        bad = client.get("/api/v1/sla/statements", params={"month": "Nov"})
        assert bad.status_code == 422 and "month" in bad.text
        assert SECRET not in json.dumps(first) + json.dumps(second)
        page = client.get("/").text
        section = page[page.index('id="sla-statements"'):]
        assert "acme" in section and "2026-11" in section and ">due<" in section
        assert "10% (100.00 USD)" in section and SECRET not in page


def run_cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    env["ACME_KEY"] = SECRET
    return subprocess.run([sys.executable, "-m", "service.cli.main", "sla", "report",
                           "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.integration
def test_sla_report_cli_table_csv_and_json(tmp_path: Path) -> None:
    from service.store.db import make_engine
    from service.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fw.db'}"
    upgrade(url)
    engine = make_engine(url)
    settings, config = settings_for(tmp_path, database=url)
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})) + hourly("other/m", month()))
    with Session(engine) as session, session.begin():
        refresh(session, settings, DEC + timedelta(hours=2))
    engine.dispose()

    table = run_cli("--month", "2026-11", config=config)
    assert table.returncode == 0, table.stderr
    assert "acme" in table.stdout and "final" in table.stdout and "due" in table.stdout
    assert "10% = 100.00 USD" in table.stdout
    as_csv = run_cli("--month", "2026-11", "--csv", config=config)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["provider"], r["verdict"], r["credit_usd"]) for r in rows] == [
        ("acme", "due", "100.0")]
    as_json = run_cli("--month", "2026-11", "--json", config=config)
    docs = json.loads(as_json.stdout)["statements"]
    assert docs[0]["intervals"]["down"] == 2 and "days" not in docs[0]
    for out in (table, as_csv, as_json):
        assert SECRET not in out.stdout + out.stderr
    # A month never saved is computed from what the store holds: October has no probes.
    october = run_cli("--month", "2026-10", "--json", config=config)
    oct_doc = json.loads(october.stdout)["statements"][0]
    assert oct_doc["verdict"] == "undetermined" and oct_doc["coverage"] == 0.0
    bad = run_cli("--month", "2026-13", config=config)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _, no_db = settings_for(elsewhere, database=f"sqlite:///{elsewhere / 'none.db'}")
    missing = run_cli("--month", "2026-11", config=no_db)
    assert missing.returncode == 1 and "factorwatch db upgrade" in missing.stderr


def test_statements_for_reads_final_and_computes_the_rest(engine: Engine,
                                                          tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})))
    with Session(engine) as session:
        docs = statements_for(session, settings, NOV.date(), DEC + timedelta(hours=2))
        assert [d["verdict"] for d in docs] == ["due"]
        assert session.exec(select(SlaStatementRow)).all() == []  # computed, not saved
        assert statements_for(session, settings, DEC.date() + timedelta(days=40),
                              DEC + timedelta(hours=2)) == []  # a future month: nothing


# --- the daemon's job ----------------------------------------------------------------------


async def test_the_job_saves_statements_on_the_lease_holder(engine: Engine,
                                                            tmp_path: Path) -> None:
    from service.sla.statements import StatementJob
    from tests.clock import Clock

    settings, _ = settings_for(tmp_path)
    add(engine, hourly("acme/m", month({5: "x", 6: "x"})))
    job = StatementJob(settings, engine, Clock(DEC + timedelta(hours=2)))
    assert job.wanted
    await job.run()
    with Session(engine) as session:
        months = sorted(r.month for r in session.exec(select(SlaStatementRow)).all())
    assert months == ["2026-11", "2026-12"]


def test_the_daemon_runs_the_job_only_with_a_contract(tmp_path: Path) -> None:
    from service.daemon import Daemon

    db = f"sqlite:///{tmp_path / 'fw.db'}"
    with_contract, _ = settings_for(tmp_path, database=db)
    names = [j.name for j in Daemon(with_contract, environ={}).periodic_jobs()]
    assert "sla_statements" in names
    without = with_contract.model_copy(update={"providers": {
        pid: p.model_copy(update={"sla": None}) for pid, p in with_contract.providers.items()}})
    assert "sla_statements" not in [j.name for j in Daemon(without, environ={}).periodic_jobs()]
