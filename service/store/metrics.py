"""The result writer's and the raw-result retention's instruments (docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class StoreMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.writer_buffered = Gauge(
            "factorwatch_store_buffered_results",
            "Probe results waiting to be written to the database.", registry=registry)
        self.writer_buffer_limit = Gauge(
            "factorwatch_store_buffer_limit_results",
            "How many results may wait while the database is unreachable; past it the oldest "
            "are dropped.", registry=registry)
        self.writer_dropped = Gauge(
            "factorwatch_store_dropped_results",
            "Results dropped since start because the buffer was full (the database was "
            "unreachable too long).", registry=registry)
        self.pruned_results = Counter(
            "factorwatch_store_pruned_results",
            "Raw probe results deleted because they were older than retention.probe_results "
            "(by the retention job, on the lease holder).", registry=registry)
