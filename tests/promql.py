"""What the dashboards and alert rules query, read from their files: for the tests that check
them statically and against a real Prometheus."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
RULES = DASHBOARDS / "rules" / "factorwatch.yml"
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
METRIC = re.compile(r"\b(factorwatch_[a-z0-9_]+)")


@dataclass(frozen=True)
class Query:
    where: str  # "sla.json: Error budget remaining" or "rule FactorwatchDown"
    expr: str


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panel_queries() -> list[Query]:
    return [Query(f"{name}: {panel['title']}", target["expr"])
            for name, board in dashboards().items() for panel in board["panels"]
            for target in panel["targets"]]


def variable_queries() -> list[Query]:
    return [Query(f"{name}: ${var['name']}", var["query"]["query"])
            for name, board in dashboards().items() for var in board["templating"]["list"]
            if var["type"] == "query"]


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def rule_queries() -> list[Query]:
    return [Query(f"rule {r['alert']}", r["expr"]) for r in rules()]


def metric_names(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in METRIC.findall(expr)}


def top_level_comparisons(expr: str) -> list[int]:
    """Offsets of the comparison operators outside brackets, braces and strings."""
    depth, quote, found, i = 0, "", [], 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and (op := next((c for c in COMPARISONS if expr.startswith(c, i)),
                                        None)):
            found.append(i)
            i += len(op)
            continue
        i += 1
    return found


def with_bool(expr: str) -> str:
    """`signal > threshold` as `signal > bool threshold`: 0/1 for every series, so a rule
    that is not firing still shows that its signal exists."""
    (at,) = top_level_comparisons(expr)
    op = next(c for c in COMPARISONS if expr.startswith(c, at))
    return f"{expr[:at + len(op)]} bool{expr[at + len(op):]}"
