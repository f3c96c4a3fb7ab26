"""Graders for eval-set items: is this answer right? Pure functions, one per grader name.

Each returns None when the answer passes, else a short reason. Answers are compared after
stripping surrounding whitespace; json_schema also accepts the JSON inside a ``` fence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

Grader = Callable[[str, Any, float], "str | None"]  # (answer, expected, tolerance)

# A number token: not the digits inside a word ("w0", "gpt4o", "643km", "v1.5").
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![.,]?\w)")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def exact(answer: str, expected: Any, tolerance: float) -> str | None:
    return None if answer.strip() == str(expected).strip() else f"got {_short(answer)}"


def contains(answer: str, expected: Any, tolerance: float) -> str | None:
    if str(expected).lower() in answer.lower():
        return None
    return f"{_short(str(expected), 30)} not in {_short(answer)}"


def regex(answer: str, expected: Any, tolerance: float) -> str | None:
    if re.search(str(expected), answer.strip()):
        return None
    return f"no match for /{expected}/ in {_short(answer)}"


def json_schema(answer: str, expected: Any, tolerance: float) -> str | None:
    text = answer.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1)
    try:
        value = json.loads(text)
    except ValueError:
        return f"not JSON: {_short(answer)}"
    error = next(iter(Draft202012Validator(expected).iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"[:120]


def numeric(answer: str, expected: Any, tolerance: float) -> str | None:
    """The first number token in the answer, within `tolerance` (absolute) of expected."""
    match = _NUMBER.search(answer.replace("\u2212", "-"))
    if match is None:
        return f"no number in {_short(answer)}"
    got = float(match.group().replace(",", ""))
    if math.isclose(got, float(expected), abs_tol=tolerance, rel_tol=1e-9):
        return None
    return f"got {got:g}, expected {float(expected):g} ± {tolerance:g}"


GRADERS: dict[str, Grader] = {
    "exact": exact,
    "contains": contains,
    "regex": regex,
    "json_schema": json_schema,
    "numeric": numeric,
}
