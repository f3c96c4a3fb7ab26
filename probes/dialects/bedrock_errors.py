"""Bedrock's errors in the probes' taxonomy (docs/config.md, Bedrock): over the HTTP status,
the `x-amzn-ErrorType` header (or the body's `__type`) and the body's `message`, and for
exception messages inside a 200 event stream, their `:exception-type`.

    AccessDeniedException, UnrecognizedClientException, signature/token errors   auth
    ... AccessDenied or ResourceNotFound about the model (not enabled here)      auth, said so
    ThrottlingException, ServiceQuotaExceededException, 429                       rate_limited
    ValidationException and other 4xx                                             http_4xx
    ServiceUnavailableException, InternalServerException, 5xx                      http_5xx
    in the stream: throttlingException rate_limited, validationException http_4xx,
                   the others (modelStreamErrorException, internalServerException) stream_error
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import httpx

from probes.dialects import StreamError
from probes.eventstream import CONTENT_TYPE
from probes.http_errors import (
    MESSAGE_CHARS,
    Failure,
    check_response,
    read_limited,
    retry_after_seconds,
)
from probes.redact import scrub
from probes.result import ErrorClass

# Error type (lower-cased, as the header and the stream spell it differently) -> class.
_HTTP_CLASSES = {
    "accessdeniedexception": ErrorClass.AUTH,
    "unrecognizedclientexception": ErrorClass.AUTH,
    "invalidsignatureexception": ErrorClass.AUTH,
    "incompletesignatureexception": ErrorClass.AUTH,
    "missingauthenticationtokenexception": ErrorClass.AUTH,
    "expiredtokenexception": ErrorClass.AUTH,
    "throttlingexception": ErrorClass.RATE_LIMITED,
    "servicequotaexceededexception": ErrorClass.RATE_LIMITED,
    "validationexception": ErrorClass.HTTP_4XX,
    "serviceunavailableexception": ErrorClass.HTTP_5XX,
    "internalserverexception": ErrorClass.HTTP_5XX,
}
_STREAM_CLASSES = {
    "throttlingexception": ErrorClass.RATE_LIMITED,
    "validationexception": ErrorClass.HTTP_4XX,
}
# What Bedrock says when the account may not use the model in this region (model access
# not granted, or the model not offered there).
_NOT_ENABLED = re.compile(
    r"don't have access to the model|not authorized to invoke|model.*(not found|not supported"
    r"|could not resolve|is not available)|could not resolve the foundation model",
    re.IGNORECASE)
_REGION = re.compile(r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$")


async def check_bedrock_response(response: httpx.Response,
                                 secret: str | Sequence[str | None] | None
                                 ) -> Failure | None:
    """None for a 200 event stream; otherwise the failure, classed by Bedrock's error type."""
    status = response.status_code
    content_type = response.headers.get("content-type", "").lower()
    if status == 200 and content_type.startswith(CONTENT_TYPE):
        return None
    if not 400 <= status < 600:  # a 200 of another type, a redirect: the generic reading
        return await check_response(response, secret)
    raw = await read_limited(response)
    error_type, text = _error_of(response.headers.get("x-amzn-errortype"), raw, secret)
    message = f"HTTP {status} {error_type}: {text}" if error_type else f"HTTP {status}: {text}"
    error_class = _HTTP_CLASSES.get(error_type.lower())
    if error_class is None:
        error_class = (ErrorClass.AUTH if status in (401, 403) else
                       ErrorClass.RATE_LIMITED if status == 429 else
                       ErrorClass.HTTP_4XX if status < 500 else ErrorClass.HTTP_5XX)
    if (error_type in ("AccessDeniedException", "ResourceNotFoundException")
            and _NOT_ENABLED.search(text)):
        model, region = _model_and_region(response)
        message = (f"model {model} is not enabled for this account in {region} "
                   f"(grant it under Model access in the Bedrock console, or use a model or "
                   f"inference profile offered there): {message}")
        error_class = ErrorClass.AUTH
    retry_after = None
    if error_class == ErrorClass.RATE_LIMITED:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
    return error_class, message, retry_after


def stream_exception(error_type: str, payload: str, at: float) -> StreamError:
    """An exception message inside the 200 stream."""
    _, text = _error_of(None, payload.encode(), None)
    error_class = _STREAM_CLASSES.get(error_type.lower(), ErrorClass.STREAM_ERROR)
    return StreamError(message=text, code=error_type, at=at, error_class=error_class)


def _error_of(header: str | None, raw: bytes, secret: str | Sequence[str | None] | None
              ) -> tuple[str, str]:
    """The error type (`ThrottlingException`) and message of an error answer."""
    error_type = (header or "").split(":", 1)[0].strip()
    text = raw.decode("utf-8", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        if not error_type and isinstance(obj.get("__type"), str):
            error_type = obj["__type"].rsplit("#", 1)[-1].split(":", 1)[0]
        found = obj.get("message") or obj.get("Message")
        if isinstance(found, str):
            text = found
    text = " ".join(scrub(text, secret).split())
    return error_type, text[:MESSAGE_CHARS] or "(empty body)"


def _model_and_region(response: httpx.Response) -> tuple[str, str]:
    url = urlsplit(str(response.request.url))
    parts = url.path.split("/")
    model = unquote(parts[parts.index("model") + 1]) if "model" in parts[:-1] else "?"
    found = _REGION.match(url.hostname or "")
    return model, found.group(1) if found else "this region"
