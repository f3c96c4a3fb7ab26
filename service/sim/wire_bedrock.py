"""Amazon Bedrock on the wire: ConverseStream and InvokeModelWithResponseStream answered in
the AWS binary event stream, and every request's SigV4 signature verified.

    POST /model/{modelId}/converse-stream               BedrockConverseWire
    POST /model/{modelId}/invoke-with-response-stream   BedrockInvokeWire (Anthropic body)

A request is let in when it is signed with the simulator's test credentials
(TEST_ACCESS_KEY_ID / TEST_SECRET_ACCESS_KEY, region SIM_REGION, service `bedrock`): the
signature is computed again with botocore over what was received and compared. A bearer
token (a Bedrock API key) is let in when the server has no api_key or it equals it. Anything
else is answered 403 in AWS's error shape (x-amzn-ErrorType header, {"message": ...}).

The encoder is small (string headers only) and tested against botocore's decoder.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import struct
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from service.sim.http11 import Request
from service.sim.wire import SimChat, StreamState, body_json, pieces_of
from service.sim.wire_anthropic import AnthropicWire

CONTENT_TYPE = "application/vnd.amazon.eventstream"
# Test credentials only: they open the simulator and nothing else.
TEST_ACCESS_KEY_ID = "AKIASIMULATOR0000001"
TEST_SECRET_ACCESS_KEY = "simulator/secret/for/tests/only/0000000000"
SIM_REGION = "us-east-1"
MAX_SKEW_SECONDS = 300  # AWS refuses a signature more than 5 minutes off

_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use"}
_ERROR_TYPES = {400: "ValidationException", 403: "AccessDeniedException",
                404: "ResourceNotFoundException", 429: "ThrottlingException",
                500: "InternalServerException", 503: "ServiceUnavailableException"}
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$")


# --- framing -----------------------------------------------------------------------------


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, its CRC, string headers, payload, message CRC."""
    head = b"".join(
        struct.pack("!B", len(name.encode())) + name.encode() + b"\x07"
        + struct.pack("!H", len(value.encode())) + value.encode()
        for name, value in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack("!I", binascii.crc32(body))


def event(event_type: str, obj: Any) -> bytes:
    return encode_message({":event-type": event_type, ":content-type": "application/json",
                           ":message-type": "event"}, json.dumps(obj).encode())


def exception(exception_type: str, message: str) -> bytes:
    return encode_message({":exception-type": exception_type,
                           ":content-type": "application/json",
                           ":message-type": "exception"}, json.dumps({"message": message}).encode())


def error_headers(status: int) -> dict[str, str]:
    """The x-amzn-ErrorType an AWS service sends with an error of this status."""
    kind = _ERROR_TYPES.get(status, "ValidationException" if status < 500
                            else "InternalServerException")
    return {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}


# --- authentication ----------------------------------------------------------------------


def verify_sigv4(request: Request, secret_key: str = TEST_SECRET_ACCESS_KEY,
                 access_key: str = TEST_ACCESS_KEY_ID, region: str = SIM_REGION,
                 now: datetime | None = None) -> tuple[str, str] | None:
    """None when `request` is signed with these credentials, else (error type, message)."""
    found = _AUTHORIZATION.match(request.headers.get("authorization", ""))
    if found is None:
        return ("IncompleteSignatureException",
                "Authorization header requires Credential, SignedHeaders and Signature.")
    if found["key"] != access_key:
        return ("UnrecognizedClientException",
                "The security token included in the request is invalid.")
    if (found["region"], found["service"]) != (region, "bedrock"):
        return ("InvalidSignatureException",
                f"Credential should be scoped to a valid region and service: {region}, bedrock.")
    amz_date = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "IncompleteSignatureException", "X-Amz-Date is missing or not a date."
    if (not amz_date.startswith(found["day"])
            or abs(((now or datetime.now(UTC)) - signed_at).total_seconds()) > MAX_SKEW_SECONDS):
        return "InvalidSignatureException", "Signature expired or not yet current."
    names = found["signed"].split(";")
    if "host" not in names:
        return "InvalidSignatureException", "The host header must be signed."
    received = AWSRequest(method=request.method,
                          url=f"http://{request.headers.get('host', '')}{request.path}",
                          data=request.body,
                          headers={name: request.headers.get(name, "") for name in names})
    received.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, secret_key,
                                   request.headers.get("x-amz-security-token")),
                       "bedrock", region)
    expected = signer.signature(signer.string_to_sign(received,
                                                      signer.canonical_request(received)),
                                received)
    if not hmac.compare_digest(expected, found["signature"]):
        return ("InvalidSignatureException",
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method.")
    return None


class _BedrockAuth:
    """What both Bedrock wires share: their key header, their errors, their check."""

    key_header = "authorization"
    content_type = CONTENT_TYPE

    def presented_key(self, request: Request) -> str | None:
        value = request.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None

    def refuse(self, request: Request, api_key: str | None) -> tuple[str, str] | None:
        """Why the request may not in (error type, message), None when it may."""
        bearer = self.presented_key(request)
        if bearer is not None:
            if api_key and bearer != api_key:
                return "UnrecognizedClientException", "Invalid API Key format or value."
            return None
        return verify_sigv4(request)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"message": message}

    def error_headers(self, status: int) -> dict[str, str]:
        return error_headers(status)

    def split_arguments(self, arguments: str) -> list[str]:
        return pieces_of(arguments)


# --- ConverseStream ----------------------------------------------------------------------


class BedrockConverseWire(_BedrockAuth):
    name = "bedrock"

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        texts = [str(block.get("text", "")) for message in body.get("messages") or []
                 for block in message.get("content") or [] if isinstance(block, dict)]
        limit = (body.get("inferenceConfig") or {}).get("maxTokens")
        tools = [{"name": spec.get("name"), "description": spec.get("description", ""),
                  "parameters": (spec.get("inputSchema") or {}).get("json") or {}}
                 for tool in (body.get("toolConfig") or {}).get("tools") or []
                 if isinstance(spec := tool.get("toolSpec"), dict)]
        return SimChat(model=unquote(str(route_model)), prompt=" ".join(texts),
                       max_tokens=limit if isinstance(limit, int) and limit > 0 else None,
                       stream=True, tools=tools)

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        return [event("messageStart", {"role": "assistant"})]

    def empty_first(self, s: StreamState) -> list[bytes]:
        return [self.keepalive()]

    def keepalive(self) -> bytes:
        return event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ""}})

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return event("contentBlockDelta",
                     {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": piece}}})

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        return []  # the answer follows in the same block (the simulator keeps one index)

    def text(self, s: StreamState, piece: str) -> bytes:
        return event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})

    def tool_start(self, s: StreamState) -> list[bytes]:
        use = {"toolUseId": f"tooluse_{s.id[-8:]}", "name": s.tool_name}
        return [event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": use}})]

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        return event("contentBlockDelta",
                     {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})

    def stream_error(self, s: StreamState) -> bytes:
        return exception("modelStreamErrorException", "The model stream was interrupted.")

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        out = [event("contentBlockStop", {"contentBlockIndex": 0}),
               event("messageStop", {"stopReason": _REASONS[reason]})]
        if marker:  # metadata is the last message of a Converse stream
            metadata: dict[str, Any] = {"metrics": {"latencyMs": 1}}
            if usage:
                metadata["usage"] = {"inputTokens": s.prompt_tokens, "outputTokens": s.tokens,
                                     "totalTokens": s.prompt_tokens + s.tokens}
            out.append(event("metadata", metadata))
        return out


# --- InvokeModelWithResponseStream (Anthropic) -------------------------------------------


class BedrockInvokeWire(_BedrockAuth):
    """Anthropic Messages events, each base64 in a `chunk` message's {"bytes": ...}."""

    name = "bedrock-invoke"

    def __init__(self) -> None:
        self._anthropic = AnthropicWire()

    def parse(self, request: Request, route_model: str | None) -> SimChat:
        body = body_json(request)
        if body.get("anthropic_version") != "bedrock-2023-05-31":
            raise ValueError("anthropic_version: must be bedrock-2023-05-31")
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages") or []
                          if isinstance(m, dict))
        limit = body.get("max_tokens")
        if not isinstance(limit, int) or limit < 1:
            raise ValueError("max_tokens: required")
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        return SimChat(model=unquote(str(route_model)), prompt=prompt, max_tokens=limit,
                       stream=True, tools=tools)

    def start(self, s: StreamState, tool: bool) -> list[bytes]:
        return _chunks(self._anthropic.start(s, tool))

    def empty_first(self, s: StreamState) -> list[bytes]:
        return _chunks(self._anthropic.empty_first(s))

    def keepalive(self) -> bytes:
        return _chunk(self._anthropic.keepalive())

    def reasoning(self, s: StreamState, piece: str) -> bytes:
        return _chunk(self._anthropic.reasoning(s, piece))

    def reasoning_end(self, s: StreamState, tool: bool) -> list[bytes]:
        return _chunks(self._anthropic.reasoning_end(s, tool))

    def text(self, s: StreamState, piece: str) -> bytes:
        return _chunk(self._anthropic.text(s, piece))

    def tool_start(self, s: StreamState) -> list[bytes]:
        return _chunks(self._anthropic.tool_start(s))

    def tool_args(self, s: StreamState, piece: str) -> bytes:
        return _chunk(self._anthropic.tool_args(s, piece))

    def stream_error(self, s: StreamState) -> bytes:
        return exception("modelStreamErrorException", "The model stream was interrupted.")

    def finish(self, s: StreamState, reason: str, usage: bool, marker: bool) -> list[bytes]:
        out = _chunks(self._anthropic.finish(s, reason, usage, marker=False))
        if marker:  # Bedrock adds its invocation metrics to message_stop
            metrics = {"inputTokenCount": s.prompt_tokens, "outputTokenCount": s.tokens,
                       "invocationLatency": 1, "firstByteLatency": 1}
            out.append(_wrapped({"type": "message_stop",
                                 "amazon-bedrock-invocationMetrics": metrics}))
        return out


def _chunk(sse_event: bytes) -> bytes:
    """One Anthropic SSE event (`event: ...\\ndata: {...}\\n\\n`) as a Bedrock chunk."""
    data = next(line[6:] for line in sse_event.split(b"\n") if line.startswith(b"data: "))
    return _wrapped(json.loads(data))


def _chunks(sse_events: list[bytes]) -> list[bytes]:
    return [_chunk(e) for e in sse_events]


def _wrapped(obj: Any) -> bytes:
    return event("chunk", {"bytes": base64.b64encode(json.dumps(obj).encode()).decode()})
