"""Retry-After, honoured: a candidate that answered 429 with a Retry-After is not probed
again, with any kind of probe, until that time has passed.

The wait is capped at MAX_BACKOFF_SECONDS, so that a wrong or hostile header (a day, a date
years away) cannot silence a candidate's probes for long. The runs skipped meanwhile are
neither probes nor failures: nothing is sent, counted as a probe or stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_BACKOFF_SECONDS = 600.0


class Backoff:
    """When each candidate may be probed again (monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def hold(self, candidate: str, retry_after: float) -> float:
        """Pause the candidate's probes for `retry_after` seconds, capped; returns the
        pause. A longer pause already running is kept."""
        pause = min(max(0.0, retry_after), MAX_BACKOFF_SECONDS)
        until = self._clock() + pause
        if until > self._until.get(candidate, float("-inf")):
            self._until[candidate] = until
        return pause

    def remaining(self, candidate: str) -> float:
        """Seconds until the candidate may be probed again; 0 when it may be now."""
        until = self._until.get(candidate)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[candidate]
            return 0.0
        return left
