"""Gemini `streamGenerateContent?alt=sse` (Google AI Studio; the same body on Vertex AI).

Each `data:` is a GenerateContentResponse: candidates[0].content.parts (text, a thought
when `thought` is true, or a whole functionCall), cumulative usageMetadata, and on the last
chunk finishReason. There is no end marker after it: the chunk with finishReason is the
end. The key travels in the x-goog-api-key header, never in the URL, so it cannot leak
into access logs or error messages that quote the URL.

Thinking arrives as parts with `thought: true` before the answer's parts; usageMetadata
counts it apart (thoughtsTokenCount, not in candidatesTokenCount). A reasoning cap is
generationConfig.thinkingConfig: `thinkingBudget` (0 turns thinking off on models that
allow it; the budget is added to maxOutputTokens, which thinking counts against) and
`thinkingLevel` for an effort.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

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


class GeminiDialect:
    name = "gemini"
    reasoning_keys = frozenset({"effort", "budget_tokens"})  # of the `reasoning` option

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        chat = chat or Chat.of(target)
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": chat.prompt}]}],
            "generationConfig": {"maxOutputTokens": chat.max_tokens},
        }
        if chat.tools:
            # parametersJsonSchema takes full JSON Schema; `parameters` takes only an
            # OpenAPI subset and refuses keys such as additionalProperties.
            declarations = [
                {"name": t.name, "description": t.description,
                 "parametersJsonSchema": dict(t.parameters)}
                for t in chat.tools
            ]
            body["tools"] = [{"functionDeclarations": declarations}]
        _cap_thinking(body["generationConfig"], target)
        model = quote(target.model.removeprefix("models/"), safe="-._~/")
        url = f"{target.base_url.rstrip('/')}/models/{model}:streamGenerateContent?alt=sse"
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        data = event.data.strip()
        if not data:
            return []
        obj = json_object(data)
        if "error" in obj or event.event == "error":
            return [stream_error(obj.get("error", obj), at)]
        out: list[StreamEvent] = []
        candidates = obj.get("candidates") or []
        candidate = candidates[0] if candidates and isinstance(candidates[0], dict) else {}
        parts = (candidate.get("content") or {}).get("parts") or []
        for index, part in enumerate(p for p in parts if isinstance(p, dict)):
            out.extend(_part_events(part, index, at))
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict):
            out.append(_usage(usage, at))
        reason = candidate.get("finishReason")
        blocked = (obj.get("promptFeedback") or {}).get("blockReason")
        if isinstance(reason, str) or isinstance(blocked, str):
            out += [StopReason(reason=str(reason or f"blocked: {blocked}"), at=at), Finish(at=at)]
        return out


def _cap_thinking(config: dict[str, Any], target: Target) -> None:
    cap = reasoning_cap(target)
    if cap is None:
        return
    thinking: dict[str, Any] = {}
    if cap.effort is not None:
        thinking["thinkingLevel"] = cap.effort
    if cap.budget_tokens is not None:
        thinking["thinkingBudget"] = cap.budget_tokens
        config["maxOutputTokens"] += cap.budget_tokens
    config["thinkingConfig"] = thinking


def _part_events(part: dict[str, Any], index: int, at: float) -> list[StreamEvent]:
    call = part.get("functionCall")
    if isinstance(call, dict):
        # Gemini sends a call whole: its name and all of its arguments in one part.
        args = call.get("args")
        arguments = json.dumps(args if args is not None else {})
        return [
            ToolCallStart(name=str(call.get("name") or ""), index=index, at=at),
            ContentDelta(text=arguments, at=at, kind="tool_call", tool_index=index),
        ]
    text = part.get("text")
    if not isinstance(text, str) or not text:  # an empty first part is not a token
        return []
    return [ContentDelta(text=text, at=at, kind="reasoning" if part.get("thought") else "text")]


def _usage(usage: dict[str, Any], at: float) -> Usage:
    # Thinking tokens are billed as output, as OpenAI's completion_tokens include reasoning.
    output = int_or_none(usage.get("candidatesTokenCount"))
    thoughts = int_or_none(usage.get("thoughtsTokenCount"))
    if output is not None or thoughts is not None:
        output = (output or 0) + (thoughts or 0)
    return Usage(input_tokens=int_or_none(usage.get("promptTokenCount")), output_tokens=output,
                 at=at, reasoning_tokens=thoughts)
