"""A real `factorwatch demo` process on a free 127.0.0.1 port, with its own temp directory
and database, for tests that look at it from outside (Prometheus, Chromium).

The demo keeps its config and webhook files in .factorwatch-demo/ under its working
directory: that is the temp dir.
Stopped with SIGTERM (the daemon's clean shutdown), killed if it does not stop in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoProcess:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="factorwatch-demo-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoProcess:
        cmd = [sys.executable, "-m", "service.cli.main", "demo", "--listen",
               f"127.0.0.1:{self.port}", "--database", f"sqlite:///{self.dir / 'demo.db'}"]
        repo = Path(__file__).resolve().parents[1]
        env = {**os.environ, "PYTHONPATH": str(repo)}
        self._log = open(self.dir / "demo.log", "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self._log)
        return self

    def log(self) -> str:
        return (self.dir / "demo.log").read_text(errors="replace")

    def wait_scored(self, workload: str = "consumer-chat", timeout: float = 40) -> dict[str, Any]:
        """Wait for the workload's first ranking; returns its document."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"factorwatch demo exited:\n{self.log()[-3000:]}")
            try:
                r = httpx.get(f"{self.url}/api/v1/workloads/{workload}/ranking", timeout=2)
                if r.status_code == 200 and r.json().get("top_choice"):
                    return dict(r.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"the demo did not score {workload} in {timeout}s:\n"
                           f"{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
