"""Benchmark: adaptive probing against fixed 1-minute probing, on replayed outages and
latency jumps: how soon each detects, and what each spends.

    python -m bench.adaptive_probing                 # every strategy below, ~1 min
    python -m bench.adaptive_probing --seed 2        # another draw of phases and latencies

A discrete-event replay in simulated time, not a running daemon. What decides is the
daemon's own code: every adaptive interval comes from service/probing/adaptive.py
(AdaptivePacer, fed a ProbeResult per probe), and the state from service/scoring/states.py
(judge_state with the default StateRules: 5-minute window, 3 failures, 90 % failed). The
scheduler's timing is reproduced (service/scheduler.py): a fixed probe fires on APScheduler's
interval grid, start + k x every, each fire late by a uniform draw in [0, jitter]; an
adaptive probe's job is rescheduled when its interval changes, from the end of the run (a
run takes RUN_SECONDS), and fires on the new grid.

Timelines:

- real outages: the 206 OpenAI and Anthropic incidents of impact major or critical in
  bench/data/incident_durations.csv (durations from the providers' Statuspage histories,
  2020-12 to 2024-08; bench/data/SOURCES.md). Each is replayed as a full outage: every
  probe inside it fails (HTTP 5xx). The incidents of each provider are spaced evenly over
  its span of history (one after the other, no overlap), which, if anything, overstates
  outage time and so adaptive spend;
- synthetic latency jumps (stated as such): JUMPS jumps a year whose length is drawn
  log-uniformly between 5 min and 4 h; TTFT is lognormal (median 0.6 s, sigma 0.3) and
  JUMP_FACTOR times that during a jump.

Detection is measured from the start of each event: the first probe that sees it (a
failure; a TTFT at least 2x the median of the probe's last 20 successes, the pacer's own
test, applied to both strategies), and for outages the moment judge_state first says
`down` (judged at every probe and every time a probe leaves the window, i.e. as soon as the
rule allows: the daemon's scoring pass, every 60 s by default, adds up to a minute to both
strategies alike); for jumps the third slow probe. Spend is every probe run, failed ones
included, at PROBE_USD each. Declared incidents and flips (the pacer's `watched`) and
probe budgets are not replayed: adaptive probing gets no hint here.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import math
import random
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

from probes.result import ErrorClass, ProbeResult
from service.probing.adaptive import LATENCY_HISTORY, AdaptivePacer, AdaptiveRules, is_latency_jump
from service.scheduler import jitter_seconds
from service.scoring.evidence import RecentProbes
from service.scoring.states import DOWN, StateRules, judge_state

DATA = Path(__file__).parent / "data" / "incident_durations.csv"
DAY = 86400.0
RUN_SECONDS = 1.0  # how long a probe run takes before an adaptive job is rescheduled
# A latency probe (about 30 input and 16 output tokens) at gpt-4o's list price, 2.50 and
# 10 USD per million tokens: a typical paid probe. Failed probes are counted at it too.
PROBE_USD = (30 * 2.50 + 16 * 10.0) / 1e6
TTFT_MEDIAN, TTFT_SIGMA = 0.6, 0.3
JUMP_FACTOR = 3.0
JUMPS = 100  # a year
RULES = StateRules()  # the daemon's defaults
T0 = datetime(2024, 1, 1, tzinfo=UTC)  # judge_state wants a time; only the counts matter here


@dataclass(frozen=True)
class Strategy:
    name: str
    every: float
    adaptive: AdaptiveRules | None = None




def adaptive(min_every: float, max_every: float) -> AdaptiveRules:
    return AdaptiveRules.for_window(min_every, max_every, 60, RULES.window_seconds)


STRATEGIES = (
    Strategy("fixed 1 min", 60),
    Strategy("adaptive 5 s - 1 min", 60, adaptive(5, 60)),
    Strategy("adaptive 5 s - 2 min", 60, adaptive(5, 120)),
    Strategy("adaptive 5 s - 3 min", 60, adaptive(5, 180)),
    Strategy("adaptive 10 s - 3 min", 60, adaptive(10, 180)),
    Strategy("adaptive 10 s - 5 min", 60, adaptive(10, 300)),
)


@dataclass(frozen=True)
class Timeline:
    name: str
    span: float  # seconds
    events: list[tuple[float, float]]  # [start, end) in seconds, sorted, disjoint
    kind: str  # "outage" or "latency"


def outage_timelines() -> list[Timeline]:
    """Per provider, its major and critical incidents spaced evenly over its history."""
    by_provider: dict[str, list[float]] = {}
    first: dict[str, str] = {}
    with DATA.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["impact"] in ("major", "critical"):
                by_provider.setdefault(row["provider"], []).append(float(row["minutes"]) * 60)
                first[row["provider"]] = min(first.get(row["provider"], "9999"), row["month"])
    out = []
    for provider, durations in sorted(by_provider.items()):
        year, month = map(int, first[provider].split("-"))
        span = ((2024 - year) * 12 + 9 - month) * 30.44 * DAY  # to the end of 2024-08
        out.append(Timeline(provider, span, spaced(durations, span), "outage"))
    return out


def jump_timeline(rng: random.Random) -> Timeline:
    durations = [math.exp(rng.uniform(math.log(300), math.log(4 * 3600))) for _ in range(JUMPS)]
    return Timeline("latency jumps (synthetic)", 365 * DAY, spaced(durations, 365 * DAY),
                    "latency")


def spaced(durations: list[float], span: float) -> list[tuple[float, float]]:
    gap = (span - sum(durations)) / len(durations)
    events, t = [], gap / 2
    for d in durations:
        events.append((t, t + d))
        t += d + gap
    return events


# --- the replay ---------------------------------------------------------------------------

@dataclass
class Probes:
    times: list[float]
    ok: list[bool]
    ttft: list[float | None]


def world(timeline: Timeline, rng: random.Random) -> Callable[[float], ProbeResult]:
    """What a probe started at t sees."""
    starts = [s for s, _ in timeline.events]

    def answer(t: float) -> ProbeResult:
        i = bisect.bisect_right(starts, t) - 1
        inside = i >= 0 and t < timeline.events[i][1]
        if inside and timeline.kind == "outage":
            return ProbeResult(kind="latency", ok=False, started_at=T0,
                               error_class=ErrorClass.HTTP_5XX)
        ttft = rng.lognormvariate(math.log(TTFT_MEDIAN), TTFT_SIGMA)
        if inside:
            ttft *= JUMP_FACTOR
        return ProbeResult(kind="latency", ok=True, started_at=T0, ttft_seconds=ttft)
    return answer


def fire_times(strategy: Strategy, span: float, rng: random.Random,
               answer: Callable[[float], ProbeResult], probes: Probes) -> Iterator[float]:
    """Run the strategy's schedule over [0, span), recording each probe in `probes`."""
    pacer = AdaptivePacer()
    if strategy.adaptive is not None:
        pacer.add("c", "latency", strategy.adaptive)
    every = strategy.every
    grid, k = rng.uniform(0, every), 0  # the first run: a random point of the first interval
    t = grid
    while t < span:
        result = answer(t)
        probes.times.append(t)
        probes.ok.append(result.ok)
        probes.ttft.append(result.ttft_seconds)
        yield t
        if strategy.adaptive is not None:
            new = pacer.observe("c", "latency", result)
            if new != every:  # rescheduled from the end of the run, on a new grid
                every, grid, k = new, t + RUN_SECONDS, 0
        k += 1
        t = grid + k * every + rng.uniform(0, jitter_seconds(every))


def replay(strategy: Strategy, timeline: Timeline, seed: int) -> Probes:
    rng = random.Random(f"{seed}:{timeline.name}:{strategy.name}")
    probes = Probes([], [], [])
    for _ in fire_times(strategy, timeline.span, rng, world(timeline, rng), probes):
        pass
    return probes


# --- detection ----------------------------------------------------------------------------

def first_failure(probes: Probes, start: float, end: float) -> float | None:
    i = bisect.bisect_left(probes.times, start)
    while i < len(probes.times) and probes.times[i] < end:
        if not probes.ok[i]:
            return probes.times[i] - start
        i += 1
    return None


def down_after(probes: Probes, fails: list[int], start: float, end: float) -> float | None:
    """Seconds from `start` until judge_state says down, judged whenever a probe arrives
    or leaves the window; None if not before `end`."""
    lo = bisect.bisect_left(probes.times, start - RULES.window_seconds)
    hi = bisect.bisect_left(probes.times, end)
    moments = sorted({t for t in probes.times[bisect.bisect_left(probes.times, start):hi]}
                     | {t + RULES.window_seconds + 1e-6 for t in probes.times[lo:hi]
                        if start <= t + RULES.window_seconds < end})
    for now in moments:
        a = bisect.bisect_left(probes.times, now - RULES.window_seconds)
        b = bisect.bisect_right(probes.times, now)
        failed = fails[b] - fails[a]
        if failed < RULES.min_probes:
            continue
        recent = RecentProbes(ok=(b - a) - failed, failed=failed, first_failed_at=T0)
        if judge_state(recent, RULES, T0)[0] == DOWN:
            return now - start
    return None


def slow(probes: Probes) -> list[bool]:
    """Whether each probe's TTFT is a jump against the median of the last 20 successes."""
    out: list[bool] = []
    recent: list[float] = []
    for ttft in probes.ttft:
        out.append(is_latency_jump(ttft, recent))
        if ttft is not None:
            recent = [*recent, ttft][-LATENCY_HISTORY:]
    return out


def nth_after(probes: Probes, flags: list[bool], start: float, end: float, n: int
              ) -> float | None:
    i, count = bisect.bisect_left(probes.times, start), 0
    while i < len(probes.times) and probes.times[i] < end:
        count += flags[i]
        if count == n:
            return probes.times[i] - start
        i += 1
    return None


# --- report -------------------------------------------------------------------------------

def quantiles(values: list[float | None]) -> str:
    got = sorted(v for v in values if v is not None)
    if not got:
        return "none"
    p90 = got[min(len(got) - 1, math.ceil(0.9 * len(got)) - 1)]
    return f"{statistics.median(got):.0f} / {p90:.0f} / {got[-1]:.0f}"


def missed(values: list[float | None]) -> int:
    return sum(v is None for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outages = outage_timelines()
    jumps = jump_timeline(random.Random(args.seed))
    print(f"outages: {sum(len(t.events) for t in outages)} real incidents "
          f"({', '.join(f'{t.name} {len(t.events)}' for t in outages)}); "
          f"latency jumps: {len(jumps.events)} synthetic; probe price {PROBE_USD:.6f} USD\n")
    print("| strategy | outages: first failing probe, s (median / p90 / max) | outages: "
          "state `down`, s (median / p90 / max) | outages not `down` before they ended | "
          "probes a day (USD a day), outage replay | latency jumps: first slow probe, s | "
          "latency jumps: third slow probe, s | jumps with no slow probe | probes a day "
          "(USD a day), jump replay |")
    print("|---|---|---|---|---|---|---|---|---|")
    for strategy in STRATEGIES:
        seen, down, count, days = [], [], 0, 0.0
        for timeline in outages:
            probes = replay(strategy, timeline, args.seed)
            fails = [0, *accumulate(not ok for ok in probes.ok)]
            for start, end in timeline.events:
                seen.append(first_failure(probes, start, end))
                down.append(down_after(probes, fails, start, end))
            count += len(probes.times)
            days += timeline.span / DAY
        probes = replay(strategy, jumps, args.seed)
        flags = slow(probes)
        first_slow = [nth_after(probes, flags, s, e, 1) for s, e in jumps.events]
        third_slow = [nth_after(probes, flags, s, e, 3) for s, e in jumps.events]
        per_day, jump_day = count / days, len(probes.times) / (jumps.span / DAY)
        print(f"| {strategy.name} | {quantiles(seen)} | {quantiles(down)} | {missed(down)} of "
              f"{len(down)} | {per_day:,.0f} ({per_day * PROBE_USD:.3f}) | "
              f"{quantiles(first_slow)} | {quantiles(third_slow)} | {missed(first_slow)} of "
              f"{len(first_slow)} | {jump_day:,.0f} ({jump_day * PROBE_USD:.3f}) |")


if __name__ == "__main__":
    main()
