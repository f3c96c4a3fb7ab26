"""The tests read only what the repository holds: a clean clone has no workspace beside it.

The real samples the tests use are copied into tests/fixtures/real (see its SOURCES.md);
this test keeps a path to the workspace's shared directory from coming back.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.conftest import REAL_FIXTURES

TESTS = Path(__file__).resolve().parent
# Built from pieces so this file does not match itself.
SHARED = "sha" + "red"
OUTSIDE = re.compile(
    rb"\.\./" + SHARED.encode()                  # a path relative to the repository
    + rb"|/work/" + SHARED.encode()              # the workspace's absolute path
    + rb"|\b" + SHARED.encode() + rb"/fixtures"  # the directory's samples, named
    + rb"|[\"']" + SHARED.encode() + rb"[\"']"   # a path component: Path(...) / "..."
)


def outside_references() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(TESTS.parent)}:{number}: "
                             f"{line.decode(errors='replace').strip()}")
    return found


def test_no_test_file_reaches_for_the_shared_directory() -> None:
    found = outside_references()
    assert not found, ("tests must read samples from tests/fixtures/real, not the shared "
                       "directory beside the repository:\n" + "\n".join(found))


def test_the_pattern_catches_each_way_of_writing_it() -> None:
    for line in ['Path(__file__).resolve().parents[2] / "' + SHARED + '" / "fixtures"',
                 "open('../" + SHARED + "/fixtures/real/x.json')",
                 "/work/" + SHARED + "/fixtures",
                 "see " + SHARED + "/fixtures/real/SOURCES.md"]:
        assert OUTSIDE.search(line.encode()), line
    for line in ["Receiver." + SHARED + "()", "a key " + SHARED + " by the firing and update",
                 "tests/fixtures/real/SOURCES.md"]:
        assert not OUTSIDE.search(line.encode()), line


def test_every_real_sample_says_where_it_came_from() -> None:
    sources = (REAL_FIXTURES / "SOURCES.md").read_text()
    samples = [p for p in sorted(REAL_FIXTURES.rglob("*"))  # subfolders too (bedrock/)
               if p.is_file() and p.name != "SOURCES.md"]
    assert samples, REAL_FIXTURES
    for path in samples:
        assert f"`{path.name}`" in sources, f"{path.name} is not described in SOURCES.md"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        # the OpenAI streams are named upstream by their own digest, which SOURCES.md gives
        assert digest in sources or digest[:12] in sources, (
            f"{path.name}: SHA-256 {digest} is not the one SOURCES.md records")
