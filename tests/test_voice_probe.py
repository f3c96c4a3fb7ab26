"""The voice probe against the simulator's realtime APIs on 127.0.0.1 (service/sim/realtime.py):
timings against the server's truth, silence padding, faults and their classes, no secret
in what it reports."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from probes import run_probe
from probes.auth import CredentialsError
from probes.dialects import HttpRequest
from probes.result import ErrorClass, ProbeResult
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import SimRecord
from service.sim.openai_server import SimModel, SimServer
from service.sim.realtime import VoiceFault, VoiceScript

pytestmark = pytest.mark.integration  # a simulator, processes

SECRET = "sk-proj-VOICEKEY0123456789abcdefABCDEF"
APIS = ["openai", "azure-openai", "gemini"]
PADDING = VoiceScript(silence_seconds=0.4, speech_seconds=0.3, realtime_factor=2.0)
FAULTS: dict[VoiceFault, ErrorClass] = {
    "drop": ErrorClass.TRUNCATED,
    "close_1011": ErrorClass.HTTP_5XX,
    "close_1008": ErrorClass.AUTH,
    "silent": ErrorClass.EMPTY_RESPONSE,
}
MODELS = {
    "padded": SimModel(ttft_seconds=0.1, voice=PADDING),
    "slow": SimModel(ttft_seconds=0.02, voice=VoiceScript(
        silence_seconds=0.0, speech_seconds=0.4, realtime_factor=0.5)),
    "error_event": SimModel(ttft_seconds=0.02, voice=VoiceScript(fault="error_event")),
    "handshake_429": SimModel(voice=VoiceScript(fault="handshake_429")),
    **{fault: SimModel(ttft_seconds=0.02, voice=VoiceScript(fault=fault)) for fault in FAULTS},
}


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(MODELS, seed=1, api_key=SECRET)
    server.start_in_thread()  # its own loop: a stalled client loop leaves it alone
    yield server
    server.stop_thread()


@pytest.fixture(params=["kernel", "loop"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client(stamped=request.param == "kernel") as c:
        yield c


def target(sim: SimServer, api: str, model: str, key: str = SECRET) -> Target:
    return Target(api=api, base_url=sim.url_for(api), model=model, api_key=key,
                  timeout_seconds=5)


def truth(sim: SimServer) -> SimRecord:
    record = sim.records[-1]
    assert record.first_content_at is not None and record.first_speech_at is not None
    return record


def no_secret(result: ProbeResult) -> None:
    assert SECRET not in json.dumps(result.to_json())
    assert SECRET[8:20] not in json.dumps(result.to_json())


@pytest.mark.parametrize("api", APIS)
async def test_silence_padding_is_not_the_answer(sim: SimServer, client: httpx.AsyncClient,
                                                 api: str) -> None:
    result = await run_probe("voice", target(sim, api, "padded"), client)
    assert result.ok, result.error_message
    record = truth(sim)
    assert result.first_audio_seconds is not None and result.first_speech_seconds is not None
    # 0.4 s of padding at twice real time: speech arrives 0.2 s after the first audio byte
    assert result.first_speech_seconds - result.first_audio_seconds == pytest.approx(0.2,
                                                                                     abs=0.02)
    assert result.extra["leading_silence_seconds"] == pytest.approx(0.4)
    assert abs(result.first_audio_seconds - (record.first_content_at - record.received_at)
               ) < 0.01
    assert abs(result.first_speech_seconds - (record.first_speech_at - record.received_at)
               ) < 0.01
    assert record.first_transcript_at is not None and result.first_transcript_seconds
    assert abs(result.first_transcript_seconds - (record.first_transcript_at
                                                  - record.received_at)) < 0.01
    assert result.realtime_factor == pytest.approx(2.0, rel=0.1)
    assert result.playback_stall_seconds == pytest.approx(0.0, abs=0.01)
    assert result.extra["audio_seconds"] == pytest.approx(0.7)
    assert result.extra["transcript"].startswith("Hello")
    assert result.audio_output_tokens == 7 and result.output_tokens
    assert result.total_seconds and result.total_seconds >= result.extra["turn_seconds"]
    assert result.http_status == 101 and result.connect_seconds is not None
    assert result.ttft_seconds is None  # a spoken answer has no first token


async def test_audio_slower_than_real_time_stalls_playback(sim: SimServer,
                                                           client: httpx.AsyncClient) -> None:
    result = await run_probe("voice", target(sim, "openai", "slow"), client)
    assert result.ok, result.error_message
    assert result.realtime_factor == pytest.approx(0.5, rel=0.1)
    # 8 pieces of 50 ms, each 100 ms after the last: playback waits 50 ms for 7 of them
    assert result.playback_stall_seconds == pytest.approx(0.35, abs=0.03)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("fault", "error_class"), FAULTS.items())
async def test_faults_are_classified(sim: SimServer, client: httpx.AsyncClient, api: str,
                                     fault: str, error_class: ErrorClass) -> None:
    result = await run_probe("voice", target(sim, api, fault), client)
    assert (result.ok, result.error_class) == (False, error_class), result.error_message
    assert result.error_message
    if fault in ("drop", "close_1011"):  # after two audio messages: what came is measured
        assert result.first_audio_seconds is not None
        assert ("1011" in result.error_message) == (fault == "close_1011")
    no_secret(result)


@pytest.mark.parametrize("api", ["openai", "azure-openai"])
async def test_refused_handshakes(sim: SimServer, client: httpx.AsyncClient, api: str) -> None:
    wrong = await run_probe("voice", target(sim, api, "padded", key=SECRET[::-1]), client)
    assert (wrong.error_class, wrong.http_status) == (ErrorClass.AUTH, 401)
    assert SECRET[::-1] not in (wrong.error_message or "")  # the server echoed it: scrubbed
    limited = await run_probe("voice", target(sim, api, "handshake_429"), client)
    assert (limited.error_class, limited.retry_after_seconds) == (ErrorClass.RATE_LIMITED, 7)
    missing = await run_probe("voice", target(sim, api, "no-such-model"), client)
    assert (missing.error_class, missing.http_status) == (ErrorClass.HTTP_4XX, 404)


async def test_gemini_refuses_a_bad_key_with_a_close_code(sim: SimServer,
                                                          client: httpx.AsyncClient) -> None:
    result = await run_probe("voice", target(sim, "gemini", "padded", key="AIza-wrong"),
                             client)
    assert result.error_class == ErrorClass.AUTH
    assert "1008" in (result.error_message or "")
    missing = await run_probe("voice", target(sim, "gemini", "no-such-model"), client)
    assert missing.error_class == ErrorClass.HTTP_4XX


async def test_an_error_event_is_a_stream_error(sim: SimServer,
                                                client: httpx.AsyncClient) -> None:
    result = await run_probe("voice", target(sim, "openai", "error_event"), client)
    assert result.error_class == ErrorClass.STREAM_ERROR
    assert "server_error" in (result.error_message or "")


async def test_an_api_without_a_realtime_protocol_is_refused_by_name(
        sim: SimServer, client: httpx.AsyncClient) -> None:
    result = await run_probe("voice", Target(api="anthropic", base_url=sim.url_for("anthropic"),
                                             model="m"), client)
    assert result.error_class == ErrorClass.MALFORMED
    assert "anthropic" in (result.error_message or "")


async def test_messages_keep_their_arrival_stamps_while_the_loop_is_busy(
        sim: SimServer) -> None:
    """The equivalent of the HTTP probes' kernel stamps: a WebSocket message read after a
    150 ms stall of the loop is still timed when it arrived."""
    async with probe_client() as client:
        await run_probe("voice", target(sim, "openai", "padded"), client)  # connected once
        probe = asyncio.create_task(run_probe("voice", target(sim, "openai", "padded"),
                                              client))
        await asyncio.sleep(0.05)  # the turn is out; the first audio is ~0.1 s away
        time.sleep(0.15)  # the loop is blocked while the audio arrives
        result = await probe
    assert result.ok, result.error_message
    record = truth(sim)
    assert result.first_audio_seconds is not None and result.first_speech_seconds is not None
    assert abs(result.first_audio_seconds - (record.first_content_at - record.received_at)
               ) < 0.01
    assert abs(result.first_speech_seconds - (record.first_speech_at - record.received_at)
               ) < 0.01


def test_factorwatch_probe_kind_voice_prints_the_timings(sim: SimServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    out = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "probe", "--url", sim.url_for("gemini"),
         "--api", "gemini", "--model", "padded", "--api-key-env", "FW_KEY", "--kind", "voice",
         "--prompt", "Hello?"],
        capture_output=True, text=True, env={**env, "FW_KEY": SECRET}, timeout=60)
    assert out.returncode == 0, out.stderr
    printed = dict(line.split(None, 1) for line in out.stdout.splitlines())
    for name in ("first_audio_seconds", "first_speech_seconds", "first_transcript_seconds",
                 "realtime_factor", "playback_stall_seconds", "audio_output_tokens"):
        assert name in printed, out.stdout
    assert float(printed["first_speech_seconds"]) > float(printed["first_audio_seconds"])
    assert SECRET not in out.stdout + out.stderr


def test_the_voice_fidelity_bench_pairs_each_measurement_with_its_truth() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.voice_fidelity", "--sessions", "1,3",
                          "--rounds", "2,1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line.split("|") for line in out.stdout.splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert [(r[1].strip(), r[3].strip(), r[-2].strip()) for r in rows] == [
        ("1", "2", "0"), ("1", "2", "0"), ("3", "3", "0"), ("3", "3", "0")]
    kernel = [r for r in rows if "kernel" in r[2]]
    for row in kernel:  # p99 of |error| in ms, first speech: a paired truth is that close
        assert float(row[5].split("/")[1]) < 5.0


class _Token:
    """Credentials that give the key as the header Azure takes (as an Entra ID token
    would give a bearer), or fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.requests: list[str] = []

    async def authorize(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        self.requests.append(f"{request.method} {request.url}")
        if self.fail:
            raise CredentialsError("the token endpoint refused the client")
        return {"api-key": SECRET}


async def test_credentials_sign_the_handshake(sim: SimServer,
                                              client: httpx.AsyncClient) -> None:
    token = _Token()
    result = await run_probe("voice", dataclasses.replace(
        target(sim, "azure-openai", "padded"), api_key=None, credentials=token), client)
    assert result.ok, result.error_message
    assert token.requests == [f"GET {sim.url_for('azure-openai')}/openai/v1/realtime"
                              "?model=padded"]
    refused = await run_probe("voice", dataclasses.replace(
        target(sim, "azure-openai", "padded"), api_key=None, credentials=_Token(fail=True)),
        client)
    assert refused.error_class == ErrorClass.AUTH
    assert "token endpoint refused" in (refused.error_message or "")
