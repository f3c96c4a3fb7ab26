"""OpenAI Responses API streaming on the wire: response.created, output items (reasoning,
message, function_call) with their deltas, and response.completed (or response.incomplete
when max_output_tokens cut it) carrying usage; response.failed inside the 200 stream."""

from __future__ import annotations

from typing import Any

from service.sim.http11 import Request
from service.sim.wire import SimChat, StreamState, bearer, body_json, pieces_of, sse


class ResponsesWire:
    name = "openai-responses"
    key_header = "authorization"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        limit = body.get("max_output_tokens")
        if isinstance(limit, int) and limit < 16:
            raise ValueError(f"Invalid 'max_output_tokens': integer below minimum value. "
                             f"Expected a value >= 16, but got {limit} instead.")
        tools = [t for t in body.get("tools") or []
                 if isinstance(t, dict) and t.get("type") == "function"]
        effort = (body.get("reasoning") or {}).get("effort")
        return SimChat(model=str(body["model"]), prompt=_prompt(body.get("input")),
                       max_tokens=limit if isinstance(limit, int) else None,
                       stream=bool(body.get("stream")), tools=tools,
                       reasoning_effort=effort if isinstance(effort, str) else None)

    def presented_key(self, request: Request) -> str | None:
        return bearer(request)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        out = [self._event(s, "response.created", response=self._response(s, "in_progress")),
               self._event(s, "response.in_progress", response=self._response(s, "in_progress"))]
        if s.reasoning_planned:
            out += [self._event(s, "response.output_item.added", output_index=0,
                                item={"id": f"rs_{s.id}", "type": "reasoning", "summary": []}),
                    self._event(s, "response.reasoning_summary_part.added", output_index=0,
                                item_id=f"rs_{s.id}", summary_index=0,
                                part={"type": "summary_text", "text": ""})]
        elif not tool:
            out += self._message_start(s, 0)
        return out

    def empty_first(self, s: StreamState) -> list[bytes]:
        return []

    def keepalive(self) -> bytes:
        return b": keep-alive\n\n"

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return self._event(s, "response.reasoning_summary_text.delta", output_index=0,
                           item_id=f"rs_{s.id}", summary_index=0, delta=piece)

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        item = {"id": f"rs_{s.id}", "type": "reasoning", "summary": [{"type": "summary_text"}]}
        out = [self._event(s, "response.reasoning_summary_part.done", output_index=0,
                           item_id=f"rs_{s.id}", summary_index=0),
               self._event(s, "response.output_item.done", output_index=0, item=item)]
        return out if tool else out + self._message_start(s, 1)

    def text(self, s: StreamState, piece: str) -> bytes:
        return self._event(s, "response.output_text.delta", item_id=f"msg_{s.id}",
                           output_index=self._answer_index(s), content_index=0, delta=piece)

    def tool_start(self, s: StreamState) -> list[bytes]:
        item = {"id": f"fc_{s.id}", "type": "function_call", "status": "in_progress",
                "call_id": f"call_{s.id[-8:]}", "name": s.tool_name, "arguments": ""}
        return [self._event(s, "response.output_item.added",
                            output_index=self._answer_index(s), item=item)]

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        return self._event(s, "response.function_call_arguments.delta", item_id=f"fc_{s.id}",
                           output_index=self._answer_index(s), delta=piece)

    def split_arguments(self, arguments: str) -> list[str]:
        return pieces_of(arguments)

    def stream_error(self, s: StreamState) -> bytes:
        response = self._response(s, "failed")
        response["error"] = {"code": "server_error",
                             "message": "The server had an error processing your request."}
        return self._event(s, "response.failed", response=response)

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        if not marker:
            return []  # response.completed is the Responses API's only end marker
        status = "incomplete" if reason == "length" else "completed"
        response = self._response(s, status)
        if reason == "length":
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        if reason == "tool":
            response["output"] = [{"type": "function_call", "name": s.tool_name}]
        if usage and s.include_usage:
            output = s.tokens + s.reasoning
            response["usage"] = {"input_tokens": s.prompt_tokens, "output_tokens": output,
                                 "output_tokens_details": {"reasoning_tokens": s.reasoning},
                                 "total_tokens": s.prompt_tokens + output}
        return [self._event(s, f"response.{status}", response=response)]

    def _message_start(self, s: StreamState, index: int) -> list[bytes]:
        item = {"id": f"msg_{s.id}", "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}
        return [self._event(s, "response.output_item.added", output_index=index, item=item),
                self._event(s, "response.content_part.added", item_id=f"msg_{s.id}",
                            output_index=index, content_index=0,
                            part={"type": "output_text", "text": ""})]

    def _answer_index(self, s: StreamState) -> int:
        return 1 if s.reasoning_planned else 0

    def _response(self, s: StreamState, status: str) -> dict[str, Any]:
        return {"id": f"resp_{s.id}", "object": "response", "created_at": s.created,
                "status": status, "model": s.model, "output": [], "usage": None,
                "error": None, "incomplete_details": None}

    def _event(self, s: StreamState, kind: str, **fields: Any) -> bytes:
        s.events += 1
        return sse({"type": kind, "sequence_number": s.events - 1, **fields}, kind)


def _prompt(value: Any) -> str:
    """`input` is a string or a list of messages whose content is a string or parts."""
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for message in value if isinstance(value, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [str(p.get("text", "")) for p in content if isinstance(p, dict)]
    return " ".join(texts)
