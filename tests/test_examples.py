"""The example configs in examples/ load and decide what their comments say, run as a user
runs them: the CLI in a subprocess, on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # the CLI in a subprocess

ROOT = Path(__file__).resolve().parent.parent
HIPAA = ROOT / "examples" / "hipaa-across-hosts.yaml"


def factorwatch(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    env["FACTORWATCH_DATABASE"] = f"sqlite:///{db}"
    return subprocess.run([sys.executable, "-m", "service.cli.main", *args],
                          capture_output=True, text=True, env=env, cwd=db.parent, timeout=120)


def test_every_example_passes_check_config(tmp_path: Path) -> None:
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert HIPAA in examples
    for example in examples:
        out = factorwatch("check-config", str(example), db=tmp_path / "f.db")
        assert out.returncode == 0, (example.name, out.stderr)


def test_the_hipaa_gate_compares_one_model_across_the_hosts_with_a_baa(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    assert factorwatch("db", "upgrade", "--config", str(HIPAA), db=db).returncode == 0
    out = factorwatch("score", "--config", str(HIPAA), "-w", "clinical-notes", "--json", db=db)
    assert out.returncode == 0, out.stderr
    entries = {e["candidate"]: e for e in json.loads(out.stdout)["ranking"]}
    # Claude Sonnet on three hosts, GPT on two: five candidates, one model each.
    hosts = {"anthropic/claude-sonnet-5-5", "aws-bedrock/us.anthropic.claude-sonnet-5-5",
             "vertex-claude/claude-sonnet-5-5", "openai/gpt-6-luna", "azure-openai/gpt-6-luna"}
    assert hosts <= entries.keys()
    gated = {c for c, e in entries.items() if e["gated"]}
    # Hosts with a BAA (the catalog's, or the team's own recorded in the example) compete;
    # Vertex, whose BAA nobody recorded, is kept out however it scores.
    assert hosts & gated == {"vertex-claude/claude-sonnet-5-5"}
    assert "deepseek/deepseek-v4-flash" in gated
    assert entries["vertex-claude/claude-sonnet-5-5"]["rank"] is None
