"""Amazon Bedrock: ConverseStream (`bedrock`) and InvokeModelWithResponseStream for
Anthropic models (`bedrock-invoke`), both answered in the AWS binary event stream.

    POST {base}/model/{modelId}/converse-stream
    POST {base}/model/{modelId}/invoke-with-response-stream

`base_url` is the runtime endpoint of a region (https://bedrock-runtime.us-east-1.amazonaws.com),
`model` a model id or a cross-region inference profile id (us.anthropic.claude-...), URL-encoded
into the path. Requests are signed with SigV4 (probes/aws_auth.py), or carry a Bedrock API key
as a bearer token when the candidate has one.

Converse stream (see the recorded fixtures): messageStart, per content block
contentBlockStart (a tool use names its tool), contentBlockDelta (text, reasoningContent.text,
toolUse.input), contentBlockStop, messageStop (stopReason), then metadata (usage), which is the
last message: its end marker. Errors after the 200 arrive as exception messages.

Invoke stream: each `chunk` message carries `{"bytes": base64}` holding one Anthropic
Messages stream event, read by the Anthropic dialect; message_stop is the end.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import quote

from probes.dialects import (
    Chat,
    ContentDelta,
    Finish,
    HttpRequest,
    ProtocolError,
    StopReason,
    StreamError,
    StreamEvent,
    ToolCallStart,
    Usage,
)
from probes.dialects._common import int_or_none, json_object
from probes.dialects.anthropic import AnthropicDialect
from probes.dialects.bedrock_errors import check_bedrock_response, stream_exception
from probes.eventstream import CONTENT_TYPE, EventStreamMessage
from probes.sse import SSEEvent
from probes.target import Target

INVOKE_ANTHROPIC_VERSION = "bedrock-2023-05-31"  # what Bedrock takes for Anthropic models


class BedrockDialect:
    name = "bedrock"
    framing = "eventstream"
    check_response = staticmethod(check_bedrock_response)

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        chat = chat or Chat.of(target)
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": [{"text": chat.prompt}]}],
            "inferenceConfig": {"maxTokens": chat.max_tokens},
        }
        if chat.tools:
            body["toolConfig"] = {"tools": [
                {"toolSpec": {"name": t.name, "description": t.description,
                              "inputSchema": {"json": dict(t.parameters)}}}
                for t in chat.tools]}
        return HttpRequest(method="POST", url=model_url(target, "converse-stream"),
                           headers=headers(target), json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        at = event.arrived_at
        failed = _failure(event)
        if failed is not None:
            return [failed]
        obj = json_object(event.data) if event.data.strip() else {}
        kind = event.event
        if kind == "contentBlockDelta":
            return _delta(obj, at)
        if kind == "contentBlockStart":
            tool = (obj.get("start") or {}).get("toolUse")
            if isinstance(tool, dict) and tool.get("name"):
                return [ToolCallStart(name=str(tool["name"]), index=_index(obj), at=at)]
            return []
        if kind == "messageStop":
            reason = obj.get("stopReason")
            return [StopReason(reason=str(reason), at=at)] if isinstance(reason, str) else []
        if kind == "metadata":
            usage = obj.get("usage")
            out: list[StreamEvent] = []
            if isinstance(usage, dict):
                out.append(Usage(input_tokens=int_or_none(usage.get("inputTokens")),
                                 output_tokens=int_or_none(usage.get("outputTokens")), at=at))
            return [*out, Finish(at=at)]
        return []  # messageStart, contentBlockStop, and event types added later


class BedrockInvokeDialect:
    """InvokeModelWithResponseStream with an Anthropic Messages body: for the features
    Converse does not carry (Anthropic's own request fields and events)."""

    name = "bedrock-invoke"
    framing = "eventstream"
    check_response = staticmethod(check_bedrock_response)

    def __init__(self) -> None:
        self._anthropic = AnthropicDialect()

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        chat = chat or Chat.of(target)
        body: dict[str, Any] = {
            "anthropic_version": INVOKE_ANTHROPIC_VERSION,
            "max_tokens": chat.max_tokens,
            "messages": [{"role": "user", "content": chat.prompt}],
        }
        if chat.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in chat.tools]
        return HttpRequest(method="POST", url=model_url(target, "invoke-with-response-stream"),
                           headers=headers(target), json=body)

    def parse_event(self, event: SSEEvent) -> list[StreamEvent]:
        failed = _failure(event)
        if failed is not None:
            return [failed]
        if event.event != "chunk":
            return []
        encoded = json_object(event.data).get("bytes")
        if not isinstance(encoded, str):
            raise ProtocolError("Bedrock chunk without its base64 `bytes`")
        try:
            inner = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ProtocolError(f"Bedrock chunk bytes are not base64 UTF-8: {exc}") from None
        kind = str(json_object(inner).get("type") or "message")
        return self._anthropic.parse_event(
            SSEEvent(event=kind, data=inner, id=None, arrived_at=event.arrived_at))


def headers(target: Target) -> dict[str, str]:
    out = {"Accept": CONTENT_TYPE, "Content-Type": "application/json"}
    if target.api_key:  # a Bedrock API key; without one the request is signed (SigV4)
        out["Authorization"] = f"Bearer {target.api_key}"
    return out


def model_url(target: Target, operation: str) -> str:
    # An inference profile id or an ARN holds ':' and '/': one path segment, encoded.
    return f"{target.base_url.rstrip('/')}/model/{quote(target.model, safe='')}/{operation}"


def _failure(event: SSEEvent) -> StreamError | None:
    if isinstance(event, EventStreamMessage) and event.message_type != "event":
        return stream_exception(event.event, event.data, event.arrived_at)
    return None


_DELTA_KINDS: dict[str, Literal["text", "reasoning", "tool_call"]] = {
    "text": "text", "reasoningContent": "reasoning", "toolUse": "tool_call"}


def _delta(obj: dict[str, Any], at: float) -> list[StreamEvent]:
    delta = obj.get("delta") or {}
    for key, kind in _DELTA_KINDS.items():
        value = delta.get(key)
        # reasoningContent.text and toolUse.input hold the text; a reasoning signature or
        # redactedContent is no generated text.
        text = value if key == "text" else (
            value.get("input" if kind == "tool_call" else "text")
            if isinstance(value, dict) else None)
        if isinstance(text, str) and text:  # an empty first delta is not a token
            index = _index(obj) if kind == "tool_call" else None
            return [ContentDelta(text=text, at=at, kind=kind, tool_index=index)]
    return []


def _index(obj: dict[str, Any]) -> int:
    return int_or_none(obj.get("contentBlockIndex")) or 0
