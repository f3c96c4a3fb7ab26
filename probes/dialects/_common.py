"""Small helpers every dialect needs: reading one SSE data payload, numbers from usage."""

from __future__ import annotations

import json
from typing import Any

from probes.dialects import ProtocolError, StreamError


def json_object(data: str) -> dict[str, Any]:
    """The JSON object in one SSE `data:` payload; ProtocolError if it is anything else."""
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise ProtocolError(f"invalid JSON in SSE data: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"SSE data is a JSON {type(obj).__name__}, not an object")
    return obj


def stream_error(error: Any, at: float) -> StreamError:
    """An error object found inside a 200 stream, in any provider's shape."""
    if isinstance(error, dict):
        message = str(error.get("message") or json.dumps(error)[:300])
        code = error.get("code") or error.get("type") or error.get("status")
        return StreamError(message=message, code=str(code) if code else None, at=at)
    return StreamError(message=str(error)[:300], code=None, at=at)


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
