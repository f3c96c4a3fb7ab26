"""Every probe connection is read the moment bytes arrive, by a process of its own.

The kernel stamps each segment on arrival, but segments left unread are merged and keep
only the newest stamp (probes/arrival.py). An event loop busy with other probes reads late,
and the first token's stamp is then overwritten by the tokens that came after it. A thread
of this process reading for the loop still waits for the GIL: at 200 concurrent streams on
2 cores its reads came 2.8 ms (median) to 100 ms (a full garbage collection) after the
bytes, and the first token's stamp was lost behind the next token (bench/RESULTS.md). So
the reads happen in probes/reader_process.py, which has a GIL of its own and does nothing
else; each read comes back with its stamp over a local socket, and a thread here hands it
to the connection's Inbox on the loop, which then parses at its own pace. That thread may
be late: the stamps are already taken.

Whoever makes probe clients owns a ReadingProcess (the daemon's probe clients, the CLI's
one client): it starts the process on first use, starts another if it dies, and counts
such exits. A connection the dead process was reading fails with ReaderExited, which
probes classify as the monitor's own failure (ErrorClass.MONITOR), not the provider's.
"""

from __future__ import annotations

import array
import asyncio
import atexit
import collections
import contextlib
import errno
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

from probes import reader_process
from probes.reader_process import ADD, COMMAND, CREDIT, DATA, END, FRAME, READY, REMOVE

log = logging.getLogger(__name__)

_PAUSE_BYTES = 1 << 20  # a connection is not read further while its reader has this unread


class Inbox:
    """What the receiver read from one connection, waiting for the loop: reads in order,
    each with its arrival time, then the end of the stream or an error."""

    def __init__(self, sock: socket.socket, receiver: Receiver) -> None:
        self.sock = sock
        self._receiver = receiver
        self._loop = asyncio.get_running_loop()
        # (bytes, arrival, how late the reading process was in the round that read them)
        self._reads: collections.deque[tuple[bytes, float, float]] = collections.deque()
        # Bytes read (counted by the receiver's thread) and taken (counted by the loop): each
        # counter has one writer, so the loop takes no lock per read. The reading process
        # may read _PAUSE_BYTES ahead of the loop, and gets credit back as the loop takes.
        self.read_bytes = 0
        self.taken_bytes = 0
        self._credited_bytes = 0
        self.connection_id = 0  # the receiver's name for it, set by Receiver.add
        self._ended = False
        self._error: OSError | None = None
        self._waiter: asyncio.Future[None] | None = None
        receiver.add(self)

    def has_news(self) -> bool:
        """Bytes, the end or an error waiting (an idle pooled connection is then unusable)."""
        return bool(self._reads) or self._ended or self._error is not None

    async def get(self, max_bytes: int) -> tuple[bytes, float | None, float | None]:
        """The oldest read (up to max_bytes of it), when it arrived and how late the reading
        process was then (reader_process.py); b"" at the end."""
        while not self._reads:
            if self._error is not None:
                raise self._error
            if self._ended:
                return b"", None, None
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data, arrived_at, late = self._reads[0]
        if len(data) > max_bytes:
            self._reads[0] = (data[max_bytes:], arrived_at, late)
            data = data[:max_bytes]
        else:
            self._reads.popleft()
        self.taken_bytes += len(data)
        if self.taken_bytes - self._credited_bytes >= _PAUSE_BYTES // 2:
            self._receiver.credit(self, self.taken_bytes - self._credited_bytes)
            self._credited_bytes = self.taken_bytes
        return data, arrived_at, late

    @property
    def unread(self) -> int:
        """Read by the receiver, not yet taken by the loop."""
        return self.read_bytes - self.taken_bytes

    def close(self) -> None:
        self._receiver.remove(self)
        # The reading process holds a duplicate of the socket until it has the REMOVE: the
        # shutdown ends the connection now, as closing the only copy would.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    # -- called on the loop by the receiver's thread -----------------------------------------

    def deliver(self, data: bytes, arrived_at: float, late: float,
                error: OSError | None) -> None:
        if error is not None:
            self._error = error
        elif not data:
            self._ended = True
        else:
            self._reads.append((data, arrived_at, late))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ReaderExited(OSError):
    """The monitor's reading process exited: the connection it read failed on our side."""

    def __init__(self, message: str = "the probe reading process exited") -> None:
        super().__init__(errno.EPIPE, message)


def reader_failed(exc: BaseException | None) -> bool:
    """Whether an exception, or any exception it was raised from, is a ReaderExited."""
    seen = 0
    while exc is not None and seen < 10:  # httpx and httpcore wrap it a couple of times
        if isinstance(exc, ReaderExited):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class ReadingProcess:
    """The reading process of one owner: started on first use, started again after it
    exits, its unasked exits counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._receiver: Receiver | None = None
        self.exits = 0  # reading processes that exited unasked

    def receiver(self) -> Receiver:
        with self._lock:
            if self._receiver is None or not self._receiver.alive:
                self._receiver = Receiver(on_exit=self._exited)
            return self._receiver

    @property
    def pid(self) -> int | None:
        """The current process's id (None before the first use)."""
        return self._receiver.process.pid if self._receiver is not None else None

    def stop(self) -> None:
        with self._lock:
            receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.stop()

    def _exited(self) -> None:
        with self._lock:
            self.exits += 1


class Receiver:
    """The reading process and the thread here that takes its reads."""

    def __init__(self, on_exit: Callable[[], None] | None = None) -> None:
        self._on_exit = on_exit  # called when the process exits unasked
        self._control, child_control = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._data, child_data = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = (child_control.fileno(), child_data.fileno())
        self.process = subprocess.Popen(
            [sys.executable, "-S", os.path.abspath(reader_process.__file__), *map(str, fds)],
            pass_fds=fds, stdin=subprocess.DEVNULL)
        child_control.close()
        child_data.close()
        self.alive = True
        self._ready = threading.Event()  # the process is up and reading
        self._lock = threading.Lock()  # orders commands on the control socket
        self._inboxes: dict[int, Inbox] = {}
        self._next_id = 1
        threading.Thread(target=self._run, name="probe-receiver", daemon=True).start()
        atexit.register(self.stop)

    def add(self, inbox: Inbox) -> None:
        fd = array.array("i", [inbox.sock.fileno()])
        with self._lock:
            if not self.alive:
                raise ReaderExited("the probe reading process has exited")
            inbox.connection_id, self._next_id = self._next_id, self._next_id + 1
            self._inboxes[inbox.connection_id] = inbox
            try:
                self._control.sendmsg([COMMAND.pack(ADD, inbox.connection_id, _PAUSE_BYTES)],
                                      [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd)])
            except OSError as exc:  # it died, and _run has not seen it yet
                del self._inboxes[inbox.connection_id]
                raise ReaderExited("the probe reading process has exited") from exc

    def remove(self, inbox: Inbox) -> None:
        with self._lock:
            if self._inboxes.pop(inbox.connection_id, None) is not None:
                self._command(REMOVE, inbox.connection_id, 0)

    def credit(self, inbox: Inbox, amount: int) -> None:
        """Let the reading process read `amount` more bytes of this connection."""
        with self._lock:
            if self._inboxes.get(inbox.connection_id) is inbox:
                self._command(CREDIT, inbox.connection_id, amount)

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until the process reads (it starts in tens of milliseconds): a connection
        added before then is read late, its first pieces merged into one stamp."""
        return self._ready.wait(timeout) and self.alive

    def stop(self) -> None:
        """End the reading process (it exits when its control socket closes)."""
        with self._lock:
            self.alive = False
            self._control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def _command(self, op: int, connection_id: int, amount: int) -> None:
        with contextlib.suppress(OSError):  # the process is gone: _run fails every inbox
            self._control.send(COMMAND.pack(op, connection_id, amount))

    def _run(self) -> None:
        pending = bytearray()
        buffer = bytearray(1 << 20)  # reused: a fresh 1 MB per recv fragments the heap
        while count := self._data.recv_into(buffer):
            pending += memoryview(buffer)[:count]
            # Every frame this read completed goes to each loop in one call: one wake-up.
            batches: dict[asyncio.AbstractEventLoop, list[Delivery]] = {}
            offset = 0
            while len(pending) - offset >= FRAME.size:
                connection_id, kind, error, arrived_at, late, length = FRAME.unpack_from(
                    pending, offset)
                end = offset + FRAME.size + length
                if end > len(pending):
                    break
                data = bytes(pending[offset + FRAME.size:end])
                offset = end
                if kind == READY:
                    self._ready.set()
                    continue
                delivery = self._delivery(connection_id, kind, error, arrived_at, late, data)
                if delivery is not None:
                    batches.setdefault(delivery[0]._loop, []).append(delivery)
            del pending[:offset]
            _hand_over(batches)
        self._gone()

    def _delivery(self, connection_id: int, kind: int, error: int, arrived_at: float,
                  late: float, data: bytes) -> Delivery | None:
        inbox = self._inboxes.get(connection_id)
        if inbox is None:
            return None  # removed since it was read
        if kind == DATA:
            inbox.read_bytes += len(data)
            return inbox, data, arrived_at, late, None
        # The reading process has forgotten it. No lock: the loop may hold it, blocked on
        # the control socket until the reading process, itself waiting for this thread to
        # take its frames, reads its commands again. Ids are never reused, and a pop is
        # atomic.
        self._inboxes.pop(connection_id, None)
        if kind == END:
            return inbox, b"", arrived_at, late, None
        return inbox, b"", arrived_at, late, OSError(error, os.strerror(error))

    def _gone(self) -> None:
        """The reading process exited: every connection it read fails; the next one
        starts a new process."""
        with self._lock:
            was_alive, self.alive = self.alive, False
            inboxes, self._inboxes = self._inboxes, {}
        self._ready.set()  # no one waits for a process that is gone
        if was_alive:
            if self._on_exit is not None:
                self._on_exit()
            log.error("the probe reading process exited (%s); starting another for new "
                      "connections", self.process.wait())
        failure = ReaderExited()
        batches: dict[asyncio.AbstractEventLoop, list[Delivery]] = {}
        for inbox in inboxes.values():
            batches.setdefault(inbox._loop, []).append((inbox, b"", 0.0, 0.0, failure))
        _hand_over(batches)


Delivery = tuple[Inbox, bytes, float, float, OSError | None]


def _hand_over(batches: dict[asyncio.AbstractEventLoop, list[Delivery]]) -> None:
    for loop, batch in batches.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed
            loop.call_soon_threadsafe(_deliver_all, batch)


def _deliver_all(batch: list[Delivery]) -> None:
    for inbox, data, arrived_at, late, error in batch:
        inbox.deliver(data, arrived_at, late, error)
