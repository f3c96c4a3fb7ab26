"""The `factorwatch` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import __version__
from service.sim.openai_server import SimModel, SimServer

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
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True,
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
    bad.write_text("candidates:\n  openai/gpt-4o:\n    probes: {latency: {every: soon}}\n")
    out = factorwatch("check-config", str(bad))
    assert out.returncode == 2
    assert "candidates.openai/gpt-4o.probes.latency.every: invalid duration 'soon'" in out.stderr


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
