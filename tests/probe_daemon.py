"""Shared by tests that drive Daemon._probe directly: a daemon with simulated candidates
(by default one, `sim/m`, a latency probe), its probe clients, and the rows it would have
written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.config import load_settings
from service.daemon import Daemon
from service.probe_clients import ProbeClients


def one_candidate_daemon(tmp_path: Path, base_url: str | None, shards: int = 2,
                         models: dict[str, str] | None = None,
                         kinds: str = "latency: {every: 1h, timeout: 5s}"
                         ) -> tuple[Daemon, list[Any]]:
    """`models` maps candidate ids (provider `sim`) to model names: {"sim/m": "m"}."""
    candidates = "\n".join(
        f"""  {cid}: {{provider: sim, api: openai, base_url: "{base_url}", model: {model},
           probes: {{{kinds}}}}}""" for cid, model in (models or {"sim/m": "m"}).items())
    config = tmp_path / "fw.yaml"
    config.write_text(f"""
builtin_catalog: false
database: sqlite:///{tmp_path / 'fw.db'}
providers: {{sim: {{}}}}
candidates:
{candidates}
""")
    daemon = Daemon(load_settings(config, environ={}), environ={})
    rows: list[Any] = []
    daemon.writer.add = rows.append  # type: ignore[method-assign]
    daemon._probe_http = ProbeClients(shards=shards)  # what run() sets up, without the rest
    return daemon, rows
