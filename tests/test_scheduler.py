"""The scheduler runs jobs at their interval and lets in-flight work finish on stop."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from probes.result import ErrorClass, ProbeResult
from service.probing.adaptive import AdaptivePacer, AdaptiveRules
from service.scheduler import PeriodicJob, ProbePlan, Scheduler, jitter_seconds


@pytest.mark.integration  # real scheduler, real time
async def test_stop_waits_for_in_flight_probe_and_its_result_is_kept() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def slow_probe(plan: ProbePlan) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(plan.candidate)

    async def scoring() -> None:
        return None

    scheduler = Scheduler(slow_probe, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.2)], [PeriodicJob("scoring", 60, scoring)])
    await asyncio.wait_for(started.wait(), 15)
    cancelled = await scheduler.stop(grace_seconds=5)
    assert cancelled == 0
    assert finished == ["a/x"]
    assert not scheduler.running


@pytest.mark.integration  # real scheduler, real time
async def test_stop_abandons_work_past_the_grace_period() -> None:
    started = asyncio.Event()

    async def hung_probe(plan: ProbePlan) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def scoring() -> None:
        return None

    scheduler = Scheduler(hung_probe, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.2)], [PeriodicJob("scoring", 60, scoring)])
    await asyncio.wait_for(started.wait(), 15)
    assert await scheduler.stop(grace_seconds=0.2) == 1


@pytest.mark.integration  # real scheduler, real time
async def test_a_failing_job_does_not_stop_the_schedule() -> None:
    calls: list[int] = []

    async def failing_probe(plan: ProbePlan) -> None:
        calls.append(1)
        raise RuntimeError("boom")

    async def scoring() -> None:
        return None

    scheduler = Scheduler(failing_probe, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.1)], [PeriodicJob("scoring", 60, scoring)])
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.05)
    await scheduler.stop(grace_seconds=1)
    assert len(calls) >= 3


def test_jitter_is_a_tenth_of_the_interval_capped_at_five_seconds() -> None:
    assert jitter_seconds(10) == 1.0
    assert jitter_seconds(600) == 5.0


@pytest.mark.integration  # real scheduler, real time
async def test_periodic_job_runs_soon_after_start_then_at_its_interval() -> None:
    runs: list[float] = []

    async def probe(plan: ProbePlan) -> None:
        return None

    async def job() -> None:
        runs.append(asyncio.get_running_loop().time())

    scheduler = Scheduler(probe, rng=random.Random(1))
    scheduler.start([], [PeriodicJob("tick", every=0.3, run=job, first_delay=0.05)])
    for _ in range(100):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.05)
    await scheduler.stop(grace_seconds=1)
    assert len(runs) >= 3
    assert all(b - a > 0.15 for a, b in itertools.pairwise(runs))


async def test_a_probe_job_that_raises_is_logged_with_its_candidate(
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken(plan: ProbePlan) -> None:
        raise RuntimeError("boom")

    await Scheduler._guarded(broken, ProbePlan("west/m", "tools", every=60))
    assert [r.getMessage() for r in caplog.records] == ["tools probe of west/m failed"]
    assert "boom" in caplog.text  # with its traceback


@pytest.mark.integration  # real scheduler, real time
async def test_an_adaptive_probe_comes_faster_after_a_failure_and_slower_when_calm() -> None:
    pacer = AdaptivePacer()
    pacer.add("a/x", "latency", AdaptiveRules(min_every=0.05, max_every=0.5, every=0.3))
    runs: list[float] = []

    async def probe(plan: ProbePlan) -> None:
        runs.append(asyncio.get_running_loop().time())
        failing = len(runs) in (2, 3)  # the 2nd and 3rd runs fail, the rest are clean
        pacer.observe(plan.candidate, plan.kind, ProbeResult(
            kind="latency", ok=not failing,
            error_class=ErrorClass.HTTP_5XX if failing else None, ttft_seconds=0.01))

    scheduler = Scheduler(probe, rng=random.Random(1),
                          interval_of=lambda plan: pacer.every(plan.candidate, plan.kind))
    plan = ProbePlan("a/x", "latency", every=0.3)
    scheduler.start([plan], [])
    for _ in range(400):
        if len(runs) >= 14:
            break
        await asyncio.sleep(0.02)
    await scheduler.stop(grace_seconds=1)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert len(gaps) >= 13
    assert gaps[0] > 0.25  # its configured `every` first
    assert gaps[1] < 0.15 and gaps[2] < 0.15  # after each failure: min_every, at once
    assert gaps[-1] > 0.3  # calm again: stretched toward max_every
    assert scheduler.every(plan) == 0.5
