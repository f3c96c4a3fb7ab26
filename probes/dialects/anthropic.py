"""Anthropic Messages streaming (`POST {base}/messages`, `stream: true`).

Stream shape (see the recorded fixtures): `message_start` (usage: input tokens), per block
`content_block_start` (a text block starts with "", a tool_use block names its tool),
`content_block_delta` (text_delta, input_json_delta, thinking_delta), `content_block_stop`,
`ping` keep-alives anywhere, `message_delta` (stop_reason and cumulative output usage),
`message_stop`. An error after the 200 arrives as `event: error` with an `error` object.

Extended thinking comes first, as `thinking` blocks (thinking_delta text, then one
signature_delta that is no text) or `redacted_thinking` blocks (encrypted whole in the block
start: reasoning that arrived, with no text). Usage does not count thinking tokens apart:
output_tokens includes them. A reasoning cap is `thinking: {type: enabled, budget_tokens}`
(0: `{type: disabled}`); as thinking counts against max_tokens, the budget is added to it
so that the probe's max_tokens still caps the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from probes.dialects import (
    Chat,
    ContentDelta,
    Finish,
    HttpRequest,
    StopReason,
    StreamEvent,
    ToolCallStart,
    Usage,
)
from probes.dialects._common import int_or_none, json_object, stream_error
from probes.reasoning import reasoning_cap
from probes.sse import SSEEvent
from probes.target import Target

API_VERSION = "2023-06-01"  # the only stable version; new features come as beta headers

# delta type -> (field holding the text, ContentDelta.kind)
_DELTAS: dict[str, tuple[str, Literal["text", "tool_call", "reasoning"]]] = {
    "text_delta": ("text", "text"),
    "input_json_delta": ("partial_json", "tool_call"),
    "thinking_delta": ("thinking", "reasoning"),
}


class AnthropicDialect:
    name = "anthropic"
    reasoning_keys = frozenset({"budget_tokens"})  # of the `reasoning` probe option

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        chat = chat or Chat.of(target)
        headers = {
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            "anthropic-version": API_VERSION,
        }
        if target.api_key:
            headers["x-api-key"] = target.api_key
        body: dict[str, Any] = {
            "model": target.model,
            "max_tokens": chat.max_tokens,
            "messages": [{"role": "user", "content": chat.prompt}],
            "stream": True,
        }
        if chat.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in chat.tools
            ]
        cap = reasoning_cap(target)
        if cap is not None and cap.budget_tokens is not None:
            if cap.budget_tokens > 0:
                body["thinking"] = {"type": "enabled", "budget_tokens": cap.budget_tokens}
                body["max_tokens"] = chat.max_tokens + cap.budget_tokens
            else:
                body["thinking"] = {"type": "disabled"}
        url = target.base_url.rstrip("/") + "/messages"
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        data = event.data.strip()
        if not data:
            return []
        obj = json_object(data)
        kind = obj.get("type") or event.event
        if kind == "error" or event.event == "error":
            return [stream_error(obj.get("error", obj), at)]
        if kind == "content_block_delta":
            return _delta(obj, at)
        if kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") in ("tool_use", "server_tool_use") and block.get("name"):
                return [ToolCallStart(name=str(block["name"]), index=_index(obj), at=at)]
            if block.get("type") == "redacted_thinking" and block.get("data"):
                return [ContentDelta(text="", at=at, kind="reasoning")]  # hidden, yet arrived
            return []  # a text or thinking block starts with "": not a token
        if kind == "message_start":
            return _usage((obj.get("message") or {}).get("usage"), at)
        if kind == "message_delta":
            out: list[StreamEvent] = []
            reason = (obj.get("delta") or {}).get("stop_reason")
            if isinstance(reason, str):
                out.append(StopReason(reason=reason, at=at))
            return out + _usage(obj.get("usage"), at)
        if kind == "message_stop":
            return [Finish(at=at)]
        return []  # ping, content_block_stop and event types added later


def _delta(obj: dict[str, Any], at: float) -> list[StreamEvent]:
    delta = obj.get("delta") or {}
    field_kind = _DELTAS.get(str(delta.get("type")))
    if field_kind is None:
        return []  # e.g. signature_delta (ends a thinking block), citations_delta
    field, kind = field_kind
    text = delta.get(field)
    if not isinstance(text, str) or not text:  # the first input_json_delta is often ""
        return []
    index = _index(obj) if kind == "tool_call" else None
    return [ContentDelta(text=text, at=at, kind=kind, tool_index=index)]


def _index(obj: dict[str, Any]) -> int:
    return int_or_none(obj.get("index")) or 0


def _usage(usage: Any, at: float) -> list[StreamEvent]:
    """message_start carries input tokens, message_delta the cumulative output count;
    the stream reader merges the two."""
    if not isinstance(usage, dict):
        return []
    inputs = int_or_none(usage.get("input_tokens"))
    if inputs is not None:  # cached input is billed input too, at its own price
        inputs += sum(
            int_or_none(usage.get(key)) or 0
            for key in ("cache_creation_input_tokens", "cache_read_input_tokens")
        )
    return [Usage(input_tokens=inputs, output_tokens=int_or_none(usage.get("output_tokens")),
                  at=at)]
