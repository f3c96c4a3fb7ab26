"""Truth against measurement: pairing requests by tag, and the error statistics.

Truth (the simulated server, service.sim): TTFT = the perf_counter time just before it
wrote the first content chunk - the time it finished reading the request; mean ITL = (last
content chunk written - first) / (tokens - 1); ITL p99 = the p99 of its chunk gaps.
Measured (the client): TTFT = arrival of the first content token - the start of sending the
request, as each client reports it (factorwatch: just before the request's one send to the
kernel, probes/arrival.py; guidellm and factorwatch-loop: httpcore's
send_request_headers.started); mean ITL and ITL p99 the same over the arrival times.
Error = measured - truth, per request.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as probes.stream does)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def truth_of(record: dict[str, Any]) -> dict[str, float | None]:
    times = record["times"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    n = record["tokens"]
    return {"ttft": record["first_at"] - record["received_at"],
            "itl_mean": (record["last_at"] - record["first_at"]) / (n - 1) if n > 1 else None,
            "itl_p99": percentile(gaps, 0.99)}


def errors(measured: Iterable[dict[str, Any]], truth: Iterable[dict[str, Any]],
           fields: Sequence[str] = ("ttft", "itl_mean", "itl_p99")
           ) -> tuple[dict[str, list[float]], int]:
    """Per field, measured - truth for every request both sides know; and how many
    measured requests had no truth record (they should be none)."""
    by_tag = {r["tag"]: truth_of(r) for r in truth}
    out: dict[str, list[float]] = {f: [] for f in fields}
    unmatched = 0
    for m in measured:
        t = by_tag.get(m["tag"])
        if t is None:
            unmatched += 1
            continue
        for f in fields:
            if m.get(f) is not None and t.get(f) is not None:
                out[f].append(m[f] - t[f])
    return out, unmatched


def summary(errs: Sequence[float]) -> dict[str, float | int | None]:
    """Milliseconds: p50, p99 and max of |error|, and the mean signed error (bias)."""
    if not errs:
        return {"n": 0, "p50": None, "p99": None, "max": None, "bias": None}
    absolute = [abs(e) * 1000 for e in errs]
    return {"n": len(errs), "p50": percentile(absolute, 0.5), "p99": percentile(absolute, 0.99),
            "max": max(absolute), "bias": 1000 * sum(errs) / len(errs)}
