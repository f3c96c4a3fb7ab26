"""Kernel arrival stamps (probes/arrival.py, service/sim/stamped.py): a read is stamped
with the time its bytes reached the machine, however late the event loop reads them, on
plain TCP and through TLS, on the probe's side and on the simulator's."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from time import perf_counter

import httpx
import pytest
import trustme

from probes import receiver, run_probe
from probes.arrival import ArrivalBackend, ArrivalStream
from probes.receiver import ReadingProcess
from probes.result import ErrorClass
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import SimModel
from service.sim.server import SimServer

pytestmark = pytest.mark.integration  # local servers and the reading process

STALL = 0.3  # how long a test blocks an event loop



@pytest.fixture
def reading() -> Iterator[ReadingProcess]:
    process = ReadingProcess()
    yield process
    process.stop()


async def test_a_read_is_stamped_when_the_bytes_arrived_not_when_it_was_read(
        reading: ReadingProcess) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    sent_at: list[float] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            time.sleep(0.05)
            sent_at.append(perf_counter())
            connection.sendall(b"first bytes")
            connection.recv(1)  # until the client closes

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    stream = await ArrivalBackend(reading).connect_tcp("127.0.0.1", listener.getsockname()[1])
    assert isinstance(stream, ArrivalStream)
    time.sleep(STALL)  # the loop is blocked while the bytes come in
    data = await stream.read(1024)
    read_at = perf_counter()
    await stream.aclose()
    server.join(timeout=5)
    listener.close()

    assert data == b"first bytes"
    assert stream.arrived_at is not None
    assert read_at - sent_at[0] >= STALL - 0.1  # read late...
    assert abs(stream.arrived_at - sent_at[0]) < 0.01  # ...stamped on arrival


async def test_bytes_that_arrive_while_the_loop_is_busy_keep_their_own_stamps(
        reading: ReadingProcess) -> None:
    """The kernel merges segments nobody has read yet and keeps only the newest stamp; the
    reading process reads each at once, so the first token's stamp survives a busy loop."""
    listener = socket.create_server(("127.0.0.1", 0))
    sent_at: list[float] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for piece in (b"first", b"second"):
                time.sleep(0.1)
                sent_at.append(perf_counter())
                connection.sendall(piece)
            connection.recv(1)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    stream = await ArrivalBackend(reading).connect_tcp("127.0.0.1", listener.getsockname()[1])
    assert isinstance(stream, ArrivalStream)
    time.sleep(STALL)  # both pieces come in while the loop is blocked
    first = await stream.read(1024)
    first_at = stream.arrived_at
    second = await stream.read(1024)
    second_at = stream.arrived_at
    await stream.aclose()
    server.join(timeout=5)
    listener.close()

    assert (first, second) == (b"first", b"second")  # two reads, not one merged
    assert first_at is not None and second_at is not None
    assert abs(first_at - sent_at[0]) < 0.01
    assert abs(second_at - sent_at[1]) < 0.01


async def test_a_reader_that_falls_behind_pauses_its_connection(
        reading: ReadingProcess) -> None:
    """The reading process stops reading a connection whose reader has 1 MB unread, so a
    fast sender cannot fill memory; every byte still comes through, in order, once read."""
    listener = socket.create_server(("127.0.0.1", 0))
    payload = bytes(range(256)) * (3 * 4096)  # 3 MiB

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(payload)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    stream = await ArrivalBackend(reading).connect_tcp("127.0.0.1", listener.getsockname()[1])
    assert isinstance(stream, ArrivalStream)
    inbox = stream._inbox
    for _ in range(40):  # give the reading process time to read all it would
        await asyncio.sleep(0.05)
    assert inbox.unread == receiver._PAUSE_BYTES  # read up to its credit, and no further
    received = bytearray()
    while chunk := await stream.read(65536):
        received += chunk
    await stream.aclose()
    server.join(timeout=5)
    listener.close()
    assert bytes(received) == payload


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_sim(ca: trustme.CA) -> Iterator[SimServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = SimServer({"m": SimModel(ttft_seconds=0.2, inter_token_seconds=0.05,
                                      output_tokens=4)}, seed=3, tls=context)
    server.start_in_thread()  # its own loop: stalling the client's loop leaves it alone
    yield server
    server.stop_thread()


def _target(server: SimServer) -> Target:
    assert server.base_url is not None and server.base_url.startswith("https://")
    return Target(api="openai", base_url=server.base_url, model="m", api_key="sk-test",
                  timeout_seconds=5)


async def test_tls_probe_is_timed_from_kernel_stamps(tls_sim: SimServer,
                                                      ca: trustme.CA) -> None:
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    async with probe_client(client_tls) as client:
        first = await run_probe("latency", _target(tls_sim), client)
        probe = asyncio.create_task(run_probe("latency", _target(tls_sim), client))
        await asyncio.sleep(0.05)  # the request is out; its first token is 0.2 s away
        time.sleep(STALL)  # the loop is blocked while the tokens arrive
        stalled = await probe

    assert first.ok and stalled.ok, (first.error_message, stalled.error_message)
    assert first.connect_seconds is not None and first.connect_seconds > 0  # TCP + TLS
    assert stalled.connect_seconds == 0.0 and stalled.extra["connection_reused"] is True
    record = tls_sim.records[-1]
    assert record.first_content_at is not None and record.last_content_at is not None
    truth = record.first_content_at - record.received_at
    # Read and parsed only after the stall, yet timed on arrival, and the tokens that came
    # 50 ms apart meanwhile were not merged into one stamp (that would be off by >= 50 ms).
    assert abs(stalled.ttft_seconds - truth) < 0.01
    gap = (record.last_content_at - record.first_content_at) / 3
    assert stalled.output_tokens_per_second is not None
    assert abs(1 / stalled.output_tokens_per_second - gap) < 0.005


async def test_an_untrusted_certificate_is_a_network_error(tls_sim: SimServer) -> None:
    async with probe_client() as client:  # the system's CAs: the test CA is not among them
        result = await run_probe("latency", _target(tls_sim), client)
    assert result.error_class == ErrorClass.NETWORK
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error_message or "")
    assert "sk-test" not in (result.error_message or "")


async def test_a_refused_connection_is_a_network_error() -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    async with probe_client() as client:
        result = await run_probe("latency", Target(
            api="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m",
            timeout_seconds=5), client)
    assert result.error_class == ErrorClass.NETWORK


async def test_a_silent_server_times_out_the_read() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        async with probe_client() as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post(f"http://127.0.0.1:{listener.getsockname()[1]}/",
                                  content=b"{}", timeout=httpx.Timeout(5, read=0.2))
    finally:
        listener.close()


def test_the_simulator_times_a_request_from_its_arrival() -> None:
    """The server's truth starts when the request reached the machine, even when the
    server's loop was busy then (otherwise a busy simulator shortens the true TTFT)."""
    server = SimServer({"m": SimModel(ttft_seconds=0.05, output_tokens=3)}, seed=1)
    server.start_in_thread()
    try:
        assert server.base_url is not None and server._thread_loop is not None
        with httpx.Client() as client:
            client.get(server.origin + "/v1/models")  # a warm connection
            server._thread_loop.call_soon_threadsafe(time.sleep, STALL)  # the server stalls
            time.sleep(0.02)
            sent = perf_counter()
            response = client.post(server.base_url + "/chat/completions", json={
                "model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 200
        record = server.records[-1]
        assert record.received_at - sent < 0.05  # arrival, not the end of the stall
        assert record.first_content_at is not None
        assert record.first_content_at - sent >= STALL - 0.05  # it did stall
    finally:
        server.stop_thread()
