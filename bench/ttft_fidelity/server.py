"""The simulated fleet in a process of its own, so its timing shares no event loop and no
GIL with the client under test. Its truth records are tagged with the request they answer.

    python -m bench.ttft_fidelity.server --models 1000 --seed 1

Prints `READY <origin>` on stdout, then obeys commands on stdin, one per line:
`reset` (forget the records), `dump PATH` (write them as JSON, answer `OK`); EOF stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from service.sim.behaviour import SimModel
from service.sim.http11 import Request
from service.sim.server import SimServer

TAG = re.compile(rb"fwreq-[0-9a-z]+-[0-9]+")  # a client puts one in each prompt
LAG_INTERVAL = 0.005  # the server's own loop lag, sampled finely: it is part of the error


@dataclass(frozen=True)
class Timing:
    """The simulated model every benchmark request is answered by (lognormal delays)."""

    ttft: float = 0.4
    ttft_sigma: float = 0.5
    itl: float = 0.02
    itl_sigma: float = 0.3
    tokens: int = 16
    reasoning: int = 0  # reasoning tokens before the answer (bench/reasoning_fidelity.py)

    def model(self) -> SimModel:
        return SimModel(ttft_seconds=self.ttft, ttft_sigma=self.ttft_sigma,
                        inter_token_seconds=self.itl, itl_sigma=self.itl_sigma,
                        output_tokens=self.tokens, reasoning_tokens=self.reasoning)


class TaggedSimServer(SimServer):
    """SimServer that remembers which tagged request each truth record answers.

    Requests on one keep-alive connection are answered in order, and each creates one
    record on that connection, so (connection, order) pairs a tag with its record."""

    def __init__(self, models: dict[str, SimModel], seed: int) -> None:
        super().__init__(models, seed=seed)
        self.tags: dict[int, list[str]] = {}
        self.lags: list[float] = []

    async def _respond(self, request: Request, writer: asyncio.StreamWriter,
                       connection: int) -> bool:
        if request.method == "POST":
            match = TAG.search(request.body)
            self.tags.setdefault(connection, []).append(match.group().decode() if match else "")
        return await super()._respond(request, writer, connection)

    def reset(self) -> None:
        self.records.clear()
        self.tags.clear()
        self.lags.clear()

    def truth(self) -> list[dict[str, Any]]:
        by_connection: dict[int, list[Any]] = {}
        for record in self.records:
            by_connection.setdefault(record.connection, []).append(record)
        out = []
        for connection, records in by_connection.items():
            tags = self.tags.get(connection, [])
            if len(tags) != len(records):
                continue  # a request without a record (an error before it): cannot pair
            for tag, r in zip(tags, records, strict=True):
                if tag and r.first_content_at is not None:
                    out.append({"tag": tag, "received_at": r.received_at,
                                "first_at": r.first_content_at, "last_at": r.last_content_at,
                                "tokens": r.content_tokens, "times": r.token_times,
                                "first_answer_at": r.first_answer_at,
                                "reasoning_tokens": r.reasoning_tokens})
        return out

    async def sample_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            self.lags.append(max(0.0, loop.time() - start - LAG_INTERVAL))


def model_names(count: int) -> list[str]:
    """`sim` for the fidelity clients, and one model per candidate of the daemon's run."""
    return ["sim", *(f"sim-{i:04d}" for i in range(count if count > 1 else 0))]


async def serve(models: int, seed: int, timing: Timing) -> None:
    model = timing.model()
    server = TaggedSimServer(dict.fromkeys(model_names(models), model), seed)
    origin = (await server.start()).removesuffix("/v1")
    lag_task = asyncio.create_task(server.sample_lag())
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:  # a thread: blocking reads never stall the serving loop
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    print("READY", origin, flush=True)
    while (command := await commands.get()) is not None:
        if command == "reset":
            server.reset()
            print("OK", flush=True)
        elif command.startswith("dump "):
            lags = sorted(server.lags)
            payload = {"records": server.truth(), "clock": perf_counter(),
                       "loop_lag_p99": lags[int(0.99 * (len(lags) - 1))] if lags else None,
                       "loop_lag_max": lags[-1] if lags else None}
            Path(command[5:]).write_text(json.dumps(payload))
            print("OK", flush=True)
    lag_task.cancel()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timing", default="{}", help="JSON: fields of Timing")
    args = parser.parse_args()
    asyncio.run(serve(args.models, args.seed, Timing(**json.loads(args.timing))))


if __name__ == "__main__":
    main()
