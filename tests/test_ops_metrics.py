"""Store-backed operator metrics (SLA per window, budget, incidents, prices, probe freshness)
and the event-loop lag monitor."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlmodel import Session

from service.config.candidates import AdaptiveSchedule, ProbeSchedule
from service.probing.looplag import loop_lag_histogram, monitor_loop_lag
from service.sla.figures import ops_snapshot
from service.sla.metrics import OperationsCollector
from tests.apidata import Seeded, seed
from tests.needs import binary
from tests.test_metrics_doc import full_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> CollectorRegistry:
    seeded: Seeded = seed(tmp_path_factory.mktemp("ops"))

    def read():  # type: ignore[no-untyped-def]
        with Session(seeded.engine) as session:
            return ops_snapshot(session, seeded.settings, seeded.now)

    registry = CollectorRegistry()
    registry.register(OperationsCollector(read))
    return registry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_availability_and_error_budget_per_window(registry: CollectorRegistry) -> None:
    fast = {"candidate": "acme/fast", "provider": "acme"}
    for window in ("1h", "24h", "7d", "30d"):
        assert value(registry, "factorwatch_availability_window_ratio", **fast,
                     window=window) == pytest.approx(0.9)
        assert value(registry, "factorwatch_availability_window_probes", **fast,
                     window=window) == 30
    assert value(registry, "factorwatch_error_budget_burn_rate", **fast,
                 window="30d") == pytest.approx(10)
    assert value(registry, "factorwatch_error_budget_remaining_ratio", **fast,
                 window="30d") == pytest.approx(-9)


def test_throttling_does_not_count_and_no_sla_means_no_budget(registry: CollectorRegistry
                                                               ) -> None:
    cheap = {"candidate": "zeta/cheap", "provider": "zeta", "window": "1h"}
    assert value(registry, "factorwatch_availability_window_ratio", **cheap) == 1.0
    assert value(registry, "factorwatch_availability_window_probes", **cheap) == 10
    assert value(registry, "factorwatch_error_budget_burn_rate", **cheap) is None


def test_open_incidents_for_every_provider_zero_included(registry: CollectorRegistry) -> None:
    assert value(registry, "factorwatch_incidents_open", provider="acme") == 1
    assert value(registry, "factorwatch_incidents_open", provider="zeta") == 0


def test_prices_and_probe_freshness(registry: CollectorRegistry) -> None:
    assert value(registry, "factorwatch_price_per_million_tokens_usd", candidate="acme/fast",
                 provider="acme", token="input") == 0.5
    assert value(registry, "factorwatch_probe_interval_seconds", candidate="zeta/cheap",
                 kind="latency") == 30
    last = value(registry, "factorwatch_last_probe_timestamp_seconds", candidate="acme/fast",
                 kind="latency")
    assert last is not None and time.time() - 3600 < last < time.time()


def test_an_adaptive_probe_may_wait_up_to_its_max_every(tmp_path: Path) -> None:
    seeded = seed(tmp_path)
    seeded.settings.candidates["zeta/cheap"].probes["latency"] = ProbeSchedule(
        every=30, adaptive=AdaptiveSchedule(min_every=10, max_every=300))
    with Session(seeded.engine) as session:
        snap = ops_snapshot(session, seeded.settings, seeded.now)
    assert snap.probe_interval[("zeta/cheap", "latency")] == 300  # the lag graph's "late"
    assert snap.probe_interval[("acme/fast", "latency")] == 60


def test_a_store_that_fails_leaves_the_scrape_answering() -> None:
    def broken():  # type: ignore[no-untyped-def]
        raise ConnectionError("gone")

    registry = CollectorRegistry()
    registry.register(OperationsCollector(broken))
    assert b"factorwatch_incidents_open" not in generate_latest(registry)


@pytest.mark.integration  # blocks the loop for real
async def test_loop_lag_sees_a_blocked_loop() -> None:
    registry = CollectorRegistry()
    histogram = loop_lag_histogram(registry)
    task = asyncio.create_task(monitor_loop_lag(histogram, interval=0.05))
    await asyncio.sleep(0.12)
    time.sleep(0.3)  # blocks the loop, as a synchronous call in a handler would
    await asyncio.sleep(0.12)
    task.cancel()
    assert registry.get_sample_value("factorwatch_event_loop_lag_seconds_count") >= 3
    assert registry.get_sample_value("factorwatch_event_loop_lag_seconds_bucket",
                                     {"le": "0.1"}) < registry.get_sample_value(
        "factorwatch_event_loop_lag_seconds_count")  # the blocked wake-up is > 0.1 s late


@pytest.mark.integration  # runs promtool
def test_promtool_finds_the_exposition_clean(registry: CollectorRegistry) -> None:
    promtool = binary("promtool", "prometheus")
    for exposition in (generate_latest(full_registry()), generate_latest(registry)):
        run = subprocess.run([promtool, "check", "metrics"], input=exposition,
                             capture_output=True, timeout=30)
        assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
