"""The `uptime` probe: the cheapest request that proves the API serves.

One streamed completion of a tiny prompt with max_tokens 1 (both configurable). A complete
stream counts even without a content token: a reasoning model can spend its one token
thinking, and the API still served (`empty_answer: true` says so).
"""

from __future__ import annotations

import dataclasses

import httpx

from probes.dialects import Chat
from probes.result import ErrorClass, ProbeResult
from probes.stream import exchange
from probes.target import Target

KIND = "uptime"
OPTIONS = frozenset({"prompt"})  # config keys this probe reads, besides max_tokens
PROMPT = "Reply with OK."
MAX_TOKENS = 1


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    chat = Chat(prompt=str(target.option("prompt", PROMPT)),
                max_tokens=int(target.option("max_tokens", MAX_TOKENS)))
    answer = await exchange(target, client, chat)
    empty = answer.failure is not None and answer.failure[0] is ErrorClass.EMPTY_RESPONSE
    if empty:
        answer = dataclasses.replace(answer, failure=None)
    return answer.result(KIND, {"empty_answer": empty})
