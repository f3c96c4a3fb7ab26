"""The genai-prices reader on a real excerpt of its data: prices, tiers, batch, dated history,
time-of-day prices, key matching, and broken entries that cost only themselves."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from probes.pricing import READERS, ParseError, Price, PriceTier
from probes.pricing.genai_prices import parse
from tests.conftest import REAL_FIXTURES as REAL

BODY = (REAL / "genai_prices_0.2.5_data_excerpt.json").read_bytes()
DOC: list[dict[str, Any]] = json.loads(BODY)
TODAY = date(2026, 12, 8)


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)


def test_o3_price_cut_is_history_and_batch_prices_come_from_the_batch_variant() -> None:
    prices = parse(BODY, ["openai/o3"], today=TODAY)
    assert prices.errors == {}
    assert prices.quotes["openai/o3"] == Price(
        2.0, 8.0, 0.5, "genai-prices", batch_input_per_mtok=1.0, batch_output_per_mtok=4.0)
    history = prices.history["openai/o3"]
    assert [(p.effective_at, p.input_per_mtok, p.output_per_mtok, p.batch_input_per_mtok)
            for p in history] == [
        (_at("2025-06-09"), 10.0, 40.0, None),  # the undated price, on its last known day
        (_at("2025-06-10"), 2.0, 8.0, None),  # the start_date of the cut
        (_at("2026-10-14"), 2.0, 8.0, 1.0)]  # the batch variant's start_date


def test_a_day_before_a_price_change_reads_the_old_price_and_no_history() -> None:
    prices = parse(BODY, ["openai/o3"], today=date(2025, 6, 1))
    assert (prices.quotes["openai/o3"].input_per_mtok,
            prices.quotes["openai/o3"].output_per_mtok) == (10.0, 40.0)
    assert prices.history["openai/o3"] == ()


def test_tiered_figures_become_context_tiers_and_a_dated_price_can_drop_them() -> None:
    prices = parse(BODY, ["anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-6"],
                   today=TODAY)
    assert prices.quotes["anthropic/claude-sonnet-4-5"] == Price(
        3.0, 15.0, 0.3, "genai-prices", cache_write_per_mtok=3.75, batch_input_per_mtok=1.5,
        batch_output_per_mtok=7.5, tiers=(PriceTier(200_000, 6.0, 22.5, 0.6),))
    opus = prices.history["anthropic/claude-opus-4-6"]
    assert [(p.effective_at, p.tiers) for p in opus][:2] == [
        (_at("2026-03-12"), (PriceTier(200_000, 10.0, 37.5, 1.0),)),
        (_at("2026-03-13"), ())]  # flat pricing across the 1M window from that day
    assert prices.quotes["anthropic/claude-opus-4-6"].tiers == ()


def test_time_of_day_prices_read_at_the_dearest_of_the_day() -> None:
    # deepseek-chat: the unconstrained price is the off-peak one (0.135/0.55); 00:30-16:30
    # UTC costs 0.27/1.1.
    prices = parse(BODY, ["deepseek/deepseek-chat"], today=TODAY)
    assert prices.quotes["deepseek/deepseek-chat"] == Price(0.27, 1.1, 0.07, "genai-prices")


@pytest.mark.parametrize(("key", "model"), [
    ("openai/gpt-4o-2024-08-06", "gpt-4o"),  # a dated name its match rule lists
    ("anthropic/CLAUDE-SONNET-4-5-20250929", "claude-sonnet-4-5"),  # case-insensitive
    ("gpt-4o", "gpt-4o"),  # no provider: openai's model_match takes gpt-*
    ("claude-3-haiku-20240307", "claude-3-haiku"),  # anthropic's takes *claude*
])
def test_keys_are_matched_as_genai_prices_matches_a_model(key: str, model: str) -> None:
    provider = "anthropic" if "claude" in model else "openai"
    prices = parse(BODY, [key, f"{provider}/{model}"], today=TODAY)
    assert prices.errors == {}
    assert prices.quotes[key] == prices.quotes[f"{provider}/{model}"]


def test_unknown_provider_and_model_say_what_is_missing() -> None:
    prices = parse(BODY, ["groq/llama-3.3-70b", "openai/gpt-nope", "llama-3.3-70b"],
                   today=TODAY)
    assert prices.quotes == {}
    assert prices.errors["openai/gpt-nope"] == (
        "no model 'gpt-nope' of provider 'openai' in the genai-prices data")
    assert prices.errors["groq/llama-3.3-70b"].startswith(
        "no provider for 'groq/llama-3.3-70b' in the genai-prices data: name it "
        "<provider>/<model> (providers: anthropic, deepseek, openai)")
    assert "llama-3.3-70b" in prices.errors


def test_whole_file_reads_every_token_priced_model_and_says_why_not_the_others() -> None:
    prices = READERS["genai-prices"](BODY, None)
    models = sum(len(p["models"]) for p in DOC)
    assert len(prices.quotes) + len(prices.errors) == models == 150
    assert len(prices.quotes) > 130
    # Embeddings, moderation and audio-only models have no token output price.
    assert all(reason.endswith(("input_mtok is missing", "output_mtok is missing"))
               for reason in prices.errors.values()), prices.errors
    assert all(q.source == "genai-prices" and q.effective_at is None
               for q in prices.quotes.values())


def test_the_newer_layout_wrapping_the_providers_reads_the_same() -> None:
    wrapped = json.dumps({"units": {}, "providers": DOC}).encode()
    keys = ["openai/o3", "anthropic/claude-opus-4-6"]
    assert parse(wrapped, keys, today=TODAY) == parse(BODY, keys, today=TODAY)


def _broken(model_id: str, change: Any) -> bytes:
    doc = copy.deepcopy(DOC)
    model = next(m for p in doc for m in p["models"] if m["id"] == model_id)
    change(model)
    return json.dumps(doc).encode()


def _set_prices(prices: Any) -> Any:
    return lambda m: m.__setitem__("prices", prices)


@pytest.mark.parametrize(("change", "reason"), [
    (_set_prices({"input_mtok": -2, "output_mtok": 8}), "input_mtok is negative: -2"),
    (_set_prices({"input_mtok": 2e-6, "output_mtok": 8e4}),
     "output_mtok is absurd: $80,000 per million tokens"),
    (_set_prices({"input_mtok": "2", "output_mtok": "eight"}),
     "output_mtok is not a number: 'eight'"),
    (_set_prices({"output_mtok": 8}), "input_mtok is missing"),
    (_set_prices({"input_mtok": {"base": 2, "tiers": [{"start": "200k", "price": 4}]},
                  "output_mtok": 8}), "a tier of input_mtok has no whole-number start >= 0"),
    (_set_prices({"input_mtok": {"base": 2, "tiers": [{"start": 200000, "price": -4}]},
                  "output_mtok": 8}), "input_mtok above 200000 tokens is negative"),
    (_set_prices([{"prices": {"input_mtok": 10, "output_mtok": 40}},
                  {"constraint": {"start_date": "2025-13-40"},
                   "prices": {"input_mtok": 2, "output_mtok": 8}}]),
     "start_date is not a date: '2025-13-40'"),
    (_set_prices([{"prices": {"input_mtok": 10, "output_mtok": 40}},
                  {"constraint": {"weekday": "sat"}, "prices": {"input_mtok": 2}}]),
     "unknown price constraint"),
    (_set_prices([]), "no prices"),
    (lambda m: m["price_variants"][-1]["prices"].__setitem__("input_mtok", -1),
     "batch input_mtok is negative: -1"),
])
def test_broken_entry_is_refused_with_its_reason_and_the_others_still_read(
        change: Any, reason: str) -> None:
    keys = ["openai/o3", "openai/gpt-4o", "anthropic/claude-sonnet-4-5"]
    prices = parse(_broken("o3", change), keys, today=TODAY)
    assert prices.errors["openai/o3"].startswith(f"openai/o3: {reason}"), prices.errors
    assert sorted(prices.quotes) == ["anthropic/claude-sonnet-4-5", "openai/gpt-4o"]
    assert prices.quotes == parse(BODY, keys[1:], today=TODAY).quotes


def test_a_broken_match_rule_matches_nothing_rather_than_failing_the_file() -> None:
    body = _broken("gpt-4o", lambda m: m.__setitem__("match", {"regex": "(unclosed"}))
    prices = parse(body, ["openai/gpt-4o-2024-08-06", "openai/o3"], today=TODAY)
    assert "openai/gpt-4o-2024-08-06" in prices.errors
    assert "openai/o3" in prices.quotes


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty response"),
    (b"<html>oops</html>", "an HTML page"),
    (b'[{"id": "openai", "models": [', "not JSON"),
    (b'{"data": []}', "not genai-prices data"),
    (b'[{"id": "openai"}]', "not genai-prices data"),
])
def test_body_that_is_not_genai_prices_data_raises(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        READERS["genai-prices"](body, None)


def test_a_model_the_list_does_not_have_is_missing_not_just_refused() -> None:
    prices = parse(BODY, ["openai/no-such-model-9", "openai/o3"], today=date(2026, 1, 1))
    assert prices.missing == {"openai/no-such-model-9"}  # what model_retired watches for
    assert "openai/o3" in prices.quotes
