"""A throwaway Alertmanager on a free 127.0.0.1 port, for tests: temp config and storage.

`Alertmanager(receiver_url).start()` runs /usr/bin/prometheus-alertmanager (Debian package
prometheus-alertmanager) with one Slack receiver whose api_url is `receiver_url`, small
group timings so a notification arrives within a second or two, no clustering. `.url`,
`.stop()`; also a context manager.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CONFIG = """\
route:
  receiver: slack
  group_by: [alertname, idempotency_key]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
  - name: slack
    slack_configs:
      - api_url: {receiver_url}
        channel: '#factorwatch'
        send_resolved: true
        title: '{{{{ .Status }}}} {{{{ .CommonLabels.alertname }}}}'
        text: >-
          {{{{ range .Alerts }}}}[{{{{ .Status }}}} {{{{ .Labels.idempotency_key }}}}
          {{{{ .Labels.severity }}}}] {{{{ .Annotations.description }}}}
          {{{{ end }}}}
"""


def binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Alertmanager:
    def __init__(self, receiver_url: str, group_wait: str = "200ms",
                 group_interval: str = "1s") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="factorwatch-am-"))
        self.port = _free_port()
        (self.dir / "alertmanager.yml").write_text(CONFIG.format(
            receiver_url=receiver_url, group_wait=group_wait, group_interval=group_interval))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Alertmanager:
        found = binary()
        if found is None:
            raise RuntimeError("alertmanager not found: install the Debian package "
                               "'prometheus-alertmanager'")
        self._proc = subprocess.Popen(
            [found, f"--config.file={self.dir / 'alertmanager.yml'}",
             f"--storage.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "log", "wb"))  # noqa: SIM115
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {(self.dir / 'log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("alertmanager did not become ready")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Alertmanager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
