"""A tool catalog: the functions a `tools` probe offers, and the cases it asks.

JSON file: {"tools": [...], "cases": [{"prompt", "expected_tool"}, ...]}. A tool is written
in either common form: OpenAI's {"type": "function", "function": {name, description,
parameters}} (or the bare inner object) or Anthropic's {name, description, input_schema}.
Every schema is checked as JSON Schema when the catalog is read, so a bad catalog fails
the config check instead of every probe run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from probes.dialects import ToolSpec

DEFAULT = "default"  # the catalog that ships with factorwatch (probes/data/tools.json)


@dataclass(frozen=True)
class ToolCase:
    prompt: str
    expected_tool: str


@dataclass(frozen=True)
class ToolCatalog:
    tools: tuple[ToolSpec, ...]
    cases: tuple[ToolCase, ...]

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)


def load_catalog(path: str | None = None) -> ToolCatalog:
    """Read and check a catalog (None or "default": the shipped one); ValueError if bad."""
    if path is None or path == DEFAULT:
        text = resources.files("probes.data").joinpath("tools.json").read_text("utf-8")
        return _parsed(text, "the default tool catalog")
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise ValueError(f"cannot read tool catalog {path!r}: {exc.strerror}") from None
    return _cached(str(file), stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _cached(path: str, mtime_ns: int) -> ToolCatalog:  # re-read when the file changes
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read tool catalog {path!r}: {exc}") from None
    return _parsed(text, path)


def _parsed(text: str, where: str) -> ToolCatalog:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected an object with tools and cases")
    tools = tuple(_tool(t, f"{where}: tools[{i}]") for i, t in enumerate(doc.get("tools") or []))
    if not tools:
        raise ValueError(f"{where}: no tools")
    names = {t.name for t in tools}
    cases = []
    for i, case in enumerate(doc.get("cases") or []):
        if not isinstance(case, dict) or not isinstance(case.get("prompt"), str):
            raise ValueError(f"{where}: cases[{i}] needs a prompt and an expected_tool")
        expected = case.get("expected_tool")
        if expected not in names:
            raise ValueError(f"{where}: cases[{i}].expected_tool {expected!r} is not a tool")
        cases.append(ToolCase(case["prompt"], str(expected)))
    if not cases:
        raise ValueError(f"{where}: no cases")
    return ToolCatalog(tools, tuple(cases))


def _tool(raw: Any, where: str) -> ToolSpec:
    if isinstance(raw, dict) and isinstance(raw.get("function"), dict):
        raw = raw["function"]  # OpenAI's {"type": "function", "function": {...}}
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ValueError(f"{where}: a tool needs a name")
    schema = raw.get("parameters", raw.get("input_schema", {"type": "object"}))
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError(f"{where} ({raw['name']}): parameters must be an object schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"{where} ({raw['name']}): invalid JSON Schema: {exc.message}") from None
    return ToolSpec(raw["name"], str(raw.get("description", "")), schema)
