"""A mergeable quantile sketch with bounded relative error (the DDSketch idea).

Values fall into logarithmic buckets: bucket i holds (gamma^(i-1), gamma^i] with
gamma = (1 + a) / (1 - a), so any quantile is returned within a relative error `a` of a
true sample value. Two sketches merge by adding counts, which is what lets hourly rollups
answer "TTFT p99 over 30 days" without reading 30 days of rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
MIN_VALUE = 1e-6  # smaller values (and zero) are counted as zero


class Sketch:
    __slots__ = ("buckets", "count", "zeros")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        self.count = 0

    @classmethod
    def of(cls, values: Iterable[float]) -> Sketch:
        sketch = cls()
        for value in values:
            sketch.add(value)
        return sketch

    def add(self, value: float, count: int = 1) -> None:
        if value < 0 or math.isnan(value):
            raise ValueError(f"a sketch holds durations and rates >= 0, got {value}")
        self.count += count
        if value <= MIN_VALUE:
            self.zeros += count
            return
        index = math.ceil(math.log(value) / LOG_GAMMA)
        self.buckets[index] = self.buckets.get(index, 0) + count

    def merge(self, other: Sketch) -> Sketch:
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        self.zeros += other.zeros
        self.count += other.count
        return self

    def quantile(self, q: float) -> float | None:
        """The value at rank q (0..1) within the relative accuracy, or None when empty."""
        if self.count == 0:
            return None
        rank = q * (self.count - 1)
        seen = self.zeros
        if rank < seen:
            return 0.0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if rank < seen:
                # The bucket's midpoint in relative terms: 2 g^i / (g + 1).
                return 2 * GAMMA ** index / (GAMMA + 1)
        return 2 * GAMMA ** max(self.buckets) / (GAMMA + 1)

    def to_json(self) -> dict[str, object]:
        return {"z": self.zeros, "b": {str(k): v for k, v in self.buckets.items()}}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> Sketch:
        sketch = cls()
        if not data:
            return sketch
        buckets = data.get("b") or {}
        assert isinstance(buckets, dict)
        sketch.buckets = {int(k): int(v) for k, v in buckets.items()}
        zeros = data.get("z") or 0
        assert isinstance(zeros, int)
        sketch.zeros = zeros
        sketch.count = sketch.zeros + sum(sketch.buckets.values())
        return sketch
