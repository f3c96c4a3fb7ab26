"""The stability factor's optional status-page honesty adjustment (docs/scoring.md).

A workload that sets `honesty_penalty` (points, 0 to 2) takes off stability, per provider:

    dishonesty = u + (1 - u) * lateness
    change     = -honesty_penalty * dishonesty

where u is the share of the last 30 days' observed outages that no incident declared, and
lateness is the median declaration delay as a share of an hour, clipped to [0, 1] (declared
at or before our first failed minute: 0; an hour or more late: 1). A provider that declares
nothing loses the whole penalty; one that declares every outage on time loses nothing.
Without an observed outage in the 30 days there is nothing to judge: no change.
"""

from __future__ import annotations

from typing import Any

from service.scoring.evidence import HonestyFacts

LATE_AFTER_SECONDS = 3600.0  # a median delay this long counts as fully late


def lateness(median_delay_seconds: float | None) -> float:
    if median_delay_seconds is None:
        return 0.0
    return min(1.0, max(0.0, median_delay_seconds / LATE_AFTER_SECONDS))


def honesty_adjustment(facts: HonestyFacts, penalty: float
                       ) -> tuple[float, str, dict[str, Any]]:
    """(score change, reason, evidence) for a provider's honesty under `penalty` points."""
    evidence: dict[str, Any] = {
        "honesty_outages_30d": facts.outages, "honesty_undeclared_30d": facts.undeclared,
        "honesty_median_delay_seconds": facts.median_delay_seconds}
    if facts.outages == 0:
        evidence["honesty_change"] = 0.0
        return 0.0, "no outage observed in 30 days to judge its status page by", evidence
    share = facts.undeclared / facts.outages
    change = -penalty * (share + (1 - share) * lateness(facts.median_delay_seconds))
    evidence["honesty_change"] = round(change, 3)
    delay = facts.median_delay_seconds
    declared = ("" if delay is None else
                f", declared a median {delay / 60:+.0f} min after our first failure")
    return change, (f"{facts.undeclared} of {facts.outages} observed outages in 30 days "
                    f"undeclared{declared} ({change:+.2f})"), evidence
