"""The `tools` probe: offer the tool catalog, ask one case, judge the call the model makes.

The call passes when it names the case's expected tool and its arguments are a JSON object
valid against that tool's schema. `ok` only says the API answered completely; a model that
answers in prose, names another tool or writes invalid arguments is an ok probe with
`tool_call_valid: false`. A failed probe carries only `expected_tool`: there is no call to
judge. Extra fields: tool_call_valid, expected_tool, called_tool, schema_errors (<= 5).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from probes.dialects import Chat
from probes.result import ProbeResult
from probes.stream import ToolCall, exchange
from probes.target import Target
from probes.tool_catalog import ToolCase, load_catalog

KIND = "tools"
OPTIONS = frozenset({"catalog"})  # config keys this probe reads, besides max_tokens
MAX_TOKENS = 256  # room for a call's arguments; the config's max_tokens overrides it
MAX_ERRORS = 5
_ERROR_CHARS = 160


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    catalog = load_catalog(target.option("catalog", None))
    case = random.choice(catalog.cases)  # every case in turn, over many runs
    chat = Chat(prompt=case.prompt, max_tokens=int(target.option("max_tokens", MAX_TOKENS)),
                tools=catalog.tools)
    answer = await exchange(target, client, chat)
    if answer.failure is not None:
        return answer.result(KIND, {"expected_tool": case.expected_tool})
    tool = catalog.tool(case.expected_tool)
    assert tool is not None  # the catalog checks that every case names one of its tools
    return answer.result(KIND, judge(case, answer.tool_calls, tool.parameters))


def judge(case: ToolCase, calls: list[ToolCall], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The contract fields for one answer: which tool was called and whether it was right."""
    call = next((c for c in calls if c.name == case.expected_tool), calls[0] if calls else None)
    errors: list[str] = []
    if call is None:
        errors.append("no tool call in the answer")
    elif call.name != case.expected_tool:
        errors.append(f"called {call.name!r}, expected {case.expected_tool!r}")
    else:
        errors = argument_errors(call.arguments, schema)
    return {
        "tool_call_valid": not errors,
        "expected_tool": case.expected_tool,
        "called_tool": call.name if call else None,
        "schema_errors": errors[:MAX_ERRORS],
    }


def argument_errors(arguments: str, schema: Mapping[str, Any]) -> list[str]:
    """Why the raw argument text is not a valid call (empty list: it is)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError as exc:
        return [_short(f"arguments are not valid JSON: {exc}")]
    validator = Draft202012Validator(schema)
    found = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [
        _short(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}")
        for e in found[:MAX_ERRORS]
    ]


def _short(text: str) -> str:
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."
