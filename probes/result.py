"""The typed result every probe returns, and its error classes (docs/architecture.md).

A probe never answers with a bare bool: it fills a ProbeResult with what it measured and,
on failure, one ErrorClass that says why. The runner owns timeouts and turns exceptions
into error classes; probes add their own measurements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class ErrorClass(StrEnum):
    TIMEOUT = "timeout"
    NETWORK = "network"
    AUTH = "auth"  # 401/403: a configuration problem, not a provider outage
    RATE_LIMITED = "rate_limited"  # 429: throttling, reported apart from outages
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    STREAM_ERROR = "stream_error"  # an error object inside a 200 stream
    TRUNCATED = "truncated"  # the stream ended before its finish marker
    MALFORMED = "malformed"  # bytes that are not the dialect's protocol
    EMPTY_RESPONSE = "empty_response"  # a well-formed stream with no content token
    # The monitor's own reading process failed under the probe: says nothing of the
    # provider, so the daemon never stores it (probes/receiver.py).
    MONITOR = "monitor"


# Error classes that say nothing about the provider's availability (docs/scoring.md#definitions).
NOT_AN_OUTAGE = frozenset({ErrorClass.AUTH, ErrorClass.RATE_LIMITED, ErrorClass.MONITOR})


@dataclass
class ProbeResult:
    kind: str
    ok: bool
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_class: ErrorClass | None = None
    error_message: str | None = None  # never carries a secret
    http_status: int | None = None
    connect_seconds: float | None = None
    ttft_seconds: float | None = None
    total_seconds: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_estimated: bool = False
    output_tokens_per_second: float | None = None
    retry_after_seconds: float | None = None
    # Reasoning models (docs/architecture.md, Measurement definitions): the first token
    # that is not reasoning, the tokens spent reasoning, and the answer's own speed.
    first_answer_seconds: float | None = None
    reasoning_tokens: int | None = None
    reasoning_tokens_estimated: bool = False
    answer_tokens_per_second: float | None = None
    # The voice probe's (probes/voice.py): from the user's turn leaving to the arrival of
    # the first audio byte, of the first audio that is not silence, of the first transcript.
    first_audio_seconds: float | None = None
    first_speech_seconds: float | None = None
    first_transcript_seconds: float | None = None
    realtime_factor: float | None = None  # audio seconds per wall second as it arrived
    playback_stall_seconds: float | None = None  # playback's total wait for late audio
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None
    # Per-kind measurements (e.g. inter-token latency, tool_call_valid), JSON-serialisable.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object `factorwatch probe --json` prints."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out["started_at"] = self.started_at.isoformat()
        out["error_class"] = self.error_class.value if self.error_class else None
        out.update(self.extra)
        return out

    @classmethod
    def failure(
        cls, kind: str, error_class: ErrorClass, message: str, **measured: Any
    ) -> ProbeResult:
        return cls(kind=kind, ok=False, error_class=error_class, error_message=message, **measured)
