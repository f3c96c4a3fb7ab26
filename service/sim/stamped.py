"""Sockets for the simulated servers that remember when the kernel received what they read.

The simulator's truth about a request starts when its last byte reached the machine, not
when the server's event loop got round to it: a busy server loop would otherwise shorten
the true TTFT and make every client look slow. asyncio reads a connection with
`sock.recv`, so a socket class whose recv is recvmsg with SO_TIMESTAMPNS keeps the stamp
of the latest read (probes/stamps.py).
"""

from __future__ import annotations

import socket
from typing import Any

from probes.stamps import ANCILLARY_SIZE, enable, kernel_arrival


class StampedSocket(socket.socket):
    arrived_at: float | None = None  # perf_counter time the latest read's bytes arrived

    def accept(self) -> tuple[socket.socket, Any]:
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = StampedSocket(self.family, self.type, self.proto, fileno=fd)
        enable(connection)
        # Each chunk leaves when written, as asyncio's own sockets do: with Nagle a small
        # write waits for the client's (delayed) ACK of the previous one, ~40 ms.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def recv(self, size: int, flags: int = 0) -> bytes:
        data, ancillary, _flags, _address = self.recvmsg(size, ANCILLARY_SIZE, flags)
        self.arrived_at = kernel_arrival(ancillary)
        return data


def stamped_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections are StampedSockets."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = StampedSocket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.setblocking(False)
    return listener


def arrived_at(transport_socket: Any) -> float | None:
    """The kernel arrival time of the latest read on a connection (None if not stamped).
    asyncio hands out its sockets wrapped in a TransportSocket."""
    raw = getattr(transport_socket, "_sock", transport_socket)
    return getattr(raw, "arrived_at", None)
