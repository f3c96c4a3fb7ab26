"""The alert sender's instruments (service/alerts/sender.py); `sink` is a configured sink
name, never its URL."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.alerts_sent = Counter(
            "factorwatch_alerts_sent", "Alert messages sent to a sink, by result: ok, retry "
            "(a temporary failure: tried again later) or failed (permanent, or given up).",
            ["sink", "result"], registry=registry)
        self.alert_deliveries = Counter(
            "factorwatch_alert_deliveries", "Events routed to a sink, by outcome: pending (to "
            "be sent), silenced, expired, superseded (a newer event of the same subject "
            "replaced it).", ["sink", "outcome"], registry=registry)
        self.alerts_pending = Gauge(
            "factorwatch_alerts_pending", "Deliveries to a sink neither sent nor given up.",
            ["sink"], registry=registry)
