"""Degraded by latency, in the scoring pass: read the figures, judge, mark, remember, announce.

The judgement is pure (service/scoring/baseline.py); this reads its inputs and keeps its
memory. The current TTFT p95 comes from the raw results of the last `window`; the baseline
from the hourly rollups' sketches over the `baseline` whole hours before that window (cheap:
one row per hour). A candidate that is degraded has an `alert_condition` row,
`latency_degraded|candidate=<id>`, holding when it entered and the baseline it entered
against: that row is the memory the hysteresis needs from one pass to the next. Entering
saves the row and a `latency_degraded` event; leaving deletes it and saves
`latency_degraded_resolved`; both in the scoring pass's transaction, so an event never exists
without the ranking that shows it. Each event is one candidate's change; the sinks group the
events of one pass into one message (docs/alerts.md, group_wait).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.config import Settings
from service.scoring.baseline import (
    QUANTILE,
    Degradation,
    LatencyFigure,
    LatencyRules,
    LatencyVerdict,
    enter_level,
    exit_level,
    judge_latency,
)
from service.scoring.ranking import Ranking
from service.scoring.sketch import Sketch
from service.scoring.states import DEGRADED, SERVING
from service.store.models import AlertCondition, ProbeRollup
from service.store.outbox import record_event
from service.store.rollup import floor_hour, window_totals

TYPE = "latency_degraded"
KEY = TYPE + "|candidate={}"
OFF = "latency judgement turned off (scoring.states.latency.enabled: false)"


def latency_rules(settings: Settings) -> LatencyRules:
    cfg = settings.scoring.states.latency
    return LatencyRules(window_seconds=cfg.window, baseline_seconds=cfg.baseline,
                        min_samples=cfg.min_samples,
                        min_baseline_samples=cfg.min_baseline_samples,
                        enter_ratio=cfg.enter_ratio, exit_ratio=cfg.exit_ratio,
                        min_increase_seconds=cfg.min_increase)


def ttft_p95(session: Session, ids: Sequence[str], since: datetime, until: datetime
             ) -> dict[str, LatencyFigure]:
    """TTFT p95 of successful latency probes per candidate, all regions together."""
    totals = window_totals(session, ids, since, until, ("latency",), sketches=True)
    return _figures({candidate: t.ttft for (candidate, _, _), t in totals.items()})


def baseline_p95(session: Session, ids: Sequence[str], since: datetime, until: datetime
                 ) -> dict[str, LatencyFigure]:
    """TTFT p95 per candidate from the latency rollups of the hours in [since, until)."""
    r = ProbeRollup.__table__  # type: ignore[attr-defined]
    sketches: dict[str, Sketch] = defaultdict(Sketch)
    for candidate, ttft in session.execute(
            sa_select(r.c.candidate_id, r.c.ttft).where(
                r.c.candidate_id.in_(ids), r.c.kind == "latency", r.c.bucket_start >= since,
                r.c.bucket_start < until)):
        sketches[candidate].merge(Sketch.from_json(ttft))
    return _figures(sketches)


def _figures(sketches: Mapping[str, Sketch]) -> dict[str, LatencyFigure]:
    return {candidate: LatencyFigure(p95, sketch.count) for candidate, sketch in sketches.items()
            for p95 in (sketch.quantile(QUANTILE),) if p95 is not None}


def baseline_span(rules: LatencyRules, now: datetime) -> tuple[datetime, datetime]:
    """The baseline's [since, until): the hours before the hour the current window starts in
    (whole hours: the rollups answer it)."""
    until = floor_hour(now - timedelta(seconds=rules.window_seconds))
    return until - timedelta(seconds=rules.baseline_seconds), until


def open_degradations(session: Session) -> dict[str, AlertCondition]:
    return {row.subject: row for row in session.exec(
        select(AlertCondition).where(col(AlertCondition.type) == TYPE)).all()}


def _previous(row: AlertCondition) -> Degradation:
    base = row.payload.get("baseline") or {}
    return Degradation(row.opened_at, LatencyFigure(float(base.get("p95_seconds") or 0.0),
                                                    int(base.get("samples") or 0)))


def judge_all(session: Session, ids: Sequence[str], rules: LatencyRules, now: datetime,
              degraded: Mapping[str, AlertCondition]) -> dict[str, LatencyVerdict]:
    """This pass's verdict for each candidate. The baseline is read only for candidates not
    degraded: a degraded one is compared with the baseline it entered against."""
    current = ttft_p95(session, ids, now - timedelta(seconds=rules.window_seconds), now)
    fresh = [c for c in ids if c not in degraded]
    since, until = baseline_span(rules, now)
    baselines = baseline_p95(session, fresh, since, until) if fresh else {}
    return {c: judge_latency(current.get(c), baselines.get(c),
                             _previous(degraded[c]) if c in degraded else None, rules, now)
            for c in ids}


def payload(candidate: str, provider: str | None, verdict: LatencyVerdict,
            rules: LatencyRules, now: datetime) -> dict[str, Any]:
    """What an event and the memory row hold: both figures, their windows, the levels."""
    base, cur = verdict.baseline, verdict.current
    return {
        "candidate": candidate, "provider": provider, "reason": verdict.reason,
        "current_p95_seconds": cur.p95 if cur else None,
        "baseline_p95_seconds": base.p95 if base else None,
        "ratio": round(verdict.ratio, 3) if verdict.ratio is not None else None,
        "current": {"p95_seconds": cur.p95 if cur else None,
                    "samples": cur.samples if cur else 0, "window_seconds": rules.window_seconds},
        "baseline": {"p95_seconds": base.p95 if base else None,
                     "samples": base.samples if base else 0,
                     "window_seconds": rules.baseline_seconds},
        "enter_ratio": rules.enter_ratio, "exit_ratio": rules.exit_ratio,
        "min_increase_seconds": rules.min_increase_seconds,
        "enter_level_seconds": enter_level(base.p95, rules) if base else None,
        "exit_level_seconds": exit_level(base.p95, rules) if base else None,
        "evaluated_at": now.isoformat(),
    }


def remember(session: Session, verdicts: Mapping[str, LatencyVerdict],
             degraded: Mapping[str, AlertCondition], providers: Mapping[str, str],
             rules: LatencyRules, now: datetime) -> None:
    """Save each change: the memory row and its event, in the caller's transaction."""
    for candidate, verdict in sorted(verdicts.items()):
        if not verdict.changed:
            continue
        body = payload(candidate, providers.get(candidate), verdict, rules, now)
        if verdict.degraded:
            episode = now.isoformat()
            body.update(state="firing", episode=episode)
            session.add(AlertCondition(key=KEY.format(candidate), type=TYPE, subject=candidate,
                                       severity="warning", opened_at=now, updated_at=now,
                                       payload=body))
            record_event(session, TYPE, f"{TYPE}:{candidate}:{episode}", body, now, "warning")
        else:
            _resolve(session, degraded[candidate], body, now)


def _resolve(session: Session, row: AlertCondition, body: dict[str, Any],
             now: datetime) -> None:
    table = AlertCondition.__table__  # type: ignore[attr-defined]
    gone = session.connection().execute(delete(table).where(table.c.key == row.key)).rowcount
    if not gone:
        return  # resolved meanwhile (the conditions job resolves unwatched candidates)
    episode = row.opened_at.isoformat()
    body.update(state="resolved", episode=episode, opened_at=episode,
                severity_when_firing=row.severity)
    record_event(session, f"{TYPE}_resolved", f"{TYPE}_resolved:{row.subject}:{episode}",
                 body, now, "info")


def marked(rankings: Iterable[Ranking], verdicts: Mapping[str, LatencyVerdict]
           ) -> list[Ranking]:
    """Rankings with each serving candidate degraded by latency marked `degraded`, with the
    verdict's reason. Failure-based states come first: a candidate down, throttled or
    degraded by failures keeps that state. The order does not change: degraded and serving
    rank alike."""
    out = []
    for ranking in rankings:
        entries = tuple(
            replace(e, state=DEGRADED, state_reason=verdicts[e.candidate].reason)
            if e.state == SERVING and e.candidate in verdicts
            and verdicts[e.candidate].degraded else e
            for e in ranking.entries)
        out.append(replace(ranking, entries=entries))
    return out


def judge_latencies(session: Session, settings: Settings, rankings: list[Ranking],
                    now: datetime) -> list[Ranking]:
    """The scoring pass's hook: judge every enabled candidate, remember and announce the
    changes, and return the rankings with the latency-degraded candidates marked."""
    degraded = open_degradations(session)
    if not settings.scoring.states.latency.enabled:
        for row in degraded.values():  # nothing would ever resolve them
            _resolve(session, row, {"candidate": row.subject, "reason": OFF}, now)
        return rankings
    rules = latency_rules(settings)
    providers = {cid: c.provider for cid, c in settings.candidates.items() if c.enabled}
    verdicts = judge_all(session, sorted(providers), rules, now, degraded)
    remember(session, verdicts, degraded, providers, rules, now)
    return marked(rankings, verdicts)
