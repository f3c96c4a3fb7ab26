"""What Daemon._probe decides around a probe: what it logs (the candidate, not the model
name several candidates may share), and how it honours a 429's Retry-After."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import load_settings
from service.daemon import Daemon
from service.probing.backoff import MAX_BACKOFF_SECONDS, Backoff
from service.scheduler import ProbePlan
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from tests.clock import Clock
from tests.probe_daemon import probe_pipeline


@pytest.fixture
def failing_sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.01, fault="status_500")}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


async def test_a_failed_probe_is_logged_with_its_candidate_id(
        failing_sim: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    probing, rows = probe_pipeline(tmp_path, failing_sim.base_url,
                                        models={"east/m": "m", "west/m": "m"})
    try:
        await probing.run(ProbePlan("west/m", "latency", 3600))
    finally:
        await probing.aclose()
    assert [row.candidate_id for row in rows] == ["west/m"]
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failed == ["latency probe of west/m failed: http_5xx: HTTP 500: The server had "
                      "an error while processing your request."], failed


def test_backoff_holds_a_candidate_for_its_retry_after_capped() -> None:
    clock = Clock(1000.0)
    backoff = Backoff(clock)
    assert backoff.remaining("a/x") == 0
    assert backoff.hold("a/x", 7) == 7
    clock.now += 2
    assert backoff.remaining("a/x") == pytest.approx(5)
    assert backoff.remaining("b/y") == 0  # only that candidate
    assert backoff.hold("a/x", 1) == 1  # a shorter Retry-After keeps the longer pause
    assert backoff.remaining("a/x") == pytest.approx(5)
    clock.now += 5
    assert backoff.remaining("a/x") == 0
    assert backoff.hold("a/x", 86_400) == MAX_BACKOFF_SECONDS  # a day: capped
    assert backoff.remaining("a/x") == MAX_BACKOFF_SECONDS
    assert Backoff(clock).hold("a/x", -3) == 0


@pytest.fixture
def limited_sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.01, fault="status_429")}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


async def test_probes_resume_once_the_retry_after_has_passed(
        limited_sim: SimServer, tmp_path: Path) -> None:
    probing, rows = probe_pipeline(
        tmp_path, limited_sim.base_url,
        kinds="latency: {every: 1h, timeout: 5s}, uptime: {every: 1h, timeout: 5s}")
    clock = Clock(1000.0)
    probing.pipeline.backoff = Backoff(clock)
    try:
        await probing.run(ProbePlan("sim/m", "latency", 3600))
        assert [row.error_class for row in rows] == ["rate_limited"]
        clock.now += 6.9  # Retry-After: 7
        await probing.run(ProbePlan("sim/m", "uptime", 3600))  # every kind waits
        await probing.run(ProbePlan("sim/m", "latency", 3600))
        assert len(limited_sim.records) == 1 and len(rows) == 1
        clock.now += 0.2
        await probing.run(ProbePlan("sim/m", "uptime", 3600))
        assert len(limited_sim.records) == 2 and len(rows) == 2
    finally:
        await probing.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_running_daemon_honours_retry_after(
        limited_sim: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = tmp_path / "fw.yaml"
    config.write_text(f"""
builtin_catalog: false
database: sqlite:///{tmp_path / 'fw.db'}
listen: 127.0.0.1:{free_port()}
providers: {{sim: {{}}}}
candidates:
  sim/m: {{provider: sim, api: openai, base_url: "{limited_sim.base_url}", model: m,
           probes: {{latency: {{every: 1s, timeout: 5s}}, uptime: {{every: 1s, timeout: 5s}}}}}}
""")
    daemon = Daemon(load_settings(config, environ={}), environ={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.started.wait(), 30)
    await asyncio.sleep(3.5)  # each kind due 3 or 4 times; Retry-After: 7 s
    value = daemon.registry.get_sample_value
    remaining = value("factorwatch_probe_backoff_seconds", {"candidate": "sim/m"})
    skipped = {kind: value("factorwatch_probe_backoff_skipped_total",
                           {"candidate": "sim/m", "kind": kind}) for kind in KINDS}
    probes = {kind: value("factorwatch_probe_total", {
        "candidate": "sim/m", "provider": "sim", "region": "local", "kind": kind,
        "result": "rate_limited"}) or 0 for kind in KINDS}
    stop.set()
    await asyncio.wait_for(task, 30)

    sent = len(limited_sim.records)
    # The first 429 paused both kinds (a second request only if both kinds started before
    # the first answer came back); the skipped runs are neither probes nor failures.
    assert 1 <= sent <= 2 and sum(probes.values()) == sent
    assert remaining is not None and 3.5 - 1 < remaining <= 7
    assert all(n is not None and n >= 1 for n in skipped.values()), skipped
    with sqlite3.connect(tmp_path / "fw.db") as db:
        stored = db.execute("select error_class from probe_result").fetchall()
    assert stored == [("rate_limited",)] * sent
    paused = [r.getMessage() for r in caplog.records if "Retry-After" in r.getMessage()]
    assert paused and paused[0] == ("sim/m is rate limited (HTTP 429): its probes pause for "
                                    "7s, as its Retry-After asks"), paused


KINDS = ("latency", "uptime")


@pytest.fixture
def half_failing_sim() -> Iterator[SimServer]:
    server = SimServer({"bad": SimModel(ttft_seconds=0.01, fault="status_500"),
                        "good": SimModel(ttft_seconds=0.01)}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.mark.integration  # a simulator, a running daemon
async def test_the_running_daemon_probes_a_failing_adaptive_candidate_faster(
        half_failing_sim: SimServer, tmp_path: Path) -> None:
    config = tmp_path / "fw.yaml"
    probes = "{latency: {every: 2s, timeout: 5s, adaptive: {min_every: 200ms, max_every: 10s}}}"
    config.write_text(f"""
builtin_catalog: false
database: sqlite:///{tmp_path / 'fw.db'}
listen: 127.0.0.1:{free_port()}
providers: {{sim: {{}}}}
candidates:
  sim/bad: {{provider: sim, api: openai, base_url: "{half_failing_sim.base_url}", model: bad,
             probes: {probes}}}
  sim/good: {{provider: sim, api: openai, base_url: "{half_failing_sim.base_url}", model: good,
              probes: {probes}}}
""")
    daemon = Daemon(load_settings(config, environ={}), environ={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.started.wait(), 30)
    await asyncio.sleep(4)  # each first run within 2 s; then the bad one every 0.2 s
    interval = {cid: daemon.registry.get_sample_value(
        "factorwatch_probe_adaptive_interval_seconds", {"candidate": cid, "kind": "latency"})
        for cid in ("sim/bad", "sim/good")}
    stop.set()
    await asyncio.wait_for(task, 30)

    sent = {model: sum(r.model == model for r in half_failing_sim.records)
            for model in ("bad", "good")}
    assert "adaptive-watch" in {job.name for job in daemon.periodic_jobs()}
    assert interval == {"sim/bad": 0.2, "sim/good": 2.0}
    assert sent["good"] <= 2  # at its `every`: no clean streak yet to stretch it
    assert sent["bad"] >= 8, sent  # a fixed 2 s interval would have sent at most 2
