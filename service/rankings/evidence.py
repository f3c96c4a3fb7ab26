"""Read the evidence scoring needs, as of a moment, from probe rollups, prices and incidents.

Windows end at `now` (so a past `now` replays what was known then). Counts come from hourly
rollups plus the raw rows of the partial hours at the edges, so a 30-day window costs a
few SQL sums, not 30 days of rows; TTFT quantiles come from mergeable sketches (within 1%).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from service.incidents.queries import declared_incident_minutes, incidents_between
from service.prices.queries import latest_prices, price_histories
from service.rankings.recent import recent_probes, recent_probes_by_region
from service.scoring.evidence import (
    AVAILABILITY_WINDOWS,
    CandidateEvidence,
    FactValue,
    HonestyFacts,
    IncidentHistory,
    LatencyStats,
    Price,
    RateStats,
    TimingStats,
    VoicePipelineFacts,
)
from service.scoring.sketch import Sketch
from service.store.honesty import latest_honesty
from service.store.rollup import (
    AVAILABILITY_KINDS,
    JUDGED_KINDS,
    Totals,
    WindowKey,
    availability,
    window_totals,
)
from service.store.voice import voice_timings

__all__ = ["CandidateFacts", "gather", "latest_prices"]



@dataclass(frozen=True)
class CandidateFacts:
    """What the config knows of a candidate, handed in by the caller."""

    candidate: str
    provider: str
    facts: Mapping[str, FactValue]
    sla_availability: float | None
    configured_price: Price | None = None  # a static price from the config
    quality_prior: FactValue | None = None
    voice_pipeline: VoicePipelineFacts | None = None  # a text model's configured STT + TTS


@dataclass(frozen=True)
class Windows:
    """How far back each kind of evidence reaches."""

    scoring_seconds: float  # latency and the gates
    rate_seconds: float  # tools, long context, quality
    state_seconds: float = 300.0  # the states' window (service/scoring/states.py)
    status_followed: frozenset[str] = frozenset()  # providers whose status page is read


INCIDENT_TREND_PERIOD = timedelta(days=90)


def incident_histories(session: Session, providers: Iterable[str], now: datetime
                       ) -> dict[str, IncidentHistory]:
    """Declared incidents of each provider whose status page is followed (maintenance apart):
    minutes per availability window, and counts by impact in the last two 90-day periods."""
    out = {}
    for provider in providers:
        declared = {name: round(declared_incident_minutes(
            session, provider, now - timedelta(seconds=seconds), now), 1)
            for name, seconds in AVAILABILITY_WINDOWS.items()}
        recent: Counter[str] = Counter()
        prior: Counter[str] = Counter()
        for incident in incidents_between(session, provider, now - 2 * INCIDENT_TREND_PERIOD,
                                          now):
            if incident.is_maintenance or incident.started_at > now:
                continue
            bucket = recent if incident.started_at >= now - INCIDENT_TREND_PERIOD else prior
            if incident.started_at >= now - 2 * INCIDENT_TREND_PERIOD:
                bucket[incident.impact or "none"] += 1
        out[provider] = IncidentHistory(declared, dict(recent), dict(prior))
    return out


def _latency(totals: Mapping[WindowKey, Totals]) -> dict[str, LatencyStats]:
    out = {}
    for (candidate_id, kind, _), t in totals.items():
        if kind != "latency" or t.ttft.count == 0:
            continue
        p50, p95, p99 = (t.ttft.quantile(q) for q in (0.5, 0.95, 0.99))
        assert p50 is not None and p95 is not None and p99 is not None
        out[candidate_id] = LatencyStats(t.ttft.count, p50, p95, p99, t.speed.quantile(0.5))
    return out


def _first_answers(totals: Mapping[WindowKey, Totals]) -> dict[str, TimingStats]:
    return {cid: _quantiles(t.first_answer) for (cid, kind, _), t in totals.items()
            if kind == "latency" and t.first_answer.count > 0}


def _quantiles(sketch: Sketch) -> TimingStats:
    p50, p95, p99 = (sketch.quantile(q) for q in (0.5, 0.95, 0.99))
    assert p50 is not None and p95 is not None and p99 is not None
    return TimingStats(sketch.count, p50, p95, p99)


def _rates(totals: Mapping[WindowKey, Totals], kind: str) -> dict[str, dict[int, RateStats]]:
    out: dict[str, dict[int, RateStats]] = defaultdict(dict)
    for (candidate_id, k, size), t in totals.items():
        if k == kind and t.judged_trials > 0:
            out[candidate_id][size] = RateStats(t.judged_successes, t.judged_trials,
                                                t.judged_runs)
    return out


def _merged(rates: dict[int, RateStats] | None) -> RateStats | None:
    if not rates:
        return None
    return RateStats(sum(r.successes for r in rates.values()),
                     sum(r.trials for r in rates.values()),
                     sum(r.samples for r in rates.values()))


def gather(session: Session, candidates: Iterable[CandidateFacts], now: datetime,
           windows: Windows) -> list[CandidateEvidence]:
    known = list(candidates)
    ids = [c.candidate for c in known]
    since = now - timedelta(seconds=windows.scoring_seconds)
    scoring = window_totals(session, ids, since, now, ("latency", "uptime"), sketches=True)
    in_window = availability({k: t for k, t in scoring.items() if k[1] in AVAILABILITY_KINDS})
    latency, first_answers = _latency(scoring), _first_answers(scoring)
    # Voice probes' first non-silent audio, the same quantiles as TTFT's (docs/scoring.md).
    first_speech = {cid: _quantiles(Sketch.of(values)) for cid, values in voice_timings(
        session, ids, since, now, "first_speech_seconds").items()}
    per_window = {
        name: availability(window_totals(session, ids, now - timedelta(seconds=seconds), now,
                                         AVAILABILITY_KINDS))
        for name, seconds in AVAILABILITY_WINDOWS.items()}
    judged = window_totals(session, ids, now - timedelta(seconds=windows.rate_seconds), now,
                           JUDGED_KINDS)
    tools, quality, long_context = (_rates(judged, k) for k in ("tools", "quality",
                                                                 "long_context"))
    histories = price_histories(session, ids, now)
    incidents = incident_histories(session, sorted(windows.status_followed), now)
    state_since = now - timedelta(seconds=windows.state_seconds)
    recent = recent_probes(session, ids, state_since, now)
    regional = recent_probes_by_region(session, ids, state_since, now)
    honesty = {p: HonestyFacts(r.outages, r.undeclared, r.median_delay_seconds)
               for p, r in latest_honesty(session, now).items()}
    return [
        CandidateEvidence(
            candidate=c.candidate, provider=c.provider, window_seconds=windows.scoring_seconds,
            facts=dict(c.facts), sla_availability=c.sla_availability,
            latency=latency.get(c.candidate), availability=in_window.get(c.candidate),
            # The stored price history wins; a configured static price counts before the
            # daemon has recorded it.
            price=histories[c.candidate][-1] if c.candidate in histories
            else c.configured_price,
            availability_windows={name: stats[c.candidate] for name, stats in per_window.items()
                                  if c.candidate in stats},
            tool_calls=_merged(tools.get(c.candidate)),
            quality=_merged(quality.get(c.candidate)), quality_prior=c.quality_prior,
            long_context=long_context.get(c.candidate, {}),
            incidents=incidents.get(c.provider),
            price_history=histories.get(c.candidate, ()), recent=recent.get(c.candidate),
            recent_by_region=regional.get(c.candidate, {}),
            honesty=honesty.get(c.provider), first_answer=first_answers.get(c.candidate),
            first_speech=first_speech.get(c.candidate), voice_pipeline=c.voice_pipeline)
        for c in known
    ]
