"""Properties of the pure scoring (service/scoring/), checked on generated evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from service.scoring.base import WorkloadSpec
from service.scoring.cost import Volume
from service.scoring.evidence import CandidateEvidence, Price, RateStats
from service.scoring.factors import FACTOR_FUNCTIONS
from service.scoring.ranking import rank

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# --- Counterexamples the properties found, kept as plain examples ---------------------------

def test_a_twin_missing_a_factor_ranks_below_one_whose_evidence_scores_the_lowest() -> None:
    """Equal composites (the evidence scores 1, what `worst` counts the missing factor as):
    the candidate with the evidence ranks first, whatever the ids."""
    wl = WorkloadSpec("w", Volume(1, 0, 0), {"long_context": 0.5})
    measured = CandidateEvidence("b", "p", 3600.0, long_context={8000: RateStats(0, 1)})
    unmeasured = CandidateEvidence("a", "p", 3600.0)
    ranking = rank(wl, [unmeasured, measured], NOW)
    assert [(e.candidate, e.composite) for e in ranking.entries] == [("b", 1.0), ("a", 1.0)]


def test_a_price_that_stays_free_for_a_year_is_a_flat_trajectory() -> None:
    """Found by the better-evidence property: a price cut to 0 more than a year ago made the
    trajectory missing (scored as the worst) where the same price at $1 scored flat (3)."""
    wl = WorkloadSpec("w", Volume(1000, 1000, 1000), {"pricing_trajectory": 1.0})
    since = NOW - timedelta(days=400)
    paid = CandidateEvidence("c", "p", 3600.0, price_history=(Price(1, 1, effective_at=since),))
    free = replace(paid, price_history=(Price(0, 0, effective_at=since),))
    assert FACTOR_FUNCTIONS["pricing_trajectory"](paid, wl, NOW).score == 3.0
    assert FACTOR_FUNCTIONS["pricing_trajectory"](free, wl, NOW).score == 3.0
