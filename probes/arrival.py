"""An httpcore network backend that knows when each byte it reads reached the machine.

A timestamp taken when the event loop gets round to a socket is late by however busy the
loop was (bench/RESULTS.md, TTFT fidelity). Here the kernel stamps each segment as it
arrives (SO_TIMESTAMPNS, probes/stamps.py) and a process of its own reads it at once
(probes/receiver.py), so each read keeps the time its bytes arrived however late the loop
parses them. `ArrivalStream.arrived_at` is the arrival time of the latest read, and
`request_sent_at` the time the current request's first byte was handed to the kernel.

A request's writes are held until the response is read, and go from the loop to a plain
non-blocking socket in one send. TLS runs in memory (ssl.SSLObject), so decrypted bytes
carry the stamp of the raw read that completed their TLS record. Where the platform has no
SO_TIMESTAMPNS, a read is stamped when the reading process made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterable
from time import perf_counter
from typing import Any

import httpcore

from probes import stamps
from probes.receiver import Inbox, ReadingProcess, Receiver

_RAW_READ = 65536
_HOLD_BYTES = 65536  # a request body past this is sent as it is written

SocketOption = (tuple[int, int, int] | tuple[int, int, bytes | bytearray]
                | tuple[int, int, None, int])


class ArrivalStream(httpcore.AsyncNetworkStream):
    """A TCP connection (TLS optional) whose reads are stamped with kernel arrival times."""

    def __init__(self, inbox: Inbox,
                 tls: tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO] | None = None) -> None:
        self._inbox = inbox
        self._sock = inbox.sock
        self._tls = tls
        self.arrived_at: float | None = None  # perf_counter time the last read's bytes arrived
        # How late the reading process was when it made the last read (reader_process.py).
        self.read_late: float | None = None
        # perf_counter time just before the current request's first byte went to the kernel
        self.request_sent_at: float | None = None
        self._outgoing = bytearray()  # written, held until the next read (see write)
        self._request_started = False  # a send since the last read

    # -- httpcore's interface -------------------------------------------------------------

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._outgoing:
            await self._flush(timeout)
        self._request_started = False  # what is written next is a new request
        try:
            async with asyncio.timeout(timeout):
                if self._tls is None:
                    return await self._read_raw(max_bytes)
                return await self._read_tls(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # Held until the next read (or _HOLD_BYTES): httpcore writes a request's head and
        # body separately, and a send lets another thread take the GIL, so the body could
        # leave milliseconds after the head (bench/RESULTS.md). In one send, the request
        # leaves right after request_sent_at is taken.
        if not buffer:
            return
        if self._tls is not None:
            try:
                self._tls[0].write(buffer)
            except ssl.SSLError as exc:
                raise httpcore.WriteError(str(exc)) from exc
            buffer = self._tls[2].read()
        self._outgoing += buffer
        if len(self._outgoing) >= _HOLD_BYTES:
            await self._flush(timeout)

    async def aclose(self) -> None:
        self._outgoing.clear()
        self._inbox.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
        stream = ArrivalStream(self._inbox, (tls, incoming, outgoing))
        try:
            async with asyncio.timeout(timeout):
                await stream._handshake()
        except TimeoutError as exc:
            self._inbox.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            self._inbox.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return stream

    def get_extra_info(self, info: str) -> Any:
        if info == "arrival":  # this stream, through wrappers (a WebSocket's: probes/websocket.py)
            return self
        if info == "ssl_object":
            return self._tls[0] if self._tls else None
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":  # an idle pooled connection the server closed, or sent on
            return self._inbox.has_news()
        return None

    # -- the socket -----------------------------------------------------------------------

    async def _read_raw(self, max_bytes: int) -> bytes:
        data, arrived_at, late = await self._inbox.get(max_bytes)
        if arrived_at is not None:
            self.arrived_at, self.read_late = arrived_at, late
        return data

    async def _flush(self, timeout: float | None) -> None:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        first = not self._request_started
        self._request_started = True
        try:
            async with asyncio.timeout(timeout):
                await self._send_raw(data, stamp=first)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def _send_raw(self, data: bytes, stamp: bool = False) -> None:
        view = memoryview(data)
        while view:
            try:
                if stamp:
                    self.request_sent_at, stamp = perf_counter(), False
                sent = self._sock.send(view)
            except BlockingIOError:
                await _wait(self._sock, readable=False)
                continue
            view = view[sent:]

    # -- TLS in memory --------------------------------------------------------------------

    async def _handshake(self) -> None:
        assert self._tls is not None
        tls, incoming, outgoing = self._tls
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._send_raw(outgoing.read())
                data = await self._read_raw(_RAW_READ)
                if not data:
                    raise EOFError(  # noqa: B904 (no error to chain: the peer closed)
                        "the server closed the connection during the TLS handshake")
                incoming.write(data)
        await self._send_raw(outgoing.read())

    async def _read_tls(self, max_bytes: int) -> bytes:
        assert self._tls is not None
        tls, incoming, outgoing = self._tls
        while True:
            try:
                return tls.read(max_bytes)
            except ssl.SSLWantReadError:
                pending = outgoing.read()  # e.g. a key update the server asked for
                if pending:
                    await self._send_raw(pending)
                data = await self._read_raw(_RAW_READ)
                if not data:
                    return b""  # closed without close_notify: h11 decides if that was early
                incoming.write(data)
            except ssl.SSLZeroReturnError:
                return b""  # close_notify


async def start_reading(reading: ReadingProcess) -> Receiver:
    """The reading process, started if need be, once it reads. Call it before the first
    request (the CLI, the daemon): a process still starting reads the first pieces of an
    answer late and together, with the newest one's stamp. A connection waits for it too,
    and then its connect phase counts the wait."""
    receiver = reading.receiver()
    if not receiver.wait_ready(0):
        await asyncio.to_thread(receiver.wait_ready)
    return receiver


class ArrivalBackend(httpcore.AsyncNetworkBackend):
    """Connections read by `reading`'s process, each read stamped by the kernel."""

    def __init__(self, reading: ReadingProcess) -> None:
        self.reading = reading

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SocketOption] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                receiver = await start_reading(self.reading)
                addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                last_error: OSError | None = None
                for family, kind, proto, _name, address in addresses:
                    sock = socket.socket(family, kind, proto)
                    try:
                        _prepare(sock, local_address, socket_options or ())
                        await loop.sock_connect(sock, address)
                        inbox = Inbox(sock, receiver)
                    except OSError as exc:
                        sock.close()
                        last_error = exc
                        continue
                    except BaseException:
                        sock.close()
                        raise
                    return ArrivalStream(inbox)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connect to {host}:{port} timed out") from exc
        except OSError as exc:  # name resolution
            raise httpcore.ConnectError(str(exc)) from exc
        raise httpcore.ConnectError(str(last_error) if last_error else f"no address for {host}"
                                    ) from last_error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SocketOption] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("probes do not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _prepare(sock: socket.socket, local_address: str | None,
             options: Iterable[SocketOption]) -> None:
    """Non-blocking, no Nagle delay, kernel receive stamps where the platform has them."""
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for option in options:
        sock.setsockopt(*option)
    if local_address:
        sock.bind((local_address, 0))
    stamps.enable(sock)


async def _wait(sock: socket.socket, readable: bool) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = sock.fileno()
    if fd < 0:
        raise OSError("socket closed")
    add, remove = ((loop.add_reader, loop.remove_reader) if readable
                   else (loop.add_writer, loop.remove_writer))
    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    add(fd, wake)
    try:
        await ready
    finally:
        with contextlib.suppress(ValueError, OSError):
            remove(fd)
