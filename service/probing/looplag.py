"""Event-loop lag: how late a periodic sleep wakes up on the daemon's loop.

Probe bytes are stamped on arrival by the kernel and read by a process of their own
(probes/receiver.py), not by this loop, and that process says itself when it read late
(probes/reader_process.py). The loop's lag is exported as a histogram; a warning is logged
when one wake-up is later than WARN_SECONDS, at most once a minute. Behind an HTTP proxy the
loop does read and stamp probe bytes: there a LagWindow keeps the recent wake-ups so that a
probe can ask how long the loop was held up while it was in flight, and have its result
flagged timing_unreliable past UNRELIABLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram

log = logging.getLogger(__name__)

# Short, so that a stall inside a probe always spans a wake-up: a stall of S seconds is
# seen as at least S - INTERVAL_SECONDS. 20 wake-ups a second cost well under 0.1% CPU.
INTERVAL_SECONDS = 0.05
WARN_SECONDS = 0.25
# A probe read by the loop (behind a proxy) while it was held up longer than this may have
# stamps late by up to as much: small beside any TTFT budget.
UNRELIABLE_SECONDS = 0.02


class Observer(Protocol):
    def observe(self, amount: float) -> None: ...


class LagWindow:
    """The monitor's recent wake-ups, as (due, woke) in loop time."""

    def __init__(self, keep: int = 4096) -> None:
        self._wakes: deque[tuple[float, float]] = deque(maxlen=keep)
        self._due: float | None = None  # when the sleep in progress should end

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def sleeping_until(self, due: float) -> None:
        self._due = due

    def woke(self, due: float, at: float) -> None:
        self._wakes.append((due, at))
        self._due = None

    def worst_since(self, since: float) -> float:
        """The longest the loop was held up after `since` (a loop time), counting a wake-up
        that is overdue right now; only the part of a stall after `since` counts."""
        now = self.now()
        worst = max(0.0, now - max(since, self._due)) if self._due is not None else 0.0
        for due, at in reversed(self._wakes):
            if at <= since:
                break
            worst = max(worst, at - max(since, due))
        return worst

    def unreliable(self, since: float) -> float | None:
        """The lag since `since` when it is past UNRELIABLE_SECONDS, else None."""
        lag = self.worst_since(since)
        return lag if lag > UNRELIABLE_SECONDS else None


async def monitor_loop_lag(histogram: Observer, interval: float = INTERVAL_SECONDS,
                           warn_after: float = WARN_SECONDS,
                           window: LagWindow | None = None) -> None:
    """Run until cancelled, observing max(0, actual sleep - asked sleep) each round."""
    loop = asyncio.get_running_loop()
    last_warning = float("-inf")
    while True:
        start = loop.time()
        if window is not None:
            window.sleeping_until(start + interval)
        await asyncio.sleep(interval)
        woke = loop.time()
        lag = max(0.0, woke - start - interval)
        if window is not None:
            window.woke(start + interval, woke)
        histogram.observe(lag)
        if lag > warn_after and time.monotonic() - last_warning > 60:
            last_warning = time.monotonic()
            log.warning("event loop woke %.3fs late: something blocks it (probes read by the "
                        "loop, behind a proxy, are marked timing_unreliable meanwhile)", lag)


LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def loop_lag_histogram(registry: CollectorRegistry) -> Histogram:
    """How late a periodic sleep on the daemon's event loop wakes."""
    return Histogram("factorwatch_event_loop_lag_seconds",
                     "How late a periodic asyncio.sleep on the daemon's event loop wakes up: "
                     "time the loop was busy elsewhere (it delays probe timestamps).",
                     buckets=LOOP_LAG_BUCKETS, registry=registry)
