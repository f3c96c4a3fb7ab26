"""The tests' fixed time: one instant, T0, and a clock that moves only when a test moves it.

Not fixtures: helpers use T0 as a default argument and in module-level data, where a fixture
cannot reach, and each test starts its Clock at the time, of the type, its code reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday, on the hour

Time = TypeVar("Time")


class Clock(Generic[Time]):
    """Stands still at `now` until the test moves it (`clock.now += timedelta(...)`).

    Pass it where the code takes a clock function: calling it returns `now`, a datetime, a date
    or monotonic seconds, whichever the code under test reads.
    """

    def __init__(self, now: Time) -> None:
        self.now = now

    def __call__(self) -> Time:
        return self.now
