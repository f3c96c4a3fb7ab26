"""`factorwatch discover --provider P`: the models P's key can call, as candidate config.

Lists the provider's models (its model-list endpoint, with the key its candidates use),
prices each from the configured price lists (the bundled LiteLLM map when a list does not
answer, or with --offline-prices) and says which are candidates already. Prints the
`candidates:` block to paste into a config, or with --json one object. Exit 2 for what the
config or the environment must fix (an unknown provider, a key not set), 1 when the
provider does not answer usefully (a refused key, a network error); the key never shows.
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

from probes.dialects import DIALECTS
from service.cli.probe import _timeout, _url
from service.config import ConfigError, load_settings
from service.discovery.access import DiscoverError
from service.discovery.report import as_json, as_yaml
from service.discovery.run import TIMEOUT_SECONDS, discover

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
CONFIG_KINDS = ("unknown_provider", "config", "no_key")


def add_discover_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                        argparse.ArgumentParser]) -> None:
    p = with_config(sub.add_parser(
        "discover", help="list the models a provider's key can call, as candidate config",
        description="Calls the provider's model-list endpoint with the key its candidates "
                    "use, prices every model from the price lists, and prints the "
                    "`candidates:` entries to paste into your config (models that are "
                    "candidates already appear as comments)."))
    p.add_argument("--provider", "-p", required=True, help="a provider id, e.g. openai")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--all", action="store_true", dest="everything",
                   help="also models that do not answer chat (embeddings, speech, images)")
    p.add_argument("--offline-prices", action="store_true",
                   help="price from the bundled LiteLLM map only; fetch no price list")
    p.add_argument("--api", choices=sorted(DIALECTS),
                   help="the provider's API (default: its candidates')")
    p.add_argument("--base-url", type=_url, help="the API's base URL (default: its "
                   "candidates')")
    p.add_argument("--api-key-env", help="environment variable holding the key (default: "
                   "its candidates')")
    p.add_argument("--timeout", type=_timeout, default=TIMEOUT_SECONDS,
                   help="seconds per request, or a duration such as 1m (default 20)")
    p.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace) -> int:
    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    try:
        found = asyncio.run(_discover(settings, args))
    except DiscoverError as exc:
        if exc.kind in CONFIG_KINDS:
            raise ConfigError([f"discover: {exc}"]) from None
        print(f"discover: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for note in found.notes:
        print(f"discover: {note}", file=sys.stderr)
    print(json.dumps(as_json(found), indent=2) if args.json else as_yaml(found), end="")
    return EXIT_OK


async def _discover(settings: Any, args: argparse.Namespace) -> Any:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        return await discover(settings, args.provider, os.environ, client,
                              live_prices=not args.offline_prices, everything=args.everything,
                              timeout=args.timeout, api=args.api, base_url=args.base_url,
                              api_key_env=args.api_key_env)
