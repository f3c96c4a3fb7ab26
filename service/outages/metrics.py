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


class HonestyMetrics:
    """Status-page honesty over the last 30 days, set by the honesty job (docs/alerts.md)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outages = Gauge(
            "factorwatch_honesty_outages", "Observed outages over the last 30 days, per "
            "provider, by whether an incident declared them (`declared`, `undeclared`).",
            ["provider", "verdict"], registry=registry)
        self.undeclared = Gauge(
            "factorwatch_honesty_undeclared_ratio", "Share of the last 30 days' observed "
            "outages that no incident declared.", ["provider"], registry=registry)
        self.delay = Gauge(
            "factorwatch_honesty_declaration_delay_seconds", "Quantile (0.5, 0.9) over the "
            "last 30 days' declared incidents of their start minus the observed outage's "
            "start (negative: declared first).", ["provider", "quantile"], registry=registry)
        self.resolution_lag = Gauge(
            "factorwatch_honesty_resolution_lag_seconds", "Quantile (0.5, 0.9) over the last "
            "30 days' declared incidents of their resolution minus the probes' recovery "
            "(negative: resolved early).", ["provider", "quantile"], registry=registry)
        self.incidents = Gauge(
            "factorwatch_honesty_incidents", "Declared incidents of the last 30 days, by "
            "observed `impact`: `observed`, `none`, `unknown` (too few probes in its span).",
            ["provider", "impact"], registry=registry)
