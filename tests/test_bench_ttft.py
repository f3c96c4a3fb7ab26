"""bench/ttft_fidelity runs as RESULTS.md shows it, for every dialect it names: a short run
whose every client measures requests against the simulator's truth without a failure (the
figures themselves are the bench's job, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # the bench's server and clients are processes

ROOT = Path(__file__).resolve().parent.parent
# Every framing and credential path the bench has: SSE (OpenAI, Anthropic, Gemini forms),
# Bedrock's signed event stream, the clouds' paths.
APIS = ("openai", "anthropic", "gemini", "openai-responses", "bedrock", "bedrock-invoke",
        "vertex", "vertex-anthropic", "azure-ai-inference")


def test_every_dialect_is_measured_against_truth(tmp_path: Path) -> None:
    out = tmp_path / "ttft.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.ttft_fidelity", "--apis", ",".join(APIS), "--streams",
         "1", "--rates", "", "--no-guidellm", "--seconds", "1", "--warmup", "0",
         "--min-requests", "3", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    (level,) = json.loads(out.read_text())["levels"]
    clients = {name: r for name, r in level.items() if isinstance(r, dict)}
    assert set(clients) == {"factorwatch", "factorwatch-loop",
                            *(f"factorwatch ({api})" for api in APIS if api != "openai")}
    for name, r in clients.items():
        # At least one request measured and paired with its truth (how many fit in the short
        # window depends on the machine's load), none failed.
        assert r["failed"] == 0 and r["unmatched"] == 0 and r["ttft"]["n"] >= 1, (name, r)
