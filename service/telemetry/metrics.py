"""The OpenTelemetry exporter's own Prometheus instrument (docs/metrics.md): whether the
exports reach the collector. Present only when `telemetry.otlp` is set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

RESULTS = ("ok", "failed")


class OtlpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.exports = Counter(
            "factorwatch_otlp_exports",
            "OTLP metric exports to telemetry.otlp.endpoint, by result: ok or failed (after "
            "the exporter's own retries).", ["result"], registry=registry)
        for result in RESULTS:  # at 0 from the start, so that increase() sees the first
            self.exports.labels(result)
