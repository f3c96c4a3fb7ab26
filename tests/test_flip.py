"""Top-choice hysteresis: flapping evidence flips nothing, a real change flips exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from service.scoring.base import FactorScore
from service.scoring.flip import TopChoiceState, decide, explain
from service.scoring.ranking import RankedCandidate, Ranking
from tests.clock import T0

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


def with_state(e: RankedCandidate, state: str, reason: str = "",
               interval: tuple[float, float] | None = None) -> RankedCandidate:
    low, high = interval or (e.composite, e.composite)
    return replace(e, state=state, state_reason=reason or f"{e.candidate} {state}",
                   composite_low=low, composite_high=high)


def ranked(at: int, *entries: RankedCandidate) -> Ranking:
    """Rank as ranking.rank does: candidates that can serve first, then by composite."""
    order = sorted(entries, key=lambda e: (not e.available, -(e.composite or 0), e.candidate))
    return Ranking("w", T0 + timedelta(minutes=at),
                   tuple(replace(e, rank=i + 1) for i, e in enumerate(order)))


def test_down_incumbent_is_replaced_after_the_confirmations_with_its_reason() -> None:
    up = (with_state(entry("a", 4.0, 3.0), "serving"), with_state(entry("b", 3.0, 3.0), "serving"))
    a_down = (with_state(entry("a", 4.0, 3.0), "down", "14 of 14 probes failed since 10:02:00Z"),
              with_state(entry("b", 3.0, 3.0), "serving"))
    state, changes = TopChoiceState(), []
    for i, entries in enumerate([up, a_down, a_down, a_down]):
        state, change = decide(state, ranked(i, *entries), 0.1, 3)
        changes.append(change)
    assert changes[:3] == [None, None, None]
    final = changes[3]
    assert final is not None and (final.old, final.new, final.cause) == ("a", "b", "unavailable")
    assert final.reason == ("a is down: 14 of 14 probes failed since 10:02:00Z, "
                            "for 3 consecutive evaluations")
    assert not final.immediate and final.old_state == "down"


def test_serving_candidates_swapping_first_place_do_not_keep_a_down_incumbent() -> None:
    def down_a_and(b: float, c: float) -> tuple[RankedCandidate, ...]:
        return (with_state(entry("a", 4.5, 3.0), "down"), with_state(entry("b", b, 3.0),
                                                                      "serving"),
                with_state(entry("c", c, 3.0), "serving"))

    sequence = [(with_state(entry("a", 4.5, 3.0), "serving"),), down_a_and(3.1, 3.0),
                down_a_and(3.0, 3.1), down_a_and(3.1, 3.0)]
    state = TopChoiceState()
    for i, entries in enumerate(sequence):
        state, change = decide(state, ranked(i, *entries), 0.1, 3)
    assert change is not None and change.new == "b" and state.candidate == "b"


def test_a_down_or_throttled_leader_never_becomes_the_top_choice() -> None:
    a = with_state(entry("a", 3.0, 3.0), "serving")
    for bad in ("down", "throttled"):
        b = with_state(entry("b", 5.0, 5.0), bad)  # far better on paper, and cannot serve
        state = TopChoiceState()
        for i in range(6):
            state, change = decide(state, ranked(i, a, b), 0.1, 3)
            assert change is None and state.candidate == "a"


def test_recovery_before_the_confirmations_keeps_the_incumbent() -> None:
    up = (with_state(entry("a", 4.0, 3.0), "serving"), with_state(entry("b", 3.0, 3.0), "serving"))
    blip = (with_state(entry("a", 4.0, 3.0), "down"), with_state(entry("b", 3.0, 3.0), "serving"))
    _, changes = run([ranked(i, *e) for i, e in enumerate([up, blip, blip, up, blip, blip, up])])
    assert changes == []


@pytest.mark.parametrize(("half_width", "flips"), [
    pytest.param(0.05, True, id="narrow-intervals-lead-is-beyond-the-noise"),
    pytest.param(1.5, False, id="wide-intervals-lead-is-within-the-noise"),
])
def test_a_lead_must_be_beyond_the_noise_of_the_evidence(half_width: float,
                                                         flips: bool) -> None:
    def pair(a: float, b: float) -> tuple[RankedCandidate, ...]:
        return tuple(with_state(entry(n, v, v), "serving", interval=(v - half_width,
                                                                     v + half_width))
                     for n, v in (("a", a), ("b", b)))

    _, changes = run([ranked(0, *pair(3.5, 3.0))] + [ranked(i, *pair(3.0, 3.6))
                                                      for i in range(1, 5)])
    assert bool(changes) is flips
