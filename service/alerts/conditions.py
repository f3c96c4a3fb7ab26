"""When does a condition hold? Burn rate, error budget, failing probes. Pure functions.

SLA burn rate (the SRE workbook's multi-window, multi-burn-rate alert): the error budget is
1 - the committed availability; a window's burn rate is its error ratio over the budget (1 =
spending exactly the budget). A rule fires when both its long window (significance) and its
short window (still happening: it stops firing soon after recovery) burn faster than its
factor. Throttling (429) and our own key problems (401/403) are not the provider's errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from probes.result import ErrorClass
from service.sinks.events import severity_rank
from service.sinks.render import span

# Failures that say our side is wrong (a key, a model name, a base URL), not the provider.
CONFIG_ERRORS = frozenset({ErrorClass.AUTH.value, ErrorClass.HTTP_4XX.value})


@dataclass(frozen=True)
class Counts:
    ok: int = 0
    failed: int = 0  # failures that count against availability

    @property
    def probes(self) -> int:
        return self.ok + self.failed

    @property
    def availability(self) -> float | None:
        return self.ok / self.probes if self.probes else None


@dataclass(frozen=True)
class BurnRule:
    long_seconds: float
    short_seconds: float
    factor: float
    severity: str


def burn_rate(counts: Counts, sla: float) -> float | None:
    if not counts.probes:
        return None
    errors = counts.failed / counts.probes
    budget = 1.0 - sla
    if budget <= 0:
        return math.inf if errors > 0 else 0.0
    return errors / budget


def _window(seconds: float, counts: Counts, sla: float) -> dict[str, Any]:
    rate = burn_rate(counts, sla)
    return {"window": span(seconds), "seconds": seconds, "probes": counts.probes,
            "availability": counts.availability,
            "burn_rate": None if rate is None else round(min(rate, 1e9), 2)}


def sla_burn(windows: Mapping[float, Counts], rules: Sequence[BurnRule], sla: float,
             min_probes: int) -> tuple[BurnRule, list[dict[str, Any]]] | None:
    """The most severe rule that fires, with both windows' figures; None if none fires.

    A long window with fewer than `min_probes` probes is not judged: too few to say."""
    for rule in sorted(rules, key=lambda r: (-severity_rank(r.severity), -r.factor)):
        long, short = windows.get(rule.long_seconds), windows.get(rule.short_seconds)
        if long is None or short is None or long.probes < min_probes or not short.probes:
            continue
        rates = [burn_rate(long, sla), burn_rate(short, sla)]
        if all(r is not None and r > rule.factor for r in rates):
            return rule, [_window(rule.long_seconds, long, sla),
                          _window(rule.short_seconds, short, sla)]
    return None


BUDGET_MIN_COVERAGE = 7 * 86400.0  # probes must reach back this far to judge a month


def budget_exhausted(month: Counts, sla: float, min_probes: int,
                     covered_seconds: float = BUDGET_MIN_COVERAGE) -> bool:
    """The 30-day availability is below the committed one: the month's budget is spent.
    Not judged before the probes reach back a week: an hour is not a month."""
    return (covered_seconds >= BUDGET_MIN_COVERAGE and month.probes >= min_probes
            and month.availability is not None and month.availability < sla)


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    error_class: str | None
    http_status: int | None
    error_message: str | None
    started_at: Any  # datetime


def failing_on_config(latest: Sequence[ProbeOutcome], after: int) -> list[ProbeOutcome] | None:
    """The streak when the last `after` probes (newest first) all failed on our side."""
    streak = list(latest[:after])
    if len(streak) < after or not all(
            not p.ok and p.error_class in CONFIG_ERRORS for p in streak):
        return None
    return streak


def monitor_down(short_rates: Mapping[str, float | None], threshold: float,
                 provider_of: Mapping[str, str]) -> bool:
    """Every judged candidate of at least two providers burning at once: more likely our
    network than all of them together (docs/architecture.md, Availability)."""
    judged = {c: r for c, r in short_rates.items() if r is not None}
    providers = {provider_of.get(c, c) for c in judged}
    return len(providers) >= 2 and all(r > threshold for r in judged.values())
