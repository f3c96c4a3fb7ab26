"""Event-loop lag: how late a periodic sleep wakes up on the daemon's loop.

Probe timestamps are taken on this loop, so a loop kept busy (a slow handler, a blocking
call) inflates every TTFT we measure. The lag is exported as a histogram; a warning is
logged when one wake-up is later than WARN_SECONDS, at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
WARN_SECONDS = 0.25


class Observer(Protocol):
    def observe(self, amount: float) -> None: ...


async def monitor_loop_lag(histogram: Observer, interval: float = INTERVAL_SECONDS,
                           warn_after: float = WARN_SECONDS) -> None:
    """Run until cancelled, observing max(0, actual sleep - asked sleep) each round."""
    loop = asyncio.get_running_loop()
    last_warning = float("-inf")
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        lag = max(0.0, loop.time() - start - interval)
        histogram.observe(lag)
        if lag > warn_after and time.monotonic() - last_warning > 60:
            last_warning = time.monotonic()
            log.warning("event loop woke %.3fs late: something blocks it, and probe "
                        "timings taken meanwhile are inflated", lag)
