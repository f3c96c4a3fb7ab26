"""Reasoning streams of every dialect, recorded from the real APIs: the first token of any
kind, the first answer token, reasoning tokens (reported or estimated), and the reasoning
caps each dialect writes into its request."""

from __future__ import annotations

import dataclasses
import random
from types import MappingProxyType

import httpx
import pytest

from probes.dialects import DIALECTS, Chat, StreamEvent, ToolSpec
from probes.http_errors import check_response
from probes.result import ErrorClass
from probes.sse import SSEEvent, SSEParser
from probes.tally import Tally
from probes.target import Target
from tests.conftest import REAL_FIXTURES as FIXTURES


def numbered(events: list[SSEEvent]) -> list[SSEEvent]:
    """Each SSE event stamped with its position: arrival times a test can name."""
    return [dataclasses.replace(e, arrived_at=float(i)) for i, e in enumerate(events)]


def tally_of(api: str, name: str, chunk_seed: int | None = None) -> Tally:
    data, parser = (FIXTURES / name).read_bytes(), SSEParser()
    if chunk_seed is None:
        events = parser.feed(data, 0.0)
    else:  # cut anywhere: a delta split across reads must parse the same
        rng, pos, events = random.Random(chunk_seed), 0, []
        while pos < len(data):
            size = rng.randint(1, 40)
            events += parser.feed(data[pos : pos + size], 0.0)
            pos += size
    tally = Tally()
    for sse in numbered(events + parser.flush()):
        stream_events: list[StreamEvent] = DIALECTS[api].parse_event(sse)
        for event in stream_events:
            tally.add(event)
    return tally


# name -> (api, first token's event, first answer token's event, (reasoning tokens,
# estimated), output tokens, answer starts with, stop reason). The event positions were
# found by reading the files: the first delta of reasoning, the first of answer text.
REAL = {
    "deepseek_reasoner_chat_stream_reasoning_content.sse": (
        "openai", 1, 199, (198, False), 212, "Hello there!", "stop"),
    "openrouter_chat_stream_reasoning_details.sse": (
        "openai", 2, 9, (13, False), 36, "2 + 2 = 4", "stop"),
    # thinking is not counted apart: output less the answer's estimate (1021 chars / 4)
    "anthropic_messages_stream_thinking_signature_delta.sse": (
        "anthropic", 3, 20, (282 - 255, True), 282, "Here are the basic steps", "end_turn"),
    # redacted thinking has no text, but its blocks arrived first
    "anthropic_messages_stream_redacted_thinking.sse": (
        "anthropic", 1, 9, (189 - 90, True), 189, "I notice that", "end_turn"),
    # thoughts are counted apart (thoughtsTokenCount) and billed as output
    "gemini_streamGenerateContent_thought_parts.sse": (
        "gemini", 0, 4, (787, False), 787 + 469, "This is a great question!", "STOP"),
    "openrouter_responses_stream_reasoning_text.sse": (
        "openai-responses", 4, 32, (22, False), 37, "4", "completed"),
    "openai_responses_stream_reasoning_summary.sse": (
        "openai-responses", 4, 401, (1408, False), 1680, "I'm not a road safety", "completed"),
}


@pytest.mark.parametrize("name", REAL)
def test_real_reasoning_stream_times_the_first_answer_apart(name: str) -> None:
    api, first, answer, reasoning, output, text, stop = REAL[name]
    tally = tally_of(api, name)
    assert tally.token_times[0] == first
    assert tally.answer_times[0] == answer
    assert tally.reasoning_tokens() == reasoning
    assert tally.output_tokens() == (output, False)
    assert tally.text().startswith(text)
    assert tally.stop_reason == stop
    assert tally.finished_at is not None
    # answer tokens are the output that is not reasoning
    assert tally.answer_tokens() == output - reasoning[0]


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("seed", [1, 2])
def test_real_reasoning_stream_reads_the_same_in_random_chunks(name: str, seed: int) -> None:
    api = REAL[name][0]
    whole, cut = tally_of(api, name), tally_of(api, name, seed)
    assert cut.text() == whole.text()
    assert cut.reasoning_chars == whole.reasoning_chars
    assert cut.reasoning_tokens() == whole.reasoning_tokens()


def test_plain_stream_has_no_reasoning() -> None:
    tally = tally_of("anthropic", "anthropic_messages_stream_basic_text.sse")
    assert tally.reasoning_tokens() == (None, False)
    assert tally.answer_times == tally.token_times


def test_reasoning_without_any_usage_is_estimated_from_its_text() -> None:
    lines = ['{"choices":[{"delta":{"reasoning_content":"' + "x" * 40 + '"}}]}',
             '{"choices":[{"delta":{"content":"Hi"}}]}',
             '{"choices":[{"delta":{},"finish_reason":"stop"}]}', "[DONE]"]
    events = [SSEEvent(event="message", data=d, id=None, arrived_at=float(i))
              for i, d in enumerate(lines)]
    tally = Tally()
    for sse in events:
        for event in DIALECTS["openai"].parse_event(sse):
            tally.add(event)
    assert tally.reasoning_tokens() == (10, True)
    assert (tally.token_times[0], tally.answer_times[0]) == (0.0, 1.0)


def target(api: str, reasoning: dict[str, object] | None = None, **kw: object) -> Target:
    options = MappingProxyType({"reasoning": reasoning} if reasoning else {})
    return Target(api=api, base_url="https://api.example.com/v1", model="m", api_key="k",
                  options=options, **kw)  # type: ignore[arg-type]


def test_openai_chat_caps_reasoning_with_reasoning_effort() -> None:
    body = DIALECTS["openai"].build_request(target("openai", {"effort": "low"})).json
    assert body["reasoning_effort"] == "low"
    assert "reasoning_effort" not in DIALECTS["openai"].build_request(target("openai")).json
    azure = DIALECTS["azure-openai"].build_request(target("azure-openai", {"effort": "minimal"}))
    assert azure.json["reasoning_effort"] == "minimal"


def test_anthropic_caps_thinking_and_keeps_max_tokens_for_the_answer() -> None:
    body = DIALECTS["anthropic"].build_request(
        target("anthropic", {"budget_tokens": 1024}, max_tokens=16)).json
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["max_tokens"] == 16 + 1024
    off = DIALECTS["anthropic"].build_request(target("anthropic", {"budget_tokens": 0})).json
    assert off["thinking"] == {"type": "disabled"}


def test_gemini_caps_thinking_in_thinking_config() -> None:
    body = DIALECTS["gemini"].build_request(
        target("gemini", {"budget_tokens": 128}, max_tokens=16)).json
    assert body["generationConfig"] == {"maxOutputTokens": 16 + 128,
                                        "thinkingConfig": {"thinkingBudget": 128}}
    level = DIALECTS["gemini"].build_request(target("gemini", {"effort": "low"})).json
    assert level["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low"}


def test_responses_request() -> None:
    tool = ToolSpec("get_weather", "Weather for a city.",
                    {"type": "object", "properties": {"city": {"type": "string"}}})
    request = DIALECTS["openai-responses"].build_request(
        target("openai-responses", {"effort": "minimal"}),
        Chat(prompt="Hi", max_tokens=1, tools=(tool,)))
    assert request.url == "https://api.example.com/v1/responses"
    assert request.headers["Authorization"] == "Bearer k"
    body = request.json
    assert body["stream"] is True and body["reasoning"] == {"effort": "minimal"}
    assert body["input"] == [{"role": "user", "content": "Hi"}]
    assert body["max_output_tokens"] == 16  # the API's minimum: 1 would be refused
    assert body["tools"] == [{"type": "function", "name": "get_weather",
                              "description": "Weather for a city.",
                              "parameters": dict(tool.parameters)}]


def parse_responses(*events: tuple[str, str]) -> Tally:
    tally = Tally()
    for i, (name, data) in enumerate(events):
        for event in DIALECTS["openai-responses"].parse_event(
                SSEEvent(event=name, data=data, id=None, arrived_at=float(i))):
            tally.add(event)
    return tally


def test_responses_function_call_is_a_tool_call() -> None:
    tally = parse_responses(
        ("response.output_item.added", '{"type":"response.output_item.added","output_index":0,'
         '"item":{"type":"function_call","name":"get_weather","arguments":"","call_id":"c"}}'),
        ("response.function_call_arguments.delta", '{"type":'
         '"response.function_call_arguments.delta","output_index":0,"delta":"{\\"city\\":"}'),
        ("response.function_call_arguments.delta", '{"type":'
         '"response.function_call_arguments.delta","output_index":0,"delta":"\\"Paris\\"}"}'),
        ("response.completed", '{"type":"response.completed","response":{"status":"completed",'
         '"output":[{"type":"function_call"}],"usage":{"input_tokens":5,"output_tokens":9,'
         '"output_tokens_details":{"reasoning_tokens":0}}}}'))
    assert [(c.name, c.arguments) for c in tally.tool_calls] == [
        ("get_weather", '{"city":"Paris"}')]
    assert tally.stop_reason == "tool_calls" and tally.finished_at == 3.0
    assert tally.answer_times[0] == 1.0


def test_responses_incomplete_ends_the_stream_with_its_reason() -> None:
    tally = parse_responses(
        ("response.reasoning_summary_text.delta",
         '{"type":"response.reasoning_summary_text.delta","delta":"Thinking"}'),
        ("response.incomplete", '{"type":"response.incomplete","response":{"status":'
         '"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":'
         '{"input_tokens":5,"output_tokens":16,"output_tokens_details":'
         '{"reasoning_tokens":16}}}}'))
    assert tally.stop_reason == "max_output_tokens" and tally.finished_at == 1.0
    assert tally.answer_times == [] and tally.reasoning_tokens() == (16, False)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("response.failed", '{"type":"response.failed","response":{"status":"failed","error":'
     '{"code":"server_error","message":"The model failed"}}}', "The model failed"),
    ("error", '{"type":"error","code":"rate_limit_exceeded","message":"Slow down"}',
     "Slow down"),
])
def test_responses_failure_in_stream_is_a_stream_error(name: str, data: str,
                                                       message: str) -> None:
    tally = parse_responses((name, data))
    assert tally.error is not None and tally.error.message == message


@pytest.mark.parametrize(("body", "hinted"), [
    # OpenAI's reasoning models on Chat Completions (their words)
    ({"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this "
                "model. Use 'max_completion_tokens' instead."}}, True),
    ({"error": {"message": "Invalid 'max_output_tokens': integer below minimum value."}}, True),
    ({"type": "error", "error": {"type": "invalid_request_error", "message":
                                 "`max_tokens` must be greater than `thinking.budget_tokens`"}},
     True),
    ({"error": {"message": "messages: at least one message is required"}}, False),
])
async def test_a_400_about_the_output_cap_points_to_the_docs(body: dict[str, object],
                                                             hinted: bool) -> None:
    failure = await check_response(httpx.Response(400, json=body), None)
    assert failure is not None and failure[0] is ErrorClass.HTTP_4XX
    assert failure[1].endswith("see docs/config.md, Reasoning models)") is hinted
