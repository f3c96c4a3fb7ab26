"""The benchmark's numbers as Markdown tables, for bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _ms(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(report: dict[str, Any], sustains: Callable[[dict[str, Any]], bool]) -> str:
    m = report["machine"]
    t = report["timing"]
    lines = [
        f"Command: `{report['command']}`  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, guidellm "
        f"{m['guidellm']}; load average (1, 5, 15 min) at start "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_end'])}.  ",
        f"Simulated model: TTFT lognormal median {t['ttft'] * 1000:g} ms (sigma "
        f"{t['ttft_sigma']:g}), gaps lognormal median {t['itl'] * 1000:g} ms (sigma "
        f"{t['itl_sigma']:g}), {t['tokens']} content chunks; {report['seconds']:g} s measured "
        f"per client and level (longer at 1 stream, for about "
        f"{report.get('min_requests', 100)} requests) after "
        f"{report['warmup']:g} s of warm-up.",
        "",
        "Errors are measured - truth per request, in ms; p50/p99/max of |error|, bias = mean "
        "signed error. ITL = the request's mean inter-token latency; ITL-gap-p99 = the p99 of "
        "one request's gaps (guidellm does not report it). Lags (ms): how late a 50 ms (client) "
        "or 5 ms (server) sleep on that process's event loop woke, p99; flagged = share of "
        "requests that the daemon would mark timing_unreliable.",
        "",
        "| streams | client | req/s | n | failed | TTFT p50 | TTFT p99 | TTFT max | TTFT bias "
        "| ITL p99 | ITL-gap-p99 p99 | client lag p99 | flagged | server lag p99 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lvl in report["levels"]:
        for name, r in lvl.items():
            if not isinstance(r, dict):  # streams, seconds
                continue
            flagged = "-" if r["flagged"] is None else f"{100 * r['flagged']:.1f}%"
            lines.append(
                f"| {lvl['streams']} | {name} | {r['per_second']:.0f} | {r['ttft']['n']} "
                f"| {r['failed']} "
                f"| {_ms(r['ttft']['p50'])} | **{_ms(r['ttft']['p99'])}** "
                f"| {_ms(r['ttft']['max'])} | {_ms(r['ttft']['bias'])} "
                f"| {_ms(r['itl_mean']['p99'])} | {_ms(r['itl_p99']['p99'])} "
                f"| {_ms(r['client_lag_p99_ms'], 1)} | {flagged} "
                f"| {_ms(r['server_lag_p99_ms'], 1)} |")
    if report.get("rates"):
        lines += [
            "", f"The daemon with {report['rates'][0]['candidates']} configured candidates "
            "(a latency probe each, SQLite, scoring every 60 s):",
            "",
            "| probes/s asked | achieved | failed | TTFT p99 | TTFT max | ITL p99 "
            "| sched lag p99 | sched lag max | missed | loop lag p99 | flagged | RSS max MB "
            "| sustained |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in report["rates"]:
            lines.append(
                f"| {r['rate']:g} | {r['achieved']:.1f} | {r['failed']} "
                f"| **{_ms(r['ttft']['p99'])}** | {_ms(r['ttft']['max'])} "
                f"| {_ms(r['itl_mean']['p99'])} | {_ms(r['sched_lag_p99_ms'], 1)} "
                f"| {_ms(r['sched_lag_max_ms'], 1)} | {r['missed']} "
                f"| {_ms(r['loop_lag_p99_ms'], 1)} | {100 * r['flagged']:.1f}% "
                f"| {r['rss_max_mb']:.0f} | {'yes' if sustains(r) else 'no'} |")
    return "\n".join(lines)
