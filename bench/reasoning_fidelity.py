"""Benchmark: how truthfully factorwatch times the first ANSWER token of a reasoning model.

    python -m bench.reasoning_fidelity                       # 1 and 50 streams, four APIs
    python -m bench.reasoning_fidelity --streams 1 --seconds 10 --apis openai   # a quick look

The simulated fleet (bench/ttft_fidelity/server.py: service.sim in a process of its own)
answers every request with reasoning before the answer, in each API's own form (DeepSeek's
reasoning_content, Anthropic thinking blocks, Gemini thought parts, the Responses API's
reasoning summary deltas), and records when it wrote the first token of any kind and the
first answer token. For each API and each level of concurrent streams, this process runs
the latency probe back to back on that many streams through run_probe and the daemon's
clients (kernel arrival stamps, the reading process), each request tagged in its prompt;
then it pairs each measurement with its truth.

Truth: first answer = the server's perf_counter just before it wrote the first answer chunk
- when the request's last byte reached it (kernel stamp); TTFT the same for the first chunk
of any kind. Measured: first_answer_seconds and ttft_seconds (docs/architecture.md,
Measurement definitions). Error = measured - truth. Prints a Markdown table for
bench/RESULTS.md and writes every number as JSON (--out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

from bench.ttft_fidelity.__main__ import Server
from bench.ttft_fidelity.server import Timing
from bench.ttft_fidelity.stats import summary
from probes import run_probe
from probes.target import Target
from service.probing.clients import SHARDS, ProbeClients
from service.sim.server import base_url_for

APIS = ("openai", "anthropic", "gemini", "openai-responses")
# 48 reasoning tokens before 16 answer tokens: the answer starts ~0.5 s after the first token.
TIMING = Timing(ttft=0.4, ttft_sigma=0.5, itl=0.01, itl_sigma=0.3, tokens=16, reasoning=48)


async def stream(n: int, api: str, origin: str, http: httpx.AsyncClient, until: float,
                 out: list[dict[str, Any]]) -> None:
    i = 0
    while perf_counter() < until:
        tag = f"fwreq-r{n}-{i}"
        i += 1
        target = Target(api=api, base_url=base_url_for(origin, api), model="sim",
                        api_key="sk-bench-not-a-secret", timeout_seconds=30, max_tokens=128,
                        prompt=f"{tag} say something short")
        result = await run_probe("latency", target, http)
        out.append({"tag": tag, "ok": result.ok, "error": str(result.error_class or ""),
                    "ttft": result.ttft_seconds, "first_answer": result.first_answer_seconds,
                    "reasoning_tokens": result.reasoning_tokens,
                    "flagged": bool(result.extra.get("timing_unreliable"))})


async def measure(api: str, origin: str, streams: int, seconds: float
                  ) -> list[dict[str, Any]]:
    clients = ProbeClients(SHARDS)
    await clients.warm_up()
    out: list[dict[str, Any]] = []
    until = perf_counter() + seconds
    await asyncio.gather(*(stream(n, api, origin, clients.for_key(f"sim/m{n:04d}"), until,
                                  out) for n in range(streams)))
    await clients.aclose()
    return out


def compare(rows: list[dict[str, Any]], truth: list[dict[str, Any]]) -> dict[str, Any]:
    by_tag = {r["tag"]: r for r in truth}
    errs: dict[str, list[float]] = {"ttft": [], "first_answer": []}
    unmatched = 0
    reasoning_errors: list[int] = []
    for row in rows:
        record = by_tag.get(row["tag"])
        if record is None or not row["ok"]:
            unmatched += record is None
            continue
        truths = {"ttft": record["first_at"] - record["received_at"],
                  "first_answer": (record["first_answer_at"] - record["received_at"]
                                   if record["first_answer_at"] is not None else None)}
        for field, true in truths.items():
            if row[field] is not None and true is not None:
                errs[field].append(row[field] - true)
        if row["reasoning_tokens"] is not None:
            reasoning_errors.append(row["reasoning_tokens"] - record["reasoning_tokens"])
    return {"requests": len(rows), "failed": sum(not r["ok"] for r in rows),
            "unmatched": unmatched, "flagged": sum(r["flagged"] for r in rows),
            "reasoning_tokens_exact": sum(e == 0 for e in reasoning_errors),
            "reasoning_tokens_mean_error": (sum(reasoning_errors) / len(reasoning_errors)
                                            if reasoning_errors else None),
            "ttft": summary(errs["ttft"]), "first_answer": summary(errs["first_answer"])}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| API | streams | requests (failed) | first answer error p50 / p99 / max (ms) "
             "| bias (ms) | TTFT error p50 / p99 (ms) | reasoning tokens exact (mean error) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        fa, tt = r["first_answer"], r["ttft"]
        lines.append(f"| {r['api']} | {r['streams']} | {r['requests']} ({r['failed']}) | "
                     f"{_ms(fa['p50'])} / {_ms(fa['p99'])} / {_ms(fa['max'])} | "
                     f"{_ms(fa['bias'])} | {_ms(tt['p50'])} / {_ms(tt['p99'])} | "
                     f"{r['reasoning_tokens_exact']} ({_tokens(r)}) |")
    return "\n".join(lines)


def _tokens(r: dict[str, Any]) -> str:
    error = r["reasoning_tokens_mean_error"]
    return "—" if error is None else f"{error:+.1f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,50", help="comma-separated levels")
    parser.add_argument("--seconds", type=float, default=30, help="per API and level")
    parser.add_argument("--min-requests", type=int, default=100,
                        help="run a level longer until about this many requests")
    parser.add_argument("--apis", default=",".join(APIS))
    parser.add_argument("--out", type=Path, help="write every number as JSON here")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work, open(Path(work) / "server.log", "w") as log:
        server = Server(1, TIMING, log)
        try:
            for api in args.apis.split(","):
                for streams in (int(s) for s in args.streams.split(",")):
                    server.reset()
                    # one request takes about 1 s (0.4 s TTFT, 63 gaps of 10 ms)
                    seconds = max(args.seconds, args.min_requests / streams)
                    rows = asyncio.run(measure(api, server.origin, streams, seconds))
                    truth = server.dump(Path(work) / "truth.json")["records"]
                    results.append({"api": api, "streams": streams,
                                    **compare(rows, truth)})
                    print(f"{api:>16} {streams:>3} streams: "
                          f"{json.dumps(results[-1]['first_answer'])}", file=sys.stderr,
                          flush=True)
        finally:
            server.close()
    print(f"{platform.node()} · {os.cpu_count()} cores · load average "
          f"{os.getloadavg()[0]:.2f} at the end\n")
    print(markdown(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
