"""When does a workload's top choice change? Hysteresis, so that noise does not flip it.

The announced top choice (the incumbent) changes only when:
- another candidate has led the ranking by at least `margin` composite points for
  `confirmations` consecutive evaluations (the same challenger each time); or
- at once, when the incumbent is gated out or no longer ranked (a gate is not a matter of
  degree: a candidate that fails one must not stay the recommendation for a minute longer).
The first evaluation of a workload sets the incumbent without announcing a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from service.scoring.ranking import RankedCandidate, Ranking

EXPLAINED_FACTORS = 5


@dataclass(frozen=True)
class TopChoiceState:
    candidate: str | None = None
    since: datetime | None = None  # None: the workload has never been evaluated
    challenger: str | None = None
    streak: int = 0


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


def _entry(ranking: Ranking, candidate: str | None) -> RankedCandidate | None:
    return next((e for e in ranking.entries if e.candidate == candidate), None)


def decide(state: TopChoiceState, ranking: Ranking, margin: float, confirmations: int
           ) -> tuple[TopChoiceState, Change | None]:
    now, leader = ranking.evaluated_at, ranking.leader
    if state.since is None:
        return TopChoiceState(leader, now), None
    incumbent = _entry(ranking, state.candidate)
    if state.candidate is not None and (incumbent is None or incumbent.rank is None):
        why = ("; ".join(incumbent.gate_reasons) if incumbent and incumbent.gate_reasons
               else "no longer ranked")
        return _switch(state, ranking, f"{state.candidate} gated out: {why}", immediate=True)
    if state.candidate is None:
        if leader is None:
            return state, None
        return _switch(state, ranking, "a candidate passes the gates again", immediate=True)
    if leader is None or leader == state.candidate:
        return replace(state, challenger=None, streak=0), None
    leader_entry = _entry(ranking, leader)
    assert leader_entry is not None and incumbent is not None
    lead = (leader_entry.composite or 0.0) - (incumbent.composite or 0.0)
    if lead < margin:
        return replace(state, challenger=None, streak=0), None
    streak = state.streak + 1 if state.challenger == leader else 1
    if streak < confirmations:
        return replace(state, challenger=leader, streak=streak), None
    return _switch(state, ranking, f"{leader} led by {lead:.2f} (margin {margin:g}) for "
                   f"{streak} consecutive evaluations", immediate=False)


def _switch(state: TopChoiceState, ranking: Ranking, reason: str, immediate: bool
            ) -> tuple[TopChoiceState, Change]:
    new = ranking.leader
    old_entry, new_entry = _entry(ranking, state.candidate), _entry(ranking, new)
    change = Change(
        workload=ranking.workload, old=state.candidate, new=new,
        old_composite=old_entry.composite if old_entry else None,
        new_composite=new_entry.composite if new_entry else None, reason=reason,
        immediate=immediate, explanation=explain(new_entry, old_entry))
    return TopChoiceState(new, ranking.evaluated_at), change


def _contributions(entry: RankedCandidate | None) -> dict[str, float]:
    """Each factor's share of the composite: weight x score / the weights that had scores."""
    if entry is None:
        return {}
    scored = {n: f.score for n, f in entry.factors.items()
              if f.score is not None and entry.weights.get(n, 0) > 0}
    total = sum(entry.weights[n] for n in scored)
    return {n: entry.weights[n] * s / total for n, s in scored.items()} if total else {}


def explain(new: RankedCandidate | None, old: RankedCandidate | None) -> list[dict[str, Any]]:
    """The factors whose weighted scores moved the ranking, the largest in the new leader's
    favour first: their contributions to the two composites sum to the composites' gap."""
    gained, lost = _contributions(new), _contributions(old)
    weights = (new or old).weights if (new or old) is not None else {}  # type: ignore[union-attr]
    rows: list[dict[str, Any]] = []
    for name in set(gained) | set(lost):
        delta = gained.get(name, 0.0) - lost.get(name, 0.0)
        if abs(delta) < 1e-9:
            continue
        new_f = new.factors.get(name) if new else None
        old_f = old.factors.get(name) if old else None
        rows.append({
            "factor": name, "delta": round(delta, 4),
            "weight": weights.get(name, 0.0),
            "new_score": new_f.score if new_f else None,
            "old_score": old_f.score if old_f else None,
            "new_reason": new_f.reason if new_f else None,
            "old_reason": old_f.reason if old_f else None,
            "new_evidence": new_f.evidence if new_f else None,
            "old_evidence": old_f.evidence if old_f else None})
    rows.sort(key=lambda r: (-r["delta"], r["factor"]))
    return rows[:EXPLAINED_FACTORS]
