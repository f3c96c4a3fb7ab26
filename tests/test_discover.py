"""`factorwatch discover` as a user runs it: a real process against the simulator's model
lists (each API's format, behind its key) and its price list."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from service.config import load_settings
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.status_pages import PRICES_PATH, litellm_prices
from tests.test_cli import factorwatch

pytestmark = pytest.mark.integration  # factorwatch as a subprocess, the simulator on a socket

KEY = "sk-proj-DISCOVERKEY0123456789abcdef"
CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
providers:
  p: {{}}
candidates:
  p/m:
    provider: p
    api: {api}
    base_url: {base_url}
    model: m
    api_key_env: P_KEY
    price: {{source: litellm, key: m}}
    probes: {{latency: {{every: 30s}}}}
pricing:
  sources: [{{format: litellm, url: "{prices}"}}]
workloads:
  w:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{cost: 1}}
"""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    models = {name: SimModel() for name in ("m", "gpt-6-astra", "new-one",
                                            "text-embedding-3-large")}
    server = SimServer(models, api_key=KEY,
                       price_list=litellm_prices({"m": (1, 2, None),
                                                  "new-one": (0.5, 1.5, 0.05)}))
    server.start_in_thread()
    yield server
    server.stop_thread()


def config(tmp_path: Path, sim: SimServer, api: str = "openai", prices: str | None = None,
           base_url: str | None = None) -> Path:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", api=api,
                                  base_url=base_url or sim.url_for(api),
                                  prices=prices or f"{sim.origin}{PRICES_PATH}"))
    return path


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini"])
def test_prints_the_candidates_to_paste(tmp_path: Path, sim: SimServer, api: str) -> None:
    path = config(tmp_path, sim, api)
    out = factorwatch("discover", "--provider", "p", "--config", str(path),
                      env={"P_KEY": KEY})
    assert out.returncode == 0, out.stderr
    assert ": already candidate p/m; $1 in / $2 out per million tokens (litellm m, " \
        in out.stdout
    block = yaml.safe_load(out.stdout)["candidates"]
    # Anthropic's and Gemini's lists say whether a model answers chat (the simulator's say
    # all do); OpenAI's does not, and the bundled map calls that one an embedding model.
    shown = ["p/gpt-6-astra", "p/new-one"] + (["p/text-embedding-3-large"] if api != "openai"
                                              else [])
    assert list(block) == shown
    assert block["p/new-one"]["price"]["input_per_mtok"] == 0.5  # the configured list, read now
    assert block["p/gpt-6-astra"]["price"]["input_per_mtok"] == 10.0  # the bundled map
    assert block["p/new-one"]["base_url"] == sim.url_for(api)
    # Pasted into the config, they are candidates like the others.
    merged = yaml.safe_load(path.read_text())
    merged["candidates"] |= block
    path.write_text(yaml.safe_dump(merged))
    assert set(load_settings(path, environ={}).candidates) == {"p/m", *shown}
    assert KEY not in out.stdout + out.stderr


def test_json_and_every_model(tmp_path: Path, sim: SimServer) -> None:
    out = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim)), "--json",
                      "--all", env={"P_KEY": KEY})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["provider"], doc["api"], doc["api_key_env"], doc["listed"]) == (
        "p", "openai", "P_KEY", 4)
    models = {m["model"]: m for m in doc["models"]}
    assert models["m"]["candidate"] == "p/m" and models["m"]["config"] is None
    assert models["text-embedding-3-large"]["chat"] is False  # the bundled map says embedding
    assert models["new-one"]["candidate_id"] == "p/new-one"
    assert models["new-one"]["priced_from"] == f"{sim.origin}{PRICES_PATH}"
    assert models["new-one"]["price"]["cached_input_per_mtok"] == 0.05
    without = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim)), "--json",
                          env={"P_KEY": KEY})
    assert "text-embedding-3-large" not in without.stdout


def test_offline_prices_and_a_price_list_that_does_not_answer(tmp_path: Path,
                                                              sim: SimServer) -> None:
    offline = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim)), "--json",
                          "--offline-prices", env={"P_KEY": KEY})
    models = {m["model"]: m for m in json.loads(offline.stdout)["models"]}
    assert models["new-one"]["price"] is None  # only the configured list knows it
    assert models["gpt-6-astra"]["priced_from"] == "the bundled LiteLLM map of 2026-11-20"
    gone = config(tmp_path, sim, prices=f"{sim.origin}/pricing/nothing-here.json")
    out = factorwatch("discover", "-p", "p", "-c", str(gone), env={"P_KEY": KEY})
    assert out.returncode == 0, out.stderr
    assert ("discover: price list " f"{sim.origin}/pricing/nothing-here.json not read "
            "(missing: HTTP 404): prices from the bundled LiteLLM map of 2026-11-20") in out.stderr


def test_no_key_is_a_config_error_naming_the_variable(tmp_path: Path, sim: SimServer) -> None:
    out = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim)))
    assert out.returncode == 2
    assert out.stderr == "discover: P_KEY is not set (the API key of provider p)\n"
    unknown = factorwatch("discover", "-p", "nope", "-c", str(config(tmp_path, sim)))
    assert unknown.returncode == 2
    assert unknown.stderr == "discover: unknown provider 'nope' (known: p)\n"


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini"])
def test_a_refused_key_fails_without_showing_it(tmp_path: Path, sim: SimServer,
                                                api: str) -> None:
    wrong = "sk-proj-WRONGKEY0123456789abcdefgh"
    out = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim, api)),
                      env={"P_KEY": wrong})
    assert out.returncode == 1
    assert out.stderr.startswith("discover: p refused the key (P_KEY): HTTP 401 from ")
    assert wrong not in out.stdout + out.stderr and KEY not in out.stdout + out.stderr


def test_a_provider_that_does_not_answer(tmp_path: Path, sim: SimServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/v1"
    out = factorwatch("discover", "-p", "p", "-c", str(config(tmp_path, sim, base_url=closed)),
                      "--offline-prices", env={"P_KEY": KEY})
    assert out.returncode == 1
    assert out.stderr.startswith(f"discover: p's model list: ConnectError from {closed}/models")
    assert KEY not in out.stderr
