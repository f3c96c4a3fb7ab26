"""`factorwatch sla report --month YYYY-MM [--csv|--json]`: each contracted provider's
monthly statement (docs/sla.md).

A final statement is read as the daemon saved it; any other month (in progress, or never
saved) is computed now from the store, not saved. Exit codes: 0 printed (even when no
provider has a contract: the table says so); 1 the database is missing or outdated;
2 the config or the month is not valid.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from service.config import load_settings

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2
CSV_COLUMNS = ("provider", "month", "state", "committed", "availability",
               "availability_lowest", "availability_highest", "coverage", "down_minutes",
               "uncovered_minutes", "verdict", "credit_share", "spend_usd", "credit_usd",
               "reason")


def add_sla_parser(sub: Any, with_config: Callable[[argparse.ArgumentParser],
                                                   argparse.ArgumentParser]) -> None:
    sla = sub.add_parser("sla", help="SLA contracts: monthly statements and credits")
    sla_sub = sla.add_subparsers(dest="sla_command", required=True, help="what to do")
    report = with_config(sla_sub.add_parser(
        "report", help="a month's statement per contracted provider",
        description="Availability under each provider's own SLA definition for a calendar "
                    "month (UTC), its probe coverage, whether a service credit is due and "
                    "its estimate (docs/sla.md). Exit 0; 1 without an up-to-date database; "
                    "2 for a config error or a malformed month."))
    report.add_argument("--month", required=True, help="the month, YYYY-MM (e.g. 2026-11)")
    shape = report.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="print CSV, one row per provider")
    shape.add_argument("--json", action="store_true", help="print the statements as JSON")
    report.set_defaults(func=cmd_sla_report)


def cmd_sla_report(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from service.cli.database import open_existing
    from service.sla.statements import parse_month, statements_for

    try:
        month = parse_month(args.month)
    except ValueError as exc:
        print(f"--month: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings(args.config or os.environ.get("FACTORWATCH_CONFIG"))
    engine = open_existing(settings.database)
    if engine is None:
        return EXIT_ERROR
    try:
        with Session(engine) as session:
            docs = statements_for(session, settings, month, datetime.now(UTC))
    finally:
        engine.dispose()
    for doc in docs:
        doc.pop("days", None)
    if args.json:
        print(json.dumps({"month": args.month, "statements": docs}, indent=2))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for doc in docs:
            writer.writerow([_cell(doc, c) for c in CSV_COLUMNS])
    else:
        print(table(args.month, docs))
    return EXIT_OK


def _cell(doc: dict[str, Any], column: str) -> Any:
    value = doc["terms"]["committed"] if column == "committed" else doc.get(column)
    return "" if value is None else value


def _pct(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def table(month: str, docs: list[dict[str, Any]]) -> str:
    if not docs:
        return (f"{month}: no provider with an enabled candidate has an SLA contract "
                "(providers.<id>.sla.contract, docs/sla.md)")
    head = ("provider", "state", "committed", "availability", "range", "coverage",
            "down min", "verdict", "credit")
    rows = [head]
    for d in docs:
        credit = ("-" if d["credit_share"] is None else
                  f"{d['credit_share']:.0%}" + (f" = {d['credit_usd']:.2f} USD"
                                                if d["credit_usd"] is not None else ""))
        rows.append((d["provider"], d["state"], _pct(d["terms"]["committed"], 2),
                     _pct(d["availability"]),
                     f"{_pct(d['availability_lowest'])}..{_pct(d['availability_highest'])}",
                     _pct(d["coverage"], 1), f"{d['down_minutes']:g}", d["verdict"], credit))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.append("")
    lines += [f"{d['provider']}: {d['reason']}; spend {d['spend_basis']}" for d in docs]
    return "\n".join(lines)
