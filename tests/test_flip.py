"""Top-choice hysteresis: flapping evidence flips nothing, a real change flips exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.scoring.base import FactorScore
from service.scoring.flip import TopChoiceState, decide, explain
from service.scoring.ranking import RankedCandidate, Ranking

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WEIGHTS = {"latency": 2.0, "cost": 1.0}


def entry(name: str, latency: float, cost: float, gated: tuple[str, ...] = ()
          ) -> RankedCandidate:
    factors = {"latency": FactorScore(latency, "measured", f"latency of {name}"),
               "cost": FactorScore(cost, "static", f"cost of {name}")}
    composite = (2 * latency + cost) / 3
    return RankedCandidate(name, None, round(composite, 4), False, bool(gated), gated, (),
                           factors, WEIGHTS)


def ranking(at: int, *entries: RankedCandidate) -> Ranking:
    eligible = sorted((e for e in entries if not e.gated),
                      key=lambda e: (-(e.composite or 0), e.candidate))
    ranked = [RankedCandidate(e.candidate, i + 1, e.composite, e.partial, e.gated,
                              e.gate_reasons, e.notes, e.factors, e.weights)
              for i, e in enumerate(eligible)]
    return Ranking("w", T0 + timedelta(minutes=at), tuple(ranked + [e for e in entries
                                                                    if e.gated]))


def run(rankings: list[Ranking], margin: float = 0.1, confirmations: int = 3
        ) -> tuple[TopChoiceState, list[tuple[int, str | None, str | None, bool]]]:
    state, changes = TopChoiceState(), []
    for i, r in enumerate(rankings):
        state, change = decide(state, r, margin, confirmations)
        if change:
            changes.append((i, change.old, change.new, change.immediate))
    return state, changes


A_LEADS = (entry("a", 4.0, 3.0), entry("b", 3.0, 3.0))  # a 3.67, b 3.0
B_LEADS_BIG = (entry("a", 3.0, 3.0), entry("b", 4.0, 3.0))  # b leads by 0.67
B_LEADS_TINY = (entry("a", 3.0, 3.0), entry("b", 3.1, 3.0))  # b leads by 0.067 < margin


@pytest.mark.parametrize(("sequence", "expected_changes", "final"), [
    pytest.param([A_LEADS] * 5, [], "a", id="steady-leader-never-announces"),
    pytest.param([A_LEADS, B_LEADS_BIG, A_LEADS, B_LEADS_BIG, A_LEADS, B_LEADS_BIG],
                 [], "a", id="flapping-evidence-no-flip"),
    pytest.param([A_LEADS, B_LEADS_BIG, B_LEADS_BIG, A_LEADS, B_LEADS_BIG, B_LEADS_BIG],
                 [], "a", id="streak-broken-before-confirmation-starts-over"),
    pytest.param([A_LEADS] + [B_LEADS_BIG] * 6, [(3, "a", "b", False)], "b",
                 id="real-change-flips-exactly-once-after-three-confirmations"),
    pytest.param([A_LEADS] + [B_LEADS_TINY] * 6, [], "a",
                 id="lead-under-margin-never-flips"),
])
def test_hysteresis(sequence: list[tuple[RankedCandidate, ...]],
                    expected_changes: list[tuple[int, str, str, bool]], final: str) -> None:
    state, changes = run([ranking(i, *entries) for i, entries in enumerate(sequence)])
    assert changes == expected_changes
    assert state.candidate == final


def test_gated_incumbent_is_replaced_at_once() -> None:
    gated_a = (entry("a", 4.0, 3.0, gated=("requires hipaa_baa: not offered",)),
               entry("b", 3.0, 3.0))
    _, changes = run([ranking(0, *A_LEADS), ranking(1, *gated_a)])
    assert changes == [(1, "a", "b", True)]


def test_gated_change_carries_the_gate_reason() -> None:
    state, _ = decide(TopChoiceState(), ranking(0, *A_LEADS), 0.1, 3)
    gated_a = (entry("a", 4.0, 3.0, gated=("availability 0.9000 below the floor 0.99",)),
               entry("b", 3.0, 3.0))
    _, change = decide(state, ranking(1, *gated_a), 0.1, 3)
    assert change is not None
    assert change.reason == "a gated out: availability 0.9000 below the floor 0.99"


def test_all_gated_then_one_returns_is_announced_at_once() -> None:
    none_left = (entry("a", 4.0, 3.0, gated=("x",)), entry("b", 3.0, 3.0, gated=("y",)))
    state, changes = run([ranking(0, *A_LEADS), ranking(1, *none_left),
                          ranking(2, *none_left), ranking(3, *A_LEADS)])
    assert changes == [(1, "a", None, True), (3, None, "a", True)]
    assert state.candidate == "a"


def test_first_evaluation_sets_the_incumbent_without_an_announcement() -> None:
    state, change = decide(TopChoiceState(), ranking(0, *B_LEADS_BIG), 0.1, 3)
    assert change is None
    assert state.candidate == "b" and state.since == T0


def test_explanation_contributions_sum_to_the_composite_gap() -> None:
    new, old = entry("b", 4.5, 2.0), entry("a", 3.0, 4.0)
    rows = explain(new, old)
    assert sum(r["delta"] for r in rows) == pytest.approx(
        (new.composite or 0) - (old.composite or 0), abs=1e-3)
    assert [r["factor"] for r in rows] == ["latency", "cost"]  # largest in b's favour first
    assert rows[0]["new_reason"] == "latency of b" and rows[0]["old_score"] == 3.0
