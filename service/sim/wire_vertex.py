"""Vertex AI and Azure AI Foundry on the wire: the first-party framings behind the clouds'
own paths and credentials.

    Gemini on Vertex:  .../publishers/google/models/{model}:streamGenerateContent?alt=sse
    Claude on Vertex:  .../publishers/anthropic/models/{model}:streamRawPredict, the Messages
                       body with anthropic_version "vertex-2023-10-16" and no `model`
    Foundry:           /models/chat/completions?api-version=..., model in the body

Vertex takes only a bearer token (one from SimServer.tokens); Foundry an api-key header or
a bearer token.
"""

from __future__ import annotations

from service.sim.http11 import Request
from service.sim.wire import SimChat, bearer, body_json
from service.sim.wire_anthropic import AnthropicWire, _text_of
from service.sim.wire_gemini import GeminiWire
from service.sim.wire_openai import OpenAIWire

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"


class VertexGeminiWire(GeminiWire):
    name = "vertex"
    key_header = "authorization"

    def presented_key(self, request: Request) -> str | None:
        return bearer(request)


class VertexAnthropicWire(AnthropicWire):
    name = "vertex-anthropic"
    key_header = "authorization"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        if body.get("anthropic_version") != VERTEX_ANTHROPIC_VERSION:
            raise ValueError(f"anthropic_version must be {VERTEX_ANTHROPIC_VERSION!r}")
        if "model" in body:
            raise ValueError("model: Extra inputs are not permitted (it is in the URL)")
        limit = body.get("max_tokens")
        if not isinstance(limit, int) or limit < 1:
            raise ValueError("max_tokens: Field required")
        prompt = " ".join(_text_of(m.get("content")) for m in body.get("messages") or []
                          if isinstance(m, dict))
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        return SimChat(model=str(route_model), prompt=prompt, max_tokens=limit,
                       stream=bool(body.get("stream")), tools=tools)

    def presented_key(self, request: Request) -> str | None:
        return bearer(request)


class FoundryWire(OpenAIWire):
    """The Azure AI model inference API: OpenAI's Chat Completions, whose parameters outside
    the API are refused unless `extra-parameters: drop` (or pass-through) says otherwise."""

    name = "azure-ai-inference"
    key_header = "api-key"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        chat = super().parse(request, None)
        extra = request.headers.get("extra-parameters", "error")
        if "stream_options" in body_json(request):
            if extra == "error":
                raise ValueError("extra parameter 'stream_options' is not permitted")
            if extra == "drop":
                chat.include_usage = False
        return chat

    def presented_key(self, request: Request) -> str | None:
        return request.headers.get("api-key") or bearer(request)
