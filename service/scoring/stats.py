"""Small statistics for scores built on few samples: estimates, intervals, who is ahead.

docs/scoring.md ("How sure is a score") states each formula in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Z_95 = 1.959963984540054
_NORMAL = NormalDist()


def z_for(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level: 0.95 -> 1.96."""
    return _NORMAL.inv_cdf((1 + confidence) / 2)


def wilson_interval(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a success rate (counts may be fractional pseudo-counts).

    Unlike the normal approximation it stays within [0, 1] and is honest about small
    samples: 3 successes out of 3 give (0.44, 1.0), 990 out of 1000 (0.982, 0.995).
    """
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    margin = z * math.sqrt(max(0.0, p * (1 - p)) / trials + z * z / (4 * trials * trials))
    # The interval always holds p; rounding at the ends must not push p outside it.
    return (max(0.0, min(p, (centre - margin) / denom)),
            min(1.0, max(p, (centre + margin) / denom)))


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float:
    """Lower end of the Wilson score interval (0 with no trials)."""
    return wilson_interval(successes, trials, z)[0] if trials > 0 else 0.0


@dataclass(frozen=True)
class RatePrior:
    """What a rate is taken to be before any trial: `mean`, worth `strength` trials.

    The strength is 1 / (1 - mean): as much evidence as it takes to expect one failure at
    that rate, so a prior near 1 (availability) is strong and one at 0.8 weak.
    """

    mean: float

    @property
    def strength(self) -> float:
        return 1.0 / (1.0 - self.mean)


def rate_estimate(successes: int, trials: int, prior: RatePrior, z: float = Z_95
                  ) -> tuple[float, float, float]:
    """(estimate, low, high) of a rate from `successes` out of `trials`.

    The estimate is the posterior mean with the prior's pseudo-counts added; the interval is
    the Wilson interval of the same counts, so it always holds the estimate and narrows as
    trials accumulate. 3/3 valid tool calls (prior 0.9) give 0.92, 0/11 give 0.43, 990/1000
    give 0.99: a small sample is neither trusted blindly nor written off.
    """
    s = successes + prior.mean * prior.strength
    n = trials + prior.strength
    low, high = wilson_interval(s, n, z)
    return s / n, low, high


def lognormal_spread(median: float, upper: float, q_upper: float) -> float:
    """The sigma of a lognormal whose median and q_upper-quantile are these (0 if not above)."""
    if median <= 0 or upper <= median:
        return 0.0
    return math.log(upper / median) / _NORMAL.inv_cdf(q_upper)


def quantile_interval(value: float, count: int, q: float, spread: float, z: float = Z_95
                      ) -> tuple[float, float]:
    """An interval for the sample q-quantile `value` of `count` samples of a lognormal-like
    quantity with log-spread `spread` (lognormal_spread).

    The standard error of a sample quantile is sqrt(q (1 - q) / count) / f(x_q); for a
    lognormal that makes the log of the estimate's standard error
    spread * sqrt(q (1 - q) / count) / phi(z_q). For the p99 that is 3.7 spread / sqrt(count):
    a p99 needs many samples to be pinned down.
    """
    if count <= 0 or value <= 0:
        return value, value
    error = z * spread * math.sqrt(q * (1 - q) / count) / _NORMAL.pdf(_NORMAL.inv_cdf(q))
    return value * math.exp(-error), value * math.exp(error)


@dataclass(frozen=True)
class Estimate:
    """A score with its interval: low <= value <= high."""

    value: float
    low: float
    high: float


def probability_ahead(a: Estimate, b: Estimate, z: float = Z_95) -> float:
    """How likely a's true value is above b's, taking each interval as value +- z sigma.

    Each side uses the half of its interval that faces the other (a's lower half when a is
    ahead, b's upper half), so a lopsided interval counts where it matters. Two point
    estimates with no spread give 1, 0 or 0.5.
    """
    gap = a.value - b.value
    if gap >= 0:
        spread_a, spread_b = a.value - a.low, b.high - b.value
    else:
        spread_a, spread_b = a.high - a.value, b.value - b.low
    sd = math.hypot(spread_a, spread_b) / z
    if sd == 0:
        return 1.0 if gap > 0 else 0.0 if gap < 0 else 0.5
    return _NORMAL.cdf(gap / sd)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default 'linear' method) of sorted values."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
