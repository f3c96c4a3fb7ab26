"""OpenAI Responses API streaming (`POST {base}/responses`, `stream: true`).

The API OpenAI's newest models are built for (also served by OpenRouter). Stream shape (see
the recorded fixtures): `response.created`, `response.in_progress`, then per output item
`response.output_item.added` (a reasoning item, a message, or a function_call naming its
function), its deltas (`response.reasoning_summary_text.delta` or, where the raw reasoning
is shown, `response.reasoning_text.delta`; `response.output_text.delta`;
`response.refusal.delta`; `response.function_call_arguments.delta`), the `.done` events,
and one final event carrying usage (output_tokens_details.reasoning_tokens):
`response.completed`, or `response.incomplete` when max_output_tokens cut the answer. A
failure after the 200 is `response.failed` (its response.error) or an `error` event.

The request asks max_output_tokens of at least 16, the API's minimum (it refuses less with
a 400), so a 1-token uptime probe still runs. A reasoning cap is `reasoning: {effort}`.
"""

from __future__ import annotations

from typing import Any

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

MIN_OUTPUT_TOKENS = 16  # the API refuses a smaller max_output_tokens

_REASONING_DELTAS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
_FINAL = ("response.completed", "response.incomplete")


class OpenAIResponsesDialect:
    name = "openai-responses"
    reasoning_keys = frozenset({"effort"})  # of the `reasoning` probe option

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        chat = chat or Chat.of(target)
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        body: dict[str, Any] = {
            "model": target.model,
            "input": [{"role": "user", "content": chat.prompt}],
            "stream": True,
            "store": False,  # a probe's answer need not be kept for later turns
            "max_output_tokens": max(MIN_OUTPUT_TOKENS, chat.max_tokens),
        }
        if chat.tools:
            body["tools"] = [
                {"type": "function", "name": t.name, "description": t.description,
                 "parameters": dict(t.parameters)}
                for t in chat.tools
            ]
        cap = reasoning_cap(target)
        if cap is not None and cap.effort is not None:
            body["reasoning"] = {"effort": cap.effort}
        url = target.base_url.rstrip("/") + "/responses"
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        data = event.data.strip()
        if not data or data == "[DONE]":  # OpenRouter adds one after response.completed
            return []
        obj = json_object(data)
        kind = obj.get("type") or event.event
        if kind == "error" or event.event == "error":
            return [stream_error(obj.get("error", obj), at)]
        if kind == "response.failed":
            response = obj.get("response") or {}
            return [stream_error(response.get("error") or "response.failed", at)]
        if kind in _FINAL:
            return _final(obj.get("response") or {}, at)
        delta = obj.get("delta")
        text = delta if isinstance(delta, str) else ""
        index = int_or_none(obj.get("output_index")) or 0
        if kind == "response.output_item.added":
            item = obj.get("item") or {}
            if item.get("type") == "function_call" and item.get("name"):
                return [ToolCallStart(name=str(item["name"]), index=index, at=at)]
            return []
        if not text:
            return []  # .done events repeat what the deltas said; others carry no token
        if kind == "response.output_text.delta":
            return [ContentDelta(text=text, at=at)]
        if kind == "response.refusal.delta":
            return [ContentDelta(text=text, at=at, kind="refusal")]
        if kind in _REASONING_DELTAS:
            return [ContentDelta(text=text, at=at, kind="reasoning")]
        if kind == "response.function_call_arguments.delta":
            return [ContentDelta(text=text, at=at, kind="tool_call", tool_index=index)]
        return []


def _final(response: dict[str, Any], at: float) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    usage = response.get("usage")
    if isinstance(usage, dict):
        details = usage.get("output_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        out.append(Usage(input_tokens=int_or_none(usage.get("input_tokens")),
                         output_tokens=int_or_none(usage.get("output_tokens")), at=at,
                         reasoning_tokens=int_or_none(reasoning)))
    incomplete = (response.get("incomplete_details") or {}).get("reason")
    calls = any(isinstance(item, dict) and item.get("type") == "function_call"
                for item in response.get("output") or [])
    reason = incomplete or ("tool_calls" if calls else str(response.get("status") or "completed"))
    return [*out, StopReason(reason=str(reason), at=at), Finish(at=at)]
