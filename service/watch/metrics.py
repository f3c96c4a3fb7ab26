"""Status pages' and price lists' instruments (docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class SourceMetrics:
    """Status pages and price lists: polls, health, what they yielded, declared vs observed.

    `source` is a configured URL or path (bounded by the config); `kind` is status or pricing.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        src = ["kind", "source"]
        self.polls = Counter(
            "factorwatch_source_polls", "Polls of status pages and price lists, by result: ok, "
            "not_modified, or the failure (timeout, network, http_status, too_large, missing, "
            "parse_error, store_error).", [*src, "result"], registry=registry)
        self.up = Gauge("factorwatch_source_up", "1 when the source's last poll was answered "
                        "and read, else 0.", src, registry=registry)
        self.last_success = Gauge(
            "factorwatch_source_last_success_timestamp_seconds",
            "When the source last answered and was read (Unix time).", src, registry=registry)
        self.rejected = Counter(
            "factorwatch_source_entries_rejected", "Entries of a source that were skipped or "
            "refused (an incident without an id, a missing, negative or absurd price).", src,
            registry=registry)
        self.price_points = Counter(
            "factorwatch_price_points_recorded", "Price points recorded because a price "
            "changed or first became known, by source.", ["source"], registry=registry)
