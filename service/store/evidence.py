"""Read the evidence scoring needs for a window, from the stored probe results and prices.

Counting is done in SQL (one GROUP BY per window); TTFT quantiles are taken over the
window's successful latency samples, which for one process is at most a few thousand
values per candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from probes.result import ErrorClass
from service.scoring.evidence import (
    AvailabilityStats,
    CandidateEvidence,
    FactValue,
    LatencyStats,
    Price,
)
from service.scoring.stats import quantile
from service.store.models import PricePoint, ProbeResultRow

# Probe kinds whose outcomes say whether the API serves (availability).
AVAILABILITY_KINDS = ("latency", "uptime")


@dataclass(frozen=True)
class CandidateFacts:
    """What the config knows of a candidate, handed in by the caller."""

    candidate: str
    provider: str
    facts: Mapping[str, FactValue]
    sla_availability: float | None
    configured_price: Price | None = None  # a static price from the config


def availability_counts(session: Session, ids: list[str], since: datetime, until: datetime
                        ) -> dict[str, AvailabilityStats]:
    rows = session.exec(
        select(ProbeResultRow.candidate_id, ProbeResultRow.ok, ProbeResultRow.error_class,
               func.count())
        .where(col(ProbeResultRow.candidate_id).in_(ids),
               col(ProbeResultRow.kind).in_(AVAILABILITY_KINDS),
               ProbeResultRow.started_at >= since, ProbeResultRow.started_at <= until)
        .group_by(col(ProbeResultRow.candidate_id), col(ProbeResultRow.ok),
                  col(ProbeResultRow.error_class))
    ).all()
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for candidate_id, ok, error_class, count in rows:
        if ok:
            tallies[candidate_id]["ok"] += count
        elif error_class == ErrorClass.AUTH:
            tallies[candidate_id]["config_errors"] += count
        elif error_class == ErrorClass.RATE_LIMITED:
            tallies[candidate_id]["throttled"] += count
        else:
            tallies[candidate_id]["failed"] += count
    return {cid: AvailabilityStats(ok=t["ok"], failed=t["failed"], throttled=t["throttled"],
                                   config_errors=t["config_errors"])
            for cid, t in tallies.items()}


def latency_stats(session: Session, ids: list[str], since: datetime, until: datetime
                  ) -> dict[str, LatencyStats]:
    rows = session.exec(
        select(ProbeResultRow.candidate_id, ProbeResultRow.ttft_seconds,
               ProbeResultRow.output_tokens_per_second)
        .where(col(ProbeResultRow.candidate_id).in_(ids), ProbeResultRow.kind == "latency",
               ProbeResultRow.ok == True,  # noqa: E712 (SQL expression)
               col(ProbeResultRow.ttft_seconds).is_not(None),
               ProbeResultRow.started_at >= since, ProbeResultRow.started_at <= until)
    ).all()
    ttfts: dict[str, list[float]] = defaultdict(list)
    speeds: dict[str, list[float]] = defaultdict(list)
    for candidate_id, ttft, speed in rows:
        if ttft is None:  # excluded by the query; keeps the type checker honest
            continue
        ttfts[candidate_id].append(ttft)
        if speed is not None:
            speeds[candidate_id].append(speed)
    out = {}
    for cid, values in ttfts.items():
        values.sort()
        speed_values = sorted(speeds[cid])
        out[cid] = LatencyStats(
            samples=len(values), ttft_p50=quantile(values, 0.5),
            ttft_p95=quantile(values, 0.95), ttft_p99=quantile(values, 0.99),
            output_tokens_per_second_p50=quantile(speed_values, 0.5) if speed_values else None)
    return out


def latest_prices(session: Session, ids: list[str], at: datetime) -> dict[str, Price]:
    rows = session.exec(
        select(PricePoint).where(col(PricePoint.candidate_id).in_(ids),
                                 PricePoint.effective_at <= at)
        .order_by(col(PricePoint.candidate_id), col(PricePoint.effective_at), col(PricePoint.id))
    ).all()
    prices: dict[str, Price] = {}
    for row in rows:  # ordered by time: the last one per candidate wins
        prices[row.candidate_id] = Price(row.input_per_mtok, row.output_per_mtok,
                                         row.cached_input_per_mtok, row.source, row.effective_at)
    return prices


def gather(session: Session, candidates: Iterable[CandidateFacts], now: datetime,
           window_seconds: float) -> list[CandidateEvidence]:
    known = list(candidates)
    ids = [c.candidate for c in known]
    since = now - timedelta(seconds=window_seconds)
    availability = availability_counts(session, ids, since, now)
    latency = latency_stats(session, ids, since, now)
    prices = latest_prices(session, ids, now)
    return [
        CandidateEvidence(candidate=c.candidate, provider=c.provider,
                          window_seconds=window_seconds, facts=dict(c.facts),
                          sla_availability=c.sla_availability,
                          latency=latency.get(c.candidate),
                          availability=availability.get(c.candidate),
                          # The stored price history wins; a configured static price
                          # counts before the daemon has recorded it.
                          price=prices.get(c.candidate, c.configured_price))
        for c in known
    ]
