"""A WebSocket over the probe client's own connection, so every message keeps the time its
bytes reached the machine.

The opening handshake is an ordinary HTTP/1.1 GET through the probe's httpx client: the
connect phase, TLS, the key headers and a refused handshake (401, 403, 429, 5xx) are
handled as for any other probe request (probes/http_errors.py). After the 101, the same
network stream carries the frames. Where the client reads through probes/arrival.py, each
read comes with the kernel's arrival stamp, and websockets' sans-I/O protocol
(websockets.protocol.Protocol) is fed those bytes, so a message gets the stamp of the read
that completed it, however late the loop parses it: the same rule as for SSE chunks.
"""

from __future__ import annotations

import collections
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import httpcore
import httpx
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.utils import accept_key, generate_key

from probes.http_errors import Failure, check_response
from probes.result import ErrorClass

_READ = 65536
_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # an audio message is ~100 KB; past this, not a probe


@dataclass(frozen=True)
class Message:
    """One text message and when it arrived (perf_counter; the kernel's stamp if known)."""

    text: str
    arrived_at: float
    read_late: float | None = None  # how late the reading process made its read


class Closed(Exception):
    """The connection ended: a close frame (with its code) or a drop (code None)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code, self.reason = code, reason
        said = f"closed with code {code}" if code is not None else "dropped without a close"
        super().__init__(f"WebSocket {said}{': ' + reason if reason else ''}")


class BadFrames(Exception):
    """Bytes that are not WebSocket frames, or a message that is not UTF-8 text."""


class WebSocket:
    """The client side of one open WebSocket on a network stream."""

    def __init__(self, network: Any) -> None:
        self._network = network
        # The stamping stream (probes/arrival.py) under httpcore's upgrade wrapper, if any.
        self._arrival = network.get_extra_info("arrival")
        self._protocol = Protocol(Side.CLIENT, state=State.OPEN, max_size=MAX_MESSAGE_BYTES)
        self._ready: collections.deque[Message] = collections.deque()
        self._parts: list[bytes] = []  # a fragmented message so far

    async def send_json(self, *messages: dict[str, Any]) -> float:
        """Send each message as a text frame; returns when they started to leave (the
        stamping stream holds writes until the next read, so that is taken on receive:
        see sent_at)."""
        for message in messages:
            self._protocol.send_text(json.dumps(message, separators=(",", ":")).encode())
        at = perf_counter()
        await self._flush()
        return at

    def sent_at(self, fallback: float) -> float:
        """When the latest writes were handed to the kernel: the stamping stream's record
        where there is one and it is not older than `fallback` (taken before writing)."""
        stamped = getattr(self._arrival, "request_sent_at", None)
        return stamped if stamped is not None and stamped >= fallback else fallback

    async def receive(self) -> Message:
        """The next text message; raises Closed at a close frame or a drop."""
        while not self._ready:
            try:
                data = await self._network.read(_READ)
            except httpcore.ReadError as exc:  # reset: it went away (or our reader did)
                raise Closed(None, str(exc)) from exc
            at = getattr(self._arrival, "arrived_at", None) or perf_counter()
            late = getattr(self._arrival, "read_late", None)
            if not data:
                self._protocol.receive_eof()
                raise Closed(*self._close_said())
            self._protocol.receive_data(data)
            self._take(at, late)
            await self._flush()  # pongs, and the answer to a close
            if self._protocol.parser_exc is not None:
                raise BadFrames(str(self._protocol.parser_exc))
            if not self._ready and self._protocol.close_rcvd is not None:
                raise Closed(*self._close_said())
        return self._ready.popleft()

    async def close(self, code: int = 1000) -> None:
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code)
            await self._flush()

    def _take(self, at: float, late: float | None) -> None:
        for frame in self._protocol.events_received():
            if isinstance(frame, Frame) and frame.opcode in _DATA:
                self._parts.append(bytes(frame.data))
                if frame.fin:
                    payload, self._parts = b"".join(self._parts), []
                    try:  # Gemini Live sends its JSON in binary frames
                        self._ready.append(Message(payload.decode(), at, late))
                    except UnicodeDecodeError as exc:
                        raise BadFrames(f"a message that is not UTF-8 text: {exc}") from exc

    def _close_said(self) -> tuple[int | None, str]:
        received = self._protocol.close_rcvd
        if received is None:
            return None, ""
        return int(received.code), received.reason

    async def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                await self._network.write(data)


@asynccontextmanager
async def connect(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                  secret: str | None, extensions: dict[str, Any] | None = None
                  ) -> AsyncIterator[tuple[httpx.Response, WebSocket | Failure]]:
    """Open a WebSocket to `url` (http/https) through `client`; yields the handshake's
    response with the socket, or with the Failure of a refused handshake (its message
    scrubbed of `secret`). The connection ends when the block does."""
    key = generate_key()
    async with client.stream("GET", url, headers={
        **headers,
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": key, "Accept-Encoding": "identity",
    }, extensions=extensions or {}, follow_redirects=False) as response:  # never carry
        # the key elsewhere
        if response.status_code != 101:
            failure = await check_response(response, secret)
            yield response, failure or (
                ErrorClass.MALFORMED,
                f"the server did not switch to WebSocket (HTTP {response.status_code})", None)
            return
        if response.headers.get("sec-websocket-accept") != accept_key(key):
            yield response, (ErrorClass.MALFORMED,
                             "the handshake's Sec-WebSocket-Accept is wrong", None)
            return
        yield response, WebSocket(response.extensions["network_stream"])
