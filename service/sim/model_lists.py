"""The simulated fleet's model lists, in each API's own format (probes/models reads them).

GET .../models answers in the format of the API the request speaks: Gemini's under
/v1beta, Anthropic's when the request carries `anthropic-version`, OpenAI's otherwise.
Anthropic's and Gemini's lists come a page at a time when `page_size` is set, so a client's
paging is exercised. The list is the server's models at the moment of the request: a test
that removes one (a retired model) sees it gone from the next list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from service.sim.http11 import Request
from service.sim.wire import Wire
from service.sim.wire_anthropic import AnthropicWire
from service.sim.wire_gemini import GeminiWire
from service.sim.wire_openai import OpenAIWire

MODEL_LIST_PATHS = ("/v1/models", "/v1beta/models")


def model_list_wire(request: Request, path: str) -> Wire:
    """The API a GET .../models speaks."""
    if path.startswith("/v1beta/"):
        return GeminiWire()
    if "anthropic-version" in request.headers:
        return AnthropicWire()
    return OpenAIWire()


def model_list(wire: Wire, names: Sequence[str], query: str,
               page_size: int | None) -> dict[str, Any]:
    args = {k: v[-1] for k, v in parse_qs(query).items()}
    if wire.name == "anthropic":
        start = names.index(args["after_id"]) + 1 if args.get("after_id") in names else 0
        page = list(names[start:start + page_size] if page_size else names[start:])
        more = start + len(page) < len(names)
        return {"data": [{"type": "model", "id": n, "display_name": n.title(),
                          "created_at": "2026-01-01T00:00:00Z"} for n in page],
                "has_more": more, "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None}
    if wire.name == "gemini":
        start = int(args.get("pageToken") or 0)
        end = start + page_size if page_size else len(names)
        doc: dict[str, Any] = {"models": [
            {"name": f"models/{n}", "displayName": n.title(),
             "supportedGenerationMethods": ["generateContent", "countTokens"]}
            for n in names[start:end]]}
        if end < len(names):
            doc["nextPageToken"] = str(end)
        return doc
    return {"object": "list",
            "data": [{"id": n, "object": "model", "owned_by": "sim"} for n in names]}
