"""OpenTelemetry export end to end: the real daemon probes the simulator and exports over
OTLP/HTTP to a real receiver on 127.0.0.1 (devtools/otlp_receiver.py), which decodes the
protobuf; what it received is checked against the probe rows the daemon stored."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from devtools.otlp_receiver import OtlpReceiver, Point
from service.config import load_settings
from service.daemon import Daemon
from service.rankings.saved import latest_rankings
from service.sim.openai_server import SimModel, SimServer
from service.store.db import make_engine
from service.telemetry.genai import (
    ONE_REQUEST_KINDS,
    OPERATION_DURATION,
    SCHEMA_URL,
    SECONDS_BUCKETS,
    TIME_TO_FIRST_CHUNK,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
)
from service.telemetry.metrics import OtlpMetrics
from service.telemetry.otlp import OtlpTelemetry
from tests.otel import row

pytestmark = pytest.mark.integration

SECRET = "sk-test-DO-NOT-LEAK-7313"  # the probe key: the 401 model echoes it back
OTLP_TOKEN = "otlp-token-DO-NOT-LEAK-2718"  # the collector's auth header value

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
listen: 127.0.0.1:{port}
region: eu-west
cluster: {{replica_id: replica-a}}
scoring: {{every: 1s, window: 10m}}
providers: {{openai: {{}}, anthropic: {{}}, google: {{}}, badco: {{}}}}
candidates:
  openai/quick:
    provider: openai
    api: openai
    base_url: {openai}
    model: quick
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    probes:
      latency: {{every: 1s, timeout: 5s}}
      quality: {{every: 1s, timeout: 5s, sample: 2}}
  anthropic/quick:
    provider: anthropic
    api: anthropic
    base_url: {anthropic}
    model: quick
    price: {{input_per_mtok: 0.2, output_per_mtok: 0.8}}
    probes: {{latency: {{every: 1s, timeout: 5s}}, uptime: {{every: 1s, timeout: 5s}}}}
  google/quick:
    provider: google
    api: gemini
    base_url: {gemini}
    model: quick
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.3}}
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  badco/garbage:
    provider: badco
    api: openai
    base_url: {openai}
    model: garbage
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
  badco/locked:
    provider: badco
    api: openai
    base_url: {openai}
    model: locked
    api_key_env: SIM_KEY
    probes: {{latency: {{every: 1s, timeout: 5s}}}}
workloads:
  chat:
    volume: {{requests_per_month: 100000, input_tokens: 500, output_tokens: 200}}
    weights: {{latency: 3, cost: 3, reliability: 2}}
"""
TELEMETRY = """
telemetry:
  otlp: {{endpoint: '{endpoint}', every: 500ms, timeout: 5s, headers_env: OTLP_HEADERS}}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"quick": SimModel(ttft_seconds=0.05, inter_token_seconds=0.005),
                        "garbage": SimModel(fault="invalid_json"),
                        "locked": SimModel(fault="status_401")}, seed=5)
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def write_config(tmp_path: Path, sim: SimServer, telemetry: str = "") -> Path:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", port=free_port(),
                                  openai=sim.url_for("openai"),
                                  anthropic=sim.url_for("anthropic"),
                                  gemini=sim.url_for("gemini")) + telemetry)
    return path


def by_candidate(points: list[Point], name: str) -> dict[str, list[Point]]:
    found: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        if p.name == name:
            found[str(p.attributes["factorwatch.candidate"])].append(p)
    return found


async def test_the_daemon_exports_what_it_measures_and_scores(
        tmp_path: Path, sim: SimServer, receiver: OtlpReceiver,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = write_config(tmp_path, sim, TELEMETRY.format(endpoint=receiver.endpoint))
    settings = load_settings(config, environ={})
    daemon = Daemon(settings, environ={
        "SIM_KEY": SECRET, "OTLP_HEADERS": f"authorization=Bearer%20{OTLP_TOKEN}"})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.started.wait(), 20)

    def exported(name: str) -> set[str]:
        return {str(p.attributes.get("factorwatch.candidate")) for p in receiver.points()
                if p.name == name}

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
            len(exported(OPERATION_DURATION)) == 5 and exported("factorwatch.rank")):
        await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=f"http://{settings.listen}") as http:
        metrics = (await http.get("/metrics")).text
    stop.set()
    await asyncio.wait_for(task, 60)
    sent_by_stop = len(receiver.requests)
    await asyncio.sleep(1.5)  # three export intervals: the exporter stopped with the daemon
    assert len(receiver.requests) == sent_by_stop

    # Sent with the collector's auth header; neither it nor the probe key in any payload.
    assert len(receiver.accepted()) >= 2 and receiver.accepted() == receiver.requests
    assert {r.headers["authorization"] for r in receiver.requests} == {f"Bearer {OTLP_TOKEN}"}
    assert {r.headers["content-type"] for r in receiver.requests} == {"application/x-protobuf"}
    for received in receiver.requests:
        assert SECRET.encode() not in received.body and OTLP_TOKEN.encode() not in received.body
    assert SECRET not in caplog.text and OTLP_TOKEN not in caplog.text
    assert 'factorwatch_otlp_exports_total{result="ok"}' in metrics

    # The last export came at shutdown, after every result was written: its totals (the
    # temporality is cumulative) are the stored rows', probe for probe and token for token.
    final = receiver.last_export()
    db = sqlite3.connect(tmp_path / "fw.db")
    rows = db.execute("SELECT candidate_id, kind, ok, error_class, ttft_seconds, "
                      "total_seconds, input_tokens, output_tokens, output_tokens_estimated "
                      "FROM probe_result").fetchall()
    db.close()
    one_request = [r for r in rows if r[1] in ONE_REQUEST_KINDS]
    assert any(r[1] == "quality" for r in rows)  # stored, and not exported as one operation
    assert not [p for p in final if p.attributes.get("factorwatch.probe.kind") == "quality"]

    durations = by_candidate(final, OPERATION_DURATION)
    assert set(durations) == {r[0] for r in one_request}
    for cid, points in durations.items():
        mine = [r for r in one_request if r[0] == cid]
        assert sum(p.count or 0 for p in points) == len(mine), cid
        assert sum(p.sum or 0 for p in points) == pytest.approx(sum(r[5] for r in mine))
        for p in points:
            assert (p.unit, p.bounds) == ("s", SECONDS_BUCKETS)
            assert p.attributes["gen_ai.request.model"] == cid.split("/")[1]
            assert p.attributes["server.address"] == "127.0.0.1"
            assert p.attributes["factorwatch.region"] == "eu-west"
    # Failures carry error.type, the stored error class; successes do not.
    errors = {(cid, p.attributes.get("error.type")) for cid, points in durations.items()
              for p in points}
    assert ("badco/garbage", "malformed") in errors and ("badco/locked", "auth") in errors
    assert ("openai/quick", None) in errors and ("openai/quick", "auth") not in errors
    providers = {cid: {p.attributes["gen_ai.provider.name"] for p in points}
                 for cid, points in durations.items()}
    assert providers == {"openai/quick": {"openai"}, "anthropic/quick": {"anthropic"},
                         "google/quick": {"gcp.gen_ai"}, "badco/garbage": {"badco"},
                         "badco/locked": {"badco"}}
    operations = {p.attributes["gen_ai.operation.name"] for p in durations["google/quick"]}
    assert operations == {"generate_content"}
    kinds = {p.attributes["factorwatch.probe.kind"] for p in durations["anthropic/quick"]}
    assert kinds == {"latency", "uptime"}

    # Time to first chunk: every result with a first content token, and plausible values.
    first_chunks = by_candidate(final, TIME_TO_FIRST_CHUNK)
    for cid, points in first_chunks.items():
        timed = [r[4] for r in one_request if r[0] == cid and r[4] is not None]
        count = sum(p.count or 0 for p in points)
        assert count == len(timed) and count > 0
        assert sum(p.sum or 0 for p in points) == pytest.approx(sum(timed))
        assert 0.05 <= (sum(p.sum or 0 for p in points) / count) < 5  # the sim's TTFT: 50 ms
    assert {"openai/quick", "anthropic/quick", "google/quick"} <= set(first_chunks)
    assert "badco/locked" not in first_chunks

    # Token usage: what each API reported, by type, summing to the stored counts.
    usage = by_candidate(final, TOKEN_USAGE)
    for cid in ("openai/quick", "anthropic/quick", "google/quick"):
        for token_type, column in (("input", 6), ("output", 7)):
            points = [p for p in usage[cid] if p.attributes["gen_ai.token.type"] == token_type]
            stored = [r[column] for r in one_request if r[0] == cid and r[column] is not None
                      and not (column == 7 and r[8])]
            assert sum(p.sum or 0 for p in points) == sum(stored) > 0, (cid, token_type)
            assert sum(p.count or 0 for p in points) == len(stored)
            assert {(p.unit, p.bounds) for p in points} == {("{token}", TOKEN_BUCKETS)}

    # The scores: the latest saved rankings, as they stood at the final export.
    engine = make_engine(settings.database)
    with Session(engine) as session:
        saved = {doc["workload"]: doc for doc in latest_rankings(session)}
    engine.dispose()
    composite = {p.attributes["factorwatch.candidate"]: p.value for p in final
                 if p.name == "factorwatch.composite_score"}
    assert composite == {e["candidate"]: e["composite"] for e in saved["chat"]["ranking"]
                         if e["composite"] is not None}
    rank = {p.attributes["factorwatch.candidate"]: p.value for p in final
            if p.name == "factorwatch.rank"}
    assert rank == {e["candidate"]: e["rank"] for e in saved["chat"]["ranking"]
                    if e["rank"] is not None}
    top = {p.attributes["factorwatch.candidate"] for p in final
           if p.name == "factorwatch.top_choice" and p.value == 1}
    assert top == {saved["chat"]["top_choice"]}

    resource = {k: v for p in final for k, v in p.resource.items()
                if k.startswith("service.")}
    assert resource == {"service.name": "factorwatch", "service.version": resource[
        "service.version"], "service.instance.id": "replica-a"}
    assert {(p.scope, p.schema_url) for p in final} == {("factorwatch", SCHEMA_URL)}


def test_without_telemetry_nothing_is_exported_nor_the_sdk_imported(
        tmp_path: Path, sim: SimServer, receiver: OtlpReceiver) -> None:
    """The SDK's own variables do not turn export on, and `factorwatch run` never imports
    the SDK."""
    config = write_config(tmp_path, sim)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORWATCH_", "OTEL_"))}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL="200")
    log = tmp_path / "stderr.txt"  # -X importtime writes more than a pipe holds
    with log.open("w") as stderr_file:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "service.cli.main",
                                 "run", "--config", str(config)], env=env, stderr=stderr_file)
        db_path = tmp_path / "fw.db"
        deadline, rows = time.monotonic() + 30, 0
        while time.monotonic() < deadline and rows < 5:
            time.sleep(0.3)
            try:
                with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                    rows = db.execute("SELECT count(*) FROM probe_result").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0  # not there yet
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    stderr = log.read_text()
    logged = "\n".join(line for line in stderr.splitlines() if "import time:" not in line)
    assert proc.returncode == 0 and rows >= 5, logged
    assert "stopped cleanly" in logged
    # FastAPI brings the OpenTelemetry API; the SDK, the exporter and protobuf stay out.
    imported = {line.rpartition("|")[2].strip() for line in stderr.splitlines()
                if line.startswith("import time:")}
    assert "service.daemon" in imported
    assert not {m for m in imported if m.startswith(
        ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.proto", "google.protobuf",
         "service.telemetry.otlp"))}
    assert receiver.requests == []


def test_a_refusing_collector_is_counted_and_logged_without_the_token(
        receiver: OtlpReceiver, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    receiver.status = 401
    config = tmp_path / "c.yaml"
    config.write_text(f"builtin_catalog: false\nproviders: {{openai: {{}}}}\ncandidates:\n"
                      "  openai/mini: {provider: openai, api: openai, model: m, "
                      "base_url: 'https://api.openai.com/v1'}\n"
                      f"telemetry: {{otlp: {{endpoint: '{receiver.endpoint}', every: 1h}}}}\n")
    settings = load_settings(config, environ={})
    registry = CollectorRegistry()
    metrics = OtlpMetrics(registry)
    telemetry = OtlpTelemetry(settings, {"authorization": f"Bearer {OTLP_TOKEN}"}, list,
                              metrics, "replica-b")
    with caplog.at_level(logging.INFO):
        telemetry.start()
        telemetry.record(row("openai/mini"))
        telemetry.shutdown()  # the one export, refused
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["authorization"] == f"Bearer {OTLP_TOKEN}"
    assert registry.get_sample_value("factorwatch_otlp_exports_total",
                                     {"result": "failed"}) == 1
    assert registry.get_sample_value("factorwatch_otlp_exports_total", {"result": "ok"}) == 0
    assert "401" in caplog.text and OTLP_TOKEN not in caplog.text
