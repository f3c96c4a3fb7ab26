"""Gemini streamGenerateContent?alt=sse on the wire: GenerateContentResponse chunks with
cumulative usageMetadata, the last one carrying finishReason; no other end marker."""

from __future__ import annotations

import json
from typing import Any

from service.sim.http11 import Request
from service.sim.wire import SimChat, StreamState, body_json, sse

_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool": "STOP"}
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class GeminiWire:
    name = "gemini"
    key_header = "x-goog-api-key"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        texts = [str(part.get("text", "")) for content in body.get("contents") or []
                 for part in content.get("parts") or [] if isinstance(part, dict)]
        config = body.get("generationConfig") or {}
        limit = config.get("maxOutputTokens")
        thinking = config.get("thinkingConfig") or {}
        budget, level = thinking.get("thinkingBudget"), thinking.get("thinkingLevel")
        tools = [dict(d, parameters=d.get("parametersJsonSchema") or d.get("parameters"))
                 for tool in body.get("tools") or []
                 for d in tool.get("functionDeclarations") or []]
        return SimChat(model=str(route_model), prompt=" ".join(texts),
                       max_tokens=limit if isinstance(limit, int) and limit > 0 else None,
                       stream="alt=sse" in request.path, tools=tools,
                       reasoning_budget=budget if isinstance(budget, int) and budget >= 0
                       else None, reasoning_effort=level if isinstance(level, str) else None)

    def presented_key(self, request: Request) -> str | None:
        return request.headers.get("x-goog-api-key")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message,
                                 "status": _STATUS.get(status, "UNKNOWN")}
        if status == 429:  # Gemini says when to retry in the body, not in Retry-After
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "7s"}]
        return {"error": error}

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        return []

    def empty_first(self, s: StreamState) -> list[bytes]:
        return [self._chunk(s, [{"text": ""}])]

    def keepalive(self) -> bytes:
        return b": keep-alive\n\n"

    def text(self, s: StreamState, piece: str) -> bytes:
        return self._chunk(s, [{"text": piece}])

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return self._chunk(s, [{"text": piece, "thought": True}])

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        return []

    def tool_start(self, s: StreamState) -> list[bytes]:
        return []  # a call arrives whole, in one part

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        try:
            args = json.loads(piece)
        except ValueError:
            args = {}  # a Struct cannot carry broken JSON: the nearest is no arguments
        return self._chunk(s, [{"functionCall": {"name": s.tool_name, "args": args}}])

    def split_arguments(self, arguments: str) -> list[str]:
        return [arguments]

    def stream_error(self, s: StreamState) -> bytes:
        return sse(self.error_body(500, "An internal error has occurred."))

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        if not marker:
            return []  # the finishReason chunk is Gemini's only end marker
        return [self._chunk(s, [{"text": ""}], _REASONS[reason], usage)]

    def _chunk(self, s: StreamState, parts: list[dict[str, Any]], finish: str | None = None,
               usage: bool = True) -> bytes:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        obj: dict[str, Any] = {"candidates": [candidate]}
        if usage and s.include_usage:
            obj["usageMetadata"] = {"promptTokenCount": s.prompt_tokens,
                                    "candidatesTokenCount": s.tokens,
                                    "totalTokenCount": s.prompt_tokens + s.tokens + s.reasoning}
            if s.reasoning:  # thoughts are counted apart, and billed as output
                obj["usageMetadata"]["thoughtsTokenCount"] = s.reasoning
        obj |= {"modelVersion": s.model, "responseId": s.id}
        return sse(obj)
