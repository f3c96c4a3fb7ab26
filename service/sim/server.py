"""The simulated fleet's server: every provider API on one real port on 127.0.0.1.

Plain asyncio streams and hand-written HTTP/1.1 (service.sim.http11) rather than a
framework, so the timing a client measures is the timing configured. Routes:

    POST /v1/chat/completions                                     OpenAI (and compatibles)
    POST /v1/responses                                            OpenAI Responses API
    POST /openai/deployments/{deployment}/chat/completions?api-version=...   Azure OpenAI
    POST /v1/messages                                             Anthropic
    POST /v1beta/models/{model}:streamGenerateContent?alt=sse     Gemini
    POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:streamGenerateContent
         .../publishers/anthropic/models/{model}:streamRawPredict  Vertex AI (wire_vertex.py)
    POST /models/chat/completions?api-version=...                 Azure AI Foundry
    POST /oauth2/token, GET /msi/token        Google and Azure token issuers (tokens.py)
    POST /model/{modelId}/converse-stream, .../invoke-with-response-stream   Bedrock
                                   (SigV4-verified, event stream: wire_bedrock.py)
    GET  /v1/models, /v1beta/models               the model list, in each API's format
    GET  /v1/realtime, /openai/v1/realtime, /ws/...BidiGenerateContent   realtime voice over
                                   WebSocket: OpenAI Realtime, Azure, Gemini Live (realtime.py)
    GET  /status/{page}/api/v2/summary.json, /pricing/litellm.json, POST /hooks/alerts
                                   status pages, a price list, a webhook (status_pages.py)

With `api_key` set, each API's own key header must carry it (401 otherwise, echoing what
was presented, as careless proxies do, so tests can check that probes scrub it). With
`tokens` set, Vertex routes take only a bearer token it issued and that has not expired,
and the Azure routes take such a token in place of the key (Entra ID).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
import ssl
from collections.abc import Mapping
from time import perf_counter
from typing import Any

from service.sim.behaviour import Fault, SimModel, SimRecord
from service.sim.brain import answer
from service.sim.http11 import Request, send_body, send_json, serve_connection, write_head
from service.sim.model_lists import MODEL_LIST_PATHS, model_list, model_list_wire
from service.sim.realtime import RealtimeSessions, realtime_route
from service.sim.reply import Reply, new_state
from service.sim.stamped import stamped_listener
from service.sim.status_pages import (
    ALERTS_PATH,
    PRICES_PATH,
    Incident,
    now_utc,
    status_document,
)
from service.sim.thread import ThreadRunner
from service.sim.tokens import TokenIssuer
from service.sim.wire import Wire, bearer, prompt_tokens, reasoning_planned
from service.sim.wire_anthropic import AnthropicWire
from service.sim.wire_bedrock import BedrockConverseWire, BedrockInvokeWire
from service.sim.wire_gemini import GeminiWire
from service.sim.wire_openai import AzureWire, OpenAIWire, usage_of
from service.sim.wire_responses import ResponsesWire
from service.sim.wire_vertex import FoundryWire, VertexAnthropicWire, VertexGeminiWire

logger = logging.getLogger(__name__)

_VERTEX = r"/projects/[^/]+/locations/[^/]+/publishers"
_ROUTES: list[tuple[re.Pattern[str], Wire]] = [
    # before the first-party routes, whose patterns match the ends of these paths
    (re.compile(_VERTEX + r"/google/models/(?P<model>[^/:]+):streamGenerateContent$"),
     VertexGeminiWire()),
    (re.compile(_VERTEX + r"/anthropic/models/(?P<model>[^/:]+):streamRawPredict$"),
     VertexAnthropicWire()),
    (re.compile(r"/models/chat/completions$"), FoundryWire()),
    (re.compile(r"/openai/deployments/(?P<model>[^/]+)/chat/completions$"), AzureWire()),
    (re.compile(r"/chat/completions$"), OpenAIWire()),
    (re.compile(r"/responses$"), ResponsesWire()),
    (re.compile(r"/messages$"), AnthropicWire()),
    (re.compile(r"/models/(?P<model>[^/:]+):streamGenerateContent$"), GeminiWire()),
    (re.compile(r"^/model/(?P<model>[^/]+)/converse-stream$"), BedrockConverseWire()),
    (re.compile(r"^/model/(?P<model>[^/]+)/invoke-with-response-stream$"), BedrockInvokeWire()),
]
_VERTEX_BASE = "/v1/projects/sim-project/locations/us-central1"
_BASE_PATHS = {"openai": "/v1", "anthropic": "/v1", "gemini": "/v1beta", "azure-openai": "",
               "vertex": _VERTEX_BASE, "vertex-anthropic": _VERTEX_BASE,
               "azure-ai-inference": "/models", "bedrock": "", "bedrock-invoke": "",
               "openai-responses": "/v1"}
# Wires that take a bearer token from `tokens` (Vertex: only that; Azure: or the key).
_TOKEN_WIRES = frozenset({"vertex", "vertex-anthropic", "azure-openai", "azure-ai-inference"})
_API_VERSIONED = frozenset({"azure-openai", "azure-ai-inference"})
# Faults answered with status 200 and a body that is not an SSE stream.
_WRONG_BODIES: dict[str, tuple[str, bytes]] = {
    "html_200": ("text/html; charset=utf-8", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "wrong_content_type": ("text/plain", b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'),
}
_STATUS_FAULTS = {"status_401": 401, "status_429": 429, "status_500": 500, "status_503": 503}


def base_url_for(origin: str, api: str) -> str:
    """The base_url of dialect `api` on the server at `origin` (http://127.0.0.1:PORT)."""
    return origin + _BASE_PATHS[api]


class SimServer(ThreadRunner):
    def __init__(self, models: dict[str, SimModel], seed: int = 0,
                 api_key: str | None = None,
                 status_pages: Mapping[str, tuple[Incident, ...]] | None = None,
                 price_list: dict[str, Any] | None = None,
                 tls: ssl.SSLContext | None = None,
                 tokens: TokenIssuer | None = None) -> None:
        super().__init__()
        self.tokens = tokens  # issues and checks the clouds' bearer tokens (tokens.py)
        self.tls = tls  # serve https with this server context
        self.models = models
        self.seed = seed
        self.api_key = api_key
        self.status_pages = dict(status_pages or {})  # page name -> its incidents
        self.price_list = price_list  # served at PRICES_PATH when set
        self.alerts_received = 0  # webhook messages POSTed to ALERTS_PATH (bodies not kept)
        self.model_page_size: int | None = None  # Anthropic's and Gemini's lists, paged
        self.started_wall = now_utc()
        self.records: list[SimRecord] = []
        self.origin: str | None = None  # http://127.0.0.1:PORT
        self.started_at = perf_counter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connection_ids = itertools.count(1)
        self._request_counts: dict[str, int] = {}
        self.realtime = RealtimeSessions(self)

    @property
    def base_url(self) -> str | None:
        """The OpenAI base URL (…/v1), as before the fleet spoke other APIs."""
        return self.url_for("openai") if self.origin else None

    def url_for(self, api: str) -> str:
        """The base_url a candidate of dialect `api` uses against this server."""
        assert self.origin, "the server is not started"
        return base_url_for(self.origin, api)

    @property
    def first_content_times(self) -> list[float | None]:
        return [record.first_content_at for record in self.records]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._handle_connection,
                                                  sock=stamped_listener(host, port),
                                                  ssl=self.tls)
        bound_port = self._server.sockets[0].getsockname()[1]
        self.origin = f"{'https' if self.tls else 'http'}://{host}:{bound_port}"
        self.started_at, self.started_wall = perf_counter(), now_utc()
        logger.info("simulated provider fleet listening on %s", self.origin)
        return self.url_for("openai")

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _handle_connection(self, reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = next(self._connection_ids)

        async def respond(request: Request) -> bool:
            api = realtime_route(request)
            if api is not None:  # a WebSocket: once upgraded, the connection is the session's
                return await self.realtime.serve(api, request, reader, writer, connection)
            return await self._respond(request, writer, connection)

        try:
            await serve_connection(reader, writer, respond)  # closes the writer
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _respond(self, request: Request, writer: asyncio.StreamWriter,
                       connection: int) -> bool:
        path, _, query = request.path.partition("?")
        page = status_document(path, self.status_pages, self.started_wall,
                               perf_counter() - self.started_at) if request.method == "GET" \
            else None
        if page is not None:
            return await send_body(writer, 200, *page)
        if self.tokens is not None and self.tokens.handles(request.method, path):
            await asyncio.sleep(self.tokens.delay_seconds)  # a slow token endpoint
            return await send_json(writer, *self.tokens.answer(request))
        document = self._document(request.method, path)
        if document is not None:
            return await send_json(writer, 200, document)
        if request.method == "GET" and path in MODEL_LIST_PATHS:
            return await self._model_list(request, writer, path, query)
        route = next(((m, w) for p, w in _ROUTES if (m := p.search(path))), None)
        if request.method != "POST" or route is None or (
                route[1].name in _API_VERSIONED and "api-version=" not in query):
            error = {"message": f"no route {path}", "type": "invalid_request_error",
                     "param": None, "code": "not_found"}
            return await send_json(writer, 404, {"error": error})
        match, wire = route
        try:
            chat = wire.parse(request, match.groupdict().get("model"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return await send_json(writer, 400, wire.error_body(400, f"invalid request: {exc}"))
        model = self.models.get(chat.model)
        if model is None:
            message = f"The model `{chat.model}` does not exist"
            return await send_json(writer, 404, wire.error_body(404, message))
        received_at = request.arrived_at or perf_counter()
        record = SimRecord(model=chat.model, connection=connection, received_at=received_at,
                           dialect=wire.name)
        self.records.append(record)
        rng = self._rng_for(chat.model)
        fault = model.draw_fault(rng)
        record.outcome = fault or "ok"
        refused = await self._refuse(request, writer, wire, model, record, fault)
        if refused is not None:
            return refused
        if chat.max_tokens is not None and chat.max_tokens < model.min_max_tokens:
            record.status, record.outcome = 400, "max_tokens_refused"
            message = (f"max_tokens is too small: this model needs at least "
                       f"{model.min_max_tokens} output tokens (got {chat.max_tokens})")
            return await send_json(writer, 400, wire.error_body(400, message))
        reply = answer(chat.prompt, chat.tools, model, chat.max_tokens or 1 << 30, rng)
        state = new_state(record, chat.model, prompt_tokens(chat.prompt),
                          chat.include_usage and fault != "no_usage")
        state.reasoning_planned = reasoning_planned(chat, model.reasoning_tokens, chat.max_tokens)
        if chat.stream:
            return await Reply(writer, wire, model, record, rng, state, reply, chat.max_tokens,
                               fault).stream()
        return await self._complete(writer, model, record, rng, state, reply, fault)

    def _rng_for(self, model: str) -> random.Random:
        """The generator of the model's next request (reproducible per model)."""
        count = self._request_counts[model] = self._request_counts.get(model, 0) + 1
        return random.Random(f"{self.seed}:{model}:{count}")

    async def _model_list(self, request: Request, writer: asyncio.StreamWriter, path: str,
                          query: str) -> bool:
        wire = model_list_wire(request, path)
        if self.api_key and wire.presented_key(request) != self.api_key:
            echoed = request.headers.get(wire.key_header, "")
            return await send_json(writer, 401, wire.error_body(
                401, f"Incorrect API key provided: {echoed}."))  # echoed, as for chat
        return await send_json(writer, 200, model_list(wire, list(self.models), query,
                                                       self.model_page_size))

    def _document(self, method: str, path: str) -> dict[str, Any] | None:
        """The price list or the webhook's answer; None for other paths."""
        if method == "GET" and path == PRICES_PATH and self.price_list is not None:
            return self.price_list
        if method == "POST" and path == ALERTS_PATH:
            self.alerts_received += 1
            return {"ok": True}
        return None

    async def _refuse(self, request: Request, writer: asyncio.StreamWriter, wire: Wire,
                      model: SimModel, record: SimRecord, fault: Fault | None) -> bool | None:
        """Answers that are not a stream: outages, auth, status faults, wrong bodies."""
        elapsed = record.received_at - self.started_at
        outage = next((o for o in model.outages if o.active(elapsed)), None)
        if outage is not None:
            record.outcome, record.status = "outage", outage.status
            if outage.status == 0:
                writer.transport.abort()  # no answer at all: a network error
                return False
            return await send_json(writer, outage.status,
                                   wire.error_body(outage.status, "Service unavailable"),
                                   _error_headers(wire, outage.status))
        key_ok = self._authorized(request, wire)
        refuse = getattr(wire, "refuse", None)
        if refuse is not None:  # Bedrock: a SigV4 signature (always checked) or a bearer key
            denied = refuse(request, self.api_key)
            if denied is not None:
                record.status = 403
                error_type, message = denied
                return await send_json(writer, 403, wire.error_body(403, message),
                                       {"x-amzn-errortype": error_type})
            key_ok = True
        if fault == "status_401" or not key_ok:
            record.status = 401
            echoed = (wire.presented_key(request) or "" if wire.name in _TOKEN_WIRES
                      else request.headers.get(wire.key_header, ""))
            message = f"Incorrect API key provided: {echoed}."  # echoed on purpose
            return await send_json(writer, 401, wire.error_body(401, message))
        if fault in _STATUS_FAULTS:
            record.status = _STATUS_FAULTS[fault]
            extra = ({"retry-after": "7"} if record.status == 429 and wire.name != "gemini"
                     else None)
            message = ("Rate limit reached for requests" if record.status == 429
                       else "The server had an error while processing your request.")
            return await send_json(writer, record.status, wire.error_body(record.status, message),
                                   {**(extra or {}), **_error_headers(wire, record.status)})
        if fault == "redirect":
            record.status = 301
            await write_head(writer, 301, {"location": "/moved" + request.path,
                                           "content-length": "0"})
            return True
        if fault in _WRONG_BODIES:
            content_type, payload = _WRONG_BODIES[fault]
            return await send_body(writer, 200, content_type, payload)
        return None

    def _authorized(self, request: Request, wire: Wire) -> bool:
        """A token from `tokens` where the wire takes one, else the api key if one is set."""
        token = bearer(request)
        if self.tokens is not None and wire.name in _TOKEN_WIRES:
            if token is not None and "api-key" not in request.headers:
                return self.tokens.valid(token)
            if wire.name.startswith("vertex"):
                return False  # Vertex has no api key: a token or nothing
        return not self.api_key or wire.presented_key(request) == self.api_key

    async def _complete(self, writer: asyncio.StreamWriter, model: SimModel, record: SimRecord,
                        rng: random.Random, state: Any, reply: Any,
                        fault: Fault | None) -> bool:
        """The non-streaming OpenAI answer, sent when the last token would have been."""
        pieces = [] if fault == "empty" else list(reply.pieces)
        due = record.received_at + model.ttft(rng)
        for _ in range(max(0, len(pieces) - 1)):
            due += model.gap(rng)
        await asyncio.sleep(max(0.0, due - perf_counter()))
        now = perf_counter()
        for _ in pieces:
            record.token_written(now)
        state.tokens = len(pieces)
        message = {"role": "assistant", "content": "".join(pieces)}
        return await send_json(writer, 200, {
            "id": state.id, "object": "chat.completion", "created": state.created,
            "model": state.model, "usage": usage_of(state),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


def _error_headers(wire: Wire, status: int) -> dict[str, str]:
    """Headers an API sends with its errors (AWS: x-amzn-ErrorType); none for most."""
    headers = getattr(wire, "error_headers", None)
    return headers(status) if headers is not None else {}
