"""Benchmark: how truthfully the voice probe times first audio and first speech.

    python -m bench.voice_fidelity                      # 1 and 50 concurrent sessions
    python -m bench.voice_fidelity --sessions 1,50 --rounds 20,3

The simulator (service/sim/realtime.py) runs in a process of its own, so its timing shares
no event loop and no GIL with the probes, and records per session when the user's turn
arrived (the kernel's stamp of its last byte) and, just before writing them, the first
audio message and the first one with speech (time.perf_counter: CLOCK_MONOTONIC, one clock
for every process). For each level of concurrent sessions, the voice probe runs that many
sessions at once, each against a model of its own (so session k of a model pairs with its
k-th record), over OpenAI Realtime and Gemini Live in turn, with the daemon's kernel-stamped
client and with a client that stamps frames when the loop reads them. The error of a
measurement is probe minus truth: first audio against (first audio written - turn arrived),
first speech against (first speech written - turn arrived). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import statistics
from dataclasses import dataclass
from typing import Any

from probes import run_probe
from probes.target import Target
from service.probing.clients import probe_client

APIS = ("openai", "gemini")


@dataclass(frozen=True)
class Script:
    """Every session's answer: lognormal time to first audio, then padding and speech."""

    ttft: float = 0.3
    ttft_sigma: float = 0.3
    silence: float = 0.3
    speech: float = 0.6
    chunk: float = 0.04
    realtime_factor: float = 3.0


def _serve(models: int, script: Script, pipe: Any) -> None:
    from service.sim.behaviour import SimModel
    from service.sim.realtime import VoiceScript
    from service.sim.server import SimServer

    voice = VoiceScript(silence_seconds=script.silence, speech_seconds=script.speech,
                        chunk_seconds=script.chunk, realtime_factor=script.realtime_factor)
    server = SimServer({f"m{i}": SimModel(ttft_seconds=script.ttft, ttft_sigma=script.ttft_sigma,
                                          voice=voice) for i in range(models)}, seed=1)
    pipe.send(server.start_in_thread())
    while (command := pipe.recv()) != "stop":
        if command == "dump":
            pipe.send([(r.model, r.received_at, r.first_content_at, r.first_speech_at)
                       for r in server.records])
            server.records.clear()
    server.stop_thread()


async def _round(client: Any, origin: str, api: str, sessions: int) -> list[Any]:
    base = origin + {"openai": "/v1", "gemini": "/v1beta"}[api]
    targets = [Target(api=api, base_url=base, model=f"m{i}", timeout_seconds=20)
               for i in range(sessions)]
    return list(await asyncio.gather(*(run_probe("voice", t, client) for t in targets)))


async def _measure(origin: str, pipe: Any, sessions: int, rounds: int, stamped: bool
                   ) -> dict[str, list[float]]:
    errors: dict[str, list[float]] = {"first_audio": [], "first_speech": [], "failed": []}
    async with probe_client(stamped=stamped) as client:
        await _round(client, origin, "openai", sessions)  # connect and warm up
        pipe.send("dump")
        pipe.recv()
        for n in range(rounds):
            api = APIS[n % len(APIS)]
            results = await _round(client, origin, api, sessions)
            pipe.send("dump")
            truth = {model: (received, audio, speech)
                     for model, received, audio, speech in pipe.recv()}
            for i, result in enumerate(results):
                received, audio, speech = truth[f"m{i}"]
                if not result.ok:
                    errors["failed"].append(1.0)
                    continue
                errors["first_audio"].append(result.first_audio_seconds - (audio - received))
                errors["first_speech"].append(result.first_speech_seconds - (speech - received))
    return errors


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(abs(v) for v in values)
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,50", help="concurrency levels, e.g. 1,50")
    parser.add_argument("--rounds", default="40,4", help="rounds per level, e.g. 40,4")
    args = parser.parse_args()
    levels = [int(x) for x in args.sessions.split(",")]
    rounds = [int(x) for x in args.rounds.split(",")]
    script = Script()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(max(levels), script, child),
                                     daemon=True)
    server.start()
    origin = parent.recv()
    rows = []
    try:
        for level, count in zip(levels, rounds, strict=True):
            for stamped in (True, False):
                found = asyncio.run(_measure(origin, parent, level, count, stamped))
                rows.append((level, "kernel stamps" if stamped else "loop read time", found))
    finally:
        parent.send("stop")
        server.join(timeout=30)
    print(f"Script: {json.dumps(script.__dict__)}; {platform.machine()}, "
          f"{multiprocessing.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| sessions | client | n | first audio abs error p50 / p99 (ms) | "
          "first speech abs error p50 / p99 (ms) | median signed error, speech (ms) | failed |")
    print("|---:|---|---:|---|---|---:|---:|")
    for level, client, found in rows:
        speech = found["first_speech"]
        median = f"{statistics.median(speech) * 1000:+.2f}" if speech else "-"
        print(f"| {level} | {client} | {len(found['first_audio'])} | "
              f"{_ms(found['first_audio'], 0.5)} / {_ms(found['first_audio'], 0.99)} | "
              f"{_ms(speech, 0.5)} / {_ms(speech, 0.99)} | {median} | {len(found['failed'])} |")


if __name__ == "__main__":
    main()
