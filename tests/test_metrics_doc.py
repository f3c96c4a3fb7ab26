"""docs/metrics.md and service/metrics.py name the same metrics, and the exposition is valid."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from probes.result import ErrorClass, ProbeResult
from service.alerts.metrics import AlertMetrics
from service.cluster import ClusterMetrics
from service.config import load_settings
from service.metrics import new_registry
from service.outages.metrics import HonestyMetrics, OutageMetrics
from service.probing.looplag import loop_lag_histogram
from service.probing.metrics import ProbeMetrics
from service.rankings.metrics import RankingMetrics, StoreCollector
from service.scoring.evidence import AvailabilityStats, Price
from service.sla.figures import OpsSnapshot, SlaRow, WindowFigures, budget
from service.sla.metrics import OperationsCollector
from service.store.metrics import StoreMetrics
from service.telemetry.metrics import OtlpMetrics
from service.watch.metrics import SourceMetrics
from tests.otel import in_memory, row

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"

RANKING = {
    "workload": "chat", "evaluated_at": "2026-11-28T12:00:00+00:00", "leader": "a/x",
    "top_choice": "a/x",
    "ranking": [
        {"candidate": "a/x", "rank": 1, "composite": 4.2, "composite_low": 3.9,
         "composite_high": 4.5, "tied": False, "state": "serving", "partial": False,
         "gated": False, "gate_reasons": [], "notes": [],
         "factors": {"cost": {"score": 4.0, "low": 4.0, "high": 4.0, "weight": 1,
                              "source": "static", "reason": "",
                              "evidence": {"monthly_usd": 12.5}},
                     "reliability": {"score": 3.0, "low": 2.5, "high": 3.4, "weight": 1,
                                     "source": "measured", "reason": "",
                                     "evidence": {"availability": 0.99, "windows": {
                                         "1h": {"throttled_share": 0.1}}}}}},
        {"candidate": "b/y", "rank": None, "composite": 3.0, "partial": True, "gated": True,
         "gate_reasons": ["requires hipaa_baa: unknown"], "notes": [], "factors": {}},
    ],
}


_STATS = AvailabilityStats(ok=999, failed=1)
OPERATIONS = OpsSnapshot(
    sla=[SlaRow("a/x", "a", 0.999, {"1h": WindowFigures("1h", _STATS, *budget(_STATS, 0.999))})],
    incidents_open={"a": 1}, prices={"a/x": Price(1.0, 2.0, 0.5, "static")},
    providers={"a/x": "a"}, last_probe={("a/x", "latency"): datetime(2026, 11, 28, tzinfo=UTC)},
    probe_interval={("a/x", "latency"): 60.0})


def exposed_names(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        names.add(family.name + suffix)
    return names


def full_registry() -> CollectorRegistry:
    """Every subsystem's metrics on one registry, as the daemon builds it."""
    registry = new_registry("1.0")
    metrics = ProbeMetrics(registry)
    metrics.observe("a/x", "a", "local", ProbeResult("latency", True, ttft_seconds=0.2,
                                                      total_seconds=0.5,
                                                      output_tokens_per_second=50.0))
    metrics.observe("a/x", "a", "local", ProbeResult.failure("latency", ErrorClass.TIMEOUT, "t"))
    StoreMetrics(registry)
    ClusterMetrics(registry)
    AlertMetrics(registry)
    OutageMetrics(registry)
    HonestyMetrics(registry)
    rankings = RankingMetrics(registry, ["chat"])
    rankings.scoring_runs.labels("ok").inc()
    rankings.top_choice_changes.labels("chat").inc()
    registry.register(StoreCollector(lambda: [RANKING], {"a": 0.999}))
    registry.register(OperationsCollector(lambda: OPERATIONS))
    loop_lag_histogram(registry).observe(0.002)
    sources = SourceMetrics(registry)
    sources.polls.labels("status", "https://s.example", "ok").inc()
    sources.rejected.labels("pricing", "https://p.example").inc()
    sources.price_points.labels("litellm").inc()
    OtlpMetrics(registry)  # when telemetry.otlp is set
    return registry


def test_every_exposed_metric_is_documented_and_every_documented_one_exposed() -> None:
    documented = set(re.findall(r"^\| `(factorwatch_[a-z0-9_]+)`", DOC.read_text(), re.M))
    assert exposed_names(full_registry()) == documented


def test_store_collector_exports_rank_only_for_ranked_candidates() -> None:
    registry = full_registry()
    assert registry.get_sample_value("factorwatch_rank", {"workload": "chat",
                                                          "candidate": "a/x"}) == 1
    assert registry.get_sample_value("factorwatch_rank", {"workload": "chat",
                                                          "candidate": "b/y"}) is None
    assert registry.get_sample_value("factorwatch_gated", {"workload": "chat",
                                                           "candidate": "b/y"}) == 1
    assert registry.get_sample_value("factorwatch_monthly_cost_usd",
                                     {"workload": "chat", "candidate": "a/x"}) == 12.5
    assert registry.get_sample_value("factorwatch_probe_total", {
        "candidate": "a/x", "provider": "a", "region": "local", "kind": "latency",
        "result": "timeout"}) == 1


def test_store_down_still_answers_the_scrape() -> None:
    def broken() -> list[dict[str, object]]:
        raise ConnectionError("database is gone")

    registry = CollectorRegistry()
    registry.register(StoreCollector(broken, {}))
    assert registry.get_sample_value("factorwatch_store_up") == 0


def test_store_collector_exports_states_intervals_ties_and_throttling() -> None:
    registry = CollectorRegistry()
    registry.register(StoreCollector(lambda: [RANKING], {}))
    value = registry.get_sample_value
    key = {"workload": "chat", "candidate": "a/x"}
    assert (value("factorwatch_composite_score_low", key),
            value("factorwatch_composite_score_high", key)) == (3.9, 4.5)
    assert value("factorwatch_factor_score_low", {**key, "factor": "reliability"}) == 2.5
    assert value("factorwatch_rank_tied", key) == 0
    assert value("factorwatch_candidate_state", {"candidate": "a/x", "state": "serving"}) == 1
    assert value("factorwatch_candidate_state", {"candidate": "a/x", "state": "down"}) == 0
    assert value("factorwatch_throttled_ratio", {"candidate": "a/x", "window": "1h"}) == 0.1
    assert value("factorwatch_availability_ratio", {"candidate": "a/x"}) == 0.99


def documented_otel() -> dict[str, tuple[str, str, set[str]]]:
    """The OpenTelemetry table: metric -> (instrument, unit, attributes)."""
    section = DOC.read_text().split("## OpenTelemetry", 1)[1]
    found = {}
    for name, instrument, unit, attributes in re.findall(
            r"^\| `([a-z_]+\.[a-z_.]+)` \| (\w+) \| `([^`]+)` \| ([^|]+) \|", section, re.M):
        found[name] = (instrument, unit, set(re.findall(r"`([^`]+)`", attributes)))
    return found


def test_the_opentelemetry_table_is_what_is_exported(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("builtin_catalog: false\nproviders: {a: {}}\ncandidates:\n"
                      "  a/x: {provider: a, api: openai, model: x, base_url: 'http://h/v1'}\n"
                      "telemetry: {otlp: {endpoint: 'http://collector:4318'}}\n")
    telemetry, collect = in_memory(load_settings(config, environ={}), lambda: [RANKING])
    telemetry.record(row("a/x"))
    telemetry.record(row("a/x", ok=False, error_class="http_5xx", ttft_seconds=None))
    exported: dict[str, tuple[str, str, set[str]]] = {}
    for point in collect():
        _, _, keys = exported.setdefault(point.name, (point.kind, point.unit, set()))
        keys.update(point.attributes)
    telemetry.shutdown()
    assert exported == documented_otel()
