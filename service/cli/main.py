"""factorwatch keeps a live, evidence-based ranking of LLM providers and models for each of
your workloads: it probes them, scores the 12 selection factors, ranks them, alerts on
changes, and serves metrics, a JSON API and an overview page.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from service import __version__
from service.config import ConfigError, Settings, check_config, load_settings

log = logging.getLogger("factorwatch")

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2
# Where `factorwatch demo` keeps its config, database and webhook files: one directory,
# ignored by git, under the directory it was started in.
DEMO_DIR = ".factorwatch-demo"


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO; probes are our business, not log lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # botocore (the Bedrock dialects) logs canonical requests and signatures at DEBUG.
    for noisy in ("apscheduler", "alembic", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config_path(args: argparse.Namespace) -> str | None:
    """--config, else $FACTORWATCH_CONFIG, else None: the built-in catalog alone."""
    return args.config or os.environ.get("FACTORWATCH_CONFIG") or None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def _print_config_errors(exc: ConfigError) -> int:
    for line in exc.errors:
        print(line, file=sys.stderr)
    return EXIT_CONFIG


async def run_until_signalled(settings: Settings) -> None:
    from service.daemon import Daemon

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Daemon(settings).run(stop)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    setup_logging(settings.log_level)
    return _run_daemon(settings)


def _run_daemon(settings: Settings) -> int:
    from service.daemon import StartupError
    from service.store.db import DatabaseError

    try:
        asyncio.run(run_until_signalled(settings))
    except (StartupError, DatabaseError) as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from service.sim.demo import demo_settings, start_fleet
    from service.store.db import safe_url

    fleet, base_url = start_fleet(seed=args.seed)
    try:
        settings, config_path = demo_settings(base_url, Path(DEMO_DIR), database=args.database,
                                              listen=args.listen)
        setup_logging(settings.log_level)
        log.info("demo: simulated providers at %s; config, database and webhook files in %s/ "
                 "(database %s). In another terminal, within a minute: "
                 "`factorwatch score --config %s`; the overview page is http://%s/",
                 base_url, config_path.parent, safe_url(settings.database), config_path,
                 settings.listen)
        return _run_daemon(settings)
    finally:
        fleet.stop_thread()


def cmd_check_config(args: argparse.Namespace) -> int:
    if args.file and args.config and args.file != args.config:
        print(f"check-config: give the config file once (FILE {args.file} or --config "
              f"{args.config})", file=sys.stderr)
        return EXIT_CONFIG
    ok, lines = check_config(args.file or _config_path(args))
    for line in lines:
        print(line, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_CONFIG


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from service.store.db import safe_url
    from service.store.migrate import current_revision, upgrade

    settings = _settings(args)
    setup_logging(settings.log_level)
    upgrade(settings.database)
    print(f"{safe_url(settings.database)}: at revision {current_revision(settings.database)}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factorwatch", description=__doc__,
        epilog="New here? `factorwatch demo` runs it against simulated providers, offline and "
               "with no keys. Every setting can come from the environment as FACTORWATCH_<KEY> "
               "(README.md, docs/config.md).")
    parser.add_argument("--version", action="version", version=f"factorwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    from service.cli.score import add_score_parsers

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", metavar="FILE",
                       help="YAML config file (default: $FACTORWATCH_CONFIG, "
                       "else the built-in catalog)")
        return p

    with_config(sub.add_parser("run", help="run the daemon")).set_defaults(func=cmd_run)
    demo = sub.add_parser(
        "demo", help="run the daemon against simulated providers, offline, with no keys",
        description="Runs the daemon against six simulated providers served on 127.0.0.1. "
                    f"Its config, database and webhook files go in {DEMO_DIR}/ under the "
                    f"current directory, so `factorwatch score --config {DEMO_DIR}/config.yaml` "
                    "reads the demo's rankings. FACTORWATCH_* settings apply as to every "
                    "command; a flag beats its variable.")
    demo.add_argument("--listen", metavar="HOST:PORT",
                      help="where to serve (default: $FACTORWATCH_LISTEN, else 127.0.0.1:9464)")
    demo.add_argument("--database", metavar="URL",
                      help="database URL (default: $FACTORWATCH_DATABASE, else a SQLite file in "
                           f"{DEMO_DIR}/)")
    demo.add_argument("--seed", type=int, default=1, metavar="N",
                      help="seed of the simulated providers' randomness: the same seed gives "
                           "the same behaviour (default 1)")
    demo.set_defaults(func=cmd_demo)
    check = with_config(sub.add_parser(
        "check-config", help="validate a config file: every error with its location, exit 2"))
    check.add_argument("file", nargs="?", metavar="FILE",
                       help="the YAML config file, as --config (default: $FACTORWATCH_CONFIG, "
                            "else the built-in catalog); checked together with the "
                            "FACTORWATCH_* environment")
    check.set_defaults(func=cmd_check_config)
    add_score_parsers(sub, with_config)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, help="what to do")
    with_config(db_sub.add_parser("upgrade", help="apply migrations")).set_defaults(
        func=cmd_db_upgrade)
    from service.cli.probe import add_probe_parser

    add_probe_parser(sub, with_config)
    from service.cli.prices import add_prices_parser

    add_prices_parser(sub, with_config)

    from service.cli.discover import add_discover_parser

    add_discover_parser(sub, with_config)

    from service.cli.route import add_route_parser

    add_route_parser(sub, with_config)

    from service.cli.sla import add_sla_parser

    add_sla_parser(sub, with_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        return _print_config_errors(exc)


if __name__ == "__main__":
    sys.exit(main())
