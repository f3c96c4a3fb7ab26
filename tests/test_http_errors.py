"""What a failed response says in `error_message`: a short readable summary, never markup.

A proxy in front of an API (Cloudflare, a load balancer) answers errors with an HTML page;
its title says what happened, its CSS and scripts say nothing. Served by a real local
server, probed through the daemon's own client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from probes import run_probe
from probes.http_errors import error_text, retry_after_seconds
from probes.result import ErrorClass
from probes.target import Target
from service.probing.clients import probe_client
from service.sim.behaviour import SimModel
from service.sim.server import SimServer

KEY = "sk-proj-HTMLPAGEKEY0123456789abcdef"

# Cloudflare's 5xx page, shortened: its CSS comes before its title.
CLOUDFLARE_502 = """<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<meta charset="UTF-8" />
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta name="robots" content="noindex, nofollow" />
<meta name="viewport" content="width=device-width,initial-scale=1" />
<style>""" + "".join(
    f".cf-error-{i}{{margin:0 auto;padding:1rem 2rem;font-family:-apple-system,"
    f"BlinkMacSystemFont,'Segoe UI',Roboto;color:#404040;line-height:1.5}}\n"
    for i in range(12)) + """</style>
<title>api.example.com | 502: Bad gateway</title>
<script>window._cf_translation = {}; (function(){ var a = document.cookie; })();</script>
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8">
      <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl">
        <span class="inline-block">Bad gateway</span>
        <span class="code-label">Error code 502</span>
      </h1>
      <div>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a>
      for more information.</div>
      <div class="mt-3">2026-11-28 12:00:00 UTC</div>
    </header>
  </div>
  <div class="cf-error-footer">Cloudflare Ray ID: <strong>8e1b2c3d4e5f6a7b</strong>
  &bull; Your IP: 203.0.113.7 &bull; Performance &amp; security by Cloudflare</div>
</div>
</body>
</html>
"""


class _Page(BaseHTTPRequestHandler):
    status = 502
    body = CLOUDFLARE_502.encode()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def assert_readable(message: str | None) -> str:
    assert message is not None
    assert "<" not in message and ">" not in message and "{" not in message, message
    assert "margin" not in message and "cf_translation" not in message, message
    assert len(message) <= 200, message
    return message


async def test_a_cloudflare_502_page_is_summarised_by_its_title(proxy: str) -> None:
    assert len(CLOUDFLARE_502) > 1500  # the title is far past the old 300-character cut
    async with probe_client() as client:
        result = await run_probe("latency", Target(api="openai", base_url=proxy, model="m",
                                                   api_key=KEY, timeout_seconds=5), client)
    assert (result.error_class, result.http_status) == (ErrorClass.HTTP_5XX, 502)
    message = assert_readable(result.error_message)
    assert message == "HTTP 502: api.example.com | 502: Bad gateway"


@pytest.mark.integration
@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini", "azure-openai"])
async def test_the_simulators_html_200_is_summarised(api: str) -> None:
    sim = SimServer({"m": SimModel(fault="html_200")})
    sim.start_in_thread()
    try:
        async with probe_client() as client:
            result = await run_probe("latency", Target(api=api, base_url=sim.url_for(api),
                                                       model="m", timeout_seconds=5), client)
    finally:
        sim.stop_thread()
    assert result.error_class == ErrorClass.MALFORMED
    message = assert_readable(result.error_message)
    assert message.endswith("(an HTML page): 502 Bad Gateway"), message


@pytest.mark.parametrize(("body", "content_type", "summary"), [
    (b"<html><head><title>Service &amp; API down</title></head><body>x</body></html>",
     "text/html", "Service & API down"),
    (b"<html><body><style>h1{color:red}</style><h1>503 Service\n Unavailable</h1>"
     b"<p>nginx</p></body></html>", "", "503 Service Unavailable"),
    (b"<!doctype html><body><script>var x = 1;</script><p>Upstream   timed out</p>",
     "text/html", "Upstream timed out"),
    (b"<html><body><style>p{}</style></body></html>", "text/html", "(an HTML page)"),
    (b"<html><head><meta x=1><body>Gateway Timeout</body>", "text/html", "Gateway Timeout"),
    (b'<html><title>key sk-proj-HTMLPAGEKEY0123456789abcdef refused</title></html>',
     "text/html", "key [REDACTED] refused"),
    # JSON is the provider's own message, whatever the content type claims
    (b'{"error": {"message": "Rate limit <b>reached</b>"}}', "text/html",
     "Rate limit <b>reached</b>"),
    (b"plain words < and > stay", "text/plain", "plain words < and > stay"),
])
def test_error_text(body: bytes, content_type: str, summary: str) -> None:
    assert error_text(body, KEY, content_type) == summary


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("-3") == 0.0
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(when) == pytest.approx(30, abs=2)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
