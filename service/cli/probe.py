"""`factorwatch probe`: run one probe now and print what it measured.

Two forms: a configured candidate (`factorwatch probe openai/gpt-6-luna --kind tools`),
or any endpoint without a config file (`factorwatch probe --url URL --api anthropic
--model M`). A kind's options come from the candidate's schedule for that kind, and flags
override them; they are checked exactly as the config checks them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from probes import PROBE_OPTIONS, PROBES, run_probe
from probes.auth import with_credentials
from probes.dialects import DIALECTS
from probes.result import ProbeResult
from probes.target import Target
from service.config import ConfigError, ProbeSchedule, load_settings
from service.config.errors import _validation_errors
from service.config.fields import _http_url
from service.durations import parse_duration
from service.probing.clients import ProbeClients

# Flags that set a ProbeSchedule option of the same name.
_OPTION_FLAGS = ("prompt", "catalog", "eval_set", "sample", "context_tokens", "depths",
                 "max_tokens")


def add_probe_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                     argparse.ArgumentParser]) -> None:
    p = with_config(sub.add_parser("probe", help="run one probe and print the result"))
    p.add_argument("candidate", nargs="?", help="a configured candidate id")
    p.add_argument("--kind", "-k", default="latency", choices=sorted(PROBES),
                   help="the probe to run (default: latency)")
    p.add_argument("--url", type=_url,
                   help="base URL of the API, e.g. https://api.openai.com/v1")
    p.add_argument("--api", choices=sorted(DIALECTS), help="the API dialect")
    p.add_argument("--model", help="the model name the API expects")
    p.add_argument("--api-key-env", help="environment variable holding the API key")
    p.add_argument("--timeout", type=_timeout, default=30.0,
                   help="seconds, or a duration such as 2m (default 30)")
    p.add_argument("--max-tokens", type=int, help="output cap (default: the kind's own)")
    p.add_argument("--prompt", help="latency, uptime, voice: the prompt")
    p.add_argument("--catalog", help="tools: a tool catalog file (JSON)")
    p.add_argument("--eval-set", help="quality: an eval set file (JSONL)")
    p.add_argument("--sample", type=int, help="quality: items per run")
    p.add_argument("--context-tokens", type=int, help="long_context: context size")
    p.add_argument("--depths", type=lambda s: [float(x) for x in s.split(",")],
                   help="long_context: comma-separated depths, e.g. 0.1,0.5,0.9")
    p.add_argument("--reasoning-effort", help="cap a reasoning model's thinking: none, "
                   "minimal, low, medium or high (openai, azure-openai, openai-responses, "
                   "gemini)")
    p.add_argument("--reasoning-budget", type=int,
                   help="cap a reasoning model's thinking in tokens (anthropic, gemini)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_probe)


def _url(value: str) -> str:
    try:
        return _http_url(value)  # the config's own rule for base_url
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timeout(value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value!r}")
    return seconds


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
        return _target(args, args.api, args.url, args.model, key, {})
    if not args.candidate:
        raise ConfigError(["probe: give a candidate id, or --url with --api and --model"])
    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    cand = settings.candidates.get(args.candidate)
    if cand is None:
        raise ConfigError([f"probe: unknown candidate {args.candidate!r}"])
    key = cand.resolve_api_key(os.environ)
    if key is None and cand.api_key_env:
        raise ConfigError([f"probe: environment variable {cand.api_key_env} is not set"])
    schedule = cand.probes.get(args.kind)
    configured = schedule.probe_options() if schedule else {}
    return _target(args, cand.api, cand.base_url, cand.model, key, configured)


def _target(args: argparse.Namespace, api: str, url: str, model: str, key: str | None,
            configured: dict[str, Any]) -> Target:
    options = {**configured, **_flag_options(args)}
    _check_reasoning(api, options)
    return with_credentials(Target(
        api=api, base_url=url, model=model, api_key=key, timeout_seconds=args.timeout,
        max_tokens=options.get("max_tokens", 16), options=MappingProxyType(options),
        name=args.candidate or ""))


def _flag_options(args: argparse.Namespace) -> dict[str, Any]:
    """The option flags given, checked by the config's own rules."""
    given = {name: getattr(args, name) for name in _OPTION_FLAGS
             if getattr(args, name, None) is not None}
    cap = {key: value for key, value in (("effort", getattr(args, "reasoning_effort", None)),
                                         ("budget_tokens", getattr(args, "reasoning_budget",
                                                                   None)))
           if value is not None}
    if cap:
        given["reasoning"] = cap
    try:
        schedule = ProbeSchedule.model_validate({"every": 1, **given})
    except ValidationError as exc:
        raise ConfigError([f"{_flag(str(loc[0]))}{''.join(f'[{p}]' for p in loc[1:])}: {msg}"
                           for loc, msg in _validation_errors(exc)]) from None
    wrong = sorted(schedule.options_set() - PROBE_OPTIONS[args.kind])
    if wrong:
        flags = ", ".join(_flag(name) for name in wrong)
        raise ConfigError([f"probe: the {args.kind} probe does not read {flags}"])
    return schedule.probe_options()


def _flag(option: str) -> str:
    if option == "reasoning":
        return "--reasoning-effort/--reasoning-budget"
    return "--" + option.replace("_", "-")


def _check_reasoning(api: str, options: dict[str, Any]) -> None:
    """The reasoning cap must be one this API takes, as the config checks it."""
    takes: frozenset[str] = getattr(DIALECTS[api], "reasoning_keys", frozenset())
    if wrong := sorted(set(options.get("reasoning") or {}) - takes):
        accepted = " or ".join(sorted(takes)) or "no reasoning cap"
        raise ConfigError([f"probe: the {api} API takes {accepted}, not {', '.join(wrong)}"])


async def probe_once(kind: str, target: Target) -> ProbeResult:
    clients = ProbeClients(shards=1)
    try:
        await clients.warm_up()  # measured as the daemon measures: the reading process reads
        return await run_probe(kind, target, clients.for_key(target.label))
    finally:
        await clients.aclose()


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
