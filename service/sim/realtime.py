"""The simulator's realtime voice APIs over WebSocket, with scripted truth.

    GET /v1/realtime?model=M                          OpenAI Realtime (GA event names)
    GET /openai/v1/realtime?model=D                   the same on Azure OpenAI
    GET /ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent   Gemini Live

A model's VoiceScript says what its spoken answer is: `silence_seconds` of near-silence
(dither far below probes/pcm.py's threshold) before `speech_seconds` of a voiced tone, cut
into messages of `chunk_seconds` of audio, sent from the model's TTFT after the turn at
`realtime_factor` audio seconds per wall second, with the transcript's words sent one
before each speech message. The SimRecord keeps the truth: when the turn's last byte
arrived, and just before the first audio message, the first speech message and the first
transcript piece were written. Faults: a refused handshake (401, 429), a close with 1008 or
1011, a dropped connection, an error event, an answer silent throughout.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import math
import random
import re
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal
from typing import Protocol as Protocol_

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.utils import accept_key

from service.sim.behaviour import SimModel, SimRecord
from service.sim.http11 import Request, send_json, write_head
from service.sim.stamped import arrived_at
from service.sim.wire_gemini import GeminiWire
from service.sim.wire_openai import AzureWire, OpenAIWire

VoiceFault = Literal[
    "handshake_401",  # the upgrade refused with 401, echoing the key (as status_401 does)
    "handshake_429",  # the upgrade refused with 429 and Retry-After: 7
    "close_1008",  # a close frame 1008 (policy: Gemini's answer to a bad key) after setup
    "close_1011",  # a close frame 1011 (internal error) after two audio messages
    "drop",  # the connection dropped without a close frame after two audio messages
    "error_event",  # OpenAI: an `error` event instead of the answer (Gemini: close 1011)
    "silent",  # the whole answer is silence
]


@dataclass(frozen=True)
class VoiceScript:
    silence_seconds: float = 0.3  # before the speech, rounded to whole 10 ms frames
    speech_seconds: float = 0.6
    chunk_seconds: float = 0.05  # audio per message
    realtime_factor: float = 4.0  # audio seconds sent per wall second (< 1: slower than live)
    transcript: str = "Hello, I like the evening best."
    fault: VoiceFault | None = None
    rate: int = 24000


_GEMINI_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.[^./]+\.GenerativeService\.BidiGenerateContent$")


def realtime_route(request: Request) -> str | None:
    """Which realtime API an upgrade request is for (None: not a realtime upgrade)."""
    if request.method != "GET" or request.headers.get("upgrade", "").lower() != "websocket":
        return None
    path = request.path.partition("?")[0]
    if path.endswith("/openai/v1/realtime"):
        return "azure-openai"
    if path.endswith("/realtime"):
        return "openai"
    if _GEMINI_PATH.match(path):
        return "gemini"
    return None


@functools.lru_cache(maxsize=32)
def answer_pcm(silence_seconds: float, speech_seconds: float, rate: int, silent: bool
               ) -> tuple[bytes, int]:
    """(PCM16 of the answer, the byte offset where speech starts)."""
    frame = rate // 100
    quiet = round(silence_seconds * 100) * frame
    loud = round(speech_seconds * rate)
    rng = random.Random(0)
    values = [rng.randint(-2, 2) for _ in range(quiet)]  # dither: about -84 dBFS
    for n in range(loud):
        t = n / rate
        # A voiced vowel: 140 Hz with two harmonics, its level swinging 4 times a second
        # between -25 and -16 dBFS (never near the -40 dBFS threshold).
        level = 7000 * (0.7 + 0.3 * math.sin(2 * math.pi * 4 * t))
        wave = (math.sin(2 * math.pi * 140 * t) + 0.5 * math.sin(2 * math.pi * 280 * t)
                + 0.25 * math.sin(2 * math.pi * 420 * t)) / 1.75
        values.append(0 if silent else int(level * wave))
    pcm = b"".join(v.to_bytes(2, "little", signed=True) for v in values)
    return pcm, quiet * 2


class _Socket:
    """The server side of one WebSocket on the connection's streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol = Protocol(Side.SERVER, state=State.OPEN, max_size=1 << 24)
        self._ready: list[tuple[dict[str, Any], float]] = []

    async def receive(self) -> tuple[dict[str, Any], float] | None:
        """The next message and when its last byte arrived; None once the client closed."""
        while not self._ready:
            data = await self.reader.read(65536)
            if not data:
                self.protocol.receive_eof()
                return None
            at = arrived_at(self.writer.get_extra_info("socket")) or perf_counter()
            self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if isinstance(frame, Frame) and frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    self._ready.append((json.loads(bytes(frame.data)), at))
            await self._flush()
            if self.protocol.close_rcvd is not None or self.protocol.state is State.CLOSED:
                return None
        return self._ready.pop(0)

    async def send(self, message: dict[str, Any], binary: bool = False) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        if binary:
            self.protocol.send_binary(data)
        else:
            self.protocol.send_text(data)
        await self._flush()

    async def close(self, code: int, reason: str) -> None:
        self.protocol.send_close(code, reason)
        await self._flush()

    async def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
        await self.writer.drain()


class _Server(Protocol_):
    models: dict[str, SimModel]
    records: list[SimRecord]
    api_key: str | None

    def _rng_for(self, model: str) -> random.Random: ...


class RealtimeSessions:
    """Serves realtime upgrades for a SimServer: its models, key, records and seed."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    @property
    def models(self) -> dict[str, SimModel]:
        return self._server.models

    @property
    def records(self) -> list[SimRecord]:
        return self._server.records

    def _api_key(self) -> str | None:
        return self._server.api_key

    def _rng_for(self, model: str) -> random.Random:
        return self._server._rng_for(model)

    async def serve(self, api: str, request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter, connection: int) -> bool:
        """Answer an upgrade request; True if it was refused with an HTTP response (the
        connection stays open for the next request), False after a WebSocket session."""
        wires: dict[str, OpenAIWire | GeminiWire] = {
            "openai": OpenAIWire(), "azure-openai": AzureWire(), "gemini": GeminiWire()}
        wire = wires[api]
        query = dict(p.partition("=")[::2] for p in request.path.partition("?")[2].split("&")
                     if p)
        model_name = query.get("model")
        model = self.models.get(model_name or "")
        script = (model.voice if model is not None else None) or VoiceScript()
        key = self._api_key()
        if script.fault == "handshake_401" or (
                key and api != "gemini" and wire.presented_key(request) != key):
            echoed = request.headers.get(wire.key_header, "")
            return await send_json(writer, 401, wire.error_body(
                401, f"Incorrect API key provided: {echoed}."))  # echoed on purpose
        if script.fault == "handshake_429":
            return await send_json(writer, 429, wire.error_body(429, "Rate limit reached"),
                                   {"retry-after": "7"})
        if api != "gemini" and model is None:
            return await send_json(writer, 404, wire.error_body(
                404, f"The model `{model_name}` does not exist"))
        await write_head(writer, 101, {
            "upgrade": "websocket", "connection": "Upgrade",
            "sec-websocket-accept": accept_key(request.headers.get("sec-websocket-key", ""))})
        socket = _Socket(reader, writer)
        if api == "gemini":
            await _GeminiSession(self, socket, connection, wire.presented_key(request),
                                 key).run()
        else:
            await _OpenAISession(self, socket, connection, model_name or "", api).run()
        return False


class _Session:
    api = ""

    def __init__(self, sessions: RealtimeSessions, socket: _Socket, connection: int) -> None:
        self.sessions, self.socket, self.connection = sessions, socket, connection

    async def speak(self, model_name: str, received_at: float) -> bool:
        """Send the scripted answer to a turn whose last byte arrived at received_at;
        False if a fault ended the connection."""
        model = self.sessions.models[model_name]
        script = model.voice or VoiceScript()
        record = SimRecord(model=model_name, connection=self.connection,
                           received_at=received_at, dialect=self.api,
                           outcome=script.fault or "ok")
        self.sessions.records.append(record)
        rng = self.sessions._rng_for(model_name)
        if script.fault == "error_event":
            await self.fail()
            return False
        pcm, speech_at = answer_pcm(script.silence_seconds, script.speech_seconds,
                                    script.rate, script.fault == "silent")
        size = 2 * max(1, round(script.chunk_seconds * script.rate))
        chunks = [pcm[i:i + size] for i in range(0, len(pcm), size)]
        speech_chunk = speech_at // size
        words = [w + " " for w in script.transcript.split()]
        due = received_at + model.ttft(rng)
        await self.started()
        for index, chunk in enumerate(chunks):
            await asyncio.sleep(max(0.0, due - perf_counter()))
            if index == 2 and script.fault == "drop":
                self.socket.writer.transport.abort()
                return False
            if index == 2 and script.fault == "close_1011":
                await self.socket.close(1011, "Internal error encountered.")
                return False
            word = index - speech_chunk
            if 0 <= word < len(words):
                if record.first_transcript_at is None:
                    record.first_transcript_at = perf_counter()
                await self.transcript(words[word])
            now = perf_counter()
            record.token_written(now)  # first_content_at: the first audio message
            if index == speech_chunk and script.fault != "silent":
                record.first_speech_at = now
            await self.audio(chunk, script.rate)
            due += script.chunk_seconds / script.realtime_factor
        for rest in words[max(0, len(chunks) - speech_chunk):]:
            await self.transcript(rest)
        await self.done(round(len(pcm) / 2 / script.rate * 10))
        return True

    async def started(self) -> None: ...

    async def audio(self, pcm: bytes, rate: int) -> None: ...

    async def transcript(self, text: str) -> None: ...

    async def done(self, audio_tokens: int) -> None: ...

    async def fail(self) -> None: ...


class _OpenAISession(_Session):
    def __init__(self, sessions: RealtimeSessions, socket: _Socket, connection: int,
                 model_name: str, api: str) -> None:
        super().__init__(sessions, socket, connection)
        self.model_name, self.api = model_name, f"{api}-realtime"
        self._events = 0

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        self._events += 1
        return {"type": kind, "event_id": f"event_sim{self._events:06d}", **fields}

    async def run(self) -> None:
        script = self.sessions.models[self.model_name].voice or VoiceScript()
        await self.socket.send(self._event("session.created", session={
            "type": "realtime", "object": "realtime.session", "model": self.model_name}))
        while (received := await self.socket.receive()) is not None:
            message, at = received
            kind = message.get("type")
            if kind == "session.update":
                if script.fault == "close_1008":
                    await self.socket.close(1008, "Invalid API key.")
                    return
                await self.socket.send(self._event("session.updated",
                                                   session=message.get("session") or {}))
            elif kind == "conversation.item.create":
                await self.socket.send(self._event("conversation.item.added",
                                                   item=message.get("item") or {}))
            elif kind == "response.create" and not await self.speak(self.model_name, at):
                return

    async def started(self) -> None:
        await self.socket.send(self._event("response.created", response={
            "object": "realtime.response", "id": "resp_sim", "status": "in_progress"}))

    async def audio(self, pcm: bytes, rate: int) -> None:
        await self.socket.send(self._event("response.output_audio.delta", response_id="resp_sim",
                                           delta=base64.b64encode(pcm).decode()))

    async def transcript(self, text: str) -> None:
        await self.socket.send(self._event("response.output_audio_transcript.delta",
                                           response_id="resp_sim", delta=text))

    async def done(self, audio_tokens: int) -> None:
        await self.socket.send(self._event("response.output_audio.done", response_id="resp_sim"))
        usage = {"total_tokens": 12 + audio_tokens + 9, "input_tokens": 12,
                 "output_tokens": audio_tokens + 9,
                 "input_token_details": {"text_tokens": 12, "audio_tokens": 0},
                 "output_token_details": {"text_tokens": 9, "audio_tokens": audio_tokens}}
        await self.socket.send(self._event("response.done", response={
            "object": "realtime.response", "id": "resp_sim", "status": "completed",
            "usage": usage}))

    async def fail(self) -> None:
        await self.socket.send(self._event("error", error={
            "type": "server_error", "code": "server_error",
            "message": "The server had an error while processing your request."}))


class _GeminiSession(_Session):
    api = "gemini-live"

    def __init__(self, sessions: RealtimeSessions, socket: _Socket, connection: int,
                 presented: str | None, key: str | None) -> None:
        super().__init__(sessions, socket, connection)
        self.key, self._presented = key, presented
        self.model_name = ""

    async def run(self) -> None:
        while (received := await self.socket.receive()) is not None:
            message, at = received
            if "setup" in message:
                name = str(message["setup"].get("model", "")).removeprefix("models/")
                model = self.sessions.models.get(name)
                script = (model.voice if model else None) or VoiceScript()
                if model is None:
                    await self.socket.close(1008, f"models/{name} is not found for API "
                                            "version v1beta, or is not supported for "
                                            "bidiGenerateContent.")
                    return
                if script.fault == "close_1008" or (self.key and self._presented != self.key):
                    await self.socket.close(1008, "API key not valid. Please pass a valid "
                                            "API key.")
                    return
                self.model_name = name
                await self.socket.send({"setupComplete": {}}, binary=True)
            elif ("clientContent" in message and self.model_name
                  and not await self.speak(self.model_name, at)):
                return

    async def audio(self, pcm: bytes, rate: int) -> None:
        part = {"inlineData": {"mimeType": f"audio/pcm;rate={rate}",
                               "data": base64.b64encode(pcm).decode()}}
        await self.socket.send({"serverContent": {"modelTurn": {"parts": [part]}}}, binary=True)

    async def transcript(self, text: str) -> None:
        await self.socket.send({"serverContent": {"outputTranscription": {"text": text}}},
                               binary=True)

    async def done(self, audio_tokens: int) -> None:
        await self.socket.send({"serverContent": {"generationComplete": True}}, binary=True)
        await self.socket.send({"serverContent": {"turnComplete": True}, "usageMetadata": {
            "promptTokenCount": 12, "responseTokenCount": audio_tokens,
            "totalTokenCount": 12 + audio_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_tokens}]}},
            binary=True)

    async def fail(self) -> None:
        await self.socket.close(1011, "Internal error encountered.")
