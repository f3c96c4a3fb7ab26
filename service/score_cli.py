"""`factorwatch score` and `factorwatch explain`: rankings on the stored evidence, read-only.

Both evaluate afresh (nothing is written), so they work beside a running daemon, with
what-if weights, and `--at` replays the evidence as it stood at a past moment (the facts,
weights and gates are the current config's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from service.config import ConfigError, load_settings
from service.scoring.ranking import Ranking

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def add_score_parsers(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                      argparse.ArgumentParser]) -> None:
    score = with_config(sub.add_parser("score", help="print the current ranking"))
    score.add_argument("--workload", "-w")
    score.add_argument("--json", action="store_true",
                       help="the ranking document as JSON (docs/architecture.md)")
    score.add_argument("--weights", help="what-if weights, e.g. latency=5,cost=1")
    score.add_argument("--at", help="replay the evidence as of this ISO 8601 time")
    score.set_defaults(func=cmd_score)
    explain = with_config(sub.add_parser("explain", help="every factor of one candidate, "
                                         "with its evidence"))
    explain.add_argument("candidate")
    explain.add_argument("--workload", "-w", required=True)
    explain.add_argument("--json", action="store_true")
    explain.add_argument("--at", help="replay the evidence as of this ISO 8601 time")
    explain.set_defaults(func=cmd_explain)


def parse_weights(text: str) -> dict[str, float]:
    from service.scoring.factors import FACTOR_FUNCTIONS

    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or name not in FACTOR_FUNCTIONS:
            raise ConfigError([f"--weights: '{part}' is not factor=N with a known factor"])
        try:
            weights[name] = float(value)
        except ValueError:
            raise ConfigError([f"--weights: '{value}' is not a number"]) from None
        if weights[name] < 0:
            raise ConfigError([f"--weights: '{part}' is negative"])
    return weights


def parse_at(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError([f"--at: '{text}' is not an ISO 8601 time "
                           "(e.g. 2026-11-28T12:00:00Z)"]) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def rank_now(args: argparse.Namespace, workloads: list[str] | None,
             weights: dict[str, float] | None = None) -> list[Ranking] | int:
    from sqlmodel import Session

    from service.evaluation import evaluate
    from service.store.db import make_engine, safe_url
    from service.store.migrate import is_up_to_date

    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    for name in workloads or []:
        if name not in settings.workloads:
            known = ", ".join(sorted(settings.workloads))
            print(f"unknown workload {name!r} (known: {known})", file=sys.stderr)
            return EXIT_CONFIG
    at = parse_at(args.at)
    if not is_up_to_date(settings.database):
        print(f"{safe_url(settings.database)}: no up-to-date factorwatch database; run "
              "`factorwatch db upgrade` (or start `factorwatch run`) first", file=sys.stderr)
        return EXIT_ERROR
    engine = make_engine(settings.database)
    try:
        with Session(engine) as session:
            return evaluate(session, settings, at, workloads, weights)
    finally:
        engine.dispose()


def cmd_score(args: argparse.Namespace) -> int:
    from service.report import render_ranking
    from service.scoring.ranking import ranking_document

    weights = parse_weights(args.weights) if args.weights else None
    outcome = rank_now(args, [args.workload] if args.workload else None, weights)
    if isinstance(outcome, int):
        return outcome
    rankings = outcome
    if args.json:
        docs: Any = [ranking_document(r) for r in rankings]
        print(json.dumps(docs[0] if args.workload else docs, indent=2))
    else:
        print("\n\n".join(render_ranking(r) for r in rankings))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from service.report import render_explanation
    from service.scoring.ranking import ranking_document

    outcome = rank_now(args, [args.workload])
    if isinstance(outcome, int):
        return outcome
    (ranking,) = outcome
    entry = next((e for e in ranking.entries if e.candidate == args.candidate), None)
    if entry is None:
        known = ", ".join(e.candidate for e in ranking.entries)
        print(f"candidate {args.candidate!r} is not ranked for {args.workload} (ranked: "
              f"{known or 'none'})", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        doc = ranking_document(ranking)
        print(json.dumps(next(e for e in doc["ranking"] if e["candidate"] == args.candidate),
                         indent=2))
    else:
        print(render_explanation(ranking, entry))
    return EXIT_OK
