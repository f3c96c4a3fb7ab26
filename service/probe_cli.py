"""`factorwatch probe`: run one probe now and print what it measured.

Two forms: a configured candidate (`factorwatch probe openai/gpt-4o-mini`), or any endpoint
without a config file (`factorwatch probe --url URL --api openai --model M`).
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

from probes import PROBES, run_probe
from probes.dialects import DIALECTS
from probes.result import ProbeResult
from probes.target import Target
from service.config import ConfigError, load_settings


def add_probe_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                     argparse.ArgumentParser]) -> None:
    p = with_config(sub.add_parser("probe", help="run one probe and print the result"))
    p.add_argument("candidate", nargs="?", help="a configured candidate id")
    p.add_argument("--kind", "-k", default="latency", choices=sorted(PROBES))
    p.add_argument("--url", help="base URL of the API, e.g. https://api.openai.com/v1")
    p.add_argument("--api", choices=sorted(DIALECTS), help="the API dialect")
    p.add_argument("--model", help="the model name the API expects")
    p.add_argument("--api-key-env", help="environment variable holding the API key")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_probe)


def target_from_args(args: argparse.Namespace) -> Target:
    if args.candidate and args.url:
        raise ConfigError(["probe: give a candidate or --url, not both"])
    if args.url:
        missing = [flag for flag, value in (("--api", args.api), ("--model", args.model))
                   if not value]
        if missing:
            raise ConfigError([f"probe: --url needs {' and '.join(missing)}"])
        key = None
        if args.api_key_env:
            key = os.environ.get(args.api_key_env)
            if key is None:
                raise ConfigError([f"probe: environment variable {args.api_key_env} is not set"])
        return Target(api=args.api, base_url=args.url, model=args.model, api_key=key,
                      timeout_seconds=args.timeout, max_tokens=args.max_tokens)
    if not args.candidate:
        raise ConfigError(["probe: give a candidate id, or --url with --api and --model"])
    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    cand = settings.candidates.get(args.candidate)
    if cand is None:
        raise ConfigError([f"probe: unknown candidate {args.candidate!r}"])
    key = cand.resolve_api_key(os.environ)
    if key is None and cand.api_key_env:
        raise ConfigError([f"probe: environment variable {cand.api_key_env} is not set"])
    return Target(api=cand.api, base_url=cand.base_url, model=cand.model, api_key=key,
                  timeout_seconds=args.timeout, max_tokens=args.max_tokens)


async def probe_once(kind: str, target: Target) -> ProbeResult:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        return await run_probe(kind, target, client)


def render(result: ProbeResult) -> str:
    doc = result.to_json()
    width = max(len(k) for k in doc)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in doc.items() if v is not None)


def cmd_probe(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    result = asyncio.run(probe_once(args.kind, target))
    print(json.dumps(result.to_json()) if args.json else render(result))
    if not result.ok:
        print(f"probe failed: {result.error_class}: {result.error_message}", file=sys.stderr)
    return 0 if result.ok else 1
