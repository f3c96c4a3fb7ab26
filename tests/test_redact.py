"""One redaction module: every secret is hidden by probes/redact.py, with one marker."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import httpx
import pytest

from probes.redact import MARKER, scrub, url_without_password
from service.sinks.base import REDACT, SinkSpec, check_response, secrets_of
from service.store.db import open_error, safe_url

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-0123456789abcdef"
HOOK = "https://hooks.example/T0/B0/SECRETSECRET"


@pytest.mark.parametrize(("text", "secrets", "expected"), [
    (f"a {KEY} b", KEY, "a [REDACTED] b"),
    (f"a {KEY} b", [None, KEY], "a [REDACTED] b"),
    (f"cut off at {KEY[:9]}", KEY, "cut off at [REDACTED]"),
    ("cut off at sk-t", "sk-test-0123", "cut off at [REDACTED]"),
    ("too short to tell: sk-", "sk-test-0123", "too short to tell: sk-"),
    # The longest secret goes first, so a part of it cannot leave the rest behind.
    (f"POST {HOOK} failed", secrets_of(SinkSpec("s", "slack", url=HOOK)),
     "POST [REDACTED] failed"),
    ("psql://fw:pw@db/x and http://u:p%40ss@h:1/", None,
     "psql://fw:[REDACTED]@db/x and http://u:[REDACTED]@h:1/"),
    ("http://host:8080/path and http://user@host/", None,
     "http://host:8080/path and http://user@host/"),
    ("nothing secret", None, "nothing secret"),
])
def test_scrub_hides_known_secrets_and_credential_shapes(
        text: str, secrets: str | list[str | None] | None, expected: str) -> None:
    assert scrub(text, secrets) == expected


def test_url_without_password_keeps_the_rest_of_the_url() -> None:
    assert (url_without_password("postgresql+psycopg://fw:s3cr3t@db:5432/fw?sslmode=require")
            == "postgresql+psycopg://fw:[REDACTED]@db:5432/fw?sslmode=require")
    assert url_without_password("sqlite:///data/fw.db") == "sqlite:///data/fw.db"


def test_every_place_that_hides_a_secret_shows_the_one_marker(
        caplog: pytest.LogCaptureFixture) -> None:
    assert MARKER == "[REDACTED]"
    # A database URL for people and a database error.
    assert safe_url("postgresql://fw:s3cr3t@db/fw") == f"postgresql://fw:{MARKER}@db/fw"
    error = open_error("postgresql://fw:s3cr3t@db/fw", RuntimeError("s3cr3t refused"))
    assert "s3cr3t" not in str(error) and f"fw:{MARKER}@db" in str(error)
    assert str(error).endswith(f": {MARKER} refused")
    # A sink receiver's answer, and httpx's request log line for a sink.
    spec = SinkSpec("s", "slack", url=HOOK)
    with pytest.raises(Exception, match=r"HTTP 404: no hook \[REDACTED\]"):
        check_response(httpx.Response(404, text=f"no hook {HOOK}"), spec)
    REDACT.add(secrets_of(spec))
    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info("HTTP Request: POST %s", HOOK)
    assert caplog.messages[-1] == f"HTTP Request: POST {MARKER}"


# What hides a secret outside probes/redact.py: a marker of its own, or SQLAlchemy's `***`.
_OWN_MARKERS = ("[REDACTED]", "<redacted>", "***", "[redacted]", "<REDACTED>")


def _own_redaction(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(marker in node.value for marker in _OWN_MARKERS)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
        if (isinstance(node, ast.keyword) and node.arg == "hide_password"
                and not (isinstance(node.value, ast.Constant) and node.value.value is False)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: hide_password")
        if isinstance(node, ast.FunctionDef) and node.name in ("scrub", "scrub_secrets",
                                                               "safe_url_password"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: def {node.name}")
    return found


def test_no_module_but_probes_redact_has_a_marker_or_a_scrub_of_its_own() -> None:
    sources = [p for package in ("probes", "service") for p in (ROOT / package).rglob("*.py")]
    assert len(sources) > 100
    found = [hit for path in sources if path != ROOT / "probes" / "redact.py"
             for hit in _own_redaction(path)]
    assert found == []
