"""The `voice` probe: one spoken answer from a realtime API, timed as a caller hears it.

It opens a WebSocket through the probe client (probes/websocket.py: frames keep their
arrival stamps), configures the session, sends one user turn (the prompt as text: both
APIs take a typed turn and answer it in speech) and reads the answer to its end-of-turn
marker. From the moment the turn left (docs/architecture.md, Voice):

    first_audio_seconds       the first audio byte arrived
    first_speech_seconds      the first audio that is not silence arrived (probes/pcm.py)
    first_transcript_seconds  the first piece of the answer's transcript arrived
    ttft_seconds              None: a voice answer has no first token; see the three above
    realtime_factor           audio seconds per wall second while audio arrived (< 1: slower
                              than it plays)
    playback_stall_seconds    how long playback, started at the first audio byte, would
                              wait for audio that had not yet come
    total_seconds             from the connect to the end of the turn (connect included)

The protocol is the candidate's `api`'s (probes/realtime/): openai (OpenAI Realtime),
azure-openai (the same on Azure), gemini (Gemini Live).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import httpx

from probes.auth import CredentialsError
from probes.dialects import HttpRequest, ProtocolError
from probes.http_errors import Failure
from probes.pcm import SpeechDetector, duration_seconds
from probes.realtime import (
    Audio,
    Ready,
    RealtimeAPI,
    ServerError,
    Transcript,
    TurnDone,
    UsageReport,
    VoiceUsage,
    realtime_api,
)
from probes.receiver import reader_failed
from probes.result import ErrorClass, ProbeResult
from probes.stream import LATE_READ_SECONDS
from probes.target import Target
from probes.websocket import BadFrames, Closed, Message, WebSocket, connect

KIND = "voice"
OPTIONS = frozenset({"prompt"})
PROMPT = "Say hello and tell me the time of day you like best."
# Audio tokens are ~10 per second of speech (OpenAI, Gemini): 200 is a short sentence.
DEFAULT_MAX_TOKENS = 200


@dataclass
class _Turn:
    """What arrived for the turn, each moment a perf_counter arrival time."""

    sent_at: float = 0.0
    first_audio_at: float | None = None
    first_speech_at: float | None = None
    first_transcript_at: float | None = None
    done_at: float | None = None
    audio: list[tuple[float, float]] = field(default_factory=list)  # (arrival, seconds)
    detector: SpeechDetector | None = None
    transcript: list[str] = field(default_factory=list)
    usage: VoiceUsage | None = None
    status: str | None = None
    messages: int = 0  # read since the turn was sent
    # first_audio/first_speech/first_transcript -> (the message that brought it, how late
    # the reading process made its read)
    reads: dict[str, tuple[int, float | None]] = field(default_factory=dict)

    def firsts(self) -> dict[str, float | None]:
        return {"first_audio": self.first_audio_at, "first_speech": self.first_speech_at,
                "first_transcript": self.first_transcript_at}

    def timing_unreliable(self) -> tuple[float | None, bool]:
        """(the worst lateness of the reads that brought a timed moment, whether one read
        brought two of them in different messages while late: the rule of probes/stream.py,
        where the earlier moment then carries the later one's stamp)."""
        firsts = {name: at for name, at in self.firsts().items() if at is not None}
        lates = [late for _, late in self.reads.values() if late is not None]
        unreliable = any(
            firsts[a] == firsts[b] and self.reads[a][0] != self.reads[b][0]
            and max(self.reads[a][1] or 0.0, self.reads[b][1] or 0.0) > LATE_READ_SECONDS
            for a in firsts for b in firsts if a < b and a in self.reads and b in self.reads)
        return (max(lates) if lates else None), unreliable

    def add_audio(self, event: Audio, at: float) -> None:
        if not event.pcm:
            return
        if self.detector is None:
            self.detector = SpeechDetector(event.rate)
        if self.first_audio_at is None:
            self.first_audio_at = at
        if self.detector.feed(event.pcm):
            self.first_speech_at = at
        self.audio.append((at, duration_seconds(len(event.pcm), event.rate)))

    def end(self, at: float) -> None:
        self.done_at = at
        if self.detector is not None and self.detector.finish():
            self.first_speech_at = self.audio[-1][0]


async def probe(target: Target, client: httpx.AsyncClient) -> ProbeResult:
    api = realtime_api(target.api)
    if api is None:
        return ProbeResult.failure(KIND, ErrorClass.MALFORMED,
                                   f"the voice probe does not speak api {target.api!r}: "
                                   "use openai, azure-openai or gemini")
    prompt = str(target.option("prompt", PROMPT))
    max_tokens = int(target.option("max_tokens", DEFAULT_MAX_TOKENS))
    handshake = api.handshake(target)
    headers = dict(handshake.headers)
    if target.credentials is not None:  # e.g. an Entra ID token: before the clock starts
        try:
            headers.update(await target.credentials.authorize(
                HttpRequest("GET", handshake.url, headers, {}), b""))
        except CredentialsError as exc:
            return ProbeResult.failure(KIND, ErrorClass.AUTH, f"no credentials: {exc}")
    started = perf_counter()
    turn, phases = _Turn(), _Connect()
    async with connect(client, handshake.url, headers, target.api_key,
                       {"trace": phases.trace}) as (response, socket):
        if not isinstance(socket, WebSocket):
            return _result(turn, started, response.status_code, socket, phases)
        failure = await _session(api, socket, target, prompt, max_tokens, turn)
        if failure is None:
            await socket.close()
    return _result(turn, started, 101, failure, phases)


class _Connect:
    """httpcore's trace: the connect phase (TCP and TLS), 0.0 on a reused connection."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.seconds: float | None = 0.0

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith(".connect_tcp.started"):
            self.started = perf_counter()
        elif name.endswith((".connect_tcp.complete", ".start_tls.complete")) and self.started:
            self.seconds = perf_counter() - self.started


async def _session(api: RealtimeAPI, socket: WebSocket, target: Target, prompt: str,
                   max_tokens: int, turn: _Turn) -> Failure | None:
    try:
        await socket.send_json(api.setup(target, max_tokens))
        while not any(isinstance(e, Ready) for e in await _events(api, socket, turn)):
            pass
        before = await socket.send_json(*api.turn(target, prompt, max_tokens))
        turn.sent_at = before
        while turn.done_at is None:
            await _events(api, socket, turn)
            turn.sent_at = socket.sent_at(before)  # the stamped send, once it happened
    except Closed as exc:
        return _closed(exc, turn)
    except (BadFrames, ProtocolError, ValueError) as exc:
        return ErrorClass.MALFORMED, str(exc), None
    except _Refused as exc:
        return exc.failure
    if not turn.audio:
        return ErrorClass.EMPTY_RESPONSE, "the turn ended without audio", None
    if turn.first_speech_at is None:  # silence is not an answer
        return ErrorClass.EMPTY_RESPONSE, "the turn's audio was silent throughout", None
    return None


class _Refused(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure[1])
        self.failure = failure


async def _events(api: RealtimeAPI, socket: WebSocket, turn: _Turn) -> list[Any]:
    """The events of the next message, applied to the turn."""
    message: Message = await socket.receive()
    try:
        document = json.loads(message.text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"a message that is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ProtocolError("a message that is not a JSON object")
    events = api.parse(document)
    at = message.arrived_at
    before = turn.firsts()
    turn.messages += 1
    for event in events:
        if isinstance(event, Audio):
            turn.add_audio(event, at)
        elif isinstance(event, Transcript) and event.text and turn.first_transcript_at is None:
            turn.first_transcript_at = at
        if isinstance(event, Transcript):
            turn.transcript.append(event.text)
        elif isinstance(event, UsageReport):
            turn.usage = event.usage
        elif isinstance(event, TurnDone):
            turn.usage, turn.status = event.usage or turn.usage, event.status
            turn.end(at)
        elif isinstance(event, ServerError):
            raise _Refused(_server_error(event))
    for name, was in before.items():
        if was is None and turn.firsts()[name] is not None:
            turn.reads[name] = (turn.messages, message.read_late)
    return events


def _server_error(event: ServerError) -> Failure:
    code = (event.code or "").lower()
    if "rate_limit" in code or "quota" in code:
        error_class = ErrorClass.RATE_LIMITED
    elif "api_key" in code or "auth" in code or "permission" in code:
        error_class = ErrorClass.AUTH
    else:
        error_class = ErrorClass.STREAM_ERROR
    said = f" ({event.code})" if event.code else ""
    return error_class, f"error event{said}: {event.message}", None


def close_class(code: int | None, reason: str = "") -> ErrorClass:
    """The error class of a WebSocket that ended before the turn did (docs/architecture.md,
    Error classes): by its close code, None for a drop without a close frame."""
    if code is None or code == 1006:
        return ErrorClass.TRUNCATED  # dropped
    if code == 1008:  # policy: a bad key, or (Gemini) a spent quota or an unknown model
        said = reason.lower()
        if any(word in said for word in ("quota", "rate limit", "exhausted")):
            return ErrorClass.RATE_LIMITED
        return ErrorClass.HTTP_4XX if "not found" in said else ErrorClass.AUTH
    if code in (1011, 1012, 1013, 1014):  # internal error, restart, overloaded, bad gateway
        return ErrorClass.HTTP_5XX
    if code in (1003, 1007, 1009, 1010):  # the server refused what we sent
        return ErrorClass.HTTP_4XX
    if code == 1002:
        return ErrorClass.MALFORMED
    if code in (1000, 1001):
        return ErrorClass.TRUNCATED  # a clean close, but before the turn ended
    return ErrorClass.STREAM_ERROR  # an application's own code (4000-4999)


def _closed(exc: Closed, turn: _Turn) -> Failure:
    if reader_failed(exc):
        return ErrorClass.MONITOR, f"the probe reading process exited: {exc}", None
    where = "before the turn ended" if turn.sent_at else "before the session was ready"
    return close_class(exc.code, exc.reason), f"{where}: {exc}", None


def _result(turn: _Turn, started: float, status: int, failure: Failure | None,
            phases: _Connect) -> ProbeResult:
    measured: dict[str, Any] = {"http_status": status, "connect_seconds": phases.seconds,
                                **_timings(turn, started)}
    if failure is not None:
        error_class, message, retry_after = failure
        return ProbeResult.failure(KIND, error_class, message, retry_after_seconds=retry_after,
                                   **measured)
    return ProbeResult(kind=KIND, ok=True, **measured)


def _since(at: float | None, sent_at: float) -> float | None:
    return at - sent_at if at is not None and sent_at else None


def _timings(turn: _Turn, started: float) -> dict[str, Any]:
    usage = turn.usage or VoiceUsage()
    extra: dict[str, Any] = {
        "audio_seconds": round(sum(seconds for _, seconds in turn.audio), 6),
        "leading_silence_seconds": (
            round(turn.detector.speech_at_sample / turn.detector.rate, 6)
            if turn.detector and turn.detector.speech_at_sample is not None else None),
        "turn_seconds": _since(turn.done_at, turn.sent_at),
        "transcript": "".join(turn.transcript)[:200] or None,
        "finish_reason": turn.status,
    }
    factor, stall = _playback(turn.audio)
    extra["playback_max_lag_seconds"] = _max_lag(turn.audio)
    worst, unreliable = turn.timing_unreliable()
    if worst is not None:
        extra["read_late_seconds"] = round(worst, 6)
    if unreliable:
        extra["timing_unreliable"] = True
    return {
        "first_audio_seconds": _since(turn.first_audio_at, turn.sent_at),
        "first_speech_seconds": _since(turn.first_speech_at, turn.sent_at),
        "first_transcript_seconds": _since(turn.first_transcript_at, turn.sent_at),
        "realtime_factor": factor,
        "playback_stall_seconds": stall,
        "total_seconds": (turn.done_at - started) if turn.done_at is not None else None,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "audio_input_tokens": usage.audio_input_tokens,
        "audio_output_tokens": usage.audio_output_tokens,
        "extra": extra,
    }


def _max_lag(audio: list[tuple[float, float]]) -> float | None:
    """The largest lag of a piece's arrival behind its place in playback started at the
    first piece's arrival, without waiting (0.0: every piece came in time)."""
    if not audio:
        return None
    start, before, lag = audio[0][0], 0.0, 0.0
    for arrived, seconds in audio:
        lag = max(lag, arrived - (start + before))
        before += seconds
    return round(lag, 6)


def _playback(audio: list[tuple[float, float]]) -> tuple[float | None, float | None]:
    """(realtime factor, playback stall) of audio pieces (arrival, seconds) in order.

    The factor is the audio that came after the first piece over the time it took to come:
    1.0 when audio arrives exactly as fast as it plays. The stall is how long playback,
    started when the first piece arrived and played without a gap, would have waited for
    pieces that were late: 0.0 when it never would."""
    if not audio:
        return None, None
    span = audio[-1][0] - audio[0][0]
    later = sum(seconds for _, seconds in audio[1:])
    factor = later / span if len(audio) > 1 and span > 0 else None
    clock, stall = audio[0][0], 0.0  # when the next piece is due to start playing
    for arrived, seconds in audio:
        if arrived > clock:
            stall += arrived - clock
            clock = arrived
        clock += seconds
    return (round(factor, 4) if factor is not None else None), round(stall, 6)
