"""The scoring job: score every workload and save it, count the pass, log the changes."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from service.config import Settings
from service.rankings.evaluation import evaluate_and_save
from service.rankings.metrics import RankingMetrics

log = logging.getLogger(__name__)


class ScoringJob:
    def __init__(self, engine: Engine, settings: Settings, metrics: RankingMetrics) -> None:
        self.engine, self.settings, self.metrics = engine, settings, metrics

    async def run(self) -> None:
        """One scoring pass, in a worker thread (database I/O)."""
        try:
            rankings, changes = await asyncio.to_thread(evaluate_and_save, self.engine,
                                                        self.settings, datetime.now(UTC))
        except Exception:
            self.metrics.scoring_runs.labels("error").inc()
            raise
        self.metrics.scoring_runs.labels("ok").inc()
        for ranking in rankings:
            log.debug("scored %s: rank 1 %s", ranking.workload, ranking.leader or "none")
        for change in changes:
            self.metrics.top_choice_changes.labels(change.workload).inc()
            log.warning("top choice for %s changed: %s -> %s (%s)", change.workload,
                        change.old or "none", change.new or "none", change.reason)
