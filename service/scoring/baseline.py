"""Degraded by latency: a candidate much slower than its own recent past (docs/scoring.md).

The failure-based states (states.py) see errors; a provider that answers every request, but
four times slower than it did all week, looks `serving` to them. This is the slower, separate
judgement of that: the TTFT p95 of the candidate's latency probes over the last `window`
(15 min by default) against its TTFT p95 over the `baseline` before it (7 days).

- It enters when the current p95 reaches the enter level,
  max(baseline x enter_ratio, baseline + min_increase): both a ratio and an absolute floor,
  so a fast model going from 80 to 200 ms (x2.5, +120 ms) is not an alarm.
- It leaves when the current p95 falls to the exit level,
  max(baseline x exit_ratio, baseline + min_increase / 2), which is below the enter level:
  a latency between the two never changes the judgement (hysteresis), so a latency jittering
  around one threshold cannot make an alert storm.
- It needs `min_samples` in the window and `min_baseline_samples` in the baseline; with
  fewer, the judgement stays as it was (a candidate never becomes degraded on thin evidence).
- While degraded, the current p95 is compared with the baseline it entered against, kept
  from that pass: otherwise a slowdown that lasts would become its own baseline (after about
  5 % of the baseline window, the p95 of the baseline is the slowdown) and "recover" while
  still slow.

Pure: the caller reads the figures and the previous judgement (service/rankings/latency.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

QUANTILE = 0.95


@dataclass(frozen=True)
class LatencyRules:
    window_seconds: float = 900.0
    baseline_seconds: float = 7 * 86400.0
    min_samples: int = 10
    min_baseline_samples: int = 300
    enter_ratio: float = 2.0
    exit_ratio: float = 1.5
    min_increase_seconds: float = 0.25


@dataclass(frozen=True)
class LatencyFigure:
    """TTFT p95 in seconds, and how many successful latency probes it comes from."""

    p95: float
    samples: int


@dataclass(frozen=True)
class Degradation:
    """The previous pass's judgement when it was degraded: since when, against what."""

    since: datetime
    baseline: LatencyFigure


@dataclass(frozen=True)
class LatencyVerdict:
    degraded: bool
    changed: bool  # entered or left in this pass
    current: LatencyFigure | None
    baseline: LatencyFigure | None  # the one compared with (kept from entry while degraded)
    since: datetime | None  # when it became degraded; None when not degraded
    ratio: float | None  # current p95 / baseline p95; None when not judged
    reason: str


def enter_level(baseline: float, rules: LatencyRules) -> float:
    return max(baseline * rules.enter_ratio, baseline + rules.min_increase_seconds)


def exit_level(baseline: float, rules: LatencyRules) -> float:
    return max(baseline * rules.exit_ratio, baseline + rules.min_increase_seconds / 2)


def judge_latency(current: LatencyFigure | None, baseline: LatencyFigure | None,
                  previous: Degradation | None, rules: LatencyRules, now: datetime
                  ) -> LatencyVerdict:
    """This pass's judgement from the window's figure, the baseline's and the previous one."""
    reference = previous.baseline if previous is not None else baseline
    was = previous is not None
    since = previous.since if previous is not None else None
    thin = _thin(current, reference, rules)
    if thin is not None or current is None or reference is None:
        return LatencyVerdict(was, False, current, reference, since, None,
                              thin or "no latency figure")
    ratio = current.p95 / reference.p95
    if not was and current.p95 >= enter_level(reference.p95, rules):
        return LatencyVerdict(True, True, current, reference, now, ratio,
                              degraded_reason(current, reference, rules))
    if was and current.p95 <= exit_level(reference.p95, rules):
        return LatencyVerdict(False, True, current, reference, None, ratio,
                              recovered_reason(current, reference, rules))
    if was:
        return LatencyVerdict(True, False, current, reference, since, ratio,
                              degraded_reason(current, reference, rules))
    return LatencyVerdict(False, False, current, reference, None, ratio,
                          f"TTFT p95 {seconds(current.p95)} over the last "
                          f"{span(rules.window_seconds)}, x{ratio:.1f} its baseline "
                          f"{seconds(reference.p95)}")


def _thin(current: LatencyFigure | None, reference: LatencyFigure | None,
          rules: LatencyRules) -> str | None:
    """Why the figures cannot be judged, or None when they can."""
    if current is None or current.samples < rules.min_samples:
        return (f"{current.samples if current else 0} latency probes in the last "
                f"{span(rules.window_seconds)}, fewer than {rules.min_samples}")
    if reference is None or reference.samples < rules.min_baseline_samples:
        return (f"{reference.samples if reference else 0} latency probes in the "
                f"{span(rules.baseline_seconds)} baseline, fewer than "
                f"{rules.min_baseline_samples}")
    if reference.p95 <= 0:
        return "the baseline TTFT p95 is zero"
    return None


def degraded_reason(current: LatencyFigure, baseline: LatencyFigure,
                    rules: LatencyRules) -> str:
    """E.g. 'TTFT p95 4.1 s over the last 15 min against 0.9 s over 7 days (x4.6,
    threshold x2)'; the threshold named is the one that sets the enter level."""
    by_ratio = baseline.p95 * rules.enter_ratio >= baseline.p95 + rules.min_increase_seconds
    threshold = (f"x{rules.enter_ratio:g}" if by_ratio
                 else f"+{seconds(rules.min_increase_seconds)}")
    return (f"TTFT p95 {seconds(current.p95)} over the last {span(rules.window_seconds)} "
            f"against {seconds(baseline.p95)} over {span(rules.baseline_seconds)} "
            f"(x{current.p95 / baseline.p95:.1f}, threshold {threshold})")


def recovered_reason(current: LatencyFigure, baseline: LatencyFigure,
                     rules: LatencyRules) -> str:
    return (f"TTFT p95 {seconds(current.p95)} over the last {span(rules.window_seconds)} "
            f"against {seconds(baseline.p95)} over {span(rules.baseline_seconds)} "
            f"(x{current.p95 / baseline.p95:.1f}, back at or under "
            f"{seconds(exit_level(baseline.p95, rules))})")


def seconds(value: float) -> str:
    """0.08 -> '80 ms', 0.9 -> '0.9 s', 4.123 -> '4.1 s'."""
    if value < 0.1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2g} s" if value < 1 else f"{value:.1f} s"


def span(value: float) -> str:
    """900 -> '15 min', 604800 -> '7 days', 3600 -> '1 h'."""
    if value >= 86400 and value % 86400 == 0:
        days = int(value // 86400)
        return f"{days} day" + ("s" if days > 1 else "")
    for unit, size in (("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)} {unit}"
    return f"{value:g} s"
