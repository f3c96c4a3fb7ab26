"""The scheduler runs jobs at their interval and lets in-flight work finish on stop."""

from __future__ import annotations

import asyncio
import random

from service.scheduler import ProbePlan, Scheduler, jitter_seconds


async def test_stop_waits_for_in_flight_probe_and_its_result_is_kept() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def slow_probe(plan: ProbePlan) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(plan.candidate)

    async def scoring() -> None:
        return None

    scheduler = Scheduler(slow_probe, scoring, scoring_every=60, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.2)])
    await asyncio.wait_for(started.wait(), 15)
    cancelled = await scheduler.stop(grace_seconds=5)
    assert cancelled == 0
    assert finished == ["a/x"]
    assert not scheduler.running


async def test_stop_abandons_work_past_the_grace_period() -> None:
    started = asyncio.Event()

    async def hung_probe(plan: ProbePlan) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def scoring() -> None:
        return None

    scheduler = Scheduler(hung_probe, scoring, scoring_every=60, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.2)])
    await asyncio.wait_for(started.wait(), 15)
    assert await scheduler.stop(grace_seconds=0.2) == 1


async def test_a_failing_job_does_not_stop_the_schedule() -> None:
    calls: list[int] = []

    async def failing_probe(plan: ProbePlan) -> None:
        calls.append(1)
        raise RuntimeError("boom")

    async def scoring() -> None:
        return None

    scheduler = Scheduler(failing_probe, scoring, scoring_every=60, rng=random.Random(1))
    scheduler.start([ProbePlan("a/x", "latency", every=0.1)])
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.05)
    await scheduler.stop(grace_seconds=1)
    assert len(calls) >= 3


def test_jitter_is_a_tenth_of_the_interval_capped_at_five_seconds() -> None:
    assert jitter_seconds(10) == 1.0
    assert jitter_seconds(600) == 5.0
