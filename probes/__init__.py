"""Active probes: one module per kind, same async signature, one registry by name.

    async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult

Call them through run_probe(kind, target, client), which owns timeouts and turns every
failure into a classified ProbeResult. Config validation checks kinds against PROBES.
"""

from __future__ import annotations

from probes import latency, long_context, quality, tools, uptime
from probes.runner import ProbeFn, run_probe

PROBES: dict[str, ProbeFn] = {
    "latency": latency.probe,
    "uptime": uptime.probe,
    "tools": tools.probe,
    "long_context": long_context.probe,
    "quality": quality.probe,
}

__all__ = ["PROBES", "ProbeFn", "run_probe"]
