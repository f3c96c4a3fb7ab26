"""What a stream said so far: token arrival times, text, tool calls, usage, end marker."""

from __future__ import annotations

from dataclasses import dataclass, field

from probes.dialects import (
    ContentDelta,
    Finish,
    ResponseHeaders,
    StopReason,
    StreamError,
    StreamEvent,
    ToolCallStart,
    Usage,
)


@dataclass
class ToolCall:
    """One tool call the model made: the function it named and its raw argument text."""

    name: str | None
    index: int
    arguments: str = ""


@dataclass
class Tally:
    token_times: list[float] = field(default_factory=list)  # every content token's arrival
    answer_times: list[float] = field(default_factory=list)  # the same, reasoning left out
    chars: int = 0
    reasoning_chars: int = 0
    reasoning_seen: bool = False
    pieces: list[str] = field(default_factory=list)  # generated text, in order
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    stop_reason: str | None = None
    finished_at: float | None = None
    error: StreamError | None = None
    body_bytes: int = 0
    headers_at: float | None = None
    last_chunk_at: float | None = None

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, ContentDelta):
            self.token_times.append(event.at)
            self.chars += len(event.text)
            if event.kind == "reasoning":
                self.reasoning_seen = True
                self.reasoning_chars += len(event.text)
            else:
                self.answer_times.append(event.at)
            if event.kind == "tool_call":
                self._call(event.tool_index or 0, None).arguments += event.text
            elif event.kind == "text":
                self.pieces.append(event.text)
        elif isinstance(event, ToolCallStart):
            self._call(event.index, event.name)
        elif isinstance(event, Usage):
            self.usage = _merge(self.usage, event)
        elif isinstance(event, StopReason):
            self.stop_reason = event.reason
        elif isinstance(event, Finish):
            self.finished_at = event.at
        elif isinstance(event, StreamError):
            self.error = event
        elif isinstance(event, ResponseHeaders):
            self.headers_at = event.at

    def text(self) -> str:
        return "".join(self.pieces)

    def output_tokens(self) -> tuple[int | None, bool]:
        if self.usage is not None and self.usage.output_tokens is not None:
            return self.usage.output_tokens, False
        if not self.token_times:
            return None, False
        # No usage report: about four characters per token for English text, marked estimated.
        return max(1, round(self.chars / 4)), True

    def reasoning_tokens(self) -> tuple[int | None, bool]:
        """Tokens spent reasoning, and whether that is an estimate. Reported where the API
        counts them; else, for a stream that reasoned, the reported output less the
        answer's estimate (Anthropic bills the full thinking but may stream a summary of
        it), else the reasoning text's characters / 4. None: no reasoning seen or counted."""
        if self.usage is not None and self.usage.reasoning_tokens is not None:
            return self.usage.reasoning_tokens, False
        if not self.reasoning_seen:
            return None, False
        if self.usage is not None and self.usage.output_tokens is not None:
            return max(0, self.usage.output_tokens - self._answer_estimate()), True
        return max(1, round(self.reasoning_chars / 4)), True

    def answer_tokens(self) -> int | None:
        """The output that is not reasoning: reported output less reported reasoning where
        the API counts both, else estimated from the answer's characters."""
        if not self.answer_times:
            return None
        usage = self.usage
        if usage is not None and usage.output_tokens is not None and (
                usage.reasoning_tokens is not None or not self.reasoning_seen):
            return max(1, usage.output_tokens - (usage.reasoning_tokens or 0))
        return self._answer_estimate()

    def _answer_estimate(self) -> int:
        chars = self.chars - self.reasoning_chars
        return max(1, round(chars / 4)) if self.answer_times else 0

    def _call(self, index: int, name: str | None) -> ToolCall:
        """The call at `index`; a second start at a used index (Gemini numbers the parts of
        each chunk from 0) begins a new call."""
        for call in reversed(self.tool_calls):
            if call.index == index:
                if name is None:
                    return call
                if call.name is None:
                    call.name = name
                    return call
                break
        call = ToolCall(name=name, index=index)
        self.tool_calls.append(call)
        return call


def _merge(old: Usage | None, new: Usage) -> Usage:
    """Usage can arrive in parts (Anthropic: input at the start, output at the end)."""
    if old is None:
        return new
    return Usage(
        input_tokens=new.input_tokens if new.input_tokens is not None else old.input_tokens,
        output_tokens=new.output_tokens if new.output_tokens is not None else old.output_tokens,
        at=new.at,
        reasoning_tokens=new.reasoning_tokens if new.reasoning_tokens is not None
        else old.reasoning_tokens,
    )
