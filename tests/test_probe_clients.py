"""Probes' HTTP clients: several small pools, a candidate always in the same one."""

from __future__ import annotations

import httpx

from service.probing.clients import ProbeClients


async def test_a_candidate_keeps_its_shard() -> None:
    clients = ProbeClients(shards=4)
    try:
        assert clients.for_key("openai/gpt-4o") is clients.for_key("openai/gpt-4o")
        assert len({id(clients.for_key(f"c{i}")) for i in range(64)}) == 4
    finally:
        await clients.aclose()


async def test_every_shard_uses_the_given_transport() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(204)

    clients = ProbeClients(shards=3, transport=httpx.MockTransport(answer))
    try:
        for key in ("a", "b", "c", "d"):
            assert (await clients.for_key(key).get(f"http://sim.test/{key}")).status_code == 204
    finally:
        await clients.aclose()
    assert seen == [f"http://sim.test/{key}" for key in "abcd"]
