"""Incremental Server-Sent-Events parser (WHATWG "event stream interpretation").

Bytes go in as they arrive off the socket, each chunk with the perf_counter time it
arrived; complete events come out stamped with the arrival time of the chunk that
completed them, so timing never depends on how long parsing took.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    event: str  # "message" unless the stream named it
    data: str  # data lines joined with "\n"
    id: str | None
    arrived_at: float  # perf_counter of the chunk that completed the event


class SSEParser:
    """Feed raw chunks, get complete events; call flush() at end of stream."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._skip_lf = False  # a chunk ended in "\r": a leading "\n" next is the same line end
        self._at_start = True
        self._event = ""
        self._data: list[str] = []
        self._has_data = False
        self._last_id: str | None = None
        self._last_arrival = 0.0

    def feed(self, chunk: bytes, arrived_at: float) -> list[SSEEvent]:
        self._last_arrival = arrived_at
        text = self._decoder.decode(chunk)
        return self._consume(text, arrived_at, final=False)

    def flush(self) -> list[SSEEvent]:
        """End of stream: a last line without its newline still counts (lenient)."""
        text = self._decoder.decode(b"", final=True)
        events = self._consume(text, self._last_arrival, final=True)
        if self._has_data:
            events.append(self._dispatch(self._last_arrival))
        return events

    def _consume(self, text: str, arrived_at: float, final: bool) -> list[SSEEvent]:
        if self._skip_lf and text:
            if text.startswith("\n"):
                text = text[1:]
            self._skip_lf = False
        if self._at_start and text:
            text = text.removeprefix("\ufeff")
            self._at_start = False
        text = self._buffer + text
        events: list[SSEEvent] = []
        pos = 0
        for match in _LINE_END.finditer(text):
            line = text[pos : match.start()]
            pos = match.end()
            if match.group() == "\r" and pos == len(text):
                self._skip_lf = True
            event = self._process_line(line, arrived_at)
            if event is not None:
                events.append(event)
        self._buffer = text[pos:]
        if final and self._buffer:
            event = self._process_line(self._buffer, arrived_at)
            self._buffer = ""
            if event is not None:
                events.append(event)
        return events

    def _process_line(self, line: str, arrived_at: float) -> SSEEvent | None:
        if not line:  # a blank line ends the event; one without data is dropped
            if self._has_data:
                return self._dispatch(arrived_at)
            self._reset()
            return None
        if line.startswith(":"):
            return None  # comment, e.g. ": keep-alive"
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None  # "retry" and unknown fields are ignored, as the spec says

    def _dispatch(self, arrived_at: float) -> SSEEvent:
        event = SSEEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            arrived_at=arrived_at,
        )
        self._reset()
        return event

    def _reset(self) -> None:
        self._event = ""
        self._data = []
        self._has_data = False
