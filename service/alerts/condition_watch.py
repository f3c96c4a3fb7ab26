"""Watch the conditions that fire alerts: SLA burn rate, the 30-day error budget, probes
failing on our own configuration. The rules are pure (service/alerts/conditions.py); this
reads their inputs and saves each change of state as an event.

A condition that fires gets an alert_condition row and its event in one transaction; when
it clears, the row goes and the `<type>_resolved` event is saved with it. The row's primary
key keeps two replicas from opening the same condition twice (the second one's transaction
fails and the next pass finds the row).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.alerts.conditions import (
    BurnRule,
    Counts,
    ProbeOutcome,
    budget_exhausted,
    burn_rate,
    failing_on_config,
    monitor_down,
    sla_burn,
)
from service.sinks.events import severity_rank
from service.store.models import AlertCondition, ProbeResultRow, ProbeRollup
from service.store.outbox import record_event
from service.store.queries import availability_by_window

log = logging.getLogger(__name__)

MONTH_SECONDS = 30 * 86400.0


@dataclass(frozen=True)
class Watched:
    candidate: str
    provider: str
    sla: float | None  # the provider's committed availability


@dataclass
class Changes:
    opened: list[str]
    resolved: list[str]


def counts_by_window(session: Session, ids: Sequence[str], seconds: Sequence[float],
                     now: datetime) -> dict[float, dict[str, Counts]]:
    out: dict[float, dict[str, Counts]] = {}
    for window in sorted(set(seconds)):
        stats = availability_by_window(session, ids, now - timedelta(seconds=window), now)
        out[window] = {cid: Counts(s.ok, s.failed) for cid, s in stats.items()}
    return out


def first_probed(session: Session, ids: Sequence[str], since: datetime) -> dict[str, datetime]:
    """The hour of each candidate's oldest rollup since `since`: how far its probes reach."""
    r = ProbeRollup.__table__  # type: ignore[attr-defined]
    rows = session.execute(sa_select(r.c.candidate_id, func.min(r.c.bucket_start))
                           .where(r.c.candidate_id.in_(ids), r.c.bucket_start >= since)
                           .group_by(r.c.candidate_id)).all()
    return {cid: max(first, since) for cid, first in rows}


def latest_outcomes(session: Session, candidate: str, n: int) -> list[ProbeOutcome]:
    rows = session.exec(select(ProbeResultRow).where(ProbeResultRow.candidate_id == candidate)
                        .order_by(col(ProbeResultRow.started_at).desc()).limit(n)).all()
    return [ProbeOutcome(r.ok, r.error_class, r.http_status, r.error_message, r.started_at)
            for r in rows]


class ConditionWatch:
    def __init__(self, rules: Sequence[BurnRule], min_probes: int, failing_after: int) -> None:
        self.rules = list(rules)
        self.min_probes = min_probes
        self.failing_after = failing_after

    def evaluate(self, session: Session, watched: Sequence[Watched], now: datetime) -> Changes:
        """Open and resolve conditions as of `now` (call inside a transaction)."""
        self._open = {row.key: row for row in session.exec(select(AlertCondition)).all()}
        self._changes = Changes([], [])
        self._session, self._now = session, now
        ids = [w.candidate for w in watched]
        spans = [s for r in self.rules for s in (r.long_seconds, r.short_seconds)]
        windows = counts_by_window(session, ids, [*spans, MONTH_SECONDS], now)
        quiet = self._monitor_down(watched, windows)
        firsts = first_probed(session, ids, now - timedelta(seconds=MONTH_SECONDS))
        for w in watched:
            base = {"candidate": w.candidate, "provider": w.provider}
            if w.sla is not None:
                burning = None if quiet else sla_burn(
                    {s: windows[s].get(w.candidate, Counts()) for s in spans}, self.rules,
                    w.sla, self.min_probes)
                self._sla(w, base, burning)
                month = windows[MONTH_SECONDS].get(w.candidate, Counts())
                oldest = firsts.get(w.candidate)
                covered = (now - oldest).total_seconds() if oldest else 0.0
                exhausted = budget_exhausted(month, w.sla, self.min_probes, covered)
                self._set("error_budget_exhausted", w.candidate, "warning" if exhausted else None,
                          {**base, "sla": w.sla, "window": "30d", "probes": month.probes,
                           "failed": month.failed, "availability": month.availability})
            streak = failing_on_config(latest_outcomes(session, w.candidate,
                                                       self.failing_after), self.failing_after)
            first = streak[0] if streak else None
            self._set("probe_failing", w.candidate, "warning" if streak else None, {
                **base, "failures": len(streak or []),
                "error_class": first.error_class if first else None,
                "http_status": first.http_status if first else None,
                "error_message": first.error_message if first else None,
                "since": streak[-1].started_at.isoformat() if streak else None})
        for row in list(self._open.values()):
            if row.subject not in ids:  # no longer configured: nothing will clear it
                self._resolve(row, row.type, row.subject, {"candidate": row.subject,
                                                           "reason": "no longer watched"})
        return self._changes

    def _monitor_down(self, watched: Sequence[Watched],
                      windows: Mapping[float, Mapping[str, Counts]]) -> bool:
        if not self.rules:
            return False
        fastest = min(self.rules, key=lambda r: r.short_seconds)
        rates = {w.candidate: burn_rate(windows[fastest.short_seconds].get(w.candidate, Counts()),
                                        w.sla) for w in watched if w.sla is not None}
        down = monitor_down(rates, fastest.factor, {w.candidate: w.provider for w in watched})
        if down:
            log.warning("every probed provider is failing at once: taken as the monitor's own "
                        "outage, no sla_breach is raised")
        return down

    def _sla(self, w: Watched, base: dict[str, Any],
             burning: tuple[BurnRule, list[dict[str, Any]]] | None) -> None:
        payload = {**base, "sla": w.sla}
        if burning is not None:
            rule, figures = burning
            payload.update(windows=figures, threshold=rule.factor)
        self._set("sla_breach", w.candidate, burning[0].severity if burning else None, payload)

    def _set(self, type_: str, subject: str, severity: str | None,
             payload: dict[str, Any]) -> None:
        """Open, escalate or resolve one condition; `severity` None means it does not hold."""
        key = f"{type_}|candidate={subject}"
        row, now = self._open.get(key), self._now
        if severity is None:
            if row is not None:
                self._resolve(row, type_, subject, payload)
            return
        if row is not None and severity_rank(severity) <= severity_rank(row.severity):
            return  # still firing; a drop in severity is not news
        opened = row.opened_at if row is not None else now
        full = {**payload, "state": "firing", "episode": opened.isoformat(),
                "evaluated_at": now.isoformat()}
        if row is None:
            self._session.add(AlertCondition(key=key, type=type_, subject=subject,
                                             severity=severity, opened_at=now, updated_at=now,
                                             payload=full))
        else:
            row.severity, row.updated_at, row.payload = severity, now, full
            self._session.add(row)
        record_event(self._session, type_, f"{type_}:{subject}:{opened.isoformat()}:{severity}",
                     full, now, severity)
        self._changes.opened.append(key)

    def _resolve(self, row: AlertCondition, type_: str, subject: str,
                 payload: dict[str, Any]) -> None:
        gone = self._session.connection().execute(
            delete(AlertCondition.__table__).where(  # type: ignore[attr-defined]
                AlertCondition.__table__.c.key == row.key)).rowcount  # type: ignore[attr-defined]
        if not gone:
            return  # another replica resolved it first
        now, episode = self._now, row.opened_at.isoformat()
        full = {**payload, "state": "resolved", "episode": episode, "opened_at": episode,
                "severity_when_firing": row.severity, "evaluated_at": now.isoformat()}
        record_event(self._session, f"{type_}_resolved", f"{type_}_resolved:{subject}:{episode}",
                     full, now, "info")
        self._changes.resolved.append(row.key)

