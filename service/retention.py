"""The retention job: raw probe results past `retention.probe_results`, then saved rankings
thinned and expired (`retention.rankings_full`, `retention.rankings`), in batches, within
one time limit (docs/config.md, retention)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from service.config.retention import RetentionConfig, prunes_rankings
from service.rankings.metrics import RankingMetrics
from service.rankings.retention import run_ranking_retention
from service.store.metrics import StoreMetrics
from service.store.retention import DEFAULT_MAX_SECONDS, run_retention

EVERY = 600.0  # a run stops after 30 s (within the stop grace), the next goes on


def wanted(keep: RetentionConfig) -> bool:
    """Whether there is anything to prune at all."""
    return bool(keep.probe_results) or prunes_rankings(keep)


class RetentionJob:
    def __init__(self, engine: Engine, keep: RetentionConfig, store: StoreMetrics,
                 rankings: RankingMetrics) -> None:
        self.engine, self.keep = engine, keep
        self.store_metrics, self.ranking_metrics = store, rankings

    async def run(self) -> None:
        await asyncio.to_thread(self.run_now, datetime.now(UTC))

    def run_now(self, now: datetime) -> None:
        # One run's time limit in all (within the stop grace): the probe results get at most
        # half of it when rankings are pruned too, so a backlog of either never stalls the other.
        keep, started = self.keep, time.monotonic()
        rankings = prunes_rankings(keep)
        if keep.probe_results:
            run_retention(self.engine, keep.probe_results, now,
                          on_batch=self.store_metrics.pruned_results.inc,
                          max_seconds=DEFAULT_MAX_SECONDS / 2 if rankings else DEFAULT_MAX_SECONDS)
        if rankings:
            left = DEFAULT_MAX_SECONDS - (time.monotonic() - started)
            run_ranking_retention(
                self.engine, keep.rankings_full, keep.rankings, now, max_seconds=max(left, 0.0),
                on_batch=lambda why, n: self.ranking_metrics.pruned_rankings.labels(why).inc(n))
