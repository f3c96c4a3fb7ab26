"""Benchmark: one scoring cycle over 200 candidates x 5 workloads with 30 days of probes.

    python -m bench.scoring_cycle --backend sqlite      # a temporary SQLite file
    python -m bench.scoring_cycle --backend postgres    # a throwaway local PostgreSQL cluster

It stores 30 days of latency probe results at one per minute per candidate (8.64 million
rows by default) with their hourly rollups, then times `evaluate_and_save` — the daemon's
scoring pass: evidence for every window, 12 factors, ranking, flip state, saved history —
and reads the process RSS after each cycle. Target (issue 5): <= 2 s per cycle, RSS flat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from service.catalog import builtin_catalog
from service.config import Settings, load_settings
from service.rankings.evaluation import evaluate_and_save
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import PricePoint, ProbeResultRow, ProbeRollup
from service.store.rollup import Totals

END = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CHUNK = 20_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def config(candidates: int, db_url: str, workdir: Path) -> Settings:
    providers = {f"prov{i}": {"facts": {"founded_year": 2010 + i, "hipaa_baa": i % 3 == 0,
                                        "soc2_type2": True, "openai_compatible": True,
                                        "official_sdks": i % 6}} for i in range(10)}
    cands = {f"prov{i % 10}/model-{i:03d}": {
        "provider": f"prov{i % 10}", "api": "openai", "base_url": "http://127.0.0.1:9/v1",
        "model": f"model-{i:03d}", "price": {"input_per_mtok": 0.1 + i / 50,
                                             "output_per_mtok": 0.4 + i / 20},
        "probes": {"latency": {"every": "60s"}}} for i in range(candidates)}
    workloads = builtin_catalog()["workloads"]
    workloads["support-bot"] = {
        "volume": {"requests_per_month": 2_000_000, "input_tokens": 800, "output_tokens": 300,
                   "cached_input_share": 0.3},
        "latency_budget": {"ttft_p99": "1.2s"},
        "weights": {"latency": 4, "cost": 4, "reliability": 3, "stability": 1}}
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump({"builtin_catalog": False, "database": db_url,
                                    "providers": providers, "candidates": cands,
                                    "workloads": workloads}))
    return load_settings(path, environ={})


def hours(days: int) -> Iterator[datetime]:
    start = END - timedelta(days=days)
    for h in range(days * 24):
        yield start + timedelta(hours=h)


class _Row:
    """A latency probe result, light enough to make millions of (pydantic is too slow)."""

    __slots__ = ("candidate_id", "error_class", "extra", "kind", "ok",
                 "output_tokens_per_second", "region", "started_at", "ttft_seconds")

    def __init__(self, cid: str, at: datetime, ok: bool, ttft: float | None,
                 speed: float | None) -> None:
        self.candidate_id, self.kind, self.region, self.started_at = cid, "latency", "local", at
        self.ok, self.error_class, self.extra = ok, None if ok else "http_5xx", {}
        self.ttft_seconds, self.output_tokens_per_second = ttft, speed

    def values(self) -> dict[str, Any]:
        return {"candidate_id": self.candidate_id, "kind": "latency", "region": "local",
                "started_at": self.started_at, "ok": self.ok, "error_class": self.error_class,
                "ttft_seconds": self.ttft_seconds,
                "total_seconds": (self.ttft_seconds or 1.0) + 0.4,
                "output_tokens": 16 if self.ok else None, "output_tokens_estimated": False,
                "output_tokens_per_second": self.output_tokens_per_second, "extra": {}}


def generate(engine: Engine, settings: Settings, days: int, seed: int) -> int:
    """Insert the probe rows and their rollups, hour by hour; returns the row count."""
    rng = random.Random(seed)
    ids = sorted(settings.candidates)
    medians = {cid: rng.uniform(0.15, 1.2) for cid in ids}
    fail = {cid: rng.choice((0.0005, 0.002, 0.01, 0.05)) for cid in ids}
    rows: list[dict[str, Any]] = []
    rollups: list[dict[str, Any]] = []
    total = 0
    for hour in hours(days):
        for cid in ids:
            totals = Totals()
            for minute in range(60):
                ok = rng.random() >= fail[cid]
                ttft = rng.lognormvariate(0, 0.35) * medians[cid] if ok else None
                row = _Row(cid, hour + timedelta(minutes=minute, seconds=rng.random()), ok,
                           ttft, rng.uniform(40, 120) if ok else None)
                totals.add_row(row)
                rows.append(row.values())
            rollups.append({"candidate_id": cid, "kind": "latency", "region": "local",
                            "context_tokens": 0, "bucket_start": hour, "ok": totals.ok,
                            "failed": totals.failed, "throttled": 0, "config_errors": 0,
                            "judged_successes": 0, "judged_trials": 0, "judged_runs": 0,
                            "ttft": totals.ttft.to_json(), "speed": totals.speed.to_json()})
        if len(rows) >= CHUNK:
            total += _flush(engine, rows, rollups)
    total += _flush(engine, rows, rollups)
    _prices(engine, ids, days, rng)
    return total


def _flush(engine: Engine, rows: list[dict[str, Any]], rollups: list[dict[str, Any]]) -> int:
    count = len(rows)
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(ProbeResultRow.__table__), rows)  # type: ignore[attr-defined]
        if rollups:
            conn.execute(insert(ProbeRollup.__table__), rollups)  # type: ignore[attr-defined]
    rows.clear()
    rollups.clear()
    return count


def _prices(engine: Engine, ids: list[str], days: int, rng: random.Random) -> None:
    points = []
    for i, cid in enumerate(ids):
        base_in, base_out = 0.1 + i / 50, 0.4 + i / 20
        for k, age in enumerate((days * 10, days * 4, days)):  # a history with two changes
            factor = 1 + 0.3 * (2 - k) * rng.choice((-1, 1))
            points.append({"candidate_id": cid, "source": "static",
                           "effective_at": END - timedelta(days=age),
                           "input_per_mtok": base_in * factor, "output_per_mtok": base_out
                           * factor, "tiers": []})
    with engine.begin() as conn:
        conn.execute(insert(PricePoint.__table__), points)  # type: ignore[attr-defined]


def run(backend: str, candidates: int, days: int, cycles: int, seed: int,
        reuse: Path | None = None) -> dict[str, Any]:
    cluster = None
    workdir = reuse.parent if reuse else Path(tempfile.mkdtemp(prefix="factorwatch-bench-"))
    loaded = reuse is not None and reuse.exists()
    if backend == "postgres":
        from devtools.pgcluster import PostgresCluster

        cluster = PostgresCluster().start()
        url = cluster.url
    else:
        url = f"sqlite:///{reuse or workdir / 'bench.db'}"
    try:
        settings = config(candidates, url, workdir)
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        rows = 0 if loaded else generate(engine, settings, days, seed)
        load_seconds = time.perf_counter() - started
        timings, cpu, rss = [], [], []
        for i in range(cycles):
            t, c = time.perf_counter(), time.process_time()
            rankings, _ = evaluate_and_save(engine, settings, END + timedelta(minutes=i))
            timings.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # this process only: less noisy under load
            rss.append(rss_mb())
            assert len(rankings) == len(settings.workloads)
        engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()
    return {"backend": backend, "candidates": candidates, "workloads": len(settings.workloads),
            "days": days, "probe_rows": rows, "load_seconds": round(load_seconds, 1),
            "cycle_seconds": [round(x, 3) for x in timings],
            "cycle_cpu_seconds_this_process": [round(x, 3) for x in cpu],
            "load_average_1m": round(os.getloadavg()[0], 2),
            "rss_mb_after_each_cycle": [round(x, 1) for x in rss]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", type=Path, help="SQLite file: load it once, time it again")
    args = parser.parse_args()
    print(json.dumps(run(args.backend, args.candidates, args.days, args.cycles, args.seed,
                         args.reuse)))


if __name__ == "__main__":
    main()
