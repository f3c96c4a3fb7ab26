"""OpenAI Chat Completions on the wire (also Azure OpenAI, which differs only in its URL and
its api-key header)."""

from __future__ import annotations

from typing import Any

from service.sim.http11 import Request
from service.sim.wire import SimChat, StreamState, bearer, body_json, pieces_of, sse

_REASONS = {"stop": "stop", "length": "length", "tool": "tool_calls"}


class OpenAIWire:
    name = "openai"
    key_header = "authorization"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        model = route_model or str(body["model"])
        messages = body.get("messages") or []
        prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        tools = [t.get("function", t) for t in body.get("tools") or [] if isinstance(t, dict)]
        options = body.get("stream_options") or {}
        effort = body.get("reasoning_effort")
        return SimChat(model=model, prompt=prompt,
                       max_tokens=limit if isinstance(limit, int) and limit > 0 else None,
                       stream=bool(body.get("stream")), tools=tools,
                       include_usage=bool(options.get("include_usage")),
                       reasoning_effort=effort if isinstance(effort, str) else None)

    def presented_key(self, request: Request) -> str | None:
        return bearer(request)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        code = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
        return {"error": {"message": message, "type": kind, "param": None,
                          "code": code.get(status, kind)}}

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        # Like the real API: a role-only first chunk with empty content, sent at once.
        return [self._chunk(s, {"role": "assistant", "content": "", "refusal": None})]

    def empty_first(self, s: StreamState) -> list[bytes]:
        return []  # start() already sent one

    def keepalive(self) -> bytes:
        return b": keep-alive\n\n"

    def text(self, s: StreamState, piece: str) -> bytes:
        return self._chunk(s, {"content": piece})

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return self._chunk(s, {"content": None, "reasoning_content": piece})  # as DeepSeek

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        return []

    def tool_start(self, s: StreamState) -> list[bytes]:
        call = {"index": 0, "id": f"call_{s.id[-8:]}", "type": "function",
                "function": {"name": s.tool_name, "arguments": ""}}
        return [self._chunk(s, {"tool_calls": [call]})]

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        return self._chunk(s, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})

    def split_arguments(self, arguments: str) -> list[str]:
        return pieces_of(arguments)

    def stream_error(self, s: StreamState) -> bytes:
        return sse({"error": {"message": "The server had an error processing your request.",
                              "type": "server_error", "param": None, "code": None}})

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        out = [self._chunk(s, {}, finish_reason=_REASONS[reason])]
        if usage and s.include_usage:
            out.append(self._data(s, {"choices": [], "usage": usage_of(s)}))
        if marker:
            out.append(b"data: [DONE]\n\n")
        return out

    def _chunk(self, s: StreamState, delta: dict[str, Any],
               finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._data(s, {"choices": [choice]})

    def _data(self, s: StreamState, fields: dict[str, Any]) -> bytes:
        return sse({"id": s.id, "object": "chat.completion.chunk", "created": s.created,
                    "model": s.model, "system_fingerprint": "fp_sim", **fields})


def usage_of(s: StreamState) -> dict[str, Any]:
    output = s.tokens + s.reasoning  # reasoning is billed as completion tokens
    return {"prompt_tokens": s.prompt_tokens, "completion_tokens": output,
            "total_tokens": s.prompt_tokens + output,
            "completion_tokens_details": {"reasoning_tokens": s.reasoning}}


class AzureWire(OpenAIWire):
    name = "azure-openai"
    key_header = "api-key"

    def presented_key(self, request: Request) -> str | None:
        return request.headers.get("api-key")
