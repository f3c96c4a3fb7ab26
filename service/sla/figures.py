"""SLA reality vs commitment: observed availability per window against the committed SLA.

One reading of the store serves /metrics (at scrape time), the JSON API and the overview
page, so the three never disagree. Availability follows docs/scoring.md (401/403 and 429 do not
count); windows are those the reliability factor scores (1h, 24h, 7d, 30d). Counts come from
hourly rollups plus the raw rows of the partial hours, so a 30-day window costs a few sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from service.config import Settings
from service.incidents.queries import open_incident_counts
from service.prices.queries import latest_prices
from service.scoring.evidence import AVAILABILITY_WINDOWS, AvailabilityStats, Price
from service.store.queries import availability_by_window, last_probe_times, regions_seen


@dataclass(frozen=True)
class WindowFigures:
    """One candidate over one window; the budget figures need a committed SLA."""

    window: str
    stats: AvailabilityStats
    error_budget_remaining: float | None = None  # 1 = untouched, 0 = spent, < 0 = overspent
    burn_rate: float | None = None  # 1 spends the budget exactly over the SLA period

    @property
    def availability(self) -> float | None:
        return self.stats.ratio


@dataclass(frozen=True)
class SlaRow:
    candidate: str
    provider: str
    committed: float | None
    windows: dict[str, WindowFigures]


@dataclass(frozen=True)
class OpsSnapshot:
    """What the operations collector exports: one read of the store per scrape."""

    sla: list[SlaRow]
    incidents_open: dict[str, int]  # every configured provider, 0 included
    prices: dict[str, Price]  # latest price per candidate
    providers: dict[str, str]  # candidate -> provider
    last_probe: dict[tuple[str, str], datetime] = field(default_factory=dict)
    probe_interval: dict[tuple[str, str], float] = field(default_factory=dict)
    # (candidate, region, window) -> availability in that region alone
    by_region: dict[tuple[str, str, str], AvailabilityStats] = field(default_factory=dict)


def budget(stats: AvailabilityStats, committed: float | None
           ) -> tuple[float | None, float | None]:
    """(error budget remaining, burn rate) of a window, the reliability factor's arithmetic."""
    ratio = stats.ratio
    if ratio is None or committed is None or committed >= 1:
        return None, None
    burn = (1 - ratio) / (1 - committed)
    return round(1 - burn, 6), round(burn, 6)


def enabled_candidates(settings: Settings) -> dict[str, str]:
    """candidate -> provider for every enabled candidate, sorted by id."""
    return {cid: c.provider for cid, c in sorted(settings.candidates.items()) if c.enabled}


def committed_sla(settings: Settings, provider: str) -> float | None:
    cfg = settings.providers.get(provider)
    return cfg.sla.availability if cfg is not None and cfg.sla is not None else None


def sla_rows(session: Session, settings: Settings, now: datetime,
             only: Sequence[str] | None = None) -> list[SlaRow]:
    """One row per enabled candidate (or those in `only`), every window."""
    providers = {c: p for c, p in enabled_candidates(settings).items()
                 if only is None or c in only}
    per_window = {name: availability_by_window(session, list(providers),
                                               now - timedelta(seconds=seconds), now)
                  for name, seconds in AVAILABILITY_WINDOWS.items()}
    rows = []
    for cid, provider in providers.items():
        committed = committed_sla(settings, provider)
        windows = {}
        for name, stats_by_candidate in per_window.items():
            stats = stats_by_candidate.get(cid, AvailabilityStats(0, 0))
            windows[name] = WindowFigures(name, stats, *budget(stats, committed))
        rows.append(SlaRow(cid, provider, committed, windows))
    return rows


REGION_WINDOWS = ("1h", "24h")  # per-region figures: the windows a regional outage shows in


def availability_by_region(session: Session, ids: list[str], now: datetime
                           ) -> dict[tuple[str, str, str], AvailabilityStats]:
    """Each region's own availability per candidate, for the regions that probed lately."""
    out = {}
    for region in regions_seen(session, now - timedelta(seconds=AVAILABILITY_WINDOWS["30d"])):
        for name in REGION_WINDOWS:
            since = now - timedelta(seconds=AVAILABILITY_WINDOWS[name])
            for cid, stats in availability_by_window(session, ids, since, now,
                                                     region).items():
                out[(cid, region, name)] = stats
    return out


def ops_snapshot(session: Session, settings: Settings, now: datetime) -> OpsSnapshot:
    providers = enabled_candidates(settings)
    counts = open_incident_counts(session)
    # An adaptive probe may wait up to its max_every: the longest the config lets it wait.
    schedules = {(cid, kind): s.adaptive.max_every if s.adaptive else s.every
                 for cid in providers for kind, s in settings.candidates[cid].probes.items()}
    return OpsSnapshot(
        sla=sla_rows(session, settings, now),
        incidents_open={p: counts.get(p, 0) for p in sorted(settings.providers)},
        prices=latest_prices(session, list(providers), now),
        providers=providers,
        last_probe=last_probe_times(session, list(schedules)),
        probe_interval=schedules,
        by_region=availability_by_region(session, list(providers), now))
