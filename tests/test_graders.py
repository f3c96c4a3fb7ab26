"""Graders, the eval-set reader and the tool-catalog reader: pure functions, table-driven."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.eval_set import load_eval_set
from probes.graders import GRADERS
from probes.tool_catalog import load_catalog
from probes.tools import argument_errors

PERSON = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


@pytest.mark.parametrize(("grader", "answer", "expected", "tolerance", "passes"), [
    ("exact", "  Paris \n", "Paris", 0, True),
    ("exact", "Paris.", "Paris", 0, False),
    ("contains", "I think it is PARIS.", "paris", 0, True),
    ("contains", "London", "paris", 0, False),
    ("regex", "LANTERN.", r"^LANTERN\.?$", 0, True),
    ("regex", "lantern", r"^LANTERN\.?$", 0, False),
    ("json_schema", '{"name": "Ada"}', PERSON, 0, True),
    ("json_schema", '```json\n{"name": "Ada"}\n```', PERSON, 0, True),
    ("json_schema", '{"name": 36}', PERSON, 0, False),
    ("json_schema", "name: Ada", PERSON, 0, False),
    ("numeric", "The answer is 391.", 391, 0, True),
    ("numeric", "1,234.5", 1234.5, 0, True),
    ("numeric", "3.14159", 3.14, 0.01, True),
    ("numeric", "3.16", 3.14, 0.01, False),
    ("numeric", "\u221242", -42, 0, True),
    ("numeric", "no idea", 7, 0, False),
    # a number is a token of its own, never the digits inside a word
    ("numeric", "w0 w1: 643", 643, 0, True),
    ("numeric", "Step2 gives 643.", 643, 0, True),
    ("numeric", "v1.5 says 643", 643, 0, True),
    ("numeric", "gpt4o", 4, 0, False),
    ("numeric", "643km", 643, 0, False),
    ("numeric", "(643)", 643, 0, True),
    ("numeric", "= -643;", -643, 0, True),
])
def test_grader(grader: str, answer: str, expected: object, tolerance: float,
                passes: bool) -> None:
    reason = GRADERS[grader](answer, expected, tolerance)
    assert (reason is None) == passes, reason
    if reason is not None:
        assert 0 < len(reason) <= 160


@pytest.mark.parametrize(("arguments", "errors"), [
    ('{"name": "Ada"}', []),
    ("", ["(root): 'name' is a required property"]),
    ('{"name": 1}', ["name: 1 is not of type 'string'"]),
    ('{"name": "A', ["arguments are not valid JSON: Unterminated string starting at: "
                     "line 1 column 10 (char 9)"]),
])
def test_argument_errors(arguments: str, errors: list[str]) -> None:
    assert argument_errors(arguments, PERSON) == errors


def write(tmp_path: Path, text: str, name: str = "f") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("line", "message"), [
    ('{"prompt": "x"}', "line 1: an item needs a prompt and an expected answer"),
    ('{"prompt": "x", "expected": 1, "grader": "vibes"}', "line 1: unknown grader 'vibes'"),
    ('{"prompt": "x", "expected": "a", "grader": "numeric"}',
     "line 1: a numeric item expects a number"),
    ('{"prompt": "x", "expected": "(", "grader": "regex"}', "line 1: invalid regex"),
    ('{"prompt": "x", "expected": {"type": 5}, "grader": "json_schema"}',
     "line 1: invalid JSON Schema"),
    ('{"prompt": "x", "expected": 1, "grader": "numeric", "tolerance": -1}',
     "line 1: tolerance must be a number >= 0"),
    ("not json", "line 1: invalid JSON"),
    ("", "no items"),
])
def test_bad_eval_set_is_refused_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, line + "\n", "evals.jsonl")
    with pytest.raises(ValueError, match=r"evals\.jsonl") as caught:
        load_eval_set(path)
    assert message in str(caught.value)


def test_eval_set_ids_default_to_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, '\n{"prompt": "p", "expected": "e"}\n', "e.jsonl")
    name, (item,) = load_eval_set(path)
    assert (name, item.id, item.grader, item.tolerance) == ("e.jsonl", "2", "exact", 0.0)


def test_default_eval_set_and_catalog_ship_with_the_package() -> None:
    assert len(load_eval_set()[1]) >= 5
    catalog = load_catalog()
    assert {c.expected_tool for c in catalog.cases} == {t.name for t in catalog.tools}


TOOL = {"name": "f", "parameters": {"type": "object"}}


@pytest.mark.parametrize(("doc", "message"), [
    ({"tools": [], "cases": []}, "no tools"),
    ({"tools": [{"description": "x"}]}, "tools[0]: a tool needs a name"),
    ({"tools": [{"name": "f", "parameters": {"type": "object", "required": 3}}]},
     "tools[0] (f): invalid JSON Schema"),
    ({"tools": [{"name": "f", "parameters": {"type": "string"}}]},
     "tools[0] (f): parameters must be an object schema"),
    ({"tools": [TOOL], "cases": []}, "no cases"),
    ({"tools": [TOOL], "cases": [{"prompt": "p", "expected_tool": "g"}]},
     "cases[0].expected_tool 'g' is not a tool"),
])
def test_bad_catalog_is_refused(tmp_path: Path, doc: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_catalog(write(tmp_path, json.dumps(doc), "tools.json"))
    assert message in str(caught.value)


def test_catalog_accepts_openai_function_form(tmp_path: Path) -> None:
    doc = {"tools": [{"type": "function", "function": TOOL}],
           "cases": [{"prompt": "p", "expected_tool": "f"}]}
    catalog = load_catalog(write(tmp_path, json.dumps(doc)))
    assert catalog.tools[0].name == "f"


def test_missing_files_say_so() -> None:
    with pytest.raises(ValueError, match=r"cannot read tool catalog 'nope\.json'"):
        load_catalog("nope.json")
    with pytest.raises(ValueError, match=r"cannot read eval set 'nope\.jsonl'"):
        load_eval_set("nope.jsonl")
