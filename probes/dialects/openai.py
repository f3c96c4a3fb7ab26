"""OpenAI Chat Completions streaming, also spoken by most OpenAI-compatible hosts.

Stream shape (see the recorded fixtures): a role-only first chunk whose `content` is ""
or null, content / refusal / tool-call argument deltas, a chunk carrying finish_reason,
then (with stream_options.include_usage) a `choices: []` chunk carrying usage, then
`data: [DONE]`. An error inside a 200 stream arrives as `{"error": {...}}`.
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
from probes.sse import SSEEvent
from probes.target import Target


def chat_body(chat: Chat) -> dict[str, Any]:
    """The Chat Completions body without `model` (Azure names the deployment in the URL)."""
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": chat.prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": chat.max_tokens,
    }
    if chat.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                },
            }
            for tool in chat.tools
        ]
    return body


class OpenAIDialect:
    name = "openai"

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:  # local OpenAI-compatible servers often need none
            headers["Authorization"] = f"Bearer {target.api_key}"
        body = {"model": target.model, **chat_body(chat or Chat.of(target))}
        url = target.base_url.rstrip("/") + "/chat/completions"
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        data = event.data.strip()
        if data == "[DONE]":
            return [Finish(at=at)]
        if not data:
            return []
        obj = json_object(data)
        if "error" in obj or event.event == "error":
            return [stream_error(obj.get("error", obj), at)]
        out: list[StreamEvent] = []
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict):
                out.extend(_choice_events(choice, at))
        usage = obj.get("usage")
        if isinstance(usage, dict):  # usually the final `choices: []` chunk
            out.append(
                Usage(
                    input_tokens=int_or_none(usage.get("prompt_tokens")),
                    output_tokens=int_or_none(usage.get("completion_tokens")),
                    at=at,
                )
            )
        return out


def _choice_events(choice: dict[str, Any], at: float) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    delta = choice.get("delta") or {}
    # An empty string (the role-only first chunk) is not a token: only non-empty text counts.
    if isinstance(content := delta.get("content"), str) and content:
        out.append(ContentDelta(text=content, at=at))
    if isinstance(refusal := delta.get("refusal"), str) and refusal:
        out.append(ContentDelta(text=refusal, at=at, kind="refusal"))
    # Compatible hosts serving reasoning models (DeepSeek, vLLM) stream these first; without
    # them a 16-token probe of such a model would look like an empty response.
    for key in ("reasoning_content", "reasoning"):
        if isinstance(reasoning := delta.get(key), str) and reasoning:
            out.append(ContentDelta(text=reasoning, at=at, kind="reasoning"))
    for position, call in enumerate(delta.get("tool_calls") or []):
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        index = call.get("index")
        index = index if isinstance(index, int) else position
        if isinstance(name := function.get("name"), str) and name:  # first delta of a call
            out.append(ToolCallStart(name=name, index=index, at=at))
        if isinstance(arguments := function.get("arguments"), str) and arguments:
            out.append(ContentDelta(text=arguments, at=at, kind="tool_call", tool_index=index))
    if isinstance(reason := choice.get("finish_reason"), str):
        out.append(StopReason(reason=reason, at=at))
    return out
