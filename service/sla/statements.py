"""Monthly SLA statements: each contracted provider's month under its own definition
(service/sla/contract.py), kept in the `sla_statement` table, with the credit estimate.

Raw probe results may be kept for as little as 30 days, less than a month. So a statement
keeps its per-day interval counts, and a UTC day is counted from the raw results once, the
first time it is computed after it ended (plus SETTLE for late writes): a closed month keeps
its first days even after their raw results are gone. A day computed after its raw results
were deleted has no coverage, and says so; it never counts as downtime. `data` in each
statement names what it was computed from.

The lease holder refreshes the current month every REFRESH_EVERY, and finalises the previous
month once; a month on course to spend its error budget saves one `sla_month_at_risk` event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from probes.result import ErrorClass
from service.config import Settings
from service.config.contract import ContractConfig
from service.incidents.queries import declared_spans
from service.incidents.spans import clipped_union
from service.prices.queries import latest_prices
from service.scoring.cost import Volume, estimate
from service.sla.contract import (
    Counts,
    Tally,
    Terms,
    Tier,
    count,
    interval_of,
    intervals_in,
    judge_month,
    own_outage,
)
from service.store.models import ProbeResultRow, SlaStatementRow, TopChoice
from service.store.outbox import record_event
from service.store.rollup import AVAILABILITY_KINDS
from service.store.types import utcnow

log = logging.getLogger(__name__)

REFRESH_EVERY = 900.0  # seconds
SETTLE = timedelta(hours=1)  # a day is frozen this long after it ends
DAY = timedelta(days=1)
# Our own side's failures (a key, a model name): never the provider's downtime.
NOT_COUNTED = frozenset({ErrorClass.AUTH.value, ErrorClass.HTTP_4XX.value,
                         ErrorClass.MONITOR.value})


def parse_month(text: str) -> date:
    """YYYY-MM -> its first day; ValueError with the expected form otherwise."""
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"expected a month as YYYY-MM (e.g. 2026-11), got {text!r}") from None


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, nxt


def month_of(at: datetime) -> date:
    return date(at.year, at.month, 1)


def previous_month(month: date) -> date:
    return (datetime(month.year, month.month, 1) - timedelta(days=1)).date().replace(day=1)


def contracted(settings: Settings) -> dict[str, tuple[float, ContractConfig]]:
    """provider -> (committed availability, contract) for providers with a contract and at
    least one enabled candidate."""
    used = {c.provider for c in settings.candidates.values() if c.enabled}
    return {pid: (p.sla.availability, p.sla.contract)
            for pid, p in sorted(settings.providers.items())
            if pid in used and p.sla is not None and p.sla.contract is not None}


def terms_of(committed: float, contract: ContractConfig) -> Terms:
    return Terms(committed=committed, interval_seconds=int(contract.interval),
                 tiers=tuple(Tier(t.below, t.at_least, t.credit) for t in contract.tiers),
                 down_error_rate=contract.down_error_rate, min_probes=contract.min_probes,
                 exclude_rate_limited="rate_limited" in contract.exclude,
                 exclude_maintenance="maintenance" in contract.exclude)


def terms_json(committed: float, contract: ContractConfig) -> dict[str, Any]:
    return {"committed": committed, "interval_seconds": int(contract.interval),
            "down_error_rate": contract.down_error_rate, "min_probes": contract.min_probes,
            "exclude": list(contract.exclude),
            "tiers": [{"at_least": t.at_least, "below": t.below, "credit": t.credit}
                      for t in contract.tiers],
            "source": contract.source,
            "as_of": contract.as_of.isoformat() if contract.as_of else None}


# --- reading the inputs --------------------------------------------------------------------


def tallies(session: Session, settings: Settings, since: datetime, until: datetime,
            month_start: datetime, seconds: int, rate_limited_fails: dict[str, bool]
            ) -> dict[str, dict[datetime, Tally]]:
    """provider -> interval start -> counted probes of its enabled candidates, every
    provider (the monitor's own-outage rule needs them all). `rate_limited_fails[p]`: a 429
    counts as a failure for p (its contract does not exclude rate limiting)."""
    provider_of = {cid: c.provider for cid, c in settings.candidates.items() if c.enabled}
    rows = session.exec(
        select(ProbeResultRow.candidate_id, ProbeResultRow.started_at, ProbeResultRow.ok,
               ProbeResultRow.error_class)
        .where(col(ProbeResultRow.candidate_id).in_(list(provider_of)),
               col(ProbeResultRow.kind).in_(AVAILABILITY_KINDS),
               ProbeResultRow.started_at >= since, ProbeResultRow.started_at < until)).all()
    cells: dict[str, dict[datetime, list[int]]] = {}
    for cid, at, ok, error in rows:
        provider = provider_of[cid]
        if error in NOT_COUNTED or (error == ErrorClass.RATE_LIMITED.value
                                    and not rate_limited_fails.get(provider, False)):
            continue
        cell = cells.setdefault(provider, {}).setdefault(
            interval_of(at, month_start, seconds), [0, 0])
        cell[0 if ok else 1] += 1
    return {p: {at: Tally(ok, failed) for at, (ok, failed) in by.items()}
            for p, by in cells.items()}


def maintenance_intervals(session: Session, provider: str, since: datetime, until: datetime,
                          month_start: datetime, seconds: int) -> set[datetime]:
    """Intervals that overlap a maintenance the provider declared."""
    spans = [(d.start, d.end) for d in declared_spans(session, provider, since, until)
             if d.is_maintenance]
    out: set[datetime] = set()
    step = timedelta(seconds=seconds)
    for start, end in clipped_union(spans, since, until):
        at = interval_of(start, month_start, seconds)
        while at < end:
            out.add(at)
            at += step
    return out


def monthly_spend(session: Session, settings: Settings, provider: str, contract: ContractConfig,
                  at: datetime) -> tuple[float | None, str]:
    """The month's spend on `provider` and how it was reached."""
    if contract.monthly_spend_usd is not None:
        return contract.monthly_spend_usd, "configured (monthly_spend_usd)"
    serving = {w.workload: w.candidate for w in session.exec(select(TopChoice)).all()
               if w.candidate is not None and w.workload in settings.workloads
               and w.candidate in settings.candidates
               and settings.candidates[w.candidate].provider == provider}
    if not serving:
        return None, ("no monthly_spend_usd and no workload's top choice is on this provider: "
                      "no spend to estimate from")
    prices = latest_prices(session, sorted(set(serving.values())), at)
    total, used = 0.0, []
    for workload, cid in sorted(serving.items()):
        price = prices.get(cid)
        if price is None:
            continue
        v = settings.workloads[workload].volume
        total += estimate(price, Volume(v.requests_per_month, v.input_tokens, v.output_tokens,
                                        v.cached_input_share, v.batch_share)).monthly_usd
        used.append(f"{workload} on {cid}")
    if not used:
        return None, "the workloads on this provider have no known price"
    return round(total, 2), "volume x price: " + ", ".join(used)


# --- the statement -------------------------------------------------------------------------


def _counts(d: dict[str, int]) -> Counts:
    return Counts(d["total"], d["excluded"], d["covered"], d["down"])


def statement(session: Session, settings: Settings, provider: str, month: date,
              now: datetime, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The statement document of `provider` for `month` as of `now`, reusing the frozen
    days of `stored` (a previous document of the same month and terms)."""
    committed, contract = contracted(settings)[provider]
    terms = terms_of(committed, contract)
    terms_doc = terms_json(committed, contract)
    start, end = month_bounds(month)
    until = min(end, now)
    seconds = terms.interval_seconds
    frozen: dict[str, dict[str, int]] = {}
    if stored is not None and stored.get("terms") == terms_doc:
        frozen = dict(stored.get("days", {}))
    fails_on_429 = {p: "rate_limited" not in c.exclude
                    for p, (_, c) in contracted(settings).items()}
    days: dict[str, dict[str, int]] = {}
    total = Counts()
    oldest_raw: datetime | None = None
    day = start
    while day < until:
        day_end = min(day + DAY, until)
        key = day.date().isoformat()
        if key in frozen:
            counts = _counts(frozen[key])
        else:
            by_provider = tallies(session, settings, day, day_end, start, seconds, fails_on_429)
            mine = by_provider.get(provider, {})
            if mine:
                first = min(mine)
                oldest_raw = first if oldest_raw is None else min(oldest_raw, first)
            excluded = (maintenance_intervals(session, provider, day, day_end, start, seconds)
                        if terms.exclude_maintenance else set())
            counts = count(intervals_in(day, day_end, seconds), mine, excluded,
                           own_outage(by_provider), terms)
        if day + DAY <= now - SETTLE:  # the whole day is past: frozen from now on
            days[key] = asdict(counts)
        total += counts
        day += DAY
    month_intervals = len(intervals_in(start, end, seconds))
    verdict = judge_month(total, month_intervals, terms)
    final = now >= end + SETTLE
    spend, basis = monthly_spend(session, settings, provider, contract, min(now, end))
    credit_usd = (round(spend * verdict.credit, 2)
                  if spend is not None and verdict.credit is not None else None)
    minutes = seconds / 60
    return {
        "provider": provider, "month": month.strftime("%Y-%m"),
        "state": "final" if final else "in_progress",
        "computed_at": now.isoformat(),
        "terms": terms_doc,
        "intervals": {"month": month_intervals, "elapsed": total.total,
                      "excluded": total.excluded, "covered": total.covered,
                      "down": total.down, "uncovered": total.uncovered},
        "down_minutes": round(total.down * minutes, 1),
        "uncovered_minutes": round(total.uncovered * minutes, 1),
        "coverage": _round(verdict.coverage),
        "availability": _round(verdict.availability),
        "availability_lowest": _round(verdict.lowest),
        "availability_highest": _round(verdict.highest),
        "verdict": verdict.status,
        "credit_share": verdict.credit,
        "credit_range": list(verdict.credit_range) if verdict.credit_range else None,
        "reason": verdict.reason,
        "spend_usd": spend, "spend_basis": basis, "credit_usd": credit_usd,
        "budget": {"allowed_minutes": round(verdict.budget.allowed * minutes, 1),
                   "spent_minutes": round(verdict.budget.spent * minutes, 1),
                   "burn_rate": verdict.budget.burn_rate,
                   "projected_down_minutes": (
                       None if verdict.budget.projected_down is None
                       else round(verdict.budget.projected_down * minutes, 1)),
                   "at_risk": verdict.budget.at_risk and not final},
        "data": _data_note(stored, frozen, oldest_raw, settings),
        "days": days,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _data_note(stored: dict[str, Any] | None, frozen: dict[str, Any], oldest: datetime | None,
               settings: Settings) -> str:
    kept = settings.retention.probe_results
    keep = "every raw result is kept" if not kept else f"raw results are kept {kept / 86400:g} days"
    note = f"raw probe results (latency, uptime) per interval; {keep}"
    if frozen:
        note += f"; {len(frozen)} days counted earlier and kept in this statement"
    if oldest is not None:
        note += f"; oldest raw result read {oldest.isoformat()}"
    return note


# --- saving, the event, the job ------------------------------------------------------------


def stored_statement(session: Session, provider: str, month: str) -> SlaStatementRow | None:
    return session.get(SlaStatementRow, (provider, month))


def refresh(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Recompute the current month of every contracted provider, and the previous month
    until it is final; save them, and the at-risk events. Returns the saved documents."""
    saved = []
    current = month_of(now)
    for provider in contracted(settings):
        for month in (previous_month(current), current):
            key = month.strftime("%Y-%m")
            row = stored_statement(session, provider, key)
            if row is not None and row.final:
                continue
            doc = statement(session, settings, provider, month, now,
                            row.body if row is not None else None)
            if row is None:
                row = SlaStatementRow(provider=provider, month=key)
            row.final, row.computed_at, row.body = doc["state"] == "final", now, doc
            session.add(row)
            if doc["budget"]["at_risk"]:
                record_at_risk(session, doc, now)
            saved.append(doc)
    return saved


def record_at_risk(session: Session, doc: dict[str, Any], now: datetime) -> bool:
    b = doc["budget"]
    payload = {"provider": doc["provider"], "month": doc["month"],
               "committed": doc["terms"]["committed"],
               "down_minutes": b["spent_minutes"], "allowed_minutes": b["allowed_minutes"],
               "projected_down_minutes": b["projected_down_minutes"],
               "burn_rate": b["burn_rate"], "coverage": doc["coverage"]}
    return record_event(session, "sla_month_at_risk",
                        f"sla_month_at_risk:{doc['provider']}:{doc['month']}", payload, now,
                        severity="warning")


def stored_statements(session: Session, month: str | None = None,
                      provider: str | None = None) -> list[dict[str, Any]]:
    """Saved statements, newest month first, then by provider (descending, for the cursor)."""
    stmt = select(SlaStatementRow)
    if month is not None:
        stmt = stmt.where(SlaStatementRow.month == month)
    if provider is not None:
        stmt = stmt.where(SlaStatementRow.provider == provider)
    rows = session.exec(stmt).all()
    return [r.body for r in sorted(rows, key=lambda r: (r.month, r.provider), reverse=True)]


def statements_for(session: Session, settings: Settings, month: date, now: datetime
                   ) -> list[dict[str, Any]]:
    """Every contracted provider's statement for `month`: the stored one when final, else
    computed now from what the store holds (not saved)."""
    out = []
    for provider in contracted(settings):
        row = stored_statement(session, provider, month.strftime("%Y-%m"))
        if row is not None and row.final:
            out.append(row.body)
        elif month <= month_of(now):
            out.append(statement(session, settings, provider, month, now,
                                 row.body if row is not None else None))
    return out


class StatementJob:
    def __init__(self, settings: Settings, engine: Engine,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._settings = settings
        self._engine = engine
        self._clock = clock

    @property
    def wanted(self) -> bool:
        return bool(contracted(self._settings))

    async def run(self) -> None:
        saved = await asyncio.to_thread(self.refresh, self._clock())
        log.info("%d SLA statements refreshed", len(saved))

    def refresh(self, now: datetime) -> list[dict[str, Any]]:
        with Session(self._engine) as session, session.begin():
            return refresh(session, self._settings, now)
