"""What a simulated model answers: plausible enough that the tools, long_context and quality
probes measure exactly the rates configured on the SimModel.

It recognises the probes' own prompts (a tool list, planted vault codes, the task shapes of
the default eval set) and answers them right with the configured probability, wrong
otherwise. Anything else gets the classic "tok1 tok2 ..." answer the latency tests expect.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.sim.behaviour import SimModel


@dataclass(frozen=True)
class Answer:
    pieces: tuple[str, ...] = ()  # text tokens, in order
    tool: str | None = None  # a tool call instead of text
    arguments: str = ""  # its raw argument text


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "and", "by", "for", "from", "in", "is", "it", "of", "on", "one",
                   "the", "to", "what", "with"])
_FACT = re.compile(r"The access code for the (\w+) vault is (\d+)\.")


def answer(prompt: str, tools: Sequence[Mapping[str, Any]], model: SimModel, max_tokens: int,
           rng: random.Random) -> Answer:
    if tools:
        return _tool_call(prompt, tools, model.tool_accuracy, rng)
    if facts := _FACT.findall(prompt):
        lines = [f"{name}: {code if rng.random() < model.recall_rate else 'unknown'}"
                 for name, code in facts]
        return _text("\n".join(lines))
    for pattern, solve in _TASKS:
        if match := pattern.search(prompt):
            right, wrong = solve(match)
            return _text(right if rng.random() < model.quality_rate else wrong)
    return Answer(pieces=tuple(f"tok{i} " for i in range(1, model.output_tokens + 1)))


def _text(text: str) -> Answer:
    return Answer(pieces=tuple(re.findall(r"\s*\S+", text)) or ("",))


# --- tools ---------------------------------------------------------------------------------


def _tool_call(prompt: str, tools: Sequence[Mapping[str, Any]], accuracy: float,
               rng: random.Random) -> Answer:
    words = set(_WORD.findall(prompt.lower())) - _STOP

    def overlap(tool: Mapping[str, Any]) -> int:
        about = f"{tool.get('name', '')} {tool.get('description', '')}".replace("_", " ")
        return len(words & set(_WORD.findall(about.lower())))

    best = max(tools, key=overlap)  # the first of equals: deterministic
    schema = _schema(best)
    if rng.random() < accuracy:
        return Answer(tool=str(best["name"]), arguments=json.dumps(example(schema)))
    others = [t for t in tools if t is not best]
    if others and rng.random() < 0.5:
        wrong = rng.choice(others)
        return Answer(tool=str(wrong["name"]), arguments=json.dumps(example(_schema(wrong))))
    required = list(schema.get("required") or [])
    args = example(schema)
    if required:
        args.pop(required[0], None)  # a required argument left out
    else:
        args["unexpected_argument"] = True
    return Answer(tool=str(best["name"]), arguments=json.dumps(args))


def _schema(tool: Mapping[str, Any]) -> dict[str, Any]:
    schema = tool.get("parameters") or tool.get("input_schema") \
        or tool.get("parametersJsonSchema") or {}
    return dict(schema) if isinstance(schema, Mapping) else {}


def example(schema: Mapping[str, Any]) -> Any:
    """A value valid for simple schemas: examples, enum, const, or a typed placeholder."""
    for key in ("const",):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        keep = set(schema.get("required") or []) | {
            k for k, v in props.items() if isinstance(v, Mapping) and "examples" in v}
        return {k: example(v) for k, v in props.items() if k in keep}
    simple: dict[str, Any] = {"string": "example", "integer": max(1, schema.get("minimum", 1)),
                              "number": 1.5, "boolean": True, "null": None}
    if kind == "array":
        return [example(schema.get("items") or {})] * int(schema.get("minItems", 0))
    return simple.get(str(kind), "example")


# --- the default eval set's task shapes ------------------------------------------------------


def _arith(m: re.Match[str]) -> tuple[str, str]:
    a, op, b = float(m.group(1)), m.group(2), float(m.group(3))
    value = {"+": a + b, "-": a - b, "*": a * b, "x": a * b, "/": a / b if b else 0.0}[op]
    decimals = "decimal places" in m.string
    text = f"{value:.2f}" if decimals else (f"{value:.0f}" if value == int(value) else f"{value:g}")
    return text, f"{value + 1:.0f}"


def _json(m: re.Match[str]) -> tuple[str, str]:
    fields = {k: json.loads(v) for k, v in re.findall(r'field "(\w+)" set to ("[^"]*"|-?\d+)',
                                                       m.string)}
    wrong = dict(list(fields.items())[:-1])
    return json.dumps(fields), json.dumps(wrong)


_TASKS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str]]]] = [
    (re.compile(r"What is (-?\d+(?:\.\d+)?) ([-+*/x]) (-?\d+(?:\.\d+)?)\?"), _arith),
    (re.compile(r"Repeat exactly, with nothing else: (.+)$", re.M),
     lambda m: (m.group(1).strip(), m.group(1).strip() + " jumps")),
    (re.compile(r"Write the word '(\w+)' in uppercase"),
     lambda m: (m.group(1).upper(), m.group(1).lower())),
    (re.compile(r"contains the word '(\w+)'"),
     lambda m: (f"The {m.group(1)} was quiet this morning.", "It was quiet this morning.")),
    (re.compile(r"JSON object with .*field \""), _json),
]
