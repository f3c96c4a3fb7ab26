"""What a response that is not a clean 200 event stream means: its error class and message.

The status line decides the class (docs/architecture.md, Error classes); the body supplies a short,
scrubbed message: the provider's own error message, or for an HTML page (a proxy's error
page) its title, else its first heading, else its visible text, never its markup. Only the
start of an error body is read: a proxy's page can be large.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import httpx

from probes.redact import scrub
from probes.result import ErrorClass

ERROR_BODY_LIMIT = 4096  # enough for a provider's error message, never a whole page
MESSAGE_CHARS = 300
SUMMARY_CHARS = 160  # of an HTML page: a title or a heading, not the page

Failure = tuple[ErrorClass, str, float | None]  # class, message, Retry-After seconds
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"')


async def check_response(response: httpx.Response,
                         secret: str | Sequence[str | None] | None) -> Failure | None:
    """None for a 200 event stream; otherwise why this response is a failed probe.
    `secret`: the key, or every secret the request carried (a key, a bearer token)."""
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status == 200 and content_type.lower().startswith("text/event-stream"):
        return None
    raw = await read_limited(response)
    body = error_text(raw, secret, content_type)
    if status == 200:
        what = "an HTML page" if "html" in content_type.lower() else "not an event stream"
        message = f"HTTP 200 with {content_type or 'no content-type'} ({what}): {body}"
        return ErrorClass.MALFORMED, message, None
    message = f"HTTP {status}: {body}"
    if status in (401, 403):
        return ErrorClass.AUTH, message, None
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        if retry_after is None:  # Gemini says it in the body: RetryInfo.retryDelay "7s"
            delay = _RETRY_DELAY.search(raw.decode("utf-8", errors="replace"))
            retry_after = float(delay.group(1)) if delay else None
        return ErrorClass.RATE_LIMITED, message, retry_after
    if 400 <= status < 500:
        return ErrorClass.HTTP_4XX, message + _token_cap_hint(status, body), None
    if status >= 500:
        return ErrorClass.HTTP_5XX, message, None
    # 1xx/2xx other than 200, or a redirect we refuse to follow: not the streaming protocol.
    location = response.headers.get("location")
    where = f" to {scrub(location, secret)}" if location else ""
    return ErrorClass.MALFORMED, f"unexpected HTTP {status}{where}: {body}", None


# A 400 naming the output cap: reasoning models refuse a tiny one (docs/config.md).
_TOKEN_CAP = re.compile(r"max_(?:completion_|output_)?tokens|maxOutputTokens|budget_tokens",
                        re.IGNORECASE)


def _token_cap_hint(status: int, body: str) -> str:
    if status != 400 or not _TOKEN_CAP.search(body):
        return ""
    return " (a reasoning model may refuse this output cap: see docs/config.md, Reasoning models)"


async def read_limited(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= ERROR_BODY_LIMIT:
            break
    return bytes(body[:ERROR_BODY_LIMIT])


def error_text(body: bytes, secret: str | Sequence[str | None] | None,
               content_type: str = "") -> str:
    """The provider's own error message when the body is JSON, a summary of an HTML page,
    else the compacted text."""
    text = body.decode("utf-8", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError:
        if _is_html(text, content_type):
            text = html_summary(text)
    else:
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            obj = obj[0]  # Gemini answers some errors as a one-element array
        error = obj.get("error") if isinstance(obj, dict) else None
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        elif isinstance(error, str):
            text = error
    text = " ".join(scrub(text, secret).split())
    return text[:MESSAGE_CHARS] or "(empty body)"


def _is_html(text: str, content_type: str) -> bool:
    start = text.lstrip()[:100].lower()
    return "html" in content_type.lower() or start.startswith(("<!doctype html", "<html"))


def html_summary(page: str) -> str:
    """What an HTML page says in a line: its title, else its first heading, else its
    visible text (scripts and styles left out); entities decoded, no markup."""
    reader = _PageText()
    with contextlib.suppress(Exception):  # a page cut at ERROR_BODY_LIMIT is still read
        reader.feed(page)
        reader.close()
    for part in (reader.title, reader.heading, reader.text):
        if words := " ".join("".join(part).split()):
            return words[:SUMMARY_CHARS]
    return "(an HTML page)"


class _PageText(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.heading: list[str] = []  # the first <h1>
        self.text: list[str] = []  # visible text
        self._in: list[str] = []  # open elements that matter here

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self._in:  # a head never closed ends here
            self.handle_endtag("head")
        if tag in self._HIDDEN or tag == "title" or (tag == "h1" and not self.heading):
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title.append(data)
        elif not self._HIDDEN.intersection(self._in):
            self.text.append(data + " ")
            if "h1" in self._in:
                self.heading.append(data + " ")


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
