"""Benchmark: how truthfully factorwatch times a stream, beside guidellm, on one machine.

    pip install torch==2.13.0 && pip install -e '.[bench]'   # torch first: the CPU wheel
    python -m bench.ttft_fidelity                       # 1, 50, 200, 500 streams + rates
    python -m bench.ttft_fidelity --streams 1,50 --rates 20 --seconds 10   # a quick look
    python -m bench.ttft_fidelity --apis openai,bedrock,vertex --streams 1,50 --rates ""  # dialects

The simulated server (service.sim) runs in a process of its own and records, per request,
when it wrote each content chunk (time.perf_counter: CLOCK_MONOTONIC, one clock for every
process on the machine). For each level of concurrent streams, factorwatch's latency probe
(fw_client.py, run_probe as the daemon runs it) and then guidellm's concurrent profile
(gl_client.py) load the same server in turn; every request carries a tag in its prompt, so
each measurement is paired with its truth (stats.py says exactly how TTFT and ITL are
defined on each side). Then the real daemon (rate.py) runs with 1,000 configured candidates
at rising probe rates, for its scheduling lag, RSS and the same errors.
Prints a Markdown report (for bench/RESULTS.md) and writes every number as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

from bench.ttft_fidelity import gl_client
from bench.ttft_fidelity.report import markdown
from bench.ttft_fidelity.server import Timing
from bench.ttft_fidelity.stats import errors, percentile, summary, truth_of
from service.probing.looplag import UNRELIABLE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
TARGET_MS = 2.0
SCHED_LAG_TARGET = 0.100
RSS_TARGET_MB = 200.0


class Server:
    """The simulated fleet's process, driven over its stdin (see server.py)."""

    def __init__(self, models: int, timing: Timing, log: IO[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ttft_fidelity.server", "--models", str(models),
             "--timing", json.dumps(timing.__dict__)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self._line()
        if not line.startswith("READY "):
            raise RuntimeError(f"simulated server did not start: {line!r}")
        self.origin = line.split()[1]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def _command(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        if (answer := self._line()) != "OK":
            raise RuntimeError(f"simulated server answered {answer!r} to {command!r}")

    def reset(self) -> None:
        self._command("reset")

    def dump(self, path: Path) -> dict[str, Any]:
        self._command(f"dump {path}")
        return dict(json.loads(path.read_text()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def after_warmup(rows: list[dict[str, Any]], warmup: float) -> list[dict[str, Any]]:
    starts = [r["started"] for r in rows if r.get("started") is not None]
    if not starts:
        return []
    begin = min(starts) + warmup
    return [r for r in rows if r.get("started") is not None and r["started"] >= begin]


def fidelity(rows: list[dict[str, Any]], truth: dict[str, Any], seconds: float
             ) -> dict[str, Any]:
    errs, unmatched = errors([r for r in rows if r["ok"]], truth["records"])
    lags = [r["loop_lag"] for r in rows if "loop_lag" in r]
    # As the daemon flags (docs/scoring.md): from its reads when the reading process made
    # them, else (stamped by the loop, as behind a proxy) from the loop's lag.
    flagged = [r["flagged"] if r.get("stamped") else r["loop_lag"] > UNRELIABLE_SECONDS
               for r in rows if "loop_lag" in r]
    return {"requests": len(rows), "failed": sum(not r["ok"] for r in rows),
            "unmatched": unmatched, "per_second": len(rows) / seconds,
            "ttft": summary(errs["ttft"]), "itl_mean": summary(errs["itl_mean"]),
            "itl_p99": summary(errs["itl_p99"]),
            "flagged": sum(flagged) / len(flagged) if flagged else None,
            "client_lag_p99_ms": 1000 * (percentile(lags, 0.99) or 0) if lags else None,
            "server_lag_p99_ms": 1000 * (truth["loop_lag_p99"] or 0),
            "server_lag_max_ms": 1000 * (truth["loop_lag_max"] or 0)}


def run_fw(server: Server, streams: int, seconds: float, work: Path, log: IO[str],
           stamps: str = "kernel", api: str = "openai") -> list[dict[str, Any]]:
    out = work / f"fw-{api}-{stamps}-{streams}.json"
    subprocess.run([sys.executable, "-m", "bench.ttft_fidelity.fw_client", "--origin",
                    server.origin, "--streams", str(streams), "--seconds", f"{seconds:g}",
                    "--stamps", stamps, "--api", api, "--out", str(out)], cwd=ROOT, check=True,
                   stdout=log, stderr=log, timeout=seconds + 300)
    return list(json.loads(out.read_text()))


def level(server: Server, streams: int, args: argparse.Namespace, work: Path,
          log: IO[str]) -> dict[str, Any]:
    # Enough time for min_requests per client at low concurrency (1 stream: ~0.7 s each).
    timing = Timing()
    per_request = timing.ttft + (timing.tokens - 1) * timing.itl
    seconds = max(args.seconds, args.min_requests * per_request / streams)
    total = args.warmup + seconds
    out: dict[str, Any] = {"streams": streams, "seconds": seconds}
    apis = [a for a in args.apis.split(",") if a]
    clients: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = []
    if "openai" in apis:  # the loop-stamped peer and guidellm speak OpenAI's API
        clients = [("factorwatch", lambda: run_fw(server, streams, total, work, log)),
                   ("factorwatch-loop", lambda: run_fw(server, streams, total, work, log,
                                                       "loop"))]
        if not args.no_guidellm:
            clients.append(("guidellm",
                            lambda: gl_client.run(server.origin, streams, total, work)))
    for api in (a for a in apis if a != "openai"):  # the same probe in other dialects
        clients.append((f"factorwatch ({api})",
                        partial(run_fw, server, streams, total, work, log, api=api)))
    for name, client in clients:
        server.reset()
        rows = after_warmup(client(), args.warmup)
        truth = server.dump(work / f"truth-{name}-{streams}.json")
        out[name] = fidelity(rows, truth, seconds)
        print(f"  {streams:>4} streams {name:<12} {json.dumps(out[name]['ttft'])}",
              file=sys.stderr, flush=True)
    return out


def pair_by_order(results: list[dict[str, Any]], records: list[dict[str, Any]]
                  ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], int]:
    """Candidate i's k-th stored result with the k-th request the server got from it
    (its probes never overlap); a candidate whose counts differ is left out."""
    mine: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        mine[r["candidate"]].append(r)
    theirs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rec in sorted(records, key=lambda rec: rec["received_at"]):
        theirs[int(rec["tag"].split("-")[1][1:])].append(rec)
    pairs, skipped = [], 0
    for cand, rows in mine.items():
        if len(rows) != len(theirs.get(cand, [])):
            skipped += 1
            continue
        pairs += [(row, rec) for row, rec in zip(rows, theirs[cand], strict=True)
                  if not row.get("warmup")]
    return pairs, skipped


def rate_run(server: Server, rate: float, args: argparse.Namespace, work: Path,
             log: IO[str]) -> dict[str, Any]:
    server.reset()
    out = work / f"rate-{rate:g}.json"
    every = args.candidates / rate
    # Past the first interval (every job's first run falls somewhere in it), so that what is
    # measured is the steady rate; then at least one interval.
    warmup, seconds = every, max(args.rate_seconds, every)
    subprocess.run([sys.executable, "-m", "bench.ttft_fidelity.rate", "--origin",
                    server.origin, "--candidates", str(args.candidates), "--rate", f"{rate:g}",
                    "--seconds", f"{seconds:g}", "--warmup", f"{warmup:g}", "--out", str(out)],
                   cwd=ROOT, check=True, stdout=log, stderr=log, timeout=warmup + seconds + 600)
    data = json.loads(out.read_text())
    truth = server.dump(work / f"truth-rate-{rate:g}.json")
    pairs, skipped = pair_by_order(data["results"], truth["records"])
    errs: dict[str, list[float]] = {"ttft": [], "itl_mean": []}
    for row, rec in pairs:
        t = truth_of(rec)
        for f in errs:
            if row["ok"] and row.get(f) is not None and t[f] is not None:
                errs[f].append(row[f] - t[f])
    measured = [r for r in data["results"] if not r.get("warmup")]
    lags = data["sched_lags"]
    return {
        "rate": rate, "candidates": args.candidates,
        "achieved": len(measured) / data["measured_seconds"],
        "probes": len(measured), "failed": sum(not r["ok"] for r in measured),
        "flagged": sum(r["flagged"] for r in measured) / max(1, len(measured)),
        "skipped_candidates": skipped, "ttft": summary(errs["ttft"]),
        "itl_mean": summary(errs["itl_mean"]),
        "sched_lag_p99_ms": 1000 * (percentile(lags, 0.99) or 0),
        "sched_lag_max_ms": 1000 * max(lags, default=0), "missed": data["missed"],
        "loop_lag_p99_ms": 1000 * (percentile(data["loop_lags"], 0.99) or 0),
        "rss_max_mb": max(data["rss_mb"], default=0)}


def sustains(r: dict[str, Any]) -> bool:
    return (r["achieved"] >= 0.95 * r["rate"] and r["failed"] == 0 and not r["missed"]
            and r["ttft"]["p99"] is not None and r["ttft"]["p99"] <= TARGET_MS
            and r["sched_lag_p99_ms"] <= 1000 * SCHED_LAG_TARGET
            and r["rss_max_mb"] <= RSS_TARGET_MB)


def wait_quiet(limit_minutes: float, below: float = 1.0) -> None:
    deadline = time.monotonic() + 60 * limit_minutes
    while (load := os.getloadavg()[0]) >= below and time.monotonic() < deadline:
        print(f"load average {load:.2f} >= {below}: waiting", file=sys.stderr, flush=True)
        time.sleep(30)


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    try:
        from importlib.metadata import version
        guidellm = version("guidellm")
    except Exception:
        guidellm = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "guidellm": guidellm, "loadavg_start": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,50,200,500")
    parser.add_argument("--seconds", type=float, default=20, help="measured, per client")
    parser.add_argument("--warmup", type=float, default=3, help="discarded, per client")
    parser.add_argument("--min-requests", type=int, default=100,
                        help="measure longer at low concurrency to get about this many")
    parser.add_argument("--rates", default="10,25,50,100,200",
                        help="daemon probe rates to try (probes/s); empty: none")
    parser.add_argument("--rate-seconds", type=float, default=60)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--no-guidellm", action="store_true")
    parser.add_argument("--apis", default="openai", help="dialects the factorwatch client "
                        "speaks, one run each (openai, anthropic, gemini, azure-openai, "
                        "bedrock, bedrock-invoke, vertex, vertex-anthropic, "
                        "azure-ai-inference)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help="first wait up to this long for a 1-min load average < 1.0")
    parser.add_argument("--json", type=Path, default=Path("ttft_fidelity.json"))
    parser.add_argument("--workdir", type=Path, help="keep the raw files here (default: a "
                        "temporary directory, removed)")
    args = parser.parse_args()
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    report: dict[str, Any] = {"machine": machine(), "timing": Timing().__dict__,
                              "seconds": args.seconds, "warmup": args.warmup,
                              "min_requests": args.min_requests,
                              "command": " ".join(["python -m bench.ttft_fidelity",
                                                   *sys.argv[1:]])}
    with tempfile.TemporaryDirectory(prefix="ttft-fidelity-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        with (work / "log.txt").open("w") as log:
            server = Server(max(1, args.candidates), Timing(), log)
            try:
                report["levels"] = [level(server, int(n), args, work, log)
                                    for n in args.streams.split(",") if n]
                report["rates"] = []
                for rate in (float(r) for r in args.rates.split(",") if r):
                    result = rate_run(server, rate, args, work, log)
                    report["rates"].append(result)
                    print(f"  rate {rate:g}/s: {json.dumps(result)}", file=sys.stderr,
                          flush=True)
            finally:
                server.close()
        report["machine"]["loadavg_end"] = os.getloadavg()
    args.json.write_text(json.dumps(report, indent=1))
    print(markdown(report, sustains))


if __name__ == "__main__":
    main()
