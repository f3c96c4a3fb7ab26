"""The Makefile as the README uses it: install once, serve on the port asked for."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from devtools.demo import free_port
from tests.checkout import ROOT, Daemon, checkout_view, in_a_virtualenv, user_env

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not in_a_virtualenv(),
                                 reason="make runs .venv/bin/factorwatch: run from a virtualenv"),
              pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")]


def make(view: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", *args], cwd=view, env=user_env(view), capture_output=True,
                          text=True, timeout=600)


def test_install_runs_pip_again_only_when_pyproject_changes(tmp_path: Path) -> None:
    view = checkout_view(tmp_path)
    first = make(view, "install")  # pip only if this virtualenv has no stamp yet
    assert first.returncode == 0, first.stderr
    assert "deprecated" not in first.stderr  # setuptools' warnings on the license table
    again = make(view, "--question", "install")
    assert again.returncode == 0, "make install would run pip again although nothing changed"


@pytest.mark.parametrize("target", ["run", "demo"])
def test_make_serves_on_the_port_given_as_listen(tmp_path: Path, target: str) -> None:
    view = checkout_view(tmp_path)
    port = free_port()
    daemon = Daemon(f"make {target} LISTEN=127.0.0.1:{port}", view, user_env(view), port)
    try:
        daemon.wait_ready()
    finally:
        output = daemon.stop()
    assert "stopped cleanly" in output, output[-3000:]


def test_the_license_is_an_spdx_expression() -> None:
    # A table (`{text = ...}`) makes setuptools print a screenful of deprecation warnings.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]
