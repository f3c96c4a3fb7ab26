"""Fetch a status page or a price list: conditional GET, an overall deadline, a size cap.

Readers stay pure (`parse(body)`); this is the one I/O step they share. A source that has
not changed answers 304 to our validators (ETag / Last-Modified) and costs no parse. A local
path (the negotiated-price YAML) is read the same way, its mtime standing in for a validator.
Every failure is a FetchError whose `kind` is a bounded metric label.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

USER_AGENT = "factorwatch (+https://github.com/factorwatch)"
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5  # status.anthropic.com -> status.claude.com is one


class FetchError(Exception):
    """A source did not answer usefully; `kind` says how (a metric label)."""

    KINDS = ("timeout", "network", "http_status", "too_large", "missing")

    def __init__(self, kind: str, message: str) -> None:
        assert kind in self.KINDS, kind
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Validators:
    """What the last good answer said about its version, sent back as a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the validators we sent
    validators: Validators
    content_type: str = ""

    @property
    def not_modified(self) -> bool:
        return self.body is None


def is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


async def fetch(client: httpx.AsyncClient, url: str, validators: Validators | None = None, *,
                timeout: float = DEFAULT_TIMEOUT_SECONDS,
                max_bytes: int = DEFAULT_MAX_BYTES) -> Fetched:
    """GET `url` (or read a local path) within `timeout` seconds and `max_bytes`."""
    validators = validators or Validators()
    if not is_http(url):
        return await asyncio.to_thread(_read_file, url, validators, max_bytes)
    try:
        async with asyncio.timeout(timeout):  # the whole exchange, not each read
            return await _get(client, url, validators, timeout, max_bytes)
    except TimeoutError:
        raise FetchError("timeout", f"no complete answer within {timeout:g}s") from None
    except httpx.TimeoutException:
        raise FetchError("timeout", f"no complete answer within {timeout:g}s") from None
    except httpx.TooManyRedirects:
        raise FetchError("network", f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.HTTPError as exc:
        raise FetchError("network", f"{type(exc).__name__}: {exc}"[:300]) from None


async def _get(client: httpx.AsyncClient, url: str, validators: Validators, timeout: float,
               max_bytes: int) -> Fetched:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/atom+xml, "
               "application/rss+xml, application/xml;q=0.9, */*;q=0.5"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    request = client.build_request("GET", url, headers=headers, timeout=timeout)
    response = await client.send(request, stream=True, follow_redirects=True)
    try:
        if response.status_code == 304:
            return Fetched(None, validators, response.headers.get("content-type", ""))
        if response.status_code >= 400:
            kind = "missing" if response.status_code in (404, 410) else "http_status"
            raise FetchError(kind, f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise FetchError("http_status", f"HTTP {response.status_code}, expected 200")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError("too_large", f"{declared} bytes declared, over the "
                             f"{max_bytes}-byte cap")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise FetchError("too_large", f"over the {max_bytes}-byte cap")
        return Fetched(bytes(body), Validators(response.headers.get("etag"),
                                               response.headers.get("last-modified")),
                       response.headers.get("content-type", ""))
    finally:
        await response.aclose()


def _read_file(url: str, validators: Validators, max_bytes: int) -> Fetched:
    path = Path(urlsplit(url).path if url.startswith("file://") else url).expanduser()
    try:
        stat = path.stat()
        version = f"{stat.st_mtime_ns}-{stat.st_size}"
        if validators.etag == version:
            return Fetched(None, validators)
        if stat.st_size > max_bytes:
            raise FetchError("too_large", f"{stat.st_size} bytes, over the {max_bytes}-byte cap")
        with path.open("rb") as fh:
            body = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise FetchError("missing", f"no such file: {path}") from None
    except OSError as exc:
        raise FetchError("network", f"cannot read {path}: {os.strerror(exc.errno or 0)}"
                         ) from None
    if len(body) > max_bytes:
        raise FetchError("too_large", f"over the {max_bytes}-byte cap")
    return Fetched(body, Validators(etag=version))
