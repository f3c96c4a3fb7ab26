"""An eval set: JSONL, one item a line, read and checked once per file version.

    {"id": "...", "prompt": "...", "expected": ..., "grader": "exact|contains|regex|
     json_schema|numeric", "tolerance": 0.01}

`id` defaults to the line number; `tolerance` (absolute) is for numeric; `expected` is a
JSON Schema object for json_schema, a pattern for regex, a number for numeric.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from probes.graders import GRADERS

DEFAULT = "default"  # the eval set that ships with factorwatch (probes/data/eval.jsonl)


@dataclass(frozen=True)
class EvalItem:
    id: str
    prompt: str
    expected: Any
    grader: str
    tolerance: float = 0.0


def load_eval_set(path: str | None = None) -> tuple[str, tuple[EvalItem, ...]]:
    """(file name, items) of a checked eval set (None or "default": the shipped one)."""
    if path is None or path == DEFAULT:
        text = resources.files("probes.data").joinpath("eval.jsonl").read_text("utf-8")
        return "eval.jsonl", _parsed(text, "the default eval set")
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise ValueError(f"cannot read eval set {path!r}: {exc.strerror}") from None
    return file.name, _cached(str(file), stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _cached(path: str, mtime_ns: int) -> tuple[EvalItem, ...]:  # re-read when it changes
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read eval set {path!r}: {exc}") from None
    return _parsed(text, path)


def _parsed(text: str, where: str) -> tuple[EvalItem, ...]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            items.append(_item(line, f"{where}: line {number}", str(number)))
    if not items:
        raise ValueError(f"{where}: no items")
    return tuple(items)


def _item(line: str, where: str, default_id: str) -> EvalItem:
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("prompt"), str) or "expected" not in raw:
        raise ValueError(f"{where}: an item needs a prompt and an expected answer")
    grader = raw.get("grader", "exact")
    if grader not in GRADERS:
        raise ValueError(f"{where}: unknown grader {grader!r} (known: {', '.join(GRADERS)})")
    expected, tolerance = raw["expected"], raw.get("tolerance", 0.0)
    if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or tolerance < 0:
        raise ValueError(f"{where}: tolerance must be a number >= 0")
    _check_expected(grader, expected, where)
    return EvalItem(str(raw.get("id", default_id)), raw["prompt"], expected, grader,
                    float(tolerance))


def _check_expected(grader: str, expected: Any, where: str) -> None:
    if grader == "numeric" and (isinstance(expected, bool)
                                or not isinstance(expected, int | float)):
        raise ValueError(f"{where}: a numeric item expects a number")
    if grader == "regex":
        try:
            re.compile(str(expected))
        except re.error as exc:
            raise ValueError(f"{where}: invalid regex: {exc}") from None
    if grader == "json_schema":
        try:
            Draft202012Validator.check_schema(expected)
        except SchemaError as exc:
            raise ValueError(f"{where}: invalid JSON Schema: {exc.message}") from None
