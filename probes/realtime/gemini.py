"""Gemini Live: BidiGenerateContent over WebSocket.

    GET {origin}/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent
        x-goog-api-key: KEY   ({version}: the last part of base_url's path, e.g. v1beta)

The probe sends `setup` (the model, AUDIO out, output transcription) and waits for
setupComplete; then `clientContent` with the prompt as a complete user turn. The answer
comes as serverContent.modelTurn.parts[].inlineData (base64 PCM16, `audio/pcm;rate=24000`),
serverContent.outputTranscription.text, and serverContent.turnComplete, with usageMetadata
(audio tokens in promptTokensDetails / responseTokensDetails by modality). Text parts
marked `thought: true` are reasoning, not the answer. Errors come as close frames (1007,
1008, 1011) with a reason. Shapes: tests/fixtures/real/realtime/ (recorded sessions).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from probes.dialects import ProtocolError
from probes.realtime import (
    Audio,
    Handshake,
    Ready,
    Transcript,
    TurnDone,
    UsageReport,
    VoiceEvent,
    VoiceUsage,
)
from probes.target import Target

SERVICE = "google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
INSTRUCTIONS = "Answer in one short spoken sentence."
_RATE = re.compile(r"rate=(\d+)")


class GeminiLive:
    name = "gemini"

    def handshake(self, target: Target) -> Handshake:
        parts = urlsplit(target.base_url)
        version = parts.path.rstrip("/").rsplit("/", 1)[-1] or "v1beta"
        origin = parts._replace(path="", query="", fragment="").geturl()
        url = f"{origin}/ws/{SERVICE.format(version=version)}"
        return Handshake(url, {"x-goog-api-key": target.api_key} if target.api_key else {})

    def setup(self, target: Target, max_tokens: int) -> dict[str, Any]:
        model = target.model if target.model.startswith("models/") else f"models/{target.model}"
        return {"setup": {
            "model": model,
            "generationConfig": {"responseModalities": ["AUDIO"], "maxOutputTokens": max_tokens},
            "systemInstruction": {"role": "user", "parts": [{"text": INSTRUCTIONS}]},
            "outputAudioTranscription": {}}}

    def turn(self, target: Target, prompt: str, max_tokens: int) -> list[dict[str, Any]]:
        return [{"clientContent": {"turns": [{"role": "user", "parts": [{"text": prompt}]}],
                                   "turnComplete": True}}]

    def parse(self, message: dict[str, Any]) -> list[VoiceEvent]:
        events: list[VoiceEvent] = []
        if "setupComplete" in message:
            events.append(Ready())
        content = message.get("serverContent") or {}
        for part in (content.get("modelTurn") or {}).get("parts") or []:
            data = part.get("inlineData")
            if data and str(data.get("mimeType", "")).startswith("audio/pcm"):
                events.append(Audio(_decode(data.get("data") or ""), _rate(data["mimeType"])))
            elif part.get("text") and not part.get("thought"):
                events.append(Transcript(str(part["text"])))  # a text answer
        transcription = content.get("outputTranscription") or {}
        if transcription.get("text"):
            events.append(Transcript(str(transcription["text"])))
        usage = _usage(message.get("usageMetadata"))
        if content.get("turnComplete"):
            events.append(TurnDone(usage))
        elif usage is not None:
            events.append(UsageReport(usage))
        return events


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"inlineData: audio that is not base64: {exc}") from exc


def _rate(mime_type: str) -> int:
    found = _RATE.search(mime_type)
    return int(found.group(1)) if found else 24000


def _by_modality(details: list[dict[str, Any]] | None, modality: str) -> int | None:
    counts = [d.get("tokenCount") or 0 for d in details or [] if d.get("modality") == modality]
    return sum(counts) if counts else None


def _usage(usage: dict[str, Any] | None) -> VoiceUsage | None:
    if not usage:
        return None
    output = usage.get("responseTokenCount")
    if output is not None and usage.get("thoughtsTokenCount"):
        output += usage["thoughtsTokenCount"]  # thoughts are billed as output
    return VoiceUsage(
        input_tokens=usage.get("promptTokenCount"), output_tokens=output,
        audio_input_tokens=_by_modality(usage.get("promptTokensDetails"), "AUDIO"),
        audio_output_tokens=_by_modality(usage.get("responseTokensDetails"), "AUDIO"))


GEMINI = GeminiLive()
