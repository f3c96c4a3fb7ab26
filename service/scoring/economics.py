"""Factors about money: cost at the workload's volume, and where the price is heading."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from service.scoring.base import MEASURED, STATIC, FactorScore, WorkloadSpec, missing, rounded
from service.scoring.cost import estimate
from service.scoring.evidence import CandidateEvidence, Price

TRAJECTORY_HORIZON = timedelta(days=365)
TRAJECTORY_MIN_SPAN = timedelta(days=30)
MAX_LOG_CHANGE = 20.0  # e^20: a price rising 5e8-fold a year, far past every scale


def score_cost(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime) -> FactorScore:
    if ev.price is None:
        return missing("no price known for this candidate")
    cost = estimate(ev.price, wl.volume)
    evidence = {"monthly_usd": round(cost.monthly_usd, 2),
                "blended_usd_per_mtok": round(cost.blended_per_mtok, 4),
                "input_usd_per_mtok": ev.price.input_per_mtok,
                "output_usd_per_mtok": ev.price.output_per_mtok,
                "cached_input_usd_per_mtok": ev.price.cached_input_per_mtok,
                "price_source": ev.price.source,
                "requests_per_month": wl.volume.requests_per_month}
    source = STATIC if ev.price.source == "static" else MEASURED
    return FactorScore(rounded(wl.scale_for("cost").score(cost.blended_per_mtok)), source,
                       f"${cost.monthly_usd:,.2f}/month at this volume "
                       f"(${cost.blended_per_mtok:.3f} per million tokens blended)", evidence)


def price_at(history: tuple[Price, ...], when: datetime) -> Price | None:
    """The price in effect at `when`: the last point that took effect at or before it."""
    current = None
    for point in history:
        if point.effective_at is not None and point.effective_at <= when:
            current = point
    return current


def annualised_change(history: tuple[Price, ...], wl: WorkloadSpec, now: datetime
                      ) -> tuple[float, float, float, float] | None:
    """(annualised change, blended price at start, blended price now, days) or None.

    The span runs from the price in effect a year ago (or the first known price, if the
    history is younger) to now; the current price is assumed to hold until now.
    """
    dated = [p for p in history if p.effective_at is not None and p.effective_at <= now]
    if not dated:
        return None
    start_time = max(dated[0].effective_at or now, now - TRAJECTORY_HORIZON)
    start, end = price_at(tuple(dated), start_time), dated[-1]
    span = now - start_time
    if start is None or span < TRAJECTORY_MIN_SPAN:
        return None
    first = estimate(start, wl.volume).blended_per_mtok
    last = estimate(end, wl.volume).blended_per_mtok
    if first <= 0 < last:
        return None  # free, then paid: no rate of change to annualise
    days = span.total_seconds() / 86400
    # A price that was free and still is has not changed. In logs, and capped, so that an
    # absurd history (a factor of 1e25 in a month) saturates the scale instead of
    # overflowing a float.
    change = (math.exp(min(MAX_LOG_CHANGE, math.log(last / first) * 365 / days)) - 1
              if first > 0 and last > 0 else 0.0 if first == last else -1.0)
    return change, first, last, days


def score_pricing_trajectory(ev: CandidateEvidence, wl: WorkloadSpec, now: datetime
                             ) -> FactorScore:
    change = annualised_change(ev.price_history, wl, now)
    if change is None:
        return missing(f"price history shorter than {TRAJECTORY_MIN_SPAN.days} days",
                       price_points=len(ev.price_history))
    rate, first, last, days = change
    evidence = {"annualised_change": round(rate, 4), "blended_usd_per_mtok_start": round(first, 4),
                "blended_usd_per_mtok_now": round(last, 4), "span_days": round(days, 1),
                "price_points": len(ev.price_history)}
    return FactorScore(rounded(wl.scale_for("pricing_trajectory").score(rate)), MEASURED,
                       f"blended price {rate:+.0%} a year (${first:.3f} -> ${last:.3f} per "
                       f"million tokens over {days:.0f} days)", evidence)
