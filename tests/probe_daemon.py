"""Shared by tests that drive the probe pipeline directly: simulated candidates (by default
one, `sim/m`, a latency probe), the pipeline the daemon would build for them with its probe
clients and reading process, and the rows it would have written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from service.config import load_settings
from service.metrics import new_registry
from service.probing.budget import ProbeBudget
from service.probing.clients import ProbeClients
from service.probing.looplag import loop_lag_histogram
from service.probing.metrics import ProbeMetrics
from service.probing.pipeline import ProbePipeline, build_targets
from service.scheduler import ProbePlan


@dataclass
class Probing:
    pipeline: ProbePipeline
    clients: ProbeClients
    registry: CollectorRegistry
    loop_lag: Histogram
    rows: list[Any] = field(default_factory=list)

    async def run(self, plan: ProbePlan) -> None:
        await self.pipeline.run(plan)

    async def aclose(self) -> None:
        await self.clients.aclose()


def probe_pipeline(tmp_path: Path, base_url: str | None, shards: int = 2,
                   models: dict[str, str] | None = None,
                   kinds: str = "latency: {every: 1h, timeout: 5s}", stamped: bool = True
                   ) -> tuple[Probing, list[Any]]:
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
    settings = load_settings(config, environ={})
    registry = new_registry("test")
    metrics = ProbeMetrics(registry)
    clients = ProbeClients(shards=shards, stamped=stamped)
    metrics.reader_exits.set_function(lambda: clients.reading.exits)
    targets, _ = build_targets(settings, {})
    probing = Probing(ProbePipeline(settings, targets, metrics,
                                    ProbeBudget(settings.probe_budget, metrics),
                                    lambda row: probing.rows.append(row), lambda _: True,
                                    clients.for_key),
                      clients, registry, loop_lag_histogram(registry))
    return probing, probing.rows
