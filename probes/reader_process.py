"""The process that reads every probe connection the moment its bytes arrive.

probes/receiver.py starts it once per probing process, as
`python -S reader_process.py CONTROL_FD DATA_FD`. It has a GIL of its own: the probing
process's event loop, its garbage collections and its other threads cannot hold up a read,
so a segment is read (and keeps its own kernel stamp) before the next one can merge with it.
It imports nothing but the standard library and probes/stamps.py, so it starts in tens of
milliseconds and holds a few MB.

It can itself be held up (no free CPU, a stopped process): then segments that arrived
meanwhile are read together and keep the newest one's stamp. So each read also says how
late this process was in the round of reads that made it: the most any read of the round
came after its bytes arrived, or more if the process was held up past its wake-up (it wakes
at least every TICK_SECONDS) or its previous round was slow. A probe whose timing reads were
late past a threshold is flagged timing_unreliable (probes/stream.py).

Control, from the parent (SOCK_SEQPACKET, one command per message, _COMMAND):
  ADD id credit (the connection's socket rides along, SCM_RIGHTS), REMOVE id, CREDIT id n.
  A connection is read until its credit (bytes) runs out, then again when credit comes back:
  the parent's reader can fall behind without this process buffering for it.
Data, to the parent (SOCK_STREAM): first one READY frame (the process is reading), then per
read one _FRAME (id, kind, errno, arrival, lateness, length) and its bytes. kind DATA
carries bytes; END is the peer's close; ERROR carries an errno.
The process ends when the control socket closes (the parent exited or stopped it).
"""

from __future__ import annotations

import contextlib
import errno as errnos
import importlib.util
import os
import select
import signal
import socket
import struct
import sys
from time import perf_counter
from typing import Any

ADD, REMOVE, CREDIT = 1, 2, 3
DATA, END, ERROR, READY = 0, 1, 2, 3
COMMAND = struct.Struct("<BQQ")  # op, connection id, bytes (credit)
# connection id, kind, errno, arrival (perf_counter), lateness (seconds), length
FRAME = struct.Struct("<QBiddI")

READ_BYTES = 65536
# The longest it sleeps while it has connections: a wake-up later than this says the process
# was held up. Whole milliseconds (epoll's unit). 100 wake-ups a second cost about 0.5 % of
# a CPU; without connections it sleeps until a command comes.
TICK_SECONDS = 0.010
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
        self.backlog += FRAME.pack(0, READY, 0, 0.0, 0.0, 0)
        self._flush()
        previous_round = 0.0  # how long the last round took: bytes that came meanwhile waited
        carried = 0.0  # a hold-up whose round saw nothing: what it missed comes next round
        while True:
            timeout = TICK_SECONDS if self.sockets else None
            asleep = perf_counter()
            events = self.epoll.poll(timeout)
            woke = perf_counter()
            # Awake past the timeout: held up (no CPU, stopped) while it waited. Interrupted
            # past its deadline (SIGSTOP, SIGCONT), Python's poll returns nothing at all.
            held = max(0.0, woke - asleep - timeout) if timeout else 0.0
            late = max(previous_round, held, carried)
            carried = 0.0 if events else held
            reads: list[tuple[int, int, int, float, bytes]] = []
            for fd, _events in events:
                if fd == self.control.fileno():
                    if not self._commands():
                        return
                elif fd in self.sockets:
                    late = max(late, self._read(fd, reads))
            # Every read of the round gets the round's lateness: one read's own (read time
            # minus arrival) is small when a newer segment merged into it just before.
            for connection, kind, error, arrived_at, data in reads:
                self.backlog += FRAME.pack(connection, kind, error, arrived_at, late, len(data))
                self.backlog += data
            if self.backlog:
                self._flush()
            previous_round = perf_counter() - woke

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

    def _read(self, fd: int, reads: list[tuple[int, int, int, float, bytes]]) -> float:
        """Read what fd has into `reads`; returns how long after its arrival it was read."""
        sock, connection = self.sockets[fd], self.ids[fd]
        try:
            data, ancillary, _flags, _address = sock.recvmsg(
                min(READ_BYTES, self.credit[fd]), self.stamps.ANCILLARY_SIZE)
        except BlockingIOError:
            return 0.0
        except OSError as exc:
            reads.append((connection, ERROR, exc.errno or errnos.EIO, 0.0, b""))
            self._forget(fd)
            return 0.0
        arrived_at, read_at = self.stamps.arrival_and_read(ancillary)
        if not data:
            reads.append((connection, END, 0, arrived_at, b""))
            self._forget(fd)
            return 0.0
        reads.append((connection, DATA, 0, arrived_at, data))
        self.credit[fd] -= len(data)
        if self.credit[fd] <= 0:
            self.epoll.modify(fd, 0)  # until the parent's reader takes some
        return read_at - arrived_at

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
    # Ctrl-C in a terminal signals the whole process group: the parent stops cleanly and
    # closes the control socket, which ends this process; dying first would fail its probes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control_fd, data_fd = (int(arg) for arg in sys.argv[1:3])
    control = socket.socket(fileno=control_fd)
    control.setblocking(False)
    data = socket.socket(fileno=data_fd)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the parent is gone
        _Reader(control, data).run()


if __name__ == "__main__":
    main()
