"""Incremental parser of the AWS binary event stream (`application/vnd.amazon.eventstream`),
the framing of Bedrock's streamed answers, with botocore's decoder doing the decoding.

A message is a prelude (total and headers lengths, CRC32), typed headers, a payload and a
CRC32 of the whole. Raw chunks go in as they arrive, each with its arrival stamp; complete
messages come out stamped with the arrival of the chunk that completed them, the same rule
as probes/sse.py, so the timing of the probes does not depend on the framing.

Each message comes out as an SSEEvent (so a dialect keeps one `parse_event`): `event` is
the `:event-type` header (or the `:exception-type` of an exception, the `:error-code` of an
error), `data` the payload as text, and `message_type` says which of the three it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.eventstream import EventStreamBuffer, ParserError

from probes.sse import SSEEvent

CONTENT_TYPE = "application/vnd.amazon.eventstream"


class EventStreamError(ValueError):
    """Bytes that are not a valid event stream (a bad CRC, an impossible length)."""


@dataclass(frozen=True)
class EventStreamMessage(SSEEvent):
    message_type: str = "event"  # event | exception | error
    headers: tuple[tuple[str, Any], ...] = ()


class EventStreamParser:
    """Feed raw chunks, get complete messages; flush() at the end of the body returns none:
    bytes left over are a message cut short, which the reader reports as truncated."""

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self.pending_bytes = 0  # fed but not yet part of a complete message

    def feed(self, chunk: bytes, arrived_at: float) -> list[SSEEvent]:
        self._buffer.add_data(chunk)
        self.pending_bytes += len(chunk)
        out: list[SSEEvent] = []
        try:
            for message in self._buffer:
                self.pending_bytes -= message.prelude.total_length
                out.append(_message(message.headers, message.payload, arrived_at))
        except ParserError as exc:
            raise EventStreamError(f"invalid event stream: {exc}") from None
        return out

    def flush(self) -> list[SSEEvent]:
        return []


def _message(headers: dict[str, Any], payload: bytes, arrived_at: float) -> EventStreamMessage:
    kind = str(headers.get(":message-type", "event"))
    name = (headers.get(":event-type") if kind == "event" else
            headers.get(":exception-type") if kind == "exception" else
            headers.get(":error-code"))
    data = payload.decode("utf-8", errors="replace")
    if kind == "error" and not data:  # an error message says it in its headers
        data = str(headers.get(":error-message", ""))
    return EventStreamMessage(event=str(name or kind), data=data, id=None,
                              arrived_at=arrived_at, message_type=kind,
                              headers=tuple(sorted(headers.items())))
