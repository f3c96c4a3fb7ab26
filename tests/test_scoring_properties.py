"""Properties of the pure scoring (service/scoring/), checked on generated evidence."""

from __future__ import annotations

from datetime import UTC, datetime

from service.scoring.base import WorkloadSpec
from service.scoring.cost import Volume
from service.scoring.evidence import CandidateEvidence, RateStats
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
