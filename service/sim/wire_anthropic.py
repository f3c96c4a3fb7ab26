"""Anthropic Messages streaming on the wire: message_start, content blocks, message_delta,
message_stop; pings as keep-alives; `event: error` inside the 200 stream."""

from __future__ import annotations

from typing import Any

from service.sim.http11 import Request
from service.sim.wire import SimChat, StreamState, body_json, pieces_of, sse

_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}


class AnthropicWire:
    name = "anthropic"
    key_header = "x-api-key"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        if "anthropic-version" not in request.headers:
            raise ValueError("anthropic-version header is required")
        prompt = " ".join(_text_of(m.get("content")) for m in body.get("messages") or []
                          if isinstance(m, dict))
        limit = body.get("max_tokens")
        if not isinstance(limit, int) or limit < 1:
            raise ValueError("max_tokens: Field required")
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        thinking = body.get("thinking") or {}
        budget = None
        if thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or not 0 < budget < limit:
                raise ValueError("thinking.budget_tokens must be less than max_tokens")
        elif thinking.get("type") == "disabled":
            budget = 0
        return SimChat(model=str(body["model"]), prompt=prompt, max_tokens=limit,
                       stream=bool(body.get("stream")), tools=tools, reasoning_budget=budget)

    def presented_key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = _TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        message: dict[str, Any] = {
            "id": s.id, "type": "message", "role": "assistant", "content": [], "model": s.model,
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": s.prompt_tokens, "output_tokens": 1}}
        out = [sse({"type": "message_start", "message": message}, "message_start")]
        if s.reasoning_planned:  # thinking comes first, in a block of its own
            out.append(self._block_start({"type": "thinking", "thinking": "", "signature": ""},
                                         s.block))
        elif not tool:  # a text block opens with "", which is no token
            out.append(self._block_start({"type": "text", "text": ""}, s.block))
        return out

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return self._delta({"type": "thinking_delta", "thinking": piece}, s.block)

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        out = [self._delta({"type": "signature_delta", "signature": "U2lt" * 8}, s.block),
               sse({"type": "content_block_stop", "index": s.block}, "content_block_stop")]
        s.block += 1
        if not tool:
            out.append(self._block_start({"type": "text", "text": ""}, s.block))
        return out

    def empty_first(self, s: StreamState) -> list[bytes]:
        return [self.keepalive()]  # a ping: an event with no generated text

    def keepalive(self) -> bytes:
        return sse({"type": "ping"}, "ping")

    def text(self, s: StreamState, piece: str) -> bytes:
        return self._delta({"type": "text_delta", "text": piece}, s.block)

    def tool_start(self, s: StreamState) -> list[bytes]:
        block = {"type": "tool_use", "id": f"toolu_{s.id[-8:]}", "name": s.tool_name, "input": {}}
        return [self._block_start(block, s.block),
                self._delta({"type": "input_json_delta", "partial_json": ""}, s.block)]

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        return self._delta({"type": "input_json_delta", "partial_json": piece}, s.block)

    def split_arguments(self, arguments: str) -> list[str]:
        return pieces_of(arguments)

    def stream_error(self, s: StreamState) -> bytes:
        return sse({"type": "error", "error": {"type": "overloaded_error",
                                               "message": "Overloaded"}}, "error")

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        delta: dict[str, Any] = {"type": "message_delta",
                                 "delta": {"stop_reason": _REASONS[reason],
                                           "stop_sequence": None}}
        if usage:  # thinking is counted in output_tokens, not apart
            delta["usage"] = {"output_tokens": s.tokens + s.reasoning}
        out = [sse({"type": "content_block_stop", "index": s.block}, "content_block_stop"),
               sse(delta, "message_delta")]
        if marker:
            out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def _block_start(self, block: dict[str, Any], index: int) -> bytes:
        return sse({"type": "content_block_start", "index": index, "content_block": block},
                   "content_block_start")

    def _delta(self, delta: dict[str, Any], index: int = 0) -> bytes:
        return sse({"type": "content_block_delta", "index": index, "delta": delta},
                   "content_block_delta")


def _text_of(content: Any) -> str:
    if isinstance(content, list):  # content blocks
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")
