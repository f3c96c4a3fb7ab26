"""One simulated answer, written on a schedule in any API's wire format, faults included.

Deadlines count from the request's arrival (TTFT, then one inter-token gap per token), so
scheduling delays do not add up; every content chunk is written and drained at its
deadline and recorded as server-side truth just before it is written.
"""

from __future__ import annotations

import asyncio
import random
import time
from time import perf_counter

from service.sim.behaviour import Fault, SimModel, SimRecord
from service.sim.brain import Answer
from service.sim.http11 import end_chunks, write_chunk, write_head
from service.sim.wire import SSE, StreamState, Wire

KEEPALIVE_SECONDS = 0.01  # how often `keepalive` sends a comment before the first token


class Reply:
    def __init__(self, writer: asyncio.StreamWriter, wire: Wire, model: SimModel,
                 record: SimRecord, rng: random.Random, state: StreamState,
                 answer: Answer, max_tokens: int | None, fault: Fault | None) -> None:
        self.writer, self.wire, self.model = writer, wire, model
        self.record, self.rng, self.s, self.fault = record, rng, state, fault
        self.answer = answer
        pieces = answer.pieces
        # reasoning comes first and counts against max_tokens (state.reasoning_planned is
        # already within it); the answer gets what is left
        room = max_tokens - state.reasoning_planned if max_tokens else None
        self.pieces = pieces[:room] if room is not None else pieces
        self.cut = len(self.pieces) < len(pieces)
        self.due = record.received_at + model.ttft(rng)

    async def stream(self) -> bool:
        content_type = getattr(self.wire, "content_type", SSE)  # Bedrock: an event stream
        headers = {"content-type": content_type, "transfer-encoding": "chunked",
                   "cache-control": "no-cache"}
        await write_head(self.writer, 200, headers)
        tool = self.answer.tool is not None and self.fault != "trickle_forever"
        await self._all(self.wire.start(self.s, tool))
        if self.fault == "role_only_first":
            await self._all(self.wire.empty_first(self.s))
        if self.fault == "invalid_json":
            await self._chunk(b'data: {"id": "sim", "choices": [{"delta": {"cont\n\n')
            return await end_chunks(self.writer)
        if self.fault == "oversized":
            for _ in range(512):
                await self._chunk(self.wire.text(self.s, "x" * 16384))
            return await end_chunks(self.writer)
        if self.fault != "empty":
            ended = await self._reasoning(tool)
            if ended is not None:
                return ended
            ended = await (self._tool_call() if tool else self._tokens())
            if ended is not None:
                return ended
        reason = "tool" if tool else ("length" if self.cut else "stop")
        usage = self.fault != "no_usage"
        await self._all(self.wire.finish(self.s, reason, usage, self.fault != "no_done"))
        return await end_chunks(self.writer)  # the connection stays open

    async def _reasoning(self, tool: bool) -> bool | None:
        """Reasoning pieces on schedule, before the answer (none for most models)."""
        total = self.s.reasoning_planned
        if not total:
            return None
        for i in range(1, total + 1):
            ended = await self._token(self.wire.reasoning(self.s, f"think{i} "), i, total,
                                      reasoning=True)
            if ended is not None:
                return ended
        await self._all(self.wire.reasoning_end(self.s, tool))
        return None

    async def _tokens(self) -> bool | None:
        """Text chunks on schedule; a value means the reply ended early (a fault)."""
        i = 0
        while self.fault == "trickle_forever" or i < len(self.pieces):
            piece = self.pieces[i] if i < len(self.pieces) else f"tok{i + 1} "
            i += 1
            ended = await self._token(self.wire.text(self.s, piece), i, len(self.pieces))
            if ended is not None:
                return ended
        return None

    async def _tool_call(self) -> bool | None:
        assert self.answer.tool is not None
        self.s.tool_name = self.answer.tool
        arguments = self.answer.arguments
        if self.fault == "tool_args_invalid_json":
            arguments = arguments[: max(1, len(arguments) // 2)]
        await self._wait_first()
        await self._all(self.wire.tool_start(self.s))
        pieces = self.wire.split_arguments(arguments)
        for i, piece in enumerate(pieces, start=1):
            ended = await self._token(self.wire.tool_args(self.s, piece), i, len(pieces))
            if ended is not None:
                return ended
        return None

    async def _token(self, data: bytes, i: int, total: int,
                     reasoning: bool = False) -> bool | None:
        await self._wait_first()
        await _sleep_until(self.due)
        self.record.token_written(perf_counter(), reasoning)
        if reasoning:
            self.s.reasoning += 1
        else:
            self.s.tokens += 1
        await self._chunk(data)
        self.due += self.model.gap(self.rng)
        if self.fault == "error_in_stream":
            await self._chunk(self.wire.stream_error(self.s))
            return await end_chunks(self.writer)
        if self.fault == "close_mid_stream" and i >= min(2, total):
            self.writer.transport.abort()  # no chunked terminator: a cut connection
            return False
        return None

    async def _wait_first(self) -> None:
        """Before the first token, a `keepalive` fault fills the wait with comments."""
        if self.fault != "keepalive" or self.s.tokens or self.s.reasoning:
            return
        while self.due - perf_counter() > KEEPALIVE_SECONDS:
            await self._chunk(self.wire.keepalive())
            await asyncio.sleep(KEEPALIVE_SECONDS)

    async def _all(self, chunks: list[bytes]) -> None:
        for data in chunks:
            await self._chunk(data)

    async def _chunk(self, data: bytes) -> None:
        await write_chunk(self.writer, data)


def new_state(record: SimRecord, chat_model: str, prompt_tokens: int,
              include_usage: bool) -> StreamState:
    return StreamState(id=f"sim-{record.connection}-{int(record.received_at * 1e6)}",
                       model=chat_model, created=int(time.time()),
                       prompt_tokens=prompt_tokens, include_usage=include_usage)


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - perf_counter()))
