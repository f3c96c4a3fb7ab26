"""OpenAI Chat Completions streaming, also spoken by most OpenAI-compatible hosts.

Stream shape (see the recorded fixtures): a role-only first chunk whose `content` is ""
or null, content / refusal / tool-call argument deltas, a chunk carrying finish_reason,
then (with stream_options.include_usage) a `choices: []` chunk carrying usage, then
`data: [DONE]`. An error inside a 200 stream arrives as `{"error": {...}}`.
"""

from __future__ import annotations

import json
from typing import Any

from probes.dialects import (
    ContentDelta,
    Finish,
    HttpRequest,
    ProtocolError,
    StopReason,
    StreamError,
    StreamEvent,
    Usage,
)
from probes.sse import SSEEvent
from probes.target import Target


class OpenAIDialect:
    name = "openai"

    def build_request(self, target: Target) -> HttpRequest:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:  # local OpenAI-compatible servers often need none
            headers["Authorization"] = f"Bearer {target.api_key}"
        body: dict[str, Any] = {
            "model": target.model,
            "messages": [{"role": "user", "content": target.prompt}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": target.max_tokens,
        }
        url = target.base_url.rstrip("/") + "/chat/completions"
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        data = event.data.strip()
        if data == "[DONE]":
            return [Finish(at=at)]
        if not data:
            return []
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ProtocolError(f"invalid JSON in SSE data: {exc}") from None
        if not isinstance(obj, dict):
            raise ProtocolError(f"SSE data is a JSON {type(obj).__name__}, not an object")
        if "error" in obj or event.event == "error":
            return [_stream_error(obj.get("error", obj), at)]
        out: list[StreamEvent] = []
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict):
                out.extend(_choice_events(choice, at))
        usage = obj.get("usage")
        if isinstance(usage, dict):  # usually the final `choices: []` chunk
            out.append(
                Usage(
                    input_tokens=_int_or_none(usage.get("prompt_tokens")),
                    output_tokens=_int_or_none(usage.get("completion_tokens")),
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
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        if isinstance(arguments := function.get("arguments"), str) and arguments:
            index = call.get("index")
            out.append(
                ContentDelta(
                    text=arguments,
                    at=at,
                    kind="tool_call",
                    tool_index=index if isinstance(index, int) else None,
                )
            )
    if isinstance(reason := choice.get("finish_reason"), str):
        out.append(StopReason(reason=reason, at=at))
    return out


def _stream_error(error: Any, at: float) -> StreamError:
    if isinstance(error, dict):
        message = str(error.get("message") or json.dumps(error)[:300])
        code = error.get("code") or error.get("type")
        return StreamError(message=message, code=str(code) if code else None, at=at)
    return StreamError(message=str(error)[:300], code=None, at=at)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
