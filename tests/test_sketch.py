"""The quantile sketch answers within its relative accuracy and merges losslessly."""

from __future__ import annotations

import random

import pytest

from service.scoring.sketch import RELATIVE_ACCURACY, Sketch
from service.scoring.stats import quantile


@pytest.mark.parametrize("distribution", ["lognormal", "uniform", "bimodal"])
@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_quantile_within_relative_accuracy_of_a_true_sample(distribution: str,
                                                            q: float) -> None:
    rng = random.Random(7)
    draw = {"lognormal": lambda: rng.lognormvariate(-1.0, 0.6),
            "uniform": lambda: rng.uniform(0.05, 3.0),
            "bimodal": lambda: rng.choice((0.1, 2.0)) * rng.uniform(0.9, 1.1)}[distribution]
    values = sorted(draw() for _ in range(5000))
    got = Sketch.of(values).quantile(q)
    assert got is not None
    # The sketch returns a value within 1% of the sample at (about) that rank.
    rank = int(q * (len(values) - 1))
    assert abs(got - values[rank]) <= RELATIVE_ACCURACY * values[rank] * 1.0001
    assert got == pytest.approx(quantile(values, q), rel=0.03)


def test_merge_equals_one_sketch_of_all_values() -> None:
    rng = random.Random(1)
    a = [rng.uniform(0.01, 5) for _ in range(300)]
    b = [rng.uniform(0.01, 5) for _ in range(700)]
    merged = Sketch.of(a).merge(Sketch.of(b))
    whole = Sketch.of(a + b)
    assert merged.count == whole.count == 1000
    for q in (0.1, 0.5, 0.9, 0.99):
        assert merged.quantile(q) == whole.quantile(q)


def test_json_round_trip_and_zeros() -> None:
    sketch = Sketch.of([0.0, 0.0, 0.5, 1.5])
    again = Sketch.from_json(sketch.to_json())
    assert again.count == 4 and again.zeros == 2
    assert again.quantile(0.0) == 0.0
    assert again.quantile(1.0) == sketch.quantile(1.0)
    assert Sketch.from_json({}).quantile(0.5) is None


def test_negative_values_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Sketch().add(-0.1)
