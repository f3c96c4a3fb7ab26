"""Regional quorum: with several regions probing, is a candidate down, or down somewhere?

Each region judges the candidate on its own probes of the state window (judge_state); then:

- A region where every candidate with an answer is down, across two providers or more, has
  a problem of its own (its network, its DNS): its evidence is set aside for every
  candidate (monitor_outage, applied per region).
- A silent region (no probe in the window) and a region whose probes said nothing (unknown)
  have no say: they never count as agreeing.
- Down when at least `quorum` of the remaining regions judge it down; degraded, naming the
  regions, when fewer do ("down in eu-west, serving in us-east; quorum 2"); otherwise the
  worst state of the remaining regions (throttled, then degraded, then serving).

With quorum 1 and probes from one region only (one machine), none of this applies: the
state is judge_state's, as it always was (regional_states returns nothing). With a higher
quorum the rule holds however few regions were heard: when the others fall silent, the one
left is not a quorum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.scoring.evidence import CandidateEvidence
from service.scoring.states import (
    DEGRADED,
    DOWN,
    SERVING,
    THROTTLED,
    UNKNOWN,
    StateRules,
    judge_state,
    monitor_outage,
)

# Which state of the regions that are not down wins: the worst.
_SEVERITY = {THROTTLED: 3, DEGRADED: 2, SERVING: 1}


@dataclass(frozen=True)
class RegionalState:
    state: str
    reason: str
    # The regions that agree: those that judge it down when any does, else those whose own
    # state is the one given.
    regions: tuple[str, ...] = ()


def monitor_regions(states: Mapping[str, Mapping[str, str]],
                    providers: Mapping[str, str]) -> frozenset[str]:
    """Regions where the monitor's own outage rule holds. `states`: candidate -> region ->
    state judged on that region's probes; `providers`: candidate -> provider."""
    regions = {region for by_region in states.values() for region in by_region}
    return frozenset(r for r in regions if monitor_outage(
        {c: by_region[r] for c, by_region in states.items() if r in by_region}, providers))


def combine(judged: Mapping[str, tuple[str, str]], quorum: int,
            set_aside: frozenset[str] = frozenset()) -> RegionalState:
    """One candidate's state from its per-region (state, reason); regions in `set_aside`
    (the monitor's own outage there) are not heard."""
    heard = {r: sr for r, sr in judged.items() if r not in set_aside and sr[0] != UNKNOWN}
    down = sorted(r for r, (state, _) in heard.items() if state == DOWN)
    if down:
        first = f"{down[0]}: {heard[down[0]][1]}"
        if len(down) >= quorum:
            return RegionalState(DOWN, f"down in {_names(down)} ({len(down)} of {len(heard)} "
                                       f"regions heard; quorum {quorum}); {first}", tuple(down))
        others = "".join(f", {state} in {_names(regions)}"
                         for state, regions in _by_state(heard, exclude=DOWN))
        return RegionalState(DEGRADED, f"down in {_names(down)}{others}; quorum {quorum}; "
                                       f"{first}", tuple(down))
    if not heard:
        aside = sorted(r for r in judged if r in set_aside)
        if aside:
            return RegionalState(UNKNOWN, f"every region that probed it ({_names(aside)}) is "
                                          "failing on every provider at once: most likely "
                                          "the monitor's own network there, not an outage")
        reasons = sorted(f"{r}: {reason}" for r, (_, reason) in judged.items())
        return RegionalState(UNKNOWN, "; ".join(reasons) or "no probe ran in any region")
    worst = max(heard.items(), key=lambda kv: (_SEVERITY[kv[1][0]], kv[0]))[1][0]
    agree = sorted(r for r, (state, _) in heard.items() if state == worst)
    return RegionalState(worst, f"{worst} in {_names(agree)}; {agree[0]}: {heard[agree[0]][1]}",
                         tuple(agree))


def regional_states(evidence: Sequence[CandidateEvidence], rules: StateRules, now: datetime
                    ) -> dict[str, RegionalState]:
    """Candidate -> its state under the quorum; empty when nothing was probed, or when one
    region probed and the quorum is 1 (judge_state's state then)."""
    regions = {r for ev in evidence for r in ev.recent_by_region}
    if not regions or (len(regions) == 1 and rules.quorum == 1):
        return {}
    judged = {ev.candidate: {r: judge_state(recent, rules, now)
                             for r, recent in ev.recent_by_region.items()}
              for ev in evidence}
    aside = monitor_regions({c: {r: sr[0] for r, sr in by_region.items()}
                             for c, by_region in judged.items()},
                            {ev.candidate: ev.provider for ev in evidence})
    return {c: combine(by_region, rules.quorum, aside) for c, by_region in judged.items()}


def _by_state(heard: Mapping[str, tuple[str, str]], exclude: str
              ) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for region, (state, _) in sorted(heard.items()):
        if state != exclude:
            groups.setdefault(state, []).append(region)
    return sorted(groups.items(), key=lambda kv: -_SEVERITY.get(kv[0], 0))


def _names(regions: Sequence[str]) -> str:
    return ", ".join(regions)
