"""Retention of raw probe results, on a real SQLite file and a real PostgreSQL.

Rows older than the cutoff go and newer ones stay; rollups stay; every published figure
over a window inside the retention is the same before and after; deletes go in batches; a
row no rollup accounts for is kept; only the leader runs the job; bad values are refused
with their location.
"""

from __future__ import annotations

import logging
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.alerts.condition_watch import counts_by_window
from service.config import ConfigError, Settings, check_config, load_settings
from service.daemon import Daemon
from service.outages.store import outage_summaries
from service.rankings.evaluation import candidate_facts, evaluate
from service.rankings.evidence import Windows, gather
from service.scoring.ranking import ranking_document
from service.sla.figures import ops_snapshot, sla_rows
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow, ProbeRollup
from service.store.retention import cutoff_for, prune_probe_results, run_retention
from service.store.rollup import apply_rollups, floor_hour, window_totals
from service.store.writer import ResultWriter

# Mid-hour, not tests.clock.T0: windows have raw edges.
NOW = datetime(2026, 11, 28, 12, 17, 30, tzinfo=UTC)
DAY = timedelta(days=1)
CANDIDATES = ("a/x", "b/y")
KINDS = ("latency", "uptime", "tools", "long_context")
CLASSES = [None] * 8 + ["timeout", "http_5xx", "auth", "rate_limited"]

CONFIG = """
builtin_catalog: false
database: {database}
providers:
  a: {{sla: {{availability: 0.99}}, facts: {{founded_year: 2015, hipaa_baa: true}}}}
  b: {{sla: {{availability: 0.999}}, facts: {{founded_year: 2020, hipaa_baa: true}}}}
candidates:
  a/x:
    provider: a
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: x
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
    probes: {{latency: {{every: 30m}}, uptime: {{every: 30m}}, tools: {{every: 1h}}}}
  b/y:
    provider: b
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: y
    price: {{input_per_mtok: 3, output_per_mtok: 1}}
    probes: {{latency: {{every: 30m}}, uptime: {{every: 30m}}, tools: {{every: 1h}}}}
workloads:
  chat:
    volume: {{requests_per_month: 100000, input_tokens: 500, output_tokens: 200}}
    latency_budget: {{ttft_p99: 1s}}
    weights: {{latency: 3, reliability: 3, tool_calling: 2, long_context: 1, cost: 1}}
  clinic:
    volume: {{requests_per_month: 1000, input_tokens: 500, output_tokens: 200}}
    weights: {{reliability: 5, latency: 1}}
    gates: {{min_availability: 0.9}}
"""


def generated(days: float, every: timedelta, seed: int = 7) -> list[ProbeResultRow]:
    """Results of every candidate and kind from NOW - days to NOW, in two regions, with an
    outage of a/x (consecutive failures) three days ago."""
    rng = random.Random(seed)
    out = []
    t = NOW - timedelta(days=days)
    outage = (NOW - 3 * DAY, NOW - 3 * DAY + timedelta(hours=2))
    while t <= NOW:
        for cid in CANDIDATES:
            for kind in KINDS:
                at = t + timedelta(seconds=rng.uniform(0, every.total_seconds()))
                if at > NOW:
                    continue
                error = rng.choice(CLASSES)
                if cid == "a/x" and outage[0] <= at < outage[1]:
                    error = "http_5xx"
                extra: dict[str, Any] = {}
                if kind == "tools" and error is None:
                    extra = {"tool_call_valid": rng.random() < 0.8}
                if kind == "long_context" and error is None:
                    extra = {"context_tokens": rng.choice([8000, 32000]), "facts_planted": 3,
                             "facts_recalled": rng.randint(0, 3)}
                out.append(ProbeResultRow(
                    candidate_id=cid, kind=kind, region=rng.choice(["eu", "us"]),
                    started_at=at, ok=error is None, error_class=error,
                    ttft_seconds=rng.uniform(0.05, 2) if error is None else None,
                    output_tokens_per_second=rng.uniform(20, 200) if error is None else None,
                    cost_usd=0.0001, extra=extra))
        t += every
    return out


async def write(engine: Engine, rows: list[ProbeResultRow]) -> None:
    """Through the daemon's writer: each batch with its rollups, in one transaction."""
    writer = ResultWriter(engine, batch_size=500, max_buffered=len(rows) + 500,
                          in_transaction=apply_rollups)
    for r in rows:
        writer.add(r)
    await writer.close(timeout=120)
    assert writer.written == len(rows)


def stored_times(engine: Engine) -> list[datetime]:
    with Session(engine) as s:
        return sorted(s.exec(select(ProbeResultRow.started_at)).scalars())  # type: ignore


def rollups(engine: Engine) -> list[tuple[Any, ...]]:
    t = ProbeRollup.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(t)))


# --- what goes, what stays -----------------------------------------------------------------


async def test_rows_before_the_cutoff_go_newer_stay_rollups_stay(engine: Engine) -> None:
    rows = generated(days=4, every=timedelta(minutes=20))
    await write(engine, rows)
    before = rollups(engine)
    cutoff = cutoff_for(NOW, 2 * 86400)
    assert cutoff == datetime(2026, 11, 26, 12, tzinfo=UTC)
    counts: list[int] = []
    report = prune_probe_results(engine, cutoff, batch_size=50, on_batch=counts.append)
    expected = sorted(r.started_at for r in rows if r.started_at >= cutoff)
    assert stored_times(engine) == expected
    assert report.deleted == len(rows) - len(expected) == sum(counts)
    assert report.finished and report.kept == 0
    assert report.batches == len(counts) > 1 and max(counts) <= 50
    assert rollups(engine) == before  # every hour's rollup is still there, unchanged
    again = prune_probe_results(engine, cutoff, batch_size=50)
    assert (again.deleted, again.batches) == (0, 0)


async def test_an_hour_with_more_rows_than_a_batch_is_deleted_in_several(
        engine: Engine) -> None:
    hour = datetime(2026, 11, 1, 10, tzinfo=UTC)
    rows = [ProbeResultRow(candidate_id="a/x", kind="uptime", ok=True,
                           started_at=hour + timedelta(seconds=3 * i)) for i in range(1200)]
    await write(engine, rows)
    statements: list[str] = []

    def count_deletes(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count_deletes)
    report = prune_probe_results(engine, hour + timedelta(hours=1), batch_size=100)
    event.remove(engine, "before_cursor_execute", count_deletes)
    assert report.deleted == 1200 and report.batches == 12 == len(statements)
    assert stored_times(engine) == []


async def test_rows_no_rollup_accounts_for_are_kept(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    old = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    rolled = [ProbeResultRow(candidate_id="a/x", kind="latency", ok=True, region="eu",
                             started_at=old + timedelta(minutes=i)) for i in range(10)]
    await write(engine, rolled)
    table = ProbeResultRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:  # written around the writer: no rollup counts these
        conn.execute(insert(table), [
            {"candidate_id": "a/x", "kind": "latency", "region": "eu", "ok": True,
             "started_at": old + timedelta(minutes=20), "extra": {}},  # same hour: 10 < 11
            {"candidate_id": "b/y", "kind": "latency", "region": "eu", "ok": True,
             "started_at": old + timedelta(hours=5), "extra": {}}])  # an hour with none
    with caplog.at_level(logging.INFO, logger="service.store.retention"):
        report = run_retention(engine, 30 * 86400, datetime(2026, 11, 28, tzinfo=UTC))
    assert (report.deleted, report.kept) == (0, 12)
    assert len(stored_times(engine)) == 12
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == ["retention: kept 12 probe results past the cutoff that no hourly rollup "
                       "accounts for (e.g. a/x latency eu 2026-10-01T08:00:00+00:00; b/y "
                       "latency eu 2026-10-01T13:00:00+00:00)"]


async def test_a_run_stops_at_its_time_limit_and_the_next_carries_on(engine: Engine) -> None:
    rows = generated(days=2, every=timedelta(minutes=30))
    await write(engine, rows)
    ticks = iter(range(10_000))
    cutoff = cutoff_for(NOW, 86400)
    first = prune_probe_results(engine, cutoff, batch_size=20, max_seconds=5,
                                clock=lambda: float(next(ticks)))
    assert not first.finished and first.deleted > 0
    second = prune_probe_results(engine, cutoff, batch_size=20)
    assert second.finished
    assert first.deleted + second.deleted == sum(r.started_at < cutoff for r in rows)
    assert stored_times(engine) == sorted(r.started_at for r in rows if r.started_at >= cutoff)


def test_the_cutoff_is_a_whole_hour(engine: Engine) -> None:
    with pytest.raises(ValueError, match="whole hour"):
        prune_probe_results(engine, NOW)


# --- nothing published changes -------------------------------------------------------------


def published(engine: Engine, settings: Settings, at: datetime) -> dict[str, Any]:
    """Everything scoring, the SLA table, /metrics, outages and alert conditions read."""
    ids = list(CANDIDATES)
    with Session(engine) as s:
        facts_windows = Windows(settings.scoring.window, settings.scoring.rate_window)
        return {
            "evidence": gather(s, candidate_facts(settings), at, facts_windows),
            "rankings": [ranking_document(r) for r in evaluate(s, settings, at)],
            "sla": sla_rows(s, settings, at),
            "ops": ops_snapshot(s, settings, at),
            "outages_7d": outage_summaries(s, {"a/x": "a", "b/y": "b"}, at - 7 * DAY, at),
            "conditions": counts_by_window(s, ids, [3600, 300, 21600, 1800, 30 * 86400], at),
            "totals_30d": {key: (t.ok, t.failed, t.throttled, t.config_errors,
                                 t.judged_successes, t.judged_trials, t.judged_runs,
                                 t.ttft.to_json(), t.speed.to_json())
                           for key, t in window_totals(s, ids, at - 30 * DAY, at, KINDS,
                                                       sketches=True).items()},
        }


async def test_published_figures_inside_the_retention_are_the_same_after_pruning(
        engine: Engine, database_url: str) -> None:
    settings = settings_for(database_url)
    assert settings.retention.probe_results == 45 * 86400  # the default
    rows = generated(days=48, every=timedelta(hours=1))
    await write(engine, rows)
    replay = NOW - 10 * DAY  # `score --at`: exact within 15 days of now (45d - 30d)
    before = {at: published(engine, settings, at) for at in (NOW, replay)}
    assert before[NOW]["evidence"][0].availability_windows["30d"].counted > 1000
    assert before[NOW]["outages_7d"]["a"].observed_minutes > 0

    report = run_retention(engine, settings.retention.probe_results, NOW, batch_size=500)
    cutoff = cutoff_for(NOW, 45 * 86400)
    assert report.deleted == sum(r.started_at < cutoff for r in rows) > 500
    assert min(stored_times(engine)) >= cutoff
    for at, figures in before.items():
        assert published(engine, settings, at) == figures, at


def settings_for(database_url: str, **extra: str) -> Settings:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "factorwatch.yaml"
        path.write_text(CONFIG.format(database=database_url))
        return load_settings(path, environ=extra)


# --- only the leader prunes, and says so ---------------------------------------------------


async def test_only_the_leader_runs_the_retention_job(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(database_url)
    leader = Daemon(settings.model_copy(update={"cluster": settings.cluster.model_copy(
        update={"replica_id": "r1"})}), environ={})
    other = Daemon(settings.model_copy(update={"cluster": settings.cluster.model_copy(
        update={"replica_id": "r2"})}), environ={})
    try:
        upgrade(database_url)  # PostgreSQL: `factorwatch db upgrade` comes first
        leader.prepare_store()
        leader.cluster.tick()
        other.cluster.tick()
        assert leader.cluster.is_leader and not other.cluster.is_leader
        old = [r for r in generated(days=50, every=timedelta(hours=6))
               if r.started_at < NOW - 46 * DAY]
        await write(leader.engine, old)
        jobs = {d: {j.name: j for j in d.periodic_jobs()} for d in (leader, other)}
        assert jobs[leader]["retention"].every == 600

        await jobs[other]["retention"].run()
        assert len(stored_times(leader.engine)) == len(old)
        assert other.registry.get_sample_value("factorwatch_store_pruned_results_total") == 0

        with caplog.at_level(logging.INFO, logger="service.store.retention"):
            await jobs[leader]["retention"].run()
        assert stored_times(leader.engine) == []
        assert leader.registry.get_sample_value(
            "factorwatch_store_pruned_results_total") == len(old)
        lines = [r.getMessage() for r in caplog.records if r.name == "service.store.retention"]
        assert len(lines) == 1 and lines[0].startswith(f"retention: deleted {len(old)} probe "
                                                       "results started before ")
    finally:
        leader.engine.dispose()
        other.engine.dispose()


def test_no_retention_job_when_results_are_kept_forever(sqlite_url: str) -> None:
    # Saved rankings too: while they are thinned the job runs (tests/test_ranking_retention.py).
    settings = settings_for(sqlite_url, FACTORWATCH_RETENTION__PROBE_RESULTS="0s",
                            FACTORWATCH_RETENTION__RANKINGS_FULL="0s",
                            FACTORWATCH_RETENTION__RANKINGS="0s")
    daemon = Daemon(settings, environ={})
    try:
        assert settings.retention.probe_results == 0
        assert "retention" not in {j.name for j in daemon.periodic_jobs()}
    finally:
        daemon.engine.dispose()


# --- config ----------------------------------------------------------------------------------


def errors(text: str, tmp_path: Path, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "factorwatch.yaml"
    path.write_text("builtin_catalog: false\n" + text)
    ok, lines = check_config(path, environ=environ or {})
    assert not ok
    return lines


@pytest.mark.parametrize(("text", "environ", "message"), [
    pytest.param("retention: {probe_results: 7d}\n", {},
                 "retention.probe_results: must be at least 30d: the reliability and SLA "
                 "windows read raw probe results that far back (or 0s to keep every result)",
                 id="shorter-than-the-30-day-windows"),
    pytest.param("retention: {probe_results: 40d}\nscoring: {rate_window: 60d}\n", {},
                 "retention.probe_results: 40d is shorter than scoring.rate_window (60d), which "
                 "reads raw probe results: give at least 60d, or 0s to keep every result",
                 id="shorter-than-a-configured-window"),
    pytest.param("alerts:\n  conditions:\n    burn_rates: [{long: 40d, short: 1d, factor: 2}]\n",
                 {"FACTORWATCH_RETENTION__PROBE_RESULTS": "35d"},
                 "FACTORWATCH_RETENTION__PROBE_RESULTS: 35d is shorter than "
                 "alerts.conditions.burn_rates.0.long (40d), which reads raw probe results: "
                 "give at least 40d, or 0s to keep every result",
                 id="set-by-the-environment-blames-the-variable"),
    pytest.param("retention: {probe_results: a while}\n", {},
                 "retention.probe_results: invalid duration 'a while'", id="not-a-duration"),
    pytest.param("retention: {probe_results: 45d, rollups: 1y}\n", {},
                 "retention.rollups: unknown key", id="unknown-key"),
])
def test_bad_retention_is_refused_with_its_location(text: str, environ: dict[str, str],
                                                    message: str, tmp_path: Path) -> None:
    assert errors(text, tmp_path, environ) == [message]


def test_retention_default_and_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "factorwatch.yaml"
    path.write_text("builtin_catalog: false\n")
    assert load_settings(path, environ={}).retention.probe_results == 45 * 86400
    assert load_settings(path, environ={"FACTORWATCH_RETENTION__PROBE_RESULTS": "90d"}
                         ).retention.probe_results == 90 * 86400
    # Left unset, it follows a longer window (plus the 15-day replay margin), never refused.
    path.write_text("builtin_catalog: false\nscoring: {rate_window: 60d}\n")
    assert load_settings(path, environ={}).retention.probe_results == 75 * 86400
    with pytest.raises(ConfigError):
        load_settings(path, environ={"FACTORWATCH_RETENTION__PROBE_RESULTS": "59d"})


def test_rollup_hours_match_the_cutoff() -> None:
    assert cutoff_for(NOW, 0) == floor_hour(NOW)
    assert cutoff_for(datetime(2026, 1, 31, 0, 0, tzinfo=UTC), 86400) == datetime(
        2026, 1, 30, tzinfo=UTC)
