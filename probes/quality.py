"""The `quality` probe: a sample of the eval set, each item asked and graded.

Items are asked one after another (a burst would trip rate limits) within the probe's
timeout. The first item that fails at the API ends the run as a failed probe, carrying what
was graded so far. Usage is summed over the items, so the stored cost is the run's cost.
Extra fields: eval_set (file name), items, passed, failures (<= 5 of {id, grader, reason}).
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from probes.dialects import Chat
from probes.eval_set import load_eval_set
from probes.graders import GRADERS
from probes.result import ProbeResult
from probes.stream import Exchange, exchange
from probes.target import Target

KIND = "quality"
OPTIONS = frozenset({"eval_set", "sample"})  # config keys it reads, and max_tokens
SAMPLE = 5
MAX_TOKENS = 256
MAX_FAILURES = 5


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    name, items = load_eval_set(target.option("eval_set", None))
    sample = random.sample(items, min(len(items), int(target.option("sample", SAMPLE))))
    max_tokens = int(target.option("max_tokens", MAX_TOKENS))
    failures: list[dict[str, str]] = []
    graded, passed, inputs, outputs = 0, 0, 0, 0
    first: Exchange | None = None
    answer: Exchange | None = None
    for item in sample:
        answer = await exchange(target, client, Chat(prompt=item.prompt, max_tokens=max_tokens))
        first = first or answer
        inputs += answer.measured.get("input_tokens") or 0
        outputs += answer.measured.get("output_tokens") or 0
        if answer.failure is not None:
            break
        graded += 1
        reason = GRADERS[item.grader](answer.text, item.expected, item.tolerance)
        if reason is None:
            passed += 1
        elif len(failures) < MAX_FAILURES:
            failures.append({"id": item.id, "grader": item.grader, "reason": reason})
    assert first is not None and answer is not None  # load_eval_set refuses an empty set
    extra: dict[str, Any] = {"eval_set": name, "items": graded, "passed": passed,
                             "failures": failures}
    # Timing is the first item's; tokens are the run's, for its cost.
    summary = Exchange(answer.failure, {**first.measured, "input_tokens": inputs or None,
                                        "output_tokens": outputs or None,
                                        "output_tokens_per_second": None})
    return summary.result(KIND, extra)

