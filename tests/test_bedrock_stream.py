"""The Bedrock dialects offline: the event-stream framing against real captured Bedrock
bytes and the AWS conformance vectors, with botocore's own decoder as the reference; what
each message means; the requests they build; the error taxonomy over AWS's error shapes."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer

from probes.dialects import (
    DIALECTS,
    Chat,
    ContentDelta,
    Finish,
    StreamError,
    StreamEvent,
    ToolSpec,
)
from probes.dialects.bedrock_errors import check_bedrock_response
from probes.eventstream import EventStreamError, EventStreamParser
from probes.result import ErrorClass
from probes.tally import Tally
from probes.target import Target
from service.sim.wire_bedrock import event, exception
from tests.conftest import REAL_FIXTURES

FIXTURES = REAL_FIXTURES / "bedrock"
VECTORS = FIXTURES / "eventstream_vectors" / "botocore"
WEATHER = ToolSpec("get_weather", "Weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]})
ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com"

# file -> (api, (input, output tokens), text, reasoning starts with, stop reason)
REAL_STREAMS = {
    "bedrock_converse_stream_nova_micro_text.eventstream.bin":
        ("bedrock", (13, 82), "", None, "end_turn"),
    "bedrock_converse_stream_claude_sonnet4_thinking.eventstream.bin":
        ("bedrock", (36, 73), "Hello! It's nice to meet you. How can I help you today?",
         "The user has greeted me", "end_turn"),
    "bedrock_converse_stream_gpt_oss_120b_reasoning.eventstream.bin":
        ("bedrock", (70, 43), "Hello! How can I help you today?", "The user just says",
         "end_turn"),
    "bedrock_converse_stream_claude37_redacted_thinking.eventstream.bin":
        ("bedrock", None, "", None, "end_turn"),
    "bedrock_invoke_stream_claude3_sonnet_messages.eventstream.bin":
        ("bedrock-invoke", (16, 21), "", None, "end_turn"),
}


def reference(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    """botocore's decoding of a whole body: each message's headers and payload."""
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def chunked(data: bytes, seed: int) -> list[bytes]:
    rng, out, pos = random.Random(seed), [], 0
    while pos < len(data):
        size = rng.randint(1, 200)
        out.append(data[pos:pos + size])
        pos += size
    return out


def events_of(api: str, data: bytes, seed: int = 0) -> list[StreamEvent]:
    parser = EventStreamParser()
    messages = [m for i, chunk in enumerate(chunked(data, seed)) for m in parser.feed(chunk, i)]
    return [e for m in messages for e in DIALECTS[api].parse_event(m)]


def tally_of(events: list[StreamEvent]) -> Tally:
    tally = Tally()
    for e in events:
        tally.add(e)
    return tally


@pytest.mark.parametrize("name", sorted(REAL_STREAMS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_bodies_frame_as_botocore_decodes_them(name: str, seed: int) -> None:
    data = (FIXTURES / name).read_bytes()
    parser, got = EventStreamParser(), []
    for i, chunk in enumerate(chunked(data, seed)):
        got += [(m, i) for m in parser.feed(chunk, float(i))]
    expected = reference(data)
    assert len(got) == len(expected) > 1 and parser.pending_bytes == 0
    for (message, stamp), (headers, payload) in zip(got, expected, strict=True):
        assert message.data.encode() == payload and message.arrived_at == stamp
        assert message.event == headers[":event-type"]
    # Each message is stamped with the arrival of the chunk that completed it.
    buffer, ends, total = EventStreamBuffer(), [], 0
    buffer.add_data(data)
    for whole in buffer:
        total += whole.prelude.total_length
        ends.append(total)
    sizes = [len(c) for c in chunked(data, seed)]
    reached = [sum(sizes[:i + 1]) for i in range(len(sizes))]
    assert [i for _, i in got] == [next(i for i, r in enumerate(reached) if r >= end)
                                   for end in ends]


@pytest.mark.parametrize("name", sorted(REAL_STREAMS))
def test_real_bedrock_streams_read_text_reasoning_usage_and_end(name: str) -> None:
    api, usage, text, reasoning, stop = REAL_STREAMS[name]
    events = events_of(api, (FIXTURES / name).read_bytes())
    tally = tally_of(events)
    assert isinstance(events[-1], Finish) and tally.finished_at is not None
    assert tally.stop_reason == stop
    assert tally.token_times, "content tokens counted"
    if text:
        assert tally.text() == text
    if reasoning:
        thought = "".join(e.text for e in events
                          if isinstance(e, ContentDelta) and e.kind == "reasoning")
        assert thought.startswith(reasoning)
    if usage:
        assert tally.usage is not None
        assert (tally.usage.input_tokens, tally.usage.output_tokens) == usage


def test_the_nova_stream_is_29_text_deltas() -> None:
    data = (FIXTURES / "bedrock_converse_stream_nova_micro_text.eventstream.bin").read_bytes()
    deltas = [e for e in events_of("bedrock", data) if isinstance(e, ContentDelta)]
    assert len(deltas) == 29 and {d.kind for d in deltas} == {"text"}


def test_redacted_reasoning_is_no_token() -> None:
    name = "bedrock_converse_stream_claude37_redacted_thinking.eventstream.bin"
    deltas = [e for e in events_of("bedrock", (FIXTURES / name).read_bytes())
              if isinstance(e, ContentDelta)]
    assert deltas and {d.kind for d in deltas} == {"text"}


@pytest.mark.parametrize("path", sorted(VECTORS.glob("positive/*.bin")), ids=lambda p: p.stem)
def test_conformance_vectors_decode_as_botocore_does(path: Path) -> None:
    data = path.read_bytes()
    got = EventStreamParser().feed(data, 1.0)
    expected = reference(data)
    assert [dict(m.headers) for m in got] == [h for h, _ in expected]  # type: ignore[attr-defined]
    for message, (headers, payload) in zip(got, expected, strict=True):
        if headers.get(":message-type") == "error":  # said in headers: the data carries it
            assert (message.event, message.data) == (headers[":error-code"],
                                                     headers[":error-message"])
        else:
            assert message.data.encode() == payload


@pytest.mark.parametrize("path", sorted(VECTORS.glob("negative/*.bin")), ids=lambda p: p.stem)
def test_corrupt_conformance_vectors_are_refused(path: Path) -> None:
    with pytest.raises(EventStreamError, match="invalid event stream"):
        EventStreamParser().feed(path.read_bytes() * 2, 1.0)


def test_a_message_cut_short_is_left_pending() -> None:
    data = (FIXTURES / "bedrock_converse_stream_nova_micro_text.eventstream.bin").read_bytes()
    parser = EventStreamParser()
    whole = parser.feed(data[:-10], 1.0)
    assert len(whole) == len(reference(data)) - 1 and parser.pending_bytes > 0
    assert parser.flush() == []


def test_the_simulators_encoder_is_what_botocore_decodes() -> None:
    obj = {"contentBlockIndex": 0, "delta": {"text": "héllo"}}
    ((headers, payload),) = reference(event("contentBlockDelta", obj))
    assert headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                       ":message-type": "event"}
    assert json.loads(payload) == obj


@pytest.mark.parametrize(("name", "error_class"), [
    ("throttlingException", ErrorClass.RATE_LIMITED),
    ("validationException", ErrorClass.HTTP_4XX),
    ("modelStreamErrorException", ErrorClass.STREAM_ERROR),
    ("internalServerException", ErrorClass.STREAM_ERROR),
])
@pytest.mark.parametrize("api", ["bedrock", "bedrock-invoke"])
def test_exceptions_in_the_stream_keep_their_class(api: str, name: str,
                                                   error_class: ErrorClass) -> None:
    (message,) = EventStreamParser().feed(exception(name, "Too many tokens, slow down"), 2.0)
    (error,) = DIALECTS[api].parse_event(message)
    assert isinstance(error, StreamError)
    assert (error.error_class, error.code, error.message, error.at) == (
        error_class, name, "Too many tokens, slow down", 2.0)


def test_a_converse_tool_use_names_the_tool_then_streams_its_input() -> None:
    body = (event("contentBlockStart", {"contentBlockIndex": 1, "start": {
                "toolUse": {"toolUseId": "t1", "name": "get_weather"}}})
            + event("contentBlockDelta", {"contentBlockIndex": 1,
                                          "delta": {"toolUse": {"input": '{"city":'}}})
            + event("contentBlockDelta", {"contentBlockIndex": 1,
                                          "delta": {"toolUse": {"input": '"Oslo"}'}}})
            + event("messageStop", {"stopReason": "tool_use"})
            + event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 9}}))
    tally = tally_of(events_of("bedrock", body))
    ((call),) = tally.tool_calls
    assert (call.name, call.arguments) == ("get_weather", '{"city":"Oslo"}')
    assert tally.stop_reason == "tool_use" and tally.finished_at is not None


def test_an_invoke_chunk_that_is_not_base64_is_a_protocol_error() -> None:
    from probes.dialects import ProtocolError

    (message,) = EventStreamParser().feed(event("chunk", {"bytes": "%%%"}), 1.0)
    with pytest.raises(ProtocolError, match="base64"):
        DIALECTS["bedrock-invoke"].parse_event(message)
    inner = base64.b64encode(b'{"type":"message_stop"}').decode()
    (message,) = EventStreamParser().feed(event("chunk", {"bytes": inner}), 1.0)
    assert isinstance(DIALECTS["bedrock-invoke"].parse_event(message)[0], Finish)


def test_converse_request_carries_the_chat_in_converse_form() -> None:
    target = Target(api="bedrock", base_url=ENDPOINT + "/",
                    model="us.anthropic.claude-sonnet-4-20250514-v1:0")
    request = DIALECTS["bedrock"].build_request(target, Chat("hi", 9, (WEATHER,)))
    assert request.url == (ENDPOINT + "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0"
                           "/converse-stream")
    assert request.json == {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 9},
        "toolConfig": {"tools": [{"toolSpec": {
            "name": "get_weather", "description": "Weather for a city.",
            "inputSchema": {"json": dict(WEATHER.parameters)}}}]}}
    assert "Authorization" not in request.headers  # signed later, by the credentials


def test_invoke_request_is_an_anthropic_body_with_bedrocks_version() -> None:
    target = Target(api="bedrock-invoke", base_url=ENDPOINT,
                    model="arn:aws:bedrock:us-east-1:123456789012:inference-profile/x",
                    api_key="ABSKtestkey0123456789")
    request = DIALECTS["bedrock-invoke"].build_request(target, Chat("hi", 9))
    assert request.url.endswith("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012"
                                "%3Ainference-profile%2Fx/invoke-with-response-stream")
    assert request.json == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 9,
                            "messages": [{"role": "user", "content": "hi"}]}
    assert request.headers["Authorization"] == "Bearer ABSKtestkey0123456789"


def response(status: int, error_type: str | None, body: object,
             url: str = ENDPOINT + "/model/anthropic.claude-v2%3A1/converse-stream"
             ) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if error_type:
        headers["x-amzn-errortype"] = f"{error_type}:http://internal.amazon.com/coral/x/"
    return httpx.Response(status, headers=headers, content=json.dumps(body).encode(),
                          request=httpx.Request("POST", url))


@pytest.mark.parametrize(("status", "error_type", "message", "error_class"), [
    (403, "AccessDeniedException", "User is not authorized to perform: bedrock:Invoke",
     ErrorClass.AUTH),
    (403, "UnrecognizedClientException", "The security token included in the request is "
     "invalid.", ErrorClass.AUTH),
    (429, "ThrottlingException", "Too many requests, please wait before trying again.",
     ErrorClass.RATE_LIMITED),
    (400, "ServiceQuotaExceededException", "quota", ErrorClass.RATE_LIMITED),
    (400, "ValidationException", "The provided model identifier is invalid.",
     ErrorClass.HTTP_4XX),
    (503, "ServiceUnavailableException", "Bedrock is unable to process your request.",
     ErrorClass.HTTP_5XX),
    (500, "InternalServerException", "internal", ErrorClass.HTTP_5XX),
    (424, None, "model error", ErrorClass.HTTP_4XX),
    (502, None, "bad gateway", ErrorClass.HTTP_5XX),
])
async def test_http_errors_are_classed_by_aws_error_type(
        status: int, error_type: str | None, message: str, error_class: ErrorClass) -> None:
    failure = await check_bedrock_response(response(status, error_type, {"message": message}),
                                           None)
    assert failure is not None
    assert failure[0] == error_class
    assert message in failure[1] and (error_type or "") in failure[1]


async def test_the_error_type_may_come_in_the_body() -> None:
    body = {"__type": "com.amazon.coral.service#ThrottlingException", "Message": "slow"}
    failure = await check_bedrock_response(response(400, None, body), None)
    assert failure is not None and failure[0] == ErrorClass.RATE_LIMITED


@pytest.mark.parametrize(("status", "error_type", "message"), [
    (403, "AccessDeniedException",
     "You don't have access to the model with the specified model ID."),
    (404, "ResourceNotFoundException",
     "Could not resolve the foundation model from the provided model identifier."),
])
async def test_a_model_not_enabled_in_the_region_is_auth_and_says_so(
        status: int, error_type: str, message: str) -> None:
    failure = await check_bedrock_response(response(status, error_type, {"message": message}),
                                           None)
    assert failure is not None and failure[0] == ErrorClass.AUTH
    assert failure[1].startswith("model anthropic.claude-v2:1 is not enabled for this "
                                 "account in us-east-1")


async def test_an_echoed_api_key_is_scrubbed() -> None:
    key = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQ0123456789"
    failure = await check_bedrock_response(
        response(403, "UnrecognizedClientException", {"message": f"Invalid key {key}"}), key)
    assert failure is not None and key not in failure[1]


async def test_a_200_that_is_not_an_event_stream_is_malformed() -> None:
    ok = httpx.Response(200, headers={"content-type": "application/vnd.amazon.eventstream"},
                        request=httpx.Request("POST", ENDPOINT))
    assert await check_bedrock_response(ok, None) is None
    failure = await check_bedrock_response(response(200, None, {"output": "x"}), None)
    assert failure is not None and failure[0] == ErrorClass.MALFORMED


def test_exception_message_payload_is_botocores() -> None:
    ((headers, payload),) = reference(exception("throttlingException", "slow"))
    assert headers[":message-type"] == "exception" and json.loads(payload) == {"message": "slow"}
