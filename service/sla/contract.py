"""A calendar month under a provider's own SLA definition: pure functions (docs/sla.md).

- The month is cut into the contract's intervals (UTC). An interval is *excluded* when the
  contract excludes it (declared maintenance overlapping it, with `exclude: [maintenance]`);
  *covered* when it holds at least `min_probes` counted probes; *down* when covered and its
  error rate (failed / counted) is above `down_error_rate`. Counted probes are those the
  caller passes: availability kinds, without our own key problems (401/403, other 4xx) and,
  when the contract excludes rate limiting, without 429s (else a 429 is a failure).
- An interval without enough probes, or in which the monitor itself was down (every probed
  provider failing at once), is *not covered*: it is never downtime.
- Monthly availability = 1 - down / eligible, eligible = the month's intervals - excluded.
  The unknown intervals (not covered, or not yet elapsed) bound it: `highest` counts them up,
  `lowest` counts them down. A credit is claimed only when both bounds fall in the same tier;
  otherwise the verdict is "undetermined" and says why.
- Error budget: (1 - committed) x eligible intervals may be down. A month in progress is at
  risk when its down intervals so far, plus the rest of the month at the burn so far
  (down / covered), would spend it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["due", "none", "undetermined"]
AT_RISK_MIN_COVERED = timedelta(hours=24)  # burn over less than a day of probes is noise


@dataclass(frozen=True)
class Tier:
    below: float
    at_least: float
    credit: float  # share of the month's spend


@dataclass(frozen=True)
class Terms:
    committed: float
    interval_seconds: int
    tiers: tuple[Tier, ...]
    down_error_rate: float = 0.0
    min_probes: int = 1
    exclude_rate_limited: bool = True
    exclude_maintenance: bool = False


@dataclass(frozen=True)
class Tally:
    """One interval's counted probes."""

    ok: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Counts:
    """Intervals of an elapsed span, by what they were."""

    total: int = 0
    excluded: int = 0
    covered: int = 0
    down: int = 0

    @property
    def uncovered(self) -> int:
        return self.total - self.excluded - self.covered

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.total + other.total, self.excluded + other.excluded,
                      self.covered + other.covered, self.down + other.down)


@dataclass(frozen=True)
class Budget:
    allowed: float  # down intervals the month may have
    spent: int  # down intervals so far
    burn_rate: float | None  # down share of covered intervals / (1 - committed)
    projected_down: float | None  # at month end, at the burn so far
    at_risk: bool


@dataclass(frozen=True)
class Verdict:
    availability: float | None  # 1 - down / covered: what the probes saw
    lowest: float | None  # unknown intervals counted down
    highest: float | None  # unknown intervals counted up
    coverage: float | None  # covered / elapsed eligible intervals
    status: Status
    credit: float | None  # share of spend, only when the status is "due" or "none"
    credit_range: tuple[float, float] | None  # the credit at `highest` and at `lowest`
    reason: str
    budget: Budget


def credit_share(tiers: Iterable[Tier], availability: float) -> float:
    """The credit a month's availability earns: its tier's, or 0."""
    return max((t.credit for t in tiers if t.at_least <= availability < t.below), default=0.0)


def intervals_in(start: datetime, end: datetime, seconds: int) -> list[datetime]:
    step = timedelta(seconds=seconds)
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out


def interval_of(at: datetime, month_start: datetime, seconds: int) -> datetime:
    offset = int((at - month_start).total_seconds()) // seconds * seconds
    return month_start + timedelta(seconds=offset)


def own_outage(tallies: Mapping[str, Mapping[datetime, Tally]]) -> set[datetime]:
    """Intervals in which at least two providers were probed and none had a success: more
    likely the monitor's own network than all of them at once (service/outages/judge.py)."""
    probed: dict[datetime, list[bool]] = {}
    for by_interval in tallies.values():
        for at, tally in by_interval.items():
            if tally.ok + tally.failed:
                probed.setdefault(at, []).append(tally.ok > 0)
    return {at for at, ups in probed.items() if len(ups) >= 2 and not any(ups)}


def count(starts: Iterable[datetime], tallies: Mapping[datetime, Tally],
          excluded: set[datetime], ignored: set[datetime], terms: Terms) -> Counts:
    """Classify each interval starting at `starts`."""
    total = out_ = covered = down = 0
    for at in starts:
        total += 1
        if at in excluded:
            out_ += 1
            continue
        tally = tallies.get(at)
        if at in ignored or tally is None or tally.ok + tally.failed < terms.min_probes:
            continue
        covered += 1
        if tally.failed / (tally.ok + tally.failed) > terms.down_error_rate:
            down += 1
    return Counts(total, out_, covered, down)


def budget(counts: Counts, month_intervals: int, terms: Terms,
           min_covered: int) -> Budget:
    eligible = month_intervals - counts.excluded
    allowed = (1 - terms.committed) * eligible
    if not counts.covered:
        return Budget(round(allowed, 3), counts.down, None, None, False)
    share = counts.down / counts.covered
    room = 1 - terms.committed
    rate = share / room if room > 0 else (0.0 if not share else float("inf"))
    remaining = month_intervals - counts.total
    projected = counts.down + share * remaining
    at_risk = (remaining > 0 and counts.covered >= min_covered and counts.down > 0
               and projected > allowed)
    return Budget(round(allowed, 3), counts.down, round(rate, 4), round(projected, 3), at_risk)


def judge_month(counts: Counts, month_intervals: int, terms: Terms) -> Verdict:
    """The month's verdict from its elapsed intervals (`counts`) out of `month_intervals`."""
    min_covered = int(AT_RISK_MIN_COVERED.total_seconds()) // terms.interval_seconds
    spent = budget(counts, month_intervals, terms, min_covered)
    eligible = month_intervals - counts.excluded
    elapsed = counts.total - counts.excluded
    if eligible <= 0:
        return Verdict(None, None, None, None, "undetermined", None, None,
                       "every interval of the month is excluded", spent)
    unknown = eligible - counts.covered
    highest = 1 - counts.down / eligible
    lowest = 1 - (counts.down + unknown) / eligible
    observed = 1 - counts.down / counts.covered if counts.covered else None
    coverage = counts.covered / elapsed if elapsed > 0 else None
    best, worst = credit_share(terms.tiers, highest), credit_share(terms.tiers, lowest)
    if best == worst:
        status: Status = "due" if best > 0 else "none"
        reason = (f"{highest:.4%} available under the contract: a {best:.0%} credit"
                  if best > 0 else f"{highest:.4%} available under the contract: no credit")
        if unknown:
            reason += f" whatever the {unknown} unknown intervals were"
        return Verdict(observed, lowest, highest, coverage, status, best, (best, worst),
                       reason, spent)
    parts = []
    if counts.uncovered:
        parts.append(f"{counts.uncovered} of {elapsed} elapsed intervals have no probe "
                     "coverage")
    if month_intervals > counts.total:
        parts.append(f"{month_intervals - counts.total} intervals are still to come")
    reason = (f"{' and '.join(parts)}: availability is between {lowest:.4%} and "
              f"{highest:.4%}, a credit between {best:.0%} and {worst:.0%}")
    return Verdict(observed, lowest, highest, coverage, "undetermined", None, (best, worst),
                   reason, spent)
