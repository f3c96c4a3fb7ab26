"""Declared vs observed outage figures, set by the outages job (docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge


class OutageMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outage_seconds = Gauge(
            "factorwatch_outage_seconds", "Over the last 24 hours, per provider: time covered "
            "by declared incidents, by observed outage (probes failing, the monitor's own "
            "outages excluded), and by observed outages nobody declared.",
            ["provider", "measure"], registry=registry)
        self.detection_lead = Gauge(
            "factorwatch_outage_detection_lead_seconds", "Median, over the last 24 hours' "
            "declared outages, of the provider's declaration time minus our first failed "
            "minute (positive: we saw it first).", ["provider"], registry=registry)
