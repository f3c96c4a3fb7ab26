"""`factorwatch score` and `factorwatch explain`: rankings on the stored evidence, read-only.

Both evaluate afresh (nothing is written), so they work beside a running daemon, with
what-if weights, and `--at` replays the evidence as it stood at a past moment (the facts,
weights and gates are the current config's). The table's header names rank 1 of this
evaluation and the announced top choice (which changes only after the margin and
confirmations, docs/scoring.md), and says when what-if weights replaced the configured ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.config import ConfigError, load_settings
from service.scoring.ranking import Ranking

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def add_score_parsers(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                      argparse.ArgumentParser]) -> None:
    score = with_config(sub.add_parser("score", help="print the current ranking"))
    score.add_argument("--workload", "-w", metavar="WORKLOAD",
                       help="only this workload (default: every one)")
    score.add_argument("--json", action="store_true",
                       help="print the ranking document the API serves, not the table")
    score.add_argument("--weights", metavar="FACTOR=N,...",
                       help="what-if weights, e.g. latency=5,cost=1: these factors' weights "
                            "replace the workload's; nothing is saved")
    score.add_argument("--at", metavar="TIME",
                       help="replay the evidence stored as of this ISO 8601 time, e.g. "
                            "2026-11-01T12:00:00Z")
    score.set_defaults(func=cmd_score)
    explain = with_config(sub.add_parser("explain", help="every factor of one candidate, "
                                         "with its evidence"))
    explain.add_argument("candidate", help="the candidate id, e.g. openai/gpt-6-luna")
    explain.add_argument("--workload", "-w", required=True, metavar="WORKLOAD",
                         help="the workload it is scored for")
    explain.add_argument("--json", action="store_true",
                         help="print the candidate's entry of the ranking document")
    explain.add_argument("--at", metavar="TIME",
                         help="replay the evidence stored as of this ISO 8601 time")
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


def parse_at(text: str | None, now: datetime) -> datetime:
    if not text:
        return now
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError([f"--at: '{text}' is not an ISO 8601 time "
                           "(e.g. 2026-11-28T12:00:00Z)"]) from None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if at > now:
        raise ConfigError([f"--at: {text} is in the future (now {_iso(now)}): there is no "
                           "evidence from then to replay"])
    return at


def _iso(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@dataclass
class Evaluated:
    rankings: list[Ranking]
    top_choices: dict[str, str | None]  # what the header says of each announced top choice
    announced: dict[str, str | None]  # the announced top choice itself (None: none known)
    baselines: dict[str, dict[str, Any] | None]  # the ranking it was announced with


def rank_now(args: argparse.Namespace, workloads: list[str] | None,
             weights: dict[str, float] | None = None) -> Evaluated | int:
    from sqlmodel import Session

    from service.cli.database import open_existing
    from service.rankings.evaluation import evaluate
    from service.rankings.saved import ranking_announced_with

    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    for name in workloads or []:
        if name not in settings.workloads:
            known = ", ".join(sorted(settings.workloads))
            print(f"unknown workload {name!r} (known: {known})", file=sys.stderr)
            return EXIT_CONFIG
    now = datetime.now(UTC)
    at = parse_at(args.at, now)
    engine = open_existing(settings.database)
    if engine is None:
        return EXIT_ERROR
    try:
        with Session(engine) as session:
            rankings = evaluate(session, settings, at, workloads, weights)
            if args.at:
                _note_replay(args.at, at, first_probe_time(session))
            labels = top_choice_labels(session, at if args.at else None)
            return Evaluated(
                rankings, labels,
                {r.workload: labels[r.workload] if labels[r.workload] not in (None, "none",
                                                                              "none yet")
                 else None for r in rankings},
                {r.workload: ranking_announced_with(session, r.workload, at) for r in rankings})
    finally:
        engine.dispose()


def first_probe_time(session: Any) -> datetime | None:
    from sqlalchemy import func
    from sqlmodel import select

    from service.store.models import ProbeResultRow

    first = session.exec(select(func.min(ProbeResultRow.started_at))).one()
    return first if first is None or first.tzinfo else first.replace(tzinfo=UTC)


def _note_replay(text: str, at: datetime, first: datetime | None) -> None:
    """A replay from before any measurement is allowed (static facts and prices still rank),
    but it should not look like a measured one."""
    if first is None:
        print("note: no probe results are stored yet: the measured factors have no evidence",
              file=sys.stderr)
    elif at < first:
        print(f"note: --at {text} is before the first stored probe result ({_iso(first)}): "
              "the measured factors have no evidence then", file=sys.stderr)


def top_choice_labels(session: Any, at: datetime | None) -> dict[str, str | None]:
    """Per workload, the announced top choice as the header shows it; at a past moment, only
    when it was already announced then (None: not known for that moment)."""
    from sqlmodel import select

    from service.store.models import TopChoice

    labels: dict[str, str | None] = defaultdict(lambda: "none yet")
    for row in session.exec(select(TopChoice)).all():
        since = row.since if row.since.tzinfo else row.since.replace(tzinfo=UTC)
        labels[row.workload] = (row.candidate or "none") if at is None or since <= at else None
    return labels


def cmd_score(args: argparse.Namespace) -> int:
    from service.cli.report import render_ranking
    from service.scoring.ranking import ranking_document

    weights = parse_weights(args.weights) if args.weights else None
    outcome = rank_now(args, [args.workload] if args.workload else None, weights)
    if isinstance(outcome, int):
        return outcome
    if args.json:
        docs: Any = [{**ranking_document(r), "top_choice": outcome.announced[r.workload],
                      **({"what_if_weights": weights} if weights else {})}
                     for r in outcome.rankings]
        print(json.dumps(docs[0] if args.workload else docs, indent=2))
    else:
        print("\n\n".join(render_ranking(r, outcome.top_choices[r.workload], weights)
                          for r in outcome.rankings))
    return EXIT_OK


SCORED = ("score", "low", "high")


def cmd_explain(args: argparse.Namespace) -> int:
    from service.cli.report import moved, render_explanation
    from service.scoring.ranking import ranking_document

    outcome = rank_now(args, [args.workload])
    if isinstance(outcome, int):
        return outcome
    (ranking,) = outcome.rankings
    entry = next((e for e in ranking.entries if e.candidate == args.candidate), None)
    if entry is None:
        known = ", ".join(e.candidate for e in ranking.entries)
        print(f"candidate {args.candidate!r} is not ranked for {args.workload} (ranked: "
              f"{known or 'none'})", file=sys.stderr)
        return EXIT_CONFIG
    baseline = outcome.baselines[ranking.workload]
    if args.json:
        doc = ranking_document(ranking)
        found = next(e for e in doc["ranking"] if e["candidate"] == args.candidate)
        if baseline is not None:
            found = {**found, "moved_since": baseline["evaluated_at"],
                     "moved": [{"factor": c["factor"], "was": dict(zip(SCORED, c["was"],
                                                                       strict=True)),
                                "now": dict(zip(SCORED, c["now"], strict=True))}
                               for c in moved(entry, baseline)]}
        print(json.dumps(found, indent=2))
    else:
        print(render_explanation(ranking, entry, baseline))
    return EXIT_OK
