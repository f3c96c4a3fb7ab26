"""The process that reads every probe connection the moment its bytes arrive.

probes/receiver.py starts it once per probing process, as
`python -S reader_process.py CONTROL_FD DATA_FD`. It has a GIL of its own: the probing
process's event loop, its garbage collections and its other threads cannot hold up a read,
so a segment is read (and keeps its own kernel stamp) before the next one can merge with it.
It imports nothing but the standard library and probes/stamps.py, so it starts in tens of
milliseconds and holds a few MB.

Control, from the parent (SOCK_SEQPACKET, one command per message, _COMMAND):
  ADD id credit (the connection's socket rides along, SCM_RIGHTS), REMOVE id, CREDIT id n.
  A connection is read until its credit (bytes) runs out, then again when credit comes back:
  the parent's reader can fall behind without this process buffering for it.
Data, to the parent (SOCK_STREAM): per read one _FRAME (id, kind, errno, arrival, length)
and its bytes. kind DATA carries bytes; END is the peer's close; ERROR carries an errno.
The process ends when the control socket closes (the parent exited or stopped it).
"""

from __future__ import annotations

import contextlib
import errno as errnos
import importlib.util
import os
import select
import socket
import struct
import sys
from typing import Any

ADD, REMOVE, CREDIT = 1, 2, 3
DATA, END, ERROR = 0, 1, 2
COMMAND = struct.Struct("<BQQ")  # op, connection id, bytes (credit)
FRAME = struct.Struct("<QBidI")  # connection id, kind, errno, arrival (perf_counter), length

READ_BYTES = 65536
_BACKLOG_BYTES = 8 << 20  # frames the parent has not taken: above this, wait for it


def _load_stamps() -> Any:
    """probes/stamps.py by its path: importing the package would load httpx and every probe."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stamps.py")
    spec = importlib.util.spec_from_file_location("factorwatch_stamps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Reader:
    def __init__(self, control: socket.socket, data: socket.socket) -> None:
        self.stamps = _load_stamps()
        self.control = control
        self.data = data
        self.epoll = select.epoll()
        self.epoll.register(control.fileno(), select.EPOLLIN)
        self.epoll.register(data.fileno(), 0)  # EPOLLOUT while frames wait to be sent
        self.sockets: dict[int, socket.socket] = {}  # fd -> connection
        self.ids: dict[int, int] = {}  # fd -> connection id
        self.by_id: dict[int, int] = {}  # connection id -> fd
        self.credit: dict[int, int] = {}  # fd -> bytes it may still read
        self.backlog = bytearray()  # frames not yet sent to the parent
        self.waiting_to_send = False  # epoll watches the data socket for room

    def run(self) -> None:
        while True:
            for fd, _events in self.epoll.poll():
                if fd == self.control.fileno():
                    if not self._commands():
                        return
                elif fd in self.sockets:
                    self._read(fd)
            if self.backlog:
                self._flush()

    def _commands(self) -> bool:
        """Every waiting command; False once the parent is gone."""
        while True:
            try:
                message, ancillary, _flags, _address = self.control.recvmsg(
                    COMMAND.size, socket.CMSG_SPACE(struct.calcsize("i")))
            except BlockingIOError:
                return True
            if not message:
                return False
            op, connection, amount = COMMAND.unpack(message)
            if op == ADD:
                fds = [fd for level, kind, payload in ancillary
                       if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
                       for fd in struct.unpack(f"{len(payload) // 4}i", payload)]
                for fd in fds:
                    self.sockets[fd] = socket.socket(fileno=fd)
                    self.ids[fd], self.by_id[connection] = connection, fd
                    self.credit[fd] = amount
                    self.epoll.register(fd, select.EPOLLIN)
            elif (fd := self.by_id.get(connection)) is not None:
                if op == REMOVE:
                    self._forget(fd)
                elif op == CREDIT:
                    if self.credit[fd] <= 0:
                        self.epoll.modify(fd, select.EPOLLIN)
                    self.credit[fd] += amount

    def _read(self, fd: int) -> None:
        sock = self.sockets[fd]
        try:
            data, ancillary, _flags, _address = sock.recvmsg(
                min(READ_BYTES, self.credit[fd]), self.stamps.ANCILLARY_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._frame(fd, ERROR, exc.errno or errnos.EIO, 0.0, b"")
            self._forget(fd)
            return
        arrived_at = self.stamps.kernel_arrival(ancillary)
        if not data:
            self._frame(fd, END, 0, arrived_at, b"")
            self._forget(fd)
            return
        self._frame(fd, DATA, 0, arrived_at, data)
        self.credit[fd] -= len(data)
        if self.credit[fd] <= 0:
            self.epoll.modify(fd, 0)  # until the parent's reader takes some

    def _frame(self, fd: int, kind: int, error: int, arrived_at: float, data: bytes) -> None:
        self.backlog += FRAME.pack(self.ids[fd], kind, error, arrived_at, len(data))
        self.backlog += data

    def _forget(self, fd: int) -> None:
        self.epoll.unregister(fd)
        self.sockets.pop(fd).close()
        del self.by_id[self.ids.pop(fd)], self.credit[fd]

    def _flush(self) -> None:
        """Send what the parent will take now; block only once it is far behind."""
        try:
            sent = self.data.send(self.backlog, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        del self.backlog[:sent]
        if len(self.backlog) > _BACKLOG_BYTES:
            self.data.sendall(self.backlog)
            self.backlog.clear()
        if bool(self.backlog) != self.waiting_to_send:
            self.waiting_to_send = bool(self.backlog)
            self.epoll.modify(self.data.fileno(), select.EPOLLOUT if self.backlog else 0)


def main() -> None:
    control_fd, data_fd = (int(arg) for arg in sys.argv[1:3])
    control = socket.socket(fileno=control_fd)
    control.setblocking(False)
    data = socket.socket(fileno=data_fd)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the parent is gone
        _Reader(control, data).run()


if __name__ == "__main__":
    main()
