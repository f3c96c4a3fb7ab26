"""Hourly rollups agree exactly with counting the raw rows, for any window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.rollup import apply_rollups, ceil_hour, floor_hour, window_totals
from service.store.writer import ResultWriter
from tests.clock import T0

CLASSES = [None, None, None, None, "timeout", "http_5xx", "auth", "rate_limited"]


def rows(seed: int, count: int) -> list[ProbeResultRow]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        error = rng.choice(CLASSES)
        kind = rng.choice(["latency", "uptime", "tools"])
        extra = {"tool_call_valid": rng.random() < 0.8} if kind == "tools" else {}
        out.append(ProbeResultRow(
            candidate_id=rng.choice(["a/x", "b/y"]), kind=kind, region="local",
            started_at=T0 + timedelta(seconds=rng.uniform(0, 3 * 86400)), ok=error is None,
            error_class=error, ttft_seconds=rng.uniform(0.05, 2) if error is None else None,
            extra=extra))
    return out


@pytest.fixture
async def store(database_url: str) -> tuple[object, list[ProbeResultRow]]:
    url = database_url
    upgrade(url)
    engine = make_engine(url)
    writer = ResultWriter(engine, batch_size=97, in_transaction=apply_rollups)
    data = rows(3, 2000)
    for row in data:
        writer.add(row)
    await writer.close()
    return engine, data


def brute(data: list[ProbeResultRow], since: datetime, until: datetime) -> dict[tuple, tuple]:
    out: dict[tuple, list[int]] = {}
    for r in data:
        if since <= r.started_at <= until:
            c = out.setdefault((r.candidate_id, r.kind, 0), [0, 0, 0, 0, 0, 0])
            if r.ok:
                c[0] += 1
            elif r.error_class == "auth":
                c[2] += 1
            elif r.error_class == "rate_limited":
                c[3] += 1
            else:
                c[1] += 1
            if r.ok and r.kind == "tools":
                c[4] += 1 if r.extra["tool_call_valid"] else 0
                c[5] += 1
    return {k: tuple(v) for k, v in out.items()}


@pytest.mark.parametrize("kinds", [
    pytest.param(("latency", "uptime", "tools"), id="with-judged-kind-reads-rows"),
    pytest.param(("latency", "uptime"), id="counts-only-counted-by-the-database"),
])
async def test_window_totals_match_raw_counts_for_random_windows(  # type: ignore[no-untyped-def]
        store, kinds: tuple[str, ...]) -> None:
    engine, data = store
    data = [r for r in data if r.kind in kinds]
    rng = random.Random(11)
    windows = [(T0 + timedelta(minutes=rng.uniform(0, 4000)),
                timedelta(minutes=rng.uniform(1, 3000))) for _ in range(25)]
    windows.append((T0 - timedelta(days=1), timedelta(days=5)))  # everything
    windows.append((T0 + timedelta(hours=5), timedelta(hours=3)))  # whole hours exactly
    with Session(engine) as session:
        for since, length in windows:
            until = since + length
            got = window_totals(session, ["a/x", "b/y"], since, until, kinds)
            counted = {k: (t.ok, t.failed, t.config_errors, t.throttled, t.judged_successes,
                           t.judged_trials) for k, t in got.items()
                       if (t.ok, t.failed, t.config_errors, t.throttled) != (0, 0, 0, 0)}
            assert counted == brute(data, since, until), (since, until)


async def test_window_sketch_quantile_close_to_exact(store) -> None:  # type: ignore[no-untyped-def]
    engine, data = store
    since, until = T0 + timedelta(minutes=17), T0 + timedelta(hours=40, minutes=3)
    with Session(engine) as session:
        got = window_totals(session, ["a/x"], since, until, ("latency",), sketches=True)
    exact = sorted(r.ttft_seconds for r in data if r.candidate_id == "a/x"
                   and r.kind == "latency" and r.ok and since <= r.started_at <= until)
    sketch = got[("a/x", "latency", 0)].ttft
    assert sketch.count == len(exact)
    p99 = sketch.quantile(0.99)
    assert p99 is not None
    assert p99 == pytest.approx(exact[int(0.99 * (len(exact) - 1))], rel=0.011)


def test_hour_rounding() -> None:
    t = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert floor_hour(t) == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert ceil_hour(t) == datetime(2026, 11, 1, 11, tzinfo=UTC)
    assert ceil_hour(floor_hour(t)) == floor_hour(t)


def test_migration_backfills_rollups_for_existing_results(database_url: str) -> None:
    from alembic import command

    from service.store.migrate import alembic_config

    url = database_url
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        command.upgrade(cfg, "0002")
        data = rows(5, 300)
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [{c: getattr(r, c) for c in ("candidate_id", "kind", "region",
                                                  "started_at", "ok", "error_class",
                                                  "ttft_seconds", "extra",
                                                  "output_tokens_estimated")}
                      for r in data])
    upgrade(url)
    with Session(engine) as session:
        got = window_totals(session, ["a/x", "b/y"], T0 + timedelta(hours=2),
                            T0 + timedelta(hours=50), ("latency", "uptime", "tools"))
    counted = {k: (t.ok, t.failed, t.config_errors, t.throttled, t.judged_successes,
                   t.judged_trials) for k, t in got.items()}
    assert counted == brute(data, T0 + timedelta(hours=2), T0 + timedelta(hours=50))
