"""The rules between the parts that docs/architecture.md states, checked on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Standard-library modules that reach files, sockets, processes, threads or the clock.
IO_MODULES = frozenset({"asyncio", "http", "io", "os", "pathlib", "shutil", "socket",
                        "sqlite3", "subprocess", "tempfile", "threading", "time", "urllib"})
CLOCK_CALLS = frozenset({"now", "utcnow", "today"})
# Value types from probes/ that scoring reads, each held to the same rule (tested below).
PURE_VALUE_TYPES = frozenset({"probes.pricing.model"})


def imported(tree: ast.AST) -> list[str]:
    """Every absolute module name the source imports (relative imports stay in the package)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def sources(package: str) -> list[tuple[str, ast.AST]]:
    found = [(str(p.relative_to(ROOT)), ast.parse(p.read_text(), str(p)))
             for p in sorted((ROOT / package).rglob("*.py"))]
    assert found, package
    return found


def outside_probes(tree: ast.AST) -> list[str]:
    return [n for n in imported(tree) if n.split(".")[0] in ("service", "devtools", "tests",
                                                              "bench")]


def not_pure(tree: ast.AST) -> list[str]:
    """What makes a scoring module more than a function of its arguments."""
    found = []
    for name in imported(tree):
        top = name.split(".")[0]
        if name == "__future__" or name == "service.scoring" or name.startswith(
                "service.scoring.") or name in PURE_VALUE_TYPES:
            continue
        if top not in sys.stdlib_module_names or top in IO_MODULES:
            found.append(f"imports {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append("calls open()")
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                found.append(f"reads the clock (.{func.attr}())")
    return found


def test_probes_never_import_service() -> None:
    bad = {path: names for path, tree in sources("probes") if (names := outside_probes(tree))}
    assert bad == {}


def test_scoring_does_no_io() -> None:
    bad = {path: found for path, tree in sources("service/scoring")
           if (found := not_pure(tree))}
    assert bad == {}


def test_the_value_types_scoring_reads_from_probes_do_no_io() -> None:
    bad = {name: found for name in sorted(PURE_VALUE_TYPES) if (found := not_pure(
        ast.parse((ROOT / (name.replace(".", "/") + ".py")).read_text())))}
    assert bad == {}


def test_the_checks_catch_what_they_look_for() -> None:
    assert outside_probes(ast.parse("from service.config import Settings")) == [
        "service.config"]
    assert outside_probes(ast.parse("import httpx\nfrom probes.sse import SSEParser")) == []
    impure = ("import sqlalchemy\nimport os\nfrom service.store import db\n"
              "open('x')\ndatetime.now(UTC)")
    assert not_pure(ast.parse(impure)) == [
        "imports sqlalchemy", "imports os", "imports service.store", "calls open()",
        "reads the clock (.now())"]
    assert not_pure(ast.parse("import math\nfrom service.scoring.base import Scale")) == []
    assert not_pure(ast.parse("from probes.pricing import READERS")) == [
        "imports probes.pricing"]
