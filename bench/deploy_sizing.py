"""Measurements behind the sizing table in docs/deploy.md.

    python -m bench.deploy_sizing storage [--candidates 20 --days 7]
    python -m bench.deploy_sizing daemon [--candidates 10 100 300 --seconds 150]
    python -m bench.deploy_sizing demo [--seconds 90]

storage: D days of latency results at one a minute (the built-in catalog's schedule) for C
  candidates, with their hourly rollups and price history, written by bench/scoring_cycle's
  generator into SQLite and into a throwaway PostgreSQL; prints the growth of each database
  per candidate-day (SQLite: the file after a WAL checkpoint; PostgreSQL:
  pg_database_size, indexes and TOAST included).
daemon: the real `factorwatch run` (SQLite) against one simulated model per candidate on
  127.0.0.1, latency probes every 60 s and scoring every 60 s as by default; samples the
  process's RSS and CPU time from /proc every second and prints the peak RSS and mean CPU.
demo: the same samples for `factorwatch demo` (6 candidates, every probe kind, demo speed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from bench.scoring_cycle import config, generate
from service.catalog import builtin_catalog
from service.store.db import make_engine
from service.store.migrate import upgrade

TICKS = os.sysconf("SC_CLK_TCK")


# --- storage ---------------------------------------------------------------------------------

def _size(engine: Any, url: str) -> int:
    if url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Path(engine.url.database).stat().st_size
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def storage(candidates: int, days: int) -> list[dict[str, Any]]:
    from devtools.pgcluster import PostgresCluster

    out = []
    workdir = Path(tempfile.mkdtemp(prefix="factorwatch-sizing-"))
    cluster = PostgresCluster().start()
    try:
        for backend, url in (("sqlite", f"sqlite:///{workdir / 'size.db'}"),
                             ("postgresql", cluster.url)):
            settings = config(candidates, url, workdir)
            upgrade(url)
            engine = make_engine(url)
            empty = _size(engine, url)
            rows = generate(engine, settings, days, seed=1)
            if backend == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("VACUUM ANALYZE"))  # as autovacuum would, before measuring
            grown = _size(engine, url) - empty
            engine.dispose()
            out.append({"backend": backend, "candidates": candidates, "days": days,
                        "probe_rows": rows, "bytes": grown,
                        "bytes_per_candidate_day": round(grown / (candidates * days)),
                        "bytes_per_probe_row": round(grown / rows)})
    finally:
        cluster.stop()
    return out


# --- the daemon's footprint ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sample(pid: int) -> tuple[float, float]:
    """(RSS in MiB, CPU seconds so far) of a live process and its children (the process
    reading its probe connections, probes/reader_process.py), together."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    rss = cpu = 0.0
    for each in (pid, *map(int, children)):
        try:
            status = Path(f"/proc/{each}/status").read_text()
            stat = Path(f"/proc/{each}/stat").read_text()
        except FileNotFoundError:
            continue  # a child that has just exited
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
        fields = stat.rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / TICKS
    return rss, cpu


def _watch(cmd: list[str], cwd: Path, seconds: float) -> dict[str, Any]:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    rss: list[float] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[1]} exited: {proc.communicate()[1][-2000:]}")
            mib, cpu = _sample(proc.pid)
            rss.append(mib)
            time.sleep(1.0)
        _, cpu = _sample(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"seconds": seconds, "rss_mib_peak": round(max(rss), 1),
            "rss_mib_last": round(rss[-1], 1),
            "cpu_percent_mean": round(100 * cpu / seconds, 1),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def daemon(candidates: int, seconds: float) -> dict[str, Any]:
    from service.sim.behaviour import SimModel
    from service.sim.server import SimServer

    models = {f"m{i:04d}": SimModel(ttft_seconds=0.1 + (i % 7) / 20,
                                    inter_token_seconds=0.01) for i in range(candidates)}
    server = SimServer(models, seed=1)
    base_url = server.start_in_thread()
    workdir = Path(tempfile.mkdtemp(prefix="factorwatch-sizing-"))
    try:
        cfg = {"builtin_catalog": False, "database": f"sqlite:///{workdir / 'fw.db'}",
               "listen": f"127.0.0.1:{_free_port()}",
               "providers": {f"p{i}": {"facts": {"founded_year": 2015}} for i in range(10)},
               "candidates": {f"p{i % 10}/m{i:04d}": {
                   "provider": f"p{i % 10}", "api": "openai", "base_url": base_url,
                   "model": f"m{i:04d}", "price": {"input_per_mtok": 0.5,
                                                   "output_per_mtok": 1.5},
                   "probes": {"latency": {"every": "60s"}}} for i in range(candidates)},
               "workloads": builtin_catalog()["workloads"]}
        (workdir / "fw.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [str(Path(sys.executable).parent / "factorwatch"), "run", "--config", "fw.yaml"]
        return {"command": "run", "candidates": candidates, **_watch(cmd, workdir, seconds)}
    finally:
        server.stop_thread()


def demo(seconds: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="factorwatch-sizing-"))
    cmd = [str(Path(sys.executable).parent / "factorwatch"), "demo",
           "--listen", f"127.0.0.1:{_free_port()}"]
    return {"command": "demo", "candidates": 6, **_watch(cmd, workdir, seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("storage")
    s.add_argument("--candidates", type=int, default=20)
    s.add_argument("--days", type=int, default=7)
    d = sub.add_parser("daemon")
    d.add_argument("--candidates", type=int, nargs="+", default=[10, 100, 300])
    d.add_argument("--seconds", type=float, default=150)
    m = sub.add_parser("demo")
    m.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    if args.what == "storage":
        results: list[dict[str, Any]] = storage(args.candidates, args.days)
    elif args.what == "daemon":
        results = [daemon(n, args.seconds) for n in args.candidates]
    else:
        results = [demo(args.seconds)]
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
