"""tests/conftest.py's markers: every test is unit or integration by what it uses, and a unit
test that listens on a socket, starts a process or sleeps is told to be marked integration.

Each case runs pytest on a small test file beside a copy of conftest.py, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # runs pytest as a subprocess

CONFTEST = Path(__file__).with_name("conftest.py").read_text()
INI = "[pytest]\nmarkers =\n    unit: u\n    integration: i\n    container: c\n"


def run_pytest(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_cases.py").write_text(textwrap.dedent(tests))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args, str(tmp_path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)


def collected(tmp_path: Path, tests: str, marker: str) -> list[str]:
    done = run_pytest(tmp_path, tests, "--collect-only", "-m", marker)
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: none collected
    return sorted(line.split("::", 1)[1] for line in done.stdout.splitlines() if "::" in line)


def test_each_test_is_unit_or_integration_by_what_it_uses(tmp_path: Path) -> None:
    tests = """
        import pytest

        @pytest.fixture
        def sim():
            return object()

        def test_pure():
            pass

        def test_with_the_simulator(sim):
            pass

        def test_on_a_postgres_database(postgres_url):
            pass

        @pytest.mark.parametrize("database_url", ["sqlite", "postgresql"])
        def test_on_each_backend(database_url):
            pass

        @pytest.mark.integration
        def test_marked():
            pass

        @pytest.mark.container
        def test_in_a_container():
            pass
    """
    assert collected(tmp_path, tests, "unit") == ["test_on_each_backend[sqlite]", "test_pure"]
    assert collected(tmp_path, tests, "integration") == [
        "test_in_a_container", "test_marked", "test_on_a_postgres_database",
        "test_on_each_backend[postgresql]", "test_with_the_simulator"]
    assert collected(tmp_path, tests, "unit and integration") == []


def test_a_unit_test_that_leaves_the_process_is_told_to_be_marked_integration(
        tmp_path: Path) -> None:
    done = run_pytest(tmp_path, """
        import asyncio, socket, subprocess, sys, time
        import pytest

        def test_listens():
            with socket.create_server(("127.0.0.1", 0)):
                pass

        def test_starts_a_process():
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        def test_sleeps():
            time.sleep(0.2)

        def test_awaits_a_sleep():
            asyncio.run(asyncio.sleep(0.2))

        def test_stays_in_this_process():
            time.sleep(0.01)
            with pytest.raises(TimeoutError):  # a long sleep cut short waits only 0.01 s
                asyncio.run(asyncio.wait_for(asyncio.sleep(10), 0.01))

        @pytest.mark.integration
        def test_marked_and_listens():
            with socket.create_server(("127.0.0.1", 0)):
                pass
    """)
    out = done.stdout
    assert "6 passed, 4 errors" in out, out
    for name, what in [("test_listens", "listened on a socket (AF_INET)"),
                       ("test_starts_a_process", "started a process"),
                       ("test_sleeps", "slept 0.2 s"),
                       ("test_awaits_a_sleep", "slept 0.2 s")]:
        assert f"test_cases.py::{name} is a unit test but {what}" in out, out
    assert "test_stays_in_this_process is a unit" not in out
    assert "test_marked_and_listens is a unit" not in out
