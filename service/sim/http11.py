"""Hand-written HTTP/1.1 for the simulated servers: requests in, heads, bodies and chunks out.

Just enough of the protocol for a client under test: keep-alive connections, bodies with a
content-length, and chunked responses (for SSE) written and drained one chunk at a time, so
the moment a byte leaves is the moment the caller chose. No framework sits in between.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from service.sim.stamped import arrived_at


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    arrived_at: float | None = None  # perf_counter: the kernel received its last byte


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    respond: Callable[[Request], Awaitable[bool]],
) -> None:
    """Answer requests on one keep-alive connection until either side ends it, then close it.

    `respond` answers one request and returns whether the connection may stay open.
    """
    try:
        while (request := await read_request(reader)) is not None:
            # The client waits for the answer, so the latest read brought its last byte.
            request.arrived_at = arrived_at(writer.get_extra_info("socket"))
            keep_alive = await respond(request)
            if not keep_alive or request.headers.get("connection", "").lower() == "close":
                break
    except (
        ConnectionError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        ValueError,
    ):
        pass  # the client went away or spoke something other than HTTP/1.1
    except asyncio.CancelledError:
        pass  # server stop: end quietly; asyncio.streams logs a cancelled handler as an error
    finally:
        writer.close()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request, or None when the client closed an idle connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None  # the client closed an idle keep-alive connection
        raise
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise ValueError("chunked request bodies are not supported by the simulator")
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method=method, path=path, headers=headers, body=body)


async def write_head(writer: asyncio.StreamWriter, status: int, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "server: factorwatch-sim"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def send_body(
    writer: asyncio.StreamWriter,
    status: int,
    content_type: str,
    payload: bytes,
    extra_headers: dict[str, str] | None = None,
) -> bool:
    """A whole response with a content-length; returns True (the connection can stay)."""
    headers = {"content-type": content_type, "content-length": str(len(payload))}
    await write_head(writer, status, {**headers, **(extra_headers or {})})
    writer.write(payload)
    await writer.drain()
    return True


async def send_json(
    writer: asyncio.StreamWriter,
    status: int,
    obj: dict[str, Any],
    extra_headers: dict[str, str] | None = None,
) -> bool:
    payload = json.dumps(obj).encode()
    return await send_body(writer, status, "application/json", payload, extra_headers)


async def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One chunk of a `transfer-encoding: chunked` body, drained before returning."""
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    await writer.drain()


async def end_chunks(writer: asyncio.StreamWriter) -> bool:
    """The zero-length chunk that ends a chunked body; returns True (the connection stays)."""
    await write_chunk(writer, b"")
    return True
