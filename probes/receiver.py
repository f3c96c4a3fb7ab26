"""One thread that reads every probe connection the moment bytes arrive.

The kernel stamps each segment on arrival, but segments left unread are merged and keep
only the newest stamp (probes/arrival.py). An event loop busy with other probes reads late,
and the first token's stamp is then overwritten by the tokens that came after it. This
thread does nothing but wait on epoll and recvmsg, so it reads within a GIL switch
interval (5 ms) of the arrival however busy the loop is, and hands each read, with its
own stamp, to the connection's Inbox on the loop. The loop then parses at its own pace.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import select
import socket
import threading

from probes.stamps import ANCILLARY_SIZE, kernel_arrival

log = logging.getLogger(__name__)

_READ_BYTES = 65536
_PAUSE_BYTES = 1 << 20  # stop reading a connection whose reader has this much unread


class Inbox:
    """What the receiver read from one connection, waiting for the loop: reads in order,
    each with its arrival time, then the end of the stream or an error."""

    def __init__(self, sock: socket.socket, receiver: Receiver) -> None:
        self.sock = sock
        self._receiver = receiver
        self._loop = asyncio.get_running_loop()
        self._reads: collections.deque[tuple[bytes, float]] = collections.deque()
        # Bytes read (counted by the receiver thread) and taken (counted by the loop): each
        # counter has one writer, so the loop takes no lock per read. `paused` changes
        # under the receiver's lock only.
        self.read_bytes = 0
        self.taken_bytes = 0
        self.paused = False
        self._ended = False
        self._error: OSError | None = None
        self._waiter: asyncio.Future[None] | None = None
        receiver.add(self)

    def has_news(self) -> bool:
        """Bytes, the end or an error waiting (an idle pooled connection is then unusable)."""
        return bool(self._reads) or self._ended or self._error is not None

    async def get(self, max_bytes: int) -> tuple[bytes, float | None]:
        """The oldest read (up to max_bytes of it) and when it arrived; b"" at the end."""
        while not self._reads:
            if self._error is not None:
                raise self._error
            if self._ended:
                return b"", None
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data, arrived_at = self._reads[0]
        if len(data) > max_bytes:
            self._reads[0] = (data[max_bytes:], arrived_at)
            data = data[:max_bytes]
        else:
            self._reads.popleft()
        self.taken_bytes += len(data)
        if self.paused:
            self._receiver.resume_if_room(self)
        return data, arrived_at

    @property
    def unread(self) -> int:
        """Read by the receiver, not yet taken by the loop."""
        return self.read_bytes - self.taken_bytes

    def close(self) -> None:
        self._receiver.remove(self)  # never reading this socket after it is closed
        self.sock.close()

    # -- called on the loop by the receiver thread -----------------------------------------

    def deliver(self, data: bytes, arrived_at: float, error: OSError | None) -> None:
        if error is not None:
            self._error = error
        elif not data:
            self._ended = True
        else:
            self._reads.append((data, arrived_at))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Receiver:
    """The reading thread (one per process, started on first use)."""

    _instance: Receiver | None = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> Receiver:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._lock = threading.Lock()  # held while a socket is read, and while it is removed
        self._inboxes: dict[int, Inbox] = {}
        threading.Thread(target=self._run, name="probe-receiver", daemon=True).start()

    def add(self, inbox: Inbox) -> None:
        with self._lock:
            fd = inbox.sock.fileno()
            self._inboxes[fd] = inbox
            self._epoll.register(fd, select.EPOLLIN)

    def remove(self, inbox: Inbox) -> None:
        with self._lock:
            fd = inbox.sock.fileno()
            if self._inboxes.get(fd) is inbox:
                del self._inboxes[fd]
                with contextlib.suppress(OSError):
                    self._epoll.unregister(fd)

    def resume_if_room(self, inbox: Inbox) -> None:
        """Read a paused connection again once its reader has taken half of what it had."""
        with self._lock:
            if inbox.paused and inbox.unread < _PAUSE_BYTES // 2:
                inbox.paused = False
                self._watch(inbox, select.EPOLLIN)

    def _watch(self, inbox: Inbox, events: int) -> None:
        fd = inbox.sock.fileno()
        if self._inboxes.get(fd) is inbox:
            with contextlib.suppress(OSError):
                self._epoll.modify(fd, events)

    def _run(self) -> None:
        while True:
            # Everything one poll found goes to each loop in one call: one wake-up, not one
            # per read.
            batches: dict[asyncio.AbstractEventLoop, list[Delivery]] = {}
            for fd, _events in self._epoll.poll():
                try:
                    delivery = self._read(fd)
                except Exception:  # never let one connection stop every probe's reads
                    log.exception("probe receiver: reading fd %d failed", fd)
                    continue
                if delivery is not None:
                    batches.setdefault(delivery[0]._loop, []).append(delivery)
            for loop, batch in batches.items():
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(_deliver_all, batch)

    def _read(self, fd: int) -> Delivery | None:
        error: OSError | None = None
        with self._lock:
            inbox = self._inboxes.get(fd)
            if inbox is None:
                return None  # removed since the poll
            try:
                data, ancillary, _flags, _address = inbox.sock.recvmsg(_READ_BYTES,
                                                                       ANCILLARY_SIZE)
            except BlockingIOError:
                return None
            except OSError as exc:
                data, ancillary, error = b"", [], exc
            if not data:  # the end (or an error): nothing more to wait for on it
                del self._inboxes[fd]
                with contextlib.suppress(OSError):
                    self._epoll.unregister(fd)
            else:
                inbox.read_bytes += len(data)
                if inbox.unread > _PAUSE_BYTES and not inbox.paused:
                    inbox.paused = True  # the loop is not keeping up: no unbounded buffer
                    self._watch(inbox, 0)
        return inbox, data, kernel_arrival(ancillary), error


Delivery = tuple[Inbox, bytes, float, OSError | None]


def _deliver_all(batch: list[Delivery]) -> None:
    for inbox, data, arrived_at, error in batch:
        inbox.deliver(data, arrived_at, error)
