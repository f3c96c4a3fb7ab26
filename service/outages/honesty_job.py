"""Every hour on the lease holder: each provider's status-page honesty over the last 30 days,
as metrics (factorwatch_honesty_*) and as saved figures (`provider_honesty`) that the
overview page shows and the stability factor can read.

Thirty days of probes minute by minute is seconds of work, and declarations come minutes
apart: an hourly figure loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.outages.honesty import IMPACT_NONE, IMPACT_OBSERVED, IMPACT_UNKNOWN, Honesty, quantile
from service.outages.metrics import HonestyMetrics
from service.outages.store import honesty_figures
from service.store.honesty import save_honesty
from service.store.models import ProviderHonestyRow
from service.store.types import utcnow

WINDOW = timedelta(days=30)
QUANTILES = (0.5, 0.9)


def saved_row(h: Honesty, now: datetime) -> ProviderHonestyRow:
    delays, lags = h.delays, h.resolution_lags
    return ProviderHonestyRow(
        provider=h.provider, computed_at=now, window_days=WINDOW.days, outages=len(h.outages),
        undeclared=len(h.undeclared), median_delay_seconds=quantile(delays, 0.5),
        p90_delay_seconds=quantile(delays, 0.9), median_lag_seconds=quantile(lags, 0.5),
        p90_lag_seconds=quantile(lags, 0.9), early_resolutions=sum(1 for lag in lags if lag < 0),
        incidents_observed=h.impact_count(IMPACT_OBSERVED),
        incidents_no_impact=h.impact_count(IMPACT_NONE),
        incidents_unknown=h.impact_count(IMPACT_UNKNOWN))


class HonestyWatch:
    def __init__(self, providers: Mapping[str, str], engine: Engine, metrics: HonestyMetrics,
                 clock: Callable[[], datetime] = utcnow, quorum: int = 1) -> None:
        self.providers = dict(providers)  # candidate -> provider
        self.quorum = quorum  # regions that must agree (service/outages/regions.py)
        self._engine = engine
        self._metrics = metrics
        self._clock = clock

    async def run(self) -> None:
        figures = await asyncio.to_thread(self.check, self._clock())
        self.export(figures)

    def check(self, now: datetime) -> dict[str, Honesty]:
        """The figures, saved for the page and the stability factor in the same pass."""
        with Session(self._engine) as session, session.begin():
            figures = honesty_figures(session, self.providers, now - WINDOW, now,
                                      self.quorum)
            save_honesty(session, (saved_row(h, now) for h in figures.values()))
            return figures

    def export(self, figures: Mapping[str, Honesty]) -> None:
        m = self._metrics
        for gauge in (m.outages, m.undeclared, m.delay, m.resolution_lag, m.incidents):
            gauge.clear()  # a quantile with no value any more is absent, not stale
        for provider, h in figures.items():
            m.outages.labels(provider, "declared").set(len(h.outages) - len(h.undeclared))
            m.outages.labels(provider, "undeclared").set(len(h.undeclared))
            if h.undeclared_share is not None:
                m.undeclared.labels(provider).set(h.undeclared_share)
            for q in QUANTILES:
                for gauge, values in ((m.delay, h.delays), (m.resolution_lag, h.resolution_lags)):
                    value = quantile(values, q)
                    if value is not None:
                        gauge.labels(provider, str(q)).set(value)
            for impact in (IMPACT_OBSERVED, IMPACT_NONE, IMPACT_UNKNOWN):
                m.incidents.labels(provider, impact).set(h.impact_count(impact))
