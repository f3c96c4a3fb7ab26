"""Declared vs observed outages per provider, from stored probe results and incidents.

The rules live in service/outages/judge.py (pure); this reads their inputs and saves an
`outage_undeclared` event for each outage the provider had not declared in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from probes.result import NOT_AN_OUTAGE
from service.incidents.queries import declared_spans
from service.outages.honesty import Honesty, judge_honesty, observe
from service.outages.judge import (
    DEFAULT_GRACE,
    OutageSummary,
    ProbeOutcome,
    overdue,
    summarize,
)
from service.outages.regions import episode_regions, regional_down_minutes
from service.store.models import ProbeResultRow
from service.store.outbox import record_event
from service.store.rollup import AVAILABILITY_KINDS


def probe_outcomes(session: Session, providers: Mapping[str, str], since: datetime,
                   until: datetime) -> list[ProbeOutcome]:
    """Availability-counting probes of the candidates in `providers` (candidate -> provider)."""
    rows = session.exec(
        select(ProbeResultRow.candidate_id, ProbeResultRow.started_at, ProbeResultRow.ok,
               ProbeResultRow.region)
        .where(col(ProbeResultRow.candidate_id).in_(list(providers)),
               col(ProbeResultRow.kind).in_(AVAILABILITY_KINDS),
               ProbeResultRow.started_at >= since, ProbeResultRow.started_at < until,
               or_(col(ProbeResultRow.error_class).is_(None),
                   col(ProbeResultRow.error_class).not_in([str(e) for e in NOT_AN_OUTAGE])))
    ).all()
    return [ProbeOutcome(providers[cid], cid, at, ok, region) for cid, at, ok, region in rows]


def outage_summaries(session: Session, providers: Mapping[str, str], since: datetime,
                     until: datetime, quorum: int = 1) -> dict[str, OutageSummary]:
    """Declared and observed outage figures for every provider that has candidates."""
    return outage_check(session, providers, since, until, quorum)[0]


def outage_check(session: Session, providers: Mapping[str, str], since: datetime,
                 until: datetime, quorum: int = 1
                 ) -> tuple[dict[str, OutageSummary], dict[str, dict[datetime, tuple[str, ...]]]]:
    """The summaries, and per provider the regions that saw each down minute (several
    regions: a minute is down when `quorum` of them agree, service/outages/regions.py)."""
    seen = regional_down_minutes(probe_outcomes(session, providers, since, until), quorum)
    return ({provider: summarize(provider, seen.down.get(provider, set()),
                                 declared_spans(session, provider, since, until), since, until)
             for provider in sorted(set(providers.values()))}, seen.regions)


def record_undeclared(session: Session, summaries: Mapping[str, OutageSummary],
                      now: datetime, grace_seconds: float = DEFAULT_GRACE.total_seconds(),
                      regions: Mapping[str, dict[datetime, tuple[str, ...]]] | None = None
                      ) -> int:
    """Save one outage_undeclared event per overdue undeclared outage; returns how many.
    `regions` (outage_check's) names the regions that agreed, when several probe."""
    added = 0
    for provider, summary in summaries.items():
        for episode in overdue(summary, now, timedelta(seconds=grace_seconds)):
            payload = {"provider": provider, "started_at": episode.start.isoformat(),
                       "ended_at": episode.end.isoformat(), "down_minutes": episode.minutes,
                       "declared_minutes_in_window": round(summary.declared_minutes, 1),
                       "regions": episode_regions((regions or {}).get(provider, {}),
                                                  episode.start, episode.end)}
            added += record_event(session, "outage_undeclared",
                                  f"outage_undeclared:{provider}:{episode.start.isoformat()}",
                                  payload, now, severity="warning")
    return added


def honesty_figures(session: Session, providers: Mapping[str, str], since: datetime,
                    until: datetime, quorum: int = 1) -> dict[str, Honesty]:
    """Status-page honesty of every provider that has candidates (service/outages/honesty.py)."""
    seen = observe(probe_outcomes(session, providers, since, until), quorum)
    return {provider: judge_honesty(provider, seen.down.get(provider, set()),
                                    seen.covered.get(provider, set()),
                                    declared_spans(session, provider, since, until), since, until)
            for provider in sorted(set(providers.values()))}
