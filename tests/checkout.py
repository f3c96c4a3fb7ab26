"""Running commands as a user does, from the top directory of a checkout, without touching it.

checkout_view() makes a throwaway view of this checkout: every top-level entry is a symlink
to the real one, except dashboards/ (copied: `python dashboards/generate.py` writes beside
itself) and .venv (a symlink to the virtualenv running the tests). Whatever a command writes
in its working directory (the demo's .factorwatch-demo/, ./factorwatch.db) lands in the view.

Commands reach nothing outside 127.0.0.1: their HTTP(S) proxy is a closed local port, so the
built-in catalog's status pages and price lists fail at once instead of being fetched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Not part of a checkout (or written by the commands themselves).
_LEFT_OUT = {".git", ".venv", ".factorwatch-demo", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", "build", "test-artifacts"}
_COPIED = {"dashboards"}
_CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there
OFFLINE = {"HTTP_PROXY": _CLOSED, "HTTPS_PROXY": _CLOSED, "http_proxy": _CLOSED,
           "https_proxy": _CLOSED, "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}


def in_a_virtualenv() -> bool:
    return sys.prefix != sys.base_prefix and (Path(sys.prefix) / "bin" / "factorwatch").exists()


def checkout_view(where: Path) -> Path:
    view = where / "checkout"
    view.mkdir()
    for entry in ROOT.iterdir():
        if (entry.name in _LEFT_OUT or ".db" in entry.name
                or entry.name.endswith(".egg-info")):
            continue
        if entry.name in _COPIED:
            shutil.copytree(entry, view / entry.name)
        else:
            (view / entry.name).symlink_to(entry)
    (view / ".venv").symlink_to(sys.prefix)
    return view


def user_env(view: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell in the view, with no FACTORWATCH_* of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FACTORWATCH_") or k == "FACTORWATCH_CI"}
    env["PATH"] = f"{view / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **OFFLINE, **extra}


class Daemon:
    """A long-running command (`make run`, `factorwatch demo`, ...) started in a shell of its
    own, stopped as Ctrl-C stops it: SIGINT to its whole process group."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], port: int) -> None:
        self.command, self.port = command, port
        self.log = cwd.parent / f"daemon-{time.monotonic_ns()}.log"  # outside the view
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120, ranked: bool = False) -> None:
        """Until /readyz answers 200 (and, with `ranked`, every workload has a ranking)."""
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"`{self.command}` exited {self.proc.returncode}:\n"
                                     f"{self.output()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 and (
                        not ranked or _all_ranked(base)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"`{self.command}` not ready on port {self.port} in {timeout}s:\n"
                             f"{self.output()[-3000:]}")

    def stop(self) -> str:
        """Ctrl-C, then its output; killed if it has not stopped within a minute."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.output()


def _all_ranked(base: str) -> bool:
    workloads = httpx.get(f"{base}/api/v1/workloads", timeout=2).json()["items"]
    return all(httpx.get(f"{base}/api/v1/workloads/{w}/ranking", timeout=2).status_code == 200
               for w in workloads)
