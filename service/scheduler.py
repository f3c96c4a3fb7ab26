"""APScheduler wiring: each candidate's probes at their interval with jitter, and scoring.

The scheduler only decides when; what a probe or a scoring pass does is handed in. It keeps
the tasks it started so that a stop can wait for in-flight probes and write their results.
After each probe run it asks `interval_of` for the probe's next interval (adaptive probing,
service/probing/adaptive.py): when that changed, the job is rescheduled to run that long
after now, with the jitter of the new interval.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

# Each job's first run falls at a random point of its first interval, so that hundreds of
# candidates are spread evenly over every interval instead of firing in one burst (a burst
# makes the event loop late and the TTFT it measures wrong: bench/RESULTS.md).


@dataclass(frozen=True)
class ProbePlan:
    candidate: str
    kind: str
    every: float  # seconds


def jitter_seconds(every: float) -> float:
    """Up to 10% of the interval, capped at 5 s: enough to de-synchronise, not to blur."""
    return min(every * 0.1, 5.0)


@dataclass(frozen=True)
class PeriodicJob:
    """A job that is not a probe: scoring, status polling, price polling, ..."""

    name: str
    every: float  # seconds
    run: Callable[[], Awaitable[None]]
    first_delay: float = 5.0  # seconds after start-up


class Scheduler:
    def __init__(self, run_probe: Callable[[ProbePlan], Awaitable[None]],
                 rng: random.Random | None = None,
                 interval_of: Callable[[ProbePlan], float | None] = lambda plan: None
                 ) -> None:
        self._run_probe = run_probe
        self._interval_of = interval_of  # None: the plan keeps its `every`
        self._every: dict[str, float] = {}  # probe job id -> its current interval
        self._rng = rng or random.Random()
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._in_flight: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def start(self, plans: list[ProbePlan], periodic: list[PeriodicJob]) -> None:
        now = datetime.now(UTC)
        for plan in plans:
            first = now + timedelta(
                seconds=self._rng.uniform(0, plan.every))
            job_id = _probe_job_id(plan)
            self._every[job_id] = plan.every
            self._aps.add_job(
                self._tracked, IntervalTrigger(seconds=plan.every,
                                               jitter=jitter_seconds(plan.every)),
                args=[self._run_probe, plan], id=job_id,
                next_run_time=first, max_instances=1, coalesce=True,
                misfire_grace_time=max(1, int(plan.every)))
        for job in periodic:
            self._aps.add_job(self._tracked, IntervalTrigger(seconds=job.every),
                              args=[job.run], id=job.name,
                              next_run_time=now + timedelta(seconds=min(job.every,
                                                                        job.first_delay)),
                              max_instances=1, coalesce=True,
                              misfire_grace_time=max(1, int(job.every)))
        self._aps.start()
        log.info("scheduler started: %d probe jobs; %s", len(plans),
                 ", ".join(f"{j.name} every {j.every:g}s" for j in periodic) or "no other jobs")

    async def stop(self, grace_seconds: float) -> int:
        """Stop starting new work; wait up to `grace_seconds` for work in flight.

        Returns how many tasks were still running at the deadline and were cancelled.
        """
        if self._aps.running:
            self._aps.pause()  # shutting the executor down now would cancel running jobs
        pending = {t for t in self._in_flight if not t.done()}
        if pending:
            log.info("waiting up to %gs for %d in-flight jobs", grace_seconds, len(pending))
            _, pending = await asyncio.wait(pending, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._aps.running:
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler applies shutdown on the next loop turn
        return len(pending)

    async def _tracked(self, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        # APScheduler cancels the coroutines it runs when it shuts down; the work itself runs
        # in a task of ours, shielded, so a stop can let it finish and record its result.
        task = asyncio.create_task(self._guarded(job, *args))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        await asyncio.shield(task)
        if args and isinstance(plan := args[0], ProbePlan):
            self._repace(plan)

    def _repace(self, plan: ProbePlan) -> None:
        """Reschedule an adaptive probe whose interval changed with its latest run."""
        every = self._interval_of(plan)
        job_id = _probe_job_id(plan)
        if every is None or every == self._every.get(job_id) or not self._aps.running \
                or self._aps.state == STATE_PAUSED:
            return  # unchanged, or stopping: no new runs
        self._every[job_id] = every
        self._aps.reschedule_job(job_id, trigger=IntervalTrigger(
            seconds=every, jitter=jitter_seconds(every)))
        self._aps.modify_job(job_id, misfire_grace_time=max(1, int(every)))

    def every(self, plan: ProbePlan) -> float:
        """The probe's current interval in seconds."""
        return self._every[_probe_job_id(plan)]

    @staticmethod
    async def _guarded(job: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await job(*args)
        except Exception:  # one failed job must never stop the scheduler
            if args and isinstance(plan := args[0], ProbePlan):
                log.exception("%s probe of %s failed", plan.kind, plan.candidate)
            else:
                log.exception("job %s failed", getattr(job, "__name__", job))


def _probe_job_id(plan: ProbePlan) -> str:
    return f"probe:{plan.candidate}:{plan.kind}"
