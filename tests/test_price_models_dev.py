"""The models.dev reader on a real excerpt of its api.json, and on broken entries."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from probes.pricing import READERS, ParseError, Price
from tests.conftest import REAL_FIXTURES as REAL

BODY = (REAL / "models_dev_api_excerpt.json").read_bytes()
DOC: dict[str, Any] = json.loads(BODY)


def read(body: bytes, keys: list[str] | None) -> Any:
    return READERS["models-dev"](body, keys)


@pytest.mark.parametrize(("key", "expected"), [
    # Not in LiteLLM's map (1.110.2): Moonshot's own kimi-k2-thinking-turbo.
    ("moonshotai-cn/kimi-k2-thinking-turbo", Price(1.15, 8.0, 0.15, "models-dev")),
    ("moonshotai-cn/kimi-k2.5", Price(0.6, 3.0, 0.1, "models-dev")),
    # A self-hosted gateway lists its models at cost 0: read as given.
    ("privatemode-ai/gpt-oss-120b", Price(0.0, 0.0, None, "models-dev")),
])
def test_real_entry_reads_as_usd_per_million_tokens(key: str, expected: Price) -> None:
    prices = read(BODY, [key])
    assert prices.errors == {}
    assert prices.quotes == {key: expected}


def test_whole_excerpt_reads_every_model_of_every_provider() -> None:
    prices = read(BODY, None)
    assert prices.errors == {}
    assert sorted(prices.quotes) == sorted(
        f"{pid}/{mid}" for pid, provider in DOC.items() for mid in provider["models"])
    assert len(prices.quotes) == 11


def _broken(cost: Any) -> bytes:
    doc = copy.deepcopy(DOC)
    doc["moonshotai-cn"]["models"]["kimi-k2.5"]["cost"] = cost
    if cost is None:
        del doc["moonshotai-cn"]["models"]["kimi-k2.5"]["cost"]
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("cost", "reason"), [
    ({"input": -0.6, "output": 3}, "input is negative: -0.6"),
    ({"input": 0.6, "output": 30000},
     "output is absurd: $30,000 per million tokens (over $10,000; a unit mistake?)"),
    ({"input": 0.6}, "output is missing"),
    ({"input": "0.6", "output": "three"}, "output is not a number: 'three'"),
    (None, "no cost object"),
])
def test_broken_entry_is_refused_with_its_reason_and_the_others_still_read(
        cost: Any, reason: str) -> None:
    keys = ["moonshotai-cn/kimi-k2.5", "moonshotai-cn/kimi-k2-thinking-turbo"]
    prices = read(_broken(cost), keys)
    assert prices.errors == {"moonshotai-cn/kimi-k2.5": f"moonshotai-cn/kimi-k2.5: {reason}"}
    assert list(prices.quotes) == ["moonshotai-cn/kimi-k2-thinking-turbo"]


def test_keys_name_the_provider_and_say_what_is_missing() -> None:
    prices = read(BODY, ["kimi-k2.5", "moonshotai/kimi-k2.5", "moonshotai-cn/kimi-k9"])
    assert prices.quotes == {}
    assert prices.errors == {
        "kimi-k2.5": "no provider for 'kimi-k2.5' in models.dev's list: keys are "
                     "<provider>/<model>",
        "moonshotai/kimi-k2.5": "no provider for 'moonshotai/kimi-k2.5' in models.dev's list: "
                                "keys are <provider>/<model>",
        "moonshotai-cn/kimi-k9": "no model 'kimi-k9' of provider 'moonshotai-cn' in "
                                 "models.dev's list"}
    # Not in the list at all, as opposed to refused: what model_retired watches for.
    assert prices.missing == set(prices.errors)


def test_a_refused_entry_is_not_missing() -> None:
    prices = read(_broken(-1), ["moonshotai-cn/kimi-k2.5"])
    assert prices.errors and not prices.missing


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty response"),
    (b"<html>oops</html>", "an HTML page"),
    (b'{"moonshotai-cn": {"models": {', "not JSON"),
    (b'{"data": []}', "not models.dev's api.json"),
    (b"[]", "not models.dev's api.json"),
])
def test_body_that_is_not_models_dev_raises(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        read(body, None)
