"""The `latency` probe: one cheap streamed completion, timed as bytes arrive.

Everything it reports (TTFT, inter-token latency, output speed, connect phase, usage) is
measured by probes.stream; this probe asks for its prompt (the config's `prompt`, else
target.prompt) within target.max_tokens.
"""

from __future__ import annotations

import httpx

from probes.dialects import Chat
from probes.result import ProbeResult
from probes.stream import exchange
from probes.target import Target

KIND = "latency"
OPTIONS = frozenset({"prompt"})  # config keys this probe reads, besides max_tokens


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    chat = Chat(prompt=str(target.option("prompt", target.prompt)), max_tokens=target.max_tokens)
    return (await exchange(target, client, chat)).result(KIND)
