"""Availability per region beside the overall figure: replicas in two regions, one store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from service.scoring.evidence import AvailabilityStats
from service.sla.figures import OpsSnapshot, availability_by_region
from service.sla.metrics import sla_families
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.queries import availability_by_window
from service.store.rollup import apply_rollups

# Its own instant, not tests.clock.T0: half past, so the hour's window has raw edges beside
# the rollups.
NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def test_each_region_reports_its_own_availability_and_the_overall_combines_them(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    engine = make_engine(url)
    rows = []
    for i in range(40):  # the last 40 minutes: eu always answers, us fails every other probe
        at = NOW - timedelta(minutes=40 - i)
        rows.append(ProbeResultRow(candidate_id="a/x", kind="latency", region="eu",
                                   started_at=at, ok=True, ttft_seconds=0.2))
        rows.append(ProbeResultRow(candidate_id="a/x", kind="latency", region="us",
                                   started_at=at, ok=i % 2 == 0, ttft_seconds=0.3,
                                   error_class=None if i % 2 == 0 else "http_5xx"))
    with engine.begin() as conn:
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)
    with Session(engine) as session:
        regional = availability_by_region(session, ["a/x"], NOW)
        overall = availability_by_window(session, ["a/x"], NOW - timedelta(hours=1), NOW)
    assert regional[("a/x", "eu", "1h")] == AvailabilityStats(40, 0)
    assert regional[("a/x", "us", "1h")] == AvailabilityStats(20, 20)
    assert overall["a/x"] == AvailabilityStats(60, 20)

    snapshot = OpsSnapshot(sla=[], incidents_open={}, prices={}, providers={"a/x": "a"},
                           by_region=regional)
    family = next(f for f in sla_families(snapshot)
                  if f.name == "factorwatch_availability_region_ratio")
    values = {(s.labels["region"], s.labels["window"]): s.value for s in family.samples}
    assert values[("eu", "1h")] == 1.0 and values[("us", "1h")] == pytest.approx(0.5)
