"""bench/adaptive_probing.py replays what the daemon would do: its clock and its judgement
are checked here on timelines small enough to reason about."""

from __future__ import annotations

from itertools import accumulate

import pytest

from bench.adaptive_probing import (
    STRATEGIES,
    Timeline,
    down_after,
    first_failure,
    outage_timelines,
    replay,
)

FIXED, *_ = STRATEGIES
ADAPTIVE = next(s for s in STRATEGIES if s.name == "adaptive 5 s - 3 min")
DAY = 86400.0


def test_it_replays_the_real_major_and_critical_incidents() -> None:
    timelines = {t.name: t for t in outage_timelines()}
    assert {name: len(t.events) for name, t in timelines.items()} == {
        "anthropic": 44, "openai": 162}
    for t in timelines.values():
        assert all(a[1] <= b[0] for a, b in zip(t.events, t.events[1:], strict=False))


def test_fixed_probing_runs_once_a_minute() -> None:
    probes = replay(FIXED, Timeline("calm", DAY, [], "outage"), seed=1)
    assert len(probes.times) in (1439, 1440)
    assert all(p for p in probes.ok)


def test_a_fixed_minute_is_down_once_the_successes_leave_the_window() -> None:
    outage = (DAY / 2, DAY / 2 + 1800)
    probes = replay(FIXED, Timeline("one", DAY, [outage], "outage"), seed=1)
    fails = [0, *accumulate(not ok for ok in probes.ok)]
    seen = first_failure(probes, *outage)
    down = down_after(probes, fails, *outage)
    assert seen is not None and 0 <= seen <= 60 + 5  # the next run, jitter included
    # Five failures and the success before them no longer in the 5-minute window: 90 %.
    assert down is not None and 240 < down <= 300 + 5


def test_adaptive_probing_reaches_down_sooner_and_spends_less_when_calm() -> None:
    outage = (DAY / 2, DAY / 2 + 1800)
    timeline = Timeline("one", DAY, [outage], "outage")
    fixed, adaptive = replay(FIXED, timeline, seed=1), replay(ADAPTIVE, timeline, seed=1)
    down = {name: down_after(p, [0, *accumulate(not ok for ok in p.ok)], *outage)
            for name, p in (("fixed", fixed), ("adaptive", adaptive))}
    assert down["adaptive"] is not None and down["fixed"] is not None
    assert down["adaptive"] < down["fixed"]
    assert len(adaptive.times) < len(fixed.times) / 2
    gaps_in_outage = [b - a for a, b in zip(adaptive.times, adaptive.times[1:], strict=False)
                      if outage[0] <= a < outage[0] + 120]
    assert gaps_in_outage and max(gaps_in_outage) == pytest.approx(6, abs=1.5)  # 5 s + jitter
