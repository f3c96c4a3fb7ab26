"""The OpenAI dialect against real recorded streams, and the request it builds."""

from __future__ import annotations

import json

import pytest

from probes.dialects import (
    DIALECTS,
    ContentDelta,
    Finish,
    ProtocolError,
    StopReason,
    StreamError,
    StreamEvent,
    Usage,
)
from probes.dialects.openai import OpenAIDialect
from probes.sse import SSEEvent, SSEParser
from probes.target import Target
from tests.conftest import REAL_FIXTURES as FIXTURES

DIALECT = OpenAIDialect()


def stream_events(name: str) -> list[StreamEvent]:
    parser = SSEParser()
    sse = parser.feed((FIXTURES / name).read_bytes(), arrived_at=0.0) + parser.flush()
    return [event for e in sse for event in DIALECT.parse_event(e)]


def parse(data: str, event: str = "message", at: float = 1.5) -> list[StreamEvent]:
    return DIALECT.parse_event(SSEEvent(event=event, data=data, id=None, arrived_at=at))


def content(events: list[StreamEvent]) -> list[ContentDelta]:
    return [e for e in events if isinstance(e, ContentDelta)]


@pytest.mark.parametrize(
    ("name", "usage", "text", "kinds", "stop"),
    [
        ("logprobs", (9, 2), "Foo!", {"text"}, "stop"),
        ("finish_length", (79, 1), '{"', {"text"}, "length"),
        ("tool_call", (44, 16), '{"city":"New York City"}', {"tool_call"}, "tool_calls"),
        ("refusal", (79, 11), "I'm sorry, I can't assist with that request.", {"refusal"}, "stop"),
    ],
)
def test_real_stream(
    name: str, usage: tuple[int, int], text: str, kinds: set[str], stop: str
) -> None:
    events = stream_events(f"openai_chat_completions_stream_{name}_with_usage.sse")
    (reported,) = [e for e in events if isinstance(e, Usage)]
    assert (reported.input_tokens, reported.output_tokens) == usage
    assert "".join(d.text for d in content(events)) == text
    assert {d.kind for d in content(events)} == kinds
    assert [e.reason for e in events if isinstance(e, StopReason)] == [stop]
    assert isinstance(events[-1], Finish)
    assert not [e for e in events if isinstance(e, StreamError)]


def test_empty_role_only_first_chunk_is_not_a_content_token() -> None:
    parser = SSEParser()
    data = (FIXTURES / "openai_chat_completions_stream_logprobs_with_usage.sse").read_bytes()
    first, second, *_ = parser.feed(data, arrived_at=0.0)
    assert '"content":""' in first.data
    assert DIALECT.parse_event(first) == []
    assert content(DIALECT.parse_event(second))[0].text == "Foo"


def test_tool_call_argument_deltas_count_as_content_but_the_name_chunk_does_not() -> None:
    events = stream_events("openai_chat_completions_stream_tool_call_with_usage.sse")
    deltas = content(events)
    assert len(deltas) == 7  # {" city ":" New  York  City "}
    assert all(d.kind == "tool_call" and d.tool_index == 0 for d in deltas)


def test_content_events_carry_the_sse_arrival_time() -> None:
    (delta,) = parse('{"choices":[{"index":0,"delta":{"content":"hi"}}]}', at=4.25)
    assert delta == ContentDelta(text="hi", at=4.25)


def test_done_is_the_finish_marker() -> None:
    assert parse("[DONE]") == [Finish(at=1.5)]


@pytest.mark.parametrize(
    ("data", "event", "message", "code"),
    [
        (
            '{"error":{"message":"overloaded","type":"server_error","code":null}}',
            "message",
            "overloaded",
            "server_error",
        ),
        (
            '{"error":{"message":"bad","code":"context_length_exceeded"}}',
            "message",
            "bad",
            "context_length_exceeded",
        ),
        ('{"error":"plain text"}', "message", "plain text", None),
        ('{"message":"upstream failed"}', "error", "upstream failed", None),
        ('{"detail":"x"}', "error", '{"detail": "x"}', None),
    ],
)
def test_error_object_in_a_200_stream_is_a_stream_error(
    data: str, event: str, message: str, code: str | None
) -> None:
    (error,) = parse(data, event=event)
    assert isinstance(error, StreamError)
    assert (error.message, error.code) == (message, code)


@pytest.mark.parametrize("data", ['{"choices": [', "<html>", "[1, 2]", '"text"'])
def test_data_that_is_not_a_json_object_is_a_protocol_error(data: str) -> None:
    with pytest.raises(ProtocolError):
        parse(data)


@pytest.mark.parametrize(
    ("delta", "kind"),
    [
        ({"content": "x"}, "text"),
        ({"refusal": "x"}, "refusal"),
        ({"reasoning_content": "x"}, "reasoning"),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "x"}}]}, "tool_call"),
    ],
)
def test_delta_kinds(delta: dict[str, object], kind: str) -> None:
    (event,) = parse(json.dumps({"choices": [{"index": 0, "delta": delta}]}))
    assert isinstance(event, ContentDelta)
    assert (event.text, event.kind) == ("x", kind)


@pytest.mark.parametrize(
    "delta",
    [
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": None, "refusal": None},
        {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]},
        {},
    ],
)
def test_deltas_without_generated_text_are_not_content(delta: dict[str, object]) -> None:
    assert content(parse(json.dumps({"choices": [{"index": 0, "delta": delta}]}))) == []


def test_usage_on_a_chunk_with_choices_is_read_too() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 1}
    events = parse(json.dumps({"choices": [{"delta": {"content": "a"}}], "usage": usage}))
    assert Usage(input_tokens=3, output_tokens=1, at=1.5) in events


def test_build_request_streams_with_usage_and_bearer_auth() -> None:
    target = Target(
        api="openai", base_url="https://api.openai.com/v1/", model="gpt-4o-mini", api_key="sk-x"
    )
    request = DIALECT.build_request(target)
    assert (request.method, request.url) == ("POST", "https://api.openai.com/v1/chat/completions")
    assert request.headers["Authorization"] == "Bearer sk-x"
    assert request.json == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": target.prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 16,
    }
    assert "sk-x" not in repr(request)


def test_build_request_without_key_sends_no_authorization() -> None:
    target = Target(api="openai", base_url="http://127.0.0.1:8000/v1", model="m")
    assert "Authorization" not in DIALECT.build_request(target).headers


def test_registry_names_the_openai_dialect() -> None:
    assert DIALECTS["openai"].name == "openai"
