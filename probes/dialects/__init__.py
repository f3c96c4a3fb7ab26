"""Provider API dialects: one module each, one small interface, one registry by name.

A dialect knows two things about its API: how to ask for a streamed answer (build_request,
from a Chat: one prompt, a token cap and optionally tools) and what one parsed SSE event
means (parse_event). Everything about sockets, timing and error classes lives in the probes,
so a new provider API is one new module here.

Two optional attributes, read by probes/stream.py: `framing = "eventstream"` when the body
is AWS's binary event stream rather than SSE (each message then reaches parse_event as an
SSEEvent, probes/eventstream.py), and `check_response` when the API's error answers need
their own reading (probes/http_errors.py check_response is the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from probes.result import ErrorClass
from probes.sse import SSEEvent
from probes.target import Target


class ProtocolError(Exception):
    """The bytes are not this dialect's protocol (e.g. invalid JSON in `data:`)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]  # may hold the secret: never log it
    json: dict[str, Any]

    def __repr__(self) -> str:  # keep Authorization out of tracebacks and logs
        return f"HttpRequest({self.method} {self.url})"


@dataclass(frozen=True)
class ToolSpec:
    """One function the model may call; each dialect writes it in its own form."""

    name: str
    description: str
    parameters: Mapping[str, Any]  # JSON Schema of the arguments object


@dataclass(frozen=True)
class Chat:
    """What a probe asks: one user turn, a token cap, and the tools it offers."""

    prompt: str
    max_tokens: int
    tools: tuple[ToolSpec, ...] = ()

    @classmethod
    def of(cls, target: Target) -> Chat:
        return cls(prompt=target.prompt, max_tokens=target.max_tokens)


# --- Stream events: what a dialect turns SSE events into, each stamped with arrival time.


@dataclass(frozen=True)
class ResponseHeaders:
    """Status line and headers arrived (emitted by the stream reader, not by dialects)."""

    status: int
    headers: dict[str, str] = field(repr=False)
    at: float


@dataclass(frozen=True)
class ContentDelta:
    """A piece of generated output: what TTFT and output speed are measured on.

    kind "reasoning" is thinking, never the answer (first_answer_seconds skips it); its text
    is "" where the API hides the reasoning (Anthropic redacted_thinking): it still arrived.
    """

    text: str
    at: float
    kind: Literal["text", "refusal", "tool_call", "reasoning"] = "text"
    tool_index: int | None = None


@dataclass(frozen=True)
class ToolCallStart:
    """The model began a tool call and named the function (not a content token: the
    arguments that follow are)."""

    name: str
    index: int
    at: float


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None  # reasoning included: it is billed as output
    at: float
    reasoning_tokens: int | None = None  # the part of output_tokens spent reasoning


@dataclass(frozen=True)
class StopReason:
    """Why the model stopped (stop, length, tool_calls, ...); not the end of the stream."""

    reason: str
    at: float


@dataclass(frozen=True)
class Finish:
    """The protocol's end-of-stream marker (OpenAI `data: [DONE]`, Anthropic
    `message_stop`, Gemini's chunk carrying finishReason)."""

    at: float


@dataclass(frozen=True)
class StreamError:
    """An error object sent inside a 200 stream."""

    message: str
    code: str | None
    at: float
    # What it means for the probe; a dialect whose stream errors name a class (Bedrock's
    # throttlingException is rate_limited) says so.
    error_class: ErrorClass = ErrorClass.STREAM_ERROR


StreamEvent = (
    ResponseHeaders | ContentDelta | ToolCallStart | Usage | StopReason | Finish | StreamError
)


class Dialect(Protocol):
    name: str

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        """The streaming request for `chat` (default: target.prompt, target.max_tokens)."""
        ...

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        """What one SSE event means; raises ProtocolError on bytes it cannot read."""
        ...


# Imported last: dialect modules use the types above.
from probes.dialects.anthropic import AnthropicDialect  # noqa: E402
from probes.dialects.azure_ai_inference import AzureAIInferenceDialect  # noqa: E402
from probes.dialects.azure_openai import AzureOpenAIDialect  # noqa: E402
from probes.dialects.bedrock import BedrockDialect, BedrockInvokeDialect  # noqa: E402
from probes.dialects.gemini import GeminiDialect  # noqa: E402
from probes.dialects.openai import OpenAIDialect  # noqa: E402
from probes.dialects.openai_responses import OpenAIResponsesDialect  # noqa: E402
from probes.dialects.vertex import VertexAnthropicDialect, VertexGeminiDialect  # noqa: E402

DIALECTS: dict[str, Dialect] = {
    "openai": OpenAIDialect(),
    "anthropic": AnthropicDialect(),
    "gemini": GeminiDialect(),
    "azure-openai": AzureOpenAIDialect(),
    "bedrock": BedrockDialect(),
    "bedrock-invoke": BedrockInvokeDialect(),
    # Cloud hosts (issue 17): tokens from the cloud's credential chain, probes/cloud_auth.py
    "vertex": VertexGeminiDialect(),
    "vertex-anthropic": VertexAnthropicDialect(),
    "azure-ai-inference": AzureAIInferenceDialect(),
    "openai-responses": OpenAIResponsesDialect(),
}
import probes.cloud_auth  # noqa: E402, F401  (registers the cloud dialects' CREDENTIALS)

__all__ = [
    "DIALECTS",
    "Chat",
    "ContentDelta",
    "Dialect",
    "Finish",
    "HttpRequest",
    "ProtocolError",
    "ResponseHeaders",
    "StopReason",
    "StreamError",
    "StreamEvent",
    "ToolCallStart",
    "ToolSpec",
    "Usage",
]
