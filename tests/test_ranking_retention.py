"""Retention of saved rankings, on a real SQLite file and a real PostgreSQL.

Every pass is kept for `retention.rankings_full`, then the first of each UTC hour per
workload until `retention.rankings`, then none; the latest ranking of every workload, and
the rankings a top-choice event or the announced top choice refer to, always stay. The
history endpoints answer for what is left; deletes go in batches within a time limit; only
the leader prunes; bad values are refused with their location.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import service.retention as retention_module
from service.app import create_app
from service.config import Settings, check_config, load_settings
from service.daemon import Daemon
from service.rankings.evaluation import evaluate
from service.rankings.retention import (
    DEFAULT_BATCH,
    prune_rankings,
    ranking_cutoffs,
    run_ranking_retention,
)
from service.rankings.saved import ranking_from_rows, save_ranking
from service.rankings.top_choice import record_change
from service.scoring.flip import Change
from service.scoring.ranking import Ranking
from service.store.migrate import upgrade
from service.store.models import Evaluation, FactorScoreRow, RankingEntry, TopChoice
from service.store.rollup import floor_hour

# Mid-hour, not tests.clock.T0: the last hour is a partial one.
NOW = datetime(2026, 11, 28, 12, 17, 30, tzinfo=UTC)
DAY = timedelta(days=1)
FULL, KEEP = 2 * 86400.0, 4 * 86400.0  # every pass for 2 days, one an hour until 4 days
THIN_BEFORE = datetime(2026, 11, 26, 12, tzinfo=UTC)
DELETE_BEFORE = datetime(2026, 11, 24, 12, tzinfo=UTC)

CONFIG = """
builtin_catalog: false
database: {database}
providers:
  a: {{sla: {{availability: 0.99}}, facts: {{founded_year: 2015, hipaa_baa: true}}}}
  b: {{facts: {{founded_year: 2020}}}}
candidates:
  a/x:
    provider: a
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: x
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
    probes: {{latency: {{every: 30m}}}}
  b/y:
    provider: b
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: y
    price: {{input_per_mtok: 3, output_per_mtok: 1}}
    probes: {{latency: {{every: 30m}}}}
workloads:
  chat:
    volume: {{requests_per_month: 100000, input_tokens: 500, output_tokens: 200}}
    weights: {{latency: 3, reliability: 3, cost: 1, stability: 1}}
  clinic:
    volume: {{requests_per_month: 1000, input_tokens: 500, output_tokens: 200}}
    weights: {{reliability: 5, compliance: 2}}
"""


def settings_for(database_url: str, **environ: str) -> Settings:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "factorwatch.yaml"
        path.write_text(CONFIG.format(database=database_url))
        return load_settings(path, environ=environ)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


def pass_times(days: float, every: timedelta, end: datetime = NOW) -> list[datetime]:
    """Scoring passes from `end - days` to `end`, a few seconds late each (like a scheduler)."""
    out, t, n = [], end - timedelta(days=days), 0
    while t <= end:
        out.append(t + timedelta(seconds=n % 7, microseconds=n * 37 % 1000))
        t += every
        n += 1
    return [at for at in out if at <= end]


def base_rankings(engine: Engine, settings: Settings) -> dict[str, Ranking]:
    with Session(engine) as session:
        return {r.workload: r for r in evaluate(session, settings, NOW)}


def save_passes(engine: Engine, rankings: dict[str, Ranking],
                times: dict[str, list[datetime]]) -> None:
    """Save each workload's ranking at each of its times, oldest first (ids follow time)."""
    every = sorted((at, workload) for workload, ats in times.items() for at in ats)
    with Session(engine) as session, session.begin():
        for at, workload in every:
            save_ranking(session, replace(rankings[workload], workload=workload,
                                          evaluated_at=at))


def flip(engine: Engine, workload: str, at: datetime) -> None:
    """What evaluate_and_save saves with a ranking that changes the top choice."""
    with Session(engine) as session, session.begin():
        record_change(session, Change(workload, "b/y", "a/x", 3.0, 3.5, "a/x led",
                                      immediate=False), at)


def announce(engine: Engine, workload: str, since: datetime) -> None:
    with Session(engine) as session, session.begin():
        session.add(TopChoice(workload=workload, candidate="a/x", since=since, updated_at=NOW))


def stored(engine: Engine) -> dict[str, list[datetime]]:
    t = Evaluation.__table__  # type: ignore[attr-defined]
    out: dict[str, list[datetime]] = {}
    with engine.connect() as conn:
        for workload, at in conn.execute(select(t.c.workload, t.c.evaluated_at)
                                         .order_by(t.c.evaluated_at)):
            out.setdefault(workload, []).append(at)
    return out


def orphans(engine: Engine) -> int:
    """Entries and factor scores whose evaluation is gone."""
    ids = select(Evaluation.__table__.c.id)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(child).where(
            child.c.evaluation_id.not_in(ids))).scalar_one()
            for child in (FactorScoreRow.__table__,  # type: ignore[attr-defined]
                          RankingEntry.__table__))  # type: ignore[attr-defined]


def batches(rankings: int) -> int:
    return -(-rankings // DEFAULT_BATCH)


def expected_survivors(times: dict[str, list[datetime]], referenced: set[tuple[str, datetime]]
                       ) -> dict[str, list[datetime]]:
    """What the rule keeps, worked out independently of the code under test."""
    out: dict[str, list[datetime]] = {}
    for workload, ats in times.items():
        first = {}
        for at in sorted(ats):
            first.setdefault(floor_hour(at), at)
        out[workload] = [at for at in sorted(ats) if at >= THIN_BEFORE or at == max(ats)
                         or (workload, at) in referenced
                         or (at >= DELETE_BEFORE and first[floor_hour(at)] == at)]
    return out


# --- what goes, what stays -----------------------------------------------------------------


def test_cutoffs_are_whole_hours_and_zero_turns_a_part_off() -> None:
    assert ranking_cutoffs(NOW, FULL, KEEP) == (THIN_BEFORE, DELETE_BEFORE)
    assert ranking_cutoffs(NOW, 0, KEEP) == (DELETE_BEFORE, DELETE_BEFORE)  # no thinning
    assert ranking_cutoffs(NOW, FULL, 0) == (THIN_BEFORE, None)  # thinned, kept for ever
    assert ranking_cutoffs(NOW, 0, 0) == (None, None)


def test_thinning_keeps_the_first_of_each_hour_and_what_is_referred_to(
        engine: Engine, settings: Settings) -> None:
    times = {w: pass_times(5, timedelta(minutes=10)) for w in ("chat", "clinic")}
    times["retired"] = pass_times(0.1, timedelta(minutes=10), end=NOW - 200 * DAY)
    bases = base_rankings(engine, settings)
    save_passes(engine, {**bases, "retired": bases["chat"]}, times)
    # Not the first of their hour, or past the deletion: each would go but for the reference.
    flipped_thin = next(t for t in times["chat"] if t.minute >= 40 and DELETE_BEFORE < t
                        < THIN_BEFORE)
    flipped_old = next(t for t in times["chat"] if t.minute >= 20 and t < DELETE_BEFORE)
    announced = next(t for t in times["clinic"] if t.minute >= 30 and t < DELETE_BEFORE)
    flip(engine, "chat", flipped_thin)
    flip(engine, "chat", flipped_old)
    announce(engine, "clinic", announced)
    referenced = {("chat", flipped_thin), ("chat", flipped_old), ("clinic", announced)}
    expected = expected_survivors(times, referenced)
    with Session(engine) as session:
        kept_before = {e.id: ranking_from_rows(session, e) for e in session.exec(
            select(Evaluation).where(Evaluation.evaluated_at >= DELETE_BEFORE,
                                     Evaluation.workload == "chat").limit(50))}

    report = prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE)

    assert stored(engine) == expected
    assert report.finished and report.protected == len(referenced) + 1  # + retired's latest
    total = sum(map(len, times.values()))
    assert report.thinned + report.expired == total - sum(map(len, expected.values()))
    # Exactly one an hour per workload between the cutoffs, besides what is referred to.
    for workload in ("chat", "clinic"):
        hours = [floor_hour(t) for t in stored(engine)[workload]
                 if DELETE_BEFORE <= t < THIN_BEFORE and (workload, t) not in referenced]
        assert len(hours) == len(set(hours)) == 48
    assert stored(engine)["retired"] == [max(times["retired"])]  # its latest, 200 days old
    assert orphans(engine) == 0
    with Session(engine) as session:  # what is kept is unchanged, entries and evidence
        for eid, doc in kept_before.items():
            row = session.get(Evaluation, eid)
            if row is not None:
                assert ranking_from_rows(session, row) == doc
    again = prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE)
    assert (again.thinned, again.expired, again.batches) == (0, 0, 0)


def test_thinning_only_and_deleting_only(engine: Engine, settings: Settings) -> None:
    times = {"chat": pass_times(5, timedelta(minutes=15))}
    save_passes(engine, base_rankings(engine, settings), times)
    thin_only = prune_rankings(engine, THIN_BEFORE, None)  # retention.rankings: 0s
    assert thin_only.expired == 0 and thin_only.thinned > 0
    first: dict[datetime, datetime] = {}
    for t in times["chat"]:
        first.setdefault(floor_hour(t), t)
    older = [t for t in stored(engine)["chat"] if t < THIN_BEFORE]
    assert older == sorted(t for t in first.values() if t < THIN_BEFORE)
    assert len(older) == 3 * 24  # 2026-11-23 12:00 to 11-26 12:00
    expire_only = prune_rankings(engine, DELETE_BEFORE, DELETE_BEFORE)  # rankings_full: 0s
    assert expire_only.thinned == 0
    assert min(stored(engine)["chat"]) >= DELETE_BEFORE


def test_the_latest_ranking_survives_even_when_everything_is_old(
        engine: Engine, settings: Settings) -> None:
    times = {"chat": pass_times(1, timedelta(minutes=5), end=NOW - 30 * DAY)}
    save_passes(engine, base_rankings(engine, settings), times)
    report = run_ranking_retention(engine, FULL, KEEP, NOW)
    assert stored(engine) == {"chat": [max(times["chat"])]}
    assert report.expired == len(times["chat"]) - 1 and report.protected == 1


# --- the API still answers -----------------------------------------------------------------


def test_history_endpoints_answer_for_every_ranking_left(engine: Engine,
                                                         settings: Settings) -> None:
    times = {w: pass_times(5, timedelta(minutes=20)) for w in ("chat", "clinic")}
    save_passes(engine, base_rankings(engine, settings), times)
    flipped = next(t for t in times["chat"] if t.minute >= 40 and t < DELETE_BEFORE)
    flip(engine, "chat", flipped)
    prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE)
    app = create_app(version="test", engine=engine, registry=CollectorRegistry(),
                     readiness=lambda: {"database": True}, settings=settings)
    with TestClient(app) as client:
        items, cursor = [], None
        while True:
            body = client.get("/api/v1/workloads/chat/history",
                              params={"limit": 50, **({"cursor": cursor} if cursor else {})}
                              ).json()
            items += body["items"]
            if (cursor := body["next_cursor"]) is None:
                break
        at = [datetime.fromisoformat(i["evaluated_at"]) for i in items]
        assert at == sorted(stored(engine)["chat"], reverse=True)
        assert flipped in at
        assert all(len(i["ranking"]) == 2 for i in items)
        for item in items:
            whole = client.get(f"/api/v1/evaluations/{item['evaluation_id']}")
            assert whole.status_code == 200
            assert [e["candidate"] for e in whole.json()["ranking"]] == [
                e["candidate"] for e in item["ranking"]]
            assert set(whole.json()["ranking"][0]["factors"]) >= {"latency", "reliability"}
        latest = client.get("/api/v1/workloads/chat/ranking").json()
        assert datetime.fromisoformat(latest["evaluated_at"]) == max(times["chat"])
        explained = client.get("/api/v1/candidates/a/x/explain", params={"workload": "chat"})
        assert explained.status_code == 200 and explained.json()["factors"]
        assert client.get("/api/v1/candidates/a/x").json()["rankings"]


# --- batches and the time limit ------------------------------------------------------------


def test_deletes_go_in_batches_each_with_its_entries_and_scores(
        engine: Engine, settings: Settings) -> None:
    times = {"chat": pass_times(5, timedelta(minutes=30))}
    save_passes(engine, base_rankings(engine, settings), times)
    statements: list[str] = []

    def count_deletes(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM EVALUATION"):
            statements.append(statement)

    counts: list[tuple[str, int]] = []
    event.listen(engine, "before_cursor_execute", count_deletes)
    report = prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE, batch_size=7,
                            on_batch=lambda reason, n: counts.append((reason, n)))
    event.remove(engine, "before_cursor_execute", count_deletes)
    assert report.batches == len(statements) == len(counts) > 2
    assert max(n for _, n in counts) == 7
    assert sum(n for reason, n in counts if reason == "expired") == report.expired == sum(
        t < DELETE_BEFORE for t in times["chat"])
    assert sum(n for reason, n in counts if reason == "thinned") == report.thinned == 48
    assert orphans(engine) == 0


def test_a_run_stops_at_its_time_limit_and_the_next_carries_on(
        engine: Engine, settings: Settings) -> None:
    times = {"chat": pass_times(5, timedelta(minutes=10))}
    save_passes(engine, base_rankings(engine, settings), times)
    ticks = iter(range(10_000))
    first = prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE, batch_size=5, max_seconds=6,
                           clock=lambda: float(next(ticks)))
    assert not first.finished and 0 < first.thinned + first.expired <= 25
    second = prune_rankings(engine, THIN_BEFORE, DELETE_BEFORE, batch_size=5)
    assert second.finished
    assert stored(engine) == expected_survivors(times, set())


def test_a_cutoff_must_be_a_whole_hour_and_thinning_comes_first(engine: Engine) -> None:
    with pytest.raises(ValueError, match="whole hour"):
        prune_rankings(engine, NOW, None)
    with pytest.raises(ValueError, match="thinned before"):
        prune_rankings(engine, DELETE_BEFORE, THIN_BEFORE)


# --- only the leader prunes, and says so ---------------------------------------------------


async def test_only_the_leader_prunes_rankings(database_url: str, settings: Settings,
                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(database_url, FACTORWATCH_RETENTION__RANKINGS_FULL="2d",
                            FACTORWATCH_RETENTION__RANKINGS="4d")
    leader, other = (Daemon(settings.model_copy(update={"cluster": settings.cluster.model_copy(
        update={"replica_id": rid})}), environ={}) for rid in ("r1", "r2"))
    try:
        upgrade(database_url)
        leader.prepare_store()
        leader.cluster.tick()
        other.cluster.tick()
        assert leader.cluster.is_leader and not other.cluster.is_leader
        now = datetime.now(UTC)
        times = {"chat": pass_times(5, timedelta(minutes=30), end=now)}
        save_passes(leader.engine, base_rankings(leader.engine, settings), times)
        jobs = {d: {j.name: j for j in d.periodic_jobs()} for d in (leader, other)}

        await jobs[other]["retention"].run()
        assert stored(leader.engine) == times
        assert other.registry.get_sample_value("factorwatch_store_pruned_rankings_total",
                                               {"reason": "thinned"}) == 0

        with caplog.at_level(logging.INFO, logger="service.rankings.retention"):
            await jobs[leader]["retention"].run()
        thin_before, delete_before = ranking_cutoffs(now, 2 * 86400, 4 * 86400)
        assert min(stored(leader.engine)["chat"]) >= delete_before  # type: ignore[operator]
        expired = sum(t < delete_before for t in times["chat"])  # type: ignore[operator]
        thinned = len(times["chat"]) - expired - len(stored(leader.engine)["chat"])
        assert (expired, thinned) != (0, 0)
        for reason, n in (("expired", expired), ("thinned", thinned)):
            assert leader.registry.get_sample_value("factorwatch_store_pruned_rankings_total",
                                                    {"reason": reason}) == n
        lines = [r.getMessage() for r in caplog.records
                 if r.name == "service.rankings.retention"]
        assert lines == [f"retention: deleted {expired + thinned} saved rankings ({thinned} "
                         f"thinned to the first of each hour before {thin_before.isoformat()}, "  # type: ignore[union-attr]
                         f"{expired} evaluated before {delete_before.isoformat()}) in "  # type: ignore[union-attr]
                         f"{batches(expired) + batches(thinned)} batches "
                         f"({lines[0].rsplit('(', 1)[1]}"]
    finally:
        leader.engine.dispose()
        other.engine.dispose()


def test_the_job_shares_one_time_limit(sqlite_url: str, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    limits: dict[str, float] = {}
    monkeypatch.setattr(retention_module, "run_retention",
                        lambda *a, max_seconds, **k: limits.setdefault("probe", max_seconds))
    monkeypatch.setattr(retention_module, "run_ranking_retention",
                        lambda *a, max_seconds, **k: limits.setdefault("rankings", max_seconds))
    daemon = Daemon(settings_for(sqlite_url), environ={})
    try:
        daemon.retention.run_now(NOW)
    finally:
        daemon.engine.dispose()
    assert limits["probe"] == 15
    assert 29 < limits["rankings"] <= 30  # what the probe results left (here: all of it)


@pytest.mark.parametrize(("environ", "job"), [
    pytest.param({"FACTORWATCH_RETENTION__PROBE_RESULTS": "0s"}, True, id="rankings-only"),
    pytest.param({"FACTORWATCH_RETENTION__PROBE_RESULTS": "0s",
                  "FACTORWATCH_RETENTION__RANKINGS_FULL": "0s",
                  "FACTORWATCH_RETENTION__RANKINGS": "0s"}, False, id="keep-everything"),
])
def test_the_job_runs_while_anything_is_pruned(sqlite_url: str, environ: dict[str, str],
                                               job: bool) -> None:
    daemon = Daemon(settings_for(sqlite_url, **environ), environ={})
    try:
        assert ("retention" in {j.name for j in daemon.periodic_jobs()}) is job
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
    pytest.param("retention: {rankings_full: 30d, rankings: 7d}\n", {},
                 "retention.rankings_full: 30d is longer than retention.rankings (7d), past "
                 "which saved rankings are deleted: give at most 7d, or 0s to keep every "
                 "ranking until then", id="kept-whole-longer-than-kept"),
    pytest.param("retention: {rankings: 7d}\n", {"FACTORWATCH_RETENTION__RANKINGS_FULL": "10d"},
                 "FACTORWATCH_RETENTION__RANKINGS_FULL: 10d is longer than retention.rankings "
                 "(7d), past which saved rankings are deleted: give at most 7d, or 0s to keep "
                 "every ranking until then", id="set-by-the-environment-blames-the-variable"),
    pytest.param("retention: {rankings: a quarter}\n", {},
                 "retention.rankings: invalid duration 'a quarter'", id="not-a-duration"),
    pytest.param("retention: {rankings_full: -1}\n", {},
                 "retention.rankings_full: invalid duration -1", id="negative"),
    pytest.param("retention: {ranking: 90d}\n", {},
                 "retention.ranking: unknown key", id="unknown-key"),
])
def test_bad_ranking_retention_is_refused_with_its_location(
        text: str, environ: dict[str, str], message: str, tmp_path: Path) -> None:
    assert errors(text, tmp_path, environ) == [message]


def test_defaults_environment_and_a_short_retention_alone(tmp_path: Path) -> None:
    path = tmp_path / "factorwatch.yaml"
    path.write_text("builtin_catalog: false\n")
    keep = load_settings(path, environ={}).retention
    assert (keep.rankings_full, keep.rankings) == (3 * 86400, 90 * 86400)
    keep = load_settings(path, environ={"FACTORWATCH_RETENTION__RANKINGS_FULL": "12h",
                                        "FACTORWATCH_RETENTION__RANKINGS": "0s"}).retention
    assert (keep.rankings_full, keep.rankings) == (12 * 3600, 0)
    # `rankings` shorter than the default full window, alone: every pass until deleted.
    path.write_text("builtin_catalog: false\nretention: {rankings: 2d}\n")
    keep = load_settings(path, environ={}).retention
    assert (keep.rankings_full, keep.rankings) == (2 * 86400, 2 * 86400)
    path.write_text("builtin_catalog: false\nretention: {rankings_full: 0s, rankings: 7d}\n")
    keep = load_settings(path, environ={}).retention
    assert (keep.rankings_full, keep.rankings) == (0, 7 * 86400)
