"""`factorwatch prices [--diff] [--json]` as a user runs it: a real process reading real price
lists (LiteLLM's map and genai-prices' data) from a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.source_server import Route, SourceServer
from tests.test_cli import factorwatch

pytestmark = pytest.mark.integration  # factorwatch as a subprocess

CANDIDATE = """
  {cid}:
    provider: {provider}
    api: openai
    base_url: https://api.example.com/v1
    model: {model}
    price: {price}
"""
# deepseek-chat: LiteLLM 1.110.2 has 0.28/0.42, genai-prices 0.2.5 0.27/1.1 (its dearest
# price of the day). gpt-4o and o3: the two lists agree.
AGREE = {"openai/gpt-4o": ("openai", "gpt-4o", "{source: litellm}"),
         "openai/o3": ("openai", "o3", "{source: genai-prices, key: openai/o3}")}
DISAGREE = {"deepseek/chat": ("deepseek", "deepseek-chat", "{source: litellm}")}


def write_config(path: Path, base: str, candidates: dict[str, tuple[str, str, str]],
                 genai_path: str = "/genai.json") -> Path:
    cands = "".join(CANDIDATE.format(cid=cid, provider=prov, model=model, price=price)
                    for cid, (prov, model, price) in candidates.items())
    path.write_text(
        "builtin_catalog: false\nproviders: {openai: {}, deepseek: {}}\n"
        f"candidates:{cands}pricing:\n  sources:\n"
        f"    - {{format: litellm, url: '{base}/litellm.json'}}\n"
        f"    - {{format: genai-prices, url: '{base}{genai_path}'}}\n")
    return path


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    srv.routes["/litellm.json"] = Route.fixture("litellm_model_prices_and_context_window.json")
    srv.routes["/genai.json"] = Route.fixture("genai_prices_0.2.5_data_excerpt.json")
    yield srv
    srv.close()


def test_prices_lists_each_sources_price_and_marks_the_one_in_use(
        server: SourceServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "fw.yaml", server.base, {**AGREE, **DISAGREE})
    out = factorwatch("prices", "--config", str(config))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    deepseek = lines.index("deepseek/chat")
    litellm, genai = lines[deepseek + 1].split(), lines[deepseek + 2].split()
    assert litellm == ["litellm", "deepseek-chat", "0.28", "0.42", "0.028", "in", "use"]
    assert genai[:5] == ["genai-prices", "deepseek-chat", "0.27", "1.1", "0.07"]
    assert " ".join(genai[5:]) == ("input -0.01 (-3.57%), output +0.68 (+161.9%), "
                                   "cached +0.042 (+150%)")
    o3 = lines.index("openai/o3")
    assert lines[o3 + 1].split()[-1] == "same" and lines[o3 + 2].endswith("in use")


def test_diff_shows_only_disagreements_and_exits_1(server: SourceServer,
                                                   tmp_path: Path) -> None:
    config = write_config(tmp_path / "fw.yaml", server.base, {**AGREE, **DISAGREE})
    out = factorwatch("prices", "--diff", "--json", "--config", str(config))
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert [s["format"] for s in doc["sources"]] == ["litellm", "genai-prices"]
    assert all(s["error"] is None for s in doc["sources"])
    (deepseek,) = doc["candidates"]
    assert deepseek["candidate"] == "deepseek/chat" and deepseek["disagree"]
    in_use, genai = deepseek["sources"]
    assert (in_use["source"], in_use["in_use"], in_use["price"]["output_per_mtok"]) == (
        "litellm", True, 0.42)
    assert genai["differences"] == [
        {"figure": "input_per_mtok", "value": 0.27, "in_use": 0.28, "absolute": -0.01,
         "percent": -3.57},
        {"figure": "output_per_mtok", "value": 1.1, "in_use": 0.42, "absolute": 0.68,
         "percent": 161.9},
        {"figure": "cached_input_per_mtok", "value": 0.07, "in_use": 0.028,
         "absolute": 0.042, "percent": 150.0}]


def test_diff_of_agreeing_sources_says_so_and_exits_0(server: SourceServer,
                                                      tmp_path: Path) -> None:
    out = factorwatch("prices", "--diff", "--config",
                      str(write_config(tmp_path / "fw.yaml", server.base, AGREE)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("no candidates whose price sources disagree (2 candidates; "
                                  "sources: litellm, genai-prices)")


@pytest.mark.parametrize(("route", "reason"), [
    pytest.param(None, "missing: HTTP 404", id="gone"),
    pytest.param(Route(b"<html>maintenance</html>", "text/html"), "parse_error:", id="html"),
])
def test_a_source_that_cannot_be_read_is_named_and_exits_3(
        route: Route | None, reason: str, server: SourceServer, tmp_path: Path) -> None:
    if route is not None:
        server.routes["/broken.json"] = route
    config = write_config(tmp_path / "fw.yaml", server.base, AGREE, genai_path="/broken.json")
    out = factorwatch("prices", "--diff", "--config", str(config))
    assert out.returncode == 3
    assert f"genai-prices ({server.base}/broken.json) not read: {reason}" in out.stderr
    listing = factorwatch("prices", "--config", str(config))
    assert listing.returncode == 3
    assert f"not read: {reason}" in listing.stdout  # on each candidate's genai-prices row


def test_a_bad_config_exits_2_naming_the_key(server: SourceServer, tmp_path: Path) -> None:
    bad = {"openai/gpt-4o": ("openai", "gpt-4o", "{source: litellm, fallback: {csv: x}}")}
    out = factorwatch("prices", "--config", str(write_config(tmp_path / "fw.yaml",
                                                             server.base, bad)))
    assert out.returncode == 2
    assert "candidates.openai/gpt-4o.price.fallback: unknown price list 'csv'" in out.stderr
