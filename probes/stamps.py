"""Kernel receive timestamps (Linux SO_TIMESTAMPNS): when a socket's bytes reached the
machine, as a perf_counter time (the clock every probe timing uses)."""

from __future__ import annotations

import socket
import struct
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
_TIMESPEC = struct.Struct("@qq")
ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)  # room for the stamp recvmsg returns


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what this socket receives; False where it cannot."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def kernel_arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The stamp recvmsg returned (CLOCK_REALTIME) as a perf_counter time; the time of the
    read itself when no stamp came (no SO_TIMESTAMPNS, or the end of the stream)."""
    return arrival_and_read(ancillary)[0]


def arrival_and_read(ancillary: list[tuple[int, int, bytes]]) -> tuple[float, float]:
    """(when the bytes arrived, when they were read), both perf_counter times: the read
    was made at the second; the first is the kernel's stamp, or the read's own time."""
    read_at, read_wall = time.perf_counter(), time.time()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            # Never after the read itself: the wall clock may have been stepped meanwhile.
            return read_at - max(0.0, read_wall - (seconds + nanoseconds * 1e-9)), read_at
    return read_at, read_at
