"""factorwatch as the client under test: N streams, each running the latency probe back to
back through run_probe (the daemon's code path) against the simulated server.

    python -m bench.ttft_fidelity.fw_client --origin URL --streams 200 --seconds 20 --out F
    ... --api bedrock      # another dialect of the simulator (default openai)

Writes one JSON object per request: its tag, ok, TTFT, mean inter-token latency and the
p99 of its gaps as factorwatch measured them, whether its reads flagged it
timing_unreliable (kernel stamps only), and the loop lag seen while it ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

from probes import run_probe
from probes.auth import with_credentials
from probes.target import Target
from service.probing.clients import SHARDS, ProbeClients
from service.probing.looplag import LagWindow, monitor_loop_lag
from service.sim.server import base_url_for
from service.sim.wire_bedrock import SIM_REGION, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY


class _Null:
    def observe(self, amount: float) -> None:
        pass


def row(tag: str, result: Any, lag: float) -> dict[str, Any]:
    speed = result.output_tokens_per_second
    return {"tag": tag, "ok": result.ok, "error": str(result.error_class or ""),
            "ttft": result.ttft_seconds, "itl_mean": 1 / speed if speed else None,
            "itl_p99": result.extra.get("itl_p99_seconds"), "loop_lag": lag,
            "stamped": "read_late_seconds" in result.extra,
            "flagged": bool(result.extra.get("timing_unreliable"))}


async def stream(n: int, http: httpx.AsyncClient, base: Target, until: float,
                 window: LagWindow, out: list[dict[str, Any]], tool: str) -> None:
    i = 0
    while perf_counter() < until:
        tag = f"fwreq-{tool}{n}-{i}"
        i += 1
        target = Target(api=base.api, base_url=base.base_url, model=base.model,
                        timeout_seconds=base.timeout_seconds, max_tokens=base.max_tokens,
                        prompt=f"{tag} say something short",
                        credentials=base.credentials)  # made once, as the daemon does
        since = window.now()
        result = await run_probe("latency", target, http)
        out.append({"started": since, **row(tag, result, window.worst_since(since))})


async def run(origin: str, streams: int, seconds: float, model: str, shards: int,
              stamps: str = "kernel", api: str = "openai") -> list[dict[str, Any]]:
    # As the daemon's probes have them (stream n as candidate n); "loop" reads through
    # httpx's own network backend, stamped when the loop gets to them, as before.
    clients = ProbeClients(shards, stamped=stamps == "kernel")
    window = LagWindow()
    monitor = asyncio.create_task(monitor_loop_lag(_Null(), window=window))
    # The bench's server checks no token (a token is fetched before the clock starts
    # anyway), but it does verify SigV4, which covers the body: Bedrock signs for real.
    base = Target(api=api, base_url=base_url_for(origin, api), model=model,
                  timeout_seconds=30, max_tokens=16)
    if api.startswith("bedrock"):  # SigV4 with the simulator's test credentials
        os.environ.update(AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID, AWS_DEFAULT_REGION=SIM_REGION,
                          AWS_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY)
        base = with_credentials(base)
    out: list[dict[str, Any]] = []
    until = perf_counter() + seconds
    await asyncio.gather(*(stream(n, clients.for_key(f"sim/m{n:04d}"), base, until, window,
                                  out, "f") for n in range(streams)))
    await clients.aclose()
    monitor.cancel()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", required=True)
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--model", default="sim")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--api", default="openai", help="the dialect the streams speak")
    parser.add_argument("--shards", type=int, default=SHARDS, help="HTTP client pools")
    parser.add_argument("--stamps", choices=("kernel", "loop"), default="kernel",
                        help="arrival times from the kernel (the daemon's way) or the loop")
    args = parser.parse_args()
    rows = asyncio.run(run(args.origin, args.streams, args.seconds, args.model, args.shards,
                           args.stamps, args.api))
    args.out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
