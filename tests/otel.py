"""Helpers for the OpenTelemetry tests: collect what OtlpTelemetry would export, in process,
as the same flattened points the real receiver (devtools/otlp_receiver.py) decodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

from devtools.otlp_receiver import Point, flatten
from service.config import Settings
from service.store.models import ProbeResultRow
from service.telemetry.metrics import OtlpMetrics
from service.telemetry.otlp import OtlpTelemetry
from tests.clock import T0


def in_memory(settings: Settings, read_rankings: Callable[[], list[dict[str, Any]]]
              ) -> tuple[OtlpTelemetry, Callable[[], list[Point]]]:
    """A started OtlpTelemetry and a function that collects what it would export now."""
    telemetry = OtlpTelemetry(settings, {}, read_rankings, OtlpMetrics(CollectorRegistry()),
                              "replica-1")
    reader = InMemoryMetricReader()
    telemetry.start(reader)

    def collect() -> list[Point]:
        data = reader.get_metrics_data()
        return flatten(encode_metrics(data)) if data is not None else []

    return telemetry, collect


def named(points: list[Point], name: str) -> list[Point]:
    return [p for p in points if p.name == name]


def row(candidate: str = "openai/mini", kind: str = "latency", **fields: Any) -> ProbeResultRow:
    """A probe result as the pipeline writes it: a successful latency probe unless told."""
    values: dict[str, Any] = {"ok": True, "ttft_seconds": 0.3, "total_seconds": 0.9,
                              "input_tokens": 12, "output_tokens": 16}
    values.update(fields)
    return ProbeResultRow(candidate_id=candidate, kind=kind, region="eu", started_at=T0,
                          **values)
