"""Daily probe budgets: what probes cost per candidate and in total, capped per UTC day.

Every probe's cost (its usage at the candidate's price) is added as it is recorded; a
probe whose candidate, or the whole fleet, has spent its day's budget is skipped, logged
once per candidate per day, and shown by factorwatch_probe_budget_exhausted. Today's spend
is read back from the stored probe results at start, so a restart does not reset it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.config.models import ProbeBudgetConfig
from service.probing.metrics import ProbeMetrics
from service.store.models import ProbeResultRow

log = logging.getLogger(__name__)


def _utc_today() -> date:
    return datetime.now(UTC).date()


class ProbeBudget:
    def __init__(self, config: ProbeBudgetConfig, metrics: ProbeMetrics,
                 today: Callable[[], date] = _utc_today) -> None:
        self._per_candidate = config.daily_usd_per_candidate
        self._total = config.daily_usd_total
        self._metrics = metrics
        self._today = today
        self._day = today()
        self._spent: dict[str, float] = {}
        self._skipping: set[str] = set()  # candidates skipped today (logged once each)

    def seed(self, engine: Engine) -> None:
        """Start from what today's stored probe results already cost."""
        self._day = self._today()
        since = datetime.combine(self._day, time(), UTC)
        query = (select(ProbeResultRow.candidate_id, func.sum(ProbeResultRow.cost_usd))
                 .where(col(ProbeResultRow.started_at) >= since)
                 .group_by(col(ProbeResultRow.candidate_id)))
        with Session(engine) as session:
            self._spent = {cid: float(total or 0.0) for cid, total in session.exec(query)}
        if self._spent:
            log.info("probe spend so far today: %.4f USD over %d candidates",
                     sum(self._spent.values()), len(self._spent))

    def allow(self, candidate: str) -> bool:
        """Whether `candidate` may be probed now; False (and logged once a day) when over."""
        self._roll_over()
        reason = self._over(candidate)
        if reason is None:
            if candidate in self._skipping:  # a raised cap after a reload, say
                self._skipping.discard(candidate)
            self._metrics.budget_exhausted.labels(candidate).set(0)
            return True
        self._metrics.budget_exhausted.labels(candidate).set(1)
        if candidate not in self._skipping:
            self._skipping.add(candidate)
            log.warning("skipping probes of %s until the end of the UTC day: %s",
                        candidate, reason)
        return False

    def spend(self, candidate: str, provider: str, cost_usd: float | None) -> None:
        if not cost_usd:
            return  # no price or no usage reported: nothing known to count
        self._roll_over()
        self._spent[candidate] = self._spent.get(candidate, 0.0) + cost_usd
        self._metrics.probe_spend.labels(candidate, provider).inc(cost_usd)

    def spent(self, candidate: str | None = None) -> float:
        if candidate is None:
            return sum(self._spent.values())
        return self._spent.get(candidate, 0.0)

    def _over(self, candidate: str) -> str | None:
        mine, total = self.spent(candidate), self.spent()
        if self._per_candidate is not None and mine >= self._per_candidate:
            return (f"its daily probe budget of {self._per_candidate:g} USD is spent "
                    f"({mine:.4f} USD)")
        if self._total is not None and total >= self._total:
            return f"the total daily probe budget of {self._total:g} USD is spent ({total:.4f} USD)"
        return None

    def _roll_over(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, {}
            for candidate in self._skipping:
                self._metrics.budget_exhausted.labels(candidate).set(0)
            self._skipping.clear()
