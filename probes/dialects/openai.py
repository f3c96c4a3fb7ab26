"""OpenAI Chat Completions streaming, also spoken by most OpenAI-compatible hosts.

Stream shape (see the recorded fixtures): a role-only first chunk whose `content` is ""
or null, content / refusal / tool-call argument deltas, a chunk carrying finish_reason,
then (with stream_options.include_usage) a `choices: []` chunk carrying usage, then
`data: [DONE]`. An error inside a 200 stream arrives as `{"error": {...}}`.

Reasoning: DeepSeek streams `reasoning_content`, vLLM and OpenRouter `reasoning`, and
OpenRouter also `reasoning_details` (the same text again, or only there); usage counts it
in `completion_tokens_details.reasoning_tokens`. A reasoning cap is `reasoning_effort`.
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

REASONING_KEYS = frozenset({"effort"})  # of the `reasoning` probe option


def with_reasoning(body: dict[str, Any], target: Target) -> dict[str, Any]:
    """The body with the candidate's reasoning cap, as Chat Completions takes it."""
    cap = reasoning_cap(target)
    if cap is not None and cap.effort is not None:
        body["reasoning_effort"] = cap.effort
    return body


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
    reasoning_keys = REASONING_KEYS

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:  # local OpenAI-compatible servers often need none
            headers["Authorization"] = f"Bearer {target.api_key}"
        body = with_reasoning({"model": target.model, **chat_body(chat or Chat.of(target))},
                              target)
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
            details = usage.get("completion_tokens_details")
            reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
            out.append(
                Usage(
                    input_tokens=int_or_none(usage.get("prompt_tokens")),
                    output_tokens=int_or_none(usage.get("completion_tokens")),
                    at=at,
                    # OpenRouter also puts it at the top level of usage
                    reasoning_tokens=int_or_none(reasoning)
                    if reasoning is not None else int_or_none(usage.get("reasoning_tokens")),
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
    texts = [r for key in ("reasoning_content", "reasoning")
             if isinstance(r := delta.get(key), str) and r]
    if not texts:  # OpenRouter repeats `reasoning` here; some of its providers send only this
        texts = _reasoning_details(delta.get("reasoning_details"))
    for reasoning in texts:
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


def _reasoning_details(details: Any) -> list[str]:
    """OpenRouter's reasoning_details: reasoning.text / reasoning.summary carry text,
    reasoning.encrypted carries none that can be read (it arrived all the same)."""
    out: list[str] = []
    for item in details if isinstance(details, list) else []:
        if not isinstance(item, dict):
            continue
        text = item.get("text") if item.get("type") == "reasoning.text" else item.get("summary")
        if isinstance(text, str) and text:
            out.append(text)
        elif item.get("type") == "reasoning.encrypted" and item.get("data"):
            out.append("")
    return out
