"""Declared vs observed outages: pure functions over probe outcomes and declared incidents.

- A candidate is down in a UTC minute when it had availability-counting probes in that
  minute (kinds latency/uptime; 401/403 and 429 do not count: docs/scoring.md) and none
  succeeded. A provider is down in a minute when one of its candidates is: providers often
  declare incidents for one model ("Elevated errors for Claude Sonnet 5").
- The monitor's own outage: a minute in which every probed candidate of every provider was
  down. Those minutes are nobody's outage and are dropped. It takes two providers probed in
  that minute to tell: with one, the rule would hide every outage of that provider.
- Down minutes at most MAX_GAP_MINUTES apart form one episode (a probe every 60 s with
  jitter can leave a minute without a probe). An episode shorter than `min_minutes` is a
  blip, not an outage.
- An episode is declared when an incident (or a maintenance) overlaps it, give or take
  `slack`; the lead is how long after our first failed minute the provider's incident
  started (positive: we saw it first). An episode nobody declared within `grace` of its
  start is an undeclared outage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from service.incidents.spans import DeclaredSpan, union_minutes

MINUTE = timedelta(minutes=1)
MAX_GAP_MINUTES = 2
DEFAULT_MIN_MINUTES = 3
DEFAULT_SLACK = timedelta(minutes=15)
DEFAULT_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class ProbeOutcome:
    """One availability-counting probe (the caller leaves out the kinds and errors that
    do not count)."""

    provider: str
    candidate: str
    at: datetime
    ok: bool
    region: str = "local"  # the probing replica's (service/outages/regions.py)


@dataclass(frozen=True)
class Episode:
    provider: str
    start: datetime  # the first down minute
    end: datetime  # the end of the last down minute
    minutes: int  # down minutes in it (gaps not counted)


@dataclass(frozen=True)
class Verdict:
    episode: Episode
    declared_by: str | None  # the incident's external id
    lead_seconds: float | None  # incident start - our first failed minute


@dataclass(frozen=True)
class OutageSummary:
    provider: str
    declared_minutes: float
    observed_minutes: int
    undeclared_minutes: int
    verdicts: tuple[Verdict, ...]  # outages (episodes of min_minutes or more)

    @property
    def undeclared(self) -> tuple[Episode, ...]:
        return tuple(v.episode for v in self.verdicts if v.declared_by is None)

    @property
    def median_lead_seconds(self) -> float | None:
        leads = [v.lead_seconds for v in self.verdicts if v.lead_seconds is not None]
        return median(leads) if leads else None


def floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def down_minutes(outcomes: Iterable[ProbeOutcome]) -> tuple[dict[str, set[datetime]],
                                                              set[datetime]]:
    """Per provider, the minutes it was down; and the monitor's own outage minutes."""
    up: dict[datetime, dict[str, dict[str, bool]]] = defaultdict(lambda: defaultdict(dict))
    for o in outcomes:
        cell = up[floor_minute(o.at)][o.provider]
        cell[o.candidate] = cell.get(o.candidate, False) or o.ok
    down: dict[str, set[datetime]] = defaultdict(set)
    monitor: set[datetime] = set()
    for minute, providers in up.items():
        if len(providers) >= 2 and not any(any(c.values()) for c in providers.values()):
            monitor.add(minute)
            continue
        for provider, candidates in providers.items():
            if not all(candidates.values()):
                down[provider].add(minute)
    return dict(down), monitor


def episodes(provider: str, minutes: Iterable[datetime],
             max_gap: int = MAX_GAP_MINUTES) -> list[Episode]:
    out: list[Episode] = []
    start = last = None
    count = 0
    for minute in sorted(minutes):
        if last is not None and minute - last <= max_gap * MINUTE:
            last, count = minute, count + 1
            continue
        if start is not None and last is not None:
            out.append(Episode(provider, start, last + MINUTE, count))
        start, last, count = minute, minute, 1
    if start is not None and last is not None:
        out.append(Episode(provider, start, last + MINUTE, count))
    return out


def judge(episode: Episode, declared: Iterable[DeclaredSpan], until: datetime,
          slack: timedelta = DEFAULT_SLACK) -> Verdict:
    lo, hi = episode.start - slack, episode.end + slack
    overlapping = [d for d in declared if d.start <= hi and (d.end or until) >= lo]
    if not overlapping:
        return Verdict(episode, None, None)
    first = min(overlapping, key=lambda d: d.start)
    return Verdict(episode, first.external_id, (first.start - episode.start).total_seconds())


def summarize(provider: str, down: set[datetime], declared: list[DeclaredSpan],
              since: datetime, until: datetime, *, include_maintenance: bool = False,
              min_minutes: int = DEFAULT_MIN_MINUTES,
              slack: timedelta = DEFAULT_SLACK) -> OutageSummary:
    """Declared and observed outage figures of one provider over [since, until)."""
    in_window = {m for m in down if since <= m < until}
    spans = [(d.start, d.end) for d in declared if include_maintenance or not d.is_maintenance]
    verdicts = tuple(judge(e, declared, until, slack)
                     for e in episodes(provider, in_window) if e.minutes >= min_minutes)
    return OutageSummary(
        provider=provider, declared_minutes=union_minutes(spans, since, until),
        observed_minutes=len(in_window),
        undeclared_minutes=sum(v.episode.minutes for v in verdicts if v.declared_by is None),
        verdicts=verdicts)


def overdue(summary: OutageSummary, now: datetime,
            grace: timedelta = DEFAULT_GRACE) -> list[Episode]:
    """Undeclared outages that began at least `grace` ago: time to say so."""
    return [e for e in summary.undeclared if now - e.start >= grace]
