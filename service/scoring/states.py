"""Is a candidate serving right now? Its state, from the probes of the last few minutes.

Scores move slowly by design (they weigh days of evidence); a provider that answers every
request with 503 or 429 must stop being recommended within minutes. The state is that
separate, fast judgement (docs/scoring.md, "States"):

- unknown:   no probe in the state window gave an answer that counts (none ran, or every
             one hit our own key problem, 401/403);
- down:      at least `min_probes` counted probes failed and at least `down_failure_share`
             of the counted probes (successes and failures; 429s apart) failed;
- throttled: at least `min_probes` probes were answered 429 and they are at least
             `throttled_share` of the successes and 429s (evidence.throttled_share); or
             the latest answer was a 429 whose Retry-After has not run out (the daemon
             waits it out, so few probes run meanwhile);
- degraded:  at least `degraded_failure_share` of the counted probes failed (two or more);
- serving:   otherwise.

Down and throttled candidates cannot become or stay the announced top choice
(service/scoring/flip.py). When every candidate that answered is down, across two providers
or more, the failure is most likely the monitor's own (its network, its DNS): they are then
`unknown`, not down (monitor_outage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.scoring.evidence import RecentProbes

SERVING, DEGRADED, THROTTLED, DOWN, UNKNOWN = "serving", "degraded", "throttled", "down", \
    "unknown"
STATES = (SERVING, DEGRADED, THROTTLED, DOWN, UNKNOWN)
UNAVAILABLE = frozenset({DOWN, THROTTLED})  # may not be the announced top choice


@dataclass(frozen=True)
class StateRules:
    window_seconds: float = 300.0
    min_probes: int = 3
    down_failure_share: float = 0.9
    degraded_failure_share: float = 0.2
    throttled_share: float = 0.5
    quorum: int = 1  # regions that must judge a candidate down (service/scoring/quorum.py)


def judge_state(recent: RecentProbes | None, rules: StateRules, now: datetime
                ) -> tuple[str, str]:
    """(state, reason) from the state window's probes, as of `now`."""
    if recent is not None and recent.throttled_until is not None \
            and recent.throttled_until > now:
        seen = (f"{recent.throttled} of {recent.answered} probes answered 429 in the last "
                f"{_span(rules.window_seconds)}" if recent.answered
                else "its latest answer was a 429")
        return THROTTLED, (f"{seen}, asking to wait until {_at(recent.throttled_until)} "
                           "(Retry-After)")
    if recent is None or recent.answered == 0:
        why = (f"{recent.config_errors} probes refused our key (401/403)"
               if recent is not None and recent.config_errors else "no probe ran")
        return UNKNOWN, f"{why} in the last {_span(rules.window_seconds)}"
    counted = recent.ok + recent.failed
    failed_share = recent.failed / counted if counted else 0.0
    if recent.failed >= rules.min_probes and failed_share >= rules.down_failure_share:
        return DOWN, (f"{recent.failed} of {counted} probes failed since "
                      f"{_at(recent.first_failed_at)}{_errors(recent)}")
    share = recent.throttled_share or 0.0
    if recent.throttled >= rules.min_probes and share >= rules.throttled_share:
        return THROTTLED, (f"{recent.throttled} of {recent.ok + recent.throttled} probes that "
                           f"did not fail answered 429 since {_at(recent.first_throttled_at)}")
    if recent.failed >= 2 and failed_share >= rules.degraded_failure_share:
        return DEGRADED, (f"{recent.failed} of {counted} probes failed in the last "
                          f"{_span(rules.window_seconds)}{_errors(recent)}")
    return SERVING, (f"{recent.ok} of {counted} probes succeeded in the last "
                     f"{_span(rules.window_seconds)}" if counted else
                     f"{recent.throttled} probes answered 429, none failed")


def monitor_outage(states: Mapping[str, str], providers: Mapping[str, str]) -> bool:
    """Every candidate with an answer in the window is down, and they span two providers or
    more: nobody is serving, which says more about the monitor than about the providers."""
    answered = [c for c, state in states.items() if state != UNKNOWN]
    return (bool(answered) and all(states[c] == DOWN for c in answered)
            and len({providers[c] for c in answered}) >= 2)


MONITOR_OUTAGE = ("every candidate that answered is failing, across {n} providers: most "
                  "likely the monitor's own network, not their outage")


def _errors(recent: RecentProbes) -> str:
    if not recent.errors:
        return ""
    top = sorted(recent.errors.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return " (" + ", ".join(f"{name} x{count}" for name, count in top) + ")"


def _at(when: datetime | None) -> str:
    return f"{when:%H:%M:%S}Z" if when is not None else "the window's start"


def _span(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"
