"""When does a workload's top choice change? Hysteresis, so that noise does not flip it.

The announced top choice (the incumbent) changes only when:
- another candidate has led the ranking by at least `margin` composite points, with at
  least `confidence` chance of being truly ahead (stats.probability_ahead over the two
  composites' intervals), for `confirmations` consecutive evaluations (the same
  challenger each time); or
- the incumbent has been down or throttled (states.py) for `confirmations` consecutive
  evaluations with a serving candidate ranked first: that candidate takes over, whichever
  it is (serving candidates swapping first place must not keep a dead incumbent), and no
  margin is asked: a provider that does not answer cannot keep the traffic; or
- at once, when the incumbent is gated out or no longer ranked (a gate is not a matter of
  degree: a candidate that fails one must not stay the recommendation for a minute longer).
A down or throttled candidate never becomes the top choice. The first evaluation of a
workload sets the incumbent without announcing a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from service.scoring.ranking import RankedCandidate, Ranking, counted_factors
from service.scoring.stats import Estimate, probability_ahead, z_for

EXPLAINED_FACTORS = 5
GATED, UNAVAILABLE, OVERTAKEN, RETURNED = "gated", "unavailable", "overtaken", "returned"


@dataclass(frozen=True)
class TopChoiceState:
    candidate: str | None = None
    since: datetime | None = None  # None: the workload has never been evaluated
    # The candidate working its way up, or the incumbent itself while it cannot serve.
    challenger: str | None = None
    streak: int = 0  # consecutive evaluations the challenger led (or the incumbent was out)


@dataclass(frozen=True)
class Change:
    workload: str
    old: str | None
    new: str | None
    old_composite: float | None
    new_composite: float | None
    reason: str
    immediate: bool  # the incumbent was gated out: no confirmations were waited for
    explanation: list[dict[str, Any]] = field(default_factory=list)
    cause: str = OVERTAKEN  # gated | unavailable | overtaken | returned
    old_state: str | None = None
    new_state: str | None = None
    old_interval: list[float] | None = None  # [low, high] of the old choice's composite
    new_interval: list[float] | None = None
    probability_ahead: float | None = None  # that the new choice is truly ahead of the old
    # With several regions: those that agree the old choice is old_state (scoring/quorum.py).
    regions: list[str] = field(default_factory=list)


def _entry(ranking: Ranking, candidate: str | None) -> RankedCandidate | None:
    return next((e for e in ranking.entries if e.candidate == candidate), None)


def decide(state: TopChoiceState, ranking: Ranking, margin: float, confirmations: int,
           confidence: float = 0.9) -> tuple[TopChoiceState, Change | None]:
    now, leader = ranking.evaluated_at, ranking.leader
    leader_entry = _entry(ranking, leader)
    if state.since is None:
        first = leader if leader_entry is not None and leader_entry.available else None
        return TopChoiceState(first, now), None
    incumbent = _entry(ranking, state.candidate)
    if state.candidate is not None and (incumbent is None or incumbent.rank is None):
        why = ("; ".join(incumbent.gate_reasons) if incumbent and incumbent.gate_reasons
               else "no longer ranked")
        if leader_entry is None or not leader_entry.available:
            leader = None  # nobody can take over: the workload has no top choice for now
        return _switch(state, ranking, leader, f"{state.candidate} gated out: {why}", GATED,
                       immediate=True)
    if leader is None or leader_entry is None or not leader_entry.available \
            or leader == state.candidate:
        return replace(state, challenger=None, streak=0), None
    if incumbent is None:  # no top choice: the first candidate that can serve takes it
        return _switch(state, ranking, leader, "a candidate passes the gates again", RETURNED,
                       immediate=True)
    if not incumbent.available:
        streak = state.streak + 1 if state.challenger == state.candidate else 1
        if streak < confirmations:
            return replace(state, challenger=state.candidate, streak=streak), None
        return _switch(state, ranking, leader,
                       f"{incumbent.candidate} is {incumbent.state}: {incumbent.state_reason}, "
                       f"for {streak} consecutive evaluations", UNAVAILABLE, immediate=False)
    new, old = leader_entry.estimate, incumbent.estimate
    assert new is not None and old is not None  # ranked entries have composites
    lead = new.value - old.value
    chance = probability_ahead(new, old, z_for(ranking.confidence))
    if lead < margin or chance < confidence:
        return replace(state, challenger=None, streak=0), None
    return _confirm(state, ranking, leader, confirmations, OVERTAKEN,
                    f"{leader} led by {lead:.2f} (margin {margin:g}; {chance:.0%} likely "
                    f"ahead, {confidence:.0%} asked)")


def _confirm(state: TopChoiceState, ranking: Ranking, challenger: str, confirmations: int,
             cause: str, reason: str) -> tuple[TopChoiceState, Change | None]:
    streak = state.streak + 1 if state.challenger == challenger else 1
    if streak < confirmations:
        return replace(state, challenger=challenger, streak=streak), None
    return _switch(state, ranking, challenger,
                   f"{reason}, for {streak} consecutive evaluations", cause, immediate=False)


def _switch(state: TopChoiceState, ranking: Ranking, new: str | None, reason: str, cause: str,
            immediate: bool) -> tuple[TopChoiceState, Change]:
    old_entry, new_entry = _entry(ranking, state.candidate), _entry(ranking, new)
    old_estimate = old_entry.estimate if old_entry else None
    new_estimate = new_entry.estimate if new_entry else None
    chance = None
    if old_estimate is not None and new_estimate is not None and old_entry is not None \
            and old_entry.rank is not None:
        chance = round(probability_ahead(new_estimate, old_estimate,
                                         z_for(ranking.confidence)), 4)
    change = Change(
        workload=ranking.workload, old=state.candidate, new=new,
        old_composite=old_entry.composite if old_entry else None,
        new_composite=new_entry.composite if new_entry else None, reason=reason,
        immediate=immediate, explanation=explain(new_entry, old_entry, ranking.missing_policy),
        cause=cause, old_state=old_entry.state if old_entry else None,
        new_state=new_entry.state if new_entry else None,
        old_interval=_interval(old_estimate), new_interval=_interval(new_estimate),
        probability_ahead=chance, regions=list(old_entry.regions) if old_entry else [])
    return TopChoiceState(new, ranking.evaluated_at), change


def _interval(estimate: Estimate | None) -> list[float] | None:
    return None if estimate is None else [estimate.low, estimate.high]


def _contributions(entry: RankedCandidate | None, policy: str) -> dict[str, float]:
    """Each factor's share of the composite: weight x score / the weights counted, with a
    missing factor counted as the policy says (ranking.counted_factors)."""
    if entry is None:
        return {}
    counted = counted_factors(entry.factors, entry.weights, policy)
    total = sum(c.weight for c in counted.values())
    return {n: c.weight * c.score / total for n, c in counted.items()} if total else {}


def explain(new: RankedCandidate | None, old: RankedCandidate | None,
            policy: str = "worst") -> list[dict[str, Any]]:
    """The factors whose weighted scores separate the two, the largest in the new choice's
    favour first: their contributions to the two composites sum to the composites' gap.
    Factors that weigh the same in both are left out."""
    gained, lost = _contributions(new, policy), _contributions(old, policy)
    weights = (new or old).weights if (new or old) is not None else {}  # type: ignore[union-attr]
    rows: list[dict[str, Any]] = []
    for name in set(gained) | set(lost):
        delta = gained.get(name, 0.0) - lost.get(name, 0.0)
        if abs(delta) < 1e-9:
            continue
        new_f = new.factors.get(name) if new else None
        old_f = old.factors.get(name) if old else None
        new_i = new_f.interval if new_f else None
        old_i = old_f.interval if old_f else None
        rows.append({
            "factor": name, "delta": round(delta, 4),
            "weight": weights.get(name, 0.0),
            "new_score": new_f.score if new_f else None,
            "old_score": old_f.score if old_f else None,
            "new_interval": list(new_i) if new_i else None,
            "old_interval": list(old_i) if old_i else None,
            "new_reason": new_f.reason if new_f else None,
            "old_reason": old_f.reason if old_f else None,
            "new_evidence": new_f.evidence if new_f else None,
            "old_evidence": old_f.evidence if old_f else None})
    rows.sort(key=lambda r: (-r["delta"], r["factor"]))
    return rows[:EXPLAINED_FACTORS]
