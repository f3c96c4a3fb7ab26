"""OpenAI Realtime (GA event names) over WebSocket, and the same on Azure OpenAI.

    GET {base_url}/realtime?model=M            Authorization: Bearer KEY  (OpenAI)
    GET {resource}/openai/v1/realtime?model=D  api-key: KEY               (Azure OpenAI, GA)

The probe sends session.update (audio out, PCM16 at 24 kHz, no turn detection: the turn
is ours) and waits for session.updated; then a conversation item with the prompt as
input_text and response.create. The answer comes as response.output_audio.delta (base64
PCM16), response.output_audio_transcript.delta and response.done with usage (audio tokens
in input_token_details / output_token_details). The beta names (response.audio.delta,
response.audio_transcript.delta), still spoken by Azure AI Voice Live, are read too.
Shapes: tests/fixtures/real/realtime/ (recorded sessions).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote, urlsplit

from probes.dialects import ProtocolError
from probes.realtime import (
    Audio,
    Handshake,
    Ready,
    ServerError,
    Transcript,
    TurnDone,
    VoiceEvent,
    VoiceUsage,
)
from probes.target import Target

RATE = 24000
INSTRUCTIONS = "Answer in one short spoken sentence."
_AUDIO = ("response.output_audio.delta", "response.audio.delta")
_TRANSCRIPT = ("response.output_audio_transcript.delta", "response.audio_transcript.delta",
               "response.output_text.delta", "response.text.delta")


class OpenAIRealtime:
    name = "openai"

    def handshake(self, target: Target) -> Handshake:
        url = f"{target.base_url.rstrip('/')}/realtime?model={quote(target.model, safe='-._~')}"
        headers = {"Authorization": f"Bearer {target.api_key}"} if target.api_key else {}
        return Handshake(url, headers)

    def setup(self, target: Target, max_tokens: int) -> dict[str, Any]:
        return {"type": "session.update", "session": {
            "type": "realtime", "instructions": INSTRUCTIONS, "output_modalities": ["audio"],
            "max_output_tokens": max_tokens,
            "audio": {"input": {"turn_detection": None},
                      "output": {"format": {"type": "audio/pcm", "rate": RATE}}}}}

    def turn(self, target: Target, prompt: str, max_tokens: int) -> list[dict[str, Any]]:
        item = {"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": prompt}]}
        return [{"type": "conversation.item.create", "item": item},
                {"type": "response.create", "response": {"max_output_tokens": max_tokens}}]

    def parse(self, message: dict[str, Any]) -> list[VoiceEvent]:
        kind = message.get("type")
        if kind == "session.updated":
            return [Ready()]
        if kind in _AUDIO:
            try:
                return [Audio(base64.b64decode(message.get("delta") or "", validate=True), RATE)]
            except (binascii.Error, ValueError) as exc:
                raise ProtocolError(f"{kind}: audio that is not base64: {exc}") from exc
        if kind in _TRANSCRIPT:
            return [Transcript(str(message.get("delta") or ""))]
        if kind == "response.done":
            return _done(message.get("response") or {})
        if kind == "error":
            error = message.get("error") or {}
            return [ServerError(str(error.get("message") or "error event"),
                                error.get("code") or error.get("type"))]
        return []


class AzureRealtime(OpenAIRealtime):
    name = "azure-openai"

    def handshake(self, target: Target) -> Handshake:
        parts = urlsplit(target.base_url)
        base = parts._replace(path=parts.path.rstrip("/"), query="", fragment="").geturl()
        url = f"{base}/openai/v1/realtime?model={quote(target.model, safe='-._~')}"
        return Handshake(url, {"api-key": target.api_key} if target.api_key else {})


def _done(response: dict[str, Any]) -> list[VoiceEvent]:
    status = str(response.get("status") or "completed")
    if status in ("failed", "cancelled"):
        details = response.get("status_details") or {}
        error = details.get("error") or {}
        message = error.get("message") or details.get("reason") or f"response {status}"
        return [ServerError(str(message), error.get("code") or error.get("type") or status)]
    return [TurnDone(_usage(response.get("usage")), status)]


def _usage(usage: dict[str, Any] | None) -> VoiceUsage | None:
    if not usage:
        return None
    into = usage.get("input_token_details") or {}
    out = usage.get("output_token_details") or {}
    return VoiceUsage(input_tokens=usage.get("input_tokens"),
                      output_tokens=usage.get("output_tokens"),
                      audio_input_tokens=into.get("audio_tokens"),
                      audio_output_tokens=out.get("audio_tokens"))


OPENAI = OpenAIRealtime()
AZURE = AzureRealtime()
