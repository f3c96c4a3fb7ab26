"""Every dialect against the real recorded streams (whole and cut into random chunks), and
the request each one builds."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from probes.dialects import (
    DIALECTS,
    Chat,
    ContentDelta,
    Finish,
    StopReason,
    StreamError,
    StreamEvent,
    ToolCallStart,
    ToolSpec,
)
from probes.sse import SSEEvent, SSEParser
from probes.tally import Tally
from probes.target import Target
from tests.conftest import REAL_FIXTURES as FIXTURES

WEATHER = ToolSpec("get_weather", "Weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": False})
KEY = "sk-ant-TESTKEY0123456789abcdef"


def parse_whole(api: str, name: str) -> list[StreamEvent]:
    parser = SSEParser()
    data = (FIXTURES / name).read_bytes()
    return [e for s in parser.feed(data, 0.0) + parser.flush()
            for e in DIALECTS[api].parse_event(s)]


def parse_chunked(api: str, name: str, seed: int) -> list[StreamEvent]:
    rng, parser = random.Random(seed), SSEParser()
    data, pos, events = (FIXTURES / name).read_bytes(), 0, []
    while pos < len(data):
        size = rng.randint(1, 40)
        events += parser.feed(data[pos : pos + size], 0.0)
        pos += size
    return [e for s in events + parser.flush() for e in DIALECTS[api].parse_event(s)]


def tally_of(events: list[StreamEvent]) -> Tally:
    tally = Tally()
    for event in events:
        tally.add(event)
    return tally


# name -> (api, (input, output tokens), text, [(tool, arguments)], stop reason)
REAL_STREAMS = {
    "anthropic_messages_stream_basic_text.sse": ("anthropic", (11, 6), "Hello there!", [],
                                                 "end_turn"),
    "anthropic_messages_stream_tool_use.sse": (
        "anthropic", (377, 65), "I'll check the current weather in Paris for you.",
        [("get_weather", '{"location": "Paris"}')], "tool_use"),
    "gemini_streamGenerateContent_usage.sse": (
        "gemini", (18, 80 + 35), "\n".join(str(n) for n in range(1, 31)), [], "STOP"),
    "openai_chat_completions_stream_tool_call_with_usage.sse": (
        "openai", (44, 16), "", [("get_weather", '{"city":"New York City"}')], "tool_calls"),
    "openai_chat_completions_stream_logprobs_with_usage.sse": ("openai", (9, 2), "Foo!", [],
                                                               "stop"),
}


@pytest.mark.parametrize("name", REAL_STREAMS)
def test_real_stream_reads_text_tools_usage_and_end(name: str) -> None:
    api, usage, text, calls, stop = REAL_STREAMS[name]
    events = parse_whole(api, name)
    tally = tally_of(events)
    assert tally.usage is not None
    assert (tally.usage.input_tokens, tally.usage.output_tokens) == usage
    assert tally.text() == text
    assert [(c.name, c.arguments) for c in tally.tool_calls] == calls
    assert tally.stop_reason == stop
    assert isinstance(events[-1], Finish) or (api == "gemini" and tally.finished_at is not None)
    assert not [e for e in events if isinstance(e, StreamError)]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", REAL_STREAMS)
def test_real_stream_reads_the_same_in_random_chunks(name: str, seed: int) -> None:
    api = REAL_STREAMS[name][0]
    assert parse_chunked(api, name, seed) == parse_whole(api, name)


@pytest.mark.parametrize(("api", "event", "data"), [
    ("anthropic", "content_block_start",
     '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
    ("anthropic", "ping", '{"type": "ping"}'),
    ("anthropic", "content_block_delta",
     '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta",'
     '"partial_json":""}}'),
    ("gemini", "message",
     '{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"index":0}]}'),
])
def test_empty_first_chunks_are_not_content(api: str, event: str, data: str) -> None:
    events = DIALECTS[api].parse_event(SSEEvent(event, data, None, 1.0))
    assert not [e for e in events if isinstance(e, ContentDelta)]


@pytest.mark.parametrize(("api", "event", "data", "code"), [
    ("anthropic", "error",
     '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
     "overloaded_error"),
    ("gemini", "message", '{"error":{"code":500,"message":"internal","status":"INTERNAL"}}',
     "500"),
    ("azure-openai", "message", '{"error":{"message":"boom","type":"server_error"}}',
     "server_error"),
])
def test_error_object_in_stream_is_a_stream_error(api: str, event: str, data: str,
                                                  code: str) -> None:
    (error,) = DIALECTS[api].parse_event(SSEEvent(event, data, None, 1.0))
    assert isinstance(error, StreamError) and error.code == code


def test_gemini_function_call_arrives_whole() -> None:
    data = ('{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather",'
            '"args":{"city":"Lisbon"}}}],"role":"model"},"finishReason":"STOP"}]}')
    events = DIALECTS["gemini"].parse_event(SSEEvent("message", data, None, 2.0))
    assert events[:2] == [ToolCallStart("get_weather", 0, 2.0),
                          ContentDelta('{"city": "Lisbon"}', 2.0, "tool_call", 0)]
    assert StopReason("STOP", 2.0) in events and isinstance(events[-1], Finish)


def test_gemini_calls_in_two_chunks_stay_two_calls() -> None:
    tally = Tally()
    for at, name in ((1.0, "a"), (2.0, "b")):
        tally.add(ToolCallStart(name, 0, at))
        tally.add(ContentDelta("{}", at, "tool_call", 0))
    assert [(c.name, c.arguments) for c in tally.tool_calls] == [("a", "{}"), ("b", "{}")]


def target(api: str, base_url: str, **kw: object) -> Target:
    return Target(api=api, base_url=base_url, model=str(kw.pop("model", "m-1")), api_key=KEY,
                  **kw)  # type: ignore[arg-type]


def test_anthropic_request() -> None:
    request = DIALECTS["anthropic"].build_request(
        target("anthropic", "https://api.anthropic.com/v1/"), Chat("hi", 5, (WEATHER,)))
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert request.json["max_tokens"] == 5 and request.json["stream"] is True
    assert request.json["tools"] == [{"name": "get_weather", "description": "Weather for a city.",
                                      "input_schema": dict(WEATHER.parameters)}]


def test_gemini_request_keeps_the_key_out_of_the_url() -> None:
    request = DIALECTS["gemini"].build_request(
        target("gemini", "https://generativelanguage.googleapis.com/v1beta",
               model="gemini-2.5-flash"), Chat("hi", 7, (WEATHER,)))
    assert request.url == ("https://generativelanguage.googleapis.com/v1beta/models/"
                           "gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert KEY not in request.url and request.headers["x-goog-api-key"] == KEY
    assert request.json["generationConfig"] == {"maxOutputTokens": 7}
    (declaration,) = request.json["tools"][0]["functionDeclarations"]
    assert declaration["parametersJsonSchema"] == dict(WEATHER.parameters)


@pytest.mark.parametrize(("base_url", "version"), [
    ("https://res.openai.azure.com", "2024-10-21"),
    ("https://res.openai.azure.com/?api-version=2025-01-01-preview", "2025-01-01-preview"),
])
def test_azure_request_uses_the_deployment_url(base_url: str, version: str) -> None:
    request = DIALECTS["azure-openai"].build_request(target("azure-openai", base_url,
                                                            model="gpt4o-prod"))
    assert request.url == ("https://res.openai.azure.com/openai/deployments/gpt4o-prod/"
                           f"chat/completions?api-version={version}")
    assert request.headers["api-key"] == KEY and "Authorization" not in request.headers
    assert "model" not in request.json and request.json["stream_options"]["include_usage"]


def test_openai_request_sends_tools_in_function_form() -> None:
    request = DIALECTS["openai"].build_request(target("openai", "https://x/v1"),
                                               Chat("hi", 9, (WEATHER,)))
    assert request.json["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city.",
        "parameters": dict(WEATHER.parameters)}}]


@pytest.mark.parametrize("api", sorted(DIALECTS))
def test_no_request_repr_shows_the_key(api: str) -> None:
    request = DIALECTS[api].build_request(replace(target(api, "https://x/v1")))
    assert KEY not in repr(request) and KEY not in request.url
