"""Active probes: one module per kind, same async signature, one registry by name.

    async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult

Call them through run_probe(kind, target, client), which owns timeouts and turns every
failure into a classified ProbeResult. Config validation checks kinds against PROBES.
"""

from __future__ import annotations

from probes import latency, long_context, quality, tools, uptime, voice
from probes.runner import ProbeFn, run_probe

_KINDS = (latency, uptime, tools, long_context, quality, voice)
PROBES: dict[str, ProbeFn] = {kind.KIND: kind.probe for kind in _KINDS}
# The per-kind config keys each probe reads from Target.options (all read max_tokens).
PROBE_OPTIONS: dict[str, frozenset[str]] = {kind.KIND: kind.OPTIONS for kind in _KINDS}

__all__ = ["PROBES", "PROBE_OPTIONS", "ProbeFn", "run_probe"]
