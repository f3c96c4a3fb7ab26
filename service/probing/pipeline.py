"""One scheduled probe, end to end: who probes it, whether it may run, the probe itself,
and what becomes of its result.

For each (candidate, kind) the scheduler fires: skip it when another replica owns the
candidate, while a 429's Retry-After holds it back (service/probing/backoff.py) or when its
daily probe budget is spent (service/probing/budget.py); else probe it through the
candidate's client, flag timing the event loop may have spoilt, hold the candidate back on
a new Retry-After, update the metrics, count the spend, and hand the row to the writer; an
adaptive probe's next interval then follows from what it saw (service/probing/adaptive.py). A
result that failed because the monitor's own reading process died (ErrorClass.MONITOR) is
logged and dropped: it says nothing of the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType

import httpx

from probes import run_probe
from probes.auth import with_credentials
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.config import Settings
from service.probing.adaptive import AdaptivePacer, AdaptiveRules, budget_floor
from service.probing.backoff import Backoff
from service.probing.budget import ProbeBudget
from service.probing.looplag import LagWindow
from service.probing.metrics import ProbeMetrics
from service.probing.rows import probe_row
from service.scheduler import ProbePlan
from service.scoring.evidence import Price
from service.store.models import ProbeResultRow

log = logging.getLogger(__name__)


def build_targets(settings: Settings, environ: Mapping[str, str]
                  ) -> tuple[dict[str, Target], list[str]]:
    """Targets for every candidate that can be probed, and why the others cannot."""
    targets: dict[str, Target] = {}
    skipped: list[str] = []
    for cid, cand in sorted(settings.candidates.items()):
        if not cand.enabled or not cand.probes:
            continue
        key = cand.resolve_api_key(environ)
        if key is None and (cand.api_key_env or cand.api_key_file):
            where = (f"environment variable {cand.api_key_env}" if cand.api_key_env
                     else f"key file {cand.api_key_file}")
            skipped.append(f"{cid}: {where} is not set")
            continue
        targets[cid] = with_credentials(Target(api=cand.api, base_url=cand.base_url,
                                               model=cand.model, api_key=key, name=cid))
    return targets, skipped


class ProbePipeline:
    def __init__(self, settings: Settings, targets: Mapping[str, Target],
                 metrics: ProbeMetrics, budget: ProbeBudget, write: Callable[[ProbeResultRow],
                                                                           None],
                 owns: Callable[[str], bool], client_for: Callable[[str], httpx.AsyncClient],
                 lag_window: LagWindow | None = None) -> None:
        self.settings = settings
        self.targets = targets
        self.metrics = metrics
        self.budget = budget
        self.write = write
        self.owns = owns  # whether this replica probes the candidate
        self.client_for = client_for
        self.lag_window = lag_window or LagWindow()
        self.backoff = Backoff()  # candidates that answered 429 with a Retry-After
        self.prices: dict[str, Price] = {}  # to cost each result (set at start-up)
        self.pacer = AdaptivePacer()  # the probes with `adaptive` set
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # for the budget's day
        for cid in targets:
            for kind, schedule in settings.candidates[cid].probes.items():
                if schedule.adaptive is not None:
                    self.pacer.add(cid, kind, AdaptiveRules.for_window(
                        schedule.adaptive.min_every, schedule.adaptive.max_every,
                        schedule.every, settings.scoring.states.window))

    def plans(self) -> list[ProbePlan]:
        plans = [ProbePlan(cid, kind, schedule.every)
                 for cid in self.targets
                 for kind, schedule in sorted(self.settings.candidates[cid].probes.items())]
        for plan in plans:
            if self.pacer.adaptive(plan.candidate, plan.kind):
                self.metrics.adaptive_interval.labels(plan.candidate, plan.kind).set(plan.every)
        return plans

    async def run(self, plan: ProbePlan) -> None:
        ran = await self._probe(plan)
        if self.pacer.adaptive(plan.candidate, plan.kind):
            result, cost = ran if ran is not None else (None, None)
            self.pacer.cost(plan.candidate, plan.kind, cost)
            every = self.pacer.observe(plan.candidate, plan.kind, result,
                                       floor=self._budget_floor(plan.candidate))
            self.metrics.adaptive_interval.labels(plan.candidate, plan.kind).set(every)

    def interval(self, plan: ProbePlan) -> float | None:
        """Seconds until the plan's next run: adaptive probes only (None: keep `every`)."""
        if not self.pacer.adaptive(plan.candidate, plan.kind):
            return None
        return self.pacer.every(plan.candidate, plan.kind)

    async def _probe(self, plan: ProbePlan) -> tuple[ProbeResult, float | None] | None:
        """Probe once if it may; the result and what it cost, or None if it did not run."""
        if not self.owns(plan.candidate):
            return None  # another replica in this region probes this candidate
        if (wait := self.backoff.remaining(plan.candidate)) > 0:
            # Not a probe: nothing is sent, counted or stored (service/probing/backoff.py).
            self.metrics.backoff_skipped.labels(plan.candidate, plan.kind).inc()
            log.debug("%s probe of %s skipped: %.1fs of its Retry-After left", plan.kind,
                      plan.candidate, wait)
            return None
        if not self.budget.allow(plan.candidate):
            return None  # its daily probe budget is spent: skipped, logged once a day
        schedule = self.settings.candidates[plan.candidate].probes[plan.kind]
        target = replace(self.targets[plan.candidate], timeout_seconds=schedule.timeout,
                         max_tokens=schedule.max_tokens,
                         options=MappingProxyType(schedule.probe_options()))
        since = self.lag_window.now()
        result = await run_probe(plan.kind, target, self.client_for(plan.candidate))
        if result.error_class == ErrorClass.MONITOR:
            # Its connection failed because the monitor's reading process died: that says
            # nothing of the provider (probes/receiver.py).
            log.warning("%s probe of %s not recorded: the probe reading process exited "
                        "while it ran", plan.kind, plan.candidate)
            return None
        if "read_late_seconds" not in result.extra and (
                lag := self.lag_window.unreliable(since)) is not None:
            # No reading process stamped it (behind a proxy the loop reads): the loop was
            # held up meanwhile, and its stamps may be late by up to `lag`. A stamped result
            # says itself whether its reads were late (probes/stream.py).
            result.extra.update(timing_unreliable=True, loop_lag_seconds=round(lag, 4))
        if result.error_class == ErrorClass.RATE_LIMITED and result.retry_after_seconds:
            self._hold_back(plan.candidate, result.retry_after_seconds)
        provider = self.settings.candidates[plan.candidate].provider
        self.metrics.observe(plan.candidate, provider, self.settings.region, result)
        row = probe_row(plan.candidate, self.settings.region, result,
                        self.prices.get(plan.candidate))
        self.budget.spend(plan.candidate, provider, row.cost_usd)
        self.write(row)
        return result, row.cost_usd

    def _budget_floor(self, candidate: str) -> float:
        """The interval below which adaptive probes would spend a daily budget before the
        UTC day ends (service/probing/adaptive.py); 0 without a cap."""
        now = self.now()
        left = (datetime.combine(now.date() + timedelta(days=1), time(), UTC)
                - now).total_seconds()
        caps = self.settings.probe_budget
        mine = (None if caps.daily_usd_per_candidate is None
                else caps.daily_usd_per_candidate - self.budget.spent(candidate))
        total = (None if caps.daily_usd_total is None
                 else caps.daily_usd_total - self.budget.spent())
        return max(budget_floor(left, mine, self.pacer.cost_per_round(candidate)),
                   budget_floor(left, total, self.pacer.cost_per_round()))

    def _hold_back(self, candidate: str, retry_after: float) -> None:
        """Pause the candidate's probes, every kind, for its Retry-After (capped)."""
        pause = self.backoff.hold(candidate, retry_after)
        why = ("as its Retry-After asks" if pause == retry_after else
               f"the most honoured: its Retry-After asks {_seconds(retry_after)}s")
        log.info("%s is rate limited (HTTP 429): its probes pause for %ss, %s", candidate,
                 _seconds(pause), why)
        self.metrics.backoff.labels(candidate).set_function(
            lambda: self.backoff.remaining(candidate))


def _seconds(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
