"""ConfigError, and turning each problem into one `location: message` line.

Pydantic's errors are reworded for people editing YAML, and a location the environment set
is blamed on the variable (`FACTORWATCH_X__Y: message`) rather than on a dotted path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """Every problem found in a config, one `location: message` line each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML, short."""
    if isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


_SIMPLE_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "string_too_short": "must not be empty",
}
_EXPECTED = {
    "float": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a mapping",
    "model": "a mapping",
    "list": "a list",
    "date": "a date (YYYY-MM-DD)",
}


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    bounds = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    for key, sign in bounds.items():
        if key in ctx and kind.startswith(("greater", "less")):
            return f"must be {sign} {_number(ctx[key])}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    for prefix, wanted in _EXPECTED.items():
        if kind.startswith(prefix + "_") or kind == f"{prefix}_type":
            return f"expected {wanted}, got {_show(err.get('input'))}"
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]


def _depth_in(data: Any, loc: Loc) -> int:
    """How many steps of `loc` exist in `data` (keys compared case-insensitively)."""
    for depth, part in enumerate(loc):
        if isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(data, dict):
            key = next((k for k in data if str(k).lower() == str(part).lower()), _MISSING)
            if key is _MISSING:
                return depth
            data = data[key]
        else:
            return depth
    return len(loc)


_MISSING = object()


def _format(
    loc: Loc, message: str, env_paths: Mapping[str, Loc] | None = None, env: Any = None
) -> str:
    """`a.b.c: message`, or `ENV_VAR[: rest]: message` when the environment set `loc`.

    With `env` (the settings read from the environment), a variable is blamed only for what
    it set itself, not for file or catalog entries merged beside it.
    """
    dotted = ".".join(str(part) for part in loc)
    if env is not None:
        depth = _depth_in(env, loc)
        if depth < len(loc) and not (depth == len(loc) - 1 and message == "required"):
            return f"{dotted}: {message}"
    folded = tuple(str(part).lower() for part in loc)
    for var, path in sorted((env_paths or {}).items(), key=lambda item: -len(item[1])):
        if folded[: len(path)] == path:
            rest = ".".join(str(part) for part in loc[len(path) :])
            return f"{var}: {rest}: {message}" if rest else f"{var}: {message}"
    return f"{dotted}: {message}"


def _validation_errors(exc: ValidationError) -> list[tuple[Loc, str]]:
    return [
        (tuple(p for p in err["loc"] if p != "[key]"), _message(err))
        for err in exc.errors(include_url=False)
    ]
