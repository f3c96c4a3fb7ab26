"""`factorwatch route`: the routing document of a workload, from the latest saved ranking
(what GET /api/v1/workloads/{w}/routing serves), read-only (docs/routing.md)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from service.config import load_settings

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def add_route_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                     argparse.ArgumentParser]) -> None:
    route = with_config(sub.add_parser(
        "route", help="print the candidates that may serve a workload now, for a gateway",
        description="Prints the routing of a workload from its latest saved ranking (the "
                    "daemon's): the candidates not gated, ranked, and serving or degraded, in "
                    "rank order, ties marked. Keys appear only as variable names."))
    route.add_argument("--workload", "-w", required=True, metavar="WORKLOAD",
                       help="the workload to route")
    route.add_argument("--format", choices=("litellm", "openrouter", "json"), default="json",
                       help="litellm: a LiteLLM proxy config fragment (YAML); openrouter: a "
                            "request's provider object; json: the plain document (default)")
    route.set_defaults(func=cmd_route)


def cmd_route(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from service.cli.database import open_existing
    from service.rankings.routing import render
    from service.rankings.routing_store import latest_routing

    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    if args.workload not in settings.workloads:
        known = ", ".join(sorted(settings.workloads))
        print(f"unknown workload {args.workload!r} (known: {known})", file=sys.stderr)
        return EXIT_CONFIG
    engine = open_existing(settings.database)
    if engine is None:
        return EXIT_ERROR
    try:
        with Session(engine) as session:
            routing = latest_routing(session, args.workload)
    finally:
        engine.dispose()
    if routing is None:
        print(f"workload {args.workload!r} has not been scored yet: the daemon "
              "(`factorwatch run`) saves a ranking every scoring pass", file=sys.stderr)
        return EXIT_ERROR
    body, _ = render(routing, settings.candidates, args.format)
    sys.stdout.write(body)
    return EXIT_OK
