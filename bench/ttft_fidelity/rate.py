"""The real daemon (Daemon, its Scheduler, store, writer, scoring, HTTP server) with N
configured candidates, each probed for latency every N/rate seconds, against the
simulated server in another process.

    python -m bench.ttft_fidelity.rate --origin URL --rate 100 --seconds 60 --out F

Records what each probe measured (from the rows the daemon writes), how late APScheduler
started each probe job against its scheduled time, and once a second the RSS of the
process and of its probe reading process together. With --stall-every, a thread stops the
probe reading process now and then (SIGSTOP, up to --stall-ms, then SIGCONT), as a machine
with no free CPU would hold it up (bench/timing_flag.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED, JobExecutionEvent

from service.config import Settings, load_settings
from service.daemon import Daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tag(i: int) -> str:
    """The tag in candidate i's prompt: its probes are told apart on the server by order."""
    return f"fwreq-r{i}-0"


def settings(origin: str, candidates: int, every: float, workdir: Path) -> Settings:
    cands = {f"sim/m{i:04d}": {
        "provider": "sim", "api": "openai", "base_url": origin + "/v1",
        "model": f"sim-{i:04d}", "price": {"input_per_mtok": 0.1, "output_per_mtok": 0.4},
        "probes": {"latency": {"every": f"{every:g}s", "timeout": "10s",
                               "prompt": f"{tag(i)} say something short"}}}
        for i in range(candidates)}
    workloads = {"chat": {
        "volume": {"requests_per_month": 100_000, "input_tokens": 500, "output_tokens": 200},
        "latency_budget": {"ttft_p99": "1s"}, "weights": {"latency": 3, "cost": 3}}}
    path = workdir / "rate.yaml"
    path.write_text(yaml.safe_dump({
        "builtin_catalog": False, "database": f"sqlite:///{workdir / 'fw.db'}",
        "listen": f"127.0.0.1:{free_port()}", "providers": {"sim": {}},
        "candidates": cands, "workloads": workloads}))
    return load_settings(path, environ={})


class Tee:
    """The daemon's loop-lag histogram, and a copy of what it observes while measuring."""

    def __init__(self, histogram: Any, measuring: Callable[[], bool]) -> None:
        self.histogram, self.measuring, self.seen = histogram, measuring, list[float]()

    def observe(self, amount: float) -> None:
        self.histogram.observe(amount)
        if self.measuring():
            self.seen.append(amount)


_running: list[Daemon] = []  # the daemon being measured: its reading process is ours too


def reader_pid() -> int | None:
    """The process reading the measured daemon's probe connections (probes/receiver.py)."""
    clients = _running[0].probe_clients if _running else None
    return clients.reading.pid if clients is not None else None


def rss_mb() -> float:
    """This process and the process reading its probe connections."""
    pid = reader_pid()
    return sum(_rss_mb(p) for p in ["self", *([str(pid)] if pid is not None else [])])


def _rss_mb(pid: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(origin: str, candidates: int, rate: float, seconds: float, warmup: float,
              workdir: Path) -> dict[str, Any]:
    daemon = Daemon(settings(origin, candidates, candidates / rate, workdir), environ={})
    loop = asyncio.get_running_loop()
    measuring_from = loop.time() + 1e9  # set once the daemon has started
    results: list[dict[str, Any]] = []
    lags: list[float] = []
    missed = 0
    _running[:] = [daemon]
    add = daemon.probing.write

    def capture(row: Any) -> None:
        if loop.time() >= measuring_from:
            extra = row.extra or {}
            results.append({"candidate": int(row.candidate_id[-4:]), "ok": row.ok,
                            "error": row.error_class, "ttft": row.ttft_seconds,
                            "itl_mean": (1 / row.output_tokens_per_second
                                         if row.output_tokens_per_second else None),
                            "itl_p99": extra.get("itl_p99_seconds"),
                            "flagged": bool(extra.get("timing_unreliable")),
                            "read_late": extra.get("read_late_seconds"),
                            "headers": extra.get("headers_seconds")})
        else:
            results.append({"candidate": int(row.candidate_id[-4:]), "warmup": True})
        add(row)

    def on_job(event: JobExecutionEvent) -> None:
        nonlocal missed
        if not str(event.job_id).startswith("probe:") or loop.time() < measuring_from:
            return
        if event.code == EVENT_JOB_MISSED:
            missed += 1
            return
        late = datetime.now(UTC) - min(event.scheduled_run_times)
        lags.append(late.total_seconds())

    daemon.probing.write = capture
    tee = Tee(daemon.loop_lag, lambda: loop.time() >= measuring_from)
    daemon.loop_lag = tee  # type: ignore[assignment]
    daemon.scheduler._aps.add_listener(on_job, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.started.wait(), 120)
    measuring_from = loop.time() + warmup
    rss: list[float] = []
    end = loop.time() + warmup + seconds
    while loop.time() < end:
        rss.append(rss_mb())
        await asyncio.sleep(1.0)
    measured_for = loop.time() - measuring_from
    stop.set()
    await task
    return {"rate": rate, "candidates": candidates, "results": results,
            "sched_lags": lags, "missed": missed, "rss_mb": rss,
            "measured_seconds": measured_for, "loop_lags": tee.seen}


def hold_up_reader(every: float, longest: float, stop: threading.Event) -> None:
    """Stop the probe reading process for up to `longest` seconds, about every `every`."""
    rng = random.Random(7)
    while not stop.wait(rng.expovariate(1 / every)):
        pid = reader_pid()
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError):  # it may just have been replaced
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(rng.uniform(0, longest))
            finally:
                os.kill(pid, signal.SIGCONT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", required=True)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--rate", type=float, required=True, help="probes per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stall-every", type=float, default=0,
                        help="seconds between hold-ups of the reading process (0: none)")
    parser.add_argument("--stall-ms", type=float, default=50,
                        help="the longest hold-up, ms (each is uniform up to it)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    stop = threading.Event()
    stalls = threading.Thread(target=hold_up_reader, daemon=True,
                              args=(args.stall_every, args.stall_ms / 1000, stop))
    if args.stall_every:
        stalls.start()
    try:
        with tempfile.TemporaryDirectory(prefix="fw-rate-") as tmp:
            out = asyncio.run(run(args.origin, args.candidates, args.rate, args.seconds,
                                  args.warmup, Path(tmp)))
    finally:
        stop.set()
        if stalls.is_alive():
            stalls.join()  # never leave the reading process stopped
    args.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
