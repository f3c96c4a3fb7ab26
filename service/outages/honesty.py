"""Status-page honesty: how a provider's declared incidents compare with the outages the
probes observed. Pure; the definitions are in docs/alerts.md ("Status-page honesty").

- Observed outages are the episodes of service/outages/judge.py (down minutes at most 2
  apart, 3 down minutes or more). An incident (or maintenance) matches an outage when it
  overlaps it give or take `slack` (15 minutes), as in judge.judge; each outage is assigned
  to the earliest-starting incident that matches it.
- Per incident with outages assigned: the declaration delay is the incident's start minus the
  first assigned outage's start (positive: declared late; negative: declared before we saw
  it), and, once both ended, the resolution lag is the incident's resolution minus the last
  assigned outage's end (negative: "resolved" came before the probes recovered).
- An outage that began less than `grace` (30 minutes) before the end of the window is
  pending: too early to call it undeclared, so it is in no figure.
- A declared incident (maintenance excluded) had impact when the provider was down in at
  least one minute of its span, give or take `slack`; no impact when it had none and the
  probes covered at least COVERED_SHARE of its span's minutes; unknown otherwise.
- Quantiles interpolate linearly between the closest ranks (`quantile`), so the median of
  an even count is the mean of the two middle values.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.incidents.spans import DeclaredSpan
from service.outages.judge import (
    DEFAULT_GRACE,
    DEFAULT_MIN_MINUTES,
    DEFAULT_SLACK,
    MAX_GAP_MINUTES,
    MINUTE,
    Episode,
    ProbeOutcome,
    episodes,
    floor_minute,
)
from service.outages.regions import regional_down_minutes

COVERED_SHARE = 0.5  # of a declared incident's minutes with probes, to say "no impact"
IMPACT_OBSERVED, IMPACT_NONE, IMPACT_UNKNOWN = "observed", "none", "unknown"


@dataclass(frozen=True)
class Observations:
    """Per provider, its down minutes and the minutes its probes covered (the monitor's own
    outage minutes are in neither: they tell nothing about the provider)."""

    down: dict[str, set[datetime]]
    covered: dict[str, set[datetime]]


def observe(outcomes: Iterable[ProbeOutcome], quorum: int = 1) -> Observations:
    """Down minutes as the outage job counts them, with the regional quorum
    (service/outages/regions.py)."""
    seen = list(outcomes)
    regional = regional_down_minutes(seen, quorum)
    down, monitor = regional.down, regional.monitor
    covered: dict[str, set[datetime]] = defaultdict(set)
    for o in seen:
        minute = floor_minute(o.at)
        if minute not in monitor:
            covered[o.provider].add(minute)
    return Observations(down, dict(covered))


@dataclass(frozen=True)
class Declaration:
    """A declared incident and the observed outages assigned to it."""

    incident: DeclaredSpan
    outages: tuple[Episode, ...]
    delay_seconds: float  # incident start - first outage start (positive: late)
    resolution_lag_seconds: float | None  # resolved - last outage end (negative: early)


@dataclass(frozen=True)
class IncidentImpact:
    incident: DeclaredSpan
    impact: str  # IMPACT_OBSERVED | IMPACT_NONE | IMPACT_UNKNOWN
    covered_share: float  # of its minutes (in the window) that had probes


@dataclass(frozen=True)
class Honesty:
    """One provider's figures over [since, until)."""

    provider: str
    since: datetime
    until: datetime
    outages: tuple[Episode, ...]  # judged outages (pending ones left out)
    undeclared: tuple[Episode, ...]
    declarations: tuple[Declaration, ...]
    incidents: tuple[IncidentImpact, ...]  # declared incidents, maintenance excluded

    @property
    def undeclared_share(self) -> float | None:
        return len(self.undeclared) / len(self.outages) if self.outages else None

    @property
    def delays(self) -> list[float]:
        return sorted(d.delay_seconds for d in self.declarations)

    @property
    def resolution_lags(self) -> list[float]:
        return sorted(d.resolution_lag_seconds for d in self.declarations
                      if d.resolution_lag_seconds is not None)

    def impact_count(self, impact: str) -> int:
        return sum(1 for i in self.incidents if i.impact == impact)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (h = (n - 1) q); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def _matches(d: DeclaredSpan, e: Episode, until: datetime, slack: timedelta) -> bool:
    return d.start <= e.end + slack and (d.end or until) >= e.start - slack


def _recovered(e: Episode, until: datetime) -> bool:
    """Whether the probes saw the end of the outage: no down minute could still join it."""
    return until - e.end > MAX_GAP_MINUTES * MINUTE


def _impact(d: DeclaredSpan, down: set[datetime], covered: set[datetime], since: datetime,
            until: datetime, slack: timedelta) -> IncidentImpact:
    start, end = max(d.start, since), min(d.end or until, until)
    lo, hi = d.start - slack, (d.end or until) + slack
    minutes = [floor_minute(start) + i * MINUTE
               for i in range(max(1, math.ceil((end - floor_minute(start)) / MINUTE)))]
    share = sum(1 for minute in minutes if minute in covered) / len(minutes)
    if any(lo <= minute < hi for minute in down):
        return IncidentImpact(d, IMPACT_OBSERVED, share)
    return IncidentImpact(d, IMPACT_NONE if share >= COVERED_SHARE else IMPACT_UNKNOWN, share)


def judge_honesty(provider: str, down: set[datetime], covered: set[datetime],
                  declared: Iterable[DeclaredSpan], since: datetime, until: datetime, *,
                  min_minutes: int = DEFAULT_MIN_MINUTES, slack: timedelta = DEFAULT_SLACK,
                  grace: timedelta = DEFAULT_GRACE) -> Honesty:
    """The figures of one provider over [since, until): outages from its down minutes in the
    window, incidents (and maintenances) that overlap it."""
    spans = sorted(declared, key=lambda d: (d.start, d.external_id))
    in_window = {m for m in down if since <= m < until}
    judged = [e for e in episodes(provider, in_window)
              if e.minutes >= min_minutes and until - e.start >= grace]
    assigned: dict[str, list[Episode]] = defaultdict(list)
    undeclared = []
    for e in judged:
        first = next((d for d in spans if _matches(d, e, until, slack)), None)
        if first is None:
            undeclared.append(e)
        else:
            assigned[first.external_id].append(e)
    declarations = []
    for d in spans:
        outs = assigned.get(d.external_id)
        if not outs:
            continue
        lag = None
        if d.end is not None and _recovered(outs[-1], until):
            lag = (d.end - outs[-1].end).total_seconds()
        declarations.append(Declaration(d, tuple(outs), (d.start - outs[0].start).total_seconds(),
                                        lag))
    incidents = tuple(_impact(d, in_window, covered, since, until, slack) for d in spans
                      if not d.is_maintenance and d.start < until and (d.end or until) > since)
    return Honesty(provider, since, until, tuple(judged), tuple(undeclared),
                   tuple(declarations), incidents)


def month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(at: datetime) -> datetime:
    start = month_start(at)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 \
        else start.replace(month=start.month + 1)


def by_month(h: Honesty) -> list[Honesty]:
    """The figures split by calendar month (UTC), oldest first: an outage counts in the month
    it began, a declaration in the month of its first outage, an incident in the month it
    was declared (or the window's first month, for one declared before the window)."""
    months: list[datetime] = []
    at = month_start(h.since)
    while at < h.until:
        months.append(at)
        at = next_month(at)

    def month_of(t: datetime) -> datetime:
        return month_start(max(t, h.since))

    out = []
    for start in months:
        out.append(Honesty(
            h.provider, max(start, h.since), min(next_month(start), h.until),
            tuple(e for e in h.outages if month_of(e.start) == start),
            tuple(e for e in h.undeclared if month_of(e.start) == start),
            tuple(d for d in h.declarations if month_of(d.outages[0].start) == start),
            tuple(i for i in h.incidents if month_of(i.incident.start) == start)))
    return out
