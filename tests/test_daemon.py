"""End to end: the daemon against simulated providers on 127.0.0.1, a real SQLite file.

Probe -> store -> scoring -> ranking -> /metrics and the JSON API, as a user runs it, and a
SIGTERM that stops the real `factorwatch run` process cleanly.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.config import load_settings
from service.daemon import Daemon
from service.sim.openai_server import SimModel, SimServer

pytestmark = pytest.mark.integration

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
listen: 127.0.0.1:{port}
scoring: {{every: 1s, window: 10m}}
providers:
  fastco:
    sla: {{availability: 0.999}}
    facts: {{hipaa_baa: false, founded_year: 2020, openai_compatible: true}}
  badco: {{}}
  slowco:
    facts: {{hipaa_baa: true, founded_year: 2010, openai_compatible: true}}
candidates:
  fastco/quick:
    provider: fastco
    api: openai
    base_url: {base_url}
    model: quick
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  slowco/careful:
    provider: slowco
    api: openai
    base_url: {base_url}
    model: careful
    price: {{input_per_mtok: 3, output_per_mtok: 15}}
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  slowco/ponder:
    provider: slowco
    api: openai
    base_url: {base_url}
    model: ponder
    price: {{input_per_mtok: 3, output_per_mtok: 15}}
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  badco/garbage:
    provider: badco
    api: openai
    base_url: {base_url}
    model: garbage
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  badco/hang:
    provider: badco
    api: openai
    base_url: {base_url}
    model: hang
    probes: {{latency: {{every: 1s, timeout: 1s}}}}
  badco/locked:
    provider: badco
    api: openai
    base_url: {base_url}
    model: locked
    api_key_env: SIM_KEY
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
workloads:
  chat:
    volume: {{requests_per_month: 100000, input_tokens: 500, output_tokens: 200}}
    latency_budget: {{ttft_p99: 1s}}
    weights: {{latency: 3, cost: 3, reliability: 2}}
  clinic:
    volume: {{requests_per_month: 10000, input_tokens: 500, output_tokens: 200}}
    weights: {{latency: 3, cost: 3}}
    gates: {{require: [hipaa_baa]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"quick": SimModel(ttft_seconds=0.05, inter_token_seconds=0.005),
                        "careful": SimModel(ttft_seconds=0.4, inter_token_seconds=0.01),
                        # Slower than its probe interval: almost always in flight.
                        "ponder": SimModel(ttft_seconds=1.5, inter_token_seconds=0.01),
                        "garbage": SimModel(fault="invalid_json"),
                        "hang": SimModel(fault="trickle_forever", inter_token_seconds=0.05),
                        "locked": SimModel(fault="status_401")},
                       seed=3)
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def config_file(tmp_path: Path, sim: SimServer) -> Path:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(),
                                  base_url=sim.base_url))
    return path


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


async def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


SECRET = "sk-test-DO-NOT-LEAK-4242"


async def test_daemon_probes_scores_and_exports(config_file: Path, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = load_settings(config_file, environ={})
    daemon = Daemon(settings, environ={"SIM_KEY": SECRET})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    base = f"http://{settings.listen}"
    async with httpx.AsyncClient(base_url=base) as http:
        await asyncio.wait_for(daemon.started.wait(), 20)
        # start-up objects are out of the collector's sight while it runs (service/daemon.py)
        frozen_while_running = gc.get_freeze_count()

        async def ranked_with_data() -> bool:
            r = await http.get("/api/v1/workloads/chat/ranking")
            if r.status_code != 200:
                return False
            entries = [e for e in r.json()["ranking"] if not e["candidate"].startswith("bad")]
            return all(e["factors"]["latency"]["source"] == "measured" for e in entries)

        await wait_for(ranked_with_data)
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        doc = (await http.get("/api/v1/workloads/chat/ranking")).json()
        metrics = (await http.get("/metrics")).text
        clinic = (await http.get("/api/v1/workloads/clinic/ranking")).json()
        assert (await http.get("/api/v1/workloads/nope/ranking")).status_code == 404
    stop.set()
    await asyncio.wait_for(task, 60)
    assert frozen_while_running > 10_000 and gc.get_freeze_count() == 0

    # The faster, cheaper candidate leads the chat workload, with measured latency evidence.
    assert doc["leader"] == "fastco/quick"
    first = doc["ranking"][0]
    assert first["rank"] == 1 and first["factors"]["latency"]["evidence"]["samples"] >= 1
    assert set(first["factors"]) == {
        "task_quality", "latency", "cost", "tool_calling", "long_context", "compliance",
        "reliability", "ecosystem", "fine_tuning", "stability", "pricing_trajectory",
        "lock_in"}
    # The clinic gate excludes the candidate without a HIPAA BAA.
    assert clinic["leader"] == "slowco/careful"
    gated = next(e for e in clinic["ranking"] if e["candidate"] == "fastco/quick")
    assert gated["gated"] and gated["gate_reasons"] == ["requires hipaa_baa: not offered"]

    ttft_count = samples(metrics, "factorwatch_probe_ttft_seconds_count")
    assert ttft_count[(("candidate", "fastco/quick"), ("provider", "fastco"),
                       ("region", "local"))] >= 1
    assert any(dict(k)["result"] == "ok" for k in samples(metrics, "factorwatch_probe_total"))
    ranks = samples(metrics, "factorwatch_rank")
    assert ranks[(("candidate", "fastco/quick"), ("workload", "chat"))] == 1
    assert ranks[(("candidate", "slowco/careful"), ("workload", "chat"))] == 2
    composite = samples(metrics, "factorwatch_composite_score")
    assert composite[(("candidate", "fastco/quick"), ("workload", "chat"))] == first["composite"]

    # Everything measured was written: stored probe results match what the metrics counted.
    db = sqlite3.connect(tmp_path / "fw.db")
    stored = db.execute("SELECT count(*) FROM probe_result WHERE ok = 1").fetchone()[0]
    evaluations = db.execute("SELECT count(*) FROM evaluation").fetchone()[0]
    db.close()
    counted = sum(v for k, v in samples(metrics, "factorwatch_probe_total").items()
                  if dict(k)["result"] == "ok")
    assert stored >= counted  # the scrape came before the last probes finished
    assert evaluations >= 2

    # Garbage, a hang and a refused key each give their error class; none stops the rest.
    db = sqlite3.connect(tmp_path / "fw.db")
    classes = dict(db.execute("SELECT candidate_id, group_concat(DISTINCT error_class) FROM "
                              "probe_result WHERE candidate_id LIKE 'badco/%' "
                              "GROUP BY candidate_id").fetchall())
    db.close()
    assert classes == {"badco/garbage": "malformed", "badco/hang": "timeout",
                       "badco/locked": "auth"}
    # The key reached the provider (the 401 echoed it back) and went nowhere else.
    assert SECRET not in metrics and SECRET not in str(doc)
    assert SECRET not in caplog.text
    assert SECRET.encode() not in (tmp_path / "fw.db").read_bytes()


def test_run_process_stops_cleanly_on_sigterm(config_file: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "run", "--config",
                             str(config_file)], env=env, stderr=subprocess.PIPE, text=True)
    db_path = tmp_path / "fw.db"
    deadline = time.monotonic() + 30
    rows = 0
    while time.monotonic() < deadline and rows < 4:
        time.sleep(0.3)
        if db_path.exists():
            try:
                with sqlite3.connect(db_path) as db:
                    rows = db.execute("SELECT count(*) FROM probe_result").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0  # the schema is not there yet
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    assert "abandoned" not in stderr and "CancelledError" not in stderr, stderr
    # A single instance takes the lease at every start: news for nobody, so not a warning.
    assert "INFO service.cluster: this replica is now the lease holder" in stderr, stderr
    assert "WARNING service.cluster" not in stderr, stderr
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        half = db.execute("SELECT count(*) FROM probe_result WHERE ok = 1 AND "
                          "(ttft_seconds IS NULL OR total_seconds IS NULL)").fetchone()[0]
        assert half == 0
        assert db.execute("SELECT count(*) FROM probe_result").fetchone()[0] >= rows
        # The slow candidate, in flight when SIGTERM came, finished and was recorded.
        assert db.execute("SELECT count(*) FROM probe_result WHERE candidate_id = "
                          "'slowco/ponder' AND ok = 1").fetchone()[0] >= 1


def test_ctrl_c_in_a_terminal_stops_the_daemon_without_losing_probes(config_file: Path) -> None:
    """Ctrl-C signals the whole foreground process group, the reading process included: it
    must leave the stopping to the daemon, not die first and fail the probes in flight."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "run", "--config",
                             str(config_file)], env=env, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    time.sleep(6)  # probing, with the reading process started
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    assert "reading process exited" not in stderr and "not recorded" not in stderr, stderr
