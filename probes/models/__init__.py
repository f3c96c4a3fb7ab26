"""Provider model lists: which models a key can call. One module per API, one registry.

Each module has `NAME`, `request(base_url, key, cursor) -> ListRequest` (the GET for one
page, the key in a header, never in the URL) and a pure `parse(body) -> ModelPage` that
raises ParseError when the body is not that API's list. `list_models` is the one I/O step:
it follows the pages, caps their size and number, and turns every failure into a
ModelListError whose message never holds the key. Registered by dialect name in LISTERS;
an API without a lister (azure-openai: deployments, not models) has no model list.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from probes.redact import scrub

DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_BYTES = 8 * 1024 * 1024  # a page (OpenRouter's whole list is under 1 MB)
MAX_PAGES = 20


class ParseError(ValueError):
    """The body is not this API's model list."""


class ModelListError(Exception):
    """The list could not be read; `kind` says how (a bounded label)."""

    KINDS = ("auth", "timeout", "network", "http_status", "too_large", "parse_error")

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        assert kind in self.KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class ListedModel:
    id: str  # what a candidate's `model` is set to
    name: str | None = None  # the display name, where the list has one
    chat: bool | None = None  # answers chat requests; None: the list does not say


@dataclass(frozen=True)
class ModelPage:
    models: tuple[ListedModel, ...]
    next_cursor: str | None = None  # None: the last page


@dataclass(frozen=True)
class ListRequest:
    url: str
    headers: dict[str, str]  # may hold the key: never log it

    def __repr__(self) -> str:  # keep the key out of tracebacks and logs
        return f"ListRequest(GET {self.url})"


class Lister(Protocol):
    NAME: str

    def request(self, base_url: str, key: str | None, cursor: str | None) -> ListRequest: ...

    def parse(self, body: bytes) -> ModelPage: ...


def load_object(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not JSON: {exc}"[:200]) from None


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Imported last: the modules use the types above.
from probes.models import anthropic, gemini, openai  # noqa: E402

LISTERS: dict[str, Lister] = {m.NAME: m for m in (openai, anthropic, gemini)}


async def list_models(client: httpx.AsyncClient, api: str, base_url: str, key: str | None, *,
                      timeout: float = DEFAULT_TIMEOUT_SECONDS) -> tuple[ListedModel, ...]:
    """Every model of the list, in its order, each id once; ModelListError on any failure."""
    lister = LISTERS[api]  # callers check `api in LISTERS` first
    found: dict[str, ListedModel] = {}
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        request = lister.request(base_url, key, cursor)
        try:
            async with asyncio.timeout(timeout):
                body = await _get(client, request, timeout)
            page = lister.parse(body)
        except TimeoutError:
            raise ModelListError("timeout", f"no complete answer within {timeout:g}s "
                                 f"from {request.url}") from None
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__} from {request.url}: {exc}"[:300]
            raise ModelListError("network", scrub(message, key)) from None
        except ParseError as exc:
            raise ModelListError("parse_error", f"{request.url}: {exc}") from None
        for model in page.models:
            found.setdefault(model.id, model)
        if page.next_cursor is None:
            return tuple(found.values())
        cursor = page.next_cursor
    raise ModelListError("too_large", f"more than {MAX_PAGES} pages from {base_url}")


async def _get(client: httpx.AsyncClient, request: ListRequest, timeout: float) -> bytes:
    # Redirects are not followed: the key would go wherever the redirect points.
    response = await client.send(client.build_request("GET", request.url,
                                                      headers=request.headers,
                                                      timeout=timeout), stream=True)
    try:
        status = response.status_code
        if status in (401, 403):
            raise ModelListError("auth", f"HTTP {status} from {request.url}: the key was "
                                 "refused", status)
        if status != 200:
            raise ModelListError("http_status", f"HTTP {status} from {request.url}", status)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise ModelListError("too_large", f"{request.url}: over the {MAX_BYTES}-byte "
                                     "cap")
        return bytes(body)
    finally:
        await response.aclose()


__all__ = ["LISTERS", "ListRequest", "ListedModel", "Lister", "ModelListError", "ModelPage",
           "ParseError", "list_models"]
