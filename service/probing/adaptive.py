"""Adaptive probing: how long to wait before a probe's next run, from what it has seen.

A probe with `adaptive: {min_every, max_every}` in its config starts at its `every` and then:

- an anomaly — a failure that counts against availability, or a latency jump (its TTFT, else
  its duration, at least `LATENCY_JUMP` times the median of its last successes) — snaps the
  interval to `min_every` at once, so that the failures the state needs come within seconds;
- once `alert_runs` anomalies in a row have filled the state window (the state is then
  `down`, service/scoring/states.py), further ones run at `every` again: a long outage is
  watched at the configured pace, not at `min_every` for hours;
- after `CALM_AFTER` clean probes in a row, each further clean probe stretches the interval
  by `GROWTH`, up to `max_every`;
- a probe that says nothing of the provider (429, 401/403, a run skipped) keeps it;
- while the candidate is *watched* — its provider has an open declared incident, or it is the
  incumbent or the challenger of a top-choice change under way — the interval is at most the
  configured `every`: no calm stretching while the outcome hangs on it (not `min_every`:
  declared incidents often last hours and touch other models; a failure this probe sees
  brings `min_every` itself);
- the daily probe budget sets a floor (`budget_floor`): the interval at which the spend left
  lasts until the end of the UTC day, so the policy slows down as a budget runs low instead
  of spending it early (the budget itself still skips probes past its cap:
  service/probing/budget.py).

Whatever the signals, the interval stays within [min_every, max_every]. `step` is the whole
decision and is pure; `AdaptivePacer` only keeps each probe's state between runs. The bench
(bench/adaptive_probing.py) replays outages through this same code.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from probes.result import NOT_AN_OUTAGE, ProbeResult

CALM_AFTER = 3  # clean probes in a row before the interval starts to stretch
GROWTH = 1.5  # each further clean probe stretches the interval by this factor
LATENCY_JUMP = 2.0  # a latency this many times the recent median is an anomaly
LATENCY_SAMPLES = 5  # successes needed before a jump can be judged
LATENCY_HISTORY = 20  # successes the median is taken over

ANOMALY, CLEAN, NEUTRAL = "anomaly", "clean", "neutral"


@dataclass(frozen=True)
class AdaptiveRules:
    min_every: float  # seconds: the interval while something looks wrong
    max_every: float  # seconds: the longest calm interval
    every: float  # seconds: the first interval, the longest while watched or long failing
    alert_runs: int = 30  # anomalies in a row at min_every: enough to fill the state window

    @classmethod
    def for_window(cls, min_every: float, max_every: float, every: float,
                   window_seconds: float) -> AdaptiveRules:
        """Rules whose alert runs span the state window (`scoring.states.window`)."""
        return cls(min_every, max_every, every, max(1, math.ceil(window_seconds / min_every)))

    def clamp(self, seconds: float) -> float:
        return min(self.max_every, max(self.min_every, seconds))


@dataclass(frozen=True)
class Pace:
    every: float  # seconds until the next run
    calm: int = 0  # clean probes in a row
    failing: int = 0  # anomalies in a row


def step(pace: Pace, outcome: str, rules: AdaptiveRules, *, watched: bool = False,
         floor: float = 0.0) -> Pace:
    """The pace after one probe whose outcome was ANOMALY, CLEAN or NEUTRAL."""
    if outcome == ANOMALY:
        failing = pace.failing + 1
        every = rules.min_every if failing <= rules.alert_runs else rules.every
        calm = 0
    elif outcome == CLEAN:
        calm, failing = pace.calm + 1, 0
        every = pace.every * GROWTH if calm > CALM_AFTER else pace.every
    else:
        every, calm, failing = pace.every, pace.calm, pace.failing
    if watched:
        every = min(every, rules.every)
    return Pace(rules.clamp(max(every, floor)), calm, failing)


def budget_floor(seconds_left: float, usd_left: float | None, usd_per_round: float) -> float:
    """The shortest interval at which `usd_left` lasts `seconds_left`, when every probe the
    budget covers runs once per interval at `usd_per_round` in all; 0 without a cap or a
    known cost, infinite once the budget is spent."""
    if usd_left is None or usd_per_round <= 0:
        return 0.0
    if usd_left <= 0:
        return float("inf")
    return seconds_left * usd_per_round / usd_left


def is_latency_jump(latency: float | None, recent: list[float]) -> bool:
    if latency is None or len(recent) < LATENCY_SAMPLES:
        return False
    return latency >= LATENCY_JUMP * statistics.median(recent)


def outcome_of(result: ProbeResult, recent: list[float]) -> str:
    """ANOMALY, CLEAN or NEUTRAL for one probe result, given its probe's recent latencies."""
    if not result.ok:
        return NEUTRAL if result.error_class in NOT_AN_OUTAGE else ANOMALY
    return ANOMALY if is_latency_jump(latency_of(result), recent) else CLEAN


def latency_of(result: ProbeResult) -> float | None:
    return result.ttft_seconds if result.ttft_seconds is not None else result.total_seconds


@dataclass
class _Probe:
    rules: AdaptiveRules
    pace: Pace
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_HISTORY))
    cost_usd: float = 0.0  # what its latest costed run cost


class AdaptivePacer:
    """Each adaptive probe's pace between runs; (candidate, kind) keys, in memory only."""

    def __init__(self) -> None:
        self._probes: dict[tuple[str, str], _Probe] = {}
        self.watched: frozenset[str] = frozenset()  # candidates: incident open, flip under way

    def add(self, candidate: str, kind: str, rules: AdaptiveRules) -> None:
        self._probes[(candidate, kind)] = _Probe(rules, Pace(rules.clamp(rules.every)))

    @property
    def has_probes(self) -> bool:
        return bool(self._probes)

    def adaptive(self, candidate: str, kind: str) -> bool:
        return (candidate, kind) in self._probes

    def every(self, candidate: str, kind: str) -> float:
        return self._probes[(candidate, kind)].pace.every

    def cost(self, candidate: str, kind: str, usd: float | None) -> None:
        """What a run cost (None or 0: not known, the last known cost stays)."""
        if usd:
            self._probes[(candidate, kind)].cost_usd = usd

    def observe(self, candidate: str, kind: str, result: ProbeResult | None,
                floor: float = 0.0) -> float:
        """Take one run's result (None: it did not run) and return the next interval."""
        probe = self._probes[(candidate, kind)]
        outcome = NEUTRAL if result is None else outcome_of(result, list(probe.latencies))
        if result is not None and result.ok and (latency := latency_of(result)) is not None:
            probe.latencies.append(latency)
        probe.pace = step(probe.pace, outcome, probe.rules,
                          watched=candidate in self.watched, floor=floor)
        return probe.pace.every

    def cost_per_round(self, candidate: str | None = None) -> float:
        """What one run of each adaptive probe (of `candidate`, or all) last cost, in all."""
        return sum(p.cost_usd for (cid, _), p in self._probes.items()
                   if candidate is None or cid == candidate)
