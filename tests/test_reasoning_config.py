"""The `reasoning` probe option: checked against what each candidate's API takes, and
handed to the probe as Target.options["reasoning"]."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import ConfigError, load_settings
from service.sim.behaviour import SimModel
from service.sim.server import SimServer


def settings_of(tmp_path: Path, api: str, reasoning: str) -> object:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(f"""
candidates:
  lab/thinker:
    provider: openai
    api: {api}
    base_url: https://api.example.com/v1
    model: thinker
    probes:
      latency: {{every: 1m, max_tokens: 64, reasoning: {reasoning}}}
""", encoding="utf-8")
    return load_settings(path, environ={})


@pytest.mark.parametrize(("api", "reasoning", "given"), [
    ("openai", "{effort: low}", {"effort": "low"}),
    ("openai-responses", "{effort: minimal}", {"effort": "minimal"}),
    ("anthropic", "{budget_tokens: 1024}", {"budget_tokens": 1024}),
    ("gemini", "{budget_tokens: 0}", {"budget_tokens": 0}),
    ("gemini", "{effort: high}", {"effort": "high"}),
])
def test_reasoning_cap_reaches_the_probe_options(tmp_path: Path, api: str, reasoning: str,
                                                 given: dict[str, object]) -> None:
    settings = settings_of(tmp_path, api, reasoning)
    schedule = settings.candidates["lab/thinker"].probes["latency"]  # type: ignore[attr-defined]
    assert schedule.probe_options() == {"max_tokens": 64, "reasoning": given}


@pytest.mark.parametrize(("api", "reasoning", "error"), [
    ("openai", "{budget_tokens: 512}",
     "candidates.lab/thinker: probes.latency.reasoning: the openai API takes effort, "
     "not budget_tokens"),
    ("anthropic", "{effort: low}",
     "candidates.lab/thinker: probes.latency.reasoning: the anthropic API takes "
     "budget_tokens, not effort"),
    ("openai", "{}", "candidates.lab/thinker.probes.latency.reasoning: set effort, "
     "budget_tokens or both"),
    ("openai", "{effort: extreme}", "candidates.lab/thinker.probes.latency.reasoning.effort"),
    ("gemini", "{budget_tokens: -1}",
     "candidates.lab/thinker.probes.latency.reasoning.budget_tokens"),
])
def test_reasoning_cap_the_api_does_not_take_is_refused(tmp_path: Path, api: str,
                                                       reasoning: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, api, reasoning)
    assert any(e.startswith(error) for e in caught.value.errors), caught.value.errors


@pytest.mark.integration  # factorwatch as a subprocess
def test_probe_cli_takes_reasoning_flags() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "probe", "--url", "http://127.0.0.1:9/v1",
         "--api", "anthropic", "--model", "m", "--reasoning-effort", "low", "--timeout", "1"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "the anthropic API takes budget_tokens, not effort" in done.stderr, done.stderr


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"thinker": SimModel(ttft_seconds=0.01, inter_token_seconds=0.001,
                                            reasoning_tokens=12)})
    server.start_in_thread()
    yield server
    server.stop_thread()


def test_probe_cli_on_the_responses_api_prints_reasoning_fields(sim: SimServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "probe", "--url",
         sim.url_for("openai-responses"), "--api", "openai-responses", "--model", "thinker",
         "--max-tokens", "64", "--reasoning-effort", "low", "--json"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["reasoning_tokens"] == 6  # low: half of 12
    assert result["first_answer_seconds"] > result["ttft_seconds"] > 0
    assert result["answer_tokens_per_second"] > 0
