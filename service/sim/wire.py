"""The wire formats of the simulated fleet: one module per provider API, one interface.

A wire parses its API's request into a SimChat and writes its API's bytes: SSE events for
each step of an answer, and the JSON error body for an HTTP error. The schedule, the faults
and the truth records live in service.sim.reply, the same for every API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.sim.http11 import Request

SSE = "text/event-stream; charset=utf-8"


@dataclass
class SimChat:
    """One parsed chat request."""

    model: str
    prompt: str
    max_tokens: int | None
    stream: bool
    tools: list[dict[str, Any]] = field(default_factory=list)
    include_usage: bool = True
    # The request's reasoning cap: a budget in tokens, or an effort (EFFORT_SHARE scales
    # the model's reasoning_tokens).
    reasoning_budget: int | None = None
    reasoning_effort: str | None = None


EFFORT_SHARE = {"none": 0.0, "minimal": 0.1, "low": 0.5, "medium": 1.0, "high": 2.0}


def reasoning_planned(chat: SimChat, model_tokens: int, max_tokens: int | None) -> int:
    """How many reasoning tokens this answer writes: the model's own count, scaled by the
    effort asked, within the budget asked and the request's max_tokens."""
    tokens = model_tokens
    if chat.reasoning_effort in EFFORT_SHARE:
        tokens = round(tokens * EFFORT_SHARE[chat.reasoning_effort])
    if chat.reasoning_budget is not None:
        tokens = min(tokens, chat.reasoning_budget)
    return min(tokens, max_tokens) if max_tokens else tokens


@dataclass
class StreamState:
    """What a wire needs to write the next event of one answer."""

    id: str
    model: str
    created: int
    prompt_tokens: int
    tokens: int = 0  # answer tokens written so far (text or tool arguments)
    include_usage: bool = True
    tool_name: str = ""
    reasoning_planned: int = 0  # reasoning tokens this answer writes before the answer
    reasoning: int = 0  # reasoning tokens written so far
    block: int = 0  # Anthropic: the index of the content block being written
    events: int = 0  # events written (the Responses API numbers them)


class Wire(Protocol):
    name: str
    key_header: str  # where this API expects its key (lower-case)

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        """The request as a SimChat; ValueError when it is not this API's request."""
        ...

    def presented_key(self, request: Request) -> str | None: ...

    def error_body(self, status: int, message: str) -> dict[str, Any]: ...

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        """Events before the first token (OpenAI's role-only chunk, message_start ...)."""
        ...

    def empty_first(self, s: StreamState) -> list[bytes]:
        """An extra chunk with no generated text (role_only_first)."""
        ...

    def keepalive(self) -> bytes: ...

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        """One piece of reasoning, written before the answer."""
        ...

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        """Events that close the reasoning and open the answer (Anthropic's blocks)."""
        ...

    def text(self, s: StreamState, piece: str) -> bytes: ...

    def tool_start(self, s: StreamState) -> list[bytes]: ...

    def tool_args(self, s: StreamState, piece: str) -> bytes: ...

    def split_arguments(self, arguments: str) -> list[str]: ...

    def stream_error(self, s: StreamState) -> bytes: ...

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        """reason: stop | length | tool. marker=False leaves out the end-of-stream marker."""
        ...


def sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(obj).encode() + b"\n\n"


def prompt_tokens(text: str) -> int:
    return max(1, round(len(text) / 4))


def pieces_of(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def body_json(request: Request) -> dict[str, Any]:
    body = json.loads(request.body)
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    return body


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else (value or None)
