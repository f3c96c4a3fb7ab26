"""The `factorwatch` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service import __version__
from service.sim.openai_server import SimModel, SimServer

pytestmark = pytest.mark.integration  # factorwatch as a subprocess

ROOT = Path(__file__).resolve().parents[1]
VALID = """
builtin_catalog: false
database: sqlite:///{db}
providers:
  p: {{facts: {{hipaa_baa: true, founded_year: 2015}}}}
candidates:
  p/m:
    provider: p
    api: openai
    base_url: {base_url}
    model: m
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
    probes: {{latency: {{every: 30s}}}}
workloads:
  w:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{cost: 1, stability: 1}}
"""


def factorwatch(*args: str, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    return subprocess.run([sys.executable, "-m", "service.cli.main", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, cwd=cwd, timeout=120)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.05, inter_token_seconds=0.002)}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def config(tmp_path: Path, sim: SimServer) -> Path:
    path = tmp_path / "fw.yaml"
    path.write_text(VALID.format(db=tmp_path / "fw.db", base_url=sim.base_url))
    return path


def test_version() -> None:
    out = factorwatch("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"factorwatch {__version__}"


def test_check_config_valid_prints_summary_and_exits_0(config: Path) -> None:
    out = factorwatch("check-config", str(config))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: ")
    assert len(out.stdout.strip().splitlines()) == 1


def test_check_config_invalid_prints_located_errors_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("candidates:\n  openai/gpt-6-sol:\n    probes: {latency: {every: soon}}\n")
    out = factorwatch("check-config", str(bad))
    assert out.returncode == 2
    assert "candidates.openai/gpt-6-sol.probes.latency.every: invalid duration 'soon'" in out.stderr


def test_run_with_malformed_config_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"database: sqlite:///{tmp_path / 'never.db'}\nlisten: nowhere\n")
    out = factorwatch("run", "--config", str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith("listen: ")
    assert not (tmp_path / "never.db").exists()


def test_db_upgrade_then_score_json_document(config: Path, tmp_path: Path) -> None:
    assert not (tmp_path / "fw.db").exists()
    up = factorwatch("db", "upgrade", "--config", str(config))
    assert up.returncode == 0, up.stderr
    assert "at revision" in up.stdout
    out = factorwatch("score", "--config", str(config), "--workload", "w", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["workload"] == "w" and doc["leader"] == "p/m"
    entry = doc["ranking"][0]
    assert entry["rank"] == 1 and entry["gated"] is False
    assert entry["factors"]["cost"]["source"] == "static"
    assert entry["factors"]["latency"]["source"] == "missing"  # never probed: no daemon ran
    assert entry["factors"]["cost"]["weight"] == 1


def test_score_table_and_what_if_weights(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    table = factorwatch("score", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert "workload w" in table.stdout and "p/m" in table.stdout
    bad = factorwatch("score", "--config", str(config), "--weights", "speed=3")
    assert bad.returncode == 2
    assert "--weights: 'speed=3'" in bad.stderr


def test_score_without_database_says_what_to_do(config: Path) -> None:
    out = factorwatch("score", "--config", str(config))
    assert out.returncode == 1
    assert "factorwatch db upgrade" in out.stderr


def test_score_unknown_workload(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    out = factorwatch("score", "--config", str(config), "-w", "nope")
    assert out.returncode == 2
    assert "unknown workload 'nope'" in out.stderr


def test_probe_configured_candidate(config: Path) -> None:
    out = factorwatch("probe", "p/m", "--config", str(config), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is True and result["ttft_seconds"] > 0


def test_probe_without_config_json_fields(sim: SimServer) -> None:
    out = factorwatch("probe", "--url", str(sim.base_url), "--api", "openai", "--model", "m",
                      "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for field in ("ok", "error_class", "http_status", "connect_seconds", "ttft_seconds",
                  "total_seconds", "output_tokens", "output_tokens_estimated",
                  "output_tokens_per_second"):
        assert field in result
    assert result["http_status"] == 200 and result["error_class"] is None


def test_probe_failure_exits_1_with_error_class(tmp_path: Path) -> None:
    out = factorwatch("probe", "--url", "http://127.0.0.1:9/v1", "--api", "openai",
                      "--model", "m", "--timeout", "2", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["error_class"] == "network"


def test_probe_missing_key_variable_is_a_usage_error() -> None:
    out = factorwatch("probe", "--url", "http://127.0.0.1:9/v1", "--api", "openai",
                      "--model", "m", "--api-key-env", "FW_TEST_UNSET_KEY")
    assert out.returncode == 2
    assert "FW_TEST_UNSET_KEY is not set" in out.stderr


def test_explain_prints_every_factor_with_its_evidence(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    out = factorwatch("explain", "p/m", "--workload", "w", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("p/m for w: composite ")
    for factor in ("task_quality", "latency", "cost", "stability", "lock_in"):
        assert f"\n{factor}: " in out.stdout
    assert "founded_year: 2015 (source unknown, as of unknown)" in out.stdout
    as_json = factorwatch("explain", "p/m", "-w", "w", "--json", "--config", str(config))
    assert json.loads(as_json.stdout)["factors"]["cost"]["evidence"]["monthly_usd"] == 0.3


def test_explain_unknown_candidate(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    out = factorwatch("explain", "nope/x", "--workload", "w", "--config", str(config))
    assert out.returncode == 2
    assert "candidate 'nope/x' is not ranked for w (ranked: p/m)" in out.stderr


def test_score_at_rejects_a_malformed_time(config: Path) -> None:
    out = factorwatch("score", "--config", str(config), "--at", "yesterday")
    assert out.returncode == 2
    assert "--at: 'yesterday' is not an ISO 8601 time" in out.stderr


def test_score_at_a_time_before_any_price_uses_the_configured_price(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    out = factorwatch("score", "--config", str(config), "--at", "2020-01-01T00:00:00Z",
                      "--json", "-w", "w")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["evaluated_at"] == "2020-01-01T00:00:00+00:00"


# --- check-config: every error, and the config found like every other command finds it -------

TWO_ERRORS = "listen: nowhere\nretention: {rankings_full: 10d, rankings: 5d}\n"


def test_check_config_lists_every_independent_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWO_ERRORS)
    out = factorwatch("check-config", str(bad))
    assert out.returncode == 2
    assert [line.split(":")[0] for line in out.stderr.splitlines()] == [
        "listen", "retention.rankings_full"]


@pytest.mark.parametrize("how", ["positional", "--config", "-c", "FACTORWATCH_CONFIG"])
def test_check_config_takes_the_file_as_every_command_does(tmp_path: Path, how: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWO_ERRORS)
    args, env = {"positional": ([str(bad)], {}), "--config": (["--config", str(bad)], {}),
                 "-c": (["-c", str(bad)], {}),
                 "FACTORWATCH_CONFIG": ([], {"FACTORWATCH_CONFIG": str(bad)})}[how]
    out = factorwatch("check-config", *args, env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("listen: expected host:port")


def test_check_config_without_a_file_checks_the_catalog_and_environment() -> None:
    assert factorwatch("check-config").stdout.startswith("ok: 13 providers")
    out = factorwatch("check-config", env={"FACTORWATCH_SCORING__EVERY": "soon"})
    assert out.returncode == 2
    assert out.stderr == "FACTORWATCH_SCORING__EVERY: invalid duration 'soon'\n"


def test_check_config_refuses_two_different_files(config: Path, tmp_path: Path) -> None:
    out = factorwatch("check-config", str(config), "--config", str(tmp_path / "other.yaml"))
    assert out.returncode == 2
    assert "check-config: give the config file once" in out.stderr


# --- score: no database, --at, the header -----------------------------------------------------


def test_score_without_database_leaves_no_file_behind(config: Path, tmp_path: Path) -> None:
    out = factorwatch("score", "--config", str(config))
    assert out.returncode == 1
    assert not (tmp_path / "fw.db").exists()
    out = factorwatch("explain", "p/m", "-w", "w", "--config", str(config))
    assert out.returncode == 1 and "factorwatch db upgrade" in out.stderr
    assert not (tmp_path / "fw.db").exists()


def test_score_at_in_the_future_is_refused(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    for command in (["score"], ["explain", "p/m", "-w", "w"]):
        out = factorwatch(*command, "--config", str(config), "--at", "2999-01-01T00:00:00Z")
        assert out.returncode == 2, out.stdout
        assert "--at: 2999-01-01T00:00:00Z is in the future" in out.stderr


def _store_probe(config: Path, at: datetime) -> None:
    from sqlmodel import Session

    from service.config import load_settings
    from service.store.db import make_engine
    from service.store.models import ProbeResultRow

    engine = make_engine(load_settings(config, environ={}).database)
    with Session(engine) as session:
        session.add(ProbeResultRow(candidate_id="p/m", kind="latency", started_at=at, ok=True,
                                   ttft_seconds=0.1, total_seconds=0.2))
        session.commit()
    engine.dispose()


def test_score_at_before_the_first_stored_probe_says_so(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    none_yet = factorwatch("score", "--config", str(config), "--at", "2026-01-01T00:00:00Z")
    assert none_yet.returncode == 0, none_yet.stderr
    assert "note: no probe results are stored yet" in none_yet.stderr
    _store_probe(config, datetime(2026, 1, 2, 12, tzinfo=UTC))
    before = factorwatch("score", "--config", str(config), "--at", "2026-01-01T00:00:00Z",
                         "--json")
    assert before.returncode == 0, before.stderr
    json.loads(before.stdout)  # the note goes to stderr, never into the document
    assert ("note: --at 2026-01-01T00:00:00Z is before the first stored probe result "
            "(2026-01-02T12:00:00Z)") in before.stderr
    after = factorwatch("score", "--config", str(config), "--at", "2026-01-03T00:00:00Z")
    assert after.returncode == 0 and "note:" not in after.stderr


def test_score_header_names_rank_1_and_the_announced_top_choice(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    header = factorwatch("score", "--config", str(config)).stdout.splitlines()[0]
    assert "rank 1: p/m" in header and "top choice: none yet" in header
    assert "leader" not in header

    from sqlmodel import Session

    from service.config import load_settings
    from service.store.db import make_engine
    from service.store.models import TopChoice

    engine = make_engine(load_settings(config, environ={}).database)
    with Session(engine) as session:
        session.add(TopChoice(workload="w", candidate="p/old",
                              since=datetime(2026, 1, 1, tzinfo=UTC)))
        session.commit()
    engine.dispose()
    header = factorwatch("score", "--config", str(config)).stdout.splitlines()[0]
    assert "rank 1: p/m" in header and "top choice: p/old" in header


def test_what_if_ranking_says_its_weights_were_overridden(config: Path) -> None:
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    plain = factorwatch("score", "--config", str(config)).stdout
    assert "what-if" not in plain
    what_if = factorwatch("score", "--config", str(config), "--weights", "latency=5,cost=1")
    assert what_if.returncode == 0, what_if.stderr
    assert what_if.stdout.splitlines()[1] == (
        "what-if: weights overridden (latency=5, cost=1); the stored ranking is unchanged")


LONG_ID = "p/" + "a-very-long-model-name-from-a-hosting-provider-" * 2


def test_score_columns_fit_a_long_candidate_id(config: Path) -> None:
    text = config.read_text().replace("  p/m:", f"  {LONG_ID}:")
    config.write_text(text)
    assert factorwatch("db", "upgrade", "--config", str(config)).returncode == 0
    out = factorwatch("score", "--config", str(config))
    assert out.returncode == 0, out.stderr
    header, row = out.stdout.splitlines()[1:3]
    assert row.split()[1] == LONG_ID
    end = header.index("composite") + len("composite")  # the figure ends under its heading
    assert re.fullmatch(r" \d\.\d\d", row[end - 5:end]), (header, row)


# --- help --------------------------------------------------------------------------------------


def test_top_level_help_says_what_factorwatch_does() -> None:
    out = factorwatch("--help")
    assert "The `factorwatch` command." not in out.stdout
    assert "ranking of LLM providers" in out.stdout


def test_every_argument_of_every_command_has_help() -> None:
    import argparse

    from service.cli.main import build_parser

    missing = []
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        if name == "probe":  # service/cli/probe.py: checked with the probe command's tests
            continue
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = [(f"{name} {n}", p) for a in nested for n, p in a.choices.items()] or [
            (name, sub)]
        for label, parser in parsers:
            missing += [f"{label} {a.dest}" for a in parser._actions
                        if not a.help and not isinstance(a, argparse._HelpAction)]
    assert missing == []


# --- demo: the documented environment, and its state in one ignored directory ---------------


def test_demo_honours_the_environment_and_keeps_its_state_in_one_ignored_dir(
        tmp_path: Path) -> None:
    from devtools.demo import free_port

    work = tmp_path / "checkout"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    env = {**base, "FACTORWATCH_LISTEN": f"127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "demo"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        # Everything it wrote is in .factorwatch-demo/, and git sees none of it.
        assert [p.name for p in work.iterdir() if p.name != ".git"] == [".factorwatch-demo"]
        assert {"config.yaml", "webhook-url", "webhook-secret"} <= {
            p.name for p in (work / ".factorwatch-demo").iterdir()}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                                cwd=work, capture_output=True, text=True, check=True)
        assert status.stdout == ""
        # The config it wrote works from anywhere, as the README's next commands use it.
        out = factorwatch("score", "--config", str(work / ".factorwatch-demo/config.yaml"),
                          "-w", "consumer-chat", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "sim-beta/steady-pro" in out.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "--config .factorwatch-demo/config.yaml" in stderr


def test_score_and_explain_show_state_interval_missing_evidence_and_what_moved(
        tmp_path: Path) -> None:
    """A candidate that served when it was chosen and fails now: the table says down, with
    the reason; explain shows the intervals, what has no evidence and what moved since the
    top choice was announced, leaving out what did not."""
    from datetime import timedelta

    from service.config import load_settings
    from service.rankings.evaluation import evaluate_and_save
    from service.store.db import make_engine
    from service.store.migrate import upgrade
    from service.store.models import ProbeResultRow
    from service.store.rollup import apply_rollups

    path = tmp_path / "fw.yaml"
    path.write_text(VALID.format(db=tmp_path / "fw.db", base_url="http://127.0.0.1:9/v1")
                    .replace("weights: {cost: 1, stability: 1}",
                             "weights: {cost: 1, stability: 1, reliability: 2, tool_calling: 1}"))
    settings = load_settings(path, environ={})
    upgrade(settings.database)
    engine = make_engine(settings.database)
    now = datetime.now(UTC)

    def probes(minutes_ago: int, count: int, ok: bool) -> None:
        rows = [ProbeResultRow(candidate_id="p/m", kind="latency", ok=ok,
                               error_class=None if ok else "http_5xx",
                               http_status=None if ok else 503, ttft_seconds=0.1 if ok else None,
                               started_at=now - timedelta(minutes=minutes_ago, seconds=10 * i))
                for i in range(count)]
        with engine.begin() as conn:
            conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                         [r.model_dump(exclude={"id"}) for r in rows])
            apply_rollups(conn, rows)

    probes(30, 60, ok=True)
    evaluate_and_save(engine, settings, now - timedelta(minutes=20))  # chosen while serving
    probes(2, 8, ok=False)
    engine.dispose()

    table = factorwatch("score", "--config", str(path))
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if " p/m " in line)
    assert re.search(r"p/m\s+down\s+\d\.\d\d\*\s+\[\d\.\d\d, \d\.\d\d\]", row), row
    assert "p/m is down: 8 of 8 probes failed since" in table.stdout
    assert "* partial: weighted factors without evidence (counted at the lowest score, 1)" \
        in table.stdout

    out = factorwatch("explain", "p/m", "-w", "w", "--config", str(path)).stdout
    assert "state: down (8 of 8 probes failed since" in out
    assert "no evidence: tool_calling (counted at the lowest score, 1)" in out
    moved_lines = out.split("moved since ")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split(":")[0].strip() for line in moved_lines] == ["composite", "reliability"]
    assert re.search(r"reliability: \d\.\d\d \[\d\.\d\d, \d\.\d\d\] -> \d\.\d\d \[", out)
    as_json = json.loads(factorwatch("explain", "p/m", "-w", "w", "--json", "--config",
                                     str(path)).stdout)
    assert as_json["state"] == "down" and as_json["missing"] == ["tool_calling"]
    assert [m["factor"] for m in as_json["moved"]] == ["composite", "reliability"]
    assert as_json["moved"][1]["now"]["score"] < as_json["moved"][1]["was"]["score"]
