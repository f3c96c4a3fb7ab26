"""How a simulated model behaves: timing distributions, error rates, outages, faults, and
how good its answers are; plus the server-side truth recorded for every request.

Every random choice comes from one generator seeded by (server seed, model, request number),
so a run is reproducible and one model's traffic never shifts another's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from service.sim.realtime import VoiceScript

Fault = Literal[
    "role_only_first",  # an empty first chunk before the first token (OpenAI always sends one)
    "keepalive",  # SSE comments (and Anthropic pings) while the first token is awaited
    "error_in_stream",  # the dialect's error object after the first token, in the 200 stream
    "close_mid_stream",  # the connection drops after two tokens
    "trickle_forever",  # a token every inter_token_seconds, never finishing
    "invalid_json",
    "html_200",  # a proxy's HTML error page with status 200
    "wrong_content_type",  # the SSE body labelled text/plain
    "oversized",  # 16 KB chunks, 8 MB in all
    "no_done",  # everything except the end-of-stream marker
    "no_usage",  # no usage report, as some OpenAI-compatible hosts do
    "empty",  # a well-formed stream without a content token
    "tool_args_invalid_json",  # a tool call whose arguments are cut-off JSON
    "status_401",  # the body echoes the presented key back
    "status_429",  # Retry-After: 7
    "status_500",
    "status_503",
    "redirect",  # 301 to another path
]


@dataclass(frozen=True)
class Outage:
    """A window in which every request fails: from `start` seconds after the server started,
    for `duration` seconds, again every `every` seconds if set. status 0 drops the
    connection without an answer (a network error); otherwise that HTTP status."""

    start: float
    duration: float
    every: float | None = None
    status: int = 503

    def active(self, elapsed: float) -> bool:
        if elapsed < self.start:
            return False
        offset = elapsed - self.start
        if self.every:
            offset %= self.every
        return offset < self.duration


@dataclass
class SimModel:
    ttft_seconds: float = 0.2  # the median when ttft_sigma > 0
    inter_token_seconds: float = 0.02  # the median when itl_sigma > 0
    jitter: float = 0.0  # each delay is also scaled by 1 ± up to this fraction
    output_tokens: int = 16  # of a plain answer, capped by the request's max_tokens
    error_rate: float = 0.0  # share of requests answered with HTTP 500
    fault: Fault | None = None  # on every request
    ttft_sigma: float = 0.0  # lognormal spread of TTFT (0: fixed)
    itl_sigma: float = 0.0  # lognormal spread of each inter-token gap
    error_rates: Mapping[Fault, float] = field(default_factory=dict)  # share per fault
    outages: tuple[Outage, ...] = ()
    tool_accuracy: float = 1.0  # share of tool calls naming the right tool, valid arguments
    recall_rate: float = 1.0  # share of planted long-context facts recalled
    quality_rate: float = 1.0  # share of eval items answered correctly
    # Reasoning tokens written before the answer, one inter-token gap apart (within the
    # request's max_tokens, which reasoning counts against, and its reasoning cap).
    reasoning_tokens: int = 0
    # A request asking fewer output tokens than this is refused with a 400, as reasoning
    # models refuse a tiny max_tokens (0: any is accepted).
    min_max_tokens: int = 0
    voice: VoiceScript | None = None  # its spoken answer on the realtime APIs (realtime.py)

    def draw_fault(self, rng: random.Random) -> Fault | None:
        """This request's fault: the fixed one, or one drawn from error_rate/error_rates.
        The first draw is error_rate's alone, so adding other rates does not shift it."""
        if rng.random() < self.error_rate:
            return "status_500"
        draw, edge = rng.random(), 0.0
        for fault, rate in sorted(self.error_rates.items()):
            edge += rate
            if draw < edge:
                return fault
        return self.fault

    def ttft(self, rng: random.Random) -> float:
        return self._delay(self.ttft_seconds, self.ttft_sigma, rng)

    def gap(self, rng: random.Random) -> float:
        return self._delay(self.inter_token_seconds, self.itl_sigma, rng)

    def _delay(self, median: float, sigma: float, rng: random.Random) -> float:
        value = median
        if sigma > 0 and median > 0:
            value = rng.lognormvariate(math.log(median), sigma)
        if self.jitter:
            value *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, value)


@dataclass
class SimRecord:
    """Server-side truth about one chat request (perf_counter times)."""

    model: str
    connection: int  # requests on one keep-alive connection share this number
    received_at: float  # the kernel received the request's last byte (else: it was read)
    status: int = 200
    dialect: str = "openai"
    outcome: str = "ok"  # "ok", the fault it was given, or "outage"
    first_content_at: float | None = None  # just before the first content chunk was written
    last_content_at: float | None = None
    content_tokens: int = 0
    # Realtime turns (service/sim/realtime.py): first_content_at is the first audio message.
    first_speech_at: float | None = None  # just before the first message with speech
    first_transcript_at: float | None = None
    token_times: list[float] = field(default_factory=list, repr=False)
    # Reasoning models: content_tokens and first_content_at count reasoning too (as TTFT
    # does); these tell the answer apart (first_answer_seconds).
    first_reasoning_at: float | None = None
    first_answer_at: float | None = None
    reasoning_tokens: int = 0

    def token_written(self, at: float, reasoning: bool = False) -> None:
        if self.first_content_at is None:
            self.first_content_at = at
        self.last_content_at = at
        self.content_tokens += 1
        self.token_times.append(at)
        if reasoning:
            self.reasoning_tokens += 1
            if self.first_reasoning_at is None:
                self.first_reasoning_at = at
        elif self.first_answer_at is None:
            self.first_answer_at = at
