"""Realtime voice protocols over WebSocket: what the voice probe sends and what it reads.

One module per protocol (openai.py: OpenAI Realtime, also on Azure OpenAI; gemini.py:
Gemini Live), each turning server messages into the few events the probe times. The
protocol is chosen by the candidate's `api`: a realtime model is reached through the same
provider API family as its text models (docs/architecture.md, Voice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from probes.target import Target


@dataclass(frozen=True)
class Ready:
    """The session is configured: the turn may be sent."""


@dataclass(frozen=True)
class Audio:
    pcm: bytes  # PCM16 little-endian mono
    rate: int  # samples per second


@dataclass(frozen=True)
class Transcript:
    text: str  # a piece of the spoken answer's transcript (or of a text answer)


@dataclass(frozen=True)
class VoiceUsage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None


@dataclass(frozen=True)
class TurnDone:
    """The answer is complete (the end-of-turn marker), with its usage if reported."""

    usage: VoiceUsage | None = None
    status: str = "completed"  # OpenAI: completed | incomplete (cut by max_output_tokens)


@dataclass(frozen=True)
class UsageReport:
    usage: VoiceUsage  # reported apart from the end of the turn (Gemini may)


@dataclass(frozen=True)
class ServerError:
    message: str
    code: str | None = None


VoiceEvent = Ready | Audio | Transcript | TurnDone | UsageReport | ServerError


@dataclass(frozen=True)
class Handshake:
    url: str  # http(s): the upgrade is an HTTP/1.1 GET
    headers: dict[str, str]


class RealtimeAPI(Protocol):
    name: str

    def handshake(self, target: Target) -> Handshake: ...

    def setup(self, target: Target, max_tokens: int) -> dict[str, Any]:
        """The message that configures the session; the server answers with Ready."""
        ...

    def turn(self, target: Target, prompt: str, max_tokens: int) -> list[dict[str, Any]]:
        """The messages of one user turn that ask for a spoken answer."""
        ...

    def parse(self, message: dict[str, Any]) -> list[VoiceEvent]:
        """The events in one server message (unknown message types: none)."""
        ...


def realtime_api(api: str) -> RealtimeAPI | None:
    """The realtime protocol of a candidate's `api` (None: this API has none here)."""
    from probes.realtime import gemini, openai  # late: they import this module

    apis: dict[str, RealtimeAPI] = {"openai": openai.OPENAI, "azure-openai": openai.AZURE,
                                    "gemini": gemini.GEMINI}
    return apis.get(api)


REALTIME_APIS = ("openai", "azure-openai", "gemini")
