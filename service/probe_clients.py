"""The HTTP clients probes go through: several small connection pools, not one big one.

httpcore's pool (1.0.x) walks every one of its connections, polling each idle socket, each
time a request starts or ends, and compares every idle connection with all the others
(encode/httpcore#1035): with a hundred probes in flight on one pool that bookkeeping takes
most of the event loop, and every timestamp taken on the loop comes late (bench/RESULTS.md,
TTFT fidelity). A candidate always goes through the same shard, so it keeps its warm
connection; the shards share one TLS context (loading the CA bundle costs ~50 ms each).
"""

from __future__ import annotations

import zlib

import httpx

SHARDS = 16


class ProbeClients:
    def __init__(self, shards: int = SHARDS,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        tls = httpx.create_ssl_context()
        self._clients = [httpx.AsyncClient(transport=transport, verify=tls,
                                           follow_redirects=False) for _ in range(shards)]

    def for_key(self, key: str) -> httpx.AsyncClient:
        """The client for `key` (a candidate id): always the same one."""
        return self._clients[zlib.crc32(key.encode()) % len(self._clients)]

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
