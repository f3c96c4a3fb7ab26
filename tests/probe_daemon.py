"""Shared by tests that drive Daemon._probe directly: a daemon with one simulated candidate
(`sim/m`, a latency probe), its probe clients, and the rows it would have written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.config import load_settings
from service.daemon import Daemon
from service.probe_clients import ProbeClients


def one_candidate_daemon(tmp_path: Path, base_url: str | None,
                         shards: int = 2) -> tuple[Daemon, list[Any]]:
    config = tmp_path / "fw.yaml"
    config.write_text(f"""
builtin_catalog: false
database: sqlite:///{tmp_path / 'fw.db'}
providers: {{sim: {{}}}}
candidates:
  sim/m: {{provider: sim, api: openai, base_url: "{base_url}", model: m,
           probes: {{latency: {{every: 1h, timeout: 5s}}}}}}
""")
    daemon = Daemon(load_settings(config, environ={}), environ={})
    rows: list[Any] = []
    daemon.writer.add = rows.append  # type: ignore[method-assign]
    daemon._probe_http = ProbeClients(shards=shards)  # what run() sets up, without the rest
    return daemon, rows
