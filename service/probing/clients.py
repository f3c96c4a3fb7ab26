"""The HTTP clients probes go through: several small connection pools, not one big one.

httpcore's pool (1.0.x) walks every one of its connections, polling each idle socket, each
time a request starts or ends, and compares every idle connection with all the others
(encode/httpcore#1035): with a hundred probes in flight on one pool that bookkeeping takes
most of the event loop, and every timestamp taken on the loop comes late (bench/RESULTS.md,
TTFT fidelity). A candidate always goes through the same shard, so it keeps its warm
connection; the shards share one TLS context (loading the CA bundle costs ~50 ms each).

Each shard reads through probes/arrival.py, which stamps bytes with the kernel's arrival
time, so a busy event loop no longer makes TTFTs late; the shards share one reading
process, which the clients own (started by warm_up, ended by aclose). Behind a proxy
configured in the environment (HTTP(S)_PROXY, ALL_PROXY) the clients are plain httpx ones
that honour it.
"""

from __future__ import annotations

import ssl
import urllib.request
import zlib

import httpcore
import httpx

from probes.arrival import ArrivalBackend, start_reading
from probes.receiver import ReadingProcess

SHARDS = 16
HTTPX_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class ProbeClients:
    def __init__(self, shards: int = SHARDS,
                 transport: httpx.AsyncBaseTransport | None = None,
                 stamped: bool = True) -> None:
        tls = httpx.create_ssl_context()
        self.reading = ReadingProcess()  # the one reading process of every shard
        self._stamped = stamped and reads_stamped(transport)
        self._clients = [probe_client(tls, transport, stamped, self.reading)
                         for _ in range(shards)]

    def for_key(self, key: str) -> httpx.AsyncClient:
        """The client for `key` (a candidate id): always the same one."""
        return self._clients[zlib.crc32(key.encode()) % len(self._clients)]

    async def warm_up(self) -> None:
        """Before the first probe: start the process that reads probe connections, and wait
        until it reads (a cold one stamps the first answer's pieces late: docs/scoring.md)."""
        if self._stamped:
            await start_reading(self.reading)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        self.reading.stop()


def probe_client(tls: ssl.SSLContext | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 stamped: bool = True, reading: ReadingProcess | None = None
                 ) -> httpx.AsyncClient:
    """A client for probes: kernel-stamped reads unless a transport is given, the
    environment names a proxy, or `stamped` is False (bench: the loop-stamped peer). Read
    by `reading`'s process, or by one of its own that closing the client ends."""
    tls = tls or httpx.create_ssl_context()
    if stamped and reads_stamped(transport):
        transport = ArrivalTransport(tls, reading=reading)
    return httpx.AsyncClient(transport=transport, verify=tls, follow_redirects=False)


class ArrivalTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over the kernel-stamping network backend (httpx takes no
    backend argument, so the pool it builds is replaced by one with the same limits)."""

    def __init__(self, tls: ssl.SSLContext | None = None,
                 limits: httpx.Limits = HTTPX_DEFAULT_LIMITS,
                 reading: ReadingProcess | None = None) -> None:
        tls = tls or httpx.create_ssl_context()
        super().__init__(verify=tls, limits=limits)
        self._own_reading = reading is None
        self.reading = reading or ReadingProcess()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=ArrivalBackend(self.reading))

    async def aclose(self) -> None:
        await super().aclose()
        if self._own_reading:
            self.reading.stop()


def reads_stamped(transport: httpx.AsyncBaseTransport | None = None) -> bool:
    """Whether probe clients made with this transport read through probes/arrival.py."""
    return transport is None and not _environment_proxies()


def _environment_proxies() -> bool:
    return any(scheme != "no" for scheme in urllib.request.getproxies())
