"""Benchmark: are the results the daemon flags timing_unreliable the inaccurate ones?

    python -m bench.timing_flag                           # 100 probes/s for 60 s, ~2 min
    python -m bench.timing_flag --stall-every 0.5         # and a reading process held up
    python -m bench.timing_flag --hogs 2                  # and 2 busy processes

The real daemon (bench/ttft_fidelity/rate.py: 1,000 candidates, SQLite, scoring) probes the
simulated server, which runs in a process of its own and records when it wrote each token.
Each stored result is paired with that truth, and gives its TTFT error (measured - truth),
its `read_late_seconds` and whether it was flagged. The reading process can be made late
two ways: busy processes that take the CPUs from it (--hogs; they slow the server too), or
stops of the reading process alone (--stall-every, --stall-ms: SIGSTOP, then SIGCONT).
Prints Markdown for bench/RESULTS.md: the error of flagged and unflagged results, and what
other thresholds would have flagged; writes every result as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.ttft_fidelity.__main__ import ROOT, Server, machine, pair_by_order
from bench.ttft_fidelity.server import Timing
from bench.ttft_fidelity.stats import summary, truth_of
from probes.stream import LATE_READ_SECONDS

INACCURATE_MS = 1.0  # ten times the daemon's usual p99 error (bench/RESULTS.md, run 5)
THRESHOLDS_MS = (1.0, 2.0, 5.0, 10.0, 20.0)


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """One result per measured probe: error, read_late, headers_seconds (ms), flagged."""
    with (work / "log.txt").open("w") as log:
        server = Server(args.candidates, Timing(), log)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.hogs)]
        try:
            every = args.candidates / args.rate
            out = work / "rate.json"
            subprocess.run(
                [sys.executable, "-m", "bench.ttft_fidelity.rate", "--origin", server.origin,
                 "--candidates", str(args.candidates), "--rate", f"{args.rate:g}",
                 "--seconds", f"{args.seconds:g}", "--warmup", f"{every:g}",
                 "--stall-every", f"{args.stall_every:g}", "--stall-ms", f"{args.stall_ms:g}",
                 "--out", str(out)],
                cwd=ROOT, check=True, stdout=log, stderr=log,
                timeout=every + args.seconds + 600)
            truth = server.dump(work / "truth.json")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
            server.close()
    data = json.loads(out.read_text())
    pairs, _skipped = pair_by_order(data["results"], truth["records"])
    rows = []
    for row, record in pairs:
        true_ttft = truth_of(record)["ttft"]
        if row["ok"] and row["ttft"] is not None and true_ttft is not None:
            rows.append({"error_ms": 1000 * (row["ttft"] - true_ttft),
                         "read_late_ms": None if row["read_late"] is None
                         else 1000 * row["read_late"],
                         "headers_ms": None if row["headers"] is None
                         else 1000 * row["headers"],
                         "flagged": row["flagged"]})
    return rows


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f} %)" if whole else "0"


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]
    m = report["machine"]
    lines = [
        f"Command: `{report['command']}`  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}; load average "
        f"(1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at "
        f"end {', '.join(f'{x:.2f}' for x in m['loadavg_end'])}.  ",
        f"{len(rows)} successful probes paired with their truth; threshold "
        f"{1000 * LATE_READ_SECONDS:g} ms; inaccurate = |TTFT error| > {INACCURATE_MS:g} ms.",
        "",
        "| results | n | TTFT abs error p50 | p99 | max | inaccurate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in (("flagged", [r for r in rows if r["flagged"]]),
                        ("not flagged", [r for r in rows if not r["flagged"]]),
                        ("all", rows)):
        s = summary([r["error_ms"] / 1000 for r in group])
        bad = sum(abs(r["error_ms"]) > INACCURATE_MS for r in group)
        lines.append(f"| {name} | {len(group)} | {_ms(s['p50'])} | {_ms(s['p99'])} "
                     f"| {_ms(s['max'])} | {_share(bad, len(group))} |")
    missed = [r for r in rows if not r["flagged"] and abs(r["error_ms"]) > INACCURATE_MS]
    late_request = [r for r in missed if (r["headers_ms"] or 0) > INACCURATE_MS]
    lines += ["", f"Of the {len(missed)} inaccurate results not flagged, {len(late_request)} "
              f"had headers_seconds over {INACCURATE_MS:g} ms: the simulated server answers "
              "its status line as soon as the request arrives, so their request reached it "
              "late (the send, or the server), which no read's stamp can show."]
    lines += ["", "Had the threshold been another (read_late_seconds above it):", "",
              "| threshold ms | flagged | inaccurate ones flagged | unflagged p99 | "
              "unflagged max |", "|---:|---:|---:|---:|---:|"]
    inaccurate = [r for r in rows if abs(r["error_ms"]) > INACCURATE_MS]
    for threshold in THRESHOLDS_MS:
        def over(r: dict[str, Any], t: float = threshold) -> bool:
            return r["read_late_ms"] is not None and r["read_late_ms"] > t
        kept = summary([r["error_ms"] / 1000 for r in rows if not over(r)])
        lines.append(f"| {threshold:g} | {_share(sum(map(over, rows)), len(rows))} "
                     f"| {sum(map(over, inaccurate))} of {len(inaccurate)} "
                     f"| {_ms(kept['p99'])} | {_ms(kept['max'])} |")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="probes per second")
    parser.add_argument("--seconds", type=float, default=60, help="measured")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--hogs", type=int, default=0, help="busy processes meanwhile")
    parser.add_argument("--stall-every", type=float, default=0,
                        help="seconds between stops of the reading process (0: none)")
    parser.add_argument("--stall-ms", type=float, default=50,
                        help="the longest stop, ms (each is uniform up to it)")
    parser.add_argument("--json", type=Path, default=Path("timing_flag.json"))
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "command": " ".join(
        ["python -m bench.timing_flag", *sys.argv[1:]])}
    with tempfile.TemporaryDirectory(prefix="timing-flag-") as tmp:
        report["results"] = run(args, Path(tmp))
    report["machine"]["loadavg_end"] = os.getloadavg()
    args.json.write_text(json.dumps(report, indent=1))
    print(markdown(report))


if __name__ == "__main__":
    main()
