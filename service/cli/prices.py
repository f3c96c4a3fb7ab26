"""`factorwatch prices`: the price each configured source gives each candidate, read now.

It fetches the price lists of `pricing.sources` as the daemon's pollers do (the same
readers, size cap and timeout), not the stored price points: those hold only the price in
use, not what the other lists say. `--diff` prints only the candidates whose sources
disagree, with each difference from the price in use, absolute and in per cent.

Exit codes: 0 done (with --diff: the sources agree); 1 with --diff, some sources disagree;
2 the config is not valid; 3 a source could not be read (and, with --diff, the ones that
were read agree).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

from probes.fetch import FetchError, fetch
from probes.pricing import READERS, PriceList
from service.config import Settings, load_settings
from service.watch.compare import Comparison, SourcePrice, compare
from service.watch.pricing import NEGOTIATED, PricePoller, list_key

EXIT_OK, EXIT_DISAGREE, EXIT_CONFIG, EXIT_UNREAD = 0, 1, 2, 3


def add_prices_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                      argparse.ArgumentParser]) -> None:
    prices = with_config(sub.add_parser(
        "prices", help="the price each configured price list gives each candidate, read now",
        description="Fetches the price lists of pricing.sources and prints each candidate's "
                    "price from each, marking the one in use (docs/config.md, \"Which source "
                    "prices a candidate\"). Exit 0; with --diff, 1 when sources disagree; "
                    "2 for a config error; 3 when a source could not be read."))
    prices.add_argument("--diff", action="store_true",
                        help="only the candidates whose sources disagree, with by how much "
                             "(exit 1 if any do)")
    prices.add_argument("--json", action="store_true", help="print JSON, not the table")
    prices.set_defaults(func=cmd_prices)


def cmd_prices(args: argparse.Namespace) -> int:
    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    urls = {s.format: s.url for s in settings.pricing.sources}
    lists, unread = asyncio.run(read_lists(settings))
    comparisons = compare(settings.candidates, lists, list(urls), unread)
    shown = [c for c in comparisons if c.disagree] if args.diff else comparisons
    if args.json:
        print(json.dumps({"sources": [{"format": fmt, "url": url, "error": unread.get(fmt)}
                                      for fmt, url in urls.items()],
                          "candidates": [_comparison_json(c) for c in shown]}, indent=2))
    else:
        for fmt, why in unread.items():
            print(f"{fmt} ({urls[fmt]}) not read: {why}", file=sys.stderr)
        print(render(shown, comparisons, diff=args.diff, formats=list(urls)))
    if args.diff and shown:
        return EXIT_DISAGREE
    return EXIT_UNREAD if unread else EXIT_OK


async def read_lists(settings: Settings) -> tuple[dict[str, PriceList], dict[str, str]]:
    """Every configured list, read with the keys the candidates need: (lists, why not read)."""
    lists: dict[str, PriceList] = {}
    unread: dict[str, str] = {}
    async with httpx.AsyncClient(follow_redirects=False) as client:
        async def one(fmt: str, url: str) -> None:
            keys = None if fmt == NEGOTIATED else sorted(
                {list_key(c, fmt) for c in settings.candidates.values() if c.enabled})
            try:
                fetched = await fetch(client, url, timeout=PricePoller.timeout,
                                      max_bytes=PricePoller.max_bytes)
                assert fetched.body is not None  # no validators sent: never "not modified"
                lists[fmt] = await asyncio.to_thread(READERS[fmt], fetched.body, keys)
            except FetchError as exc:
                unread[fmt] = f"{exc.kind}: {exc}"
            except ValueError as exc:  # ParseError: not (or no longer) the format
                unread[fmt] = f"parse_error: {exc}"

        await asyncio.gather(*(one(s.format, s.url) for s in settings.pricing.sources))
    return lists, dict(sorted(unread.items()))


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


_SHORT = {"input_per_mtok": "input", "output_per_mtok": "output",
          "cached_input_per_mtok": "cached", "cache_write_per_mtok": "cache write",
          "batch_input_per_mtok": "batch input", "batch_output_per_mtok": "batch output"}


def _note(row: SourcePrice) -> str:
    if row.in_use:
        return "in use"
    if row.error is not None:
        return row.error
    parts = []
    for d in row.differences:
        pct = "" if d.percent is None else f" ({d.percent:+g}%)"
        parts.append(f"{_SHORT[d.figure]} {d.absolute:+g}{pct}")
    return ", ".join(parts) or ("same" if row.price is not None else "")


def render(shown: list[Comparison], every: list[Comparison], *, diff: bool,
           formats: list[str]) -> str:
    if not shown:
        what = "disagree" if diff else "are configured"
        return (f"no candidates whose price sources {what} ({len(every)} candidates; "
                f"sources: {', '.join(formats) or 'none'})")
    lines = ["USD per million tokens; differences are from the price in use "
             "(docs/config.md, \"Which source prices a candidate\")",
             f"{'candidate / source':<34} {'key':<30} {'input':>8} {'output':>8} "
             f"{'cached':>8}  note"]
    for comparison in shown:
        lines.append(comparison.candidate)
        for row in comparison.sources:
            p = row.price
            lines.append(f"  {row.source:<32} {row.key or '':<30} "
                         f"{_usd(p.input_per_mtok if p else None):>8} "
                         f"{_usd(p.output_per_mtok if p else None):>8} "
                         f"{_usd(p.cached_input_per_mtok if p else None):>8}  {_note(row)}")
    return "\n".join(lines)


def _comparison_json(c: Comparison) -> dict[str, Any]:
    return {"candidate": c.candidate, "disagree": c.disagree, "sources": [
        {"source": s.source, "key": s.key, "in_use": s.in_use, "error": s.error,
         "price": s.price.figures() if s.price else None,
         "differences": [{"figure": d.figure, "value": d.value, "in_use": d.in_use,
                          "absolute": d.absolute, "percent": d.percent}
                         for d in s.differences]}
        for s in c.sources]}
