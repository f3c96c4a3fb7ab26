"""A real, simulated OpenAI-compatible chat server on 127.0.0.1, for the demo and tests.

Plain asyncio streams and hand-written HTTP/1.1 (service.sim.http11: keep-alive, chunked
SSE) rather than a framework: every chunk is written and drained at a scheduled perf_counter
deadline, so the timing a client measures is the timing configured here, and the server
records its own truth (when it wrote the first content chunk) for tests and benchmarks to
compare against.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

from service.sim.http11 import (
    Request,
    end_chunks,
    send_body,
    send_json,
    serve_connection,
    write_chunk,
    write_head,
)

logger = logging.getLogger(__name__)

Fault = Literal[
    "role_only_first",  # the normal behaviour, named for tests: a role-only first chunk
    "error_in_stream",  # {"error": ...} after the first token, inside the 200 stream
    "close_mid_stream",  # the connection drops after two tokens
    "trickle_forever",  # a token every inter_token_seconds, never finishing
    "invalid_json",
    "html_200",  # a proxy's HTML error page with status 200
    "wrong_content_type",  # the SSE body labelled text/plain
    "oversized",  # 16 KB chunks, 8 MB in all
    "no_done",  # everything except `data: [DONE]`
    "no_usage",  # ignores stream_options.include_usage, as some compatible hosts do
    "empty",  # a well-formed stream without a content token
    "status_401",  # the body echoes the Authorization header back
    "status_429",  # Retry-After: 7
    "redirect",  # 301 to another path
]


# Faults answered with status 200 and a body that is not an SSE stream.
_WRONG_BODIES: dict[str | None, tuple[str, bytes]] = {
    "html_200": ("text/html; charset=utf-8", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "wrong_content_type": ("text/plain", b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'),
}


@dataclass
class SimModel:
    ttft_seconds: float = 0.2
    inter_token_seconds: float = 0.02
    jitter: float = 0.0  # each delay is scaled by 1 ± up to this fraction
    output_tokens: int = 16  # capped by the request's max_tokens
    error_rate: float = 0.0  # share of requests answered with HTTP 500
    fault: Fault | None = None


@dataclass
class SimRecord:
    """Server-side truth about one chat request (perf_counter times)."""

    model: str
    connection: int  # requests on one keep-alive connection share this number
    received_at: float  # the request body was read
    status: int = 200
    first_content_at: float | None = None  # just before the first content chunk was written
    last_content_at: float | None = None
    content_tokens: int = 0


class SimServer:
    def __init__(self, models: dict[str, SimModel], seed: int = 0) -> None:
        self.models = models
        self.seed = seed
        self.records: list[SimRecord] = []
        self.base_url: str | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connection_ids = itertools.count(1)
        self._request_counts: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    @property
    def first_content_times(self) -> list[float | None]:
        return [record.first_content_at for record in self.records]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._handle_connection, host, port)
        bound_port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://{host}:{bound_port}/v1"
        logger.info("simulated OpenAI server listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def start_in_thread(self) -> str:
        """Serve from a daemon thread with its own event loop; returns the base URL."""
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve_in_thread(ready)),
            name="sim-openai-server",
            daemon=True,
        )
        self._thread.start()
        return ready.result(timeout=10)

    def stop_thread(self) -> None:
        if self._thread_loop is not None and self._thread_stop is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = self._thread_loop = self._thread_stop = None

    async def _serve_in_thread(self, ready: concurrent.futures.Future[str]) -> None:
        try:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            ready.set_result(await self.start())
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        await self._thread_stop.wait()
        await self.stop()

    # --- requests -----------------------------------------------------------------------

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = next(self._connection_ids)

        async def respond(request: Request) -> bool:
            return await self._respond(request, writer, connection)

        try:
            await serve_connection(reader, writer, respond)  # closes the writer
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _respond(
        self, request: Request, writer: asyncio.StreamWriter, connection: int
    ) -> bool:
        if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
            data = [{"id": name, "object": "model", "owned_by": "sim"} for name in self.models]
            return await send_json(writer, 200, {"object": "list", "data": data})
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return await _send_error(writer, 404, f"no route {request.path}", "not_found")
        try:
            body = json.loads(request.body)
            name = str(body["model"])
        except (ValueError, KeyError, TypeError):
            return await _send_error(writer, 400, "invalid JSON body", "invalid_request_error")
        model = self.models.get(name)
        if model is None:
            return await _send_error(
                writer, 404, f"The model `{name}` does not exist", "model_not_found"
            )
        record = SimRecord(model=name, connection=connection, received_at=perf_counter())
        self.records.append(record)
        count = self._request_counts[name] = self._request_counts.get(name, 0) + 1
        rng = random.Random(f"{self.seed}:{name}:{count}")
        failed = rng.random() < model.error_rate  # drawn first, so faults don't shift it
        status_reply = await self._status_fault(request, writer, model, record, failed)
        if status_reply is not None:
            return status_reply
        reply = _Reply(writer, name, model, record, rng, body)
        if body.get("stream"):
            return await reply.stream()
        return await reply.complete()

    async def _status_fault(
        self,
        request: Request,
        writer: asyncio.StreamWriter,
        model: SimModel,
        record: SimRecord,
        failed: bool,
    ) -> bool | None:
        if failed:
            record.status = 500
            message = "The server had an error while processing your request."
            return await _send_error(writer, 500, message, "server_error")
        if model.fault == "status_401":
            record.status = 401
            echoed = request.headers.get("authorization", "")
            message = f"Incorrect API key provided: {echoed}."  # echoed on purpose
            return await _send_error(writer, 401, message, "invalid_api_key")
        if model.fault == "status_429":
            record.status = 429
            message = "Rate limit reached for requests"
            extra = {"retry-after": "7"}
            return await _send_error(writer, 429, message, "rate_limit_exceeded", extra)
        if model.fault == "redirect":
            record.status = 301
            headers = {"location": "/moved" + request.path, "content-length": "0"}
            await write_head(writer, 301, headers)
            return True
        if model.fault in _WRONG_BODIES:
            content_type, payload = _WRONG_BODIES[model.fault]
            return await send_body(writer, 200, content_type, payload)
        return None


class _Reply:
    """One chat completion, written on a schedule: ttft, then one token per interval."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        name: str,
        model: SimModel,
        record: SimRecord,
        rng: random.Random,
        body: dict[str, Any],
    ) -> None:
        self.writer = writer
        self.name = name
        self.model = model
        self.record = record
        self.rng = rng
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        wanted = model.output_tokens
        self.n_tokens = min(wanted, limit) if isinstance(limit, int) and limit > 0 else wanted
        self.finish_reason = "length" if self.n_tokens < wanted else "stop"
        options = body.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage")) and model.fault != "no_usage"
        self.prompt_tokens = _prompt_tokens(body)
        self.id = f"chatcmpl-sim-{record.connection}-{int(record.received_at * 1e6)}"
        self.created = int(time.time())
        # Deadlines count from the request's arrival, so scheduling delays do not add up.
        self.due = record.received_at + self._delay(model.ttft_seconds)

    def _delay(self, seconds: float) -> float:
        return seconds * (1.0 + self.rng.uniform(-self.model.jitter, self.model.jitter))

    async def stream(self) -> bool:
        headers = {
            "content-type": "text/event-stream; charset=utf-8",
            "transfer-encoding": "chunked",
            "cache-control": "no-cache",
        }
        await write_head(self.writer, 200, headers)
        # Like the real API: a role-only first chunk with empty content, sent at once.
        await self._event({"role": "assistant", "content": "", "refusal": None})
        fault = self.model.fault
        if fault == "invalid_json":
            await self._chunk(b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"cont\n\n')
            return await self._end()
        if fault == "oversized":
            for _ in range(512):
                await self._event({"content": "x" * 16384})
            return await self._end()
        if fault != "empty" and (outcome := await self._tokens()) is not None:
            return outcome
        await self._event({}, finish_reason=self.finish_reason)
        if self.include_usage:
            await self._usage_chunk()
        if fault != "no_done":
            await self._chunk(b"data: [DONE]\n\n")
        return await self._end()

    async def _tokens(self) -> bool | None:
        """Content chunks on schedule; a value means the reply ended early (a fault)."""
        fault, i = self.model.fault, 0
        while fault == "trickle_forever" or i < self.n_tokens:
            i += 1
            await _sleep_until(self.due)
            now = perf_counter()
            if self.record.first_content_at is None:
                self.record.first_content_at = now
            self.record.last_content_at, self.record.content_tokens = now, i
            await self._event({"content": f"tok{i} "})
            self.due += self._delay(self.model.inter_token_seconds)
            if fault == "error_in_stream":
                error = {
                    "message": "The server had an error processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
                await self._chunk(b"data: " + json.dumps({"error": error}).encode() + b"\n\n")
                return await self._end()
            if fault == "close_mid_stream" and i == min(2, self.n_tokens):
                self.writer.transport.abort()  # no chunked terminator: a cut connection
                return False
        return None

    async def complete(self) -> bool:
        """The non-streaming answer, sent when the last token would have been."""
        n = 0 if self.model.fault == "empty" else self.n_tokens
        for _ in range(max(0, n - 1)):
            self.due += self._delay(self.model.inter_token_seconds)
        await _sleep_until(self.due)
        self.record.first_content_at = self.record.last_content_at = perf_counter()
        self.record.content_tokens = n
        message = {"role": "assistant", "content": "".join(f"tok{i} " for i in range(1, n + 1))}
        return await send_json(
            self.writer,
            200,
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.name,
                "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
                "usage": self._usage(),
            },
        )

    def _usage(self) -> dict[str, Any]:
        completion = self.record.content_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "completion_tokens_details": {"reasoning_tokens": 0},
        }

    async def _event(self, delta: dict[str, Any], finish_reason: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        await self._data({"choices": [choice]})

    async def _usage_chunk(self) -> None:
        await self._data({"choices": [], "usage": self._usage()})

    async def _data(self, fields: dict[str, Any]) -> None:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.name,
            "system_fingerprint": "fp_sim",
            **fields,
        }
        await self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")

    async def _chunk(self, data: bytes) -> None:
        await write_chunk(self.writer, data)

    async def _end(self) -> bool:
        return await end_chunks(self.writer)  # the connection stays open


async def _send_error(
    writer: asyncio.StreamWriter,
    status: int,
    message: str,
    code: str,
    extra_headers: dict[str, str] | None = None,
) -> bool:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return await send_json(writer, status, {"error": error}, extra_headers)


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - perf_counter()))


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages") or []
    chars = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict))
    return max(1, round(chars / 4))
