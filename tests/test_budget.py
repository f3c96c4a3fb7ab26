"""Daily probe budgets: per candidate and in total, logged once a day, visible in metrics,
and still spent after a restart (today's spend is read back from the store)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import Session, select

from service.config import load_settings
from service.config.models import ProbeBudgetConfig
from service.daemon import Daemon
from service.probing.budget import ProbeBudget
from service.probing.metrics import ProbeMetrics
from service.scheduler import ProbePlan
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from tests.clock import T0, Clock


def budget(per: float | None = None, total: float | None = None
           ) -> tuple[ProbeBudget, CollectorRegistry, Clock[date]]:
    registry, clock = CollectorRegistry(), Clock(T0.date())
    config = ProbeBudgetConfig(daily_usd_per_candidate=per, daily_usd_total=total)
    return ProbeBudget(config, ProbeMetrics(registry), today=clock), registry, clock


def exhausted(registry: CollectorRegistry, candidate: str) -> float | None:
    return registry.get_sample_value("factorwatch_probe_budget_exhausted",
                                     {"candidate": candidate})


def test_candidate_over_its_budget_is_skipped_and_others_are_not() -> None:
    b, registry, _ = budget(per=0.01)
    b.spend("a/x", "a", 0.006)
    assert b.allow("a/x")
    b.spend("a/x", "a", 0.006)
    assert not b.allow("a/x") and b.allow("b/y")
    assert (exhausted(registry, "a/x"), exhausted(registry, "b/y")) == (1, 0)
    assert registry.get_sample_value("factorwatch_probe_spend_usd_total",
                                     {"candidate": "a/x", "provider": "a"}) == pytest.approx(0.012)


def test_total_budget_stops_every_candidate() -> None:
    b, _, _ = budget(total=0.02)
    b.spend("a/x", "a", 0.015)
    b.spend("b/y", "b", 0.006)
    assert not b.allow("a/x") and not b.allow("c/z")


def test_without_a_budget_everything_runs_and_spend_is_still_counted() -> None:
    b, registry, _ = budget()
    b.spend("a/x", "a", 100.0)
    b.spend("a/x", "a", None)  # no price: nothing known to count
    assert b.allow("a/x") and b.spent() == 100.0
    assert registry.get_sample_value("factorwatch_probe_spend_usd_total",
                                     {"candidate": "a/x", "provider": "a"}) == 100.0


def test_skip_is_logged_once_per_candidate_per_day(caplog: pytest.LogCaptureFixture) -> None:
    b, registry, clock = budget(per=0.01)
    b.spend("a/x", "a", 0.02)
    for _ in range(3):
        assert not b.allow("a/x")
    assert caplog.text.count("skipping probes of a/x") == 1
    assert "daily probe budget of 0.01 USD is spent" in caplog.text
    clock.now += timedelta(days=1)  # a new UTC day: a fresh budget
    assert b.allow("a/x") and exhausted(registry, "a/x") == 0
    b.spend("a/x", "a", 0.02)
    assert not b.allow("a/x")
    assert caplog.text.count("skipping probes of a/x") == 2


def test_seed_reads_todays_spend_from_the_store(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for cid, when, cost in [("a/x", now, 0.004), ("a/x", now, 0.003),
                                ("a/x", now - timedelta(days=2), 9.0), ("b/y", now, None)]:
            session.add(ProbeResultRow(candidate_id=cid, kind="latency", started_at=when,
                                       ok=True, cost_usd=cost))
    b, _, _ = budget(per=0.005)
    b._today = lambda: now.date()  # the store's day
    b.seed(engine)
    engine.dispose()
    assert b.spent("a/x") == pytest.approx(0.007) and b.spent("b/y") == 0.0
    assert not b.allow("a/x") and b.allow("b/y")


# --- in the daemon: _probe skips, counts, and a restart remembers ---------------------------

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
providers: {{p: {{}}}}
candidates:
  p/m:
    provider: p
    api: anthropic
    base_url: {base_url}
    model: m
    price: {{input_per_mtok: 1000, output_per_mtok: 1000}}
    probes: {{uptime: {{every: 1h, prompt: "Are you there, model?"}}}}
probe_budget: {{daily_usd_per_candidate: 0.05}}
"""


@pytest.fixture
def fleet() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.001, inter_token_seconds=0.0)})
    server.start_in_thread()
    yield server
    server.stop_thread()


async def run_probes(daemon: Daemon, n: int) -> None:
    daemon.prepare_store()
    daemon._http = httpx.AsyncClient()
    try:
        for _ in range(n):
            await daemon.probing.run(ProbePlan("p/m", "uptime", 3600.0))
        await daemon.writer.flush()
    finally:
        await daemon._http.aclose()
        daemon.engine.dispose()


async def test_daemon_stops_probing_at_the_budget_and_remembers_after_restart(
        fleet: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", base_url=fleet.url_for("anthropic")))
    settings = load_settings(path, environ={})
    # Each uptime probe: 5 input + 1 output tokens at 1000 USD/Mtok = 0.006 USD.
    first = Daemon(settings, environ={})
    await run_probes(first, 15)
    asked = len(fleet.records)
    assert asked == 9  # 8 x 0.006 < 0.05 <= 9 x 0.006
    assert fleet.records[0].content_tokens == 1  # uptime: one token
    engine = make_engine(settings.database)
    with Session(engine) as session:
        rows = list(session.exec(select(ProbeResultRow)))
    engine.dispose()
    assert len(rows) == asked
    assert {(r.input_tokens, round(r.cost_usd or 0, 9)) for r in rows} == {(5, 0.006)}
    assert first.registry.get_sample_value("factorwatch_probe_budget_exhausted",
                                           {"candidate": "p/m"}) == 1
    spent = first.registry.get_sample_value("factorwatch_probe_spend_usd_total",
                                            {"candidate": "p/m", "provider": "p"})
    assert spent is not None and spent >= 0.05
    again = Daemon(settings, environ={})
    await run_probes(again, 3)
    assert len(fleet.records) == asked  # the restarted daemon knows today's spend
    assert caplog.text.count("skipping probes of p/m") == 2  # once per daemon


async def test_an_adaptive_probe_slows_down_so_its_budget_lasts_the_day(
        fleet: SimServer, tmp_path: Path) -> None:
    config = tmp_path / "fw.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "fw.db", base_url=fleet.base_url).replace(
        "uptime: {every: 1h,", "uptime: {every: 1m, adaptive: {min_every: 10s, max_every: 1d},"))
    daemon = Daemon(load_settings(config, environ={}), environ={})
    daemon.probing.now = lambda: datetime(2026, 3, 2, 12, tzinfo=UTC)  # 12 h left today
    await run_probes(daemon, 1)
    cost = daemon.probing.budget.spent("p/m")
    assert 0 < cost < 0.05
    # What is left, 0.05 - cost, at `cost` a probe, lasts the 43,200 s left at this pace:
    assert daemon.probing.pacer.every("p/m", "uptime") == pytest.approx(
        43_200 * cost / (0.05 - cost))
    assert daemon.probing.pacer.every("p/m", "uptime") > 60  # its `every` without a budget
