"""Scales: turn a measured quantity into a 1-5 score through piecewise-linear anchors.

An anchor list pairs quantities with scores, e.g. [(0.25, 5), (0.5, 4), (1, 3), (2, 2),
(4, 1)]. Between anchors the score is interpolated linearly, in log space when the scale is
`log` (latency, cost and error rates span orders of magnitude, so halving them should move
the score by the same step wherever you start). Outside the anchors the score is clamped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

MIN_SCORE = 1.0
MAX_SCORE = 5.0


@dataclass(frozen=True)
class Scale:
    anchors: tuple[tuple[float, float], ...]
    log: bool = False
    unit: str = ""

    def __post_init__(self) -> None:
        xs = [x for x, _ in self.anchors]
        if len(xs) < 2 or xs != sorted(xs) or len(set(xs)) != len(xs):
            raise ValueError("a scale needs two or more anchors in strictly increasing order")
        if self.log and xs[0] <= 0:
            raise ValueError("a log scale needs positive anchors")
        if any(not MIN_SCORE <= y <= MAX_SCORE for _, y in self.anchors):
            raise ValueError("anchor scores must lie between 1 and 5")

    def score(self, value: float) -> float:
        xs = [self._x(x) for x, _ in self.anchors]
        ys = [y for _, y in self.anchors]
        x = self._x(value)
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True),
                                      strict=False):
            if x0 <= x <= x1:
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        raise AssertionError("unreachable: value lies between the anchors")

    def quantity_at(self, score: float) -> float | None:
        """The least quantity the scale gives `score` (clamped to the anchors' scores), for a
        scale whose scores only rise; None for any other scale."""
        ys = [y for _, y in self.anchors]
        if any(b < a for a, b in pairwise(ys)):
            return None
        score = min(max(score, ys[0]), ys[-1])
        for (x0, y0), (x1, y1) in pairwise(self.anchors):
            if y0 <= score <= y1:
                if y1 == y0:
                    return x0
                t = (score - y0) / (y1 - y0)
                if self.log:
                    return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))
                return x0 + t * (x1 - x0)
        return self.anchors[-1][0]

    def _x(self, value: float) -> float:
        if not self.log:
            return value
        # A zero on a log scale (a free model, a perfect record) is better than any anchor.
        return math.log(value) if value > 0 else -math.inf


def scale(anchors: Sequence[tuple[float, float]], log: bool = False, unit: str = "") -> Scale:
    return Scale(tuple((float(x), float(y)) for x, y in anchors), log=log, unit=unit)
