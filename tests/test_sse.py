"""The incremental SSE parser: real recorded streams, any chunking, every line ending."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from probes.sse import SSEEvent, SSEParser
from tests.conftest import REAL_FIXTURES as FIXTURES

OPENAI_STREAMS = sorted(FIXTURES.glob("openai_chat_completions_*.sse"))


def parse_chunks(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for i, chunk in enumerate(chunks):
        events += parser.feed(chunk, arrived_at=float(i))
    return events + parser.flush()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def payloads(events: list[SSEEvent]) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in events]


def test_the_openai_fixtures_are_there() -> None:
    assert len(OPENAI_STREAMS) == 4, FIXTURES


@pytest.mark.parametrize("path", OPENAI_STREAMS, ids=lambda p: p.stem)
def test_real_stream_parses_into_one_event_per_data_line(path: Path) -> None:
    data = path.read_bytes()
    events = parse_chunks([data])
    assert len(events) == data.count(b"\ndata: ") + 1
    assert all(e.event == "message" for e in events)
    assert events[-1].data == "[DONE]"
    assert events[0].data.startswith('{"id":"chatcmpl-')


@pytest.mark.parametrize("path", OPENAI_STREAMS, ids=lambda p: p.stem)
def test_real_stream_fed_one_byte_at_a_time_gives_the_same_events(path: Path) -> None:
    data = path.read_bytes()
    whole = payloads(parse_chunks([data]))
    assert payloads(parse_chunks([data[i : i + 1] for i in range(len(data))])) == whole


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("path", OPENAI_STREAMS, ids=lambda p: p.stem)
def test_real_stream_in_random_chunks_gives_the_same_events(path: Path, seed: int) -> None:
    data = path.read_bytes()
    rng = random.Random(seed)
    cuts = rng.sample(range(1, len(data)), k=rng.randint(1, 60))
    assert payloads(parse_chunks(split_at(data, cuts))) == payloads(parse_chunks([data]))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_every_line_ending_gives_the_same_events(newline: str) -> None:
    text = "event: a\ndata: one\ndata: two\n\n: keep-alive\n\ndata: three\n\n"
    data = text.replace("\n", newline).encode()
    expected = [("a", "one\ntwo"), ("message", "three")]
    assert payloads(parse_chunks([data])) == expected
    assert payloads(parse_chunks([data[i : i + 1] for i in range(len(data))])) == expected


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    events = parse_chunks([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"])
    assert payloads(events) == [("message", "a"), ("message", "b")]


def test_comments_and_keep_alives_are_not_events() -> None:
    assert parse_chunks([b": keep-alive\n\n:\n\n: ping\n\n"]) == []


def test_multi_line_data_is_joined_with_newlines() -> None:
    (event,) = parse_chunks([b'data: {\ndata:  "a": 1\ndata: }\n\n'])
    assert event.data == '{\n "a": 1\n}'  # only the first space after the colon is dropped


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"data:x\n\n", "x"),
        (b"data: x\n\n", "x"),
        (b"data:  x\n\n", " x"),
        (b"data\n\n", ""),
        (b"data:\n\n", ""),
    ],
)
def test_field_value_after_the_colon(line: bytes, expected: str) -> None:
    (event,) = parse_chunks([line])
    assert event.data == expected


def test_event_without_data_is_not_dispatched() -> None:
    assert payloads(parse_chunks([b"event: ping\n\ndata: x\n\n"])) == [("message", "x")]


def test_id_and_unknown_fields() -> None:
    (event,) = parse_chunks([b"id: 7\nretry: 100\nfoo: bar\ndata: x\n\n"])
    assert (event.id, event.data) == ("7", "x")


def test_utf8_character_split_across_chunks() -> None:
    data = "data: héllo ✓ 🙂\n\n".encode()
    assert payloads(parse_chunks([data[i : i + 1] for i in range(len(data))])) == [
        ("message", "héllo ✓ 🙂")
    ]


def test_leading_byte_order_mark_is_ignored() -> None:
    data = "\ufeffdata: x\n\n".encode()
    assert payloads(parse_chunks([data[:1], data[1:]])) == [("message", "x")]


@pytest.mark.parametrize("tail", [b"data: last", b"data: last\n", b"data: last\r"])
def test_last_event_without_trailing_blank_line_is_flushed(tail: bytes) -> None:
    parser = SSEParser()
    assert parser.feed(b"data: first\n\n" + tail, arrived_at=1.0) == [
        SSEEvent(event="message", data="first", id=None, arrived_at=1.0)
    ]
    assert parser.flush() == [SSEEvent(event="message", data="last", id=None, arrived_at=1.0)]


def test_event_carries_arrival_time_of_the_chunk_that_completed_it() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a", arrived_at=1.0) == []
    assert parser.feed(b"bc\n", arrived_at=2.0) == []
    (event,) = parser.feed(b"\ndata: d", arrived_at=3.0)
    assert (event.data, event.arrived_at) == ("abc", 3.0)
    (last,) = parser.flush()
    assert (last.data, last.arrived_at) == ("d", 3.0)
